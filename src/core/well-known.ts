/**
 * Names and ports fixed by upstream conventions or by BeckerKube's own layout, written once.
 * A value an operator may change belongs in the definition instead.
 */

/** Where Flux lives; `flux bootstrap` names its GitRepository and Kustomization after it too. */
export const FLUX_NAMESPACE = "flux-system";

/** The HelmRepository (our ChartMuseum) every application HelmRelease takes its chart from. */
export const APP_CHART_REPOSITORY = "bk-charts";

/** The Secret, in each namespace whose clients verify a TLS server of ours, whose `ca.crt` is the cluster CA. */
export const CLUSTER_CA_TRUST_SECRET = "cluster-ca";

/** Loki's HTTP port (its push API and metrics), the chart's default. */
export const LOKI_PORT = 3100;

/** PostgreSQL's port inside the cluster (CloudNativePG's instances and their Services). */
export const POSTGRES_PORT = 5432;

/** Where Kubernetes runs its own components (CoreDNS, kube-proxy) and Sealed Secrets keeps its keys. */
export const KUBE_SYSTEM = "kube-system";

/** DNS, which CoreDNS serves on UDP and TCP. */
export const DNS_PORT = 53;

/** The port Minikube's API server listens on at the node address. */
export const MINIKUBE_API_SERVER_PORT = 8443;

/** Prometheus's web port (queries and its own metrics), kube-prometheus-stack's default. */
export const PROMETHEUS_PORT = 9090;

/** The CloudNativePG instance manager's status port, which the operator and the other instances read. */
export const CNPG_STATUS_PORT = 8000;

/** The Sealed Secrets controller's HTTP port (`kubeseal --fetch-cert` through the API server's service proxy). */
export const SEALED_SECRETS_PORT = 8080;

/** The port the Flux controllers serve metrics on. */
export const FLUX_METRICS_PORT = 8080;

/** The registry's debug listener, where it serves metrics (our own Deployment, REGISTRY_HTTP_DEBUG_ADDR). */
export const REGISTRY_METRICS_PORT = 5001;

/** The kubelet's API on every node, which Prometheus scrapes. */
export const KUBELET_PORT = 10250;

/** The node exporter (hostNetwork) on every node. */
export const NODE_EXPORTER_PORT = 9100;

/**
 * Set by `bk secrets backup` on every Sealed Secrets key Secret its verified backup holds (value: when).
 * kube-state-metrics exports it (kube_secret_annotations), so an alert fires for a key without it.
 */
export const KEY_BACKED_UP_ANNOTATION = "beckerkube.io/key-backed-up";
