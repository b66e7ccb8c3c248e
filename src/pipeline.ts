/**
 * The one path from the repository to a generated tree, shared by every command:
 * load the definition, read the SealedSecrets already in the tree, synthesize, render docs.
 * This is where the pure layers meet; none of them calls another's entry point.
 */
import { renderArchitecture } from "./docs/architecture.js";
import { DEFINITION_REFERENCE, renderDefinitionReference } from "./docs/definition-reference.js";
import { renderDefinitionSchemas } from "./docs/definition-schema.js";
import { loadDefinition, type Loaded } from "./model/load.js";
import type { ComponentModel, Model } from "./model/model.js";
import type { Finding } from "./core/finding.js";
import { objectRef, type PlacedObject } from "./core/object.js";
import { parseFieldPath } from "./core/paths.js";
import { componentValueOrigin, componentValues } from "./synth/apps.js";
import { helmRepositoryName } from "./synth/builders.js";
import { synthesize } from "./synth/index.js";
import { lineOf, renderPath, type Overrides, type Path, type SourceFile } from "./model/source.js";
import { readSealedFiles, type SealedFile } from "./tree/sealed.js";
import { assembleTree, OWNED_DIRS, type GeneratedTree } from "./tree/tree.js";

export interface Generated extends Loaded {
  tree: GeneratedTree;
}

/** `overrides` replaces definition files by path (relative to root) without touching the disk. */
export function generate(root: string, overrides?: Overrides): Generated {
  const loaded = loadDefinition(root, undefined, overrides);
  const sealed = readSealedFiles(root, OWNED_DIRS);
  const docs = new Map([["docs/architecture.md", renderArchitecture(loaded.model)], [DEFINITION_REFERENCE, renderDefinitionReference()], ...renderDefinitionSchemas()]);
  return { ...loaded, tree: treeFrom(loaded.model, sealed, docs) };
}

/** The tree for a Model with these SealedSecrets and docs: synthesis, then the files around it. */
export function treeFrom(m: Model, sealed: readonly SealedFile[], docs: ReadonlyMap<string, string>): GeneratedTree {
  return assembleTree(
    m,
    synthesize(
      m,
      sealed.flatMap((s) => s.objects),
    ),
    sealed,
    docs,
  );
}

/**
 * Findings on generated and rendered objects, traced back to the definition entry they come from, so every
 * finding names a definition file, line and field to edit and keeps the generated object as context:
 * - a value an application component writes into its HelmRelease: the component field it comes from;
 * - an object our chart renders for a component: the component field behind the container field, else the component;
 * - an infrastructure HelmRelease, its values, and every object its upstream chart renders: the chart pin
 *   that declares the release (`charts.<key>` of infrastructure.yaml).
 * What synthesis derives (hosts, ports, labels) keeps naming the generated object.
 */
const VALUES = "spec.values";
// The definition's own way to the fix the policy rule phrases in Kubernetes terms.
const CREDENTIAL_IN_ENV = "declare the value under this application's `secrets`, reference it from the component's `secretEnv` (NAME: <secret>/<key>) instead of `env`, then `bk secrets set` and `bk secrets seal` it";

type Origin = { src: SourceFile; path: Path };

export function locateFindings(findings: readonly Finding[], loaded: Loaded & { tree?: { objects: readonly PlacedObject[] } }): Finding[] {
  const { model, sources } = loaded;
  const components = new Map(model.components.map((c) => [`HelmRelease/${c.namespace}/${c.fullname}`, c]));
  const pins = infraReleasePins(loaded);
  const originOf = (f: Finding): Origin | undefined => {
    const release = f.renderedBy ?? f.object;
    if (!release) return undefined;
    const c = components.get(release);
    const appSrc = c && sources.apps.get(c.app);
    if (c && appSrc) {
      const rel = f.renderedBy ? renderedComponentOrigin(f) : valuesOrigin(model, c, f.field);
      return rel ? { src: appSrc, path: ["components", c.name, ...rel] } : undefined;
    }
    const key = pins.get(release);
    return key ? { src: sources.infra, path: ["charts", key] } : undefined;
  };
  return findings.map((f) => {
    const o = originOf(f);
    if (!o) return f;
    const line = lineOf(o.src, o.path);
    const { object, line: _treeLine, renderedBy: _r, ...rest } = f;
    const fix = f.rule === "secrets/credential-literal" && o.path[2] === "env" ? CREDENTIAL_IN_ENV : f.fix;
    const generated = { ...(f.file ? { file: f.file } : {}), ...(object ? { object } : {}), ...(f.field ? { field: f.field } : {}) };
    return { ...rest, fix, file: o.src.file, ...(line ? { line } : {}), field: renderPath(o.path), generated };
  });
}

/** A finding on a component's HelmRelease values: the component field that wrote the value. */
function valuesOrigin(model: Loaded["model"], c: ComponentModel, field: string | undefined): Path | undefined {
  if (!field || !(field === VALUES || field.startsWith(`${VALUES}.`) || field.startsWith(`${VALUES}[`))) return undefined;
  const inValues = parseFieldPath(field.slice(VALUES.length).replace(/^\./, ""));
  if (!inValues) return undefined;
  if (inValues[0] === "secretEnv" && typeof inValues[1] === "number") {
    // The chart takes secretEnv as a sorted list; the definition keys it by variable name.
    const list = componentValues(model, c).secretEnv as Array<{ name: string }>;
    const name = list[inValues[1]]?.name;
    if (name && c.secretEnv.some((e) => e.name === name)) return ["secretEnv", name];
    return name === "DATABASE_PASSWORD" && c.database ? ["database"] : undefined;
  }
  return componentValueOrigin(c, inValues);
}

// The fields of the main container our chart renders from a component field of the same meaning (charts/app).
const CONTAINER_FIELDS: Record<string, Path> = {
  image: ["tag"],
  resources: ["resources"],
  livenessProbe: ["probes", "liveness"],
  readinessProbe: ["probes", "readiness"],
  command: ["command"],
  args: ["args"],
  env: ["env"],
};

/** An object our chart rendered for a component: the component field behind the finding, else the component itself. */
function renderedComponentOrigin(f: Finding): Path {
  const p = f.field ? parseFieldPath(f.field) : undefined;
  const kind = f.object?.split("/")[0];
  if (!p) return [];
  if (kind === "Job") return ["migration"];
  if (kind === "CronJob") return ["cronJobs"];
  if (kind === "Deployment" || kind === "StatefulSet") {
    if (p.length === 2 && p[0] === "spec" && p[1] === "replicas") return ["replicas"];
    const [s, t, s2, containers, index, name] = p;
    if (s === "spec" && t === "template" && s2 === "spec" && containers === "containers" && index === 0 && typeof name === "string") return CONTAINER_FIELDS[name] ?? [];
  }
  return [];
}

/** Every infrastructure HelmRelease of the tree, by the key of the chart pin it installs. */
function infraReleasePins(loaded: Loaded & { tree?: { objects: readonly PlacedObject[] } }): Map<string, string> {
  const out = new Map<string, string>();
  const byPin = new Map(Object.entries(loaded.model.charts).map(([key, pin]) => [`${helmRepositoryName(pin)}/${pin.chart}@${pin.version}`, key]));
  for (const { object: o } of loaded.tree?.objects ?? []) {
    if (o.kind !== "HelmRelease") continue;
    const spec = (o as { spec?: { chart?: { spec?: { chart?: string; version?: string; sourceRef?: { name?: string } } } } }).spec?.chart?.spec;
    const key = spec && byPin.get(`${spec.sourceRef?.name}/${spec.chart}@${spec.version}`);
    if (key) out.set(objectRef(o), key);
  }
  return out;
}
