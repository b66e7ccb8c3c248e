/**
 * Validation of custom resources against the schemas generated into schemas/crds
 * (scripts/gen-crd-schemas.ts). The index is read on first use; each kind's schema is read,
 * converted and compiled on the first object of that kind, then reused. Compiled validators are
 * kept on disk between runs (see standalone.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CrdIndex, CrdIndexEntry } from "./crd-extract.js";
import { KNOWN_FORMAT_NAMES } from "./formats.js";
import type { SchemaIssue } from "./messages.js";
import type { CachedScript } from "./script-cache.js";
import { defaultValidatorCacheDir, loadValidator, type CompiledValidator } from "./standalone.js";
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

export interface CrdSchemasOptions {
  /** Where compiled validators are cached; null compiles in memory only. Default: defaultValidatorCacheDir(). */
  cacheDir?: string | null;
}

export class CrdSchemas {
  private index: CrdIndex | undefined;
  private readonly compiled = new Map<string, CachedScript<CompiledValidator>>();
  private readonly cacheDir: string | null;

  constructor(
    readonly dir: string = defaultSchemasDir(),
    options: CrdSchemasOptions = {},
  ) {
    this.cacheDir = options.cacheDir === undefined ? defaultValidatorCacheDir() : options.cacheDir;
  }

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

  /** The compiled validator of a kind (loaded or compiled on first call). */
  validator(entry: CrdIndexEntry): CompiledValidator {
    let cached = this.compiled.get(entry.file);
    if (!cached) {
      const text = readFileSync(join(this.dir, entry.file), "utf8");
      const convert = () => toAjvSchema(JSON.parse(text) as Record<string, unknown>, KNOWN_FORMAT_NAMES);
      cached = loadValidator({ text, convert, name: entry.file.replace(/\.json$/, "").replaceAll("/", "_") }, this.cacheDir);
      this.compiled.set(entry.file, cached);
    }
    return cached.value;
  }

  /** Stores what this run compiled for the next one; call after validating, so V8's cache holds the compiled code. */
  persistCompiled(): void {
    for (const cached of this.compiled.values()) cached.persist();
  }
}
