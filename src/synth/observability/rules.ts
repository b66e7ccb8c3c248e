/**
 * Alerting rules as PrometheusRule objects, one per group, in the monitoring namespace.
 *
 * Severities follow the seed: critical = a cluster service or an application is down,
 * high = resource exhaustion and repeated failures, medium = degraded performance,
 * low = information and warnings. Every alert names its runbook (docs/runbooks/<name>.md).
 *
 * Annotations only interpolate `{{ $labels.<name> }}`: every expression aggregates to the labels
 * its annotations use, so the text never shows "<no value>" (the promtool test checks this).
 *
 * Application HTTP alerts assume the common Prometheus client conventions: a counter
 * `http_requests_total` with a `code` label (the HTTP status) and a histogram
 * `http_request_duration_seconds`. Components that expose metrics should follow them.
 */
import type { IPrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import type { KubeObject, PlacedObject } from "../../core/object.js";
import type { ComponentModel, Model } from "../../model/model.js";
import { MANAGED_BY, obj, place } from "../builders.js";
import { CONFIGS } from "../../model/layout.js";
import { alt, q } from "./promql.js";
import { JOBS } from "./scraping.js";
import { KEY_BACKED_UP_ANNOTATION } from "../../core/well-known.js";

export const SEVERITIES = ["critical", "high", "medium", "low"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RUNBOOK_DIR = "docs/runbooks";

/** kube-state-metrics' label for KEY_BACKED_UP_ANNOTATION on kube_secret_annotations (non-alphanumerics become '_'). */
export const KEY_BACKED_UP_METRIC_LABEL = `annotation_${KEY_BACKED_UP_ANNOTATION.replace(/[^a-zA-Z0-9]/g, "_")}`;

/** Thresholds, named so runbooks, dashboards and tests agree with the rules. */
export const THRESHOLDS = {
  pvcFull: 0.85,
  nodeFilesystemFull: 0.85,
  nodeMemoryFull: 0.9,
  restartsPerHour: 3,
  certificateDays: 14,
  latencySeconds: 1,
  errorRatio: 0.05,
  cpuThrottledRatio: 0.25,
  fluxReconcileSeconds: 300,
  backupMaxAgeHours: 26,
  newKeyHours: 24,
} as const;

/** The nightly pg_dump CronJob in the PostgreSQL namespace (src/synth/postgres.ts). */
export const POSTGRES_BACKUP_CRONJOB = "postgres-backup";

/** How long a volume backup may be overdue before it counts as missed: the grace bk status allows (BACKUP_GRACE_MS). */
export const VOLUME_BACKUP_GRACE_HOURS = 6;

export interface AlertSpec {
  alert: string;
  expr: string;
  for?: string;
  severity: Severity;
  /** Static labels besides severity. */
  labels?: Record<string, string>;
  summary: string;
  description: string;
  /** File name under docs/runbooks/, without ".md". */
  runbook: string;
}

export interface AlertGroup {
  /** Prometheus rule group name; the PrometheusRule object is named after it. */
  name: string;
  alerts: AlertSpec[];
}

export function runbookPath(name: string): string {
  return `${RUNBOOK_DIR}/${name}.md`;
}

/**
 * A link to a file of the GitOps repository as a GitHub-style web page, or undefined when the
 * Git URL is not host/owner/repo shaped.
 */
export function repoBrowseUrl(gitUrl: string, branch: string, path: string): string | undefined {
  let url: URL;
  try {
    url = new URL(gitUrl);
  } catch {
    return undefined;
  }
  const repoPath = url.pathname.replace(/\.git$/, "").replace(/\/+$/, "");
  if (!/^\/[^/]+\/[^/]+$/.test(repoPath)) return undefined;
  return `https://${url.hostname}${repoPath}/blob/${branch}/${path}`;
}

/** Down when every target of the job reports up == 0, or when the job has no target at all. */
function jobDown(job: string): string {
  return `max by (job) (up{job=${q(job)}}) == 0 or absent(up{job=${q(job)}})`;
}

function serviceDown(alert: string, job: string, what: string, runbook: string, consequence: string): AlertSpec {
  return {
    alert,
    expr: jobDown(job),
    for: "5m",
    severity: "critical",
    summary: `${what} is down`,
    description: `Prometheus has not scraped ${what} (job {{ $labels.job }}) for 5 minutes. ${consequence}`,
    runbook,
  };
}

function availability(m: Model): AlertGroup {
  const pg = m.postgres;
  return {
    name: "beckerkube.availability",
    alerts: [
      serviceDown("KubeAPIServerDown", JOBS.apiserver, "the Kubernetes API server", "apiserver-down", "Nothing can be deployed or reconciled while it is unreachable."),
      serviceDown("IngressControllerDown", JOBS.ingress, "the ingress-nginx controller", "ingress-controller-down", "Every application route through the ingress is unreachable."),
      serviceDown("RegistryDown", JOBS.registry, "the private container registry", "registry-down", "Image pushes fail and pods that need to pull an image cannot start."),
      serviceDown("ChartMuseumDown", JOBS.chartmuseum, "ChartMuseum", "chartmuseum-down", "Flux cannot fetch the application chart, so no application HelmRelease can upgrade."),
      {
        alert: "PostgreSQLDown",
        expr: `max by (cluster) (cnpg_collector_up{cluster=${q(pg.clusterName)}}) == 0 or absent(cnpg_collector_up{cluster=${q(pg.clusterName)}})`,
        for: "5m",
        severity: "critical",
        summary: "PostgreSQL cluster {{ $labels.cluster }} is down",
        description: `The CloudNativePG exporter of cluster {{ $labels.cluster }} in namespace ${pg.namespace} reports PostgreSQL down, or is not scraped at all, for 5 minutes. Every application with a database is failing.`,
        runbook: "postgres-down",
      },
    ],
  };
}

/** Components that run: replicas 0 in the definition means switched off on purpose. */
function running(components: readonly ComponentModel[]): ComponentModel[] {
  return components.filter((c) => c.replicas > 0);
}

function componentDown(app: string, namespace: string, components: ComponentModel[], optional: boolean): AlertSpec {
  const names = alt(components.map((c) => c.fullname));
  const sel = `{namespace=${q(namespace)}, deployment=~${q(names)}}`;
  return {
    alert: optional ? "ApplicationOptionalComponentDown" : "ApplicationComponentDown",
    expr: `(max by (namespace, deployment) (kube_deployment_status_replicas_available${sel}) == 0)` + ` and on (namespace, deployment) (max by (namespace, deployment) (kube_deployment_spec_replicas${sel}) > 0)`,
    for: "5m",
    severity: optional ? "high" : "critical",
    labels: { app },
    summary: `${optional ? "Optional component" : "Component"} {{ $labels.deployment }} of ${app} has no ready replica`,
    description: optional
      ? `Deployment {{ $labels.namespace }}/{{ $labels.deployment }} wants replicas but none has been available for 5 minutes. The component is optional: ${app} still serves, without it.`
      : `Deployment {{ $labels.namespace }}/{{ $labels.deployment }} wants replicas but none has been available for 5 minutes: ${app} is down or degraded.`,
    runbook: "application-component-down",
  };
}

function applications(m: Model): AlertGroup {
  const alerts: AlertSpec[] = [];
  for (const app of m.apps) {
    const live = running(app.components);
    const required = live.filter((c) => !c.optional);
    const optional = live.filter((c) => c.optional);
    if (required.length) alerts.push(componentDown(app.name, app.namespace, required, false));
    if (optional.length) alerts.push(componentDown(app.name, app.namespace, optional, true));
  }
  return { name: "beckerkube.applications", alerts };
}

function nodesAndStorage(): AlertGroup {
  const t = THRESHOLDS;
  const fs = `fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs", mountpoint!=""`;
  const pressure = (condition: "MemoryPressure" | "DiskPressure", alert: string, what: string): AlertSpec => ({
    alert,
    expr: `max by (node) (kube_node_status_condition{condition=${q(condition)}, status="true"}) == 1`,
    for: "5m",
    severity: "high",
    summary: `Node {{ $labels.node }} reports ${condition}`,
    description: `The kubelet on {{ $labels.node }} reports ${condition} for 5 minutes: it is ${what}. Pods will be evicted.`,
    runbook: "node-pressure",
  });
  return {
    name: "beckerkube.nodes-and-storage",
    alerts: [
      pressure("MemoryPressure", "NodeMemoryPressure", "running out of memory"),
      pressure("DiskPressure", "NodeDiskPressure", "running out of disk space or inodes"),
      {
        alert: "NodeMemoryAlmostFull",
        expr: `max by (instance) (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > ${t.nodeMemoryFull}`,
        for: "15m",
        severity: "high",
        summary: "Node {{ $labels.instance }} has used over 90% of its memory",
        description: "Less than 10% of the memory of {{ $labels.instance }} has been available for 15 minutes; the kernel OOM killer or kubelet evictions come next.",
        runbook: "node-pressure",
      },
      {
        alert: "NodeFilesystemAlmostFull",
        expr: `max by (instance, mountpoint) (1 - node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}}) > ${t.nodeFilesystemFull}`,
        for: "10m",
        severity: "high",
        summary: "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is over 85% full",
        description: "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} has been over 85% full for 10 minutes. Image pulls, logs and volumes on the node share it.",
        runbook: "node-pressure",
      },
      {
        alert: "PersistentVolumeClaimAlmostFull",
        expr: `max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes) > ${t.pvcFull}`,
        for: "10m",
        severity: "high",
        summary: "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is over 85% full",
        description: "PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has been over 85% full for 10 minutes. The workload writing to it fails when it is full.",
        runbook: "pvc-almost-full",
      },
    ],
  };
}

function workloads(m: Model): AlertGroup {
  const pgNs = m.postgres.namespace;
  const t = THRESHOLDS;
  return {
    name: "beckerkube.workloads",
    alerts: [
      {
        alert: "ContainerRestartingRepeatedly",
        expr: `sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[1h])) > ${t.restartsPerHour}`,
        severity: "high",
        summary: "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} restarts repeatedly",
        description: "Container {{ $labels.container }} in pod {{ $labels.namespace }}/{{ $labels.pod }} restarted more than 3 times in the last hour.",
        runbook: "container-restarts",
      },
      {
        alert: "PodCrashLooping",
        expr: `max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m])) >= 1`,
        for: "5m",
        severity: "high",
        summary: "{{ $labels.namespace }}/{{ $labels.pod }} is in CrashLoopBackOff",
        description: "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} keeps crashing and Kubernetes is backing off its restarts (CrashLoopBackOff) for 5 minutes.",
        runbook: "crashloop-backoff",
      },
      {
        alert: "ImagePullFailing",
        expr: `max by (namespace, pod, container) (kube_pod_container_status_waiting_reason{reason=~"ImagePullBackOff|ErrImagePull"}) >= 1`,
        for: "5m",
        severity: "high",
        summary: "{{ $labels.namespace }}/{{ $labels.pod }} cannot pull its image",
        description:
          "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has been waiting in ImagePullBackOff/ErrImagePull for 5 minutes: the image tag does not exist in the registry, was never pushed, or the node does not trust the registry.",
        runbook: "image-pull-backoff",
      },
      {
        alert: "KubeJobFailed",
        expr: `max by (namespace, job_name) (kube_job_failed{condition="true"}) >= 1`,
        for: "1m",
        severity: "high",
        summary: "Job {{ $labels.namespace }}/{{ $labels.job_name }} failed",
        description: "Job {{ $labels.namespace }}/{{ $labels.job_name }} failed (backoff limit or deadline reached). For a <app>-<component>-migrate Job the HelmRelease upgrade is blocked until the migration succeeds.",
        runbook: "job-failed",
      },
      {
        alert: "PostgresBackupMissed",
        expr: `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{namespace=${q(pgNs)}, cronjob=${q(POSTGRES_BACKUP_CRONJOB)}}) > ${t.backupMaxAgeHours} * 3600`,
        for: "10m",
        severity: "high",
        summary: "No successful PostgreSQL backup for over 26 hours",
        description: "CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} runs nightly but has not completed successfully for more than 26 hours: the newest dump is getting old.",
        runbook: "postgres-backup-missed",
      },
    ],
  };
}

/**
 * Flux 2.1+ controllers export only reconciliation metrics (gotk_reconcile_duration_seconds); the
 * readiness of Flux objects comes from kube-state-metrics' custom resource state metrics as
 * gotk_resource_info{customresource_kind, exported_namespace, name, ready, suspended}, configured
 * by fluxStateMetricsValues() in values.ts.
 */
function gitops(): AlertGroup {
  const notSuspended = `suspended!="true"`;
  const notReady = (alert: string, kinds: string[], what: string): AlertSpec => {
    const kindSel = kinds.length === 1 ? `customresource_kind=${q(kinds[0]!)}` : `customresource_kind=~${q(alt(kinds))}`;
    const by = kinds.length === 1 ? "exported_namespace, name" : "customresource_kind, exported_namespace, name";
    const subject = kinds.length === 1 ? `${kinds[0]} {{ $labels.exported_namespace }}/{{ $labels.name }}` : "{{ $labels.customresource_kind }} {{ $labels.exported_namespace }}/{{ $labels.name }}";
    return {
      alert,
      expr: `max by (${by}) (gotk_resource_info{${kindSel}, ready="False", ${notSuspended}}) > 0`,
      for: "10m",
      severity: "high",
      summary: `${subject} is not ready`,
      description: `Flux reports ${subject} Ready=False for 10 minutes: ${what}`,
      runbook: "flux-not-ready",
    };
  };
  return {
    name: "beckerkube.gitops",
    alerts: [
      notReady("FluxKustomizationNotReady", ["Kustomization"], "the manifests of its path are not applied, and every Kustomization that depends on it waits."),
      notReady("FluxHelmReleaseNotReady", ["HelmRelease"], "its install or upgrade failed or timed out (a migration hook, a missing Secret, an image that cannot be pulled)."),
      notReady("FluxSourceNotReady", ["GitRepository", "HelmRepository", "HelmChart", "OCIRepository"], "Flux cannot fetch it, so nothing that uses it changes."),
      {
        alert: "FluxReconciliationSlow",
        expr: `histogram_quantile(0.95, sum by (kind, namespace, name, le) (rate(gotk_reconcile_duration_seconds_bucket[30m]))) > ${THRESHOLDS.fluxReconcileSeconds}`,
        for: "15m",
        severity: "medium",
        summary: "Flux reconciles {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} slowly",
        description:
          "The 95th percentile reconciliation time of {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} has been above 5 minutes over the last 30 minutes: a hook, a health check or a dependency is holding it up.",
        runbook: "flux-reconciliation-slow",
      },
      {
        alert: "FluxStateMetricsMissing",
        expr: `absent(gotk_resource_info{customresource_kind="Kustomization"})`,
        for: "30m",
        severity: "medium",
        summary: "Flux resource state metrics are missing",
        description: "kube-state-metrics exports no gotk_resource_info for Kustomizations, so the Flux readiness alerts cannot fire. Its custom resource state configuration for Flux is missing or failing.",
        runbook: "flux-metrics-missing",
      },
    ],
  };
}

/**
 * Sealed Secrets v0.36 exports sealed_secrets_controller_unseal_errors_total{reason, namespace} and
 * sealed_secrets_controller_condition_info{namespace, name, condition} (-1 false, 0 unknown, 1 true);
 * cert-manager exports certmanager_certificate_expiration_timestamp_seconds and
 * certmanager_certificate_ready_status{condition} per Certificate. Both monitors honor the exporters'
 * namespace label (scraping.ts), so `namespace` is the object's namespace.
 */
function secretsAndCertificates(m: Model): AlertGroup {
  const ss = m.sealedSecrets;
  return {
    name: "beckerkube.secrets-and-certificates",
    alerts: [
      {
        // `bk secrets backup` annotates each key Secret its verified backup holds; kube-state-metrics exports the
        // annotation (allowlisted in the chart values). Per key, not by time: a restore gives the restored key
        // Secrets new creation times, but they keep the annotation the backup file carries.
        alert: "SealedSecretsKeyNotBackedUp",
        expr:
          `max by (namespace, secret) (kube_secret_created{namespace=${q(ss.namespace)}, secret=~"sealed-secrets-key.+"})` +
          ` unless on (namespace, secret) kube_secret_annotations{namespace=${q(ss.namespace)}, ${KEY_BACKED_UP_METRIC_LABEL}!=""}`,
        for: "15m",
        severity: "high",
        summary: "Sealed Secrets key {{ $labels.secret }} is not in a verified backup",
        description:
          "The Sealed Secrets controller holds key {{ $labels.namespace }}/{{ $labels.secret }}, which no verified backup holds (`bk secrets backup` marks the keys it saved). Everything sealed with it is lost with the cluster until it is backed up (incident 6).",
        runbook: "sealed-secrets-key-not-backed-up",
      },
      {
        alert: "SealedSecretUnsealFailed",
        expr: `sum by (namespace, reason) (increase(sealed_secrets_controller_unseal_errors_total[10m])) > 0`,
        severity: "high",
        summary: "SealedSecrets in {{ $labels.namespace }} cannot be decrypted",
        description:
          "The Sealed Secrets controller failed to unseal SealedSecrets in namespace {{ $labels.namespace }} in the last 10 minutes (reason: {{ $labels.reason }}). If no key could decrypt them, they were sealed for a key the controller does not hold.",
        runbook: "sealed-secret-unseal-failed",
      },
      {
        alert: "SealedSecretNotSynced",
        expr: `min by (namespace, name) (sealed_secrets_controller_condition_info{condition="Synced"}) == -1`,
        for: "5m",
        severity: "high",
        summary: "SealedSecret {{ $labels.namespace }}/{{ $labels.name }} is not synced",
        description: "SealedSecret {{ $labels.namespace }}/{{ $labels.name }} has reported Synced=False for 5 minutes: its Secret is missing or stale, and the pods that read it fail or run with old values.",
        runbook: "sealed-secret-unseal-failed",
      },
      {
        alert: "CertificateExpiringSoon",
        expr: `min by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds) - time() < ${THRESHOLDS.certificateDays} * 86400`,
        for: "10m",
        severity: "high",
        summary: "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires within 14 days",
        description: "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 14 days. cert-manager renews 30 days ahead, so renewal has been failing for two weeks.",
        runbook: "certificate-expiring",
      },
      {
        alert: "CertificateNotReady",
        expr: `max by (namespace, name) (certmanager_certificate_ready_status{condition="False"}) == 1`,
        for: "15m",
        severity: "high",
        summary: "Certificate {{ $labels.namespace }}/{{ $labels.name }} is not ready",
        description:
          "cert-manager reports Certificate {{ $labels.namespace }}/{{ $labels.name }} Ready=False for 15 minutes: it was not issued for its current spec (new SANs, for example), and the service may present an old or no certificate.",
        runbook: "certificate-expiring",
      },
    ],
  };
}

function performance(m: Model): AlertGroup {
  const withMetrics = m.components.filter((c) => c.metrics);
  const alerts: AlertSpec[] = [];
  if (withMetrics.length) {
    const namespaces = [...new Set(withMetrics.map((c) => c.namespace))].sort();
    const sel = `namespace=~${q(alt(namespaces))}, job=~${q(alt(withMetrics.map((c) => c.fullname)))}`;
    alerts.push(
      {
        alert: "ApplicationHighLatency",
        expr: `histogram_quantile(0.95, sum by (namespace, job, le) (rate(http_request_duration_seconds_bucket{${sel}}[5m]))) > ${THRESHOLDS.latencySeconds}`,
        for: "15m",
        severity: "medium",
        summary: "{{ $labels.namespace }}/{{ $labels.job }} responds slowly",
        description: "The 95th percentile HTTP latency of {{ $labels.namespace }}/{{ $labels.job }} has been above 1 second for 15 minutes.",
        runbook: "application-latency",
      },
      {
        alert: "ApplicationHighErrorRate",
        expr: `sum by (namespace, job) (rate(http_requests_total{${sel}, code=~"5.."}[5m]))` + ` / sum by (namespace, job) (rate(http_requests_total{${sel}}[5m])) > ${THRESHOLDS.errorRatio}`,
        for: "15m",
        severity: "medium",
        summary: "{{ $labels.namespace }}/{{ $labels.job }} answers with server errors",
        description: "More than 5% of the HTTP requests to {{ $labels.namespace }}/{{ $labels.job }} have failed with a 5xx status for 15 minutes.",
        runbook: "application-errors",
      },
    );
  }
  alerts.push({
    alert: "ContainerCPUThrottled",
    expr:
      `sum by (namespace, pod, container) (increase(container_cpu_cfs_throttled_periods_total{container!=""}[5m]))` +
      ` / sum by (namespace, pod, container) (increase(container_cpu_cfs_periods_total{container!=""}[5m])) > ${THRESHOLDS.cpuThrottledRatio}`,
    for: "15m",
    severity: "medium",
    summary: "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is CPU throttled",
    description: "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} was throttled in more than 25% of its CPU periods for 15 minutes: its CPU limit is too low for its load.",
    runbook: "cpu-throttling",
  });
  return { name: "beckerkube.performance", alerts };
}

function information(m: Model): AlertGroup {
  const ss = m.sealedSecrets;
  return {
    name: "beckerkube.information",
    alerts: [
      {
        alert: "ContainerRestarted",
        expr: `sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[1h])) > 0 <= ${THRESHOLDS.restartsPerHour}`,
        severity: "low",
        summary: "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} restarted",
        description: "Container {{ $labels.container }} in pod {{ $labels.namespace }}/{{ $labels.pod }} restarted in the last hour (at most 3 times; more raises ContainerRestartingRepeatedly).",
        runbook: "container-restarts",
      },
      {
        alert: "FluxResourceSuspended",
        expr: `max by (customresource_kind, exported_namespace, name) (gotk_resource_info{suspended="true"}) > 0`,
        for: "1h",
        severity: "low",
        summary: "{{ $labels.customresource_kind }} {{ $labels.exported_namespace }}/{{ $labels.name }} is suspended",
        description:
          "Flux reconciliation of {{ $labels.customresource_kind }} {{ $labels.exported_namespace }}/{{ $labels.name }} has been suspended for over an hour: changes in Git do not reach the cluster until it is resumed.",
        runbook: "flux-suspended",
      },
      {
        alert: "SealedSecretsKeyCreated",
        expr: `time() - max by (namespace, secret) (kube_secret_created{namespace=${q(ss.namespace)}, secret=~"sealed-secrets-key.+"}) < ${THRESHOLDS.newKeyHours} * 3600`,
        severity: "low",
        summary: "A new Sealed Secrets key {{ $labels.secret }} was created",
        description:
          "The Sealed Secrets controller created sealing key {{ $labels.namespace }}/{{ $labels.secret }} in the last 24 hours. Back it up now: secrets sealed with a key that was never backed up are lost with the cluster (incident 6).",
        runbook: "sealed-secrets-new-key",
      },
    ],
  };
}

/**
 * Volume backups (issue 17): VolSync sets volsync_volume_out_of_sync to 1 for a ReplicationSource once the run its
 * schedule called for after the last completed sync is due and has not completed (and before the first one). Held
 * for the grace bk status allows a run, it means the newest backup is older than the schedule allows. Without the
 * controller's metrics nobody would say so, hence the second alert.
 */
function volumeBackups(m: Model): AlertGroup {
  const vb = m.volumeBackups;
  if (!vb) return { name: "beckerkube.volume-backups", alerts: [] };
  return {
    name: "beckerkube.volume-backups",
    alerts: [
      {
        alert: "VolumeBackupOutOfSync",
        expr: `max by (obj_namespace, obj_name) (volsync_volume_out_of_sync{role="source"}) == 1`,
        for: `${VOLUME_BACKUP_GRACE_HOURS}h`,
        severity: "high",
        summary: "Volume backup {{ $labels.obj_namespace }}/{{ $labels.obj_name }} is older than its schedule allows",
        description:
          "The newest backup of volume {{ $labels.obj_namespace }}/{{ $labels.obj_name }} is older than its schedule allows: the scheduled run has not completed for " +
          `${VOLUME_BACKUP_GRACE_HOURS} hours. A rebuild now would lose what was written since (\`bk status\` shows its age; \`bk backup --volume {{ $labels.obj_name }}\` runs one now).`,
        runbook: "volume-backup-out-of-sync",
      },
      {
        alert: "VolSyncMetricsAbsent",
        expr: `absent(up{namespace=${q(vb.namespace)}, service="volsync-metrics"} == 1)`,
        for: "30m",
        severity: "high",
        summary: "The VolSync controller is not scraped: volume backups go unwatched",
        description: `Prometheus has had no successful scrape of the VolSync controller in ${vb.namespace} for 30 minutes. Without it no volume backup runs, and VolumeBackupOutOfSync cannot fire.`,
        runbook: "volume-backup-out-of-sync",
      },
    ],
  };
}

/** Every alert group, derived from the Model. */
export function alertGroups(m: Model): AlertGroup[] {
  return [availability(m), applications(m), nodesAndStorage(), workloads(m), gitops(), secretsAndCertificates(m), volumeBackups(m), performance(m), information(m)].filter((g) => g.alerts.length > 0);
}

export function allAlerts(m: Model): AlertSpec[] {
  return alertGroups(m).flatMap((g) => g.alerts);
}

/** The runbook names the alerts point to, sorted and without duplicates. */
export function runbookNames(m: Model): string[] {
  return [...new Set(allAlerts(m).map((a) => a.runbook))].sort();
}

function renderRule(m: Model, a: AlertSpec) {
  const path = runbookPath(a.runbook);
  const url = repoBrowseUrl(m.gitops.url, m.gitops.branch, path);
  return {
    alert: a.alert,
    expr: a.expr,
    ...(a.for ? { for: a.for } : {}),
    labels: { severity: a.severity, ...a.labels },
    annotations: {
      summary: a.summary,
      description: a.description,
      runbook: path,
      ...(url ? { runbook_url: url } : {}),
    },
  };
}

export function ruleObjectName(group: AlertGroup): string {
  return group.name.replace(/\./g, "-");
}

export function prometheusRule(m: Model, group: AlertGroup): KubeObject {
  const rule: IPrometheusRule = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: ruleObjectName(group), namespace: m.monitoring.namespace, labels: { ...MANAGED_BY } },
    spec: { groups: [{ name: group.name, rules: group.alerts.map((a) => renderRule(m, a)) }] },
  };
  return obj(rule);
}

export const RULES_DIR = `${CONFIGS}/monitoring/rules`;

export function synthRules(m: Model): PlacedObject[] {
  return alertGroups(m).flatMap((g) => place(`${RULES_DIR}/${ruleObjectName(g)}.yaml`, prometheusRule(m, g)));
}
