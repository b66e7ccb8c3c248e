/**
 * The whole generated tree as file contents: synthesized objects, carried-over SealedSecrets,
 * derived kustomizations, and the generated documentation. Synthesis itself is the caller's (src/pipeline.ts).
 */
import type { PlacedObject } from "../core/object.js";
import type { Model } from "../model/model.js";
import { CONFIGS, CONTROLLERS, APPS, GENERATED_ROOTS } from "../model/layout.js";
import { groupByFile, renderFile } from "./emit.js";
import { deriveKustomizations } from "./kustomize.js";
import type { SealedFile } from "./sealed.js";

export const GENERATED_FILES = [
  "docs/architecture.md",
  "docs/definition.md",
  "definition/.schema/cluster.json",
  "definition/.schema/infrastructure.json",
  "definition/.schema/app.json",
  "definition/.schema/policy-exceptions.json",
] as const;

export interface GeneratedTree {
  /** path -> content for everything `bk synth` owns. */
  files: Map<string, string>;
  /** Every object in the tree with its file: synthesized ones and the SealedSecrets carried over. */
  objects: PlacedObject[];
  /** Directories Flux Kustomizations point at. */
  kustomizationRoots: string[];
}

export function kustomizationRoots(m: Model): string[] {
  // The other profiles' entry points (synth/profiles.ts) beside the base one.
  return [...new Set([m.gitops.path, ...(m.profiles ?? []).map((p) => p.path)]), CONTROLLERS, CONFIGS, APPS];
}

/** Lays out synthesized objects, the SealedSecrets carried over and the generated docs as files, with derived kustomizations. */
export function assembleTree(m: Model, synthesized: readonly PlacedObject[], sealed: readonly SealedFile[], docs: ReadonlyMap<string, string>): GeneratedTree {
  const files = new Map<string, string>();
  for (const [file, objects] of groupByFile(synthesized)) files.set(file, renderFile(objects));
  const objects: PlacedObject[] = [...synthesized];
  for (const s of sealed) {
    files.set(s.file, s.content);
    for (const object of s.objects) objects.push({ object, file: s.file });
  }
  const roots = kustomizationRoots(m);
  for (const [file, content] of deriveKustomizations([...files.keys()], roots)) files.set(file, content);
  for (const [file, content] of docs) files.set(file, content);
  const sorted = new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { files: sorted, objects, kustomizationRoots: roots };
}

export const OWNED_DIRS: readonly string[] = GENERATED_ROOTS;
