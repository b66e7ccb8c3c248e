/**
 * Istio's security semantics (security.istio.io/v1), evaluated on the objects rather than on intent, at the level of
 * a connection (source identity, destination pod, port):
 *
 * - PeerAuthentication: a workload's mode is its own policy's (a selector matching it; a portLevelMtls entry for
 *   the port wins), else its namespace's (no selector), else the root namespace's, else PERMISSIVE. Under STRICT a
 *   client without a mesh identity (no sidecar) cannot connect at all.
 * - AuthorizationPolicy: a policy applies to the pods its selector matches in its namespace (no selector: every
 *   pod), or in every namespace when it is in the root namespace. Any matching DENY rule denies; with no ALLOW policy
 *   applying, the request is allowed; otherwise some rule of some ALLOW policy must match. An ALLOW policy without
 *   rules (the empty spec) matches nothing, which is how a namespace denies by default.
 * - A rule matches when one of its `from` sources and one of its `to` operations match (absent: anything).
 *   principals / notPrincipals take exact values, "*" and a prefix or suffix wildcard; a request without identity
 *   has no principal, so it matches notPrincipals ["*"] and never principals. namespaces come from the principal.
 *
 * Paths and methods are HTTP attributes: a connection matches an operation that names them "for those paths", and
 * the verdict carries them. Not modelled: `when` conditions, ipBlocks, hosts, CUSTOM and AUDIT actions (reported as
 * problems), and Istio's handling of HTTP-only fields on plain TCP ports.
 */
import type { KubeObject } from "../core/object.js";
import { list, rec, str } from "../core/paths.js";
import type { Labels, PodEndpoint } from "./semantics.js";

export type MtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE" | "UNSET";

interface Source {
  principals?: string[];
  notPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
}
interface Operation {
  ports?: string[];
  notPorts?: string[];
  paths?: string[];
  methods?: string[];
}
interface AuthzRule {
  from?: Source[];
  to?: Operation[];
}
export interface AuthzPolicy {
  namespace: string;
  name: string;
  selector?: Labels;
  action: string;
  rules: AuthzRule[];
}
export interface PeerAuthn {
  namespace: string;
  name: string;
  selector?: Labels;
  mode: MtlsMode;
  ports: Record<string, MtlsMode>;
}

export interface MeshPolicies {
  authz: AuthzPolicy[];
  peer: PeerAuthn[];
  problems: string[];
}

const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : undefined);
const modeOf = (v: unknown): MtlsMode => {
  const m = str(rec(v)?.mode);
  return m === "STRICT" || m === "PERMISSIVE" || m === "DISABLE" ? m : "UNSET";
};

export function parseMeshPolicies(objects: readonly KubeObject[]): MeshPolicies {
  const out: MeshPolicies = { authz: [], peer: [], problems: [] };
  for (const o of objects) {
    if (!o.apiVersion.startsWith("security.istio.io/")) continue;
    const ns = o.metadata.namespace ?? "default";
    const spec = rec(o.spec) ?? {};
    const selector = rec(rec(spec.selector)?.matchLabels) as Labels | undefined;
    const where = `${o.kind} ${ns}/${o.metadata.name}`;
    if (o.kind === "PeerAuthentication") {
      const ports = Object.fromEntries(Object.entries(rec(spec.portLevelMtls) ?? {}).map(([p, v]) => [p, modeOf(v)]));
      out.peer.push({ namespace: ns, name: o.metadata.name, ...(selector ? { selector } : {}), mode: modeOf(spec.mtls), ports });
    } else if (o.kind === "AuthorizationPolicy") {
      const action = str(spec.action) ?? "ALLOW";
      if (action !== "ALLOW" && action !== "DENY") out.problems.push(`${where}: action ${action} is not evaluated`);
      if (spec.targetRef || spec.targetRefs) out.problems.push(`${where}: targetRefs (waypoints, gateways) are not evaluated`);
      const rules = list(spec.rules).map((r): AuthzRule => {
        const rr = rec(r) ?? {};
        if (rr.when) out.problems.push(`${where}: 'when' conditions are not evaluated (the rule is read without them)`);
        const from = rr.from === undefined ? undefined : list(rr.from).map((f) => sourceOf(rec(rec(f)?.source) ?? {}, where, out.problems));
        const to = rr.to === undefined ? undefined : list(rr.to).map((t) => operationOf(rec(rec(t)?.operation) ?? {}));
        return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
      });
      out.authz.push({ namespace: ns, name: o.metadata.name, ...(selector ? { selector } : {}), action, rules });
    }
  }
  return out;
}

function sourceOf(s: Record<string, unknown>, where: string, problems: string[]): Source {
  if (s.ipBlocks || s.remoteIpBlocks || s.requestPrincipals) problems.push(`${where}: ipBlocks and requestPrincipals are not evaluated`);
  const out: Source = {};
  for (const k of ["principals", "notPrincipals", "namespaces", "notNamespaces"] as const) {
    const v = strings(s[k]);
    if (v) out[k] = v;
  }
  return out;
}

function operationOf(o: Record<string, unknown>): Operation {
  const out: Operation = {};
  for (const k of ["ports", "notPorts", "paths", "methods"] as const) {
    const v = strings(o[k]);
    if (v) out[k] = v;
  }
  return out;
}

const selects = (selector: Labels | undefined, labels: Labels) => !selector || Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Istio's string match: exact, "*", "prefix*" or "*suffix". */
function matches(pattern: string, value: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

const nsOfPrincipal = (p: string) => /\/ns\/([^/]+)\/sa\//.exec(p)?.[1];

function sourceMatches(s: Source, principal: string | undefined): boolean {
  const has = (ps: string[]) => principal !== undefined && ps.some((x) => matches(x, principal));
  if (s.principals && !has(s.principals)) return false;
  if (s.notPrincipals && has(s.notPrincipals)) return false;
  const ns = principal ? nsOfPrincipal(principal) : undefined;
  if (s.namespaces && !(ns && s.namespaces.some((x) => matches(x, ns)))) return false;
  if (s.notNamespaces && ns && s.notNamespaces.some((x) => matches(x, ns))) return false;
  return true;
}

/** Whether the operation admits this port, and under which paths/methods (undefined: any). */
function operationMatches(o: Operation, port: number): { paths?: string[]; methods?: string[] } | undefined {
  if (o.ports && !o.ports.includes(String(port))) return undefined;
  if (o.notPorts?.includes(String(port))) return undefined;
  return { ...(o.paths ? { paths: o.paths } : {}), ...(o.methods ? { methods: o.methods } : {}) };
}

export interface MeshVerdict {
  allowed: boolean;
  /** The policies that allow it, or why not. */
  why: string;
  /** Only requests on these paths / with these methods are allowed (HTTP): the union of the grants. */
  paths?: string[];
  methods?: string[];
  /** When restricted to paths or methods: each matching rule's own restriction, by policy. */
  grants?: Array<{ policy: string; paths?: string[]; methods?: string[] }>;
}

/** The effective mTLS mode for a port of a pod. */
export function mtlsMode(p: MeshPolicies, dst: PodEndpoint, port: number, rootNamespace: string): MtlsMode {
  const workload = p.peer.find((x) => x.namespace === dst.namespace && x.selector && selects(x.selector, dst.labels));
  const portMode = workload?.ports[String(port)];
  if (portMode && portMode !== "UNSET") return portMode;
  if (workload && workload.mode !== "UNSET") return workload.mode;
  const ns = p.peer.find((x) => x.namespace === dst.namespace && !x.selector);
  if (ns && ns.mode !== "UNSET") return ns.mode;
  const root = p.peer.find((x) => x.namespace === rootNamespace && !x.selector);
  return root && root.mode !== "UNSET" ? root.mode : "PERMISSIVE";
}

/** Whether a connection from `principal` (undefined: no mesh identity) to `dst` on `port` gets through the mesh layer. */
export function evaluateMesh(p: MeshPolicies, principal: string | undefined, dst: PodEndpoint, port: number, rootNamespace: string): MeshVerdict {
  const mode = mtlsMode(p, dst, port, rootNamespace);
  if (mode === "STRICT" && principal === undefined) return { allowed: false, why: `mTLS STRICT on ${port} and the client has no mesh identity` };
  const applying = p.authz.filter((x) => (x.namespace === dst.namespace || x.namespace === rootNamespace) && selects(x.selector, dst.labels));
  const ruleHits = (pol: AuthzPolicy) =>
    pol.rules.flatMap((r) => {
      if (r.from && !r.from.some((s) => sourceMatches(s, principal))) return [];
      if (!r.to) return [{}];
      return r.to.flatMap((o) => {
        const hit = operationMatches(o, port);
        return hit ? [hit] : [];
      });
    });
  const deny = applying.filter((x) => x.action === "DENY" && ruleHits(x).some((h) => !h.paths && !h.methods));
  if (deny.length) return { allowed: false, why: `denied by ${deny.map((x) => x.name).join(", ")}` };
  const allows = applying.filter((x) => x.action === "ALLOW");
  if (!allows.length) return { allowed: true, why: "no ALLOW policy applies" };
  const hits = allows.flatMap((x) => ruleHits(x).map((h) => ({ policy: x.name, ...h })));
  if (!hits.length) return { allowed: false, why: `no ALLOW rule of ${allows.map((x) => x.name).join(", ")} matches ${principal ?? "a client without identity"} on ${port}` };
  const unrestricted = hits.filter((h) => !h.paths && !h.methods);
  if (unrestricted.length) return { allowed: true, why: `allowed by ${[...new Set(unrestricted.map((h) => h.policy))].join(", ")}` };
  const paths = [...new Set(hits.flatMap((h) => h.paths ?? []))];
  const methods = [...new Set(hits.flatMap((h) => h.methods ?? []))];
  return {
    allowed: true,
    why: `allowed by ${[...new Set(hits.map((h) => h.policy))].join(", ")}`,
    ...(paths.length ? { paths } : {}),
    ...(methods.length ? { methods } : {}),
    grants: hits,
  };
}
