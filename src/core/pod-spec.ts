import type { KubeObject } from "./object.js";
import { fieldPath, list, rec, str, type Rec } from "./paths.js";

/** Where an object keeps the pod it runs: the pod's metadata and spec, and their field paths. */
export interface PodTemplate {
  metadata: Rec;
  metadataPath: string;
  spec: Rec;
  specPath: string;
}

export type ContainerGroup = "initContainers" | "containers" | "ephemeralContainers";

export interface ContainerRef {
  container: Rec;
  name: string;
  group: ContainerGroup;
  /** Field path of the container, e.g. spec.template.spec.containers[0]. */
  path: string;
}

/** Kind -> API group it must belong to and the path of its pod template (empty for a Pod itself). */
const TEMPLATE_LOCATIONS: Record<string, { group: string; path: string[] }> = {
  Pod: { group: "", path: [] },
  PodTemplate: { group: "", path: ["template"] },
  ReplicationController: { group: "", path: ["spec", "template"] },
  Deployment: { group: "apps", path: ["spec", "template"] },
  StatefulSet: { group: "apps", path: ["spec", "template"] },
  DaemonSet: { group: "apps", path: ["spec", "template"] },
  ReplicaSet: { group: "apps", path: ["spec", "template"] },
  Job: { group: "batch", path: ["spec", "template"] },
  CronJob: { group: "batch", path: ["spec", "jobTemplate", "spec", "template"] },
};

export function apiGroup(obj: Pick<KubeObject, "apiVersion">): string {
  const slash = obj.apiVersion.indexOf("/");
  return slash < 0 ? "" : obj.apiVersion.slice(0, slash);
}

/** The pod template of a workload object, or undefined when the object runs no pods (or has none written yet). */
export function podTemplateOf(obj: KubeObject): PodTemplate | undefined {
  const loc = TEMPLATE_LOCATIONS[obj.kind];
  // A CRD may reuse a core kind name (e.g. a "Deployment" in another group); only the built-in kinds run pods.
  if (!loc || apiGroup(obj) !== loc.group) return undefined;
  let holder: unknown = obj;
  for (const k of loc.path) holder = rec(holder)?.[k];
  const h = rec(holder);
  const spec = rec(h?.spec);
  if (!h || !spec) return undefined;
  const base = loc.path.join(".");
  return {
    metadata: rec(h.metadata) ?? {},
    metadataPath: fieldPath(base, "metadata"),
    spec,
    specPath: fieldPath(base, "spec"),
  };
}

/** Containers in the order the kubelet starts them: init, regular, then ephemeral (debug) containers. */
export function containersOf(pt: PodTemplate, groups: readonly ContainerGroup[] = ["initContainers", "containers", "ephemeralContainers"]): ContainerRef[] {
  const out: ContainerRef[] = [];
  for (const group of groups) {
    list(pt.spec[group]).forEach((c, i) => {
      const container = rec(c);
      if (!container) return;
      out.push({ container, name: str(container.name) ?? `#${i}`, group, path: fieldPath(pt.specPath, group, i) });
    });
  }
  return out;
}

/** How findings name a container: 'container "app"' / 'init container "migrate"'. */
export function describeContainer(c: ContainerRef): string {
  const label = c.group === "initContainers" ? "init container" : c.group === "ephemeralContainers" ? "ephemeral container" : "container";
  return `${label} "${c.name}"`;
}
