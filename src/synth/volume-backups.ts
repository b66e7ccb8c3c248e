/**
 * Volume backups off the node (issue 17): the VolSync controller (its chart from the pinned HelmRepository,
 * CRDs from the chart's templates) in infra-controllers, and one ReplicationSource per volume beside the volume:
 * in infra-configs for the infrastructure's volumes, with the application for a component's. Each source runs
 * VolSync's restic mover on the volume's schedule, copying the claim as it is (Direct: Minikube's hostpath
 * provisioner has neither snapshots nor clones) into the volume's own restic repository, then forgetting
 * snapshots past the retention.
 */
import type { PlacedObject } from "../core/object.js";
import type { BackupVolumeModel, Model } from "../model/model.js";
import { APPS, CONFIGS, CONTROLLERS } from "../model/layout.js";
import { moverPod, VOLSYNC_API, VOLSYNC_CONTROLLER_LABELS, VOLSYNC_METRICS_PORT, VOLSYNC_RELEASE } from "../model/volume-backups.js";
import { MANAGED_BY, helmRelease, obj, place } from "./builders.js";

export { VOLSYNC_CONTROLLER_LABELS, VOLSYNC_METRICS_PORT, VOLSYNC_RELEASE };
/** restic prune rewrites packs; weekly keeps the store tidy without paying for it nightly. */
export const PRUNE_INTERVAL_DAYS = 7;
/** restic's local cache per volume: metadata only, recreated at will. */
export const CACHE_CAPACITY = "1Gi";

export function synthVolumeBackups(m: Model): PlacedObject[] {
  const vb = m.volumeBackups;
  if (!vb) return [];
  const release = helmRelease({
    name: VOLSYNC_RELEASE,
    namespace: vb.namespace,
    pin: vb.chart,
    // The chart renders its ServiceMonitor only when the API serves the kind, which the monitoring release installs.
    dependsOn: [{ name: "kube-prometheus-stack", namespace: m.monitoring.namespace }],
    values: {
      manageCRDs: true,
      // Prometheus scrapes without a service account token; the NetworkPolicy lets only Prometheus reach the port.
      metrics: { disableAuth: true },
    },
  });
  return [...place(`${CONTROLLERS}/volsync/helmrelease.yaml`, release), ...vb.volumes.flatMap((v) => place(fileOf(m, v), replicationSource(m, v)))];
}

function fileOf(m: Model, v: BackupVolumeModel): string {
  const app = m.apps.find((a) => a.namespace === v.namespace);
  return app ? `${APPS}/${app.name}/volume-backups.yaml` : `${CONFIGS}/volume-backups/${v.namespace}.yaml`;
}

export function replicationSource(m: Model, v: BackupVolumeModel) {
  return obj({
    apiVersion: VOLSYNC_API,
    kind: "ReplicationSource",
    metadata: { name: v.id, namespace: v.namespace, labels: { ...MANAGED_BY, "app.kubernetes.io/part-of": "beckerkube" } },
    spec: {
      sourcePVC: v.pvc,
      trigger: { schedule: v.schedule },
      restic: {
        repository: v.secret,
        copyMethod: "Direct",
        pruneIntervalDays: PRUNE_INTERVAL_DAYS,
        retain: { ...v.retention },
        cacheCapacity: CACHE_CAPACITY,
        cacheStorageClassName: m.storageClass,
        moverResources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "1", memory: "1Gi" } },
        ...moverPod(v),
      },
    },
  });
}
