/**
 * `bk validate` with every HelmRelease rendered through its real chart (issue 15), against the peer a user
 * would otherwise run: plain `helm template` of the same releases, one after the other, in the same run.
 *
 * Method: one cold `bk validate --no-kustomize --charts <mirror>` with an empty cache folder (it renders
 * every chart and fills the render cache), then N timed warm runs with that cache. The peer is one shell
 * script holding one `helm template` per HelmRelease, with the release's own values, namespace, Kubernetes
 * version and (for upstream charts) --include-crds, timed N times after one warm-up. bk does strictly more
 * per run (a second render pass for charts that read .Capabilities.APIVersions, schema, policy, references),
 * so the ratio is bk's whole validation against helm's rendering alone.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { series, timed, type Series } from "./measure.js";

export interface RenderBench {
  releases: number;
  mirror: string;
  coldMs: number;
  warm: Series;
  peer: Series;
  /** bk warm median / helm median. */
  ratio: number;
}

export interface RenderBenchOptions {
  repo: string;
  node: string;
  bk: string;
  mirror: string;
  runs: number;
  work: string;
  env: NodeJS.ProcessEnv;
  log: (msg: string) => void;
}

const TARGET_WARM_MS = 2000;
const TARGET_RATIO = 0.5;

/** One `helm template` line per HelmRelease, as the same inputs bk renders with. */
async function peerScript(o: RenderBenchOptions): Promise<{ file: string; releases: number }> {
  const [{ generate }, { helmReleases, releaseTarget, APP_CHART_DIR }, { resolveChart }, { helmBinary }] = await Promise.all([
    import("../src/pipeline.js"),
    import("../src/workflows/render.js"),
    import("../src/adapters/charts.js"),
    import("../src/adapters/tools.js"),
  ]);
  const { model, tree } = generate(o.repo);
  const dir = join(o.work, "helm-peer");
  mkdirSync(dir, { recursive: true });
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = ["set -e"];
  const releases = helmReleases(tree.objects);
  for (const [i, { object: r }] of releases.entries()) {
    const spec = r.spec as { chart: { spec: { chart: string; version: string; sourceRef: { name: string; namespace?: string } } }; values?: unknown };
    const src = spec.chart.spec.sourceRef;
    const repoObj = tree.objects.find((p) => p.object.kind === "HelmRepository" && p.object.metadata.name === src.name)?.object;
    const url = (repoObj?.spec as { url?: string } | undefined)?.url;
    const upstream = src.name !== "bk-charts" && url !== undefined;
    const chartDir = upstream ? (await resolveChart({ repository: url, chart: spec.chart.spec.chart, version: spec.chart.spec.version }, { mirror: o.mirror, pull: false })).dir : join(o.repo, APP_CHART_DIR);
    const values = join(dir, `values-${i}.json`);
    writeFileSync(values, JSON.stringify(spec.values ?? {}));
    const t = releaseTarget(r);
    const args = ["template", t.releaseName, chartDir, "--namespace", t.namespace, "--values", values, "--kube-version", model.cluster.profile.kubernetesVersion, ...(upstream ? ["--include-crds"] : [])];
    lines.push(`${quote(helmBinary())} ${args.map(quote).join(" ")} > /dev/null`);
  }
  const file = join(dir, "helm-template-all.sh");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { file, releases: releases.length };
}

export async function runRenderBench(o: RenderBenchOptions): Promise<RenderBench> {
  const cache = join(o.work, "render-cache");
  const env = { ...o.env, XDG_CACHE_HOME: cache };
  const args = [o.bk, "--root", o.repo, "validate", "--no-kustomize", "--charts", o.mirror];
  o.log("bk validate with every chart rendered: one cold run (empty render cache)");
  const cold = await timed(o.node, args, { env });
  if (cold.exitCode !== 0) throw new Error(`cold bk validate exited ${cold.exitCode}:\n${cold.stderr.slice(0, 2000)}`);
  o.log(`bk validate with every chart rendered, warm x${o.runs}`);
  const warm = await series("bk validate (warm render cache)", o.node, args, o.runs, { env });
  const peer = await peerScript(o);
  o.log(`peer: helm template of the same ${peer.releases} releases one by one x${o.runs}`);
  const helm = await series("helm template x releases", "bash", [peer.file], o.runs);
  return { releases: peer.releases, mirror: o.mirror, coldMs: cold.wallMs, warm, peer: helm, ratio: warm.wallMedianMs / helm.wallMedianMs };
}

export function renderRenderMarkdown(r: RenderBench): string {
  const s = (v: number) => `${(v / 1000).toFixed(2)} s`;
  return [
    "### Every HelmRelease rendered: bk validate against plain helm template",
    "",
    `${r.releases} HelmReleases (12 upstream charts from the mirror ${"`"}${r.mirror}${"`"}, the rest our application chart). Method in the header of bench/render.ts.`,
    "",
    "| Run | Median wall | p90 | CPU (median) | Peak RSS |",
    "| --- | ---: | ---: | ---: | ---: |",
    `| bk validate --no-kustomize, cold (empty render cache, one run) | ${s(r.coldMs)} | | | |`,
    `| bk validate --no-kustomize, warm | **${s(r.warm.wallMedianMs)}** | ${s(r.warm.wallP90Ms)} | ${s(r.warm.cpuMedianMs)} | ${Math.round(r.warm.rssMaxKb / 1024)} MB |`,
    `| peer: helm template, ${r.releases} releases one by one | **${s(r.peer.wallMedianMs)}** | ${s(r.peer.wallP90Ms)} | ${s(r.peer.cpuMedianMs)} | ${Math.round(r.peer.rssMaxKb / 1024)} MB |`,
    "",
    `Warm bk validate under ${TARGET_WARM_MS / 1000} s: **${r.warm.wallMedianMs < TARGET_WARM_MS ? "met" : "not met"}**. ` +
      `bk warm / helm: **${r.ratio.toFixed(2)}x** (target at most ${TARGET_RATIO}x): **${r.ratio <= TARGET_RATIO ? "met" : "not met"}**.`,
    "",
  ].join("\n");
}

/** The mirror the benchmark renders from: --charts, else $BK_CHARTS, else ../shared/charts beside the checkout. */
export function benchMirror(repo: string, given: string | undefined): string | undefined {
  const candidates = [given, process.env["BK_CHARTS"], join(repo, "..", "shared", "charts")];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return undefined;
}
