/**
 * The Model's table of infrastructure pods (model/infra-workloads.ts) is what the NetworkPolicies and
 * `bk netpol` are built from; every row whose pods a chart or the tree renders must agree with them: the
 * labels it claims the pods carry, and the ports it claims they listen on. For a chart's pods those facts are
 * generated (model/upstream-facts.generated.ts), so a difference means the module is older than the charts.
 */
import type { Finding } from "../../core/finding.js";
import { objectRef, type KubeObject, type PlacedObject } from "../../core/object.js";
import { CHART_ROWS } from "../../model/infra-workloads.js";
import type { ChartPodFacts, Model, Workload, WorkloadPort } from "../../model/model.js";
import { UPSTREAM_FACTS } from "../../model/upstream-facts.generated.js";
import { describePorts, listens, locate, podsOf, servicesOf, type Pods, type RenderedRelease } from "./objects.js";
import { FACTS_FILE, podFactsOf } from "./pod-facts.js";

const FILE = "src/model/infra-workloads.ts";
const REGENERATE = `run npm run gen:facts and commit ${FACTS_FILE}`;
const chartRows: readonly string[] = CHART_ROWS;

/**
 * upstream/workload-facts: each infrastructure workload's labels and ports are those of its rendered pods. Rows a
 * chart renders are compared with the generated facts; `facts` is the committed module unless a test gives another.
 */
export function checkWorkloadFacts(m: Pick<Model, "workloads">, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[], facts: Readonly<Record<string, ChartPodFacts>> = UPSTREAM_FACTS): Finding[] {
  const all = locate(tree, rendered);
  const pods = podsOf(all);
  const services = servicesOf(all);
  const out: Finding[] = [];
  for (const [key, w] of Object.entries(m.workloads)) {
    if (chartRows.includes(key)) out.push(...chartDrift(key, w, facts[key], pods, services));
    else out.push(...handKeptFacts(key, w, pods, services));
  }
  return out;
}

const portText = (p: WorkloadPort) => `${p.name} ${p.port}/${p.protocol}`;

/** What differs between the row as the Model has it (from the generated facts) and its pods as rendered. */
function differences(w: Workload, stored: ChartPodFacts, now: ChartPodFacts): string[] {
  const out: string[] = [];
  if (now.chart && (stored.chart !== now.chart || stored.version !== now.version)) out.push(`generated from ${stored.chart} ${stored.version}, rendered by ${now.chart} ${now.version}`);
  const keys = [...new Set([...Object.keys(w.labels), ...Object.keys(now.labels)])].sort();
  const labels = keys.flatMap((k) => {
    const [was, is] = [w.labels[k], now.labels[k]];
    if (was === is) return [];
    if (was === undefined) return [`+${k}=${is}`];
    if (is === undefined) return [`-${k}=${was}`];
    return [`${k}=${was} -> ${is}`];
  });
  if (labels.length) out.push(`labels ${labels.join(", ")}`);
  const [was, is] = [w.ports.map(portText), now.ports.map(portText)];
  const ports = [...is.filter((p) => !was.includes(p)).map((p) => `+${p}`), ...was.filter((p) => !is.includes(p)).map((p) => `-${p}`)];
  if (ports.length) out.push(`ports ${ports.join(", ")}`);
  if (now.serviceAccount && w.serviceAccount !== now.serviceAccount) out.push(`serviceAccount ${w.serviceAccount ?? "(none)"} -> ${now.serviceAccount}`);
  return out;
}

function chartDrift(key: string, w: Workload, stored: ChartPodFacts | undefined, pods: readonly Pods[], services: readonly KubeObject[]): Finding[] {
  const r = podFactsOf(w, pods, services);
  const finding = (message: string, fix: string): Finding[] => [{ rule: "upstream/workload-facts", severity: "error", message, fix, file: FACTS_FILE, object: key }];
  // A chart the renders do not hold (a check of some releases only) has nothing to compare with.
  if (!r.ok && r.problem.startsWith("no rendered")) return [];
  if (!r.ok) return finding(`${w.title}: ${r.problem}`, `make the selector of ${key} pick the one pod template it means (${FILE})`);
  if (!stored) return finding(`${w.title}: ${FACTS_FILE} holds no facts for ${key}`, REGENERATE);
  const diff = differences(w, stored, r.facts);
  if (!diff.length) return [];
  const owners = [...new Set(r.pods.map((p) => objectRef(p.owner.object)))].join(", ");
  return finding(`${w.title}: ${owners} as rendered differs from ${FACTS_FILE} (${key}; + rendered only, - generated only): ${diff.join("; ")}`, REGENERATE);
}

/** A row kept by hand, whose pods the tree renders (our own registry and backup): its labels and ports must hold. */
function handKeptFacts(key: string, w: Workload, pods: readonly Pods[], services: readonly KubeObject[]): Finding[] {
  const selected = pods.filter((p) => p.namespace === w.namespace && Object.entries(w.selector).every(([k, v]) => p.labels[k] === v));
  // Pods an operator, the cluster or `flux bootstrap` creates have no manifest here to compare with.
  if (selected.length === 0) return [];
  const out: Finding[] = [];
  const owners = [...new Set(selected.map((p) => objectRef(p.owner.object)))].join(", ");
  const labelled = selected.filter((p) => Object.entries(w.labels).every(([k, v]) => p.labels[k] === v));
  if (labelled.length === 0) {
    out.push({
      rule: "upstream/workload-facts",
      severity: "error",
      message: `${w.title}: no pod of ${owners} carries all of the labels ${JSON.stringify(w.labels)}; they carry ${JSON.stringify(selected[0]!.labels)}`,
      fix: `give the workload the labels its pods carry as rendered (${FILE})`,
      file: FILE,
      object: key,
      field: "labels",
    });
  }
  for (const port of w.ports) {
    if (listens(selected, services, port.port, port.protocol)) continue;
    out.push({
      rule: "upstream/workload-facts",
      severity: "error",
      message: `${w.title}: ${owners} neither declares nor is the target of a Service on ${port.port}/${port.protocol} (${port.name}); it declares: ${describePorts(selected)}`,
      fix: `list the ports the pods declare as rendered (${FILE})`,
      file: FILE,
      object: key,
      field: `ports[${w.ports.indexOf(port)}]`,
    });
  }
  return out;
}
