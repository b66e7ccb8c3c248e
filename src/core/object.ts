/**
 * The one shape every synthesized object has on its way from synthesis to the tree.
 * Synthesis builds these with @kubernetes-models classes where a model exists and plain
 * objects otherwise; everything downstream (policy, schema validation, emission) only needs this.
 */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** An object together with the file of the GitOps tree it is written to (posix path relative to the tree root). */
/**
 * Where an object comes from: the generated tree (committed to Git), our application chart, or an upstream
 * chart (rendered in the cluster by helm-controller; never in Git, and shaped by its maintainers).
 */
export type ObjectOrigin = "tree" | "app-chart" | "upstream-chart";

export interface PlacedObject {
  object: KubeObject;
  file: string;
  /** Absent means "tree". */
  origin?: ObjectOrigin;
}

/** "Kind/namespace/name" or "Kind/name": how findings and errors name an object. */
export function objectRef(obj: Pick<KubeObject, "kind" | "metadata">): string {
  const ns = obj.metadata.namespace;
  return ns ? `${obj.kind}/${ns}/${obj.metadata.name}` : `${obj.kind}/${obj.metadata.name}`;
}

/** Identity used to detect an object defined twice: group/kind/namespace/name. */
export function objectIdentity(obj: KubeObject): string {
  const group = obj.apiVersion.includes("/") ? obj.apiVersion.split("/")[0] : "";
  return `${group}/${obj.kind}/${obj.metadata.namespace ?? ""}/${obj.metadata.name}`;
}

/** A status condition as Kubernetes, Flux and cert-manager all write them (metav1.Condition). */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}
