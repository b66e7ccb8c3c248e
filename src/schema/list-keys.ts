/**
 * Uniqueness the API server enforces on list-map fields (x-kubernetes-list-type: map), which
 * JSON Schema validation does not see: two Service ports with the same number and protocol, two
 * containers with one name, two container ports with one number. The API server refuses such an
 * object at apply time (`duplicate entries for key [port=8000,protocol="TCP"]`); here it is caught
 * before a commit.
 */
import type { Finding } from "../core/finding.js";
import { objectRef, type PlacedObject } from "../core/object.js";
import { containersOf, podTemplateOf } from "../core/pod-spec.js";
import { fieldPath, list, rec } from "../core/paths.js";

type KeyOf = (item: Record<string, unknown>) => string;

function duplicates(items: unknown[], key: KeyOf): Array<{ index: number; key: string; first: number }> {
  const seen = new Map<string, number>();
  const out: Array<{ index: number; key: string; first: number }> = [];
  items.forEach((raw, index) => {
    const item = rec(raw);
    if (!item) return;
    const k = key(item);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, index);
    else out.push({ index, key: k, first });
  });
  return out;
}

const portKey: KeyOf = (p) => `port=${String(p.port)},protocol="${String(p.protocol ?? "TCP")}"`;
const containerPortKey: KeyOf = (p) => `containerPort=${String(p.containerPort)},protocol="${String(p.protocol ?? "TCP")}"`;
const nameKey: KeyOf = (c) => `name=${String(c.name)}`;

export function checkListKeys(objects: readonly PlacedObject[]): Finding[] {
  const out: Finding[] = [];
  const report = (placed: PlacedObject, path: string, d: { index: number; key: string; first: number }, fix: string) =>
    out.push({
      rule: "schema/duplicate-key",
      severity: "error",
      message: `duplicate entries for key [${d.key}]: items ${d.first} and ${d.index}; the API server refuses the object`,
      fix,
      file: placed.file,
      object: objectRef(placed.object),
      field: `${path}[${d.index}]`,
    });
  for (const placed of objects) {
    const o = placed.object;
    if (o.kind === "Service" && o.apiVersion === "v1") {
      for (const d of duplicates(list(rec(o.spec)?.ports), portKey)) report(placed, "spec.ports", d, "give each Service port its own number, or drop the second one");
    }
    const pt = podTemplateOf(o);
    if (!pt) continue;
    for (const group of ["initContainers", "containers"] as const) for (const d of duplicates(list(pt.spec[group]), nameKey)) report(placed, fieldPath(pt.specPath, group), d, "give every container its own name");
    for (const c of containersOf(pt)) for (const d of duplicates(list(c.container.ports), containerPortKey)) report(placed, `${c.path}.ports`, d, "declare each container port once");
  }
  return out;
}
