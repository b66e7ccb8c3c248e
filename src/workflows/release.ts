/**
 * `bk release`: the seed's eight-step build-and-deploy workflow as one command, each step
 * verified before the next. Nothing is written or committed until every check before the
 * commit passed; a failure after the push is rolled back by a revert commit, never a force push.
 */
import { durationMs, formatDuration } from "../core/duration.js";
import { releaseTimeout } from "../synth/apps.js";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { BkError, type ExitCode } from "../core/errors.js";
import { FindingsError, type Finding } from "../core/finding.js";
import type { ComponentModel, Model } from "../model/model.js";
import { generate, type Generated } from "../pipeline.js";
import type { Step, StepOutcome, StepRunner } from "./steps.js";
import { canaryBudgetMs, followCanary, type CanaryOutcome } from "./canary-rollout.js";
import { diffTrees, isClean } from "../tree/diff.js";
import { readTree, writeTreeAtomically } from "../tree/files.js";
import { GENERATED_FILES, OWNED_DIRS } from "../tree/tree.js";
import { checkGenerated } from "./validate.js";
import { bumpTags, setVersion, type TagBump } from "./bump.js";
import { ChartMuseum } from "../adapters/chartmuseum.js";
import { gitRepositoryRef, helmReleaseRef, kustomizationRef, requestReconcile, waitForRelease } from "../adapters/flux.js";
import { Git } from "../adapters/git.js";
import { connect, type Kube } from "../adapters/kube.js";
import { checkTag, describeMissing, type RegistryOptions } from "../adapters/registry.js";
import { ProcessRunner, type Runner } from "../adapters/runner.js";

export type Builder = "docker" | "buildah" | "podman";

export interface ReleaseRequest {
  root: string;
  app: string;
  /** Empty: every component of the app that is built from its repository (caches are mirrored upstream images). */
  components: string[];
  version: string;
  /** An exact application chart version the app moves to in the same commit (its own `chartVersion`). */
  chart?: string;
  /** Where that chart version is checked (default: https at the chartmuseum endpoint of the definition). */
  chartmuseum?: { url?: string; username?: string; password?: string; ca?: string };
  build?: { path: string; builder: Builder; platforms: string[] };
  registry: Omit<RegistryOptions, "host"> & { host?: string };
  remote: string;
  push: boolean;
  kube?: { kubeconfig?: string; context?: string };
  wait: boolean;
  /** How long to wait for Ready; at least the slowest component's HelmRelease timeout. Default: that plus 2 minutes. */
  timeoutMs?: number;
  health: { baseUrl?: string; caFile?: string; skip?: boolean };
  dryRun: boolean;
  /** Runs and reports the steps; the CLI passes its task list. */
  runSteps: StepRunner;
  /** Runs builder commands; tests pass a recorder. */
  runner?: Runner;
}

export interface ReleaseReport {
  app: string;
  version: string;
  dryRun: boolean;
  components: Array<{ name: string; image: string; from: string }>;
  /** The application chart version change carried by the release. */
  chart?: { from: string; to: string };
  commit?: string;
  pushAttempts?: number;
  reconcileRequestedAt?: string;
  health: Array<{ url: string; status: number | string; ok: boolean }>;
  rolledBack?: { revertCommit: string; previousReady: boolean; detail: string };
  /** Components with a canary: how Flagger's analysis went, step by step (promoted or rolled back). */
  canaries?: CanaryOutcome[];
  failure?: { step: string; message: string; events: string[]; findings?: Finding[] };
  diff?: string;
  steps: StepOutcome[];
}

interface Ctx {
  req: ReleaseRequest;
  model?: Model;
  comps: ComponentModel[];
  bumps: TagBump[];
  appFile: string;
  newText: string;
  next?: Generated;
  git: Git;
  kube?: Kube;
  pushed: boolean;
  report: ReleaseReport;
  events: string[];
  /** How long the waits may take (resolved from the request and the components' release timeouts). */
  waitMs: number;
}

/** Each step knows whether the request was wrong (2) or a check failed (1), so it passes the code. */
export class ReleaseError extends BkError {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** Builder commands for one image; multi-arch where the builder supports it (incident 4: trust comes from `bk trust`). */
export function buildCommands(builder: Builder, contextDir: string, image: string, platforms: string[]): Array<[string, string[]]> {
  const multi = platforms.length > 1;
  const platformArgs = platforms.length ? ["--platform", platforms.join(",")] : [];
  if (builder === "docker") {
    return multi
      ? [["docker", ["buildx", "build", ...platformArgs, "--tag", image, "--push", contextDir]]]
      : [
          ["docker", ["build", ...platformArgs, "--tag", image, contextDir]],
          ["docker", ["push", image]],
        ];
  }
  // buildah and podman share the manifest-list workflow for multi-arch images.
  const bud = builder === "buildah" ? "bud" : "build";
  return multi
    ? [
        [builder, [bud, ...platformArgs, "--manifest", image, contextDir]],
        [builder, ["manifest", "push", "--all", image, `docker://${image}`]],
      ]
    : [
        [builder, [bud, ...platformArgs, "--tag", image, contextDir]],
        [builder, ["push", image, `docker://${image}`]],
      ];
}

function healthGet(url: string, caFile?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = https.request({ hostname: u.hostname, port: u.port || 443, path: u.pathname + u.search, method: "GET", timeout: 10_000, ...(caFile ? { ca: readFileSync(caFile) } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", reject);
    req.end();
  });
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.bk-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

type Out = (line: string) => void;

export async function release(req: ReleaseRequest): Promise<ReleaseReport> {
  const report: ReleaseReport = { app: req.app, version: req.version, dryRun: req.dryRun, components: [], health: [], steps: [] };
  const ctx: Ctx = { req, comps: [], bumps: [], appFile: "", newText: "", git: new Git(req.root), pushed: false, report, events: [], waitMs: 0 };
  const runner = req.runner ?? new ProcessRunner();
  try {
    await req.runSteps(releaseSteps(req, runner), ctx, report.steps);
  } catch (err) {
    const failed = report.steps.find((s) => s.status === "failed")?.title ?? "release";
    report.failure ??= { step: failed, message: (err as Error).message, events: ctx.events };
    if (ctx.pushed && !req.dryRun) await rollback(ctx, report);
    if (err instanceof FindingsError) throw Object.assign(err, { report });
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { report });
  }
  return report;
}

/** The steps in order, with when each is skipped; what each does is in the function it names. */
function releaseSteps(req: ReleaseRequest, runner: Runner): Step<Ctx>[] {
  return [
    { title: "resolve the release from the definition", run: resolveRelease },
    {
      title: "build and push the image",
      skip: () => (req.build ? false : "no --build: the image must already be in the registry"),
      run: (c, out) => buildAndPushImages(c, runner, out),
    },
    { title: "the exact tag is in the registry", run: checkTagsInRegistry },
    { title: "the chart version is in ChartMuseum", skip: (c) => (c.report.chart ? false : "no --chart, or the app is on that chart version already"), run: checkChartInMuseum },
    { title: "bump the image tag in the definition and regenerate the tree", run: bumpAndRegenerate },
    { title: "validate the new tree", run: validateNewTree },
    { title: "commit and push", skip: () => (req.dryRun ? "dry run" : false), run: commitAndPush },
    {
      title: "ask Flux to reconcile now",
      skip: () => (req.dryRun ? "dry run" : !req.kube ? "no --kubeconfig: Flux picks the commit up within its interval" : !req.push ? "not pushed" : false),
      run: requestFluxReconcile,
    },
    {
      title: "wait for the HelmReleases to be Ready on the new image (and each canary promoted)",
      skip: () => (req.dryRun ? "dry run" : !req.kube || !req.wait ? "--no-wait or no --kubeconfig" : false),
      run: waitForRollout,
    },
    {
      title: "check the health endpoints through the ingress",
      skip: () => (req.dryRun ? "dry run" : !req.kube || !req.wait || req.health.skip ? "not waiting for the rollout, or --no-health" : false),
      run: checkHealthEndpoints,
    },
  ];
}

/** The app and components to release; refuses a dirty tree where the release writes. */
/** Docker's tag grammar: what the registry would accept as the tag of the image. */
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** The version argument is checked before anything touches the network, so a typo is exit 2, not a registry error. */
function checkVersionArgument(version: string, app: { name: string; components: readonly { name: string }[] }): void {
  if (app.components.some((x) => x.name === version)) {
    throw new ReleaseError(`'${version}' is a component of ${app.name}, not a version: give the version last, e.g. \`bk release ${app.name} ${version} 1.4.3\``, 2);
  }
  if (!IMAGE_TAG.test(version)) {
    throw new ReleaseError(`'${version}' is not an image tag: use letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-' (e.g. 1.4.3)`, 2);
  }
  if (version === "latest") throw new ReleaseError("'latest' is a moving tag: what runs would change without a change in Git; give the exact version", 2);
}

/** Helm's chart versions as the definition pins them: exact SemVer. */
const EXACT_CHART_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** Room for Flux to fetch and start the upgrade, on top of the upgrade's own timeout. */
const FETCH_MARGIN_MS = 2 * 60_000;

/**
 * A release must not be judged failed (and reverted) while its upgrade, migrations included, may still be
 * running (incident 5): the wait covers the slowest component's HelmRelease timeout, and a shorter --timeout
 * is refused rather than silently stretched.
 */
function waitBudget(req: ReleaseRequest, comps: readonly ComponentModel[]): number {
  const slowest = comps.map((x) => ({ x, ms: durationMs(releaseTimeout(x)) ?? 0 })).sort((a, b) => b.ms - a.ms)[0];
  const need = slowest?.ms ?? 0;
  if (req.timeoutMs === undefined) return need + FETCH_MARGIN_MS;
  if (req.wait && slowest && req.timeoutMs < need) {
    throw new ReleaseError(
      `--timeout ${formatDuration(req.timeoutMs)} is shorter than the HelmRelease timeout of ${slowest.x.id} (${formatDuration(need)}): the release could be reverted while its upgrade still runs; pass at least ${formatDuration(need)}, or leave --timeout out`,
      2,
    );
  }
  return req.timeoutMs;
}

async function resolveRelease(c: Ctx): Promise<void> {
  const { req, report } = c;
  const { model } = generate(req.root);
  c.model = model;
  const app = model.apps.find((a) => a.name === req.app);
  if (!app) throw new ReleaseError(`no application '${req.app}' in the definition (known: ${model.apps.map((a) => a.name).join(", ")})`, 2);
  checkVersionArgument(req.version, app);
  if (req.chart !== undefined && !EXACT_CHART_VERSION.test(req.chart)) {
    throw new ReleaseError(`--chart '${req.chart}' is not an exact chart version such as 0.2.0 (a range would move the app at the next \`bk chart push\`)`, 2);
  }
  if (req.chart !== undefined && req.chart !== app.chartVersion) report.chart = { from: app.chartVersion, to: req.chart };
  const names = req.components.length ? req.components : app.components.filter((x) => x.role !== "cache").map((x) => x.name);
  for (const n of names) {
    const comp = app.components.find((x) => x.name === n);
    if (!comp) throw new ReleaseError(`application ${app.name} has no component '${n}' (components: ${app.components.map((x) => x.name).join(", ")})`, 2);
    c.comps.push(comp);
  }
  if (c.comps.every((x) => x.image.tag === req.version) && !report.chart) {
    throw new ReleaseError(`${app.name} already runs ${req.version} for ${c.comps.map((x) => x.name).join(", ")}: nothing to release`, 2);
  }
  c.appFile = app.file;
  c.waitMs = waitBudget(req, c.comps);
  const touched = [app.file, ...OWNED_DIRS, ...GENERATED_FILES];
  const dirty = (await c.git.dirty()).filter((f) => touched.some((t) => f === t || f.startsWith(t + "/")));
  if (dirty.length && !req.dryRun) throw new ReleaseError(`uncommitted changes where the release writes: ${dirty.join(", ")}. Commit or stash them first, so the release commit holds only the release`, 2);
  // The image the cluster will run is the definition's; --registry only changes where it is checked and pushed.
  report.components = c.comps.map((x) => ({ name: x.name, image: `${x.image.repository}:${req.version}`, from: x.image.tag }));
}

async function buildAndPushImages(c: Ctx, runner: Runner, out: Out): Promise<void> {
  const { req } = c;
  const host = req.registry.host ?? c.model!.registry;
  for (const comp of c.comps) {
    const image = `${host}/${comp.app}/${comp.name}:${req.version}`;
    for (const [cmd, args] of buildCommands(req.build!.builder, req.build!.path, image, req.build!.platforms)) {
      out(`${cmd} ${args.join(" ")}`);
      if (req.dryRun) continue;
      const r = await runner.run(cmd, args);
      if (r.code !== 0) throw new ReleaseError(`${cmd} ${args[0]} failed for ${image}: ${r.stderr.trim().split("\n").slice(-5).join("\n")}`, 1);
    }
  }
}

async function checkTagsInRegistry(c: Ctx, out: Out): Promise<void> {
  const { req } = c;
  const host = req.registry.host ?? c.model!.registry;
  const missing: string[] = [];
  for (const comp of c.comps) {
    const check = await checkTag({ ...req.registry, host }, `${comp.app}/${comp.name}`, req.version);
    if (check.exists) out(`${check.image} exists`);
    else missing.push(describeMissing(check));
  }
  if (missing.length) throw new ReleaseError(missing.join("\n"), 1);
}

/** A chart version the HelmReleases would not find fails the release before anything is committed. */
async function checkChartInMuseum(c: Ctx, out: Out): Promise<void> {
  const { req, report } = c;
  const m = c.model!;
  const ep = m.endpoints.find((e) => e.id === "chartmuseum")!;
  const o = req.chartmuseum ?? {};
  const museum = new ChartMuseum({ url: o.url ?? `https://${ep.ip}:${ep.ports[0]!.port}`, ...(o.username !== undefined ? { username: o.username, password: o.password ?? "" } : {}), ...(o.ca ? { ca: o.ca } : {}) });
  const name = m.chartmuseum.appChart.name;
  if (!(await museum.exists(name, report.chart!.to))) {
    throw new ReleaseError(`${name} ${report.chart!.to} is not in ChartMuseum: upload it first (\`bk chart push --apps none\` with charts/app at that version), or give a version it has`, 1);
  }
  out(`${name} ${report.chart!.to} exists`);
}

async function bumpAndRegenerate(c: Ctx, out: Out): Promise<void> {
  const { req, report } = c;
  const text = readFileSync(path.join(req.root, c.appFile), "utf8");
  const bumped = bumpTags(
    text,
    c.comps.map((x) => x.name),
    req.version,
    c.appFile,
  );
  c.bumps = bumped.bumps;
  // The chart bump rides in the same file and commit: the app's own chartVersion, added when it has none.
  try {
    c.newText = report.chart ? setVersion(bumped.text, ["chartVersion"], report.chart.to, c.appFile, "components").text : bumped.text;
  } catch (err) {
    throw new ReleaseError((err as Error).message, 2);
  }
  c.next = generate(req.root, new Map([[c.appFile, c.newText]]));
  const diff = diffTrees(readTree(req.root, OWNED_DIRS, GENERATED_FILES), c.next.tree.files);
  const defDiff = diffTrees(new Map([[c.appFile, text]]), new Map([[c.appFile, c.newText]]));
  report.diff = defDiff.patch + diff.patch;
  if (isClean(diff) && isClean(defDiff)) throw new ReleaseError(`${req.app} already runs ${req.version} for ${c.comps.map((x) => x.name).join(", ")}: nothing to release`, 1);
  out(
    `${c.bumps.map((b) => `${b.component} ${b.from} -> ${b.to}`).join(", ")}${report.chart ? `, chart ${report.chart.from} -> ${report.chart.to}` : ""}; ${diff.changed.length + diff.added.length + diff.removed.length} tree file(s) change`,
  );
}

async function validateNewTree(c: Ctx, out: Out): Promise<void> {
  const { req, report } = c;
  const result = await checkGenerated(c.next!, { kustomize: true, render: { root: req.root } });
  const errors = result.findings.filter((f) => f.severity === "error");
  if (errors.length) {
    report.failure = { step: "validate the new tree", message: `${errors.length} validation error(s)`, events: [], findings: errors };
    throw new FindingsError(errors, 1);
  }
  out(`${result.objects} objects; checks ${result.checks.join(", ")}: no errors`);
}

async function commitAndPush(c: Ctx, out: Out): Promise<void> {
  const { req, report } = c;
  writeAtomic(path.join(req.root, c.appFile), c.newText);
  writeTreeAtomically(req.root, c.next!.tree.files, OWNED_DIRS, GENERATED_FILES);
  const comps = c.comps.map((x) => x.name).join(", ");
  const from = [...new Set(c.bumps.map((b) => b.from))].join("/");
  const chart = report.chart ? `, chart ${report.chart.from} -> ${report.chart.to}` : "";
  report.commit = await c.git.commit([c.appFile, ...OWNED_DIRS, ...GENERATED_FILES], `release(${req.app}): ${comps} ${from} -> ${req.version}${chart}`);
  out(`commit ${report.commit.slice(0, 12)}`);
  if (!req.push) return;
  const pushed = await c.git.push(req.remote, 3, (attempt, why) => out(`push attempt ${attempt} rejected: ${why}`));
  report.commit = pushed.head;
  report.pushAttempts = pushed.attempts;
  c.pushed = true;
  out(`pushed ${pushed.head.slice(0, 12)} to ${req.remote} (${pushed.attempts} attempt(s))`);
}

async function requestFluxReconcile(c: Ctx, out: Out): Promise<void> {
  const { req, report } = c;
  c.kube = connect(req.kube!.kubeconfig, req.kube!.context);
  const m = c.next!.model;
  report.reconcileRequestedAt = await requestReconcile(c.kube, [gitRepositoryRef(m.gitops.repository), kustomizationRef("apps"), ...c.comps.map((x) => helmReleaseRef(x.namespace, x.fullname))]);
  out(`requested at ${report.reconcileRequestedAt}`);
}

async function waitForRollout(c: Ctx, out: Out): Promise<void> {
  const { report } = c;
  for (const comp of c.comps) {
    const image = report.components.find((x) => x.name === comp.name)!.image;
    if (comp.canary) {
      // Flux only updates the canary Deployment; Flagger decides, step by step, whether the version goes live.
      const sinceMs = report.reconcileRequestedAt ? Date.parse(report.reconcileRequestedAt) : Date.now();
      const r = await followCanary(c.kube!, { namespace: comp.namespace, name: comp.fullname, image, sinceMs, timeoutMs: c.waitMs + canaryBudgetMs(comp), onProgress: out });
      report.canaries = [...(report.canaries ?? []), r];
      if (!r.ok) throw new ReleaseError(r.reason, 1);
      out(r.reason);
      continue;
    }
    const r = await waitForRelease(c.kube!, { namespace: comp.namespace, release: comp.fullname, image, timeoutMs: c.waitMs, onEvent: out });
    c.events.push(...r.events);
    if (!r.ok) throw new ReleaseError(r.reason, 1);
    out(r.reason);
  }
}

async function checkHealthEndpoints(c: Ctx, out: Out): Promise<void> {
  const { req, report } = c;
  const m = c.next!.model;
  const entry = m.endpoints.find((e) => e.id === (m.network.routes === "gateway-api" ? "gateway" : "ingress"))!;
  const base = req.health.baseUrl ?? `https://${entry.ip}`;
  for (const comp of c.comps.filter((x) => x.health)) {
    const url = base.replace(/\/$/, "") + comp.health!;
    let status: number | string;
    try {
      status = await healthGet(url, req.health.caFile);
    } catch (err) {
      status = (err as Error).message;
    }
    const ok = typeof status === "number" && status >= 200 && status < 400;
    report.health.push({ url, status, ok });
    out(`${url}: ${status}`);
    if (!ok) throw new ReleaseError(`health check ${url} answered ${status}`, 1);
  }
}

/** Revert the release commit, push it, and wait for the previous version to be Ready again. */
async function rollback(ctx: Ctx, report: ReleaseReport): Promise<void> {
  const { req } = ctx;
  try {
    const revert = await ctx.git.revert(report.commit!, `revert: release(${req.app}) ${req.version} failed: ${report.failure?.message.split("\n")[0]}`);
    await ctx.git.push(req.remote, 3);
    let previousReady = false;
    let detail = "reverted and pushed";
    if (ctx.kube) {
      const { model } = generate(req.root);
      await requestReconcile(ctx.kube, [gitRepositoryRef(model.gitops.repository), kustomizationRef("apps"), ...ctx.comps.map((x) => helmReleaseRef(x.namespace, x.fullname))]);
      previousReady = true;
      for (const comp of ctx.comps) {
        const prev = model.components.find((x) => x.id === comp.id)!;
        const r = await waitForRelease(ctx.kube, { namespace: prev.namespace, release: prev.fullname, image: prev.image.ref, timeoutMs: ctx.waitMs });
        if (!r.ok) {
          previousReady = false;
          detail = `reverted and pushed, but ${r.reason}`;
        }
      }
      if (previousReady) detail = "reverted, pushed, and the previous version is Ready again";
    }
    report.rolledBack = { revertCommit: revert, previousReady, detail };
  } catch (err) {
    report.rolledBack = { revertCommit: "", previousReady: false, detail: `rollback failed: ${(err as Error).message}. Revert ${report.commit} by hand` };
  }
}
