/**
 * Every port a NetworkPolicy opens must be one the pods it names listen on: a port their containers declare,
 * or a Service's targetPort in front of them. A policy that opens the wrong port blocks the real traffic
 * while looking right in review.
 */
import type { Finding } from "../../core/finding.js";
import { objectRef, type KubeObject, type PlacedObject } from "../../core/object.js";
import { list, rec } from "../../core/paths.js";
import type { Model } from "../../model/model.js";
import { describePorts, listens, locate, podsOf, selects, type LabelSelector, type Located, type Pods, type RenderedRelease } from "./objects.js";

const NAMESPACE_NAME = "kubernetes.io/metadata.name";

/**
 * The pods an egress rule's peers reach, when every peer names them exactly (a pod selector in its own
 * namespace or one named by kubernetes.io/metadata.name); undefined when any peer is wider (an IP block,
 * another namespace label) and the rule cannot be checked against pods.
 */
function peerPods(peers: unknown[], ownNs: string, pods: readonly Pods[]): Pods[] | undefined {
  if (peers.length === 0) return undefined;
  const out: Pods[] = [];
  for (const raw of peers) {
    const peer = rec(raw) ?? {};
    if (peer.ipBlock || !peer.podSelector) return undefined;
    let ns = ownNs;
    if (peer.namespaceSelector) {
      const sel = rec(peer.namespaceSelector) as LabelSelector;
      const name = sel.matchLabels?.[NAMESPACE_NAME];
      if (!name || Object.keys(sel.matchLabels ?? {}).length !== 1 || sel.matchExpressions?.length) return undefined;
      ns = name;
    }
    out.push(...pods.filter((p) => p.namespace === ns && selects(peer.podSelector as LabelSelector, p.labels)));
  }
  return out;
}

interface RuleCtx {
  np: Located;
  services: readonly KubeObject[];
}

function portFindings(ctx: RuleCtx, field: string, ports: unknown[], target: readonly Pods[]): Finding[] {
  // Pods no manifest here describes (operator-made, the cluster's own) cannot be checked.
  if (target.length === 0) return [];
  const out: Finding[] = [];
  ports.forEach((raw, j) => {
    const p = rec(raw) ?? {};
    const port = p.port as number | string | undefined;
    const protocol = typeof p.protocol === "string" ? p.protocol : "TCP";
    if (port === undefined || p.endPort !== undefined || listens(target, ctx.services, port, protocol)) return;
    const owners = [...new Set(target.map((t) => objectRef(t.owner.object)))].join(", ");
    out.push({
      rule: "upstream/netpol-port",
      severity: "error",
      message: `opens ${port}/${protocol}, which the selected pods (${owners}) do not listen on; they declare: ${describePorts(target)}`,
      fix: "open the port the pods declare as rendered; the policies' ports come from the workloads in src/model/infra-workloads.ts and the definition",
      file: ctx.np.file,
      object: objectRef(ctx.np.object),
      field: `${field}.ports[${j}].port`,
    });
  });
  return out;
}

function policyFindings(ctx: RuleCtx, pods: readonly Pods[]): Finding[] {
  const spec = rec(ctx.np.object.spec) ?? {};
  const ns = ctx.np.object.metadata.namespace ?? "default";
  const selected = pods.filter((p) => p.namespace === ns && selects(spec.podSelector as LabelSelector | undefined, p.labels));
  const out: Finding[] = [];
  list(spec.ingress).forEach((r, i) => {
    out.push(...portFindings(ctx, `spec.ingress[${i}]`, list(rec(r)?.ports), selected));
  });
  list(spec.egress).forEach((r, i) => {
    const rule = rec(r) ?? {};
    const to = peerPods(list(rule.to), ns, pods);
    if (to) out.push(...portFindings(ctx, `spec.egress[${i}]`, list(rule.ports), to));
  });
  return out;
}

/** upstream/netpol-port: every NetworkPolicy port is one the pods it selects (ingress) or reaches (egress) listen on. */
export function checkNetpolPorts(_m: Pick<Model, "secrets">, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Finding[] {
  const all = locate(tree, rendered);
  const pods = podsOf(all);
  const services = all.filter(({ object: o }) => o.kind === "Service" && o.apiVersion === "v1").map((l) => l.object);
  return all.filter(({ object: o }) => o.kind === "NetworkPolicy" && o.apiVersion === "networking.k8s.io/v1").flatMap((np) => policyFindings({ np, services }, pods));
}
