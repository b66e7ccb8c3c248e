/**
 * What the upstream checks read: every object the cluster will hold (the tree's own and what each
 * HelmRelease renders), placed at the file a fix goes to and at the Flux layer that applies it.
 * Pod labels and ports come from these objects, never from a hand-kept table.
 */
import { objectRef, type KubeObject, type PlacedObject } from "../../core/object.js";
import { containersOf, podTemplateOf } from "../../core/pod-spec.js";
import { list, rec, str, type Rec } from "../../core/paths.js";
import { LAYERS } from "../../model/layout.js";

/** A HelmRelease and the objects its chart renders (what workflows/render.ts returns, structurally). */
export interface RenderedRelease {
  release: PlacedObject;
  objects: readonly KubeObject[];
}

export interface Located {
  object: KubeObject;
  /** The tree file, or for a rendered object its HelmRelease's file with "(rendered by ...)". */
  file: string;
  /** Index into LAYERS of the Flux Kustomization that applies it; -1 for the cluster's own entry point. */
  layer: number;
  /** The HelmRelease that renders it, if any. */
  release?: PlacedObject;
}

/** The Flux layer a tree file belongs to, by its folder (model/layout.ts). */
export function layerOf(file: string): number {
  return LAYERS.findIndex((l) => file.startsWith(`${l.dir}/`));
}

export function layerName(layer: number): string {
  return layer < 0 ? "the cluster's Flux entry point" : LAYERS[layer]!.name;
}

export function locate(tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Located[] {
  const out: Located[] = tree.map(({ object, file }) => ({ object, file, layer: layerOf(file) }));
  for (const r of rendered) {
    const file = `${r.release.file} (rendered by ${objectRef(r.release.object)})`;
    const layer = layerOf(r.release.file);
    for (const object of r.objects) out.push({ object, file, layer, release: r.release });
  }
  return out;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** Kubernetes label-selector semantics; an empty selector selects everything. */
export function selects(sel: LabelSelector | undefined, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel?.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const inValues = has && (e.values ?? []).includes(l[e.key]!);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: string;
}

export interface Pods {
  owner: Located;
  namespace: string;
  labels: Record<string, string>;
  spec: Rec;
  ports: ContainerPort[];
}

/**
 * Istio's injector completes a pod at admission (a gateway's container is rendered with image "auto"): the
 * proxy it adds listens on its status port and serves Envoy's metrics, whatever the chart declared.
 */
const ISTIO_PROXY_PORTS: ContainerPort[] = [
  { name: "status-port", containerPort: 15021, protocol: "TCP" },
  { name: "http-envoy-prom", containerPort: 15090, protocol: "TCP" },
];

function istioInjected(metadata: Rec, spec: Rec): boolean {
  if (rec(metadata.annotations)?.["sidecar.istio.io/inject"] === "true" || rec(metadata.labels)?.["sidecar.istio.io/inject"] === "true") return true;
  return list(spec.containers).some((c) => rec(c)?.image === "auto");
}

/** Every pod template among the objects, with its labels and the ports its containers declare. */
export function podsOf(objects: readonly Located[]): Pods[] {
  const out: Pods[] = [];
  for (const owner of objects) {
    const pt = podTemplateOf(owner.object);
    if (!pt) continue;
    const labels = (rec(pt.metadata.labels) ?? {}) as Record<string, string>;
    const ports: ContainerPort[] = [];
    for (const c of containersOf(pt, ["initContainers", "containers"])) {
      for (const p of list(c.container.ports)) {
        const port = rec(p);
        if (typeof port?.containerPort !== "number") continue;
        const name = str(port.name);
        ports.push({ ...(name ? { name } : {}), containerPort: port.containerPort, protocol: str(port.protocol) ?? "TCP" });
      }
      // controller-runtime managers (VolSync) listen where --metrics-bind-address says, declared as a port or not.
      for (const a of list(c.container.args).map(String)) {
        const m = /^--metrics-bind-address=[^:]*:(\d+)$/.exec(a);
        if (m && !ports.some((q) => q.containerPort === Number(m[1]))) ports.push({ name: "metrics-bind-address", containerPort: Number(m[1]), protocol: "TCP" });
      }
    }
    if (istioInjected(pt.metadata, pt.spec)) for (const p of ISTIO_PROXY_PORTS) if (!ports.some((q) => q.containerPort === p.containerPort)) ports.push(p);
    out.push({ owner, namespace: owner.object.metadata.namespace ?? "default", labels, spec: pt.spec, ports });
  }
  return out;
}

/** Whether a pod declares this port: a number matches containerPort, a string matches a port name. */
export function declaresPort(pods: Pods, port: number | string, protocol = "TCP"): boolean {
  return pods.ports.some((p) => (typeof port === "number" ? p.containerPort === port : p.name === port) && p.protocol === protocol);
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

export const servicePorts = (svc: KubeObject): ServicePort[] => list(rec(svc.spec)?.ports).map((p) => p as ServicePort);
export const serviceSelector = (svc: KubeObject): Record<string, string> | undefined => rec(rec(svc.spec)?.selector) as Record<string, string> | undefined;

/** The pods a Service sends traffic to: those in its namespace its selector matches (none without a selector). */
export function podsOfService(svc: KubeObject, pods: readonly Pods[]): Pods[] {
  const sel = serviceSelector(svc);
  if (!sel || Object.keys(sel).length === 0) return [];
  const ns = svc.metadata.namespace ?? "default";
  return pods.filter((p) => p.namespace === ns && selects({ matchLabels: sel }, p.labels));
}

export function describePorts(pods: readonly Pods[]): string {
  const all = [...new Set(pods.flatMap((p) => p.ports.map((cp) => (cp.name ? `${cp.name} (${cp.containerPort}/${cp.protocol})` : `${cp.containerPort}/${cp.protocol}`))))];
  return all.length ? all.join(", ") : "none";
}

/** Whether some of the pods listen on the port: declared by a container, or the targetPort of a Service selecting them. */
export function listens(pods: readonly Pods[], services: readonly KubeObject[], port: number | string, protocol: string): boolean {
  if (pods.some((p) => declaresPort(p, port, protocol))) return true;
  return services.some((svc) => podsOfService(svc, pods).length > 0 && servicePorts(svc).some((sp) => (sp.protocol ?? "TCP") === protocol && String(sp.targetPort ?? sp.port) === String(port)));
}

/** The v1 Services among the objects. */
export function servicesOf(objects: readonly Located[]): KubeObject[] {
  return objects.filter(({ object: o }) => o.kind === "Service" && o.apiVersion === "v1").map((l) => l.object);
}
