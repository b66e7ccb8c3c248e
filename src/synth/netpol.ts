/**
 * NetworkPolicies from the Model: every namespace denies all traffic, then each declared path is
 * opened on both ends (egress on the client, ingress on the server), on the server's pod port.
 * Application policies follow the definition's talksTo / database / route / metrics exactly;
 * infrastructure policies follow what each upstream component is known to need (see comments).
 *
 * Placement: apps/<app>/networkpolicies.yaml for application namespaces,
 * infrastructure/configs/netpol/<namespace>.yaml for every other namespace.
 * `bk netpol` evaluates these objects (not the definition) to show who can reach whom.
 */
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import type { INetworkPolicyPort } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort";
import type { PlacedObject } from "../core/object.js";
import { endpointById, type ComponentModel, type InfraWorkloads, type Model, type Workload } from "../model/model.js";
import { componentSelector } from "../netpol/workloads.js";
import { MANAGED_BY, obj, place } from "./builders.js";
import { APPS, CONFIGS } from "../model/layout.js";
import {
  CNPG_STATUS_PORT,
  DNS_PORT,
  FLUX_METRICS_PORT,
  FLUX_NAMESPACE,
  KUBE_SYSTEM,
  KUBELET_PORT,
  LOKI_PORT,
  MINIKUBE_API_SERVER_PORT,
  NODE_EXPORTER_PORT,
  POSTGRES_PORT,
  PROMETHEUS_PORT,
  SEALED_SECRETS_PORT,
} from "../core/well-known.js";
import { portOf } from "../model/infra-workloads.js";
import { FLAGGER_LABELS } from "../model/progressive.js";
import { MOVER_LABELS, repositoryEndpoint, VOLSYNC_CONTROLLER_LABELS, VOLSYNC_METRICS_PORT } from "../model/volume-backups.js";

type Labels = Record<string, string>;

/** Kubernetes sets this label on every namespace (since 1.22): the portable way to select one by name. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
export const ANYWHERE = "0.0.0.0/0";
/** RFC 1918: the LAN, the node network and the pod and service CIDRs all live here, so "the internet" excludes them. */
export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] as const;
/**
 * The API server is not a pod, so it can only be named by address: the node's, which is private
 * (Minikube on the LAN). 443 is the kubernetes Service, 6443 the usual apiserver port and 8443 the
 * one Minikube uses (policies see the port after the Service is translated).
 */
export const API_SERVER_PORTS = [443, 6443, MINIKUBE_API_SERVER_PORT] as const;
export const PURPOSE_ANNOTATION = "beckerkube.io/purpose";
export const HOSTS_ANNOTATION = "beckerkube.io/external-hosts";

/** One ingress or egress rule: peers undefined = every peer; ports undefined = every port. */
interface Rule {
  peers?: INetworkPolicyPeer[];
  ports?: INetworkPolicyPort[];
}

interface PolicySpec {
  name: string;
  namespace: string;
  purpose: string;
  /** Pods the policy applies to; {} = every pod of the namespace. */
  select: Labels;
  ingress?: Rule[];
  egress?: Rule[];
  annotations?: Record<string, string>;
}

export const tcp = (...ports: number[]): INetworkPolicyPort[] => ports.map((port) => ({ protocol: "TCP", port }));
export const udp = (...ports: number[]): INetworkPolicyPort[] => ports.map((port) => ({ protocol: "UDP", port }));

/** Pods with these labels in `target`, as seen from a policy in `from` (same namespace: podSelector alone). */
function podsIn(from: string, target: string, labels: Labels): INetworkPolicyPeer {
  if (from === target) return { podSelector: { matchLabels: { ...labels } } };
  return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: target } }, podSelector: { matchLabels: { ...labels } } };
}

const workloadPeer = (from: string, w: Workload) => podsIn(from, w.namespace, w.selector);
const componentPeer = (from: string, c: ComponentModel) => podsIn(from, c.namespace, componentSelector(c));
const cidr = (block: string, except?: readonly string[]): INetworkPolicyPeer => ({ ipBlock: { cidr: block, ...(except?.length ? { except: [...except] } : {}) } });
/** Public addresses only: external edges name hosts, and NetworkPolicy cannot, so this is the narrowest it can say. */
const internet = () => cidr(ANYWHERE, PRIVATE_RANGES);
const allPodsEverywhere = (): INetworkPolicyPeer => ({ namespaceSelector: {} });
/** The node, the LAN and the cluster networks: where the API server and the kubelets are, never the internet. */
const privateNetworks = (): INetworkPolicyPeer[] => PRIVATE_RANGES.map((r) => cidr(r));

function toRules(rules: Rule[], key: "from" | "to") {
  return rules.map((r) => ({ ...(r.peers ? { [key]: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) }));
}

function networkPolicy(p: PolicySpec): INetworkPolicy {
  const types: Array<"Ingress" | "Egress"> = [];
  if (p.ingress) types.push("Ingress");
  if (p.egress) types.push("Egress");
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: { ...MANAGED_BY },
      annotations: { [PURPOSE_ANNOTATION]: p.purpose, ...p.annotations },
    },
    spec: {
      podSelector: Object.keys(p.select).length ? { matchLabels: { ...p.select } } : {},
      policyTypes: types,
      ...(p.ingress?.length ? { ingress: toRules(p.ingress, "from") } : {}),
      ...(p.egress?.length ? { egress: toRules(p.egress, "to") } : {}),
    },
  };
}

/** Policies per namespace, in the order they were added; names are checked for clashes. */
class PolicySet {
  readonly byNamespace = new Map<string, PolicySpec[]>();

  add(p: PolicySpec): void {
    const list = this.byNamespace.get(p.namespace) ?? [];
    if (list.some((x) => x.name === p.name)) throw new Error(`NetworkPolicy ${p.namespace}/${p.name} would be generated twice: two definitions map to the same policy name; rename a component`);
    list.push(p);
    this.byNamespace.set(p.namespace, list);
  }
}

export function synthNetworkPolicies(m: Model): PlacedObject[] {
  const set = new PolicySet();
  const w = m.workloads;
  const kubeDns = w.kubeDns;

  // Every namespace: nothing in or out unless a policy below allows it; name resolution always.
  for (const ns of m.namespaces) {
    set.add({ name: "default-deny", namespace: ns.name, purpose: "Deny all ingress and egress; every allowed path has its own policy.", select: {}, ingress: [], egress: [] });
    set.add({
      name: "allow-dns",
      namespace: ns.name,
      purpose: "Name resolution through CoreDNS (kube-dns) on UDP and TCP 53.",
      select: {},
      egress: [{ peers: [workloadPeer(ns.name, kubeDns)], ports: [...udp(DNS_PORT), ...tcp(DNS_PORT)] }],
    });
  }

  infrastructurePolicies(m, set);
  applicationPolicies(m, set);
  return placePolicies(m, set);
}

// --- Applications -------------------------------------------------------------------------------

/** Every policy a component implies, from its edges, database, external hosts, route and metrics (placePolicies orders them by name). */
function applicationPolicies(m: Model, set: PolicySet): void {
  const byId = new Map(m.components.map((c) => [c.id, c]));
  for (const c of m.components) {
    componentEdgePolicies(m, set, c, byId);
    databasePolicies(m, set, c);
    internetPolicy(set, c);
    routePolicy(m, set, c);
    metricsPolicy(m, set, c);
  }
}

/** How a component is named in a policy of `ns`: its bare name at home, <app>-<name> elsewhere. */
function policyLabel(c: ComponentModel, ns: string): string {
  return c.namespace === ns ? c.name : c.fullname;
}

/** Component edges: egress here, ingress on the target, on the target's container port. */
function componentEdgePolicies(m: Model, set: PolicySet, c: ComponentModel, byId: Map<string, ComponentModel>): void {
  const ns = c.namespace;
  const seen = new Set<string>();
  for (const e of c.edges) {
    if (e.to.kind !== "component") continue;
    const t = byId.get(e.to.id);
    if (!t?.port || seen.has(t.id)) continue; // a target without a port accepts no connections
    seen.add(t.id);
    set.add({
      name: `allow-${c.name}-to-${policyLabel(t, ns)}`,
      namespace: ns,
      purpose: `${c.id} talks to ${t.id} on ${t.port}/TCP (talksTo in ${fileOf(m, c)}).`,
      select: componentSelector(c),
      egress: [{ peers: [componentPeer(ns, t)], ports: tcp(t.port) }],
    });
    set.add({
      name: `allow-${t.name}-from-${policyLabel(c, t.namespace)}`,
      namespace: t.namespace,
      purpose: `${t.id} accepts ${c.id} on ${t.port}/TCP (talksTo in ${fileOf(m, c)}).`,
      select: componentSelector(t),
      ingress: [{ peers: [componentPeer(t.namespace, c)], ports: tcp(t.port) }],
    });
  }
}

/** A component with a database: egress to PostgreSQL here, and PostgreSQL's ingress from it. */
function databasePolicies(m: Model, set: PolicySet, c: ComponentModel): void {
  if (!c.database) return;
  const pgNs = m.postgres.namespace;
  const postgres = m.workloads.postgres;
  set.add({
    name: `allow-${c.name}-to-postgres`,
    namespace: c.namespace,
    purpose: `${c.id} (and its migration Job) uses database ${c.database} on PostgreSQL ${POSTGRES_PORT}/TCP.`,
    select: componentSelector(c),
    egress: [{ peers: [workloadPeer(c.namespace, postgres)], ports: tcp(POSTGRES_PORT) }],
  });
  set.add({
    name: `allow-postgres-from-${c.app}-${c.name}`,
    namespace: pgNs,
    purpose: `PostgreSQL accepts ${c.id}, which uses database ${c.database}.`,
    select: postgres.selector,
    ingress: [{ peers: [componentPeer(pgNs, c)], ports: tcp(POSTGRES_PORT) }],
  });
}

/** External hosts become public-internet egress on their ports: NetworkPolicy cannot name hosts, so the hosts ride along as an annotation. */
function internetPolicy(set: PolicySet, c: ComponentModel): void {
  const external = c.edges.flatMap((e) => (e.to.kind === "external" ? [e.to] : []));
  if (!external.length) return;
  const ports = [...new Set(external.map((x) => x.port))].sort((a, b) => a - b);
  const hosts = external.map((x) => `${x.host}:${x.port}`);
  set.add({
    name: `allow-${c.name}-to-internet`,
    namespace: c.namespace,
    purpose:
      `${c.id} talks to ${hosts.join(", ")}. NetworkPolicy cannot name hosts: this allows any public address on ` +
      `${ports.join(", ")}/TCP (private ranges excluded); pin hosts with an egress proxy or a CNI policy with DNS rules if that is not enough.`,
    select: componentSelector(c),
    egress: [{ peers: [internet()], ports: tcp(...ports) }],
    annotations: { [HOSTS_ANNOTATION]: hosts.join(",") },
  });
}

/** A routed component accepts both front doors: the ingress-nginx controller and the Istio gateway. */
function routePolicy(m: Model, set: PolicySet, c: ComponentModel): void {
  if (!(c.route && c.port)) return;
  const w = m.workloads;
  set.add({
    name: `allow-${c.name}-from-ingress`,
    namespace: c.namespace,
    purpose: `Route ${c.route}: the ingress-nginx controller and the Istio gateway reach ${c.id} on ${c.port}/TCP.`,
    select: componentSelector(c),
    ingress: [{ peers: [workloadPeer(c.namespace, w.ingressController), workloadPeer(c.namespace, w.gateway)], ports: tcp(c.port) }],
  });
}

/** A component with metrics lets Prometheus in on its metrics port. */
function metricsPolicy(m: Model, set: PolicySet, c: ComponentModel): void {
  if (!c.metrics) return;
  set.add({
    name: `allow-${c.name}-from-prometheus`,
    namespace: c.namespace,
    purpose: `Prometheus scrapes ${c.id} on ${c.metrics.port}/TCP ${c.metrics.path}.`,
    select: componentSelector(c),
    ingress: [{ peers: [workloadPeer(c.namespace, m.workloads.prometheus)], ports: tcp(c.metrics.port) }],
  });
}

function fileOf(m: Model, c: ComponentModel): string {
  return m.apps.find((a) => a.name === c.app)?.file ?? `definition/apps/${c.app}.yaml`;
}

// --- Infrastructure -----------------------------------------------------------------------------

/** Shared vocabulary of the infrastructure policies. */
class InfraPolicies {
  readonly w: InfraWorkloads;
  readonly declared: Set<string>;
  readonly apiServer: Rule = { peers: privateNetworks(), ports: tcp(...API_SERVER_PORTS) };
  private readonly withApi = new Set<string>();
  private readonly routed: ComponentModel[];

  constructor(
    readonly m: Model,
    private readonly set: PolicySet,
  ) {
    this.w = m.workloads;
    this.declared = new Set(m.namespaces.map((n) => n.name));
    this.routed = m.components.filter((c) => c.route && c.port);
  }

  add(p: PolicySpec): void {
    this.set.add(p);
  }

  fromAnywhere(ports: number[]): Rule {
    return { peers: [cidr(ANYWHERE)], ports: tcp(...ports) };
  }

  /** Every pod of the namespace may call the API; several components may share a namespace, one policy serves them. */
  toApiServer(ns: string, who: string): void {
    if (this.withApi.has(ns)) return;
    this.withApi.add(ns);
    this.add({ name: "allow-apiserver", namespace: ns, purpose: `${who} call the Kubernetes API (not a pod: named as the private networks on ${API_SERVER_PORTS.join("/")}).`, select: {}, egress: [this.apiServer] });
  }

  /** Admission webhooks are called by the API server, which is not a pod either. */
  webhook(x: Workload, portName: string): void {
    const port = portOf(x, portName);
    this.add({
      name: `allow-${x.id}-from-apiserver`,
      namespace: x.namespace,
      purpose: `The API server (from the node's private address) calls the ${x.title} admission webhook on ${port}/TCP.`,
      select: x.selector,
      ingress: [{ peers: privateNetworks(), ports: tcp(port) }],
    });
  }

  scrape(x: Workload): void {
    if (!x.metricsPorts.length) return;
    this.add({
      name: `allow-${x.id}-from-prometheus`,
      namespace: x.namespace,
      purpose: `Prometheus scrapes ${x.title} on ${x.metricsPorts.join(", ")}/TCP.`,
      select: x.selector,
      ingress: [{ peers: [workloadPeer(x.namespace, this.w.prometheus)], ports: tcp(...x.metricsPorts) }],
    });
  }

  /** An entry point forwards to every routed component, whichever route kind is rendered today. */
  toRouted(x: Workload): void {
    if (!this.routed.length) return;
    this.add({
      name: `allow-${x.id}-to-routed-apps`,
      namespace: x.namespace,
      purpose: `${x.title} forwards routed requests to ${this.routed.map((c) => `${c.id}:${c.port}`).join(", ")}.`,
      select: x.selector,
      egress: this.routed.map((c) => ({ peers: [componentPeer(x.namespace, c)], ports: tcp(c.port!) })),
    });
  }
}

function infrastructurePolicies(m: Model, set: PolicySet): void {
  const p = new InfraPolicies(m, set);
  // kube-system and flux-system get policies only when the definition lists them as namespaces.
  if (p.declared.has(KUBE_SYSTEM)) kubeSystemPolicies(p);
  sealedSecretsPolicies(p);
  if (p.declared.has(FLUX_NAMESPACE)) fluxPolicies(p);
  controllerPolicies(p);
  entryPointPolicies(p);
  storagePolicies(p);
  observabilityPolicies(p);
  notificationPolicies(p);
  volumeBackupPolicies(p);
  progressivePolicies(p);
}

/** CoreDNS serves the whole cluster and forwards to the node's resolver; system pods (CoreDNS, Calico's controllers) watch the API. */
function kubeSystemPolicies(p: InfraPolicies): void {
  const dns = p.w.kubeDns;
  p.toApiServer(KUBE_SYSTEM, "System pods (CoreDNS, CNI controllers, Sealed Secrets)");
  p.add({
    name: "allow-kube-dns-from-cluster",
    namespace: KUBE_SYSTEM,
    purpose: "Every pod in the cluster resolves names through CoreDNS.",
    select: dns.selector,
    ingress: [{ peers: [allPodsEverywhere()], ports: [...udp(DNS_PORT), ...tcp(DNS_PORT)] }],
  });
  p.add({
    name: "allow-kube-dns-upstream",
    namespace: KUBE_SYSTEM,
    purpose: "CoreDNS forwards names outside the cluster to the node's upstream resolver, which sits on a private address.",
    select: dns.selector,
    egress: [{ peers: [cidr(ANYWHERE)], ports: [...udp(DNS_PORT), ...tcp(DNS_PORT)] }],
  });
  p.scrape(dns);
}

function sealedSecretsPolicies(p: InfraPolicies): void {
  const s = p.w.sealedSecrets;
  p.toApiServer(s.namespace, "The Sealed Secrets controller");
  p.add({
    name: "allow-sealed-secrets-from-apiserver",
    namespace: s.namespace,
    purpose: `\`kubeseal --fetch-cert\` reaches the controller through the API server's service proxy (from the node's private address) on ${SEALED_SECRETS_PORT}/TCP.`,
    select: s.selector,
    ingress: [{ peers: privateNetworks(), ports: tcp(SEALED_SECRETS_PORT) }],
  });
  p.scrape(s);
}

/**
 * The Flux controllers fetch artifacts from source-controller and send events to
 * notification-controller; source-controller pulls Git over SSH and charts over HTTPS, and our own
 * chart from ChartMuseum. (Flux's install manifests may bring broader policies of their own.)
 */
function fluxPolicies(p: InfraPolicies): void {
  const { w } = p;
  const ns = FLUX_NAMESPACE;
  const cmPort = w.chartmuseum.ports[0]!.port;
  p.toApiServer(ns, "The Flux controllers");
  p.add({
    name: "allow-within-namespace",
    namespace: ns,
    purpose: "Flux controllers fetch artifacts from source-controller and send events to notification-controller.",
    select: {},
    ingress: [{ peers: [{ podSelector: {} }] }],
    egress: [{ peers: [{ podSelector: {} }] }],
  });
  p.add({
    name: "allow-source-controller-to-chartmuseum",
    namespace: ns,
    purpose: `source-controller reads the application chart from ChartMuseum on ${cmPort}/TCP.`,
    select: w.fluxSource.selector,
    egress: [{ peers: [workloadPeer(ns, w.chartmuseum)], ports: tcp(cmPort) }],
  });
  p.add({
    name: "allow-source-controller-to-internet",
    namespace: ns,
    purpose: "source-controller pulls Git over SSH (22/TCP) and upstream Helm charts over HTTPS (443/TCP) from public hosts.",
    select: w.fluxSource.selector,
    egress: [{ peers: [internet()], ports: tcp(22, 443) }],
  });
  p.add({
    name: "allow-metrics-from-prometheus",
    namespace: ns,
    purpose: `Prometheus scrapes the Flux controllers on ${FLUX_METRICS_PORT}/TCP.`,
    select: {},
    ingress: [{ peers: [workloadPeer(ns, w.prometheus)], ports: tcp(FLUX_METRICS_PORT) }],
  });
}

/** Operators that only need the API and receive webhook calls from it. */
function controllerPolicies(p: InfraPolicies): void {
  const { w, m } = p;
  // MetalLB speakers run with hostNetwork, where NetworkPolicy does not apply; the controller assigns addresses.
  p.toApiServer(m.metallb.namespace, "The MetalLB controller");
  p.webhook(w.metallbController, "webhook-server");
  p.scrape(w.metallbController);
  // Issuance from our own CA only: no ACME, so no egress to the internet.
  p.toApiServer(m.certManager.namespace, "cert-manager's controller, cainjector, webhook and startup check");
  p.webhook(w.certManagerWebhook, "https");
  p.scrape(w.certManager);
  // istiod serves configuration and certificates to gateways (and any sidecar) anywhere.
  p.toApiServer(m.istio.namespace, "istiod");
  p.add({
    name: "allow-istiod-from-cluster",
    namespace: w.istiod.namespace,
    purpose: `Gateways and sidecars anywhere fetch configuration (xDS) and certificates from istiod on ${portOf(w.istiod, "grpc-xds")}/${portOf(w.istiod, "tls-xds")}.`,
    select: w.istiod.selector,
    ingress: [{ peers: [allPodsEverywhere()], ports: tcp(portOf(w.istiod, "grpc-xds"), portOf(w.istiod, "tls-xds")) }],
  });
  p.webhook(w.istiod, "https-webhooks");
  p.scrape(w.istiod);
}

/** ingress-nginx and the Istio gateway: the LAN's HTTP(S) entry points, forwarding to routed components. */
function entryPointPolicies(p: InfraPolicies): void {
  const { w, m } = p;
  const ingressPorts = endpointById(m, "ingress").ports.map((x) => x.port);
  p.toApiServer(w.ingressController.namespace, "The controller and its admission certificate Jobs");
  p.add({
    name: "allow-ingress-nginx-from-anywhere",
    namespace: w.ingressController.namespace,
    purpose: `The controller is the LAN's entry point (LoadBalancer) on ${ingressPorts.join(", ")}/TCP.`,
    select: w.ingressController.selector,
    ingress: [p.fromAnywhere(ingressPorts)],
  });
  p.webhook(w.ingressController, "webhook");
  p.toRouted(w.ingressController);
  p.scrape(w.ingressController);

  const gatewayPorts = endpointById(m, "gateway").ports.map((x) => x.port);
  p.add({
    name: "allow-istio-gateway-from-anywhere",
    namespace: w.gateway.namespace,
    purpose: `The gateway is a LAN entry point (LoadBalancer) on ${gatewayPorts.join(", ")}/TCP.`,
    select: w.gateway.selector,
    ingress: [p.fromAnywhere(gatewayPorts)],
  });
  p.add({
    name: "allow-istio-gateway-to-istiod",
    namespace: w.gateway.namespace,
    purpose: `The gateway fetches its configuration and certificates from istiod on ${portOf(w.istiod, "tls-xds")}/TCP.`,
    select: w.gateway.selector,
    egress: [{ peers: [workloadPeer(w.gateway.namespace, w.istiod)], ports: tcp(portOf(w.istiod, "tls-xds")) }],
  });
  p.toRouted(w.gateway);
  p.scrape(w.gateway);
}

/** Registry, ChartMuseum and PostgreSQL: published to the LAN through their LoadBalancers. */
function storagePolicies(p: InfraPolicies): void {
  registryPolicies(p);
  chartmuseumPolicies(p);
  postgresPolicies(p);
  cnpgOperatorPolicies(p);
}

function registryPolicies(p: InfraPolicies): void {
  const { w } = p;
  // Image pulls are the node's (kubelet), not a pod's: only build hosts and the node reach the registry.
  const regPort = w.registry.ports[0]!.port;
  p.add({
    name: "allow-registry-from-lan",
    namespace: w.registry.namespace,
    purpose: `Build hosts push and the node pulls images through the LoadBalancer on ${regPort}/TCP.`,
    select: w.registry.selector,
    ingress: [p.fromAnywhere([regPort])],
  });
  p.scrape(w.registry);
}

/** Build hosts publish charts; Flux reads them. */
function chartmuseumPolicies(p: InfraPolicies): void {
  const { w } = p;
  const cmPort = w.chartmuseum.ports[0]!.port;
  p.add({
    name: "allow-chartmuseum-from-lan",
    namespace: w.chartmuseum.namespace,
    purpose: `Build hosts publish charts through the LoadBalancer on ${cmPort}/TCP.`,
    select: w.chartmuseum.selector,
    ingress: [p.fromAnywhere([cmPort])],
  });
  p.add({
    name: "allow-chartmuseum-from-flux",
    namespace: w.chartmuseum.namespace,
    purpose: `Flux's source-controller reads the application chart on ${cmPort}/TCP.`,
    select: w.chartmuseum.selector,
    ingress: [{ peers: [workloadPeer(w.chartmuseum.namespace, w.fluxSource)], ports: tcp(cmPort) }],
  });
  p.scrape(w.chartmuseum);
}

/** PostgreSQL instances: the LAN, each other, the CloudNativePG operator and the nightly backup. */
function postgresPolicies(p: InfraPolicies): void {
  const { w } = p;
  const pgNs = w.postgres.namespace;
  p.add({
    name: "allow-postgres-from-lan",
    namespace: pgNs,
    purpose: `PostgreSQL is published to the LAN through its LoadBalancer on ${POSTGRES_PORT}/TCP.`,
    select: w.postgres.selector,
    ingress: [p.fromAnywhere([POSTGRES_PORT])],
  });
  p.add({
    name: "allow-postgres-instances",
    namespace: pgNs,
    purpose: `PostgreSQL instances replicate (${POSTGRES_PORT}) and read each other's status (${CNPG_STATUS_PORT}); the instance manager calls the API.`,
    select: w.postgres.selector,
    ingress: [{ peers: [workloadPeer(pgNs, w.postgres)], ports: tcp(POSTGRES_PORT, CNPG_STATUS_PORT) }],
    egress: [{ peers: [workloadPeer(pgNs, w.postgres)], ports: tcp(POSTGRES_PORT, CNPG_STATUS_PORT) }, p.apiServer],
  });
  p.add({
    name: "allow-postgres-from-cnpg-operator",
    namespace: pgNs,
    purpose: `The CloudNativePG operator reads instance status on ${CNPG_STATUS_PORT} and manages roles and databases on ${POSTGRES_PORT}.`,
    select: w.postgres.selector,
    ingress: [{ peers: [workloadPeer(pgNs, w.cnpgOperator)], ports: tcp(CNPG_STATUS_PORT, POSTGRES_PORT) }],
  });
  p.add({
    name: "allow-postgres-from-backup",
    namespace: pgNs,
    purpose: `The nightly pg_dump CronJob reads every database on ${POSTGRES_PORT}/TCP.`,
    select: w.postgres.selector,
    ingress: [{ peers: [workloadPeer(pgNs, w.postgresBackup)], ports: tcp(POSTGRES_PORT) }],
  });
  p.add({
    name: "allow-backup-to-postgres",
    namespace: pgNs,
    purpose: `The nightly pg_dump CronJob reads every database on ${POSTGRES_PORT}/TCP.`,
    select: w.postgresBackup.selector,
    egress: [{ peers: [workloadPeer(pgNs, w.postgres)], ports: tcp(POSTGRES_PORT) }],
  });
  p.scrape(w.postgres);
}

/** The CloudNativePG operator talks to the API, serves its webhook, and manages every cluster's instances. */
function cnpgOperatorPolicies(p: InfraPolicies): void {
  const { w, m } = p;
  const pgNs = w.postgres.namespace;
  const op = w.cnpgOperator;
  p.toApiServer(m.cloudnativePg.namespace, "The CloudNativePG operator");
  p.webhook(op, "webhook-server");
  p.add({
    name: "allow-cnpg-operator-to-postgres",
    namespace: op.namespace,
    purpose: `The operator reads instance status on ${CNPG_STATUS_PORT} and manages roles and databases on ${POSTGRES_PORT} of every CloudNativePG cluster.`,
    select: op.selector,
    egress: [
      {
        peers: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: pgNs } }, podSelector: { matchExpressions: [{ key: "cnpg.io/cluster", operator: "Exists" }] } }],
        ports: tcp(CNPG_STATUS_PORT, POSTGRES_PORT),
      },
    ],
  });
  p.scrape(op);
}

/**
 * Prometheus scrapes every pod that exposes metrics (the scraped side's ingress decides which port)
 * and the nodes' kubelet and node exporter; Grafana reads Prometheus and Loki; Fluent Bit ships to Loki.
 */
function observabilityPolicies(p: InfraPolicies): void {
  const { w, m } = p;
  const mon = m.monitoring.namespace;
  p.toApiServer(mon, "Prometheus (service discovery), its operator, kube-state-metrics and Grafana's sidecars");
  p.add({
    name: "allow-prometheus-scrape",
    namespace: mon,
    purpose: `Prometheus scrapes pods in every namespace and the nodes' kubelet (${KUBELET_PORT}) and node exporter (${NODE_EXPORTER_PORT}, hostNetwork).`,
    select: w.prometheus.selector,
    egress: [{ peers: [allPodsEverywhere()] }, { peers: privateNetworks(), ports: tcp(NODE_EXPORTER_PORT, KUBELET_PORT) }],
  });
  p.add({
    name: "allow-from-prometheus",
    namespace: mon,
    purpose: "Prometheus scrapes its own stack (operator, kube-state-metrics, Alertmanager, Grafana) and sends alerts to Alertmanager.",
    select: {},
    ingress: [{ peers: [workloadPeer(mon, w.prometheus)] }],
  });
  p.add({
    name: "allow-grafana-to-prometheus",
    namespace: mon,
    purpose: `Grafana queries Prometheus on ${PROMETHEUS_PORT}/TCP.`,
    select: w.grafana.selector,
    egress: [{ peers: [workloadPeer(mon, w.prometheus)], ports: tcp(PROMETHEUS_PORT) }],
  });
  p.add({
    name: "allow-prometheus-from-grafana",
    namespace: mon,
    purpose: `Grafana queries Prometheus on ${PROMETHEUS_PORT}/TCP.`,
    select: w.prometheus.selector,
    ingress: [{ peers: [workloadPeer(mon, w.grafana)], ports: tcp(PROMETHEUS_PORT) }],
  });
  p.add({
    name: "allow-grafana-to-loki",
    namespace: mon,
    purpose: `Grafana queries Loki on ${LOKI_PORT}/TCP.`,
    select: w.grafana.selector,
    egress: [{ peers: [workloadPeer(mon, w.loki)], ports: tcp(LOKI_PORT) }],
  });
  p.webhook(w.prometheusOperator, "https");

  const log = m.logging.namespace;
  p.add({
    name: "allow-fluent-bit-to-apiserver",
    namespace: log,
    purpose: "Fluent Bit's kubernetes filter reads pod metadata from the API.",
    select: w.fluentBit.selector,
    egress: [p.apiServer],
  });
  p.add({
    name: "allow-fluent-bit-to-loki",
    namespace: log,
    purpose: `Fluent Bit pushes logs to Loki on ${LOKI_PORT}/TCP.`,
    select: w.fluentBit.selector,
    egress: [{ peers: [workloadPeer(log, w.loki)], ports: tcp(LOKI_PORT) }],
  });
  p.add({
    name: "allow-loki-from-clients",
    namespace: log,
    purpose: `Fluent Bit pushes logs to Loki and Grafana queries it on ${LOKI_PORT}/TCP.`,
    select: w.loki.selector,
    ingress: [{ peers: [workloadPeer(log, w.fluentBit), workloadPeer(log, w.grafana)], ports: tcp(LOKI_PORT) }],
  });
  p.scrape(w.loki);
  p.scrape(w.fluentBit);
}

/**
 * Notifications (issue 17): Alertmanager and notification-controller post to webhooks on the internet (Discord,
 * or whatever the generic target is) over HTTPS; the entry points forward the Git host's push to the Receiver.
 */
function notificationPolicies(p: InfraPolicies): void {
  const { w, m } = p;
  const n = m.notifications;
  if (!n) return;
  p.add({
    name: "allow-alertmanager-to-internet",
    namespace: w.alertmanager.namespace,
    purpose: `Alertmanager posts alerts to the notification targets (${n.targets.map((t) => `${t.name}: ${t.type}`).join(", ")}) over HTTPS (443/TCP, private ranges excluded).`,
    select: w.alertmanager.selector,
    egress: [{ peers: [internet()], ports: tcp(443) }],
  });
  if (!p.declared.has(FLUX_NAMESPACE)) return;
  const fn = w.fluxNotification;
  p.add({
    name: "allow-notification-controller-to-internet",
    namespace: fn.namespace,
    purpose: `notification-controller posts Flux events to target ${n.flux} over HTTPS (443/TCP, private ranges excluded).`,
    select: fn.selector,
    egress: [{ peers: [internet()], ports: tcp(443) }],
  });
  if (!n.receiver) return;
  const hook = portOf(fn, "http-webhook");
  const entryPoints = [w.ingressController, w.gateway];
  p.add({
    name: "allow-notification-controller-from-entry-points",
    namespace: fn.namespace,
    purpose: `The entry points forward the Git host's push (/hook/ on ${n.receiver.host}) to the Receiver on ${hook}/TCP.`,
    select: fn.selector,
    ingress: [{ peers: entryPoints.map((x) => workloadPeer(fn.namespace, x)), ports: tcp(hook) }],
  });
  for (const x of entryPoints) {
    p.add({
      name: `allow-${x.id}-to-webhook-receiver`,
      namespace: x.namespace,
      purpose: `${x.title} forwards the Git host's push (/hook/ on ${n.receiver.host}) to notification-controller on ${hook}/TCP.`,
      select: x.selector,
      egress: [{ peers: [workloadPeer(x.namespace, fn)], ports: tcp(hook) }],
    });
  }
}

/**
 * VolSync: the controller watches the API and is scraped by Prometheus; in every namespace with a backed-up volume
 * the mover pods (labelled by the ReplicationSources) reach the restic repository and nothing else. A repository
 * given by IP address is that address only; by name, any public address on its port (NetworkPolicy cannot name hosts).
 */
function volumeBackupPolicies(p: InfraPolicies): void {
  const vb = p.m.volumeBackups;
  if (!vb) return;
  p.toApiServer(vb.namespace, "The VolSync controller");
  p.add({
    name: "allow-volsync-controller-from-prometheus",
    namespace: vb.namespace,
    purpose: `Prometheus scrapes the VolSync controller on ${VOLSYNC_METRICS_PORT}/TCP (volsync_volume_out_of_sync feeds VolumeBackupOutOfSync).`,
    select: VOLSYNC_CONTROLLER_LABELS,
    ingress: [{ peers: [workloadPeer(vb.namespace, p.w.prometheus)], ports: tcp(VOLSYNC_METRICS_PORT) }],
  });
  const ep = repositoryEndpoint(vb.repository);
  const peer = ep.ip ? cidr(`${ep.host}/32`) : internet();
  for (const ns of [...new Set(vb.volumes.map((v) => v.namespace))].sort()) {
    const ids = vb.volumes.filter((v) => v.namespace === ns).map((v) => v.id);
    p.add({
      name: "allow-volsync-mover-to-repository",
      namespace: ns,
      purpose: `VolSync's restic mover copies ${ids.join(", ")} to the restic repository at ${ep.host}:${ep.port}/TCP${ep.ip ? "" : " (by name: any public address on that port, private ranges excluded)"}.`,
      select: { ...MOVER_LABELS },
      egress: [{ peers: [peer], ports: tcp(ep.port) }],
      annotations: { [HOSTS_ANNOTATION]: `${ep.host}:${ep.port}` },
    });
  }
}

/** Flagger: the API (as everything in its namespace), and Prometheus for the canaries' metrics. */
function progressivePolicies(p: InfraPolicies): void {
  const pd = p.m.progressiveDelivery;
  if (!pd) return;
  const mon = p.w.prometheus.namespace;
  p.toApiServer(pd.namespace, "Flagger");
  p.add({
    name: "allow-flagger-to-prometheus",
    namespace: pd.namespace,
    purpose: `Flagger queries Prometheus on ${PROMETHEUS_PORT}/TCP for each canary's request success rate and duration.`,
    select: { ...FLAGGER_LABELS },
    egress: [{ peers: [workloadPeer(pd.namespace, p.w.prometheus)], ports: tcp(PROMETHEUS_PORT) }],
  });
  p.add({
    name: "allow-prometheus-from-flagger",
    namespace: mon,
    purpose: `Flagger queries Prometheus on ${PROMETHEUS_PORT}/TCP for each canary's request success rate and duration.`,
    select: p.w.prometheus.selector,
    ingress: [{ peers: [podsIn(mon, pd.namespace, { ...FLAGGER_LABELS })], ports: tcp(PROMETHEUS_PORT) }],
  });
}

// --- Placement ----------------------------------------------------------------------------------

const BASELINE = ["default-deny", "allow-dns"];

function placePolicies(m: Model, set: PolicySet): PlacedObject[] {
  const out: PlacedObject[] = [];
  for (const ns of m.namespaces) {
    const added = set.byNamespace.get(ns.name);
    if (!added) continue;
    // The namespace baseline first, then by name, so each pod's policies sit together (allow-<pod>-...).
    const baseline = added.filter((p) => BASELINE.includes(p.name));
    const policies = [...baseline, ...added.filter((p) => !BASELINE.includes(p.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))];
    // Several apps may share a namespace: its policies go with the first of them.
    const app = m.apps.find((a) => a.namespace === ns.name);
    const file = app ? `${APPS}/${app.name}/networkpolicies.yaml` : `${CONFIGS}/netpol/${ns.name}.yaml`;
    out.push(...place(file, ...policies.map((p) => obj(networkPolicy(p)))));
  }
  const known = new Set(m.namespaces.map((n) => n.name));
  const stray = [...set.byNamespace.keys()].filter((n) => !known.has(n));
  if (stray.length) throw new Error(`NetworkPolicies for namespaces the definition does not declare: ${stray.join(", ")}; add them under namespaces: in definition/cluster.yaml`);
  return out;
}
