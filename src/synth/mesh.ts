/**
 * The mesh layer of the application namespaces (issue 19, item 2), generated from the same declared paths as the
 * NetworkPolicies (netpol/intent.ts reads the same talksTo, routes and metrics):
 *
 * - PeerAuthentication `default` STRICT in every mesh namespace; a component that a client outside the mesh must
 *   reach (ingress-nginx on a route, Prometheus on metrics) gets PERMISSIVE on that port only.
 * - AuthorizationPolicy `allow-nothing` (empty spec: ALLOW nothing) in every mesh namespace, so any request no
 *   other policy allows is denied; then one ALLOW policy per declared edge: the client's service-account principals,
 *   the server's port, and its declared paths (route prefix for the entry points, metrics path for Prometheus).
 *   Callers outside the mesh have no identity; their rules match unauthenticated requests only (notPrincipals *),
 *   so no mesh identity gains a path through them.
 *
 * Placement: apps/<app>/mesh.yaml beside the app's networkpolicies.yaml.
 */
import type { KubeObject, PlacedObject } from "../core/object.js";
import type { ComponentModel, MeshModel, Model } from "../model/model.js";
import { componentPrincipals, prefixPaths, workloadPrincipal } from "../model/mesh.js";
import { componentSelector } from "../netpol/workloads.js";
import { APPS } from "../model/layout.js";
import { helmRelease, MANAGED_BY, obj, place } from "./builders.js";
import { PURPOSE_ANNOTATION } from "./netpol.js";

export const SECURITY_API = "security.istio.io/v1";
export const DEFAULT_DENY = "allow-nothing";
/** notPrincipals ["*"]: a request without an mTLS identity, i.e. from a client outside the mesh. */
const unauthenticated = (): MeshRule["from"] => [{ source: { notPrincipals: ["*"] } }];

export interface MeshRule {
  from?: Array<{ source: { principals?: string[]; notPrincipals?: string[] } }>;
  to: Array<{ operation: { ports: string[]; paths?: string[]; methods?: string[] } }>;
}

/** One allowed edge of the mesh layer, before it becomes an AuthorizationPolicy. */
export interface MeshEdge {
  name: string;
  namespace: string;
  purpose: string;
  /** The server component. */
  to: ComponentModel;
  rule: MeshRule;
  /** Ports a client outside the mesh reaches: PERMISSIVE there. */
  plaintextPort?: number;
}

const rule = (port: number, from: MeshRule["from"], paths?: string[], methods?: string[]): MeshRule => ({
  ...(from ? { from } : {}),
  to: [{ operation: { ports: [String(port)], ...(paths?.length ? { paths } : {}), ...(methods ? { methods } : {}) } }],
});

/** Every edge the mesh allows into the application components, derived from the definition's declared paths. */
export function meshEdges(m: Model, mesh: MeshModel): MeshEdge[] {
  const out: MeshEdge[] = [];
  const inMesh = new Set(mesh.namespaces);
  const byId = new Map(m.components.map((c) => [c.id, c]));
  const td = mesh.trustDomain;
  for (const c of m.components) {
    const seen = new Set<string>();
    for (const e of c.edges) {
      if (e.to.kind !== "component") continue;
      const t = byId.get(e.to.id);
      if (!t?.port || seen.has(t.id) || !inMesh.has(t.namespace)) continue;
      seen.add(t.id);
      out.push({
        name: `allow-${t.name}-from-${t.namespace === c.namespace ? c.name : c.fullname}`,
        namespace: t.namespace,
        purpose: `${t.id} accepts ${c.id} on ${t.port}/TCP${t.paths ? ` under ${t.paths.join(", ")}` : ""} (talksTo).`,
        to: t,
        rule: rule(t.port, [{ source: { principals: componentPrincipals(td, c) } }], t.paths ? prefixPaths(t.paths) : undefined),
      });
    }
  }
  const gateway = workloadPrincipal(td, m.workloads.gateway);
  for (const t of m.components) {
    if (!inMesh.has(t.namespace)) continue;
    if (t.route && t.port) {
      const paths = prefixPaths([t.route]);
      if (gateway)
        out.push({
          name: `allow-${t.name}-from-gateway`,
          namespace: t.namespace,
          purpose: `Route ${t.route}: the Istio gateway reaches ${t.id} on ${t.port}/TCP.`,
          to: t,
          rule: rule(t.port, [{ source: { principals: [gateway] } }], paths),
        });
      out.push({
        name: `allow-${t.name}-from-ingress`,
        namespace: t.namespace,
        purpose: `Route ${t.route}: the ingress-nginx controller, outside the mesh, reaches ${t.id} on ${t.port}/TCP in plain text (NetworkPolicy admits only the controller).`,
        to: t,
        rule: rule(t.port, unauthenticated(), paths),
        plaintextPort: t.port,
      });
    }
    if (t.metrics)
      out.push({
        name: `allow-${t.name}-from-prometheus`,
        namespace: t.namespace,
        purpose: `Prometheus, outside the mesh, scrapes ${t.id} with GET ${t.metrics.path} on ${t.metrics.port}/TCP in plain text (NetworkPolicy admits only Prometheus).`,
        to: t,
        rule: rule(t.metrics.port, unauthenticated(), [t.metrics.path], ["GET"]),
        plaintextPort: t.metrics.port,
      });
  }
  return out;
}

const meta = (name: string, namespace: string, purpose: string) => ({ name, namespace, labels: { ...MANAGED_BY }, annotations: { [PURPOSE_ANNOTATION]: purpose } });

/** The mesh objects of every application namespace, or none when the definition has no mesh. */
export function synthMesh(m: Model): PlacedObject[] {
  const mesh = m.mesh;
  if (!mesh) return [];
  const edges = meshEdges(m, mesh);
  const out: PlacedObject[] = [];
  for (const ns of mesh.namespaces) {
    const app = m.apps.find((a) => a.namespace === ns)!;
    const here = edges.filter((e) => e.namespace === ns).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const objects = [
      { apiVersion: SECURITY_API, kind: "PeerAuthentication", metadata: meta("default", ns, "Mutual TLS only: every pod of the namespace accepts mesh traffic, never plain text."), spec: { mtls: { mode: "STRICT" } } },
      ...plaintextPorts(here),
      { apiVersion: SECURITY_API, kind: "AuthorizationPolicy", metadata: meta(DEFAULT_DENY, ns, "ALLOW nothing: a request no other policy of the namespace allows is denied."), spec: {} },
      ...here.map((e) => ({
        apiVersion: SECURITY_API,
        kind: "AuthorizationPolicy",
        metadata: meta(e.name, ns, e.purpose),
        spec: { selector: { matchLabels: componentSelector(e.to) }, action: "ALLOW", rules: [e.rule] },
      })),
    ];
    out.push(...place(`${APPS}/${app.name}/mesh.yaml`, ...objects.map((o) => obj(o))));
  }
  return out;
}

/** PERMISSIVE on exactly the ports clients outside the mesh use, per component. */
function plaintextPorts(edges: readonly MeshEdge[]) {
  const byComponent = new Map<string, { to: ComponentModel; ports: Set<number> }>();
  for (const e of edges) {
    if (e.plaintextPort === undefined) continue;
    const x = byComponent.get(e.to.id) ?? { to: e.to, ports: new Set<number>() };
    x.ports.add(e.plaintextPort);
    byComponent.set(e.to.id, x);
  }
  return [...byComponent.values()].map(({ to, ports }) => {
    const list = [...ports].sort((a, b) => a - b);
    return {
      apiVersion: SECURITY_API,
      kind: "PeerAuthentication",
      metadata: meta(`${to.name}-plaintext-ports`, to.namespace, `Clients outside the mesh (ingress-nginx, Prometheus) reach ${to.id} on ${list.join(", ")}/TCP; every other port stays STRICT.`),
      spec: { selector: { matchLabels: componentSelector(to) }, mtls: { mode: "STRICT" }, portLevelMtls: Object.fromEntries(list.map((p) => [String(p), { mode: "PERMISSIVE" }])) },
    };
  });
}

/** What istiod needs for the mesh: the CNI agent instead of istio-init, native sidecars so Jobs finish, sized proxies. */
export function meshIstiodValues(m: Model): Record<string, unknown> {
  const mesh = m.mesh;
  if (!mesh) return {};
  return {
    // Injection never adds the privileged istio-init container: traffic redirection is the CNI agent's job.
    // (Top-level keys: the chart copies pilot.* there, and its injector reads them as pilot.cni and pilot.env.)
    cni: { enabled: true },
    // The sidecar as a native sidecar (an init container that keeps running), so migration Jobs and CronJobs end.
    env: { ENABLE_NATIVE_SIDECARS: "true" },
    meshConfig: { trustDomain: mesh.trustDomain },
    global: { proxy: { resources: mesh.proxy } },
  };
}

/**
 * Istio's CNI node agent, once the definition pins its chart: it sets up each injected pod's traffic redirection
 * from the node, so no pod needs istio-init. Chart defaults (chained onto the cluster's CNI, Calico here): the chart
 * is not in the upstream mirror, so no value is set that could not be checked against it.
 */
export function meshCniReleases(m: Model): KubeObject[] {
  const cni = m.mesh?.cni;
  if (!cni) return [];
  return [helmRelease({ name: "istio-cni", namespace: cni.namespace, pin: m.charts[cni.chart]!, dependsOn: [{ name: "istio-base", namespace: m.istio.namespace }] })];
}
