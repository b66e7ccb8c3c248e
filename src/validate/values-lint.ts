/**
 * Values lint: every key a HelmRelease sets must be one its chart reads, and the values Helm merges must pass
 * the chart's values.schema.json. Helm silently ignores a key no template reads, so a typo ships as the
 * chart's default; this is where it becomes an error naming the release and the key path.
 *
 * A key is known when the chart's defaults (values.yaml, each subchart's under its name or alias, `global`),
 * its templates (by name) or its schema (`properties`) name it, or when Helm itself reads it (a dependency's
 * condition, `tags`). Below a free-form map every key is accepted: an empty-map, null or list default, a
 * subtree a template hands on whole (template-values.ts), or a schema object that allows additional
 * properties. Pure: the workflow reads the chart's files into ChartFacts.
 */
import type { Finding } from "../core/finding.js";
import { chartReads } from "./template-values.js";
import { schemaErrors, type SchemaError } from "./values-schema.js";

export interface ChartFacts {
  name: string;
  version: string;
  /** The chart's values.yaml. */
  defaults: Record<string, unknown>;
  /** The chart's values.schema.json, when it ships one. */
  schema?: Record<string, unknown>;
  /** The text of every template (templates/**: .yaml, .tpl, .txt). */
  templates: string[];
  /** Values paths Helm itself reads: each dependency's condition. */
  conditions: string[][];
  /** Each subchart, under the key its values live at (alias or name), with the condition that enables it. */
  subcharts: Array<{ key: string; condition?: string[]; chart: ChartFacts }>;
}

export interface ReleaseValues {
  /** The HelmRelease's file, where its findings point. */
  file: string;
  /** objectRef() of the HelmRelease. */
  object: string;
  values: Record<string, unknown>;
}

export interface KeyNode {
  /** Every key below is accepted. */
  free: boolean;
  children: Map<string, KeyNode>;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const newNode = (): KeyNode => ({ free: false, children: new Map() });

function child(node: KeyNode, key: string): KeyNode {
  const found = node.children.get(key);
  if (found) return found;
  const c = newNode();
  node.children.set(key, c);
  return c;
}

function nodeAt(root: KeyNode, path: readonly string[]): KeyNode {
  return path.reduce(child, root);
}

function addDefaults(node: KeyNode, value: unknown): void {
  // null, [] and {} defaults are placeholders the chart expects the user to fill in whatever shape it needs.
  if (value === null || Array.isArray(value) || (isMap(value) && Object.keys(value).length === 0)) node.free = true;
  if (!isMap(value)) return;
  for (const [k, v] of Object.entries(value)) addDefaults(child(node, k), v);
}

/** Copies `from` into `into`, so a subtree known in two places (subchart, overlay) is known in both. */
function graft(into: KeyNode, from: KeyNode): void {
  into.free ||= from.free;
  for (const [k, c] of from.children) graft(child(into, k), c);
}

type Schema = Record<string, unknown>;

/** A local `$ref` (`#/$defs/x`, `#/definitions/x`) resolved against the schema document. */
function deref(s: Schema, doc: Schema): Schema {
  let cur = s;
  for (let hops = 0; typeof cur.$ref === "string" && cur.$ref.startsWith("#") && hops < 16; hops++) {
    let target: unknown = doc;
    for (const raw of cur.$ref.slice(1).split("/").filter(Boolean)) target = isMap(target) ? target[decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    if (!isMap(target)) break;
    cur = { ...cur, ...target, $ref: target.$ref };
  }
  return cur;
}

function addSchema(node: KeyNode, raw: Schema, doc: Schema, depth = 0): void {
  if (depth > 24) return;
  const s = deref(raw, doc);
  const extra = s.additionalProperties;
  // An open object with declared properties is a structure that tolerates extras, not a map: its keys stay checked.
  if (isMap(extra) || isMap(s.patternProperties) || (extra === true && !isMap(s.properties))) node.free = true;
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const list = s[key];
    if (Array.isArray(list)) for (const sub of list) if (isMap(sub)) addSchema(node, sub, doc, depth + 1);
  }
  if (isMap(s.properties)) for (const [k, sub] of Object.entries(s.properties)) if (isMap(sub)) addSchema(child(node, k), sub, doc, depth + 1);
}

const knownCache = new WeakMap<ChartFacts, KeyNode>();

/** Every key the chart reads, as a tree with its free-form subtrees marked. */
export function knownKeys(chart: ChartFacts): KeyNode {
  const cached = knownCache.get(chart);
  if (cached) return cached;
  const root = newNode();
  // The root is never a placeholder, even for a chart whose values.yaml is empty.
  for (const [k, v] of Object.entries(chart.defaults)) addDefaults(child(root, k), v);
  const { read, wholesale, overlays } = chartReads(chart.templates);
  for (const p of read) nodeAt(root, p);
  for (const p of wholesale) nodeAt(root, p).free = true;
  if (chart.schema) addSchema(root, chart.schema, chart.schema);
  for (const p of chart.conditions) nodeAt(root, p);
  child(root, "tags").free = true;
  for (const sub of chart.subcharts) {
    const known = knownKeys(sub.chart);
    graft(child(root, sub.key), known);
    const global = known.children.get("global");
    if (global) graft(child(root, "global"), global);
  }
  // A subtree merged with the root values shares their keys both ways (istio: defaults kept under
  // `_internal_defaults_do_not_set`, legacy keys under `pilot`); its own freedom as a merge argument is not copied.
  for (const p of overlays) {
    const at = nodeAt(root, p);
    const rootKeys = [...root.children].filter(([k]) => k !== p[0]);
    for (const [k, c] of [...at.children]) graft(child(root, k), c);
    for (const [k, c] of rootKeys) graft(child(at, k), c);
  }
  knownCache.set(chart, root);
  return root;
}

export interface UnknownKey {
  path: string[];
  /** The nearest key the chart does read at the same place, when one is close. */
  suggestion?: string;
}

/** The keys of `values` the known tree does not have, outside free-form subtrees. */
export function unknownKeys(values: Record<string, unknown>, node: KeyNode, at: string[] = []): UnknownKey[] {
  if (node.free) return [];
  const out: UnknownKey[] = [];
  for (const [k, v] of Object.entries(values)) {
    const c = node.children.get(k);
    if (!c) {
      const suggestion = nearestKey(k, [...node.children.keys()]);
      out.push({ path: [...at, k], ...(suggestion ? { suggestion } : {}) });
    } else if (isMap(v)) out.push(...unknownKeys(v, c, [...at, k]));
  }
  return out;
}

/** Edits between two keys, a swap of neighbours counting as one (the commonest typo). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate within a third of the key's length (a case slip counts as one edit). */
export function nearestKey(key: string, candidates: readonly string[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const c of [...candidates].sort()) {
    const d = c.toLowerCase() === key.toLowerCase() ? 0.5 : editDistance(key.toLowerCase(), c.toLowerCase());
    if (d <= Math.max(1, Math.floor(key.length / 3)) && (!best || d < best.d)) best = { key: c, d };
  }
  return best?.key;
}

/** `a.b["x.y"][0]`: the path as a field reference. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : /^[A-Za-z_][\w-]*$/.test(p) ? `${i ? "." : ""}${p}` : `[${JSON.stringify(p)}]`)).join("");
}

/** Helm's coalescing: the user's map keys merge into the defaults', a user null deletes the default. */
export function mergeValues(defaults: unknown, user: unknown): unknown {
  if (!isMap(defaults) || !isMap(user)) return user === undefined ? defaults : user;
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(user)) {
    if (v === null) delete out[k];
    else out[k] = mergeValues(defaults[k], v);
  }
  return out;
}

function valueAt(values: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((v, k) => (isMap(v) ? v[k] : undefined), values);
}

/** Each chart's merged values with the schema they must pass, subcharts included as Helm builds them. */
function schemaErrorsOf(chart: ChartFacts, values: Record<string, unknown>, at: string[]): Array<SchemaError & { chart: ChartFacts }> {
  const out: Array<SchemaError & { chart: ChartFacts }> = [];
  if (chart.schema) for (const e of schemaErrors(chart.schema, values)) out.push({ ...e, path: [...at, ...e.path], chart });
  for (const sub of chart.subcharts) {
    if (sub.condition && valueAt(values, sub.condition) === false) continue;
    const own = mergeValues(sub.chart.defaults, valueAt(values, [sub.key]) ?? {}) as Record<string, unknown>;
    const merged = { ...own, global: mergeValues(own.global ?? {}, values.global ?? {}) };
    out.push(...schemaErrorsOf(sub.chart, merged, [...at, sub.key]));
  }
  return out;
}

const chartLabel = (c: ChartFacts) => `chart ${c.name} ${c.version}`;

/** The values lint of one release: unknown keys and schema violations, as findings at the release's values. */
export function lintValues(release: ReleaseValues, chart: ChartFacts): Finding[] {
  const where = { file: release.file, object: release.object };
  const known = knownKeys(chart);
  const unknown = unknownKeys(release.values, known).map((u): Finding => {
    const field = `spec.values.${formatPath(u.path)}`;
    return {
      rule: "values/unknown-key",
      severity: "error",
      message: `${chartLabel(chart)} never reads ${formatPath(u.path)}: Helm ignores it, so the chart's default applies`,
      fix: u.suggestion
        ? `rename it to ${formatPath([...u.path.slice(0, -1), u.suggestion])} (the key ${chartLabel(chart)} reads), in the definition`
        : `remove it from the release's values in the definition, or use a key ${chartLabel(chart)} reads (see its values.yaml)`,
      ...where,
      field,
    };
  });
  const flagged = new Set(unknown.map((f) => f.field));
  const merged = mergeValues(chart.defaults, release.values) as Record<string, unknown>;
  const schema = schemaErrorsOf(chart, merged, []).flatMap((e): Finding[] => {
    const field = `spec.values.${formatPath(e.path)}`;
    if (e.keyword === "additionalProperties" && flagged.has(field)) return [];
    const last = e.path[e.path.length - 1];
    const parent = e.path.slice(0, -1);
    const suggestion =
      e.keyword === "additionalProperties" && typeof last === "string" && parent.every((p) => typeof p === "string") ? nearestKey(last, [...nodeAt(known, parent as string[]).children.keys()]) : undefined;
    if (suggestion)
      return [
        {
          rule: "values/schema",
          severity: "error",
          message: `${chartLabel(chart)}: values.schema.json does not allow ${formatPath(e.path)}`,
          fix: `rename it to ${formatPath([...e.path.slice(0, -1), suggestion])} in the definition`,
          ...where,
          field,
        },
      ];
    return [
      {
        rule: "values/schema",
        severity: "error",
        message: `${chartLabel(chart)}: values.schema.json${e.chart === chart ? "" : ` of subchart ${e.chart.name}`} says ${formatPath(e.path) || "the values"} ${e.message}`,
        fix: `set spec.values.${formatPath(e.path)} in the definition to a value the chart's schema allows${e.allowed ? ` (${e.allowed})` : ""}`,
        ...where,
        field,
      },
    ];
  });
  return [...unknown, ...schema];
}
