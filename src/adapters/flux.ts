/**
 * Flux from the outside, the way the flux CLI does it: ask for a reconciliation now (an annotation),
 * suspend and resume (spec.suspend), wait until a request was handled and Ready settled, and wait
 * for a HelmRelease to become Ready on a given change, reporting events as they arrive.
 */
import { PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import type { Condition } from "../core/object.js";
import { reaching, type Kube } from "./kube.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";

export const RECONCILE_ANNOTATION = "reconcile.fluxcd.io/requestedAt";
/** helm-controller runs a one-off upgrade when this equals the request (flux reconcile hr --force). */
export const FORCE_ANNOTATION = "reconcile.fluxcd.io/forceAt";

export interface FluxRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export const gitRepositoryRef = (name: string): FluxRef => ({ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", namespace: FLUX_NAMESPACE, name });
export const kustomizationRef = (name: string): FluxRef => ({ apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", namespace: FLUX_NAMESPACE, name });
export const helmReleaseRef = (namespace: string, name: string): FluxRef => ({ apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", namespace, name });

/** Every source kind Flux serves at v1, by kind, for refs that name only the kind. */
export const SOURCE_KINDS: Record<string, string> = {
  GitRepository: "source.toolkit.fluxcd.io/v1",
  HelmRepository: "source.toolkit.fluxcd.io/v1",
  HelmChart: "source.toolkit.fluxcd.io/v1",
  OCIRepository: "source.toolkit.fluxcd.io/v1",
  Bucket: "source.toolkit.fluxcd.io/v1",
};

export interface FluxPatch {
  /** Request a reconciliation with this value (a fresh timestamp). */
  requestedAt?: string;
  /** HelmRelease only: also force a one-off upgrade. */
  force?: boolean;
  suspend?: boolean;
}

/** The merge patch that `patchFlux` sends for a request: what --dry-run shows. */
export function fluxPatchBody(p: FluxPatch): Record<string, unknown> {
  const annotations = p.requestedAt ? { [RECONCILE_ANNOTATION]: p.requestedAt, ...(p.force ? { [FORCE_ANNOTATION]: p.requestedAt } : {}) } : undefined;
  return { ...(annotations ? { metadata: { annotations } } : {}), ...(p.suspend !== undefined ? { spec: { suspend: p.suspend } } : {}) };
}

/** One merge patch on one Flux object (annotations and spec.suspend together, as flux resume does). */
export async function patchFlux(kube: Kube, r: FluxRef, p: FluxPatch): Promise<void> {
  const body = fluxPatchBody(p) as { metadata?: Record<string, unknown>; spec?: unknown };
  const patch = { apiVersion: r.apiVersion, kind: r.kind, ...body, metadata: { ...body.metadata, name: r.name, namespace: r.namespace } };
  await reaching(kube.objects.patch(patch as KubernetesObject, undefined, undefined, "bk", undefined, PatchStrategy.MergePatch));
}

/** Set reconcile.fluxcd.io/requestedAt on each object, in order (source first). */
export async function requestReconcile(kube: Kube, refs: readonly FluxRef[], now = new Date()): Promise<string> {
  const stamp = now.toISOString();
  for (const r of refs) await patchFlux(kube, r, { requestedAt: stamp });
  return stamp;
}

export type { Condition };

export interface FluxObject extends KubernetesObject {
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[]; observedGeneration?: number; lastHandledReconcileAt?: string; helmChart?: string; history?: Array<{ chartVersion?: string; status?: string }> };
}

export async function readFlux(kube: Kube, r: FluxRef): Promise<FluxObject | undefined> {
  try {
    return (await reaching(kube.objects.read({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, namespace: r.namespace } }))) as FluxObject;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export function readyCondition(o: FluxObject | undefined): Condition | undefined {
  return o?.status?.conditions?.find((c) => c.type === "Ready");
}

export interface ReleaseWaitOptions {
  namespace: string;
  release: string;
  /** The image reference every pod of the release must run, e.g. 192.168.7.21:5000/ffl/backend:1.4.3 */
  image: string;
  timeoutMs: number;
  pollMs?: number;
  onEvent?: (line: string) => void;
}

export interface ReleaseWaitResult {
  ok: boolean;
  reason: string;
  events: string[];
}

const BAD_REASONS = /ImagePullBackOff|ErrImagePull|CrashLoopBackOff|BackOff|Failed|FailedMount|InstallFailed|UpgradeFailed|RollbackSucceeded|DeadlineExceeded|Unhealthy/;

/**
 * Wait until the HelmRelease carries the new image, is Ready for its current generation, and every
 * pod of the release runs that image and is ready. Warning events in the namespace are reported
 * as they arrive; a failed upgrade ends the wait early with Flux's own message.
 */
export async function waitForRelease(kube: Kube, o: ReleaseWaitOptions): Promise<ReleaseWaitResult> {
  const deadline = Date.now() + o.timeoutMs;
  const seen = new Set<string>();
  const events: string[] = [];
  const since = Date.now() - 5_000;
  for (;;) {
    const hr = await readFlux(kube, helmReleaseRef(o.namespace, o.release));
    const ev = await reaching(kube.core.listNamespacedEvent({ namespace: o.namespace }));
    for (const e of ev.items) {
      const when = new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
      const key = `${e.metadata?.uid}/${e.count ?? 1}`;
      if (when < since || seen.has(key)) continue;
      if (e.type !== "Warning" && !BAD_REASONS.test(e.reason ?? "")) continue;
      seen.add(key);
      const line = `${e.type} ${e.reason} ${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message ?? ""}`.trim();
      events.push(line);
      o.onEvent?.(line);
    }
    const values = (hr?.spec?.values ?? {}) as { image?: { repository?: string; tag?: string } };
    const applied = values.image ? `${values.image.repository}:${values.image.tag}` === o.image : false;
    const ready = readyCondition(hr);
    const current = hr?.status?.observedGeneration !== undefined && hr.status.observedGeneration >= (hr.metadata?.generation ?? 0);
    if (applied && current && ready?.status === "False" && /Failed|RetriesExceeded|RollbackSucceeded/.test(ready.reason ?? "")) {
      return { ok: false, reason: `HelmRelease ${o.namespace}/${o.release}: ${ready.reason}: ${ready.message ?? ""}`, events };
    }
    if (applied && current && ready?.status === "True") {
      const pods = await reaching(kube.core.listNamespacedPod({ namespace: o.namespace, labelSelector: `app.kubernetes.io/instance=${o.release}` }));
      const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== "Succeeded" && !p.metadata?.ownerReferences?.some((r) => r.kind === "Job"));
      const allNew = live.length > 0 && live.every((p) => p.spec?.containers.some((c) => c.image === o.image) && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
      if (allNew) return { ok: true, reason: `HelmRelease ${o.namespace}/${o.release} is Ready and ${live.length} pod(s) run ${o.image}`, events };
    }
    if (Date.now() > deadline) {
      const state = !hr
        ? "does not exist"
        : !applied
          ? "has not received the new image yet (is Flux reconciling the commit?)"
          : `is ${ready?.status === "True" ? "Ready but its pods do not all run the new image" : `not Ready: ${ready?.reason ?? "no condition yet"} ${ready?.message ?? ""}`}`;
      return { ok: false, reason: `timed out after ${Math.round(o.timeoutMs / 1000)} s: HelmRelease ${o.namespace}/${o.release} ${state}`, events };
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

/** The last `n` events Kubernetes recorded for one object (Flux's controllers record their outcomes there), oldest first. */
export async function objectEvents(kube: Kube, r: FluxRef, n = 5): Promise<string[]> {
  const ev = await reaching(kube.core.listNamespacedEvent({ namespace: r.namespace, fieldSelector: `involvedObject.kind=${r.kind},involvedObject.name=${r.name}` }));
  const when = (e: (typeof ev.items)[number]) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
  return ev.items
    .sort((a, b) => when(a) - when(b))
    .slice(-n)
    .map((e) => `${e.type} ${e.reason}: ${(e.message ?? "").trim()}`);
}

export interface ReconcileWaitOptions {
  timeoutMs: number;
  pollMs?: number;
  /** The object's state whenever it changes, e.g. "Ready=Unknown Progressing: ...". */
  onProgress?: (line: string) => void;
}

export interface ReconcileWaitResult {
  /** handled and Ready=True */
  ok: boolean;
  handled: boolean;
  timedOut: boolean;
  lastHandledReconcileAt?: string;
  ready?: { status: string; reason?: string; message?: string };
  suspended: boolean;
}

/**
 * Where one object stands on a reconcile request: `ready` once the controller handled it (status.lastHandledReconcileAt
 * equals it) and Ready is True for the current generation; `failed` when it handled it and Ready is False (Flux moves
 * observedGeneration only on success, so a failed attempt is judged by the request alone: the controllers write
 * lastHandledReconcileAt with the attempt's final conditions, in one patch); else `waiting` (Unknown is progressing).
 */
export function reconcileState(obj: FluxObject | undefined, requestedAt: string): "ready" | "failed" | "waiting" {
  const ready = readyCondition(obj);
  if (obj?.status?.lastHandledReconcileAt !== requestedAt) return "waiting";
  const current = obj.status.observedGeneration === undefined || obj.status.observedGeneration >= (obj.metadata?.generation ?? 0);
  if (current && ready?.status === "True") return "ready";
  return ready?.status === "False" ? "failed" : "waiting";
}

/** Poll one object until `reconcileState` is settled or the timeout passes, reporting its state as it changes. */
export async function waitForReconcile(kube: Kube, r: FluxRef, requestedAt: string, o: ReconcileWaitOptions): Promise<ReconcileWaitResult> {
  const deadline = Date.now() + o.timeoutMs;
  let said = "";
  for (;;) {
    const obj = await readFlux(kube, r);
    const ready = readyCondition(obj);
    const handled = obj?.status?.lastHandledReconcileAt === requestedAt;
    const state = reconcileState(obj, requestedAt);
    const result: ReconcileWaitResult = {
      ok: state === "ready",
      handled,
      timedOut: false,
      ...(obj?.status?.lastHandledReconcileAt ? { lastHandledReconcileAt: obj.status.lastHandledReconcileAt } : {}),
      ...(ready ? { ready: { status: ready.status, ...(ready.reason ? { reason: ready.reason } : {}), ...(ready.message ? { message: ready.message } : {}) } } : {}),
      suspended: obj?.spec?.suspend === true,
    };
    const line = !obj ? "not found" : `${handled ? "request handled" : "request not handled yet"}; Ready=${ready?.status ?? "none"}${ready?.reason ? ` ${ready.reason}` : ""}${ready?.message ? `: ${ready.message}` : ""}`;
    if (line !== said) {
      said = line;
      o.onProgress?.(line);
    }
    if (state !== "waiting") return result;
    if (Date.now() > deadline) return { ...result, timedOut: true };
    await new Promise((res) => setTimeout(res, o.pollMs ?? 1000));
  }
}
