/**
 * The Model: the definition normalized, with every derived value computed here once
 * (image references, in-cluster DNS names, certificate SANs, dependency edges, declared secrets).
 * Synthesis, policy, docs and operations read the Model; none of them re-derive these values.
 */

import type { CanaryDef, ProgressiveDeliveryModel } from "./progressive.js";
import type { InfraContainer } from "./infra-resources.js";

export type PodSecurity = "privileged" | "baseline" | "restricted";

/** A cluster made from the definition: the base one, or an entry of `profiles` (profiles.ts). */
export interface ProfileModel {
  name: string;
  kind: "single-node" | "ha";
  nodes: number;
  /** clusters/<name>: where its Flux entry point is written. */
  path: string;
  /** Replicas of every stateless component (1 on the single-node profile). */
  replicas: number;
  postgres: { instances: number; synchronous: number };
  /** id -> why it stays a single point (or without a budget or spread) on this profile. */
  accepted: Record<string, string>;
}

export interface ClusterModel {
  name: string;
  profile: {
    kind: "minikube";
    name: string;
    node: string;
    kubernetesVersion: string;
    driver: "docker" | "podman" | "kvm2" | "qemu";
    cpus: number;
    memory: string;
    disk: string;
    cni: "calico" | "cilium" | "flannel" | "bridge" | "kindnet" | "auto";
    /** What the node keeps for itself and for pods the tree does not declare. */
    reserved: { cpu: string; memory: string };
  };
}

/** The Git repository Flux reconciles the cluster from. */
export interface GitopsModel {
  repository: string;
  url: string;
  branch: string;
  interval: string;
  path: string;
  secretRef?: string;
}

export interface NetworkModel {
  /** The node's container network (schema.ts network.node): bootstrap creates it and starts the node on it. */
  node: { network: string; subnet: string; gateway: string; ip: string; dhcpRange?: { start: string; end: string } };
  loadBalancerPool: { name: string; start: string; end: string };
  clusterDomain: string;
  /** Ingress for routes: ingress-nginx, or Gateway API HTTPRoutes on the Istio gateway. */
  routes: "ingress-nginx" | "gateway-api";
  /** Endpoint id -> the LAN names it answers to. */
  hostnames: Record<string, string[]>;
}

/** A policy finding the operator accepts, with the reason. */
export interface ExceptionModel {
  rule: string;
  object: string;
  reason: string;
}

export interface NamespaceModel {
  name: string;
  podSecurity: PodSecurity;
  why?: string;
  /** Who the namespace is for, so tables and policies can group them. */
  kind: "system" | "infrastructure" | "application";
}

export interface PortModel {
  name: string;
  port: number;
}

/** A service reachable from the LAN through a MetalLB LoadBalancer IP. */
export interface EndpointModel {
  id: "registry" | "chartmuseum" | "postgres" | "ingress" | "gateway";
  title: string;
  purpose: string;
  namespace: string;
  service: string;
  ip: string;
  ports: PortModel[];
  /** LAN host names from the definition. */
  hostnames: string[];
  /** Names inside the cluster: service.namespace.svc and the fully qualified form. */
  clusterDns: string[];
  /** Upstream maintenance caveat shown in plan and docs. */
  caveat?: string;
}

export interface CertificateModel {
  name: string;
  namespace: string;
  secretName: string;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  endpoint: EndpointModel["id"];
  /** The endpoint port that serves TLS with this certificate, where `bk certs` and `bk doctor` read it (none: no port named https). */
  port?: number;
}

export interface ImageModel {
  registry: string;
  repository: string;
  tag: string;
  /** repository:tag, what the pod spec carries. */
  ref: string;
  /** The third-party image this one is a copy of (tag or digest always set), when it is not built by us. */
  upstream?: string;
}

export type EdgeTarget = { kind: "component"; id: string } | { kind: "database"; name: string } | { kind: "external"; host: string; port: number };

export interface EdgeModel {
  from: string;
  to: EdgeTarget;
}

export type ComponentRole = "backend" | "frontend" | "worker" | "bot" | "cache" | "agent";

export type ProbeModel = { path: string } | { exec: string[] };

export interface ResourcesModel {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/** An environment variable filled from one key of a Secret in the component's namespace. */
export interface SecretEnvModel {
  name: string;
  secret: string;
  key: string;
}

export interface ComponentModel {
  id: string; // app/component
  app: string;
  name: string;
  /** Helm release and workload name: <app>-<component>. */
  fullname: string;
  namespace: string;
  role: ComponentRole;
  description?: string;
  /** Its absence does not make the application unavailable (alerting tells the two apart). */
  optional: boolean;
  replicas: number;
  /** The container's HTTP port; absent when the component serves nothing. */
  port?: number;
  command?: string[];
  args?: string[];
  env: Record<string, string>;
  /** In definition order; each from the definition's "secret/key". */
  secretEnv: SecretEnvModel[];
  secretFiles: Array<{ secret: string; mountPath: string }>;
  probes?: { liveness: ProbeModel; readiness: ProbeModel };
  resources?: ResourcesModel;
  metrics?: { port: number; path: string };
  /** Path prefix under which the ingress / gateway routes to it. */
  route?: string;
  /** Health URL path as checked through the ingress. */
  health?: string;
  /** The PostgreSQL database it uses. */
  database?: string;
  /** URL path prefixes it serves to its clients, where the definition declares them (the mesh admits only these). */
  paths?: string[];
  migration?: { command: string[]; deadlineSeconds: number };
  cronJobs: Array<{ name: string; schedule: string; command: string[] }>;
  persistence?: { size: string; mountPath: string };
  pdb: boolean;
  /** Spread its pods over nodes (set by an `ha` profile, profiles.ts). */
  topologySpread?: boolean;
  image: ImageModel;
  /** In-cluster DNS name of the component's Service, when it has a port. */
  serviceHost?: string;
  servicePort: number;
  edges: EdgeModel[];
  /** HelmRelease ids (app/component) that must be Ready before this one starts (incident 8). */
  dependsOn: string[];
  /** The secret names this component's pods read. */
  secretRefs: string[];
  /** Flagger shifts its route's traffic to a new version step by step (progressive.ts). */
  canary?: CanaryDef;
}

export interface AppModel {
  name: string;
  namespace: string;
  description: string;
  sourceRepository?: string;
  file: string;
  /** The exact version of the application chart every component of the app is installed with. */
  chartVersion: string;
  /** Where that version is written: the app's own `chartVersion`, or the platform's `chartmuseum.appChart.version`. */
  chartVersionFrom: "app" | "platform";
  components: ComponentModel[];
}

export type SecretKeySource =
  | { from: "operator" }
  | { from: "generate" }
  | { from: "literal"; value: string }
  /** The same value as another declared secret's key (a database password in two namespaces). */
  | { from: "same-as"; namespace: string; name: string; key: string };

export interface DeclaredSecret {
  namespace: string;
  name: string;
  type?: string;
  description?: string;
  keys: Record<string, SecretKeySource>;
  /** Who declared it: "app:ffl", "database:ffl", "infra:chartmuseum". */
  owner: string;
}

export interface DatabaseModel {
  name: string;
  owner: string;
  extensions: string[];
  purpose?: string;
  /** Kubernetes object name for the CNPG Database (DNS-1123). */
  objectName: string;
  /** Secret in the Postgres namespace holding the owner role's credentials. */
  roleSecret: string;
  usedBy: string[];
}

export interface ChartPinModel {
  repository: string;
  chart: string;
  version: string;
}

/** Manifests Flux applies from another Git repository at a pinned tag. */
export interface GitSourcePinModel {
  repository: string;
  tag: string;
  path: string;
}

/** An upstream controller installed into its namespace from a pinned chart (the definition's chart key resolved). */
export interface ChartInstallModel {
  namespace: string;
  chart: ChartPinModel;
}

export interface CertManagerModel extends ChartInstallModel {
  /** The cluster CA cert-manager issues every served certificate from. */
  ca: { commonName: string; duration: string };
  certificateDuration: string;
  renewBefore: string;
}

export interface SealedSecretsModel extends ChartInstallModel {
  /** The controller's release and Service name, which kubeseal addresses. */
  controllerName: string;
  keyRenewPeriod: string;
}

export interface IngressNginxModel extends ChartInstallModel {
  className: string;
}

export interface IstioModel {
  namespace: string;
  gatewayNamespace: string;
  gatewayName: string;
  charts: { base: ChartPinModel; istiod: ChartPinModel; gateway: ChartPinModel };
}

/** The private registry: a plain Deployment of ours, not a chart. Its address is Model.registry. */
export interface RegistryServerModel {
  namespace: string;
  image: string;
  storage: string;
  resources: ResourcesModel;
}

export interface ChartMuseumModel extends ChartInstallModel {
  storage: string;
  /** Our application chart and the exact version every app installs unless it pins its own (AppModel.chartVersion). */
  appChart: { name: string; version: string };
}

export interface AlertingModel {
  receivers: Record<string, Record<string, unknown>>;
  routes: Partial<Record<"critical" | "high" | "medium" | "low", string>>;
}

/** A webhook the operator is told through; its URL is the key `address` of a sealed Secret. */
export interface NotifyTargetModel {
  name: string;
  type: "discord" | "generic";
  /** The Secret holding `address`, in flux-system (Providers) and in the monitoring namespace (Alertmanager). */
  secret: string;
}

/** restic forget --keep-* counts. */
export interface RetentionModel {
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
}

/** One volume a rebuild would lose, copied off the node by VolSync's restic mover. */
export interface BackupVolumeModel {
  /** registry, chartmuseum, grafana, loki, postgres-dumps or <app>-<component>; also the ReplicationSource's name. */
  id: string;
  title: string;
  namespace: string;
  pvc: string;
  schedule: string;
  retention: RetentionModel;
  /** Its own restic repository: <volumeBackups.repository>/<namespace>/<id>. */
  repository: string;
  /** Secret in the volume's namespace holding RESTIC_REPOSITORY, RESTIC_PASSWORD and the store's credentials. */
  secret: string;
  /** Who owns the files (the workload's runAsUser/fsGroup): the mover runs as them, unprivileged. */
  runAsUser: number;
  fsGroup: number;
}

export interface VolumeBackupsModel extends ChartInstallModel {
  repository: string;
  backend: "s3" | "rest";
  /** The Secret in the controller's namespace the operator's values live in; every volume's Secret copies it. */
  credentialsSecret: string;
  volumes: BackupVolumeModel[];
  skipped: Array<{ id: string; why: string }>;
}

/** Where the operator is told (issue 17): targets, alert routing by severity, Flux events, the push Receiver. */
export interface NotificationsModel {
  targets: NotifyTargetModel[];
  /** Target name per severity, or DROP. */
  alerts: Record<"critical" | "high" | "medium" | "low", string>;
  /** Target of Flux's events. */
  flux: string;
  receiver?: {
    name: string;
    type: "github" | "generic";
    /** The public name the Git host calls (network.hostnames[host][0]). */
    host: string;
    /** Secret in flux-system holding `token`. */
    secret: string;
  };
}

export interface MonitoringModel extends ChartInstallModel {
  retention: string;
  prometheusStorage: string;
  grafanaStorage: string;
  alertmanagerStorage: string;
  alerting?: AlertingModel;
}

export interface LoggingModel {
  namespace: string;
  charts: { store: ChartPinModel; shipper: ChartPinModel };
  retention: string;
  storage: string;
  /** In-cluster DNS name of Loki's Service, where Fluent Bit pushes and Grafana queries. */
  lokiHost: string;
}

export interface PostgresModel {
  namespace: string;
  /** The CloudNativePG Cluster; its Services and Secrets are named after it. */
  clusterName: string;
  image: string;
  instances: number;
  storage: string;
  roles: string[];
  backup: { schedule: string; keep: number; storage: string };
  /** In-cluster DNS name of the read-write Service applications connect to. */
  host: string;
  port: number;
  databases: DatabaseModel[];
}

export type Protocol = "TCP" | "UDP";

export interface WorkloadPort {
  name: string;
  port: number;
  protocol: Protocol;
}

/** Pods as their charts and operators label them: NetworkPolicy selects them by these labels. */
export interface Workload {
  id: string;
  title: string;
  namespace: string;
  /** Every label its pods carry that a policy could select on. */
  labels: Record<string, string>;
  /** The labels policies select it by (a subset of labels). */
  selector: Record<string, string>;
  /** Ports its containers listen on (on the pod, which is what NetworkPolicy sees). */
  ports: WorkloadPort[];
  /** Ports Prometheus scrapes. */
  metricsPorts: number[];
  /** The ServiceAccount its pods run as, where a chart renders them (its mesh identity). */
  serviceAccount?: string;
}

/**
 * What one chart renders for an infrastructure workload's pods, as src/model/upstream-facts.generated.ts records it
 * (`npm run gen:facts`): the labels that stay put across chart releases and the ports the pods listen on.
 */
/** The service mesh across the application namespaces (model/mesh.ts). */
export interface MeshModel {
  mode: "sidecar";
  trustDomain: string;
  /** Every application namespace. */
  namespaces: string[];
  /** The CNI node agent's chart key and namespace; absent: not installed. */
  cni?: { chart: string; namespace: string };
  /** Whether the application namespaces are labelled for injection: only with the CNI agent installed. */
  injection: boolean;
  proxy: ResourcesModel;
}

export interface ChartPodFacts {
  chart: string;
  version: string;
  /** The release name it was rendered under: label values equal to it follow the release name the definition gives. */
  release: string;
  labels: Record<string, string>;
  ports: WorkloadPort[];
  /** The pods' serviceAccountName ("default" when the chart sets none): their identity in the mesh. */
  serviceAccount?: string;
}

/** The infrastructure pods policies refer to, by role. hostNetwork pods (MetalLB speaker, node exporter, kube-proxy) are absent: NetworkPolicy does not apply to them. */
export interface InfraWorkloads {
  kubeDns: Workload;
  sealedSecrets: Workload;
  fluxSource: Workload;
  fluxHelm: Workload;
  fluxNotification: Workload;
  metallbController: Workload;
  certManager: Workload;
  certManagerWebhook: Workload;
  ingressController: Workload;
  istiod: Workload;
  gateway: Workload;
  registry: Workload;
  chartmuseum: Workload;
  postgres: Workload;
  postgresBackup: Workload;
  cnpgOperator: Workload;
  prometheus: Workload;
  grafana: Workload;
  alertmanager: Workload;
  prometheusOperator: Workload;
  kubeStateMetrics: Workload;
  loki: Workload;
  fluentBit: Workload;
}

export interface Model {
  cluster: ClusterModel;
  gitops: GitopsModel;
  network: NetworkModel;
  podSecurityVersion: string;
  storageClass: string;
  namespaces: NamespaceModel[];
  charts: Record<string, ChartPinModel>;
  /** The Gateway API CRDs, from their upstream release (Istio's charts ship only Istio's CRDs). */
  gatewayApi: GitSourcePinModel;
  metallb: ChartInstallModel;
  certManager: CertManagerModel;
  sealedSecrets: SealedSecretsModel;
  ingressNginx: IngressNginxModel;
  istio: IstioModel;
  registryServer: RegistryServerModel;
  chartmuseum: ChartMuseumModel;
  cloudnativePg: ChartInstallModel;
  monitoring: MonitoringModel;
  logging: LoggingModel;
  /** Absent: nothing is sent anywhere (bk validate says so). */
  notifications?: NotificationsModel;
  /** Absent: no volume leaves the node. */
  volumeBackups?: VolumeBackupsModel;
  /** Absent: no mesh beyond the gateway. */
  mesh?: MeshModel;
  /** Absent: no Flagger, no canary. */
  progressiveDelivery?: ProgressiveDeliveryModel;
  endpoints: EndpointModel[];
  certificates: CertificateModel[];
  /** host:port of the private registry, as image references use it. */
  registry: string;
  postgres: PostgresModel;
  /** Requests and limits of every infrastructure container (the definition's default filled in) and the apps' default. */
  resources: { default: ResourcesModel; components: Record<InfraContainer, ResourcesModel> };
  /** The infrastructure pods with their labels and ports (infra-workloads.ts). */
  workloads: InfraWorkloads;
  apps: AppModel[];
  components: ComponentModel[];
  edges: EdgeModel[];
  secrets: DeclaredSecret[];
  exceptions: ExceptionModel[];
  /** The base profile (this cluster) first, then the definition's other profiles (profiles.ts). */
  profiles: ProfileModel[];
}

export function toObjectName(pgName: string): string {
  return pgName.replace(/_/g, "-");
}

export function roleSecretName(role: string): string {
  return `pg-${toObjectName(role)}`;
}

/** The Secret in an app namespace that carries a database's credentials for its components. */
export function dbSecretName(database: string): string {
  return `${toObjectName(database)}-db`;
}

export function svcDns(service: string, namespace: string, domain: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.${domain}`];
}

/** The endpoint with this id: the Model has every one of them. */
export function endpointById(model: Pick<Model, "endpoints">, id: EndpointModel["id"]): EndpointModel {
  const ep = model.endpoints.find((e) => e.id === id);
  if (!ep) throw new Error(`the Model has no endpoint ${id}`);
  return ep;
}

export function componentById(model: Model, id: string): ComponentModel | undefined {
  return model.components.find((c) => c.id === id);
}
