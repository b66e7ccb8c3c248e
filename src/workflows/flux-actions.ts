/**
 * `bk reconcile`, `bk suspend`, `bk resume`: the day-to-day Flux actions on the definition's names, done the
 * way the flux CLI does them. Reconcile sets reconcile.fluxcd.io/requestedAt (and forceAt with --force) and,
 * waiting, watches status.lastHandledReconcileAt reach it and Ready settle; suspend and resume set
 * spec.suspend, and resume also requests a reconcile, as `flux resume` does.
 */
import { durationMs, formatDuration } from "../core/duration.js";
import { CheckFailedError, UnavailableError } from "../core/errors.js";
import { loadDefinition } from "../model/load.js";
import { fluxPatchBody, objectEvents, patchFlux, readFlux, SOURCE_KINDS, waitForReconcile, type FluxObject, type FluxPatch, type FluxRef } from "../adapters/flux.js";
import { connect, type Kube, type KubeOptions } from "../adapters/kube.js";
import { synthesize } from "../synth/index.js";
import { resolveTargets, type FluxTarget } from "./flux-targets.js";
import type { Step, StepOutcome, StepRunner } from "./steps.js";

export type FluxAction = "reconcile" | "suspend" | "resume";

export interface FluxActionRequest {
  root: string;
  action: FluxAction;
  names: string[];
  /** Wait for the request to be handled and Ready to settle (reconcile, resume). */
  wait: boolean;
  /** HelmRelease: a one-off upgrade even without a change (reconcile.fluxcd.io/forceAt). */
  force?: boolean;
  /** Reconcile each object's source first and wait for it, so the object sees the newest artifact. */
  withSource?: boolean;
  /** Default: 5 minutes, or the slowest object's own spec.timeout plus a minute when that is longer. */
  timeoutMs?: number;
  dryRun: boolean;
  kube?: KubeOptions;
  runSteps: StepRunner;
}

export interface FluxActionObject {
  /** The definition's name it was reached by; for a source, the name of the object it serves. */
  target: string;
  role: "target" | "source";
  kind: string;
  namespace: string;
  name: string;
  /** The merge patch sent (or, with --dry-run, that would be sent). */
  patch: Record<string, unknown>;
  requestedAt?: string;
  lastHandledReconcileAt?: string;
  handled?: boolean;
  ready?: { status: string; reason?: string; message?: string };
  suspended?: boolean;
  /** The last events of the object, when its reconciliation failed or timed out. */
  events?: string[];
}

export interface FluxActionReport {
  action: FluxAction;
  dryRun: boolean;
  wait: boolean;
  ok: boolean;
  timeoutMs: number;
  objects: FluxActionObject[];
  steps: StepOutcome[];
  failure?: { object: string; message: string; events: string[] };
}

/** How long a reconcile waits unless the objects' own timeouts say longer (flux's default). */
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const TIMEOUT_MARGIN_MS = 60_000;

interface Ctx {
  req: FluxActionRequest;
  targets: FluxTarget[];
  kube?: Kube;
  live: Map<string, FluxObject>;
  sources: Array<{ target: string; ref: FluxRef }>;
  report: FluxActionReport;
  requestedAt: string;
  /** One deadline for every wait of the run: --timeout bounds the whole command, not each object. */
  deadline?: number;
}

const refKey = (r: FluxRef) => `${r.kind}/${r.namespace}/${r.name}`;
export const refLabel = (r: FluxRef) => `${r.kind} ${r.namespace}/${r.name}`;

export async function fluxAction(req: FluxActionRequest): Promise<FluxActionReport> {
  const report: FluxActionReport = { action: req.action, dryRun: req.dryRun, wait: req.wait && req.action !== "suspend", ok: false, timeoutMs: req.timeoutMs ?? DEFAULT_TIMEOUT_MS, objects: [], steps: [] };
  const ctx: Ctx = { req, targets: [], live: new Map(), sources: [], report, requestedAt: new Date().toISOString() };
  try {
    await req.runSteps(planSteps(ctx), ctx, report.steps);
  } catch (err) {
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { report });
  }
  report.ok = true;
  return report;
}

/** The steps: resolve, read, (sources,) patch, then one wait per object so progress shows each. */
function planSteps(c: Ctx): Step<Ctx>[] {
  const { req } = c;
  const steps: Step<Ctx>[] = [
    { title: "resolve the names through the definition", run: resolve },
    { title: "read the objects from the cluster", skip: () => (req.dryRun ? "dry run: the cluster is not read" : false), run: readLive },
  ];
  if (req.withSource && req.action !== "suspend") {
    steps.push({ title: "reconcile the sources first", run: reconcileSources });
  }
  const verb = req.action === "suspend" ? "suspend" : req.action === "resume" ? "resume and request a reconcile of" : "request a reconcile of";
  steps.push({ title: `${verb} ${req.names.join(", ")}`, run: patchTargets });
  if (req.action !== "suspend") {
    steps.push({
      title: "wait for each reconciliation to be handled and Ready",
      skip: () => (req.dryRun ? "dry run" : !req.wait ? "no --wait" : false),
      run: async (ctx, out) => {
        for (const ref of ctx.targets.flatMap((t) => t.refs)) await waitOne(ctx, ref, out);
      },
    });
  }
  return steps;
}

async function resolve(c: Ctx, out: (line: string) => void): Promise<void> {
  const { model } = loadDefinition(c.req.root);
  c.targets = resolveTargets(model, c.req.names);
  for (const t of c.targets) out(`${t.name}: ${t.refs.map(refLabel).join(", ") || "(its objects are named before)"}`);
  if (c.req.dryRun && c.req.withSource) {
    // Without the cluster, the source is the one the definition gives each object.
    const objects = new Map(synthesize(model).map((p) => [`${p.object.kind}/${p.object.metadata?.namespace}/${p.object.metadata?.name}`, p.object as FluxObject]));
    for (const t of c.targets) for (const ref of t.refs) addSource(c, t.name, ref, objects.get(refKey(ref)));
  }
}

async function readLive(c: Ctx, out: (line: string) => void): Promise<void> {
  c.kube = connect(c.req.kube?.kubeconfig, c.req.kube?.context);
  const missing: string[] = [];
  let slowest = 0;
  for (const t of c.targets) {
    for (const ref of t.refs) {
      const o = await readFlux(c.kube, ref);
      if (!o) {
        missing.push(refLabel(ref));
        continue;
      }
      c.live.set(refKey(ref), o);
      slowest = Math.max(slowest, durationMs(String(o.spec?.timeout ?? "")) ?? 0);
      if (c.req.withSource) addSource(c, t.name, ref, o);
      if (o.spec?.suspend === true) out(`${refLabel(ref)} is suspended`);
    }
  }
  if (missing.length) throw new UnavailableError(`not in the cluster: ${missing.join(", ")}. Has Flux applied the tree (bk status)?`);
  if (c.req.timeoutMs === undefined && slowest + TIMEOUT_MARGIN_MS > c.report.timeoutMs) {
    c.report.timeoutMs = slowest + TIMEOUT_MARGIN_MS;
    out(`waiting up to ${formatDuration(c.report.timeoutMs)} (the slowest object's own timeout plus a minute)`);
  }
  if (c.req.action === "reconcile") {
    const suspended = [...c.live.entries()].filter(([, o]) => o.spec?.suspend === true).map(([k]) => k.replace(/^(\w+)\//, "$1 "));
    if (suspended.length) throw new CheckFailedError(`suspended, so Flux would not handle the request: ${suspended.join(", ")}; \`bk resume ${c.req.names.join(" ")}\` resumes and reconciles`);
  }
}

/**
 * The sources `flux reconcile --with-source` reconciles, outermost first: a Kustomization's sourceRef; for a
 * HelmRelease its chartRef, or the whole chain of its chart template, the HelmRepository then the HelmChart.
 */
function addSource(c: Ctx, target: string, ref: FluxRef, o: FluxObject | undefined): void {
  const spec = (o?.spec ?? {}) as { sourceRef?: SourceRef; chartRef?: SourceRef; chart?: { spec?: { sourceRef?: SourceRef } } };
  const fromRef = (s: SourceRef): FluxRef[] => {
    const apiVersion = s.apiVersion ?? SOURCE_KINDS[s.kind];
    return apiVersion ? [{ apiVersion, kind: s.kind, namespace: s.namespace ?? ref.namespace, name: s.name }] : [];
  };
  const found: FluxRef[] = [];
  if (ref.kind === "Kustomization" && spec.sourceRef) found.push(...fromRef(spec.sourceRef));
  else if (ref.kind === "HelmRelease" && spec.chartRef) found.push(...fromRef(spec.chartRef));
  else if (ref.kind === "HelmRelease" && spec.chart?.spec?.sourceRef) {
    const repo = fromRef(spec.chart.spec.sourceRef);
    const chart = o?.status?.helmChart?.split("/");
    // helm-controller names the HelmChart <namespace>-<name>, in its repository's namespace; status says which.
    const ns = chart?.[0] ?? repo[0]?.namespace ?? ref.namespace;
    found.push(...repo, { apiVersion: SOURCE_KINDS.HelmChart!, kind: "HelmChart", namespace: ns, name: chart?.[1] ?? `${ref.namespace}-${ref.name}` });
  }
  for (const src of found) if (!c.sources.some((s) => refKey(s.ref) === refKey(src))) c.sources.push({ target, ref: src });
}

interface SourceRef {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

async function reconcileSources(c: Ctx, out: (line: string) => void): Promise<void> {
  for (const s of c.sources) {
    if (!c.req.dryRun) {
      const src = await readFlux(c.kube!, s.ref);
      if (!src) throw new UnavailableError(`not in the cluster: ${refLabel(s.ref)}, the source of ${s.target}. Has Flux applied the tree (bk status)?`);
      // An OCI HelmRepository is static: source-controller keeps no status for it, so there is nothing to wait for.
      if (s.ref.kind === "HelmRepository" && src.spec?.type === "oci") {
        out(`${refLabel(s.ref)} is an OCI repository: nothing to reconcile`);
        continue;
      }
    }
    const patch: FluxPatch = { requestedAt: c.requestedAt };
    const entry: FluxActionObject = { target: s.target, role: "source", kind: s.ref.kind, namespace: s.ref.namespace, name: s.ref.name, patch: fluxPatchBody(patch), requestedAt: c.requestedAt };
    c.report.objects.push(entry);
    out(`${c.req.dryRun ? "would patch" : "patch"} ${refLabel(s.ref)}: ${JSON.stringify(entry.patch)}`);
    if (c.req.dryRun) continue;
    await patchFlux(c.kube!, s.ref, patch);
    // The source is waited for even without --wait: the object's reconcile must see the new artifact.
    await settle(c, s.ref, entry, out);
  }
}

async function patchTargets(c: Ctx, out: (line: string) => void): Promise<void> {
  const { req } = c;
  for (const t of c.targets) {
    for (const ref of t.refs) {
      const patch: FluxPatch =
        req.action === "suspend" ? { suspend: true } : { ...(req.action === "resume" ? { suspend: false } : {}), requestedAt: c.requestedAt, ...(req.force && ref.kind === "HelmRelease" ? { force: true } : {}) };
      const entry: FluxActionObject = {
        target: t.name,
        role: "target",
        kind: ref.kind,
        namespace: ref.namespace,
        name: ref.name,
        patch: fluxPatchBody(patch),
        ...(patch.requestedAt ? { requestedAt: patch.requestedAt } : {}),
        ...(patch.suspend !== undefined ? { suspended: patch.suspend } : {}),
      };
      c.report.objects.push(entry);
      out(`${req.dryRun ? "would patch" : "patch"} ${refLabel(ref)}: ${JSON.stringify(entry.patch)}`);
      if (!req.dryRun) await patchFlux(c.kube!, ref, patch);
    }
  }
}

async function waitOne(c: Ctx, ref: FluxRef, out: (line: string) => void): Promise<void> {
  const entry = c.report.objects.find((o) => o.role === "target" && o.kind === ref.kind && o.namespace === ref.namespace && o.name === ref.name)!;
  await settle(c, ref, entry, out);
}

/** Wait for one object's request; a failed or timed-out reconciliation stops with its reason and last events (exit 1). */
async function settle(c: Ctx, ref: FluxRef, entry: FluxActionObject, out: (line: string) => void): Promise<void> {
  c.deadline ??= Date.now() + c.report.timeoutMs;
  const timeoutMs = Math.max(0, c.deadline - Date.now());
  const r = await waitForReconcile(c.kube!, ref, c.requestedAt, { timeoutMs, onProgress: (line) => out(`${refLabel(ref)}: ${line}`) });
  entry.handled = r.handled;
  if (r.lastHandledReconcileAt) entry.lastHandledReconcileAt = r.lastHandledReconcileAt;
  if (r.ready) entry.ready = r.ready;
  entry.suspended = r.suspended;
  if (r.ok) {
    out(`${refLabel(ref)}: Ready${r.ready?.message ? `: ${r.ready.message}` : ""}`);
    return;
  }
  entry.events = await objectEvents(c.kube!, ref);
  const why = r.timedOut
    ? `timed out after ${formatDuration(c.report.timeoutMs)}: ${r.handled ? "the request was handled but Ready is" : "the request was not handled yet; Ready is"} ${r.ready?.status ?? "not set"}${r.ready?.reason ? ` (${r.ready.reason}: ${r.ready.message ?? ""})` : ""}${r.suspended ? "; the object is suspended" : ""}`
    : `Ready=False ${r.ready?.reason ?? ""}: ${r.ready?.message ?? ""}`;
  const message = `${refLabel(ref)}: ${why}`;
  c.report.failure = { object: refLabel(ref), message, events: entry.events };
  throw new CheckFailedError(message);
}
