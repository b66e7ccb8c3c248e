/**
 * The infrastructure containers the definition sizes (infrastructure.yaml `resources.components`): every one
 * the upstream charts, the operators and our own objects run, so that none runs BestEffort on the one node.
 * Which chart value each one is written to is synthesis' business (synth/resources.ts); that every rendered
 * container ends up with requests and limits is proven by rendering the real charts (test/integration/fit.test.ts).
 */
export const INFRA_CONTAINERS = {
  metallbController: "MetalLB's controller",
  metallbSpeaker: "MetalLB's speaker (one per node)",
  certManager: "cert-manager's controller",
  certManagerWebhook: "cert-manager's webhook",
  certManagerCainjector: "cert-manager's CA injector",
  certManagerStartupapicheck: "cert-manager's post-install API check (a Job)",
  sealedSecrets: "the Sealed Secrets controller",
  ingressNginx: "the ingress-nginx controller",
  ingressNginxAdmission: "ingress-nginx's admission certificate Jobs (install hooks)",
  istiod: "istiod",
  istioGateway: "the Istio ingress gateway",
  flagger: "Flagger, the progressive delivery controller",
  cnpgOperator: "the CloudNativePG operator",
  chartmuseum: "ChartMuseum",
  prometheus: "Prometheus",
  alertmanager: "Alertmanager",
  configReloader: "the config reloader the Prometheus Operator adds to Prometheus and Alertmanager",
  prometheusOperator: "the Prometheus Operator",
  prometheusOperatorWebhookPatch: "the Prometheus Operator's admission certificate Jobs (install hooks)",
  grafana: "Grafana",
  grafanaInit: "Grafana's init container that hands its volume to Grafana's user",
  grafanaSidecar: "Grafana's dashboard and datasource sidecars (each)",
  kubeStateMetrics: "kube-state-metrics",
  nodeExporter: "the node exporter (one per node)",
  loki: "Loki (single binary)",
  lokiSidecar: "Loki's rules sidecar",
  fluentBit: "Fluent Bit (one per node)",
  postgres: "each PostgreSQL instance",
  postgresBackup: "the nightly pg_dump (a CronJob)",
} as const;

export type InfraContainer = keyof typeof INFRA_CONTAINERS;
export const INFRA_CONTAINER_NAMES = Object.keys(INFRA_CONTAINERS) as InfraContainer[];
