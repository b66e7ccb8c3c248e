/**
 * The Model's table of infrastructure pods (model/infra-workloads.ts) is what the NetworkPolicies and
 * `bk netpol` are built from; every row whose pods a chart or the tree renders must agree with them: the
 * labels it claims the pods carry, and the ports it claims they listen on.
 */
import type { Finding } from "../../core/finding.js";
import { objectRef, type PlacedObject } from "../../core/object.js";
import type { Model } from "../../model/model.js";
import { describePorts, listens, locate, podsOf, servicesOf, type RenderedRelease } from "./objects.js";

const FILE = "src/model/infra-workloads.ts";

/** upstream/workload-facts: each infrastructure workload's labels and ports are those of its rendered pods. */
export function checkWorkloadFacts(m: Pick<Model, "workloads">, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Finding[] {
  const all = locate(tree, rendered);
  const pods = podsOf(all);
  const services = servicesOf(all);
  const out: Finding[] = [];
  for (const [key, w] of Object.entries(m.workloads)) {
    const selected = pods.filter((p) => p.namespace === w.namespace && Object.entries(w.selector).every(([k, v]) => p.labels[k] === v));
    // Pods an operator, the cluster or `flux bootstrap` creates have no manifest here to compare with.
    if (selected.length === 0) continue;
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
  }
  return out;
}
