/**
 * The one path from the repository to a generated tree, shared by every command:
 * load the definition, read the SealedSecrets already in the tree, synthesize, render docs.
 */
import { renderArchitecture } from "./docs/architecture.js";
import { renderDefinitionSchemas } from "./docs/definition-schema.js";
import { loadDefinition, type Loaded } from "./model/load.js";
import type { Overrides } from "./model/source.js";
import { readSealedFiles } from "./tree/sealed.js";
import { buildTree, OWNED_DIRS, type GeneratedTree } from "./tree/tree.js";

export interface Generated extends Loaded {
  tree: GeneratedTree;
}

/** `overrides` replaces definition files by path (relative to root) without touching the disk. */
export function generate(root: string, overrides?: Overrides): Generated {
  const loaded = loadDefinition(root, undefined, overrides);
  const sealed = readSealedFiles(root, OWNED_DIRS);
  const docs = new Map([["docs/architecture.md", renderArchitecture(loaded.model)], ...renderDefinitionSchemas()]);
  return { ...loaded, tree: buildTree(loaded.model, sealed, docs) };
}
