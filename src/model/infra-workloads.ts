/**
 * The infrastructure pods as their charts and operators label them, with the ports they listen on.
 * NetworkPolicy selects pods by label, so both the policies (synth/netpol.ts) and `bk netpol`
 * (which evaluates them) read these same facts from the Model: the policies select by `selector`,
 * the analysis models each pod with its full `labels`. A selector that stops matching the real
 * labels then shows up as a blocked path.
 *
 * What a chart renders is not typed here: the labels and ports of a chart's pods come from
 * upstream-facts.generated.ts (`npm run gen:facts`, from the pinned charts), and `bk validate` reports when the
 * charts render something else. What stays here is what we decide: which pods a row is (`selector`), its
 * title, and which of its ports, by name, Prometheus scrapes. Rows whose pods no chart renders are kept by hand.
 */
import type { ChartPodFacts, InfraWorkloads, Model, Workload, WorkloadPort } from "./model.js";
import { UPSTREAM_FACTS } from "./upstream-facts.generated.js";
import { CNPG_STATUS_PORT, DNS_PORT, FLUX_METRICS_PORT, FLUX_NAMESPACE, KUBE_SYSTEM, POSTGRES_PORT, PROMETHEUS_PORT, REGISTRY_METRICS_PORT } from "../core/well-known.js";
import { endpointById } from "./model.js";

const tcp = (name: string, port: number): WorkloadPort => ({ name, port, protocol: "TCP" });
const udp = (name: string, port: number): WorkloadPort => ({ name, port, protocol: "UDP" });

/** The rows whose pods a chart renders: their labels and ports are generated. */
export const CHART_ROWS = [
  "sealedSecrets",
  "metallbController",
  "certManager",
  "certManagerWebhook",
  "ingressController",
  "istiod",
  "gateway",
  "chartmuseum",
  "cnpgOperator",
  "grafana",
  "prometheusOperator",
  "kubeStateMetrics",
  "loki",
  "fluentBit",
] as const satisfies readonly (keyof InfraWorkloads)[];
type ChartRow = (typeof CHART_ROWS)[number];
type Facts = Readonly<Record<string, ChartPodFacts>>;

/** A row kept by hand: pods an operator, the cluster, `flux bootstrap` or synth makes, which no chart renders. */
function handKept(w: Omit<Workload, "selector" | "metricsPorts"> & { selector?: Record<string, string>; metricsPorts?: number[] }): Workload {
  return { ...w, selector: w.selector ?? w.labels, metricsPorts: w.metricsPorts ?? [] };
}

interface ChartRowDecision {
  id: string;
  title: string;
  namespace: string;
  selector: Record<string, string>;
  /** Names of the ports Prometheus scrapes: a port the chart renumbers is followed. */
  metrics?: string[];
  /**
   * The release name the definition gives, where it gives one: label values equal to the release name the facts
   * were rendered under (charts derive instance and name labels from .Release.Name) follow it without regenerating.
   */
  release?: string;
}

/**
 * A chart-rendered row: labels and ports from the generated facts. Without facts (a row added before `npm run
 * gen:facts` ran) it carries only its selector and no port; `bk validate` and the facts test say to regenerate.
 */
function charted(facts: Facts, key: ChartRow, d: ChartRowDecision): Workload {
  const { id, title, namespace, selector } = d;
  const f = facts[key];
  if (!f) return { id, title, namespace, selector, labels: { ...selector }, ports: [], metricsPorts: [] };
  const labels = Object.fromEntries(Object.entries(f.labels).map(([k, v]) => [k, d.release !== undefined && v === f.release ? d.release : v]));
  const ports = f.ports.map((p) => ({ ...p }));
  const metricsPorts = (d.metrics ?? []).map((name) => {
    const p = ports.find((x) => x.name === name);
    if (!p) throw new Error(`${key}: ${f.chart} ${f.version} renders no port named ${name} (${ports.map((x) => x.name).join(", ")}): pick the metrics port in src/model/infra-workloads.ts`);
    return p.port;
  });
  const follow = (v: string) => (d.release !== undefined && v === f.release ? d.release : v);
  return { id, title, namespace, selector, labels, ports, metricsPorts, ...(f.serviceAccount ? { serviceAccount: follow(f.serviceAccount) } : {}) };
}

/** What the table reads: where each upstream component is installed and the ports the definition pins. */
export type WorkloadsInput = Pick<Model, "sealedSecrets" | "metallb" | "certManager" | "ingressNginx" | "istio" | "registryServer" | "chartmuseum" | "postgres" | "cloudnativePg" | "monitoring" | "logging" | "endpoints">;

export function infraWorkloads(m: WorkloadsInput, facts: Facts = UPSTREAM_FACTS): InfraWorkloads {
  return { ...clusterServiceWorkloads(m, facts), ...trafficWorkloads(m, facts), ...dataWorkloads(m, facts), ...observabilityWorkloads(m, facts) };
}

/** DNS, Sealed Secrets, Flux, MetalLB and cert-manager: the pods every other layer leans on. */
function clusterServiceWorkloads(m: WorkloadsInput, facts: Facts) {
  return {
    // Minikube's addon makes the CoreDNS pods; no chart of the tree renders them.
    kubeDns: handKept({
      id: "kube-dns",
      title: "CoreDNS",
      namespace: KUBE_SYSTEM,
      labels: { "k8s-app": "kube-dns" },
      ports: [udp("dns", DNS_PORT), tcp("dns-tcp", DNS_PORT), tcp("metrics", 9153)],
      metricsPorts: [9153],
    }),
    sealedSecrets: charted(facts, "sealedSecrets", {
      id: "sealed-secrets",
      title: "Sealed Secrets controller",
      namespace: m.sealedSecrets.namespace,
      selector: { "app.kubernetes.io/name": "sealed-secrets" },
      metrics: ["metrics"],
      release: m.sealedSecrets.controllerName,
    }),
    // `flux bootstrap` installs the Flux controllers from its own manifests, not from a chart of the tree.
    fluxSource: handKept({
      id: "source-controller",
      title: "Flux source-controller",
      namespace: FLUX_NAMESPACE,
      labels: { app: "source-controller", "app.kubernetes.io/part-of": "flux", "app.kubernetes.io/component": "source-controller" },
      selector: { app: "source-controller" },
      ports: [tcp("http", 9090), tcp("http-prom", FLUX_METRICS_PORT)],
      metricsPorts: [FLUX_METRICS_PORT],
    }),
    // As fluxSource: made by `flux bootstrap`.
    fluxHelm: handKept({
      id: "helm-controller",
      title: "Flux helm-controller",
      namespace: FLUX_NAMESPACE,
      labels: { app: "helm-controller", "app.kubernetes.io/part-of": "flux", "app.kubernetes.io/component": "helm-controller" },
      selector: { app: "helm-controller" },
      ports: [tcp("http-prom", FLUX_METRICS_PORT)],
      metricsPorts: [FLUX_METRICS_PORT],
    }),
    // As fluxSource: made by `flux bootstrap`.
    fluxNotification: handKept({
      id: "notification-controller",
      title: "Flux notification-controller",
      namespace: FLUX_NAMESPACE,
      labels: { app: "notification-controller", "app.kubernetes.io/part-of": "flux", "app.kubernetes.io/component": "notification-controller" },
      selector: { app: "notification-controller" },
      // 9090 takes the other controllers' events; 9292 the Receivers' webhooks (Service webhook-receiver, port 80).
      ports: [tcp("http", 9090), tcp("http-webhook", 9292), tcp("http-prom", FLUX_METRICS_PORT)],
      metricsPorts: [FLUX_METRICS_PORT],
    }),
    metallbController: charted(facts, "metallbController", {
      id: "metallb-controller",
      title: "MetalLB controller",
      namespace: m.metallb.namespace,
      selector: { "app.kubernetes.io/name": "metallb", "app.kubernetes.io/component": "controller" },
      // MetalLB 0.16 serves metrics over HTTPS (kube-rbac-proxy is gone); its old 7472 is no longer opened.
      metrics: ["metricshttps"],
    }),
    certManager: charted(facts, "certManager", {
      id: "cert-manager",
      title: "cert-manager controller",
      namespace: m.certManager.namespace,
      selector: { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller" },
      metrics: ["http-metrics"],
    }),
    certManagerWebhook: charted(facts, "certManagerWebhook", {
      id: "cert-manager-webhook",
      title: "cert-manager webhook",
      namespace: m.certManager.namespace,
      selector: { "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "webhook" },
    }),
  } satisfies Partial<InfraWorkloads>;
}

/** ingress-nginx and Istio: the pods that carry traffic into the cluster. */
function trafficWorkloads(m: WorkloadsInput, facts: Facts) {
  return {
    ingressController: charted(facts, "ingressController", {
      id: "ingress-nginx",
      title: "ingress-nginx controller",
      namespace: m.ingressNginx.namespace,
      selector: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
      metrics: ["metrics"],
    }),
    istiod: charted(facts, "istiod", {
      id: "istiod",
      title: "istiod",
      namespace: m.istio.namespace,
      selector: { app: "istiod", istio: "pilot" },
      metrics: ["http-monitoring"],
    }),
    gateway: charted(facts, "gateway", {
      id: "istio-gateway",
      title: "Istio gateway",
      namespace: m.istio.gatewayNamespace,
      // The gateway chart labels its pods istio=<release name without "istio-">.
      selector: { istio: m.istio.gatewayName.replace(/^istio-/, "") },
      metrics: ["http-envoy-prom"],
      release: m.istio.gatewayName,
    }),
  } satisfies Partial<InfraWorkloads>;
}

/** The registry, ChartMuseum and PostgreSQL with its operator: the pods that keep state. */
function dataWorkloads(m: WorkloadsInput, facts: Facts) {
  const registryPort = endpointById(m, "registry").ports[0]!.port;
  return {
    // synth/configs.ts makes the registry Deployment: labelsFor("registry", "registry", "beckerkube") plus the selector.
    registry: handKept({
      id: "registry",
      title: "Registry",
      namespace: m.registryServer.namespace,
      labels: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/component": "registry", "app.kubernetes.io/part-of": "beckerkube" },
      selector: { "app.kubernetes.io/name": "registry" },
      ports: [tcp("registry", registryPort), tcp("metrics", REGISTRY_METRICS_PORT)],
      metricsPorts: [REGISTRY_METRICS_PORT],
    }),
    chartmuseum: charted(facts, "chartmuseum", {
      id: "chartmuseum",
      title: "ChartMuseum",
      namespace: m.chartmuseum.namespace,
      selector: { "app.kubernetes.io/name": "chartmuseum" },
      // ChartMuseum serves /metrics on its one HTTP port.
      metrics: ["http"],
    }),
    // The CloudNativePG operator makes the instance pods from the Cluster object; no chart renders them.
    postgres: handKept({
      id: "postgres",
      title: "PostgreSQL (CloudNativePG instance)",
      namespace: m.postgres.namespace,
      labels: { "cnpg.io/cluster": m.postgres.clusterName, "cnpg.io/podRole": "instance", "cnpg.io/instanceRole": "primary" },
      selector: { "cnpg.io/cluster": m.postgres.clusterName },
      ports: [tcp("postgresql", POSTGRES_PORT), tcp("status", CNPG_STATUS_PORT), tcp("metrics", 9187)],
      metricsPorts: [9187],
    }),
    // synth/postgres.ts makes the backup CronJob: labelsFor("postgres-backup", "backup", "beckerkube").
    postgresBackup: handKept({
      id: "postgres-backup",
      title: "PostgreSQL backup CronJob",
      namespace: m.postgres.namespace,
      labels: { "app.kubernetes.io/name": "postgres-backup", "app.kubernetes.io/component": "backup", "app.kubernetes.io/part-of": "beckerkube" },
      selector: { "app.kubernetes.io/name": "postgres-backup" },
      ports: [],
    }),
    cnpgOperator: charted(facts, "cnpgOperator", {
      id: "cnpg-operator",
      title: "CloudNativePG operator",
      namespace: m.cloudnativePg.namespace,
      selector: { "app.kubernetes.io/name": "cloudnative-pg" },
      metrics: ["metrics"],
    }),
  } satisfies Partial<InfraWorkloads>;
}

/** Prometheus, Grafana, Alertmanager, Loki and Fluent Bit. */
function observabilityWorkloads(m: WorkloadsInput, facts: Facts) {
  const inMonitoring = (key: ChartRow, id: string, title: string, selector: Record<string, string>) => charted(facts, key, { id, title, namespace: m.monitoring.namespace, selector });
  return {
    // The Prometheus operator makes the Prometheus StatefulSet from the Prometheus object; the chart renders only that object.
    prometheus: handKept({
      id: "prometheus",
      title: "Prometheus",
      namespace: m.monitoring.namespace,
      labels: { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "kube-prometheus-stack-prometheus", prometheus: "kube-prometheus-stack-prometheus" },
      selector: { "app.kubernetes.io/name": "prometheus" },
      ports: [tcp("http-web", PROMETHEUS_PORT), tcp("reloader-web", 8080)],
    }),
    grafana: inMonitoring("grafana", "grafana", "Grafana", { "app.kubernetes.io/name": "grafana" }),
    // As prometheus: the operator makes the Alertmanager StatefulSet from the Alertmanager object.
    alertmanager: handKept({
      id: "alertmanager",
      title: "Alertmanager",
      namespace: m.monitoring.namespace,
      labels: { "app.kubernetes.io/name": "alertmanager", alertmanager: "kube-prometheus-stack-alertmanager" },
      selector: { "app.kubernetes.io/name": "alertmanager" },
      ports: [tcp("http-web", 9093)],
    }),
    prometheusOperator: inMonitoring("prometheusOperator", "prometheus-operator", "Prometheus operator", { app: "kube-prometheus-stack-operator" }),
    kubeStateMetrics: inMonitoring("kubeStateMetrics", "kube-state-metrics", "kube-state-metrics", { "app.kubernetes.io/name": "kube-state-metrics" }),
    loki: charted(facts, "loki", { id: "loki", title: "Loki", namespace: m.logging.namespace, selector: { "app.kubernetes.io/name": "loki" }, metrics: ["http-metrics"] }),
    fluentBit: charted(facts, "fluentBit", { id: "fluent-bit", title: "Fluent Bit", namespace: m.logging.namespace, selector: { "app.kubernetes.io/name": "fluent-bit" }, metrics: ["http"] }),
  } satisfies Partial<InfraWorkloads>;
}

/** The port a workload's pods listen on under `name` (a port name in the table above). */
export function portOf(w: Workload, name: string): number {
  const p = w.ports.find((x) => x.name === name);
  if (!p) throw new Error(`${w.id} has no port named ${name}: ${w.ports.map((x) => x.name).join(", ")}`);
  return p.port;
}
