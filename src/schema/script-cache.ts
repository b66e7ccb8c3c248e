/**
 * Generated JavaScript kept on disk between runs, with V8's code cache beside it.
 *
 * A cached script is one function expression. It lives in
 * ${XDG_CACHE_HOME:-~/.cache}/beckerkube/validators/<name>-<key>.js, where the caller's key
 * hashes everything the code depends on, so a stale file is never picked up: a change makes a new
 * key. Beside it, <name>-<key>.<V8 version>.v8cache holds V8's code cache, taken after the code ran
 * (persist()), so it also covers the functions V8 compiled lazily; the next run skips parsing and
 * compiling them. V8 checks that cache itself (version, flags, source) and ignores one that does
 * not fit; a fresh one is then written.
 *
 * The cache only saves time: when it cannot be read or written (read-only home, a damaged file),
 * the code is generated and run in memory, with the same result. Entries of old keys are never
 * read again; files not written for PRUNE_AFTER_DAYS are removed when a miss writes a new one
 * (an entry still in use is then simply generated again).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { userCacheDir } from "../core/cache-dir.js";
import { dirname, join } from "node:path";
import { Script } from "node:vm";

/** ${XDG_CACHE_HOME:-~/.cache}/beckerkube/validators */
export function defaultValidatorCacheDir(): string {
  return userCacheDir("validators");
}

export interface CachedScriptOptions<T> {
  /** Folder of the cache; null generates in memory only. */
  cacheDir: string | null;
  /** Readable part of the file name, e.g. "postgresql.cnpg.io_Cluster_v1". */
  name: string;
  /** Hash of everything the generated code depends on; null disables caching for this script. */
  key: string | null;
  /** The script's source: one function expression. Only called on a cache miss. */
  generate: () => string;
  /** Turns the evaluated function expression into the value; throws when it is not what it should be. */
  instantiate: (fn: unknown) => T;
}

export interface CachedScript<T> {
  value: T;
  /** Writes V8's code cache unless this run used one V8 accepted. Call once the value has been used. */
  persist(): void;
}

/** A cache file's bytes, or undefined when it cannot be read. */
export function readCacheFile(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Writes a cache file via a temporary file and a rename, so a concurrent run never reads half a file. Failures are ignored. */
export function writeCacheFile(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The folder itself is unusable; nothing was written.
    }
  }
}

function run<T>(source: string, filename: string, cachedData: Buffer | undefined, instantiate: (fn: unknown) => T) {
  const script = new Script(source, { filename, ...(cachedData ? { cachedData } : {}) });
  const value = instantiate(script.runInThisContext());
  return { value, script, cacheAccepted: cachedData !== undefined && script.cachedDataRejected !== true };
}

const NO_PERSIST = () => {};
const PRUNE_AFTER_DAYS = 30;
const pruned = new Set<string>();

/** Removes cache files older than PRUNE_AFTER_DAYS, once per folder and process. */
function pruneOld(cacheDir: string): void {
  if (pruned.has(cacheDir)) return;
  pruned.add(cacheDir);
  const cutoff = Date.now() - PRUNE_AFTER_DAYS * 86_400_000;
  try {
    for (const name of readdirSync(cacheDir)) {
      const file = join(cacheDir, name);
      if (statSync(file).mtimeMs < cutoff) rmSync(file, { force: true });
    }
  } catch {
    // Pruning is housekeeping; a failure leaves old files behind, nothing else.
  }
}

export function loadCachedScript<T>(opts: CachedScriptOptions<T>): CachedScript<T> {
  const { cacheDir, key, name } = opts;
  if (cacheDir === null || key === null) {
    return { value: run(opts.generate(), `${name}.js`, undefined, opts.instantiate).value, persist: NO_PERSIST };
  }
  const base = join(cacheDir, `${name.replace(/[^A-Za-z0-9._-]/g, "_")}-${key}`);
  const jsFile = `${base}.js`;
  const codeCacheFile = `${base}.${process.versions.v8.replace(/[^A-Za-z0-9.]/g, "_")}.v8cache`;

  let loaded: ReturnType<typeof run<T>> | undefined;
  const cached = readCacheFile(jsFile);
  if (cached) {
    try {
      loaded = run(cached.toString("utf8"), jsFile, readCacheFile(codeCacheFile), opts.instantiate);
    } catch {
      // A damaged cache file: generate it again below.
      loaded = undefined;
    }
  }
  if (!loaded) {
    const source = opts.generate();
    // Without a writable cache the result is the same, only the next run is slower.
    writeCacheFile(jsFile, source);
    pruneOld(cacheDir);
    loaded = run(source, jsFile, undefined, opts.instantiate);
  }
  const { value, script, cacheAccepted } = loaded;
  let persisted = cacheAccepted;
  return {
    value,
    persist() {
      if (persisted) return;
      persisted = true;
      try {
        writeCacheFile(codeCacheFile, script.createCachedData());
      } catch {
        // Only an optimisation.
      }
    },
  };
}
