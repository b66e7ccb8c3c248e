/**
 * Invariants of the definition's profiles (issue 19): an `ha` profile fails while anything in it would still be a
 * single point of failure without a reason written down. Each finding names the file and field to edit.
 */
import type { Model } from "./model.js";
import { applyProfile, HA_RELEASES, isStateless, WITHOUT_DEPLOYMENTS, type ProfileModel } from "./profiles.js";
import type { Path, SourceFile } from "./source.js";

type Report = (s: SourceFile, p: Path, rule: string, message: string, fix: string) => void;

/** Our own workloads (not from a chart, not an application's) an `ha` profile must account for. */
export const OWN_WORKLOADS = { registry: "the registry keeps every image on one ReadWriteOnce volume (registry.storage), so it runs once" } as const;

export function checkProfiles(m: Model, cluster: SourceFile, infra: SourceFile, apps: ReadonlyMap<string, SourceFile>, at: Report): void {
  for (const p of m.profiles) if (p.kind === "ha") checkHa(m, p, { cluster, infra, apps, at });
}

interface Where {
  cluster: SourceFile;
  infra: SourceFile;
  apps: ReadonlyMap<string, SourceFile>;
  at: Report;
}

function checkHa(m: Model, p: ProfileModel, { cluster, infra, apps, at }: Where): void {
  const base: Path = ["profiles", p.name];
  const accept = (id: string) => `or accept it: add '${id}: <why>' under profiles.${p.name}.accepted in cluster.yaml`;
  if (p.nodes < 3)
    at(cluster, [...base, "nodes"], "profile/nodes", `profile '${p.name}' has ${p.nodes} node(s): an ha profile needs three or more, so a node can drain while the others still hold a majority`, "set nodes: 3 or more");
  if (p.replicas < 2)
    at(cluster, [...base, "replicas"], "profile/replicas", `profile '${p.name}' runs stateless components with ${p.replicas} replica: one node's loss takes each of them down`, "set replicas: 2 or more");
  const pg = p.postgres;
  if (pg.instances < 3)
    at(
      cluster,
      [...base, "postgres", "instances"],
      "profile/postgres-instances",
      `profile '${p.name}' runs PostgreSQL with ${pg.instances} instance(s): with fewer than three, a synchronous standby lost with a node stops every commit or leaves no copy`,
      "set postgres.instances: 3",
    );
  else if (pg.instances > p.nodes)
    at(
      cluster,
      [...base, "postgres", "instances"],
      "profile/postgres-instances",
      `profile '${p.name}' runs ${pg.instances} PostgreSQL instances on ${p.nodes} nodes: each instance needs a node of its own`,
      `set postgres.instances to at most ${p.nodes}, or add nodes`,
    );
  if (pg.synchronous < 1 || pg.synchronous >= pg.instances)
    at(
      cluster,
      [...base, "postgres", "synchronous"],
      "profile/postgres-synchronous",
      `profile '${p.name}' asks for ${pg.synchronous} synchronous standby(s) of ${pg.instances} instances: a commit must reach at least one standby, and at least one instance beyond them may be lost`,
      `set postgres.synchronous between 1 and ${Math.max(1, pg.instances - 1)}`,
    );

  const ha = applyProfile(m, p);
  for (const c of ha.components) {
    if (c.id in p.accepted) continue;
    const lacks = [c.replicas < 2 ? `${c.replicas} replica(s)` : "", c.pdb ? "" : "no PodDisruptionBudget", c.topologySpread ? "" : "no spread over nodes"].filter(Boolean).join(", ");
    if (!lacks) continue;
    const why = isStateless(c) ? lacks : `it keeps its data on a ReadWriteOnce volume (persistence), so it runs once (${lacks})`;
    const src = apps.get(c.app);
    if (src)
      at(
        src,
        ["components", c.name],
        "profile/single-point",
        `${c.id} would be a single point of failure on profile '${p.name}': ${why}`,
        `keep its state outside the pod (a database, a replicated store) ${accept(c.id)}`,
      );
  }
  for (const [key, reason] of Object.entries(OWN_WORKLOADS))
    if (!(key in p.accepted))
      at(cluster, [...base, "accepted"], "profile/single-point", `${key} would be a single point of failure on profile '${p.name}': ${reason}`, `move it to storage that survives a node ${accept(key)}`);
  for (const key of Object.keys(m.charts)) {
    // The mesh's CNI node agent is a DaemonSet: one on every node already.
    if (key in HA_RELEASES || key in WITHOUT_DEPLOYMENTS || key in p.accepted || key === m.mesh?.cni?.chart) continue;
    at(
      infra,
      ["charts", key],
      "profile/single-point",
      `the ${key} release would be a single point of failure on profile '${p.name}': no replicated values are known for its chart (HA_RELEASES in src/model/profiles.ts)`,
      `add its chart's replica, budget and spread values to HA_RELEASES ${accept(key)}`,
    );
  }
  const known = new Set<string>([...m.components.map((c) => c.id), ...Object.keys(m.charts), ...Object.keys(OWN_WORKLOADS)]);
  for (const id of Object.keys(p.accepted))
    if (!known.has(id))
      at(
        cluster,
        [...base, "accepted", id],
        "profile/accepted-unknown",
        `profile '${p.name}' accepts '${id}', which names no component, chart pin or own workload`,
        "name an application component (app/component), a key of charts in infrastructure.yaml, or registry",
      );
}
