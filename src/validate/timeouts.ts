/**
 * Timeouts that agree (incident 5): a Flux Kustomization that waits for its objects gives up after its own
 * timeout, so it must outlast the slowest HelmRelease it applies, whose timeout already covers helm's hooks
 * (migrations). Otherwise the layer reports failure while an upgrade is still running.
 */
import { durationMs, formatDuration } from "../core/duration.js";
import type { Finding } from "../core/finding.js";
import { objectRef, type PlacedObject } from "../core/object.js";

/** helm-controller's default when a HelmRelease sets none; Flux's Kustomization default when it sets none. */
const HELM_DEFAULT_MS = 5 * 60_000;

interface KustomizationSpec {
  path?: string;
  wait?: boolean;
  timeout?: string;
  interval?: string;
}

export function checkTimeouts(objects: readonly PlacedObject[]): Finding[] {
  const releases = objects.filter((p) => p.object.kind === "HelmRelease");
  const out: Finding[] = [];
  for (const k of objects) {
    if (k.object.kind !== "Kustomization" || !k.object.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/")) continue;
    const spec = (k.object.spec ?? {}) as KustomizationSpec;
    if (spec.wait !== true || !spec.path) continue;
    const dir = `${spec.path.replace(/^\.\//, "").replace(/\/$/, "")}/`;
    const own = releases.filter((r) => r.file.startsWith(dir));
    const slowest = own.map((r) => ({ r, ms: durationMs(String((r.object.spec as { timeout?: string }).timeout ?? "")) ?? HELM_DEFAULT_MS })).sort((a, b) => b.ms - a.ms)[0];
    if (!slowest) continue;
    const ksMs = durationMs(spec.timeout ?? spec.interval ?? "") ?? 0;
    if (ksMs > slowest.ms) continue;
    out.push({
      rule: "timeouts/kustomization-shorter",
      severity: "error",
      message: `Kustomization ${k.object.metadata.name} gives up after ${spec.timeout ?? spec.interval}, but ${objectRef(slowest.r.object)} (${slowest.r.file}) may take ${formatDuration(slowest.ms)}: the layer would report failure while that upgrade still runs`,
      fix: `give the Kustomization a timeout longer than ${formatDuration(slowest.ms)} (it is derived from the slowest release: run \`bk synth\`)`,
      file: k.file,
      object: objectRef(k.object),
      field: "spec.timeout",
    });
  }
  return out;
}
