/**
 * The other profiles' entry points (issue 19). A profile's Model (model/profiles.ts) is synthesized like the base
 * one; of its tree only clusters/<profile>/ is written, and every object that differs from the base tree becomes a
 * JSON 6902 patch on the Flux Kustomization of its layer. So the profile is the same tree, patched where it must be,
 * and nothing is written twice (the Flux way of several clusters from one repository: an entry point per cluster).
 */
import { stringify } from "yaml";
import { objectIdentity, type KubeObject, type PlacedObject } from "../core/object.js";
import { LAYERS } from "../model/layout.js";
import type { Model } from "../model/model.js";
import { applyProfile, HA_RELEASES, HOSTNAME_KEY, type ProfileModel } from "../model/profiles.js";

type Synth = (m: Model) => PlacedObject[];

export interface ProfileTree {
  profile: ProfileModel;
  model: Model;
  /** Every object the profile's cluster runs, as if its tree were written out in full. */
  objects: PlacedObject[];
  /** What is written: clusters/<profile>/, its layer Kustomizations carrying the patches. */
  entry: PlacedObject[];
  /** The objects of the shared tree the profile patches. */
  changed: PlacedObject[];
}

/** The entry points of every profile but the base one. */
export function synthProfiles(m: Model, base: readonly PlacedObject[], synth: Synth): PlacedObject[] {
  return m.profiles.slice(1).flatMap((p) => profileTree(m, p, base, synth).entry);
}

export function profileTree(m: Model, p: ProfileModel, base: readonly PlacedObject[], synth: Synth): ProfileTree {
  const model = applyProfile(m, p);
  if (p.kind === "single-node") return { profile: p, model, objects: [...base], entry: base.filter((o) => o.file.startsWith(`${p.path}/`)), changed: [] };
  const all = synth(model).map((o) => ({ ...o, object: haObject(model, p, o.object) }));
  const inEntry = (o: PlacedObject) => o.file.startsWith(`${p.path}/`);
  const shared = new Map(base.filter((o) => !o.file.startsWith("clusters/")).map((o) => [key(o), o.object]));
  const patches = new Map<string, Array<{ target: Record<string, string>; patch: string }>>();
  const mine = all.filter((o) => !inEntry(o));
  const changed: PlacedObject[] = [];
  for (const o of mine) {
    const before = shared.get(key(o));
    if (!before) throw new Error(`profile '${p.name}' adds ${key(o)}, which the base tree does not hold: a profile only patches the shared tree`);
    shared.delete(key(o));
    const ops = diffOps(before, o.object);
    if (!ops.length) continue;
    changed.push(o);
    const layer = LAYERS.find((l) => o.file.startsWith(`${l.dir}/`));
    if (!layer) throw new Error(`profile '${p.name}' changes ${key(o)} in ${o.file}, outside every layer`);
    const list = patches.get(layer.name) ?? [];
    list.push({ target: targetOf(o.object), patch: stringify(ops, { lineWidth: 0 }) });
    patches.set(layer.name, list);
  }
  const left = [...shared.keys()];
  if (left.length) throw new Error(`profile '${p.name}' drops ${left.join(", ")}: a profile only patches the shared tree`);
  const entry = all.filter(inEntry).map((o) => {
    const ps = o.object.kind === "Kustomization" && o.object.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/") ? patches.get(o.object.metadata.name) : undefined;
    if (!ps) return o;
    const spec = o.object.spec as Record<string, unknown>;
    return { ...o, object: { ...o.object, spec: { ...spec, patches: ps } } };
  });
  return { profile: p, model, objects: [...entry, ...mine], entry, changed };
}

const key = (o: PlacedObject) => `${o.file}#${objectIdentity(o.object)}`;

function targetOf(o: KubeObject): Record<string, string> {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  return { ...(group ? { group } : {}), version: version!, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) };
}

/** What the profile changes on an object that synthesis of its Model does not: chart values, the database's replication. */
function haObject(m: Model, p: ProfileModel, o: KubeObject): KubeObject {
  if (o.kind === "HelmRelease") {
    const spec = o.spec as { chart?: { spec?: { chart?: string; version?: string } }; values?: Record<string, unknown> };
    const pin = Object.entries(m.charts).find(([, c]) => c.chart === spec.chart?.spec?.chart && c.version === spec.chart?.spec?.version);
    const ha = pin ? HA_RELEASES[pin[0]] : undefined;
    if (!ha) return o;
    return { ...o, spec: { ...spec, values: merge(spec.values ?? {}, ha(m, p.replicas)) } };
  }
  if (o.kind === "Cluster" && o.apiVersion.startsWith("postgresql.cnpg.io/")) {
    const spec = o.spec as Record<string, unknown>;
    return {
      ...o,
      spec: {
        ...spec,
        // A commit returns once `synchronous` standbys have it; with `required`, none is written while they are gone.
        postgresql: { ...(spec.postgresql as object), synchronous: { method: "any", number: p.postgres.synchronous, dataDurability: "required" } },
        // Each instance on a node of its own: CNPG renders this as a required pod anti-affinity on the hostname.
        affinity: { ...(spec.affinity as object), enablePodAntiAffinity: true, podAntiAffinityType: "required", topologyKey: HOSTNAME_KEY },
      },
    };
  }
  return o;
}

type Json = unknown;
const isMap = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Maps merged key by key; anything else (lists included) replaced. */
export function merge(a: Record<string, Json>, b: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isMap(v) && isMap(out[k]) ? merge(out[k] as Record<string, Json>, v) : v;
  return out;
}

export type PatchOp = { op: "add" | "replace"; path: string; value: Json } | { op: "remove"; path: string };

/** JSON 6902 operations that turn `a` into `b`: maps key by key (keys in sorted order), lists and scalars whole. */
export function diffOps(a: Json, b: Json, at = ""): PatchOp[] {
  if (isMap(a) && isMap(b)) {
    const ops: PatchOp[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const p = `${at}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      if (!(k in b)) ops.push({ op: "remove", path: p });
      else if (!(k in a)) ops.push({ op: "add", path: p, value: b[k] });
      else ops.push(...diffOps(a[k], b[k], p));
    }
    return ops;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ op: "replace", path: at, value: b }];
}
