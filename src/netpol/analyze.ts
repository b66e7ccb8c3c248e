/**
 * `bk netpol` as data: evaluate the NetworkPolicy objects between every pair of endpoints, then
 * compare with the declared intent. A required path that is blocked, or a path that is open
 * between application pods (or between an application pod and anything else) without being
 * declared, fails the check.
 */
import type { Finding } from "../core/finding.js";
import type { KubeObject } from "../core/object.js";
import type { Model, Protocol } from "../model/model.js";
import { DNS_PORT } from "../core/well-known.js";
import { API_SERVER_PORT, buildInventory, type EndpointGroup, type Inventory, type InventoryEndpoint } from "./inventory.js";
import { pathKey, requiredPaths, type PathIntent } from "./intent.js";
import { analyzeMesh, type MeshLayerReport } from "./mesh.js";
import { evaluate, parsePolicies, type DirectionVerdict, type Endpoint, type Policy } from "./semantics.js";

export interface PortProtocol {
  port: number;
  protocol: Protocol;
}

export interface EndpointReport {
  id: string;
  title: string;
  kind: Endpoint["kind"];
  namespace?: string;
  ip: string;
  owner: string;
  group: EndpointGroup;
  ports: PortProtocol[];
}

export interface OpenCell {
  from: string;
  to: string;
  ports: PortProtocol[];
}

export interface Blocked extends PathIntent {
  reason: string;
}

export interface Undeclared extends PortProtocol {
  from: string;
  to: string;
  /** Why it is open: the policies that allow it on each side, or that the side is not isolated. */
  egress: string;
  ingress: string;
}

export interface ExternalCaveat {
  component: string;
  hosts: string[];
  /** What the policies really allow: any public address on these ports. */
  ports: number[];
}

export interface NetpolReport {
  ok: boolean;
  policies: number;
  endpoints: EndpointReport[];
  /** Every non-empty cell of the matrix: source -> destination on these ports. */
  open: OpenCell[];
  required: Array<PathIntent & { allowed: boolean }>;
  blocked: Blocked[];
  undeclared: Undeclared[];
  externalCaveats: ExternalCaveat[];
  /** Namespaces of the definition where no policy denies by default in both directions. */
  withoutDefaultDeny: string[];
  /** Policy fields the evaluator could not read. */
  problems: string[];
  /** The mesh layer (AuthorizationPolicies, PeerAuthentications) beside NetworkPolicy, when the definition has a mesh. */
  mesh?: MeshLayerReport;
}

/** Ports to try towards an address outside the pod network: every port a policy or the definition names. */
function outsideProbes(m: Model, policies: readonly Policy[]): PortProtocol[] {
  const set = new Map<string, PortProtocol>();
  const add = (port: number, protocol: Protocol) => set.set(`${port}/${protocol}`, { port, protocol });
  for (const port of [22, 80, 443, API_SERVER_PORT]) add(port, "TCP");
  add(DNS_PORT, "UDP");
  add(DNS_PORT, "TCP");
  for (const e of m.endpoints) for (const p of e.ports) add(p.port, "TCP");
  for (const e of m.edges) if (e.to.kind === "external") add(e.to.port, "TCP");
  for (const p of policies) {
    for (const r of p.egress) {
      for (const x of r.ports ?? []) {
        if (typeof x.port === "number" && (x.protocol ?? "TCP") !== "SCTP") add(x.port, (x.protocol ?? "TCP") as Protocol);
      }
    }
  }
  return [...set.values()].sort(comparePorts);
}

const comparePorts = (a: PortProtocol, b: PortProtocol) => a.port - b.port || a.protocol.localeCompare(b.protocol);

function sideText(d: DirectionVerdict | undefined, who: string, dir: "egress" | "ingress"): string {
  if (!d) return `${who} is outside the pod network`;
  if (!d.isolated) return `no policy selects ${who} for ${dir === "egress" ? "Egress" : "Ingress"}`;
  return `allowed by ${d.allowedBy.join(", ")}`;
}

/** Egress to hosts outside the cluster: NetworkPolicy can only open it by IP, so it is reported, not proven. */
function externalCaveatsOf(m: Model): ExternalCaveat[] {
  return m.components.flatMap((c) => {
    const ext = c.edges.flatMap((e) => (e.to.kind === "external" ? [e.to] : []));
    if (!ext.length) return [];
    return [{ component: c.id, hosts: ext.map((x) => `${x.host}:${x.port}`), ports: [...new Set(ext.map((x) => x.port))].sort((a, b) => a - b) }];
  });
}

/** Namespaces lacking an all-pods policy that denies both ingress and egress. */
function namespacesWithoutDefaultDeny(m: Model, policies: ReturnType<typeof parsePolicies>["policies"]): string[] {
  return m.namespaces
    .map((n) => n.name)
    .filter((ns) => {
      const all = policies.filter((p) => p.namespace === ns && !p.podSelector.matchLabels && !p.podSelector.matchExpressions);
      return !(all.some((p) => p.ingressIsolates && !p.ingress.length) && all.some((p) => p.egressIsolates && !p.egress.length));
    });
}

export function analyzeNetworkPolicies(m: Model, objects: readonly KubeObject[], inventory?: Inventory): NetpolReport {
  const { policies, problems } = parsePolicies(objects);
  const inv = inventory ?? buildInventory(m, objects);
  const byId = new Map(inv.endpoints.map((e) => [e.endpoint.id, e]));
  const probes = outsideProbes(m, policies);
  const portsOf = (e: Endpoint): PortProtocol[] => (e.kind === "pod" ? e.ports.map((p) => ({ port: p.port, protocol: p.protocol })) : probes);
  const check = (src: Endpoint, dst: Endpoint, p: PortProtocol) => evaluate(policies, inv.namespaces, src, dst, p.port, p.protocol);

  // The matrix. Outside-to-outside traffic never touches the cluster, and a pod always reaches itself.
  const open: OpenCell[] = [];
  for (const s of inv.endpoints) {
    for (const d of inv.endpoints) {
      if (s === d || (s.endpoint.kind === "external" && d.endpoint.kind === "external")) continue;
      const ports = portsOf(d.endpoint).filter((p) => check(s.endpoint, d.endpoint, p).allowed);
      if (ports.length) open.push({ from: s.endpoint.id, to: d.endpoint.id, ports });
    }
  }

  const required = requiredPaths(m, inv).map((p) => ({ ...p, allowed: check(byId.get(p.from)!.endpoint, byId.get(p.to)!.endpoint, p).allowed }));
  const blocked: Blocked[] = required
    .filter((p) => !p.allowed)
    .map(({ allowed: _allowed, ...p }) => {
      const v = check(byId.get(p.from)!.endpoint, byId.get(p.to)!.endpoint, p);
      const reasons: string[] = [];
      if (v.egress?.isolated && !v.egress.allowedBy.length) reasons.push(`no policy allows egress from ${p.from}`);
      if (v.ingress?.isolated && !v.ingress.allowedBy.length) reasons.push(`no policy allows ingress to ${p.to}`);
      return { ...p, reason: reasons.join("; ") };
    });

  // Declared paths by owner, so a component's Jobs share its declared paths.
  const owner = (id: string) => byId.get(id)?.owner ?? id;
  const declared = new Set(required.map((p) => pathKey(owner(p.from), owner(p.to), p.port, p.protocol)));
  const isApp = (e: InventoryEndpoint) => e.group.kind === "app";
  const undeclared: Undeclared[] = [];
  for (const cell of open) {
    const s = byId.get(cell.from)!;
    const d = byId.get(cell.to)!;
    if (!isApp(s) && !isApp(d)) continue;
    for (const p of cell.ports) {
      if (declared.has(pathKey(s.owner, d.owner, p.port, p.protocol))) continue;
      const v = check(s.endpoint, d.endpoint, p);
      undeclared.push({ from: cell.from, to: cell.to, ...p, egress: sideText(v.egress, cell.from, "egress"), ingress: sideText(v.ingress, cell.to, "ingress") });
    }
  }

  const mesh = analyzeMesh(m, objects, inv, required, (src, dst, port, protocol) => {
    const v = check(src, dst, { port, protocol });
    return { allowed: v.allowed, why: v.allowed ? `egress: ${sideText(v.egress, src.id, "egress")}; ingress: ${sideText(v.ingress, dst.id, "ingress")}` : denialText(v, src.id, dst.id) };
  });
  const externalCaveats = externalCaveatsOf(m);
  const withoutDefaultDeny = namespacesWithoutDefaultDeny(m, policies);

  const endpoints: EndpointReport[] = inv.endpoints.map((e) => ({
    id: e.endpoint.id,
    title: e.title,
    kind: e.endpoint.kind,
    ...(e.endpoint.kind === "pod" ? { namespace: e.endpoint.namespace } : {}),
    ip: e.endpoint.ip,
    owner: e.owner,
    group: e.group,
    ports: e.endpoint.kind === "pod" ? portsOf(e.endpoint) : [],
  }));

  return {
    ok: blocked.length === 0 && undeclared.length === 0 && (mesh?.ok ?? true),
    policies: policies.length,
    endpoints,
    open,
    required,
    blocked,
    undeclared,
    externalCaveats,
    withoutDefaultDeny,
    problems,
    ...(mesh ? { mesh } : {}),
  };
}

function denialText(v: ReturnType<typeof evaluate>, from: string, to: string): string {
  const reasons: string[] = [];
  if (!v.egress && !v.ingress) return "outside the pod network on both ends";
  if (v.egress?.isolated && !v.egress.allowedBy.length) reasons.push(`no policy allows egress from ${from}`);
  if (v.ingress?.isolated && !v.ingress.allowedBy.length) reasons.push(`no policy allows ingress to ${to}`);
  return reasons.join("; ") || "denied";
}

export function formatPort(p: PortProtocol): string {
  return `${p.port}/${p.protocol}`;
}

/** The failures of a report as findings, for callers that collect findings (validate, CI). */
export function netpolFindings(r: NetpolReport): Finding[] {
  const out: Finding[] = [];
  for (const b of r.blocked) {
    out.push({
      rule: "netpol/blocked",
      severity: "error",
      message: `${b.from} cannot reach ${b.to} on ${formatPort(b)}, which it needs (${b.why}): ${b.reason}`,
      fix: `allow egress from ${b.from} and ingress to ${b.to} on ${formatPort(b)} (src/synth/netpol.ts generates both from the definition; a label mismatch with the pods shows up here too)`,
    });
  }
  for (const u of r.undeclared) {
    out.push({
      rule: "netpol/undeclared-open",
      severity: "error",
      message: `${u.from} can reach ${u.to} on ${formatPort(u)}, which the definition does not declare (egress: ${u.egress}; ingress: ${u.ingress})`,
      fix: "declare the path in the definition (talksTo, database, route or metrics) or narrow the policies that open it",
    });
  }
  for (const d of r.mesh?.disagreements ?? []) {
    out.push({
      rule: "netpol/layers-disagree",
      severity: "error",
      message: `${d.from} -> ${d.to} ${d.port}/${d.protocol}: NetworkPolicy ${d.networkPolicy}s (${d.networkPolicyWhy}) but the mesh ${d.mesh}s (${d.meshWhy})`,
      fix: "both layers come from the same declared edges (src/synth/netpol.ts, src/synth/mesh.ts): regenerate with bk synth, or fix the policy edited by hand",
    });
  }
  for (const b of r.mesh?.blocked ?? []) {
    out.push({
      rule: "netpol/mesh-blocked",
      severity: "error",
      message: `the mesh denies ${b.from} -> ${b.to} on ${b.port}/${b.protocol}, which it needs (${b.why}): ${b.reason}`,
      fix: "allow the edge in the namespace's AuthorizationPolicies (src/synth/mesh.ts generates them from the definition)",
    });
  }
  return out;
}
