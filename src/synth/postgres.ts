/**
 * PostgreSQL through CloudNativePG: the Cluster (pgvector image, LoadBalancer at its pinned IP),
 * declarative roles and databases, and a nightly in-cluster pg_dump to a volume.
 */
import type { ICronJob } from "kubernetes-models/batch/v1/CronJob";
import type { IPersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import type { PlacedObject } from "../core/object.js";
import { roleSecretName, type Model } from "../model/model.js";
import { MANAGED_BY, labelsFor, lbAnnotations, obj, place } from "./builders.js";
import { CONFIGS } from "../model/layout.js";
import { size } from "./resources.js";
import { POSTGRES_PORT } from "../core/well-known.js";

export function synthPostgres(m: Model): PlacedObject[] {
  const pg = m.postgres;
  const e = m.endpoints.find((x) => x.id === "postgres")!;
  const cluster = {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    metadata: { name: pg.clusterName, namespace: pg.namespace, labels: { ...MANAGED_BY } },
    spec: {
      instances: pg.instances,
      imageName: pg.image,
      // The superuser secret is generated in-cluster by the operator; the backup job reads it.
      enableSuperuserAccess: true,
      storage: { size: pg.storage, storageClass: m.storageClass },
      resources: size(m, "postgres"),
      managed: {
        roles: pg.roles.map((role) => ({
          name: role,
          ensure: "present",
          login: true,
          passwordSecret: { name: roleSecretName(role) },
        })),
        services: {
          additional: [
            {
              selectorType: "rw",
              serviceTemplate: {
                metadata: { name: e.service, annotations: lbAnnotations(m, e) },
                spec: { type: "LoadBalancer", ports: [{ name: "postgres", port: e.ports[0]!.port, targetPort: POSTGRES_PORT, protocol: "TCP" }] },
              },
            },
          ],
        },
      },
    },
  };
  const databases = m.postgres.databases.map((d) => ({
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Database",
    metadata: { name: d.objectName, namespace: pg.namespace, labels: { ...MANAGED_BY } },
    spec: {
      name: d.name,
      owner: d.owner,
      cluster: { name: pg.clusterName },
      ensure: "present",
      ...(d.extensions.length ? { extensions: d.extensions.map((x) => ({ name: x, ensure: "present" })) } : {}),
    },
  }));
  return [...place(`${CONFIGS}/postgres/cluster.yaml`, cluster), ...place(`${CONFIGS}/postgres/databases.yaml`, ...databases), ...synthBackupJob(m)];
}

/** Nightly pg_dump of every database: custom format, checksummed, kept for `backup.keep` runs. */
function synthBackupJob(m: Model): PlacedObject[] {
  const pg = m.postgres;
  const labels = labelsFor("postgres-backup", "backup", "beckerkube");
  const pvc: IPersistentVolumeClaim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "postgres-backups", namespace: pg.namespace, labels },
    spec: { accessModes: ["ReadWriteOnce"], storageClassName: m.storageClass, resources: { requests: { storage: pg.backup.storage } } },
  };
  const dbs = m.postgres.databases.map((d) => d.name).join(" ");
  const script = [
    "set -eu",
    "stamp=$(date -u +%Y%m%dT%H%M%SZ)",
    'dir="/backups/$stamp"',
    'mkdir -p "$dir.partial"',
    `for db in ${dbs}; do`,
    '  pg_dump --format=custom --no-owner --dbname="$db" --file="$dir.partial/$db.dump"',
    "done",
    '(cd "$dir.partial" && sha256sum *.dump > SHA256SUMS)',
    'mv "$dir.partial" "$dir"',
    `ls -1d /backups/2* | sort | head -n -${pg.backup.keep} | xargs -r rm -rf`,
  ].join("\n");
  const cron: ICronJob = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "postgres-backup", namespace: pg.namespace, labels },
    spec: {
      schedule: pg.backup.schedule,
      concurrencyPolicy: "Forbid",
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 1,
          activeDeadlineSeconds: 3600,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: "Never",
              automountServiceAccountToken: false,
              securityContext: { runAsNonRoot: true, runAsUser: 26, runAsGroup: 26, fsGroup: 26, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "pg-dump",
                  image: pg.image,
                  command: ["/bin/sh", "-c", script],
                  env: [
                    { name: "PGHOST", value: `${pg.clusterName}-rw` },
                    { name: "PGPORT", value: String(POSTGRES_PORT) },
                    { name: "PGUSER", valueFrom: { secretKeyRef: { name: `${pg.clusterName}-superuser`, key: "username" } } },
                    { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: `${pg.clusterName}-superuser`, key: "password" } } },
                  ],
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                  resources: size(m, "postgresBackup"),
                  volumeMounts: [
                    { name: "backups", mountPath: "/backups" },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "backups", persistentVolumeClaim: { claimName: "postgres-backups" } },
                { name: "tmp", emptyDir: {} },
              ],
            },
          },
        },
      },
    },
  };
  return place(`${CONFIGS}/postgres/backup.yaml`, obj(pvc), obj(cron));
}
