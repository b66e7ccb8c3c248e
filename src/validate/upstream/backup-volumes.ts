/**
 * What the volume backups assume of the charts, checked against what they render: every ReplicationSource's
 * claim is a claim the cluster will have (the tree's own, a chart's PersistentVolumeClaim, or a StatefulSet's
 * claim template as <template>-<statefulset>-<ordinal>), and the VolSync controller's pods carry the labels and
 * metrics port its NetworkPolicy selects. A claim renamed by a chart upgrade would otherwise leave a source that
 * waits forever for a volume that never appears, and the volume without a backup.
 */
import type { Finding } from "../../core/finding.js";
import { objectRef, type KubeObject, type PlacedObject } from "../../core/object.js";
import { containersOf, podTemplateOf } from "../../core/pod-spec.js";
import { list, rec, str } from "../../core/paths.js";

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
import type { Model } from "../../model/model.js";
import { VOLSYNC_API } from "../../model/volume-backups.js";
import { VOLSYNC_CONTROLLER_LABELS, VOLSYNC_METRICS_PORT, VOLSYNC_RELEASE } from "../../synth/volume-backups.js";
import type { RenderedRelease } from "./objects.js";

/** namespace/claim of every claim the tree and the charts will create. */
export function claimsOf(tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Set<string> {
  const out = new Set<string>();
  const add = (o: KubeObject, fallbackNs: string) => {
    const ns = o.metadata.namespace ?? fallbackNs;
    if (o.kind === "PersistentVolumeClaim") out.add(`${ns}/${o.metadata.name}`);
    if (o.kind === "StatefulSet") {
      const spec = rec((o as unknown as { spec?: unknown }).spec) ?? {};
      const replicas = num(spec.replicas) ?? 1;
      for (const t of list(spec.volumeClaimTemplates)) {
        const name = str(rec(rec(t)?.metadata)?.name);
        for (let i = 0; name && i < Math.max(replicas, 1); i++) out.add(`${ns}/${name}-${o.metadata.name}-${i}`);
      }
    }
  };
  for (const { object } of tree) add(object, "default");
  for (const r of rendered) {
    const relSpec = rec((r.release.object as unknown as { spec?: unknown }).spec) ?? {};
    const ns = str(relSpec.targetNamespace) ?? r.release.object.metadata.namespace ?? "default";
    for (const o of r.objects) add(o, ns);
  }
  return out;
}

export function checkBackupVolumes(m: Model, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Finding[] {
  if (!m.volumeBackups) return [];
  const out: Finding[] = [];
  const claims = claimsOf(tree, rendered);
  // Without the charts rendered (--no-upstream) there is nothing to compare with.
  if (rendered.length === 0) return out;
  for (const { object, file } of tree) {
    if (object.apiVersion !== VOLSYNC_API || object.kind !== "ReplicationSource") continue;
    const pvc = str(rec((object as unknown as { spec?: unknown }).spec)?.sourcePVC);
    const key = `${object.metadata.namespace}/${pvc}`;
    if (pvc && !claims.has(key)) {
      const near = [...claims].filter((c) => c.startsWith(`${object.metadata.namespace}/`)).map((c) => c.split("/")[1]);
      out.push({
        rule: "upstream/backup-volume",
        severity: "error",
        message: `backs up claim ${key}, which neither the tree nor any chart creates (claims in ${object.metadata.namespace}: ${near.join(", ") || "none"})`,
        fix: "correct the claim name in src/model/volume-backups.ts (backupCandidates) to what the chart renders",
        file,
        object: objectRef(object),
        field: "spec.sourcePVC",
      });
    }
  }
  const volsync = rendered.find((r) => r.release.object.kind === "HelmRelease" && r.release.object.metadata.name === VOLSYNC_RELEASE);
  if (volsync) {
    const deploy = volsync.objects.find((o) => o.kind === "Deployment");
    const tpl = deploy ? podTemplateOf(deploy) : undefined;
    const labels = (rec(tpl?.metadata)?.labels ?? {}) as Record<string, string>;
    const missing = Object.entries(VOLSYNC_CONTROLLER_LABELS).filter(([k, v]) => labels[k] !== v);
    const svc = volsync.objects.find(
      (o) => o.kind === "Service" && list(rec((o as unknown as { spec?: unknown }).spec)?.ports).some((p) => num(rec(p)?.targetPort) === VOLSYNC_METRICS_PORT || num(rec(p)?.port) === VOLSYNC_METRICS_PORT),
    );
    const args = tpl ? containersOf(tpl).flatMap((c) => list(c.container.args).map(String)) : [];
    const listens = args.some((a) => a === `--metrics-bind-address=:${VOLSYNC_METRICS_PORT}`);
    if (!deploy || missing.length || !svc || !listens)
      out.push({
        rule: "upstream/backup-controller",
        severity: "error",
        message: !deploy
          ? "the volsync chart renders no Deployment"
          : missing.length
            ? `the VolSync controller's pods lack ${missing.map(([k, v]) => `${k}=${v}`).join(", ")}, which its NetworkPolicy selects`
            : `the VolSync controller does not serve metrics on ${VOLSYNC_METRICS_PORT} (Service port or --metrics-bind-address), which its NetworkPolicy opens for Prometheus`,
        fix: "update VOLSYNC_CONTROLLER_LABELS / VOLSYNC_METRICS_PORT in src/synth/volume-backups.ts to what the chart renders",
        file: volsync.release.file,
        object: objectRef(volsync.release.object),
      });
  }
  return out;
}
