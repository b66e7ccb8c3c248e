/**
 * NetworkPolicy semantics (networking.k8s.io/v1), evaluated on objects rather than on intent:
 *
 * - a pod is isolated for ingress (egress) only when some policy of its namespace selects it and
 *   lists Ingress (Egress) in policyTypes; an isolated pod accepts (sends) only what the union of
 *   those policies' rules allows; a pod no policy selects is open in that direction;
 * - a connection from A to B is allowed iff A's egress allows it AND B's ingress allows it;
 * - a rule with no from/to matches every peer, a rule with no ports every port;
 * - a peer is a podSelector (pods of the policy's namespace), a namespaceSelector (every pod of
 *   the matching namespaces), both (the intersection), or an ipBlock (an address range minus its
 *   excepts). ipBlock also matches pod addresses here, as Calico (the cluster's CNI) does;
 *   Kubernetes leaves that to the plugin;
 * - policyTypes, when absent, is Ingress plus Egress if the policy has egress rules.
 *
 * Not modelled: a pod reaching itself and traffic from the pod's own node are always allowed by
 * Kubernetes; hostNetwork pods are outside NetworkPolicy altogether.
 */
import type { KubeObject } from "../core/object.js";
import { cidrContains } from "./ip.js";
import type { Protocol, WorkloadPort } from "../model/model.js";

export type Labels = Record<string, string>;

export interface SelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: SelectorRequirement[];
}

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

export interface PolicyRule {
  peers?: PolicyPeer[];
  ports?: PolicyPort[];
}

export interface Policy {
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  ingressIsolates: boolean;
  egressIsolates: boolean;
  ingress: PolicyRule[];
  egress: PolicyRule[];
}

export interface PodEndpoint {
  kind: "pod";
  id: string;
  namespace: string;
  labels: Labels;
  ip: string;
  ports: WorkloadPort[];
}

export interface ExternalEndpoint {
  kind: "external";
  id: string;
  ip: string;
}

export type Endpoint = PodEndpoint | ExternalEndpoint;

export interface DirectionVerdict {
  /** Some policy selects the pod for this direction. */
  isolated: boolean;
  /** "namespace/name" of every policy with a rule that allows the connection. */
  allowedBy: string[];
}

export interface Verdict {
  allowed: boolean;
  /** Undefined when the source is not a pod (nothing in the cluster filters its egress). */
  egress?: DirectionVerdict;
  /** Undefined when the destination is not a pod. */
  ingress?: DirectionVerdict;
}

export const ref = (p: Pick<Policy, "namespace" | "name">) => `${p.namespace}/${p.name}`;

export function selectorMatches(sel: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !values.includes(labels[e.key]!)) return false;
        break;
      case "NotIn":
        if (has && values.includes(labels[e.key]!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        // The API server rejects other operators; a selector we cannot read selects nothing.
        return false;
    }
  }
  return true;
}

/** Whether a peer of a policy in `policyNs` matches endpoint `e`. */
export function peerMatches(peer: PolicyPeer, policyNs: string, e: Endpoint, namespaces: ReadonlyMap<string, Labels>): boolean {
  if (peer.ipBlock) {
    if (!cidrContains(peer.ipBlock.cidr, e.ip)) return false;
    return !(peer.ipBlock.except ?? []).some((x) => cidrContains(x, e.ip));
  }
  if (e.kind !== "pod") return false;
  if (!peer.podSelector && !peer.namespaceSelector) return false;
  if (peer.namespaceSelector) {
    const nsLabels = namespaces.get(e.namespace) ?? { "kubernetes.io/metadata.name": e.namespace };
    if (!selectorMatches(peer.namespaceSelector, nsLabels)) return false;
  } else if (e.namespace !== policyNs) return false;
  return peer.podSelector ? selectorMatches(peer.podSelector, e.labels) : true;
}

/** Whether a policy port admits `port`/`protocol` on destination `dst` (named ports resolve on the destination pod). */
export function portMatches(p: PolicyPort, port: number, protocol: Protocol, dst: Endpoint): boolean {
  if ((p.protocol ?? "TCP") !== protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === "string") {
    return dst.kind === "pod" && dst.ports.some((x) => x.name === p.port && x.port === port && x.protocol === protocol);
  }
  return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
}

function ruleAllows(rule: PolicyRule, policyNs: string, peer: Endpoint, dst: Endpoint, port: number, protocol: Protocol, namespaces: ReadonlyMap<string, Labels>): boolean {
  if (rule.ports?.length && !rule.ports.some((p) => portMatches(p, port, protocol, dst))) return false;
  if (!rule.peers?.length) return true;
  return rule.peers.some((p) => peerMatches(p, policyNs, peer, namespaces));
}

function direction(policies: readonly Policy[], pod: PodEndpoint, dir: "ingress" | "egress", peer: Endpoint, dst: Endpoint, port: number, protocol: Protocol, namespaces: ReadonlyMap<string, Labels>): DirectionVerdict {
  let isolated = false;
  const allowedBy: string[] = [];
  for (const p of policies) {
    if (p.namespace !== pod.namespace || !(dir === "ingress" ? p.ingressIsolates : p.egressIsolates)) continue;
    if (!selectorMatches(p.podSelector, pod.labels)) continue;
    isolated = true;
    if (p[dir].some((r) => ruleAllows(r, p.namespace, peer, dst, port, protocol, namespaces))) allowedBy.push(ref(p));
  }
  return { isolated, allowedBy };
}

/** Whether src may open a connection to dst on port/protocol under these policies. */
export function evaluate(policies: readonly Policy[], namespaces: ReadonlyMap<string, Labels>, src: Endpoint, dst: Endpoint, port: number, protocol: Protocol): Verdict {
  const egress = src.kind === "pod" ? direction(policies, src, "egress", dst, dst, port, protocol, namespaces) : undefined;
  const ingress = dst.kind === "pod" ? direction(policies, dst, "ingress", src, dst, port, protocol, namespaces) : undefined;
  const open = (d?: DirectionVerdict) => !d?.isolated || d.allowedBy.length > 0;
  return { allowed: open(egress) && open(ingress), ...(egress ? { egress } : {}), ...(ingress ? { ingress } : {}) };
}

// --- Reading policies from objects ----------------------------------------------------------------

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export interface ParsedPolicies {
  policies: Policy[];
  /** Things in the objects this evaluator does not understand, each naming the policy and field. */
  problems: string[];
}

/** NetworkPolicy objects (networking.k8s.io/v1) among `objects`, in the evaluator's shape. */
export function parsePolicies(objects: readonly KubeObject[]): ParsedPolicies {
  const policies: Policy[] = [];
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind !== "NetworkPolicy" || o.apiVersion !== "networking.k8s.io/v1") continue;
    const where = `NetworkPolicy/${o.metadata.namespace ?? "<no namespace>"}/${o.metadata.name}`;
    const problem = (field: string, what: string) => problems.push(`${where} ${field}: ${what}`);
    if (!o.metadata.namespace) {
      problem("metadata.namespace", "missing; a NetworkPolicy is namespaced");
      continue;
    }
    const spec = isRecord(o.spec) ? o.spec : {};
    const egressRules = Array.isArray(spec.egress) ? spec.egress : [];
    const types = Array.isArray(spec.policyTypes) ? (spec.policyTypes as unknown[]) : egressRules.length ? ["Ingress", "Egress"] : ["Ingress"];
    const rules = (list: unknown, key: "from" | "to", field: string): PolicyRule[] =>
      (Array.isArray(list) ? list : []).map((r, i) => {
        const rule = isRecord(r) ? r : {};
        const peers = Array.isArray(rule[key]) ? (rule[key] as unknown[]).map((p, j) => readPeer(p, `${field}[${i}].${key}[${j}]`, problem)) : undefined;
        const ports = Array.isArray(rule.ports) ? (rule.ports as PolicyPort[]) : undefined;
        return { ...(peers ? { peers } : {}), ...(ports ? { ports } : {}) };
      });
    policies.push({
      namespace: o.metadata.namespace,
      name: o.metadata.name,
      podSelector: isRecord(spec.podSelector) ? (spec.podSelector as LabelSelector) : {},
      ingressIsolates: types.includes("Ingress"),
      egressIsolates: types.includes("Egress"),
      ingress: rules(spec.ingress, "from", "spec.ingress"),
      egress: rules(spec.egress, "to", "spec.egress"),
    });
  }
  return { policies, problems };
}

function readPeer(p: unknown, field: string, problem: (field: string, what: string) => void): PolicyPeer {
  if (!isRecord(p)) {
    problem(field, "not an object; it matches nothing");
    return {};
  }
  const peer = p as PolicyPeer;
  if (!peer.ipBlock && !peer.podSelector && !peer.namespaceSelector) problem(field, "names no podSelector, namespaceSelector or ipBlock; it matches nothing");
  if (peer.ipBlock && cidrContains(peer.ipBlock.cidr, "0.0.0.0") === undefined) problem(`${field}.ipBlock.cidr`, `'${peer.ipBlock.cidr}' is not an IPv4 CIDR; it matches no IPv4 address here`);
  return peer;
}
