/**
 * The one path from the repository to a generated tree, shared by every command:
 * load the definition, read the SealedSecrets already in the tree, synthesize, render docs.
 * This is where the pure layers meet; none of them calls another's entry point.
 */
import { renderArchitecture } from "./docs/architecture.js";
import { DEFINITION_REFERENCE, renderDefinitionReference } from "./docs/definition-reference.js";
import { renderDefinitionSchemas } from "./docs/definition-schema.js";
import type { Finding } from "./core/finding.js";
import { parseFieldPath } from "./core/paths.js";
import { loadDefinition, type Loaded } from "./model/load.js";
import type { Model } from "./model/model.js";
import { lineOf, renderPath, type Overrides } from "./model/source.js";
import { componentValueOrigin } from "./synth/apps.js";
import { synthesize } from "./synth/index.js";
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

const VALUES = "spec.values";
// The definition's own way to the fix the policy rule phrases in Kubernetes terms.
const CREDENTIAL_IN_ENV = "declare the value under this application's `secrets`, reference it from the component's `secretEnv` (NAME: <secret>/<key>) instead of `env`, then `bk secrets set` and `bk secrets seal` it";

/**
 * Findings on generated objects, traced back to the definition value they come from where synthesis can say:
 * such a finding then names the definition file, line and field to edit, and keeps the generated object as
 * context. Today that is every value an application component writes into its HelmRelease (image tag, env,
 * command, probes, resources, ...); findings on other objects keep naming the generated object.
 */
export function locateFindings(findings: readonly Finding[], loaded: Loaded): Finding[] {
  const { model, sources } = loaded;
  const releases = new Map(model.components.map((c) => [`HelmRelease/${c.namespace}/${c.fullname}`, c]));
  return findings.map((f) => {
    const c = f.object ? releases.get(f.object) : undefined;
    const src = c && sources.apps.get(c.app);
    if (!c || !src || !f.field || !(f.field === VALUES || f.field.startsWith(`${VALUES}.`) || f.field.startsWith(`${VALUES}[`))) return f;
    const inValues = parseFieldPath(f.field.slice(VALUES.length).replace(/^\./, ""));
    const rel = inValues && componentValueOrigin(c, inValues);
    if (!rel) return f;
    const defPath = ["components", c.name, ...rel];
    const line = lineOf(src, defPath);
    const { object, line: _treeLine, ...rest } = f;
    const fix = f.rule === "secrets/credential-literal" && rel[0] === "env" ? CREDENTIAL_IN_ENV : f.fix;
    return { ...rest, fix, file: src.file, ...(line ? { line } : {}), field: renderPath(defPath), generated: { ...(f.file ? { file: f.file } : {}), object: object!, field: f.field } };
  });
}
