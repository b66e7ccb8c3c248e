/**
 * Validation of custom resources against the schemas generated into schemas/crds
 * (scripts/gen-crd-schemas.ts). The index is read on first use; each kind's schema is read,
 * converted and compiled on the first object of that kind, then reused.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import type { CrdIndex, CrdIndexEntry } from "./crd-extract.js";
import { goRegExpEngine, KNOWN_FORMAT_NAMES, KUBERNETES_FORMATS } from "./formats.js";
import type { SchemaIssue } from "./messages.js";
import { toAjvSchema } from "./structural.js";

/**
 * schemas/ sits at the package root: two levels above src/schema/ when run from source, and above
 * dist/schema/ or dist/src/schema/ when built; walk up rather than hard-code the depth.
 */
export function defaultSchemasDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "schemas", "crds");
    if (existsSync(join(candidate, "index.json"))) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "schemas", "crds");
}

export class CrdSchemas {
  private index: CrdIndex | undefined;
  private readonly compiled = new Map<string, ValidateFunction>();
  private ajv: Ajv | undefined;

  constructor(readonly dir: string = defaultSchemasDir()) {}

  /** The index entry of a custom kind, or undefined when no CRD defines it. */
  entry(apiVersion: string, kind: string): CrdIndexEntry | undefined {
    const index = this.loadIndex();
    const key = `${apiVersion}/${kind}`;
    return Object.hasOwn(index, key) ? index[key] : undefined;
  }

  /** Validates obj against the schema of its kind; the kind must have an entry. */
  validate(entry: CrdIndexEntry, obj: unknown): SchemaIssue[] {
    const fn = this.validator(entry);
    return fn(obj) ? [] : ((fn.errors ?? []) as SchemaIssue[]);
  }

  private loadIndex(): CrdIndex {
    if (this.index) return this.index;
    const file = join(this.dir, "index.json");
    if (!existsSync(file)) {
      throw new Error(`CRD schema index ${file} is missing; run "npm run gen:schemas" to generate schemas/crds`);
    }
    this.index = JSON.parse(readFileSync(file, "utf8")) as CrdIndex;
    return this.index;
  }

  /** The compiled validator of a kind (compiled on first call). */
  validator(entry: CrdIndexEntry): ValidateFunction {
    let fn = this.compiled.get(entry.file);
    if (fn) return fn;
    const raw = JSON.parse(readFileSync(join(this.dir, entry.file), "utf8")) as Record<string, unknown>;
    this.ajv ??= new Ajv({
      strict: false,
      allErrors: true,
      // parentSchema on errors lets an unknown-field message list the fields that do exist.
      verbose: true,
      validateSchema: false,
      addUsedSchema: false,
      logger: false,
      formats: KUBERNETES_FORMATS,
      code: { regExp: goRegExpEngine },
    });
    fn = this.ajv.compile(toAjvSchema(raw, KNOWN_FORMAT_NAMES));
    this.compiled.set(entry.file, fn);
    return fn;
  }
}
