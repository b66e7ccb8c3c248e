/**
 * The Model: the definition normalized, with every derived value computed here once
 * (image references, in-cluster DNS names, certificate SANs, dependency edges, declared secrets).
 * Synthesis, policy, docs and operations read the Model; none of them re-derive these values.
 */
import type { AppDef, ChartPinDef, ClusterDef, ComponentDef, ExceptionDef, InfraDef, PodSecurity } from "./schema.js";

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
}

export interface ImageModel {
  registry: string;
  repository: string;
  tag: string;
  /** repository:tag, what the pod spec carries. */
  ref: string;
}

export type EdgeTarget =
  | { kind: "component"; id: string }
  | { kind: "database"; name: string }
  | { kind: "external"; host: string; port: number };

export interface EdgeModel {
  from: string;
  to: EdgeTarget;
}

export interface ComponentModel {
  id: string; // app/component
  app: string;
  name: string;
  /** Helm release and workload name: <app>-<component>. */
  fullname: string;
  namespace: string;
  def: ComponentDef;
  image: ImageModel;
  /** In-cluster DNS name of the component's Service, when it has a port. */
  serviceHost?: string;
  servicePort: number;
  edges: EdgeModel[];
  /** HelmRelease ids (app/component) that must be Ready before this one starts (incident 8). */
  dependsOn: string[];
  /** The secret names this component's pods read. */
  secretRefs: string[];
}

export interface AppModel {
  name: string;
  namespace: string;
  description: string;
  sourceRepository?: string;
  file: string;
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

export interface Model {
  cluster: ClusterDef["cluster"];
  gitops: ClusterDef["gitops"];
  network: ClusterDef["network"];
  podSecurityVersion: string;
  storageClass: string;
  namespaces: NamespaceModel[];
  infra: InfraDef;
  charts: Record<string, ChartPinDef>;
  endpoints: EndpointModel[];
  certificates: CertificateModel[];
  /** host:port of the private registry, as image references use it. */
  registry: string;
  postgres: { host: string; port: number; databases: DatabaseModel[] };
  apps: AppModel[];
  components: ComponentModel[];
  edges: EdgeModel[];
  secrets: DeclaredSecret[];
  exceptions: ExceptionDef[];
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

export function componentById(model: Model, id: string): ComponentModel | undefined {
  return model.components.find((c) => c.id === id);
}
