/**
 * What Prometheus scrapes besides what kube-prometheus-stack and the app chart already cover:
 * the infrastructure services and controllers. Every monitor lives in the monitoring namespace
 * and names its target namespace, so scraping is configured in one place.
 *
 * Each target gets an explicit `job` label: alerts and dashboards select on it, and the
 * operator's default (service name, or "<namespace>/<monitor>" for PodMonitors) would tie them
 * to object names that are not ours to choose.
 */
import type { IPodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import type { KubeObject, PlacedObject } from "../../core/object.js";
import { endpointById, type Model } from "../../model/model.js";
import { MANAGED_BY, obj, place } from "../builders.js";
import { CONFIGS } from "../../model/layout.js";
import { CLUSTER_CA_TRUST_SECRET, FLUX_METRICS_PORT, FLUX_NAMESPACE, REGISTRY_METRICS_PORT } from "../../core/well-known.js";
import { portOf } from "../../model/infra-workloads.js";

/** The `job` label of each infrastructure scrape target. */
export const JOBS = {
  registry: "registry",
  chartmuseum: "chartmuseum",
  ingress: "ingress-nginx",
  postgres: "postgres",
  sealedSecrets: "sealed-secrets",
  certManager: "cert-manager",
  /** Set by kube-prometheus-stack's own ServiceMonitor for the API server. */
  apiserver: "apiserver",
} as const;

/** Flux controllers that serve metrics; each is its own job (the pod's `app` label). */
export const FLUX_CONTROLLERS = ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"] as const;

export const SCRAPE_INTERVAL = "30s";

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: "In"; values: string[] }> };

export interface ScrapeTarget {
  /** Object name of the monitor, and its file name. */
  id: string;
  kind: "ServiceMonitor" | "PodMonitor";
  /** The `job` label, or how it is derived. */
  job: string | { fromPodLabel: string };
  /** Namespace of the scraped pods/services. */
  namespace: string;
  selector: Selector;
  /** Service port name (ServiceMonitor) or container port name (PodMonitor). */
  port: string;
  /** The container port behind it, for network policies that must let Prometheus in. */
  containerPort: number;
  /** Labels of each kind of scraped pod (for ServiceMonitors: the Service's pod selector). */
  podLabels: Array<Record<string, string>>;
  path: string;
  /** A target serving its metrics over TLS from the cluster CA: the name to verify it by (a SAN of its certificate). */
  tls?: { serverName: string };
  /**
   * Keep the target's own `namespace`/`name` labels where its metrics describe other objects
   * (a Flux HelmRelease, a SealedSecret, a Certificate): otherwise Prometheus renames them to
   * exported_namespace and every query has to know which exporter did what.
   */
  honorLabels: boolean;
}

/** Infrastructure scrape targets this module synthesizes monitors for. */
export function scrapeTargets(m: Model): ScrapeTarget[] {
  return [...serviceMonitorTargets(m), ...podMonitorTargets(m)];
}

/** Targets scraped through a Service: registry, ChartMuseum, ingress-nginx and cert-manager. */
function serviceMonitorTargets(m: Model): ScrapeTarget[] {
  return [
    {
      id: JOBS.registry,
      kind: "ServiceMonitor",
      job: JOBS.registry,
      namespace: m.registryServer.namespace,
      // the registry-metrics Service synthesized beside the registry (configs.ts)
      selector: { matchLabels: { "app.kubernetes.io/name": "registry", "beckerkube.io/metrics": "true" } },
      port: "metrics",
      containerPort: REGISTRY_METRICS_PORT,
      podLabels: [{ "app.kubernetes.io/name": "registry" }],
      path: "/metrics",
      honorLabels: false,
    },
    {
      id: JOBS.chartmuseum,
      kind: "ServiceMonitor",
      job: JOBS.chartmuseum,
      namespace: m.chartmuseum.namespace,
      // ChartMuseum serves /metrics on its one port (TLS), outside basic auth, once ENABLE_METRICS is set (configs.ts).
      selector: { matchLabels: { "app.kubernetes.io/name": "chartmuseum", "app.kubernetes.io/instance": "chartmuseum" } },
      port: "http",
      containerPort: 8080, // the chart's container port; the LoadBalancer port may differ
      podLabels: [{ "app.kubernetes.io/name": "chartmuseum", "app.kubernetes.io/instance": "chartmuseum" }],
      path: "/metrics",
      tls: { serverName: endpointById(m, "chartmuseum").clusterDns[0]! },
      honorLabels: false,
    },
    {
      id: JOBS.ingress,
      kind: "ServiceMonitor",
      job: JOBS.ingress,
      namespace: m.ingressNginx.namespace,
      // The chart's <controller>-metrics Service; the main controller Service has no "metrics" port.
      selector: {
        matchLabels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/component": "controller" },
      },
      port: "metrics",
      containerPort: portOf(m.workloads.ingressController, "metrics"),
      podLabels: [{ "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/component": "controller" }],
      path: "/metrics",
      honorLabels: false,
    },
    {
      id: JOBS.certManager,
      kind: "ServiceMonitor",
      job: JOBS.certManager,
      namespace: m.certManager.namespace,
      // The chart renders this Service when prometheus.enabled is set and its own ServiceMonitor is not.
      selector: {
        matchLabels: { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "controller" },
      },
      port: "http-metrics",
      containerPort: portOf(m.workloads.certManager, "http-metrics"),
      podLabels: [{ "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "controller" }],
      path: "/metrics",
      honorLabels: true,
    },
  ];
}

/** Targets scraped pod by pod: PostgreSQL, the Flux controllers and Sealed Secrets. */
function podMonitorTargets(m: Model): ScrapeTarget[] {
  return [
    {
      id: JOBS.postgres,
      kind: "PodMonitor",
      job: JOBS.postgres,
      namespace: m.postgres.namespace,
      // CNPG 1.30 deprecates spec.monitoring.enablePodMonitor: the PodMonitor is ours to write.
      selector: { matchLabels: { "cnpg.io/cluster": m.postgres.clusterName } },
      port: "metrics",
      containerPort: portOf(m.workloads.postgres, "metrics"),
      podLabels: [{ "cnpg.io/cluster": m.postgres.clusterName }],
      path: "/metrics",
      honorLabels: false,
    },
    {
      id: "flux",
      kind: "PodMonitor",
      job: { fromPodLabel: "app" },
      namespace: FLUX_NAMESPACE,
      selector: { matchExpressions: [{ key: "app", operator: "In", values: [...FLUX_CONTROLLERS] }] },
      port: "http-prom",
      containerPort: FLUX_METRICS_PORT,
      podLabels: FLUX_CONTROLLERS.map((app) => ({ app })),
      path: "/metrics",
      honorLabels: true,
    },
    {
      id: JOBS.sealedSecrets,
      kind: "PodMonitor",
      job: JOBS.sealedSecrets,
      namespace: m.sealedSecrets.namespace,
      selector: { matchLabels: { "app.kubernetes.io/name": "sealed-secrets", "app.kubernetes.io/instance": m.sealedSecrets.controllerName } },
      port: "metrics",
      containerPort: portOf(m.workloads.sealedSecrets, "metrics"),
      podLabels: [{ "app.kubernetes.io/name": "sealed-secrets", "app.kubernetes.io/instance": m.sealedSecrets.controllerName }],
      path: "/metrics",
      honorLabels: true,
    },
  ];
}

function jobRelabeling(job: ScrapeTarget["job"]) {
  if (typeof job === "string") return { action: "replace" as const, targetLabel: "job", replacement: job };
  const meta = `__meta_kubernetes_pod_label_${job.fromPodLabel.replace(/[^a-zA-Z0-9_]/g, "_")}`;
  return { action: "replace" as const, sourceLabels: [meta], targetLabel: "job" };
}

export function monitorObject(m: Model, t: ScrapeTarget): KubeObject {
  const metadata = { name: t.id, namespace: m.monitoring.namespace, labels: { ...MANAGED_BY } };
  const namespaceSelector = { matchNames: [t.namespace] };
  // Prometheus reaches pods by IP, so it verifies the certificate by a name the certificate carries.
  const tls = t.tls ? { scheme: "https" as const, tlsConfig: { ca: { secret: { name: CLUSTER_CA_TRUST_SECRET, key: "ca.crt" } }, serverName: t.tls.serverName } } : {};
  const endpoint = { port: t.port, path: t.path, ...tls, interval: SCRAPE_INTERVAL, honorLabels: t.honorLabels, relabelings: [jobRelabeling(t.job)] };
  if (t.kind === "ServiceMonitor") {
    const sm: IServiceMonitor = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata,
      spec: { namespaceSelector, selector: t.selector, endpoints: [endpoint] },
    };
    return obj(sm);
  }
  const pm: IPodMonitor = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata,
    spec: { namespaceSelector, selector: t.selector, podMetricsEndpoints: [endpoint] },
  };
  return obj(pm);
}

export const SCRAPE_DIR = `${CONFIGS}/monitoring/scrape`;

export function synthScraping(m: Model): PlacedObject[] {
  return scrapeTargets(m).flatMap((t) => place(`${SCRAPE_DIR}/${t.id}.yaml`, monitorObject(m, t)));
}
