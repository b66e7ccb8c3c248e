/**
 * Compiled CRD validators that survive the process.
 *
 * Compiling a big CRD schema with ajv (CloudNativePG Cluster, HelmRelease, ...) costs hundreds of
 * milliseconds, and V8 compiling the generated megabyte-sized function on its first call costs tens
 * more. Both are paid once per schema, not once per run:
 *
 * - ajv's standalone code generation writes the validator as JavaScript into
 *   ${XDG_CACHE_HOME:-~/.cache}/beckerkube/validators/<name>-<key>.js, where the key hashes everything
 *   the code depends on: the schema file, ajv's version, and the source of the modules that turn
 *   the file into ajv's input and options (structural.ts, formats.ts, this module). A later run
 *   neither converts the schema nor loads ajv's compiler.
 * - Beside it, <name>-<key>.<V8 version>.v8cache keeps V8's code cache taken after the validator
 *   ran, so the next run also skips parsing and bytecode generation. V8 checks that cache itself
 *   (version, flags, source) and ignores it when it does not fit; a fresh one is then written.
 *
 * The cache is an optimisation only: when it cannot be read or written (read-only home, a corrupt
 * file) the validator is compiled in memory and validation is unchanged.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { FORMATS_MODULE_URL, goRegExpEngine, KUBERNETES_FORMATS } from "./formats.js";
import type { SchemaIssue } from "./messages.js";
import { STRUCTURAL_MODULE_URL } from "./structural.js";

/** What a compiled validator looks like to its callers: ajv's ValidateFunction, reduced to what is read. */
export type CompiledValidator = ((data: unknown) => boolean) & { errors?: SchemaIssue[] | null };

/** A validator plus the hook that stores V8's code cache once the validator has run. */
export interface CachedValidator {
  validate: CompiledValidator;
  /** Writes the V8 code cache if this run had none that V8 accepted; call after validating. */
  persist(): void;
}

type Factory = (req: NodeJS.Require, formats: typeof KUBERNETES_FORMATS, regExpEngine: typeof goRegExpEngine) => CompiledValidator;

// ajv is CommonJS: require() keeps compilation synchronous and loads the compiler only on a cache miss.
const require = createRequire(import.meta.url);

/**
 * ajv options for CRD schemas. allErrors reports every problem of an object at once; verbose adds
 * parentSchema to errors so an unknown-field message can list the fields that do exist.
 */
const AJV_OPTIONS = {
  strict: false,
  allErrors: true,
  verbose: true,
  validateSchema: false,
  addUsedSchema: false,
  logger: false,
} as const;

let codeFingerprint: string | null | undefined;
let compiler: { ajv: import("ajv").Ajv; standaloneCode: (ajv: import("ajv").Ajv, fn: unknown) => string } | undefined;

/** ${XDG_CACHE_HOME:-~/.cache}/beckerkube/validators */
export function defaultValidatorCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), ".cache");
  return join(base, "beckerkube", "validators");
}

/**
 * ajv's version and the source text of the modules that shape the generated code. Hashing the
 * source (rather than a revision number someone must remember to bump) means any edit to the
 * conversion, the formats or the options below makes new cache entries. null when a source
 * cannot be read: then nothing is cached, rather than risking a stale validator.
 */
function fingerprint(): string | null {
  if (codeFingerprint === undefined) {
    try {
      const hash = createHash("sha256").update(`ajv ${(require("ajv/package.json") as { version: string }).version}\0`);
      for (const url of [STRUCTURAL_MODULE_URL, FORMATS_MODULE_URL, import.meta.url]) hash.update(readFileSync(fileURLToPath(url))).update("\0");
      codeFingerprint = hash.digest("hex");
    } catch {
      codeFingerprint = null;
    }
  }
  return codeFingerprint;
}

/** Cache key of a schema file's validator; null when the cache cannot be used (see fingerprint()). */
export function validatorKey(schemaText: string): string | null {
  const code = fingerprint();
  return code === null ? null : createHash("sha256").update(code).update(schemaText).digest("hex").slice(0, 24);
}

/** ajv's standalone code for the schema, wrapped as a function expression taking its free variables. */
export function generateValidatorSource(schema: object, label: string): string {
  if (!compiler) {
    const { Ajv, _ } = require("ajv") as typeof import("ajv");
    const standalone = require("ajv/dist/standalone") as { default: (ajv: import("ajv").Ajv, fn: unknown) => string };
    compiler = {
      ajv: new Ajv({
        ...AJV_OPTIONS,
        formats: KUBERNETES_FORMATS,
        // The generated code names these free variables; the wrapper below binds them.
        code: { source: true, regExp: goRegExpEngine, formats: _`formats` },
      }),
      standaloneCode: standalone.default,
    };
  }
  const code = compiler.standaloneCode(compiler.ajv, compiler.ajv.compile(schema));
  return (
    `// Generated by beckerkube from ${label} by ajv's standalone code generation; safe to delete.\n` +
    `(function (require, formats, ${goRegExpEngine.code}) {\n"use strict";\nconst module = { exports: {} };\n${code}\nreturn module.exports;\n})\n`
  );
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Writes via a temporary file and rename, so a concurrent run never reads half a file. */
function writeAtomically(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}

function instantiate(source: string, filename: string, cachedData: Buffer | undefined): { validate: CompiledValidator; script: Script; cacheAccepted: boolean } {
  const script = new Script(source, { filename, ...(cachedData ? { cachedData } : {}) });
  const factory = script.runInThisContext() as Factory;
  const validate = factory(require, KUBERNETES_FORMATS, goRegExpEngine);
  if (typeof validate !== "function") throw new Error(`${filename} did not produce a validator function`);
  return { validate, script, cacheAccepted: cachedData !== undefined && script.cachedDataRejected !== true };
}

export interface ValidatorSource {
  /** The schema file's text: the cache key. */
  text: string;
  /** The schema as ajv compiles it; only called on a cache miss. */
  convert: () => object;
  /** Makes the cache files readable, e.g. "postgresql.cnpg.io_Cluster_v1". */
  name: string;
}

/**
 * The validator of a CRD schema: loaded from the cache when present, else generated (and stored
 * when cacheDir is set; null keeps everything in memory).
 */
export function loadValidator(source: ValidatorSource, cacheDir: string | null): CachedValidator {
  const { name } = source;
  const key = cacheDir === null ? null : validatorKey(source.text);
  if (cacheDir === null || key === null) {
    const { validate } = instantiate(generateValidatorSource(source.convert(), name), `${name}.js`, undefined);
    return { validate, persist: () => {} };
  }
  const base = join(cacheDir, `${name.replace(/[^A-Za-z0-9._-]/g, "_")}-${key}`);
  const jsFile = `${base}.js`;
  const codeCacheFile = `${base}.${process.versions.v8.replace(/[^A-Za-z0-9.]/g, "_")}.v8cache`;

  let loaded: ReturnType<typeof instantiate> | undefined;
  const cached = readOrUndefined(jsFile);
  if (cached) {
    try {
      loaded = instantiate(cached.toString("utf8"), jsFile, readOrUndefined(codeCacheFile));
    } catch {
      // A damaged cache file: regenerate below.
      loaded = undefined;
    }
  }
  if (!loaded) {
    const code = generateValidatorSource(source.convert(), name);
    try {
      mkdirSync(cacheDir, { recursive: true });
      writeAtomically(jsFile, code);
    } catch {
      // No writable cache: validation works the same, only slower next time.
    }
    loaded = instantiate(code, jsFile, undefined);
  }
  const { validate, script, cacheAccepted } = loaded;
  let persisted = cacheAccepted;
  return {
    validate,
    persist() {
      if (persisted) return;
      persisted = true;
      try {
        // Taken after the validator ran, so the cache holds the bytecode of the functions it compiled lazily.
        writeAtomically(codeCacheFile, script.createCachedData());
      } catch {
        // Only an optimisation.
      }
    },
  };
}
