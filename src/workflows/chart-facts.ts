/**
 * What the values lint needs to know of a chart, read from its folder: values.yaml, values.schema.json, the
 * template texts and, recursively, each unpacked subchart under charts/ with the key its values live at.
 * Read once per chart folder in a process; the lint itself (validate/values-lint.ts) is pure.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import type { ChartFacts } from "../validate/values-lint.js";

interface ChartYaml {
  name?: string;
  version?: string;
  dependencies?: Array<{ name?: string; alias?: string; condition?: string }>;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function readYaml(file: string): unknown {
  return existsSync(file) ? parse(readFileSync(file, "utf8")) : undefined;
}

/** Every template text under `dir` (the chart's templates/, subfolders included). */
function templateTexts(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...templateTexts(p));
    else if (/\.(ya?ml|tpl|txt)$/.test(entry)) out.push(readFileSync(p, "utf8"));
  }
  return out;
}

/** A dependency's condition (`a.enabled`, or several comma-separated: Helm uses the first that is set). */
const conditionPaths = (condition: string | undefined) =>
  (condition ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean)
    .map((c) => c.split("."));

const cache = new Map<string, ChartFacts>();

/** The chart's facts; `version` (its digest) keeps a folder that changed within one process from being read stale. */
export function chartFacts(dir: string, version = ""): ChartFacts {
  const key = `${dir}\0${version}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const meta = (readYaml(path.join(dir, "Chart.yaml")) ?? {}) as ChartYaml;
  const defaults = readYaml(path.join(dir, "values.yaml"));
  const schemaFile = path.join(dir, "values.schema.json");
  const deps = meta.dependencies ?? [];
  const subcharts: ChartFacts["subcharts"] = [];
  const chartsDir = path.join(dir, "charts");
  if (existsSync(chartsDir)) {
    for (const entry of readdirSync(chartsDir).sort()) {
      const sub = path.join(chartsDir, entry);
      if (!statSync(sub).isDirectory() || !existsSync(path.join(sub, "Chart.yaml"))) continue;
      const facts = chartFacts(sub, version);
      const dep = deps.find((d) => d.name === facts.name);
      const condition = conditionPaths(dep?.condition)[0];
      subcharts.push({ key: dep?.alias ?? facts.name, ...(condition ? { condition } : {}), chart: facts });
    }
  }
  const facts: ChartFacts = {
    name: meta.name ?? path.basename(dir),
    version: String(meta.version ?? ""),
    defaults: isMap(defaults) ? defaults : {},
    ...(existsSync(schemaFile) ? { schema: JSON.parse(readFileSync(schemaFile, "utf8")) as Record<string, unknown> } : {}),
    templates: templateTexts(path.join(dir, "templates")),
    conditions: deps.flatMap((d) => conditionPaths(d.condition)),
    subcharts,
  };
  cache.set(key, facts);
  return facts;
}
