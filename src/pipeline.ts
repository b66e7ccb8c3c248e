/**
 * The one path from the repository to a generated tree, shared by every command:
 * load the definition, read the SealedSecrets already in the tree, synthesize, render docs.
 * This is where the pure layers meet; none of them calls another's entry point.
 */
import { renderArchitecture } from "./docs/architecture.js";
import { DEFINITION_REFERENCE, renderDefinitionReference } from "./docs/definition-reference.js";
import { renderDefinitionSchemas } from "./docs/definition-schema.js";
import { loadDefinition, type Loaded } from "./model/load.js";
import type { Model } from "./model/model.js";
import type { Overrides } from "./model/source.js";
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

export { locateFindings } from "./locate.js";
