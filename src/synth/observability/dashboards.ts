/**
 * Grafana dashboards as ConfigMaps the Grafana sidecar of kube-prometheus-stack loads (label
 * grafana_dashboard: "1", any namespace). Built from the Model: one dashboard per application with
 * a row per component (tag "applications"), the logs dashboard one panel per application namespace.
 *
 * One dashboard per application, not one for all: a ConfigMap holds at most 1 MiB, and a single
 * dashboard with four panels per component passed that at about 200 components (and Grafana does not
 * render thousands of panels usefully anyway).
 */
import { createHash } from "node:crypto";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { KubeObject, PlacedObject } from "../../core/object.js";
import type { AppModel, ComponentModel, Model } from "../../model/model.js";
import { MANAGED_BY, obj, place } from "../builders.js";
import { CONFIGS } from "../../model/layout.js";
import { DashboardBuilder, type Json } from "./panels.js";
import { alt, q } from "./promql.js";
import { POSTGRES_BACKUP_CRONJOB, THRESHOLDS } from "./rules.js";
import { FLUX_CONTROLLERS, JOBS } from "./scraping.js";
import { FLUX_NAMESPACE } from "../../core/well-known.js";

/** The label the Grafana dashboard sidecar watches (grafana.sidecar.dashboards in the stack's values). */
export const DASHBOARD_LABEL = { key: "grafana_dashboard", value: "1" } as const;

/**
 * Loki labels Fluent Bit attaches (its loki output: Labels job=fluent-bit, and Label_keys
 * $kubernetes['namespace_name'] becomes the label namespace_name).
 */
export const LOKI_LABELS = { job: "fluent-bit", namespace: "namespace_name" } as const;

export interface Dashboard {
  /** Short id: ConfigMap bk-dashboard-<id>, JSON file beckerkube-<id>.json, Grafana uid bk-<id>. */
  id: string;
  json: Json;
}

const FLUX_JOB_RE = alt(FLUX_CONTROLLERS);
const FLUX_SOURCE_KINDS = alt(["GitRepository", "HelmRepository", "HelmChart", "OCIRepository"]);

function clusterOverview(m: Model): Json {
  const fs = `fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs", mountpoint!=""`;
  const infraJobs = alt([JOBS.apiserver, JOBS.registry, JOBS.chartmuseum, JOBS.ingress, JOBS.certManager, JOBS.sealedSecrets, JOBS.postgres]);
  const firing = (severity: string) => `count(ALERTS{alertstate="firing", severity=${q(severity)}}) or vector(0)`;
  return new DashboardBuilder("bk-cluster", "BeckerKube / Cluster overview", `Node, workloads and the infrastructure services of ${m.cluster.name}.`, ["cluster"])
    .row("Health")
    .stat("Nodes ready", { expr: `sum(kube_node_status_condition{condition="Ready", status="true"})` })
    .stat("Pods not ready", { expr: `sum(kube_pod_status_ready{condition="false"})` })
    .stat("Critical alerts", { expr: firing("critical") })
    .stat("High alerts", { expr: firing("high") })
    .stat("HelmReleases not ready", { expr: `count(gotk_resource_info{customresource_kind="HelmRelease", ready!="True"}) or vector(0)` })
    .stat("Certificates expiring in 14 days", { expr: `count(certmanager_certificate_expiration_timestamp_seconds - time() < ${THRESHOLDS.certificateDays} * 86400) or vector(0)` })
    .row("Infrastructure services")
    .timeseries(
      "Scrape targets up",
      [
        { expr: `max by (job) (up{job=~${q(infraJobs)}})`, legend: "{{job}}" },
        { expr: `max by (cluster) (cnpg_collector_up)`, legend: "postgresql {{cluster}}" },
      ],
      { min: 0, max: 1, description: "1 = scraped and up. PostgreSQL is up when its exporter reaches the database." },
    )
    .timeseries("Ingress requests by status", [{ expr: `sum by (status) (rate(nginx_ingress_controller_requests[5m]))`, legend: "{{status}}" }], { unit: "reqps" })
    .timeseries("Days until certificate expiry", [{ expr: `min by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds - time()) / 86400`, legend: "{{namespace}}/{{name}}" }], {
      unit: "d",
    })
    .timeseries("Firing alerts by severity", [{ expr: `sum by (severity) (ALERTS{alertstate="firing"})`, legend: "{{severity}}" }])
    .row("Node")
    .timeseries("CPU usage", [{ expr: `1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))`, legend: "{{instance}}" }], { unit: "percentunit", w: 8, min: 0, max: 1 })
    .timeseries("Memory usage", [{ expr: `1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes`, legend: "{{instance}}" }], { unit: "percentunit", w: 8, min: 0, max: 1 })
    .timeseries("Filesystem usage", [{ expr: `1 - node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}}`, legend: "{{instance}} {{mountpoint}}" }], {
      unit: "percentunit",
      w: 8,
      min: 0,
      max: 1,
    })
    .row("Workloads")
    .timeseries("CPU by namespace", [{ expr: `sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))`, legend: "{{namespace}}" }])
    .timeseries("Memory by namespace", [{ expr: `sum by (namespace) (container_memory_working_set_bytes{container!=""})`, legend: "{{namespace}}" }], { unit: "bytes" })
    .timeseries("Container restarts in the last hour", [{ expr: `sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[1h])) > 0`, legend: "{{namespace}}/{{pod}}" }])
    .timeseries("Volume usage", [{ expr: `max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes)`, legend: "{{namespace}}/{{persistentvolumeclaim}}" }], {
      unit: "percentunit",
      min: 0,
      max: 1,
    })
    .build();
}

function flux(m: Model): Json {
  const appNamespaces = alt([...new Set(m.apps.map((a) => a.namespace))].sort());
  const notReady = (kindSel: string) => `count(gotk_resource_info{${kindSel}, ready!="True"}) or vector(0)`;
  const fluxJobs = `job=~${q(FLUX_JOB_RE)}`;
  return new DashboardBuilder("bk-flux", "BeckerKube / Flux reconciliation", "State of the Flux resources (kube-state-metrics) and the work of the Flux controllers.", ["flux"])
    .row("Resources")
    .stat("Kustomizations not ready", { expr: notReady(`customresource_kind="Kustomization"`) }, { w: 6 })
    .stat("HelmReleases not ready", { expr: notReady(`customresource_kind="HelmRelease"`) }, { w: 6 })
    .stat("Sources not ready", { expr: notReady(`customresource_kind=~${q(FLUX_SOURCE_KINDS)}`) }, { w: 6 })
    .stat("Suspended", { expr: `count(gotk_resource_info{suspended="true"}) or vector(0)` }, { w: 6 })
    .timeseries("Resources not ready", [{ expr: `max by (customresource_kind, exported_namespace, name) (gotk_resource_info{ready!="True"})`, legend: "{{customresource_kind}} {{exported_namespace}}/{{name}}" }], {
      w: 24,
      description: "Each line is a Flux resource whose Ready condition is not True.",
    })
    .timeseries(
      "Application HelmReleases ready",
      [{ expr: `max by (exported_namespace, name) (gotk_resource_info{customresource_kind="HelmRelease", exported_namespace=~${q(appNamespaces)}, ready="True"})`, legend: "{{exported_namespace}}/{{name}}" }],
      { w: 24, min: 0, max: 1 },
    )
    .row("Controllers")
    .timeseries("Reconcile duration p95 by kind", [{ expr: `histogram_quantile(0.95, sum by (kind, le) (rate(gotk_reconcile_duration_seconds_bucket[5m])))`, legend: "{{kind}}" }], { unit: "s" })
    .timeseries(
      "Slowest reconciliations (p95, 30m)",
      [{ expr: `topk(10, histogram_quantile(0.95, sum by (kind, namespace, name, le) (rate(gotk_reconcile_duration_seconds_bucket[30m]))))`, legend: "{{kind}} {{namespace}}/{{name}}" }],
      { unit: "s" },
    )
    .timeseries("Reconciliations by result", [{ expr: `sum by (job, result) (rate(controller_runtime_reconcile_total{${fluxJobs}}[5m]))`, legend: "{{job}} {{result}}" }], { unit: "ops" })
    .timeseries("Reconcile errors", [{ expr: `sum by (job) (rate(controller_runtime_reconcile_errors_total{${fluxJobs}}[5m]))`, legend: "{{job}}" }], { unit: "ops" })
    .timeseries("Controllers up", [{ expr: `max by (job) (up{${fluxJobs}})`, legend: "{{job}}" }], { min: 0, max: 1 })
    .timeseries("Controller memory", [{ expr: `sum by (job) (process_resident_memory_bytes{${fluxJobs}})`, legend: "{{job}}" }], { unit: "bytes" })
    .build();
}

/** Matchers for the long-running pods of a component (not its migration Job or CronJobs). */
function podSel(c: ComponentModel): string {
  // The Deployment's container is named after the component; Jobs and CronJobs use other names.
  return `namespace=${q(c.namespace)}, container=${q(c.name)}, pod=~${q(`${c.fullname}-.+`)}`;
}

/** Grafana refuses dashboard uids over 40 characters; long application names keep a readable prefix and a hash. */
const MAX_UID = 40;

export function appDashboardUid(app: string): string {
  const uid = `bk-app-${app}`;
  if (uid.length <= MAX_UID) return uid;
  const hash = createHash("sha256").update(app).digest("hex").slice(0, 8);
  return `${uid.slice(0, MAX_UID - 9).replace(/-+$/, "")}-${hash}`;
}

function application(app: AppModel): Json {
  const d = new DashboardBuilder(
    appDashboardUid(app.name),
    `BeckerKube / App: ${app.name}`,
    `${app.name} in namespace ${app.namespace}, one row per component. Components with a metrics endpoint show HTTP traffic (http_requests_total with a code label, http_request_duration_seconds); the others show replicas and resources.`,
    ["applications"],
  );
  for (const c of app.components) {
    const restarts = { expr: `sum by (pod) (increase(kube_pod_container_status_restarts_total{${podSel(c)}}[1h]))`, legend: "{{pod}}" };
    d.row(c.name);
    if (c.metrics) {
      const sel = `namespace=${q(c.namespace)}, job=${q(c.fullname)}`;
      const latency = (p: number) => `histogram_quantile(${p}, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[5m])))`;
      d.timeseries("Requests", [{ expr: `sum by (code) (rate(http_requests_total{${sel}}[5m]))`, legend: "{{code}}" }], { unit: "reqps", w: 6, h: 7 })
        .timeseries("Errors (5xx ratio)", [{ expr: `sum(rate(http_requests_total{${sel}, code=~"5.."}[5m])) / sum(rate(http_requests_total{${sel}}[5m]))`, legend: "5xx" }], {
          unit: "percentunit",
          w: 6,
          h: 7,
          min: 0,
        })
        .timeseries(
          "Latency",
          [
            { expr: latency(0.5), legend: "p50" },
            { expr: latency(0.95), legend: "p95" },
          ],
          { unit: "s", w: 6, h: 7 },
        )
        .timeseries("Restarts (1h)", [restarts], { w: 6, h: 7 });
    } else {
      const deploy = `namespace=${q(c.namespace)}, deployment=${q(c.fullname)}`;
      d.timeseries(
        "Replicas",
        [
          { expr: `max(kube_deployment_status_replicas_available{${deploy}})`, legend: "available" },
          { expr: `max(kube_deployment_spec_replicas{${deploy}})`, legend: "desired" },
        ],
        { w: 6, h: 7, min: 0, description: "This component exposes no metrics endpoint: no request, error or latency data." },
      )
        .timeseries("Restarts (1h)", [restarts], { w: 6, h: 7 })
        .timeseries("CPU", [{ expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{${podSel(c)}}[5m]))`, legend: "{{pod}}" }], { w: 6, h: 7 })
        .timeseries("Memory", [{ expr: `sum by (pod) (container_memory_working_set_bytes{${podSel(c)}})`, legend: "{{pod}}" }], { unit: "bytes", w: 6, h: 7 });
    }
  }
  return d.build();
}

function postgres(m: Model): Json {
  const pg = m.postgres;
  const job = `job=${q(JOBS.postgres)}`;
  const dbs = `${job}, datname=~${q(alt(m.postgres.databases.map((x) => x.name)))}`;
  const rate = (metric: string) => `sum by (datname) (rate(${metric}{${dbs}}[5m]))`;
  return new DashboardBuilder("bk-postgres", "BeckerKube / PostgreSQL", `CloudNativePG cluster ${pg.clusterName} in ${pg.namespace}, its databases and the nightly backup.`, ["postgresql"])
    .row("Cluster")
    .stat("PostgreSQL up", { expr: `max(cnpg_collector_up{cluster=${q(pg.clusterName)}})` }, { w: 6 })
    .stat("Connections", { expr: `sum(cnpg_backends_total{${job}})` }, { w: 6 })
    .stat("Hours since last backup", { expr: `(time() - max(kube_cronjob_status_last_successful_time{namespace=${q(pg.namespace)}, cronjob=${q(POSTGRES_BACKUP_CRONJOB)}})) / 3600` }, { w: 6 })
    .stat(
      "Data volume used",
      {
        expr: `max(kubelet_volume_stats_used_bytes{namespace=${q(pg.namespace)}, persistentvolumeclaim=~${q(`${pg.clusterName}-[0-9]+`)}} / kubelet_volume_stats_capacity_bytes{namespace=${q(pg.namespace)}, persistentvolumeclaim=~${q(`${pg.clusterName}-[0-9]+`)}})`,
      },
      { w: 6, unit: "percentunit" },
    )
    .row("Databases")
    .timeseries("Connections by database", [{ expr: `sum by (datname) (cnpg_backends_total{${dbs}})`, legend: "{{datname}}" }])
    .timeseries("Database size", [{ expr: `max by (datname) (cnpg_pg_database_size_bytes{${dbs}})`, legend: "{{datname}}" }], { unit: "bytes" })
    .timeseries("Commits", [{ expr: rate("cnpg_pg_stat_database_xact_commit"), legend: "{{datname}}" }], { unit: "ops" })
    .timeseries("Rollbacks", [{ expr: rate("cnpg_pg_stat_database_xact_rollback"), legend: "{{datname}}" }], { unit: "ops" })
    .timeseries("Cache hit ratio", [{ expr: `${rate("cnpg_pg_stat_database_blks_hit")} / (${rate("cnpg_pg_stat_database_blks_hit")} + ${rate("cnpg_pg_stat_database_blks_read")})`, legend: "{{datname}}" }], {
      unit: "percentunit",
      min: 0,
      max: 1,
    })
    .timeseries("Longest open transaction", [{ expr: `max by (datname) (cnpg_backends_max_tx_duration_seconds{${dbs}})`, legend: "{{datname}}" }], { unit: "s" })
    .timeseries("Deadlocks in the last hour", [{ expr: `sum by (datname) (increase(cnpg_pg_stat_database_deadlocks{${dbs}}[1h]))`, legend: "{{datname}}" }])
    .build();
}

function logs(m: Model): Json {
  const l = LOKI_LABELS;
  const stream = (nsMatcher: string) => `{job=${q(l.job)}, ${l.namespace}${nsMatcher}}`;
  const namespaces = [...new Set(m.apps.map((a) => a.namespace))].sort();
  const d = new DashboardBuilder("bk-logs", "BeckerKube / Logs", "Container logs shipped by Fluent Bit to Loki, one panel per application namespace.", ["logs"]);
  d.row("All applications").logs("Errors in application logs", `${stream(`=~${q(alt(namespaces))}`)} |~ "(?i)(error|exception|traceback|panic)"`, { h: 8 });
  d.row("Applications");
  for (const app of m.apps) d.logs(`${app.name} (namespace ${app.namespace})`, stream(`=${q(app.namespace)}`));
  d.row("GitOps").logs("Flux controllers", stream(`=${q(FLUX_NAMESPACE)}`));
  return d.build();
}

export function dashboards(m: Model): Dashboard[] {
  return [
    { id: "cluster", json: clusterOverview(m) },
    { id: "flux", json: flux(m) },
    { id: "postgresql", json: postgres(m) },
    { id: "logs", json: logs(m) },
    ...m.apps.map((app) => ({ id: `app-${app.name}`, json: application(app) })),
  ];
}

export function dashboardConfigMap(m: Model, d: Dashboard): KubeObject {
  const cm: IConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `bk-dashboard-${d.id}`, namespace: m.monitoring.namespace, labels: { ...MANAGED_BY, [DASHBOARD_LABEL.key]: DASHBOARD_LABEL.value } },
    data: { [`beckerkube-${d.id}.json`]: JSON.stringify(d.json, null, 2) + "\n" },
  };
  return obj(cm);
}

export const DASHBOARDS_DIR = `${CONFIGS}/monitoring/dashboards`;

export function synthDashboards(m: Model): PlacedObject[] {
  return dashboards(m).flatMap((d) => place(`${DASHBOARDS_DIR}/${d.id}.yaml`, dashboardConfigMap(m, d)));
}
