/**
 * Turns CustomResourceDefinition YAML into the per-version JSON schemas kept in schemas/crds.
 * Pure apart from reading the CRD folder, so the generator script and the "is it up to date" test share it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { indentFlowScalarContinuations } from "../core/flow-scalar-indent.js";

export type Scope = "Namespaced" | "Cluster";

export interface CrdIndexEntry {
  /** Schema file, relative to the schemas/crds folder. */
  file: string;
  scope: Scope;
  plural: string;
  /** CRD file it came from, relative to the CRD folder (tells the reader where to update it). */
  source: string;
}

/** Keyed "<group>/<version>/<Kind>". */
export type CrdIndex = Record<string, CrdIndexEntry>;

export const INDEX_FILE = "index.json";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/**
 * Drops documentation from a schema node and everything below it. Walks the schema structurally,
 * so a property that happens to be called "description" survives; only the keyword goes.
 */
export function stripDocs(schema: Json): Json {
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "description" || key === "example" || key === "externalDocs") continue;
    if (key === "properties" || key === "patternProperties" || key === "definitions") {
      out[key] = isObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripDocs(v)])) : value;
    } else if (key === "items" || key === "additionalProperties" || key === "not" || key === "additionalItems") {
      out[key] = Array.isArray(value) ? value.map(stripDocs) : stripDocs(value);
    } else if (key === "allOf" || key === "anyOf" || key === "oneOf") {
      out[key] = Array.isArray(value) ? value.map(stripDocs) : value;
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** JSON with keys sorted at every level and one-space indentation: byte-stable across runs and readable in diffs. */
export function stableJson(value: Json): string {
  return JSON.stringify(sortKeys(value), null, 1) + "\n";
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key] as Json);
  return out;
}

/**
 * Reads every CRD below crdsDir and returns the files to write, keyed by path relative to the
 * output folder (posix separators), index.json included. Throws when two CRDs define the same
 * group/version/kind, because validation could only pick one of them silently.
 */
export function extractCrdSchemas(crdsDir: string, extra: readonly CrdText[] = []): Map<string, string> {
  const files = new Map<string, string>();
  const index: CrdIndex = {};
  const inputs: CrdText[] = [...yamlFiles(crdsDir).map((path) => ({ source: relative(crdsDir, path).split("\\").join("/"), text: readFileSync(path, "utf8") })), ...extra];
  for (const { source, text } of inputs) {
    const docs = parseAllDocuments(text);
    for (const [i, doc] of docs.entries()) {
      if (doc.errors.length > 0) {
        throw new Error(`${source} document ${i + 1}: YAML error: ${doc.errors[0]?.message}; fix the file`);
      }
      const crd: unknown = doc.toJS();
      if (!isObject(crd) || crd.kind !== "CustomResourceDefinition") continue;
      const spec = crd.spec;
      if (!isObject(spec) || typeof spec.group !== "string" || !isObject(spec.names) || !Array.isArray(spec.versions)) {
        throw new Error(`${source} document ${i + 1}: CustomResourceDefinition without spec.group/names/versions`);
      }
      const group = spec.group;
      const kind = spec.names.kind;
      const plural = spec.names.plural;
      const scope = spec.scope;
      if (typeof kind !== "string" || typeof plural !== "string" || (scope !== "Namespaced" && scope !== "Cluster")) {
        throw new Error(`${source}: CRD for group ${group} lacks names.kind, names.plural or a valid scope`);
      }
      for (const version of spec.versions) {
        if (!isObject(version) || version.served !== true || typeof version.name !== "string") continue;
        const schema = isObject(version.schema) ? version.schema.openAPIV3Schema : undefined;
        if (!isObject(schema)) {
          throw new Error(`${source}: ${group}/${version.name} ${kind} is served but has no schema.openAPIV3Schema`);
        }
        const key = `${group}/${version.name}/${kind}`;
        const existing = index[key];
        if (existing) {
          throw new Error(`${key} is defined twice: in ${existing.source} and in ${source}; keep one`);
        }
        const file = `${group}/${kind}_${version.name}.json`;
        index[key] = { file, scope, plural, source };
        files.set(file, stableJson(stripDocs(schema)));
      }
    }
  }
  files.set(INDEX_FILE, stableJson(index as unknown as Json));
  return files;
}

export interface CrdText {
  /** Where it came from, for the index and error messages. */
  source: string;
  text: string;
}

/**
 * Charts whose CRDs exist only as chart templates (no crds/ folder, no upstream CRD file in the mirror): VolSync
 * ships its two CRDs as templates behind `manageCRDs`. Their schemas are read from the chart the tree installs.
 */
export const CHART_TEMPLATE_CRDS = ["volsync"] as const;

/**
 * Charts whose CRDs are in the chart's crds/ folder and nowhere in the mirror's crds/: Flagger (Canary, MetricTemplate,
 * AlertProvider; its templates/crd.yaml re-emits the same file only with crd.create, which the tree leaves off).
 */
export const CHART_FOLDER_CRDS = ["flagger"] as const;

/** The CRD files in the crds/ folder of the named charts below chartsDir (folders <chart>-<version>). */
export function chartFolderCrds(chartsDir: string, charts: readonly string[] = CHART_FOLDER_CRDS): CrdText[] {
  const out: CrdText[] = [];
  for (const dir of chartDirs(chartsDir, charts)) {
    let files: string[];
    try {
      files = yamlFiles(join(chartsDir, dir, "crds"));
    } catch {
      continue;
    }
    // Flagger's CRD file continues quoted descriptions at the key's indentation, which only Go's YAML reader takes.
    for (const path of files) out.push({ source: `charts/${relative(chartsDir, path).split("\\").join("/")}`, text: indentFlowScalarContinuations(readFileSync(path, "utf8")) });
  }
  return out;
}

function chartDirs(chartsDir: string, charts: readonly string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(chartsDir).sort();
  } catch {
    return [];
  }
  return charts.flatMap((chart) => names.filter((n) => n.startsWith(`${chart}-`) && /^\d/.test(n.slice(chart.length + 1))));
}

const GUARD = /^\s*\{\{-?\s*(if\s+\.Values\.[A-Za-z0-9_.]+|end)\s*-?\}\}\s*$/;

/**
 * The CRD templates of the named charts below chartsDir (folders <chart>-<version>): a template counts when it is a
 * CustomResourceDefinition once its `{{- if .Values.x }}` / `{{- end }}` guard lines are dropped; any other template
 * syntax in it is refused, because the schema would then be a guess at what helm renders.
 */
export function chartTemplateCrds(chartsDir: string, charts: readonly string[] = CHART_TEMPLATE_CRDS, folderCharts: readonly string[] = CHART_FOLDER_CRDS): CrdText[] {
  const out: CrdText[] = [];
  let names: string[];
  try {
    names = readdirSync(chartsDir).sort();
  } catch {
    return out;
  }
  for (const chart of charts) {
    for (const dir of names.filter((n) => n.startsWith(`${chart}-`) && /^\d/.test(n.slice(chart.length + 1)))) {
      const templates = join(chartsDir, dir, "templates");
      let files: string[];
      try {
        files = yamlFiles(templates);
      } catch {
        continue;
      }
      for (const path of files) {
        const raw = readFileSync(path, "utf8");
        if (!/^kind:\s*CustomResourceDefinition\s*$/m.test(raw)) continue;
        const text = raw
          .split("\n")
          .filter((l) => !GUARD.test(l))
          .join("\n");
        const source = `charts/${relative(join(chartsDir), path).split("\\").join("/")}`;
        if (text.includes("{{")) throw new Error(`${source}: a CRD template with template syntax besides its guard; add the CRD to the mirror's crds/ instead`);
        out.push({ source, text });
      }
    }
  }
  // The charts that ship their CRDs as plain files come along, so every caller installs both kinds.
  return [...out, ...chartFolderCrds(chartsDir, folderCharts)];
}
