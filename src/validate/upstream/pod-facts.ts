/**
 * The facts of the chart-rendered infrastructure pods, read off the renders: what `npm run gen:facts` writes to
 * src/model/upstream-facts.generated.ts and what `upstream/workload-facts` compares that module with. Which pods a
 * workload is (its selector and namespace) is the Model's; their labels and ports are the chart's.
 */
import type { KubeObject, PlacedObject } from "../../core/object.js";
import { rec, str } from "../../core/paths.js";
import type { ChartPodFacts, InfraWorkloads, Model, Protocol, Workload, WorkloadPort } from "../../model/model.js";
import { locate, podsOf, podsOfService, servicePorts, servicesOf, type Pods, type RenderedRelease } from "./objects.js";

export const FACTS_FILE = "src/model/upstream-facts.generated.ts";

/**
 * Labels that change with every chart or app release. No policy selects on them, so keeping them would only make
 * each chart bump rewrite the facts (and the pods `bk netpol` models) for nothing.
 */
export const VOLATILE_LABELS: readonly string[] = ["helm.sh/chart", "chart", "app.kubernetes.io/version"];

export type FactsResult = { ok: true; facts: ChartPodFacts; pods: Pods[] } | { ok: false; problem: string };

function stableLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const keys = Object.keys(labels)
    .filter((k) => !VOLATILE_LABELS.includes(k))
    .sort();
  return Object.fromEntries(keys.map((k) => [k, labels[k]!]));
}

function protocolOf(p: string): Protocol | undefined {
  return p === "TCP" || p === "UDP" ? p : undefined;
}

/**
 * The ports the pod listens on: its containers' ports, and the numeric targetPort of a Service selecting it that no
 * container declares (a gateway's Envoy listens where its Gateway says, not where the chart declares).
 */
function listeningPorts(pod: Pods, all: readonly Pods[], services: readonly KubeObject[]): WorkloadPort[] {
  const out = new Map<string, WorkloadPort>();
  const add = (name: string, port: number, protocol: string) => {
    const proto = protocolOf(protocol);
    if (!proto) throw new Error(`port ${port}/${protocol} is neither TCP nor UDP`);
    const key = `${port}/${proto}`;
    if (!out.has(key)) out.set(key, { name, port, protocol: proto });
  };
  for (const p of pod.ports) add(p.name ?? String(p.containerPort), p.containerPort, p.protocol);
  for (const svc of services) {
    if (!podsOfService(svc, all).includes(pod)) continue;
    for (const sp of servicePorts(svc)) {
      const target = sp.targetPort ?? sp.port;
      if (typeof target === "number") add(sp.name ?? String(target), target, sp.protocol ?? "TCP");
    }
  }
  return [...out.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

/** The chart and version a HelmRelease installs, as its spec names them. */
function chartOf(release: PlacedObject): { chart: string; version: string } {
  const spec = rec(rec(rec(release.object.spec)?.chart)?.spec);
  return { chart: str(spec?.chart) ?? "", version: str(spec?.version) ?? "" };
}

function releaseName(release: PlacedObject): string {
  const spec = rec(release.object.spec);
  const ns = str(spec?.targetNamespace);
  return str(spec?.releaseName) ?? (ns ? `${ns}-${release.object.metadata.name}` : release.object.metadata.name);
}

/** One workload's facts from the renders: its selector must pick exactly one pod template, rendered by a chart. */
export function podFactsOf(w: Workload, pods: readonly Pods[], services: readonly KubeObject[]): FactsResult {
  const selected = pods.filter((p) => p.namespace === w.namespace && Object.entries(w.selector).every(([k, v]) => p.labels[k] === v));
  const where = `pods in ${w.namespace} labelled ${JSON.stringify(w.selector)}`;
  if (selected.length === 0) return { ok: false, problem: `no rendered ${where}` };
  if (selected.length > 1) return { ok: false, problem: `${selected.length} pod templates are ${where}: the selector must pick one` };
  const pod = selected[0]!;
  if (!pod.owner.release) return { ok: false, problem: `${where} are not rendered by a chart` };
  const facts: ChartPodFacts = {
    ...chartOf(pod.owner.release),
    release: releaseName(pod.owner.release),
    labels: stableLabels(pod.labels),
    ports: listeningPorts(pod, pods, services),
    serviceAccount: str(pod.spec.serviceAccountName) ?? "default",
  };
  return { ok: true, facts, pods: selected };
}

/**
 * The facts of every chart-rendered workload in `rows`, from the tree and its renders; throws naming each workload
 * whose pods cannot be read (the generator must not write a partial table).
 */
export function renderedPodFacts(m: Pick<Model, "workloads">, rows: readonly (keyof InfraWorkloads)[], tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Record<string, ChartPodFacts> {
  const all = locate(tree, rendered);
  const pods = podsOf(all);
  const services = servicesOf(all);
  const out: Record<string, ChartPodFacts> = {};
  const problems: string[] = [];
  for (const key of [...rows].sort()) {
    const r = podFactsOf(m.workloads[key], pods, services);
    if (r.ok) out[key] = r.facts;
    else problems.push(`${key}: ${r.problem}`);
  }
  if (problems.length) throw new Error(`cannot read the facts of ${problems.length} workload(s) from the renders:\n  ${problems.join("\n  ")}`);
  return out;
}

const lit = (s: string) => JSON.stringify(s);
const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : lit(k));
const labelsText = (l: Record<string, string>) =>
  `{ ${Object.entries(l)
    .map(([k, v]) => `${key(k)}: ${lit(v)}`)
    .join(", ")} }`;
const portText = (p: WorkloadPort) => `{ name: ${lit(p.name)}, port: ${p.port}, protocol: ${lit(p.protocol)} }`;

/** The text of src/model/upstream-facts.generated.ts: the same facts give the same bytes. */
export function factsModule(facts: Readonly<Record<string, ChartPodFacts>>): string {
  const rows = Object.keys(facts).sort();
  const charts = [...new Set(rows.map((k) => `${facts[k]!.chart} ${facts[k]!.version}`))].sort();
  const lines = [
    "// Generated by `npm run gen:facts` (scripts/gen-upstream-facts.ts). Do not edit: run it again.",
    "// The pods of each chart-rendered infrastructure workload (src/model/infra-workloads.ts), read off `helm template`",
    "// of the tree's HelmReleases through the pinned charts of the upstream mirror ($BK_SHARED/charts). Labels that",
    `// change with every release (${VOLATILE_LABELS.join(", ")}) are left out.`,
    `// Charts: ${charts.join(", ")}.`,
    'import type { ChartPodFacts } from "./model.js";',
    "",
    "export const UPSTREAM_FACTS: Readonly<Record<string, ChartPodFacts>> = {",
  ];
  for (const k of rows) {
    const f = facts[k]!;
    lines.push(`  ${key(k)}: {`, `    chart: ${lit(f.chart)},`, `    version: ${lit(f.version)},`, `    release: ${lit(f.release)},`, `    labels: ${labelsText(f.labels)},`, "    ports: [");
    for (const p of f.ports) lines.push(`      ${portText(p)},`);
    lines.push("    ],");
    if (f.serviceAccount) lines.push(`    serviceAccount: ${lit(f.serviceAccount)},`);
    lines.push("  },");
  }
  lines.push("};", "");
  return lines.join("\n");
}
