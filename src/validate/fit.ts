/**
 * Does the platform fit its one node? The rendered workloads' requests (what the scheduler reserves) are added
 * up as Kubernetes adds them and compared with what the node offers: the profile's CPUs and memory less the
 * declared system reserve. Pure: it reads objects already rendered, never a cluster.
 *
 * How a pod's request is counted (the scheduler's rule, with sidecars as native sidecar containers): the larger
 * of the heaviest init container (plus the sidecars started before it) and the regular containers plus every
 * sidecar. A container without a request takes its limit as the request, as the API server defaults it.
 */
import { objectRef, type KubeObject } from "../core/object.js";
import { apiGroup, containersOf, podTemplateOf } from "../core/pod-spec.js";
import { at, list, rec, str, type Rec } from "../core/paths.js";
import { parseQuantity } from "../core/quantity.js";

/** CPU in millicores, memory in bytes. Infinity for a limit: a container without one may take the whole node. */
export interface Amount {
  cpu: number;
  memory: number;
}

export interface WorkloadUse {
  /** Kind/namespace/name */
  ref: string;
  kind: string;
  /** Pods it keeps running on the node (a DaemonSet: one, on a single node). */
  replicas: number;
  /** One pod's effective request and limit. */
  pod: { requests: Amount; limits: Amount };
  /** replicas × pod. */
  requests: Amount;
  limits: Amount;
  /** Pods a Deployment adds during a rolling update (maxSurge); 0 for what is replaced in place. */
  surge: number;
  /** A Job, CronJob or Helm hook: runs now and then, so it needs room beside the rest rather than counting with it. */
  transient: boolean;
  /** Containers that request neither CPU nor memory and set no limits: BestEffort, first evicted. */
  bestEffort: string[];
}

export interface FitReport {
  capacity: Amount;
  reserve: Amount;
  allocatable: Amount;
  workloads: WorkloadUse[];
  /** Everything that runs all the time. */
  requests: Amount;
  limits: Amount;
  /** Room a rolling update or a Job needs beside the steady workloads: the largest surge or transient pod, per resource. */
  headroom: { needed: Amount; neededBy: { cpu: string; memory: string } };
  /** Containers that would run BestEffort, as `ref container`. */
  bestEffort: string[];
  fits: boolean;
  /** Why not, one sentence each, naming the largest consumers; empty when it fits. */
  problems: string[];
}

const ZERO: Amount = { cpu: 0, memory: 0 };
const add = (a: Amount, b: Amount): Amount => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory });
const times = (a: Amount, n: number): Amount => ({ cpu: a.cpu * n, memory: a.memory * n });
const max = (a: Amount, b: Amount): Amount => ({ cpu: Math.max(a.cpu, b.cpu), memory: Math.max(a.memory, b.memory) });

/** A quantity in the unit of its resource (millicores, bytes), rounded up as the scheduler rounds. */
export function amountOf(text: unknown, resource: keyof Amount): number | undefined {
  const q = typeof text === "number" ? parseQuantity(String(text)) : typeof text === "string" ? parseQuantity(text) : undefined;
  if (!q) return undefined;
  const scaled = resource === "cpu" ? q.num * 1000n : q.num;
  return Number((scaled + q.den - 1n) / q.den);
}

interface ContainerUse {
  requests: Amount;
  limits: Amount;
  bestEffort: boolean;
}

function containerUse(c: Rec): ContainerUse {
  const requests = rec(at(c, "resources")?.requests) ?? {};
  const limits = rec(at(c, "resources")?.limits) ?? {};
  const one = (r: keyof Amount) => {
    const limit = amountOf(limits[r], r);
    return { request: amountOf(requests[r], r) ?? limit ?? 0, limit: limit ?? Number.POSITIVE_INFINITY };
  };
  const cpu = one("cpu");
  const memory = one("memory");
  const bestEffort = cpu.request === 0 && memory.request === 0 && cpu.limit === Number.POSITIVE_INFINITY && memory.limit === Number.POSITIVE_INFINITY;
  return { requests: { cpu: cpu.request, memory: memory.request }, limits: { cpu: cpu.limit, memory: memory.limit }, bestEffort };
}

/** The effective request and limit of a pod spec, by the scheduler's rule (init containers, native sidecars). */
export function podUse(spec: Rec): { requests: Amount; limits: Amount } {
  let sidecars = { requests: ZERO, limits: ZERO };
  let init = { requests: ZERO, limits: ZERO };
  for (const c of list(spec.initContainers).map(rec)) {
    if (!c) continue;
    const u = containerUse(c);
    if (str(c.restartPolicy) === "Always") {
      sidecars = { requests: add(sidecars.requests, u.requests), limits: add(sidecars.limits, u.limits) };
      init = { requests: max(init.requests, sidecars.requests), limits: max(init.limits, sidecars.limits) };
    } else init = { requests: max(init.requests, add(u.requests, sidecars.requests)), limits: max(init.limits, add(u.limits, sidecars.limits)) };
  }
  let main = sidecars;
  for (const c of list(spec.containers).map(rec)) {
    if (!c) continue;
    const u = containerUse(c);
    main = { requests: add(main.requests, u.requests), limits: add(main.limits, u.limits) };
  }
  return { requests: max(init.requests, main.requests), limits: max(init.limits, main.limits) };
}

/** maxSurge of a Deployment as a pod count: an integer, or a percentage of replicas rounded up; 25% by default. */
function surgeOf(obj: KubeObject, replicas: number): number {
  const strategy = at(obj, "spec", "strategy");
  if (str(strategy?.type) === "Recreate") return 0;
  const raw = at(strategy, "rollingUpdate")?.maxSurge ?? "25%";
  if (typeof raw === "number") return raw;
  const pct = /^(\d+)%$/.exec(String(raw));
  return pct ? Math.ceil((replicas * Number(pct[1])) / 100) : Number(raw) || 0;
}

const replicasOf = (obj: KubeObject, field = "replicas", fallback = 1): number => {
  const v = rec(obj.spec)?.[field];
  return typeof v === "number" ? v : fallback;
};

/**
 * The pods an operator starts from a custom resource the tree or a chart renders: the Prometheus Operator's
 * Prometheus and Alertmanager (the main container from spec.resources; the config reloader is a separate
 * workload row, from the operator's flags) and CloudNativePG's Cluster (instances × spec.resources).
 */
function operatorPods(obj: KubeObject): { replicas: number; spec: Rec } | undefined {
  const group = apiGroup(obj);
  const resources = rec(rec(obj.spec)?.resources) ?? {};
  if (group === "monitoring.coreos.com" && (obj.kind === "Prometheus" || obj.kind === "Alertmanager")) return { replicas: replicasOf(obj), spec: { containers: [{ name: obj.kind.toLowerCase(), resources }] } };
  if (group === "postgresql.cnpg.io" && obj.kind === "Cluster") return { replicas: replicasOf(obj, "instances"), spec: { containers: [{ name: "postgres", resources }] } };
  return undefined;
}

/** The config-reloader sidecar the Prometheus Operator adds to each Prometheus and Alertmanager pod, from its flags. */
function reloaderSpec(operator: KubeObject): Rec | undefined {
  const pt = podTemplateOf(operator);
  if (!pt) return undefined;
  const args = containersOf(pt, ["containers"]).flatMap((c) => list(c.container.args).map(String));
  if (!args.some((a) => a.startsWith("--prometheus-config-reloader="))) return undefined;
  const flag = (name: string) => args.find((a) => a.startsWith(`--config-reloader-${name}=`))?.split("=")[1];
  const q = (name: string) => {
    const v = flag(name);
    // The operator reads 0 as "no value"; an absent flag is its own default, which the chart always passes.
    return v && v !== "0" ? v : undefined;
  };
  const requests = Object.fromEntries(Object.entries({ cpu: q("cpu-request"), memory: q("memory-request") }).filter(([, v]) => v));
  const limits = Object.fromEntries(Object.entries({ cpu: q("cpu-limit"), memory: q("memory-limit") }).filter(([, v]) => v));
  return { containers: [{ name: "config-reloader", resources: { requests, limits } }] };
}

const TRANSIENT = new Set(["Job", "CronJob", "Pod"]);
const isHook = (o: KubeObject) => Boolean(o.metadata.annotations?.["helm.sh/hook"]);

/** Every workload the objects run, with what it asks of the node. */
export function workloadUses(objects: readonly KubeObject[], nodes = 1): WorkloadUse[] {
  const out: WorkloadUse[] = [];
  const push = (obj: KubeObject, ref: string, spec: Rec, replicas: number, surge: number, transient: boolean) => {
    const pod = podUse(spec);
    const bestEffort = ["initContainers", "containers"].flatMap((g) =>
      list(spec[g])
        .map(rec)
        .filter((c): c is Rec => Boolean(c) && containerUse(c!).bestEffort)
        .map((c) => str(c.name) ?? "?"),
    );
    out.push({ ref, kind: obj.kind, replicas, pod, requests: times(pod.requests, replicas), limits: times(pod.limits, replicas), surge, transient, bestEffort });
  };
  // A chart that autoscales leaves spec.replicas out: its HorizontalPodAutoscaler's minimum is what always runs.
  const floors = new Map(
    objects
      .filter((o) => o.kind === "HorizontalPodAutoscaler")
      .map((o) => {
        const spec = rec(o.spec) ?? {};
        const target = rec(spec.scaleTargetRef) ?? {};
        const min = typeof spec.minReplicas === "number" ? spec.minReplicas : 1;
        return [`${str(target.kind)}/${o.metadata.namespace ?? ""}/${str(target.name)}`, min] as const;
      }),
  );
  const operator = objects.find((o) => o.kind === "Deployment" && reloaderSpec(o));
  const reloader = operator && reloaderSpec(operator);
  for (const obj of objects) {
    const pods = operatorPods(obj);
    if (pods) {
      push(obj, objectRef(obj), pods.spec, pods.replicas, 0, false);
      if (reloader && apiGroup(obj) === "monitoring.coreos.com") push(obj, `${objectRef(obj)} config-reloader`, reloader, pods.replicas, 0, false);
      continue;
    }
    const pt = podTemplateOf(obj);
    if (!pt) continue;
    const transient = TRANSIENT.has(obj.kind) || isHook(obj);
    const replicas = obj.kind === "DaemonSet" ? nodes : transient ? 1 : (floors.get(`${obj.kind}/${obj.metadata.namespace ?? ""}/${obj.metadata.name}`) ?? replicasOf(obj));
    const surge = obj.kind === "Deployment" && !transient ? surgeOf(obj, replicas) : 0;
    push(obj, objectRef(obj), pt.spec, replicas, surge, transient);
  }
  return out;
}

/** "1.4 CPU", "1.9 GiB": how the plan prints amounts. */
export function formatCpu(m: number): string {
  return m === Number.POSITIVE_INFINITY ? "unbounded" : `${(m / 1000).toFixed(2).replace(/\.?0+$/, "")} CPU`;
}
export function formatMemory(b: number): string {
  if (b === Number.POSITIVE_INFINITY) return "unbounded";
  const gi = b / 2 ** 30;
  return gi >= 1 ? `${gi.toFixed(2).replace(/\.?0+$/, "")} GiB` : `${Math.round(b / 2 ** 20)} MiB`;
}

/** The largest consumers of a resource, for messages: `Prometheus/monitoring/x 500m, ...`. */
export function topConsumers(uses: readonly WorkloadUse[], resource: keyof Amount, n = 3): WorkloadUse[] {
  return [...uses].sort((a, b) => b.requests[resource] - a.requests[resource] || a.ref.localeCompare(b.ref)).slice(0, n);
}

export interface FitInput {
  /** The node: the profile's CPUs and memory. */
  capacity: Amount;
  /** Kept for the kubelet, the system and the pods no tree object declares. */
  reserve: Amount;
  /**
   * Nodes of that size (an ha profile): capacity and reserve count once per node, a DaemonSet runs a pod on each,
   * and the workloads must still fit when one node is gone. Summed, not packed pod by pod. Default 1.
   */
  nodes?: number;
}

/** Sums the steady workloads, and says whether they fit beside the room a rolling update or a Job needs. */
export function checkFit(objects: readonly KubeObject[], one: FitInput): FitReport {
  const nodes = one.nodes ?? 1;
  const input = { capacity: times(one.capacity, nodes), reserve: times(one.reserve, nodes) };
  const workloads = workloadUses(objects, nodes);
  const steady = workloads.filter((w) => !w.transient);
  const requests = steady.reduce((s, w) => add(s, w.requests), ZERO);
  const limits = steady.reduce((s, w) => add(s, w.limits), ZERO);
  const allocatable = { cpu: Math.max(0, input.capacity.cpu - input.reserve.cpu), memory: Math.max(0, input.capacity.memory - input.reserve.memory) };
  // What must fit beside the steady load at some moment: one Deployment's surge pods, or one Job's pod.
  const extra = workloads.map((w) => ({ ref: w.ref, amount: w.transient ? w.pod.requests : times(w.pod.requests, w.surge), why: w.transient ? "runs" : "surges" }));
  const biggest = (r: keyof Amount) => extra.reduce((best, e) => (e.amount[r] > best.amount[r] ? e : best), { ref: "", amount: ZERO, why: "" });
  const neededCpu = biggest("cpu");
  const neededMemory = biggest("memory");
  const headroom = {
    needed: { cpu: neededCpu.amount.cpu, memory: neededMemory.amount.memory },
    neededBy: { cpu: neededCpu.ref && `${neededCpu.ref} ${neededCpu.why}`, memory: neededMemory.ref && `${neededMemory.ref} ${neededMemory.why}` },
  };
  const bestEffort = workloads.flatMap((w) => w.bestEffort.map((c) => `${w.ref} ${c}`));
  const problems: string[] = [];
  const fmt = { cpu: formatCpu, memory: formatMemory };
  const consumers = (r: keyof Amount) =>
    topConsumers(steady, r)
      .map((w) => `${w.ref} ${fmt[r](w.requests[r])}`)
      .join(", ");
  for (const r of ["cpu", "memory"] as const) {
    const what = r === "cpu" ? "CPU" : "memory";
    if (requests[r] > allocatable[r]) problems.push(`the workloads request ${fmt[r](requests[r])} of ${what} but the node offers ${fmt[r](allocatable[r])} (after the system reserve); the largest: ${consumers(r)}`);
    else if (requests[r] + headroom.needed[r] > allocatable[r])
      problems.push(
        `the workloads request ${fmt[r](requests[r])} of the node's ${fmt[r](allocatable[r])} ${what}, leaving ${fmt[r](allocatable[r] - requests[r])}: no room for ${headroom.neededBy[r]} (${fmt[r](headroom.needed[r])} more); the largest: ${consumers(r)}`,
      );
  }
  // A DaemonSet's pod on the lost node goes with it; everything else must find room on the others.
  const perNode = steady.filter((w) => w.kind === "DaemonSet").reduce((s, w) => add(s, w.pod.requests), ZERO);
  if (nodes > 1)
    for (const r of ["cpu", "memory"] as const) {
      const left = ((nodes - 1) * allocatable[r]) / nodes;
      if (requests[r] - perNode[r] > left)
        problems.push(
          `with one of the ${nodes} nodes gone, the ${nodes - 1} left offer ${fmt[r](left)}${r === "memory" ? " of memory" : ""} but the workloads request ${fmt[r](requests[r] - perNode[r])}: its pods would stay Pending; the largest: ${consumers(r)}`,
        );
    }
  if (bestEffort.length) problems.push(`${bestEffort.length} container(s) request nothing and would run BestEffort, the first evicted: ${bestEffort.slice(0, 5).join(", ")}${bestEffort.length > 5 ? ", ..." : ""}`);
  return { capacity: input.capacity, reserve: input.reserve, allocatable, workloads, requests, limits, headroom, bestEffort, fits: problems.length === 0, problems };
}
