/**
 * Profiles: other clusters made from the same definition (issue 19). The definition's own cluster (cluster.profile,
 * gitops.path) is the base profile; each entry of `profiles` in cluster.yaml is another, whose Model is the base
 * Model changed only where the profile needs it. Synthesis turns the difference into patches
 * (src/synth/profiles.ts), so nothing of the tree is written twice.
 *
 * An `ha` profile changes:
 * - every stateless application component: at least `replicas` replicas, a PodDisruptionBudget and a spread over nodes;
 * - PostgreSQL: `postgres.instances` instances on distinct nodes with `postgres.synchronous` synchronous standbys;
 * - the infrastructure releases in HA_RELEASES: replicas, budget and spread through their charts' own values.
 * What stays single (a volume bound to one node, a chart that renders no budget) must be listed under `accepted`
 * with the reason (profile-invariants.ts).
 */
import path from "node:path";
import type { ClusterDef } from "./schema.js";
import type { Model, ProfileModel } from "./model.js";
import { FLAGGER_LABELS } from "./progressive.js";

export type { ProfileModel } from "./model.js";

export const HOSTNAME_KEY = "kubernetes.io/hostname";

/** The base profile first, then the definition's `profiles` in name order. */
export function profilesOf(c: ClusterDef, postgresInstances: number): ProfileModel[] {
  const base: ProfileModel = {
    name: path.posix.basename(c.gitops.path),
    kind: "single-node",
    nodes: 1,
    path: c.gitops.path,
    replicas: 1,
    postgres: { instances: postgresInstances, synchronous: 0 },
    accepted: {},
  };
  const others = Object.entries(c.profiles ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, p]): ProfileModel => ({ name, kind: p.kind, nodes: p.nodes, path: `clusters/${name}`, replicas: p.replicas, postgres: { ...p.postgres }, accepted: { ...p.accepted } }));
  return [base, ...others];
}

/** The profile by name; undefined names the base. Throws with the names there are. */
export function findProfile(m: Model, name: string | undefined): ProfileModel {
  const p = name === undefined ? m.profiles[0] : m.profiles.find((x) => x.name === name);
  if (!p) throw new Error(`no profile '${name}': the definition has ${m.profiles.map((x) => x.name).join(", ")} (profiles in definition/cluster.yaml)`);
  return p;
}

/** A component that keeps data on its own ReadWriteOnce volume cannot run twice. */
export function isStateless(c: Model["components"][number]): boolean {
  return c.persistence === undefined;
}

/** The Model of a profile: the base Model with only what the profile changes. The base profile gives the Model back. */
export function applyProfile(m: Model, p: ProfileModel): Model {
  if (p.kind === "single-node") return m;
  const components = m.components.map((c) => (isStateless(c) && !(c.id in p.accepted) ? { ...c, replicas: Math.max(c.replicas, p.replicas), pdb: true, topologySpread: true } : c));
  const byId = new Map(components.map((c) => [c.id, c]));
  return {
    ...m,
    // Its own Minikube profile, so the single-node cluster is left as it is (one of them runs at a time: they
    // share the node network and its addresses).
    cluster: { ...m.cluster, profile: { ...m.cluster.profile, name: `${m.cluster.profile.name}-${p.name}` } },
    gitops: { ...m.gitops, path: p.path },
    postgres: { ...m.postgres, instances: p.postgres.instances },
    apps: m.apps.map((a) => ({ ...a, components: a.components.map((c) => byId.get(c.id)!) })),
    components,
    // A profile's Model makes no further profiles.
    profiles: [p],
  };
}

/** A spread of a workload's pods over nodes: at most one more on any node than on another while nodes are there. */
export function spreadOver(selector: Record<string, string>): Array<Record<string, unknown>> {
  return [{ maxSkew: 1, topologyKey: HOSTNAME_KEY, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { ...selector } } }];
}

/**
 * The infrastructure releases an `ha` profile runs replicated, by the key of their chart pin (infrastructure.yaml
 * `charts`), with the chart values that do it. Every key set here exists in the pinned chart: `bk validate
 * --charts` lints them against the real chart, and the rendered objects are checked for replicas, budget and
 * spread (validate/profile-checks.ts). A chart pin not listed here runs as on one node and must be `accepted`.
 * Leader election: cert-manager, ingress-nginx, the CloudNativePG operator and VolSync elect a leader by
 * default (their charts pass --leader-elect or leave it on), so a second replica waits as a standby.
 */
export const HA_RELEASES: Readonly<Record<string, (m: Model, replicas: number) => Record<string, unknown>>> = {
  "cert-manager": (m, replicas) => {
    const part = (selector: Record<string, string>) => ({ replicaCount: replicas, podDisruptionBudget: { enabled: true, minAvailable: 1 }, topologySpreadConstraints: spreadOver(selector) });
    return {
      ...part(m.workloads.certManager.selector),
      webhook: part(m.workloads.certManagerWebhook.selector),
      cainjector: part({ "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "cainjector" }),
    };
  },
  "ingress-nginx": (m, replicas) => ({ controller: { replicaCount: replicas, minAvailable: 1, topologySpreadConstraints: spreadOver(m.workloads.ingressController.selector) } }),
  istiod: (m, replicas) => ({ pilot: { replicaCount: replicas, autoscaleMin: replicas, topologySpreadConstraints: spreadOver(m.workloads.istiod.selector) } }),
  // The chart renders no PodDisruptionBudget: the profile accepts that (cluster.yaml), the standby takes over the lease.
  "cloudnative-pg": (m, replicas) => ({ replicaCount: replicas, topologySpreadConstraints: spreadOver(m.workloads.cnpgOperator.selector) }),
  // Flagger runs one active controller: the standby waits on the lease (leader election), on another node.
  flagger: (_m, replicas) => ({
    leaderElection: { enabled: true, replicaCount: replicas },
    podDisruptionBudget: { enabled: true, minAvailable: 1 },
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: HOSTNAME_KEY, labelSelector: { matchLabels: { ...FLAGGER_LABELS } } }] } },
  }),
  "istio-gateway": (m, replicas) => ({ replicaCount: replicas, autoscaling: { minReplicas: replicas }, podDisruptionBudget: { minAvailable: 1 }, topologySpreadConstraints: spreadOver(m.workloads.gateway.selector) }),
};

/** Chart pins whose releases run no Deployment or StatefulSet a node's loss could take away, and why. */
export const WITHOUT_DEPLOYMENTS: Readonly<Record<string, string>> = {
  "istio-base": "Istio's CRDs and cluster roles only",
  "fluent-bit": "a DaemonSet: one shipper on every node already",
};
