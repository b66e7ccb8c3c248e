/**
 * `bk release` for a component with a canary (issue 19, item 3): Flux's HelmRelease only updates the canary
 * Deployment; Flagger then moves traffic step by step and either promotes the new version (copies it to the
 * `-primary` Deployment, phase Succeeded) or rolls it back (phase Failed). This follows a Flagger Canary through
 * its steps from its status (phase, canaryWeight, failedChecks, conditions) and says which of the two happened.
 */
import { durationMs } from "../core/duration.js";
import type { Condition } from "../core/object.js";
import { helmReleaseRef, readFlux, readyCondition } from "../adapters/flux.js";
import { reaching, type Kube } from "../adapters/kube.js";
import { FLAGGER_API } from "../model/progressive.js";

/** What Flagger records in a Canary's status (the fields bk reads). */
export interface CanaryStatus {
  phase?: string;
  canaryWeight?: number;
  failedChecks?: number;
  iterations?: number;
  lastTransitionTime?: string;
  conditions?: Condition[];
}

export interface CanaryStep {
  /** ISO time bk saw this state. */
  at: string;
  phase: string;
  weight: number;
  failedChecks: number;
  message?: string;
}

export type CanaryOutcomeKind = "promoted" | "rolled-back" | "release-failed" | "timed-out";

export interface CanaryOutcome {
  canary: string;
  ok: boolean;
  outcome: CanaryOutcomeKind;
  reason: string;
  steps: CanaryStep[];
}

/** Phases of an analysis under way: a terminal phase seen after one of them belongs to this release. */
const MOVING = new Set(["Progressing", "Waiting", "WaitingPromotion", "Promoting", "Finalising"]);

/** Flagger's own account of where the analysis is: its Promoted condition's message. */
export function promotedMessage(s: CanaryStatus): string | undefined {
  return s.conditions?.find((c) => c.type === "Promoted")?.message;
}

/** One line per state: phase, the canary's share of the traffic, failed checks, Flagger's message. */
export function describeCanary(s: CanaryStatus): string {
  const msg = promotedMessage(s);
  return `${s.phase ?? "no phase yet"}: ${s.canaryWeight ?? 0}% of the traffic on the canary, ${s.failedChecks ?? 0} failed check(s)${msg ? ` (${msg})` : ""}`;
}

export interface VerdictInput {
  status: CanaryStatus;
  /** The release's image. */
  image: string;
  /** The image the `-primary` Deployment runs now (undefined: no primary yet). */
  primaryImage?: string;
  /** Whether an analysis was seen under way since following began. */
  sawMoving: boolean;
  /** When the release was pushed (ms): a Failed phase from before it belongs to an older release. */
  sinceMs: number;
  /** The most failed checks seen while following: Flagger resets the count when it rolls back. */
  maxFailedChecks?: number;
}

/** Pure: whether the canary has finished for this release, and how. undefined: not yet. */
export function canaryVerdict(v: VerdictInput): { ok: boolean; outcome: CanaryOutcomeKind; reason: string } | undefined {
  const { status: s } = v;
  const changedSince = s.lastTransitionTime !== undefined && Date.parse(s.lastTransitionTime) >= v.sinceMs - 1000;
  if ((s.phase === "Succeeded" || s.phase === "Initialized") && v.primaryImage === v.image)
    return {
      ok: true,
      outcome: "promoted",
      reason: s.phase === "Initialized" ? `initialized on ${v.image}: a first release is promoted without analysis` : `promoted: the primary runs ${v.image}`,
    };
  if (s.phase === "Failed" && (v.sawMoving || changedSince))
    return {
      ok: false,
      outcome: "rolled-back",
      reason: `rolled back by Flagger after ${Math.max(s.failedChecks ?? 0, v.maxFailedChecks ?? 0)} failed check(s): ${promotedMessage(s) ?? "no message"}; the primary still runs ${v.primaryImage ?? "the previous version"}`,
    };
  return undefined;
}

export interface FollowOptions {
  namespace: string;
  /** The Canary's name: the component's fullname, as its Deployment and HelmRelease. */
  name: string;
  image: string;
  timeoutMs: number;
  sinceMs: number;
  pollMs?: number;
  onProgress?: (line: string) => void;
  /** Also wait for the HelmRelease to have applied the image first (bk release); false when no Flux runs. */
  helmRelease?: boolean;
}

async function read(kube: Kube, apiVersion: string, kind: string, namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await reaching(kube.objects.read({ apiVersion, kind, metadata: { name, namespace } }))) as unknown as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

function templateImage(d: Record<string, unknown> | undefined): string | undefined {
  const spec = d?.["spec"] as { template?: { spec?: { containers?: Array<{ image?: string }> } } } | undefined;
  return spec?.template?.spec?.containers?.[0]?.image;
}

/** Waits for the HelmRelease to carry the image and be Ready (the canary Deployment updated), then follows the Canary. */
export async function followCanary(kube: Kube, o: FollowOptions): Promise<CanaryOutcome> {
  const ref = `Canary ${o.namespace}/${o.name}`;
  const deadline = Date.now() + o.timeoutMs;
  const steps: CanaryStep[] = [];
  const pause = () => new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  const result = (ok: boolean, outcome: CanaryOutcomeKind, reason: string): CanaryOutcome => ({ canary: `${o.namespace}/${o.name}`, ok, outcome, reason, steps });
  if (o.helmRelease !== false) {
    for (;;) {
      const hr = await readFlux(kube, helmReleaseRef(o.namespace, o.name));
      const values = (hr?.spec?.values ?? {}) as { image?: { repository?: string; tag?: string } };
      const applied = values.image ? `${values.image.repository}:${values.image.tag}` === o.image : false;
      const ready = readyCondition(hr);
      const current = hr?.status?.observedGeneration !== undefined && hr.status.observedGeneration >= (hr.metadata?.generation ?? 0);
      if (applied && current && ready?.status === "True") break;
      if (applied && current && ready?.status === "False" && /Failed|RetriesExceeded|RollbackSucceeded/.test(ready.reason ?? ""))
        return result(false, "release-failed", `HelmRelease ${o.namespace}/${o.name}: ${ready.reason}: ${ready.message ?? ""}`);
      if (Date.now() > deadline) return result(false, "timed-out", `timed out: HelmRelease ${o.namespace}/${o.name} has not applied ${o.image} and become Ready`);
      await pause();
    }
  }
  let sawMoving = false;
  let maxFailedChecks = 0;
  let last = "";
  for (;;) {
    const canary = await read(kube, FLAGGER_API, "Canary", o.namespace, o.name);
    if (!canary) return result(false, "release-failed", `${ref} does not exist: is the apps layer reconciled and Flagger's CRD installed?`);
    const status = (canary["status"] ?? {}) as CanaryStatus;
    const primaryImage = templateImage(await read(kube, "apps/v1", "Deployment", o.namespace, `${o.name}-primary`));
    const line = describeCanary(status);
    if (line !== last) {
      last = line;
      steps.push({
        at: new Date().toISOString(),
        phase: status.phase ?? "",
        weight: status.canaryWeight ?? 0,
        failedChecks: status.failedChecks ?? 0,
        ...(promotedMessage(status) ? { message: promotedMessage(status)! } : {}),
      });
      o.onProgress?.(`${o.name}: ${line}`);
    }
    if (MOVING.has(status.phase ?? "")) sawMoving = true;
    maxFailedChecks = Math.max(maxFailedChecks, status.failedChecks ?? 0);
    const verdict = canaryVerdict({ status, image: o.image, ...(primaryImage ? { primaryImage } : {}), sawMoving, sinceMs: o.sinceMs, maxFailedChecks });
    if (verdict) return result(verdict.ok, verdict.outcome, `${ref} ${verdict.reason}`);
    if (Date.now() > deadline) return result(false, "timed-out", `timed out after ${Math.round(o.timeoutMs / 1000)} s: ${ref} is ${line}`);
    await pause();
  }
}

/** How long an analysis may take: one interval per step, plus Flagger's detection, promotion and finalising steps. */
export function canaryBudgetMs(c: { canary?: { interval: string; stepWeight?: number | undefined; maxWeight?: number | undefined; stepWeights?: number[] | undefined } }): number {
  const k = c.canary;
  if (!k) return 0;
  const steps = k.stepWeights?.length ?? Math.ceil((k.maxWeight ?? 100) / (k.stepWeight ?? 100));
  return (steps + 4) * (durationMs(k.interval) ?? 60_000);
}
