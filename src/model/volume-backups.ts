/**
 * Volume backups from the definition (issue 17): which volumes a rebuild would lose, where each one's restic
 * repository is, and the Secrets the mover reads. The list of volumes is derived, not typed: every volume the
 * tree creates for data that exists nowhere else (the registry's images, ChartMuseum's charts, Grafana's state,
 * Loki's logs, the PostgreSQL dumps and every component's persistence), so a new one is backed up by default
 * and leaving one out is a written decision (`skip: <why>`).
 *
 * The claim names follow what the charts render (src/validate/upstream/backup-volumes.ts checks them against
 * the real charts); the user ids are the ones each workload's pods run as, so the unprivileged mover can read
 * every file and a restore writes files the workload can open.
 */
import type { BackupVolumeModel, ComponentModel, DeclaredSecret, RetentionModel, VolumeBackupsModel } from "./model.js";
import type { InfraDef } from "./schema.js";

/** synth's claim names (configs.ts, postgres.ts) and the release names the controllers layer installs under. */
export const REGISTRY_PVC = "registry-data";
export const POSTGRES_DUMPS_PVC = "postgres-backups";
export const CREDENTIALS_SECRET = "restic-credentials";

export const VOLSYNC_API = "volsync.backube/v1alpha1";
/** The controller's release name: the chart names its objects (Deployment, metrics Service) after it. */
export const VOLSYNC_RELEASE = "volsync";
/** The controller's pods as the chart labels them (its selector labels for release volsync) and its metrics port. */
export const VOLSYNC_CONTROLLER_LABELS = { "app.kubernetes.io/name": "volsync", "app.kubernetes.io/instance": VOLSYNC_RELEASE } as const;
export const VOLSYNC_METRICS_PORT = 8443;
/** Labels every mover pod of ours carries, so one NetworkPolicy per namespace lets it reach the repository. */
export const MOVER_LABELS = { "app.kubernetes.io/name": "volsync-mover", "app.kubernetes.io/part-of": "beckerkube" } as const;

/** The mover runs as the workload's user, unprivileged, in a namespace that may enforce restricted. */
export function moverPod(v: Pick<BackupVolumeModel, "runAsUser" | "fsGroup">): Record<string, unknown> {
  return {
    moverSecurityContext: { runAsNonRoot: true, runAsUser: v.runAsUser, runAsGroup: v.fsGroup, fsGroup: v.fsGroup, seccompProfile: { type: "RuntimeDefault" } },
    moverPodLabels: { ...MOVER_LABELS },
  };
}

export const resticSecretName = (volumeId: string) => `restic-${volumeId}`;

/** Keys of the store's credentials, by backend, as restic (and VolSync's mover, which passes them through) reads them. */
export const BACKEND_KEYS = {
  s3: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
  rest: ["RESTIC_REST_USERNAME", "RESTIC_REST_PASSWORD"],
} as const;

interface Candidate {
  id: string;
  title: string;
  namespace: string;
  pvc: string;
  runAsUser: number;
  fsGroup: number;
}

/** Every volume a rebuild would lose, in a stable order. Prometheus and Alertmanager are left out: metrics and silences are rebuilt by running. */
export function backupCandidates(infra: InfraDef, components: readonly ComponentModel[]): Candidate[] {
  return [
    { id: "registry", title: "Registry images", namespace: infra.registry.namespace, pvc: REGISTRY_PVC, runAsUser: 1000, fsGroup: 1000 },
    // The chart's fullname is its release name, chartmuseum; its pods run as 1000 with fsGroup 1000.
    { id: "chartmuseum", title: "ChartMuseum charts", namespace: infra.chartmuseum.namespace, pvc: "chartmuseum", runAsUser: 1000, fsGroup: 1000 },
    // Grafana's subchart names its claim <release>-grafana and runs as 472.
    { id: "grafana", title: "Grafana state", namespace: infra.monitoring.namespace, pvc: "kube-prometheus-stack-grafana", runAsUser: 472, fsGroup: 472 },
    // Loki's single-binary StatefulSet loki, claim template storage: pod 0's claim; Loki runs as 10001.
    { id: "loki", title: "Loki logs", namespace: infra.logging.namespace, pvc: "storage-loki-0", runAsUser: 10001, fsGroup: 10001 },
    { id: "postgres-dumps", title: "PostgreSQL dumps", namespace: infra.postgres.namespace, pvc: POSTGRES_DUMPS_PVC, runAsUser: 26, fsGroup: 26 },
    ...components.filter((c) => c.persistence).map((c) => ({ id: c.fullname, title: `${c.id} data`, namespace: c.namespace, pvc: `${c.fullname}-data`, runAsUser: 10001, fsGroup: 10001 })),
  ];
}

export function backendOf(repository: string): "s3" | "rest" {
  return repository.startsWith("s3:") ? "s3" : "rest";
}

export function volumeBackupsOf(infra: InfraDef, components: readonly ComponentModel[]): VolumeBackupsModel | undefined {
  const vb = infra.volumeBackups;
  if (!vb) return undefined;
  const prefix = vb.repository.replace(/\/+$/, "");
  const volumes: VolumeBackupsModel["volumes"] = [];
  const skipped: VolumeBackupsModel["skipped"] = [];
  for (const c of backupCandidates(infra, components)) {
    const o = vb.volumes[c.id];
    if (o?.skip) {
      skipped.push({ id: c.id, why: o.skip });
      continue;
    }
    volumes.push({
      ...c,
      schedule: o?.schedule ?? vb.schedule,
      retention: retention(o?.retention ?? vb.retention),
      repository: `${prefix}/${c.namespace}/${c.id}`,
      secret: resticSecretName(c.id),
    });
  }
  return { namespace: vb.namespace, chart: infra.charts[vb.chart]!, repository: prefix, backend: backendOf(prefix), credentialsSecret: CREDENTIALS_SECRET, volumes, skipped };
}

function retention(r: RetentionModel): RetentionModel {
  const out: RetentionModel = {};
  for (const k of ["hourly", "daily", "weekly", "monthly", "yearly"] as const) if (r[k] !== undefined) out[k] = r[k];
  return out;
}

/**
 * The operator supplies the repository password and the store's credentials once, in the controller's namespace;
 * each volume's Secret copies them beside its own repository URL (a Secret is read only in its own namespace).
 * The password is the operator's, never generated: a password that lived only in the cluster would die with it.
 */
export function volumeBackupSecrets(vb: VolumeBackupsModel | undefined): DeclaredSecret[] {
  if (!vb) return [];
  const creds = ["RESTIC_PASSWORD", ...BACKEND_KEYS[vb.backend]];
  const out: DeclaredSecret[] = [
    {
      namespace: vb.namespace,
      name: vb.credentialsSecret,
      description: `restic repository password and ${vb.backend === "s3" ? "S3 access key" : "REST server login"} for the volume backups in ${vb.repository} (keep a copy off the cluster: without the password no backup can be read)`,
      keys: Object.fromEntries(creds.map((k) => [k, { from: "operator" as const }])),
      owner: "infra:volume-backups",
    },
  ];
  for (const v of vb.volumes) {
    out.push({
      namespace: v.namespace,
      name: v.secret,
      description: `restic repository of volume ${v.id} (${v.title}) for VolSync's mover`,
      keys: {
        RESTIC_REPOSITORY: { from: "literal", value: v.repository },
        ...Object.fromEntries(creds.map((k) => [k, { from: "same-as" as const, namespace: vb.namespace, name: vb.credentialsSecret, key: k }])),
      },
      owner: `volume-backup:${v.id}`,
    });
  }
  return out;
}

/** The host and port the mover connects to: s3:https://host[:port]/... or rest:http(s)://host[:port]/... */
export function repositoryEndpoint(repository: string): { host: string; port: number; ip: boolean } {
  const url = new URL(repository.replace(/^(s3|rest):/, ""));
  const port = url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
  return { host: url.hostname, port, ip: /^\d+(\.\d+){3}$/.test(url.hostname) };
}
