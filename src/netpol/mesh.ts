/**
 * `bk netpol`'s second layer: the mesh's PeerAuthentications and AuthorizationPolicies, evaluated from the objects
 * (mesh-semantics.ts) for every source and every port of every application pod in the mesh, and set beside the
 * NetworkPolicy verdict for the same connection. The two layers disagree when one allows a connection the other
 * denies; a path the definition needs that the mesh denies is blocked, whatever NetworkPolicy says.
 *
 * A client outside the mesh has no identity, so the mesh can only admit "any unauthenticated caller" on a port
 * (ingress-nginx on a route, Prometheus on metrics); where NetworkPolicy narrows that to the one client, the
 * difference is listed as a caveat, not a disagreement: it is the design, and NetworkPolicy is the gate there.
 */
import type { KubeObject } from "../core/object.js";
import type { Model, Protocol } from "../model/model.js";
import { componentServiceAccounts, principal, workloadPrincipal } from "../model/mesh.js";
import type { Inventory, InventoryEndpoint } from "./inventory.js";
import type { PathIntent } from "./intent.js";
import { evaluateMesh, mtlsMode, parseMeshPolicies, type MeshPolicies } from "./mesh-semantics.js";
import type { Endpoint, PodEndpoint } from "./semantics.js";

type Allow = "allow" | "deny";

export interface LayerDisagreement {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  networkPolicy: Allow;
  mesh: Allow;
  /** Why each layer decides as it does. */
  networkPolicyWhy: string;
  meshWhy: string;
}

export interface MeshBlocked extends PathIntent {
  reason: string;
}

export interface UnauthenticatedCaveat {
  to: string;
  port: number;
  paths?: string[];
  methods?: string[];
  /** The clients NetworkPolicy lets through on it (the only gate for callers without identity). */
  networkPolicyAdmits: string[];
}

export interface MeshNamespaceReport {
  namespace: string;
  /** Labelled for sidecar injection: only then does the mesh layer run. */
  injection: boolean;
  mtls: string;
  defaultDeny: boolean;
}

export interface MeshLayerReport {
  ok: boolean;
  authorizationPolicies: number;
  peerAuthentications: number;
  namespaces: MeshNamespaceReport[];
  /** Each required path into the mesh with the mesh's verdict. */
  required: Array<PathIntent & { allowed: boolean; paths?: string[]; why: string }>;
  blocked: MeshBlocked[];
  disagreements: LayerDisagreement[];
  unauthenticated: UnauthenticatedCaveat[];
  problems: string[];
}

/** The NetworkPolicy verdict of one connection, as analyze.ts computes it. */
export type NetworkCheck = (src: Endpoint, dst: Endpoint, port: number, protocol: Protocol) => { allowed: boolean; why: string };

/** The mesh identity of an endpoint: application pods in a mesh namespace and the Istio gateway have one. */
export function identityOf(m: Model, e: InventoryEndpoint): string | undefined {
  const mesh = m.mesh;
  if (!mesh || e.endpoint.kind !== "pod") return undefined;
  const gw = m.workloads.gateway;
  if (e.endpoint.id === `${gw.namespace}/${gw.id}`) return workloadPrincipal(mesh.trustDomain, gw);
  if (e.group.kind !== "app" || !mesh.namespaces.includes(e.endpoint.namespace)) return undefined;
  const c = m.components.find((x) => x.id === e.owner);
  if (!c) return undefined;
  const sa = componentServiceAccounts(c);
  const job = e.endpoint.id.includes("#") ? e.endpoint.id.slice(e.endpoint.id.indexOf("#") + 1) : undefined;
  return principal(mesh.trustDomain, c.namespace, (job && sa.jobs[job]) || sa.main);
}

export function analyzeMesh(m: Model, objects: readonly KubeObject[], inv: Inventory, required: readonly PathIntent[], net: NetworkCheck): MeshLayerReport | undefined {
  const mesh = m.mesh;
  if (!mesh) return undefined;
  const pol: MeshPolicies = parseMeshPolicies(objects);
  const root = m.istio.namespace;
  const inMesh = new Set(mesh.namespaces);
  const byId = new Map(inv.endpoints.map((e) => [e.endpoint.id, e]));
  const dests = inv.endpoints.filter((e): e is InventoryEndpoint & { endpoint: PodEndpoint } => e.endpoint.kind === "pod" && inMesh.has(e.endpoint.namespace) && e.endpoint.ports.length > 0);

  const disagreements: LayerDisagreement[] = [];
  const caveats = new Map<string, UnauthenticatedCaveat>();
  for (const d of dests) {
    for (const p of d.endpoint.ports) {
      if (p.protocol !== "TCP") continue;
      for (const s of inv.endpoints) {
        if (s === d) continue;
        const id = identityOf(m, s);
        const n = net(s.endpoint, d.endpoint, p.port, p.protocol);
        const v = evaluateMesh(pol, id, d.endpoint, p.port, root);
        if (n.allowed === v.allowed) continue;
        if (id === undefined && !n.allowed) {
          const key = `${d.endpoint.id}:${p.port}`;
          if (!caveats.has(key)) caveats.set(key, { to: d.endpoint.id, port: p.port, ...(v.paths ? { paths: v.paths } : {}), ...(v.methods ? { methods: v.methods } : {}), networkPolicyAdmits: [] });
          continue;
        }
        disagreements.push({
          from: s.endpoint.id,
          to: d.endpoint.id,
          port: p.port,
          protocol: p.protocol,
          networkPolicy: n.allowed ? "allow" : "deny",
          mesh: v.allowed ? "allow" : "deny",
          networkPolicyWhy: n.why,
          meshWhy: id ? `${id}: ${v.why}` : v.why,
        });
      }
    }
  }
  // Who NetworkPolicy admits on each port the mesh leaves open to unauthenticated callers.
  for (const c of caveats.values()) {
    const d = byId.get(c.to)!;
    c.networkPolicyAdmits = inv.endpoints.filter((s) => s !== d && identityOf(m, s) === undefined && net(s.endpoint, d.endpoint, c.port, "TCP").allowed).map((s) => s.endpoint.id);
  }

  const into = required.filter((r) => byId.get(r.to)?.endpoint.kind === "pod" && inMesh.has((byId.get(r.to)!.endpoint as PodEndpoint).namespace) && r.protocol === "TCP");
  const verdicts = into.map((r) => {
    const v = evaluateMesh(pol, identityOf(m, byId.get(r.from)!), byId.get(r.to)!.endpoint as PodEndpoint, r.port, root);
    return { ...r, allowed: v.allowed, why: v.why, ...(v.paths ? { paths: v.paths } : {}) };
  });
  const blocked = into.flatMap((r, i) => (verdicts[i]!.allowed ? [] : [{ ...r, reason: verdicts[i]!.why }]));

  const namespaces = mesh.namespaces.map((ns) => {
    const nsObj = objects.find((o) => o.kind === "Namespace" && o.metadata.name === ns);
    const probe: PodEndpoint = { kind: "pod", id: ns, namespace: ns, labels: {}, ip: "", ports: [] };
    return {
      namespace: ns,
      injection: nsObj?.metadata.labels?.["istio-injection"] === "enabled",
      mtls: mtlsMode(pol, probe, 0, root),
      defaultDeny: pol.authz.some((x) => x.namespace === ns && !x.selector && x.action === "ALLOW" && x.rules.length === 0),
    };
  });
  const unauthenticated = [...caveats.values()].sort((a, b) => a.to.localeCompare(b.to) || a.port - b.port);
  const ok = blocked.length === 0 && disagreements.length === 0 && namespaces.every((n) => n.defaultDeny && n.mtls === "STRICT");
  return {
    ok,
    authorizationPolicies: pol.authz.length,
    peerAuthentications: pol.peer.length,
    namespaces,
    required: verdicts,
    blocked,
    disagreements,
    unauthenticated,
    problems: pol.problems,
  };
}
