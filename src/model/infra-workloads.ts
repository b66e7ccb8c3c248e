/**
 * The infrastructure pods as their charts and operators label them, with the ports they listen on.
 * NetworkPolicy selects pods by label, so both the policies (synth/netpol.ts) and `bk netpol`
 * (which evaluates them) read these same facts from the Model: the policies select by `selector`,
 * the analysis models each pod with its full `labels`. A selector that stops matching the real
 * labels then shows up as a blocked path.
 *
 * Label facts for upstream charts are those of the pinned versions in definition/infrastructure.yaml.
 */
import { endpointById, type InfraWorkloads, type Model, type Workload, type WorkloadPort } from "./model.js";
import { CNPG_STATUS_PORT, DNS_PORT, FLUX_METRICS_PORT, FLUX_NAMESPACE, KUBE_SYSTEM, LOKI_PORT, POSTGRES_PORT, PROMETHEUS_PORT, REGISTRY_METRICS_PORT, SEALED_SECRETS_PORT } from "../core/well-known.js";

const tcp = (name: string, port: number): WorkloadPort => ({ name, port, protocol: "TCP" });
const udp = (name: string, port: number): WorkloadPort => ({ name, port, protocol: "UDP" });

function workload(w: Omit<Workload, "selector" | "metricsPorts"> & { selector?: Record<string, string>; metricsPorts?: number[] }): Workload {
  return { ...w, selector: w.selector ?? w.labels, metricsPorts: w.metricsPorts ?? [] };
}

/** What the table reads: where each upstream component is installed and the ports the definition pins. */
export type WorkloadsInput = Pick<Model, "sealedSecrets" | "metallb" | "certManager" | "ingressNginx" | "istio" | "registryServer" | "chartmuseum" | "postgres" | "cloudnativePg" | "monitoring" | "logging" | "endpoints">;

export function infraWorkloads(m: WorkloadsInput): InfraWorkloads {
  return { ...clusterServiceWorkloads(m), ...trafficWorkloads(m), ...dataWorkloads(m), ...observabilityWorkloads(m) };
}

/** DNS, Sealed Secrets, Flux, MetalLB and cert-manager: the pods every other layer leans on. */
function clusterServiceWorkloads(m: WorkloadsInput) {
  return {
    kubeDns: workload({
      id: "kube-dns",
      title: "CoreDNS",
      namespace: KUBE_SYSTEM,
      labels: { "k8s-app": "kube-dns" },
      ports: [udp("dns", DNS_PORT), tcp("dns-tcp", DNS_PORT), tcp("metrics", 9153)],
      metricsPorts: [9153],
    }),
    sealedSecrets: workload({
      id: "sealed-secrets",
      title: "Sealed Secrets controller",
      namespace: m.sealedSecrets.namespace,
      labels: { "app.kubernetes.io/name": "sealed-secrets", "app.kubernetes.io/instance": m.sealedSecrets.controllerName },
      selector: { "app.kubernetes.io/name": "sealed-secrets" },
      ports: [tcp("http", SEALED_SECRETS_PORT), tcp("metrics", 8081)],
      metricsPorts: [8081],
    }),
    fluxSource: workload({
      id: "source-controller",
      title: "Flux source-controller",
      namespace: FLUX_NAMESPACE,
      labels: { app: "source-controller", "app.kubernetes.io/part-of": "flux", "app.kubernetes.io/component": "source-controller" },
      selector: { app: "source-controller" },
      ports: [tcp("http", 9090), tcp("http-prom", FLUX_METRICS_PORT)],
      metricsPorts: [FLUX_METRICS_PORT],
    }),
    fluxHelm: workload({
      id: "helm-controller",
      title: "Flux helm-controller",
      namespace: FLUX_NAMESPACE,
      labels: { app: "helm-controller", "app.kubernetes.io/part-of": "flux", "app.kubernetes.io/component": "helm-controller" },
      selector: { app: "helm-controller" },
      ports: [tcp("http-prom", FLUX_METRICS_PORT)],
      metricsPorts: [FLUX_METRICS_PORT],
    }),
    fluxNotification: workload({
      id: "notification-controller",
      title: "Flux notification-controller",
      namespace: FLUX_NAMESPACE,
      labels: { app: "notification-controller", "app.kubernetes.io/part-of": "flux", "app.kubernetes.io/component": "notification-controller" },
      selector: { app: "notification-controller" },
      // 9090 takes the other controllers' events; 9292 the Receivers' webhooks (Service webhook-receiver, port 80).
      ports: [tcp("http", 9090), tcp("http-webhook", 9292), tcp("http-prom", FLUX_METRICS_PORT)],
      metricsPorts: [FLUX_METRICS_PORT],
    }),
    metallbController: workload({
      id: "metallb-controller",
      title: "MetalLB controller",
      namespace: m.metallb.namespace,
      labels: { "app.kubernetes.io/name": "metallb", "app.kubernetes.io/instance": "metallb", "app.kubernetes.io/component": "controller" },
      selector: { "app.kubernetes.io/name": "metallb", "app.kubernetes.io/component": "controller" },
      // MetalLB 0.16 serves metrics over HTTPS on 9120 (kube-rbac-proxy is gone); 7472 is no longer opened.
      ports: [tcp("webhook-server", 9443), tcp("metricshttps", 9120)],
      metricsPorts: [9120],
    }),
    certManager: workload({
      id: "cert-manager",
      title: "cert-manager controller",
      namespace: m.certManager.namespace,
      labels: { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "controller" },
      selector: { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller" },
      ports: [tcp("http-metrics", 9402)],
      metricsPorts: [9402],
    }),
    certManagerWebhook: workload({
      id: "cert-manager-webhook",
      title: "cert-manager webhook",
      namespace: m.certManager.namespace,
      labels: { "app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "webhook" },
      selector: { "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "webhook" },
      ports: [tcp("https", 10250)],
    }),
  } satisfies Partial<InfraWorkloads>;
}

/** ingress-nginx and Istio: the pods that carry traffic into the cluster. */
function trafficWorkloads(m: WorkloadsInput) {
  const gatewayLabel = m.istio.gatewayName.replace(/^istio-/, "");
  return {
    ingressController: workload({
      id: "ingress-nginx",
      title: "ingress-nginx controller",
      namespace: m.ingressNginx.namespace,
      labels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/component": "controller" },
      selector: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
      ports: [tcp("http", 80), tcp("https", 443), tcp("webhook", 8443), tcp("metrics", 10254)],
      metricsPorts: [10254],
    }),
    istiod: workload({
      id: "istiod",
      title: "istiod",
      namespace: m.istio.namespace,
      labels: { app: "istiod", istio: "pilot" },
      ports: [tcp("grpc-xds", 15010), tcp("https-dns", 15012), tcp("http-monitoring", 15014), tcp("https-webhooks", 15017)],
      metricsPorts: [15014],
    }),
    gateway: workload({
      id: "istio-gateway",
      title: "Istio gateway",
      namespace: m.istio.gatewayNamespace,
      labels: { app: m.istio.gatewayName, istio: gatewayLabel },
      selector: { istio: gatewayLabel },
      ports: [tcp("http", 80), tcp("https", 443), tcp("status-port", 15021), tcp("http-envoy-prom", 15090)],
      metricsPorts: [15090],
    }),
  } satisfies Partial<InfraWorkloads>;
}

/** The registry, ChartMuseum and PostgreSQL with its operator: the pods that keep state. */
function dataWorkloads(m: WorkloadsInput) {
  const registryPort = endpointById(m, "registry").ports[0]!.port;
  const chartmuseumPort = endpointById(m, "chartmuseum").ports[0]!.port;
  return {
    registry: workload({
      id: "registry",
      title: "Registry",
      namespace: m.registryServer.namespace,
      // synth/configs.ts: labelsFor("registry", "registry", "beckerkube") plus the selector
      labels: { "app.kubernetes.io/name": "registry", "app.kubernetes.io/component": "registry", "app.kubernetes.io/part-of": "beckerkube" },
      selector: { "app.kubernetes.io/name": "registry" },
      ports: [tcp("registry", registryPort), tcp("metrics", REGISTRY_METRICS_PORT)],
      metricsPorts: [REGISTRY_METRICS_PORT],
    }),
    chartmuseum: workload({
      id: "chartmuseum",
      title: "ChartMuseum",
      namespace: m.chartmuseum.namespace,
      labels: { "app.kubernetes.io/name": "chartmuseum", "app.kubernetes.io/instance": "chartmuseum" },
      selector: { "app.kubernetes.io/name": "chartmuseum" },
      ports: [tcp("http", chartmuseumPort)],
      // ChartMuseum serves /metrics on its one HTTP port.
      metricsPorts: [chartmuseumPort],
    }),
    postgres: workload({
      id: "postgres",
      title: "PostgreSQL (CloudNativePG instance)",
      namespace: m.postgres.namespace,
      labels: { "cnpg.io/cluster": m.postgres.clusterName, "cnpg.io/podRole": "instance", "cnpg.io/instanceRole": "primary" },
      selector: { "cnpg.io/cluster": m.postgres.clusterName },
      ports: [tcp("postgresql", POSTGRES_PORT), tcp("status", CNPG_STATUS_PORT), tcp("metrics", 9187)],
      metricsPorts: [9187],
    }),
    postgresBackup: workload({
      id: "postgres-backup",
      title: "PostgreSQL backup CronJob",
      namespace: m.postgres.namespace,
      // synth/postgres.ts: labelsFor("postgres-backup", "backup", "beckerkube")
      labels: { "app.kubernetes.io/name": "postgres-backup", "app.kubernetes.io/component": "backup", "app.kubernetes.io/part-of": "beckerkube" },
      selector: { "app.kubernetes.io/name": "postgres-backup" },
      ports: [],
    }),
    cnpgOperator: workload({
      id: "cnpg-operator",
      title: "CloudNativePG operator",
      namespace: m.cloudnativePg.namespace,
      labels: { "app.kubernetes.io/name": "cloudnative-pg", "app.kubernetes.io/instance": "cloudnative-pg" },
      selector: { "app.kubernetes.io/name": "cloudnative-pg" },
      ports: [tcp("webhook-server", 9443), tcp("metrics", 8080)],
      metricsPorts: [8080],
    }),
  } satisfies Partial<InfraWorkloads>;
}

/** Prometheus, Grafana, Alertmanager, Loki and Fluent Bit. */
function observabilityWorkloads(m: WorkloadsInput) {
  return {
    prometheus: workload({
      id: "prometheus",
      title: "Prometheus",
      namespace: m.monitoring.namespace,
      labels: { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "kube-prometheus-stack-prometheus", prometheus: "kube-prometheus-stack-prometheus" },
      selector: { "app.kubernetes.io/name": "prometheus" },
      ports: [tcp("http-web", PROMETHEUS_PORT), tcp("reloader-web", 8080)],
    }),
    grafana: workload({
      id: "grafana",
      title: "Grafana",
      namespace: m.monitoring.namespace,
      labels: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "kube-prometheus-stack" },
      selector: { "app.kubernetes.io/name": "grafana" },
      ports: [tcp("grafana", 3000)],
    }),
    alertmanager: workload({
      id: "alertmanager",
      title: "Alertmanager",
      namespace: m.monitoring.namespace,
      labels: { "app.kubernetes.io/name": "alertmanager", alertmanager: "kube-prometheus-stack-alertmanager" },
      selector: { "app.kubernetes.io/name": "alertmanager" },
      ports: [tcp("http-web", 9093)],
    }),
    prometheusOperator: workload({
      id: "prometheus-operator",
      title: "Prometheus operator",
      namespace: m.monitoring.namespace,
      labels: { "app.kubernetes.io/name": "kube-prometheus-stack-prometheus-operator", app: "kube-prometheus-stack-operator" },
      selector: { app: "kube-prometheus-stack-operator" },
      ports: [tcp("https", 10250)],
    }),
    kubeStateMetrics: workload({
      id: "kube-state-metrics",
      title: "kube-state-metrics",
      namespace: m.monitoring.namespace,
      labels: { "app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": "kube-prometheus-stack" },
      selector: { "app.kubernetes.io/name": "kube-state-metrics" },
      ports: [tcp("http", 8080)],
    }),
    loki: workload({
      id: "loki",
      title: "Loki",
      namespace: m.logging.namespace,
      labels: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki", "app.kubernetes.io/component": "single-binary" },
      selector: { "app.kubernetes.io/name": "loki" },
      ports: [tcp("http-metrics", LOKI_PORT), tcp("grpc", 9095)],
      metricsPorts: [LOKI_PORT],
    }),
    fluentBit: workload({
      id: "fluent-bit",
      title: "Fluent Bit",
      namespace: m.logging.namespace,
      labels: { "app.kubernetes.io/name": "fluent-bit", "app.kubernetes.io/instance": "fluent-bit" },
      selector: { "app.kubernetes.io/name": "fluent-bit" },
      ports: [tcp("http", 2020)],
      metricsPorts: [2020],
    }),
  } satisfies Partial<InfraWorkloads>;
}

/** The port a workload's pods listen on under `name` (a port name in the table above). */
export function portOf(w: Workload, name: string): number {
  const p = w.ports.find((x) => x.name === name);
  if (!p) throw new Error(`${w.id} has no port named ${name}: ${w.ports.map((x) => x.name).join(", ")}`);
  return p.port;
}
