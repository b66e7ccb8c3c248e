/**
 * What must be reachable, derived from the definition rather than from the policies: the
 * components' talksTo, databases, routes and metrics, name resolution for every pod, and the
 * infrastructure paths the platform depends on. `bk netpol` compares the policies against this.
 */
import type { Model, Protocol, Workload } from "../model/model.js";
import { API_SERVER_PORT, BACKUP_STORE_ID, VOLSYNC_CONTROLLER_ID, VOLSYNC_MOVER_ID, type Inventory } from "./inventory.js";
import { repositoryEndpoint, VOLSYNC_METRICS_PORT } from "../model/volume-backups.js";
import { CNPG_STATUS_PORT, DNS_PORT, LOKI_PORT, POSTGRES_PORT, PROMETHEUS_PORT } from "../core/well-known.js";
import { portOf } from "../model/infra-workloads.js";
import { FLAGGER_RELEASE } from "../model/progressive.js";

export interface PathIntent {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  why: string;
}

export const pathKey = (from: string, to: string, port: number, protocol: Protocol) => `${from}>${to}:${port}/${protocol}`;

type Need = (from: string, to: string, port: number, why: string, protocol?: Protocol) => void;

const id = (x: Workload) => `${x.namespace}/${x.id}`;

/** What each application component declares: its edges, database, routes and metrics. */
function componentPaths(m: Model, inv: Inventory, need: Need): void {
  const w = m.workloads;
  const jobsOf = (componentId: string) => inv.endpoints.filter((e) => e.owner === componentId && e.endpoint.id !== componentId).map((e) => e.endpoint.id);
  for (const c of m.components) {
    for (const edge of c.edges) {
      if (edge.to.kind === "component") {
        const t = m.components.find((x) => x.id === (edge.to as { id: string }).id);
        if (t?.port) need(c.id, t.id, t.port, `talksTo ${t.id}`);
      } else if (edge.to.kind === "database") {
        for (const pod of [c.id, ...jobsOf(c.id)]) need(pod, id(w.postgres), POSTGRES_PORT, `database ${edge.to.name}`);
      } else {
        need(c.id, "internet", edge.to.port, `talksTo ${edge.to.host}:${edge.to.port}`);
      }
    }
    if (c.route && c.port) {
      need(id(w.ingressController), c.id, c.port, `route ${c.route}`);
      need(id(w.gateway), c.id, c.port, `route ${c.route}`);
    }
    if (c.metrics) need(id(w.prometheus), c.id, c.metrics.port, `metrics ${c.metrics.path}`);
  }
}

/** The platform's own traffic: scraping, LAN entry points, charts, logs, PostgreSQL. */
function platformPaths(w: Model["workloads"], need: Need): void {
  for (const x of Object.values(w)) for (const port of x.metricsPorts) need(id(w.prometheus), id(x), port, "metrics");
  for (const x of [w.ingressController, w.gateway]) for (const port of [80, 443]) need("lan", id(x), port, "LAN entry point");
  need("lan", id(w.registry), w.registry.ports[0]!.port, "image pushes from build hosts");
  need("lan", id(w.chartmuseum), w.chartmuseum.ports[0]!.port, "chart uploads from build hosts");
  need("lan", id(w.postgres), POSTGRES_PORT, "PostgreSQL LoadBalancer");
  need(id(w.fluxSource), id(w.chartmuseum), w.chartmuseum.ports[0]!.port, "application chart");
  need(id(w.fluxSource), "internet", 22, "Git over SSH");
  need(id(w.fluxSource), "internet", 443, "upstream charts");
  need(id(w.fluxHelm), id(w.fluxSource), portOf(w.fluxSource, "http"), "chart artifacts");
  need(id(w.gateway), id(w.istiod), portOf(w.istiod, "tls-xds"), "gateway configuration");
  need(id(w.grafana), id(w.prometheus), PROMETHEUS_PORT, "dashboards");
  need(id(w.grafana), id(w.loki), LOKI_PORT, "log queries");
  need(id(w.fluentBit), id(w.loki), LOKI_PORT, "log shipping");
  need(id(w.cnpgOperator), id(w.postgres), CNPG_STATUS_PORT, "instance status");
  need(id(w.cnpgOperator), id(w.postgres), POSTGRES_PORT, "roles and databases");
  need(id(w.postgresBackup), id(w.postgres), POSTGRES_PORT, "nightly pg_dump");
  need(id(w.kubeDns), "internet", DNS_PORT, "upstream DNS", "UDP");
}

/** Telling the operator (webhooks on the internet) and the Git host's push Receiver behind the entry points. */
function notificationPaths(m: Model, need: Need): void {
  const w = m.workloads;
  if (!m.notifications) return;
  need(id(w.alertmanager), "internet", 443, "alert notifications");
  need(id(w.fluxNotification), "internet", 443, "Flux notifications");
  if (!m.notifications.receiver) return;
  for (const x of [w.ingressController, w.gateway]) need(id(x), id(w.fluxNotification), portOf(w.fluxNotification, "http-webhook"), "push Receiver (/hook/)");
}

/** Volume backups: the movers reach the restic store, the controller the API, Prometheus the controller. */
function volumeBackupPaths(m: Model, need: Need): void {
  const vb = m.volumeBackups;
  if (!vb) return;
  const store = repositoryEndpoint(vb.repository);
  for (const ns of new Set(vb.volumes.map((v) => v.namespace))) need(`${ns}/${VOLSYNC_MOVER_ID}`, store.ip ? BACKUP_STORE_ID : "internet", store.port, "volume backups to the restic store");
  const controller = `${vb.namespace}/${VOLSYNC_CONTROLLER_ID}`;
  need(controller, "apiserver", API_SERVER_PORT, "Kubernetes API");
  need(id(m.workloads.prometheus), controller, VOLSYNC_METRICS_PORT, "metrics");
}

/** Flagger watches and writes through the API and reads its canaries' metrics from Prometheus. */
function progressivePaths(m: Model, need: Need): void {
  const pd = m.progressiveDelivery;
  if (!pd) return;
  const flagger = `${pd.namespace}/${FLAGGER_RELEASE}`;
  need(flagger, "apiserver", API_SERVER_PORT, "Kubernetes API");
  need(flagger, id(m.workloads.prometheus), PROMETHEUS_PORT, "canary analysis metrics");
}

/** Pods that call the API server, and the webhooks and proxies the API server calls. */
function apiServerPaths(w: Model["workloads"], need: Need): void {
  const apiClients = [
    w.kubeDns,
    w.sealedSecrets,
    w.fluxSource,
    w.fluxHelm,
    w.fluxNotification,
    w.metallbController,
    w.certManager,
    w.certManagerWebhook,
    w.ingressController,
    w.istiod,
    w.postgres,
    w.cnpgOperator,
    w.prometheus,
    w.grafana,
    w.prometheusOperator,
    w.kubeStateMetrics,
    w.fluentBit,
  ];
  for (const x of apiClients) need(id(x), "apiserver", API_SERVER_PORT, "Kubernetes API");
  const webhooks: Array<[Workload, string]> = [
    [w.metallbController, "webhook-server"],
    [w.certManagerWebhook, "https"],
    [w.ingressController, "webhook"],
    [w.istiod, "https-webhooks"],
    [w.cnpgOperator, "webhook-server"],
    [w.prometheusOperator, "https"],
    [w.sealedSecrets, "http"],
  ];
  for (const [x, portName] of webhooks) need("apiserver", id(x), portOf(x, portName), x === w.sealedSecrets ? "kubeseal --fetch-cert via the API server" : "admission webhook");
}

export function requiredPaths(m: Model, inv: Inventory): PathIntent[] {
  const out: PathIntent[] = [];
  const w = m.workloads;
  const need: Need = (from, to, port, why, protocol = "TCP") => out.push({ from, to, port, protocol, why });

  for (const e of inv.endpoints) {
    if (e.endpoint.kind !== "pod" || e.endpoint.id === id(w.kubeDns)) continue;
    need(e.endpoint.id, id(w.kubeDns), DNS_PORT, "name resolution", "UDP");
    need(e.endpoint.id, id(w.kubeDns), DNS_PORT, "name resolution", "TCP");
  }

  componentPaths(m, inv, need);
  platformPaths(w, need);
  notificationPaths(m, need);
  volumeBackupPaths(m, need);
  progressivePaths(m, need);
  apiServerPaths(w, need);

  // Endpoints the inventory does not have (a namespace left out of the definition) are not required.
  const known = new Set(inv.endpoints.map((e) => e.endpoint.id));
  const seen = new Set<string>();
  return out.filter((p) => {
    const k = pathKey(p.from, p.to, p.port, p.protocol);
    if (!known.has(p.from) || !known.has(p.to) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
