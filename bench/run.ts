/**
 * The benchmark of `bk` (issue 2): `npm run bench [-- options]`.
 *
 * Runs the COMPILED CLI (dist/, rebuilt first when src/ is newer) as a child process, so every
 * figure includes Node's start, and writes docs/benchmarks.md with the figures, the machine and
 * the method. Options:
 *
 *   --runs N          timed runs per real-definition scenario (default 10; --help gets 2N)
 *   --scaled-runs N   timed runs per synthetic scenario and per peer (default 5)
 *   --factors A,B     scale factors of the synthetic definitions (default 10,100)
 *   --no-peer         skip the kubeconform comparison
 *   --peer-wait MIN   minutes to wait for the kubeconform build flag /tmp/bk-tool-kubeconform (default 30)
 *   --wait-idle SEC   first wait up to SEC seconds for the 1-minute load average to drop to the core count (default 0)
 *   --out FILE        report path (default docs/benchmarks.md)
 *   --keep            keep the temporary definitions and trees
 *   --no-reconcile    skip push-to-Ready on the local control plane, polling vs triggered vs the push Receiver (bench/reconcile.ts)
 *   --reconcile-samples N   samples per mode (default 3)
 *   --charts DIR      chart mirror for the every-chart render benchmark (default $BK_CHARTS, else ../shared/charts)
 *   --no-render-bench skip bk validate with every chart rendered vs plain helm template (bench/render.ts)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkGnuTime, series, timed } from "./measure.js";
import { kubeconformArgs, kubeconformSchemaDir, kubeconformVersion, parseKubeconformSummary, waitForFile, type KubeconformSummary } from "./peer.js";
import { renderReport, type PhaseSplit, type Report } from "./report.js";
import { scaleDefinition } from "./scale.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const node = process.execPath;
const bk = join(repo, "bin", "bk.js");

function parseArgs(argv: string[]) {
  const opts = {
    runs: 10,
    scaledRuns: 5,
    factors: [10, 100],
    peer: true,
    peerWaitMin: 30,
    waitIdleS: 0,
    out: join(repo, "docs", "benchmarks.md"),
    keep: false,
    reconcile: true,
    reconcileSamples: 3,
    charts: undefined as string | undefined,
    renderBench: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const count = () => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer`);
      return n;
    };
    if (a === "--runs") opts.runs = count();
    else if (a === "--scaled-runs") opts.scaledRuns = count();
    else if (a === "--factors") opts.factors = value().split(",").map(Number);
    else if (a === "--no-peer") opts.peer = false;
    else if (a === "--peer-wait") opts.peerWaitMin = Number(value());
    else if (a === "--wait-idle") opts.waitIdleS = Number(value());
    else if (a === "--out") opts.out = resolve(value());
    else if (a === "--keep") opts.keep = true;
    else if (a === "--no-reconcile") opts.reconcile = false;
    else if (a === "--reconcile-samples") opts.reconcileSamples = count();
    else if (a === "--charts") opts.charts = resolve(value());
    else if (a === "--no-render-bench") opts.renderBench = false;
    else throw new Error(`unknown option ${a}; see the header of bench/run.ts`);
  }
  if (opts.factors.some((f) => !Number.isInteger(f) || f < 2)) throw new Error("--factors: integers of at least 2, e.g. 10,100");
  return opts;
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** tsc rewrites every output, so dist/cli/main.js older than any source file means dist is stale. */
function ensureBuilt(): void {
  const main = join(repo, "dist", "cli", "main.js");
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(repo, "src"))) return;
  log("dist/ is stale: building (tsc -p tsconfig.build.json)");
  const r = spawnSync(node, [join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", join(repo, "tsconfig.build.json")], { cwd: repo, stdio: "inherit" });
  if (r.status !== 0) throw new Error("the build failed; fix the errors above, then run the benchmark again");
}

function loadNow(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [a, b, c];
}

/** Object count and errors from one `bk plan --json` run: the figures are only meaningful for a clean plan. */
async function planCounts(root: string): Promise<number> {
  const s = await timed(node, [bk, "--root", root, "plan", "--no-kustomize", "--no-fit", "--json"], { captureStdout: true });
  if (s.exitCode !== 0) throw new Error(`bk plan --json on ${root} exited ${s.exitCode}:\n${s.stderr.slice(0, 2000)}`);
  const plan = JSON.parse(s.stdout) as { objects: { total: number }; validation: { errors: number } };
  if (plan.validation.errors !== 0) throw new Error(`bk plan on ${root} reports ${plan.validation.errors} validation error(s); the benchmark times clean plans only`);
  return plan.objects.total;
}

function phaseSplit(root: string): PhaseSplit {
  // Plain node (type stripping), not tsx: the tsx loader would slow down the imports of kubernetes-models that the schema phase includes.
  const r = spawnSync(node, [join(repo, "bench", "phases.ts"), repo, root], { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bench/phases.ts failed on ${root}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as PhaseSplit;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  checkGnuTime();
  const deadline = Date.now() + opts.waitIdleS * 1000;
  if (loadNow()[0] > cpus().length && opts.waitIdleS > 0) log(`waiting up to ${opts.waitIdleS} s for the load average (${loadNow()[0].toFixed(2)}) to drop to ${cpus().length}`);
  while (loadNow()[0] > cpus().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5000));
  const loadStart = loadNow();
  const started = new Date();
  if (loadStart[0] > cpus().length) log(`load average ${loadStart[0].toFixed(2)} on ${cpus().length} cores: figures will be pessimistic; re-run on an idle machine`);
  ensureBuilt();
  const work = mkdtempSync(join(tmpdir(), "bk-bench-"));
  const env = { ...process.env, NO_COLOR: "1" };
  try {
    // A cold start: an empty validator cache, as on the first run after installing.
    const coldCache = join(work, "cold-cache");
    log("bk plan --no-kustomize with an empty validator cache (one run)");
    const cold = await timed(node, [bk, "--root", repo, "plan", "--no-kustomize", "--no-fit"], { env: { ...env, XDG_CACHE_HOME: coldCache } });
    if (cold.exitCode !== 0) throw new Error(`cold bk plan exited ${cold.exitCode}:\n${cold.stderr}`);

    log(`bk --help x${opts.runs * 2}`);
    const help = await series("bk --help", node, [bk, "--help"], opts.runs * 2, { env });
    const realObjects = await planCounts(repo);
    log(`bk plan (real definition, ${realObjects} objects) x${opts.runs}, with and without kustomize`);
    const planKustomize = await series("bk plan", node, [bk, "--root", repo, "plan", "--no-fit"], opts.runs, { env });
    const planNoKustomize = await series("bk plan --no-kustomize", node, [bk, "--root", repo, "plan", "--no-kustomize", "--no-fit"], opts.runs, { env });
    const phasesReal = phaseSplit(repo);

    const scaled: Report["scaled"] = [];
    let largest: { root: string; objects: number } | undefined;
    for (const factor of opts.factors) {
      const def = scaleDefinition(repo, factor, work);
      // Like the real repository, the synthetic one gets its tree committed, so plan compares against an up-to-date tree.
      const synth = spawnSync(node, [bk, "--root", def.root, "synth"], { env, encoding: "utf8" });
      if (synth.status !== 0) throw new Error(`bk synth at ${factor}x failed:\n${synth.stderr}`);
      const objects = await planCounts(def.root);
      log(`bk plan --no-kustomize at ${factor}x (${def.apps} apps, ${objects} objects) x${opts.scaledRuns}`);
      const s = await series(`bk plan x${factor}`, node, [bk, "--root", def.root, "plan", "--no-kustomize", "--no-fit"], opts.scaledRuns, { env });
      const phases = phaseSplit(def.root);
      if (phases.objects !== objects) log(`warning: bench/phases.ts counted ${phases.objects} objects at ${factor}x, bk plan ${objects}: update phases.ts to match src/tree/tree.ts`);
      scaled.push({ factor, apps: def.apps, objects, series: s, phases });
      if (!largest || objects > largest.objects) largest = { root: def.root, objects };
    }

    let peer: Report["peer"];
    if (opts.peer && largest) {
      const flag = "/tmp/bk-tool-kubeconform";
      const ready = await waitForFile(flag, opts.peerWaitMin * 60_000, () => log(`waiting up to ${opts.peerWaitMin} min for ${flag} (kubeconform being built)`));
      const { hasTool, toolPath } = await import("../src/adapters/tools.js");
      if (!ready && !hasTool("kubeconform")) {
        peer = { skipped: `kubeconform was not built within ${opts.peerWaitMin} min (${flag} never appeared); run \`npm run tools\` and re-run` };
      } else {
        const kc = toolPath("kubeconform");
        // The tree of the largest definition was written by `bk synth` above.
        const root = largest.root;
        const template = kubeconformSchemaDir(join(repo, "schemas", "crds"), join(work, "kubeconform-schemas"));
        const args = kubeconformArgs(template, root, ["clusters", "infrastructure", "apps"]);
        const probe = await timed(kc, args, { captureStdout: true });
        let summary: KubeconformSummary;
        try {
          summary = parseKubeconformSummary(probe.stdout);
        } catch (err) {
          throw new Error(`kubeconform output unreadable (exit ${probe.exitCode}): ${String(err)}\n${probe.stderr.slice(0, 2000)}`);
        }
        log(`kubeconform vs bk validate --no-kustomize on ${largest.objects} objects x${opts.scaledRuns}`);
        const kcSeries = await series("kubeconform", kc, args, opts.scaledRuns, { expectExit: probe.exitCode });
        // Rendering every app release through `helm template` is a different check (one helm run per component); keep the comparison to schema-level work.
        const validateHelp = spawnSync(node, [bk, "validate", "--help"], { env, encoding: "utf8" }).stdout;
        const bkArgs = ["validate", "--no-kustomize", ...(validateHelp.includes("--no-render") ? ["--no-render"] : [])];
        const bkSeries = await series("bk validate", node, [bk, "--root", root, ...bkArgs], opts.scaledRuns, { env });
        peer = {
          kubeconform: { version: kubeconformVersion(kc), args: args.map((a) => a.split(root).join("<tree>").split(work).join("<tmp>")), summary, series: kcSeries },
          bk: { args: bkArgs, series: bkSeries },
          objects: largest.objects,
        };
      }
    }

    const report: Report = {
      started,
      machine: {
        cpu: cpus()[0]?.model ?? "unknown",
        nproc: cpus().length,
        memGiB: totalmem() / 2 ** 30,
        node: process.version,
        loadStart,
        loadEnd: loadNow(),
        commit: gitCommit(),
      },
      runs: opts.runs,
      scaledRuns: opts.scaledRuns,
      help,
      cold: { wallMs: cold.wallMs, cpuMs: cold.cpuMs, maxRssKb: cold.maxRssKb },
      real: { objects: realObjects, kustomize: planKustomize, noKustomize: planNoKustomize, phases: phasesReal },
      scaled,
      peer,
    };
    let text = renderReport(report);
    if (opts.renderBench) {
      const { benchMirror, renderRenderMarkdown, runRenderBench } = await import("./render.js");
      const mirror = benchMirror(repo, opts.charts);
      if (mirror) text += `\n${renderRenderMarkdown(await runRenderBench({ repo, node, bk, mirror, runs: opts.runs, work, env, log }))}\n`;
      else log("no chart mirror (--charts, $BK_CHARTS or ../shared/charts): skipping the every-chart render benchmark");
    }
    if (opts.reconcile) {
      // Push-to-Ready on the local control plane, polling vs triggered vs the push Receiver (bench/reconcile.ts, same run).
      const { runReconcileBench, renderReconcileMarkdown } = await import("./reconcile.js");
      log("reconcile: polling vs triggered vs the push Receiver on the local control plane (about 7 minutes)");
      const r = await runReconcileBench({ samples: opts.reconcileSamples, log });
      text += "\n" + renderReconcileMarkdown(r) + "\n";
    }
    writeFileSync(opts.out, text);
    log(`wrote ${opts.out}`);
    process.stdout.write(readFileSync(opts.out, "utf8").split("\n## Method")[0] + "\n");
  } finally {
    if (opts.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

function gitCommit(): string {
  const r = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, encoding: "utf8" });
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "src", "bench"], { cwd: repo, encoding: "utf8" });
  return r.status === 0 ? `${r.stdout.trim()}${dirty.stdout.trim() ? " (with uncommitted changes in src/ or bench/)" : ""}` : "unknown";
}

await main();
