/**
 * The plaintext values behind the declared secrets, kept on the operator's machine and never in the
 * repository: `bk secrets seal` reads them, generated values are saved here before anything is sealed
 * with them, and they outlive any controller key (incident 6: the values had to be re-created by hand).
 *
 * File shape: { "<namespace>/<name>": { "<key>": "<value>" } }, mode 0600 in a 0700 directory.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { parseDocument, stringify } from "yaml";
import { InputError } from "../../core/errors.js";
import type { DeclaredSecret } from "../../model/model.js";

export const VALUES_ENV = "BK_SECRET_VALUES";
export const VALUES_FILE = "secret-values.yaml";

/** Bytes of randomness in a generated value (base64url: 43 characters for 32 bytes). */
export const DEFAULT_GENERATED_BYTES = 32;
export const MIN_GENERATED_BYTES = 16;

/** Raised for a store that cannot be used as given: wrong place, unreadable shape. */
export class ValueStoreError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "ValueStoreError";
  }
}

export const secretRef = (s: Pick<DeclaredSecret, "namespace" | "name">): string => `${s.namespace}/${s.name}`;

export function generateValue(bytes = DEFAULT_GENERATED_BYTES): string {
  if (!Number.isInteger(bytes) || bytes < MIN_GENERATED_BYTES) {
    throw new ValueStoreError(`a generated value needs at least ${MIN_GENERATED_BYTES} random bytes, got ${bytes}`);
  }
  return randomBytes(bytes).toString("base64url");
}

// ---- where the store lives ----

export function defaultValuesPath(clusterName: string, env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || homedir(), ".config");
  return path.join(config, "beckerkube", clusterName, VALUES_FILE);
}

export interface ValuesLocation {
  path: string;
  /** Which setting chose it, so messages can say how to change it. */
  source: "--values" | typeof VALUES_ENV | "default";
}

export function resolveValuesPath(opts: { flag?: string | undefined; clusterName: string; root: string; env?: NodeJS.ProcessEnv }): ValuesLocation {
  const env = opts.env ?? process.env;
  const location: ValuesLocation = opts.flag
    ? { path: path.resolve(opts.flag), source: "--values" }
    : env[VALUES_ENV]
      ? { path: path.resolve(env[VALUES_ENV]), source: VALUES_ENV }
      : { path: defaultValuesPath(opts.clusterName, env), source: "default" };
  assertOutsideRepository(location.path, opts.root, `the secret value store ${location.path} (from ${location.source})`);
  return location;
}

/** The path with symlinks resolved as far as it exists, so a link into the repository is caught too. */
function realish(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let dir = abs;
  while (!existsSync(dir)) {
    rest.unshift(path.basename(dir));
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return path.join(realpathSync(dir), ...rest);
}

/**
 * Plaintext secrets and private keys must never sit inside the repository: one `git add -A` and they are
 * in the history for good. Refuses any path at or below the repository root (symlinks resolved).
 */
export function assertOutsideRepository(file: string, root: string, what: string, hint = `the default is ${path.join("${XDG_CONFIG_HOME:-~/.config}", "beckerkube", "<cluster>", VALUES_FILE)}`): void {
  const f = realish(file);
  const r = realish(root);
  const rel = path.relative(r, f);
  if (rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel))) {
    throw new ValueStoreError(`${what} is inside the repository ${r}; a plaintext file there could be committed. ` + `Use a path outside it (${hint}).`);
  }
}

// ---- private files ----

/**
 * Writes `content` to `file` readable by the owner only, atomically: a temporary file in the same
 * directory, flushed, then renamed over the target, so a crash never leaves half a file behind.
 * Directories it creates are 0700.
 */
export function writePrivateFileAtomically(file: string, content: string): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o600);
    writeSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    // openSync's mode is masked by the umask; the file must end up exactly 0600 whatever the umask is.
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Permission bits beyond the owner's, as "0644"; undefined when the file is private (or absent). */
export function looserThanOwner(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const mode = statSync(file).mode & 0o777;
  return mode & 0o077 ? `0${mode.toString(8)}` : undefined;
}

// ---- the store ----

export type StoredValues = Record<string, Record<string, string>>;

const HEADER = (clusterName: string) =>
  `# Plaintext values of BeckerKube's declared secrets (cluster ${clusterName}), written by \`bk secrets\`.\n` +
  "# Keep this file private (0600) and OUT of any Git repository; back it up like a password manager export.\n";

function parseStore(text: string, file: string): StoredValues {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ValueStoreError(`${file}: invalid YAML: ${doc.errors[0]!.message}`);
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new ValueStoreError(`${file}: expected a mapping of "<namespace>/<name>" to key/value mappings`);
  const out: StoredValues = {};
  for (const [ref, keys] of Object.entries(raw as Record<string, unknown>)) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(ref)) throw new ValueStoreError(`${file}: entry ${JSON.stringify(ref)} is not "<namespace>/<name>"`);
    if (keys === null || typeof keys !== "object" || Array.isArray(keys)) throw new ValueStoreError(`${file}: ${ref}: expected a mapping of key to value`);
    const entry: Record<string, string> = {};
    for (const [k, v] of Object.entries(keys as Record<string, unknown>)) {
      // Numbers and booleans would be sealed as their YAML spelling, which is rarely what was meant.
      if (typeof v !== "string") throw new ValueStoreError(`${file}: ${ref} key ${k}: value must be a string (quote it), got ${v === null ? "null" : typeof v}`);
      entry[k] = v;
    }
    out[ref] = entry;
  }
  return out;
}

export class SecretValueStore {
  private values: StoredValues;
  private dirty = false;

  private constructor(
    readonly path: string,
    readonly clusterName: string,
    values: StoredValues,
    readonly existed: boolean,
  ) {
    this.values = values;
  }

  /** A missing file is an empty store: the first `set` or `seal` creates it. */
  static load(file: string, clusterName: string): SecretValueStore {
    if (!existsSync(file)) return new SecretValueStore(file, clusterName, {}, false);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ValueStoreError(`cannot read the secret value store ${file}: ${(err as Error).message}`);
    }
    return new SecretValueStore(file, clusterName, parseStore(text, file), true);
  }

  get(ref: string, key: string): string | undefined {
    return this.values[ref]?.[key];
  }

  set(ref: string, key: string, value: string): void {
    const values = this.values[ref] ?? {};
    values[key] = value;
    this.values[ref] = values;
    this.dirty = true;
  }

  get changed(): boolean {
    return this.dirty;
  }

  /** Entries as stored: ref -> key names (never the values). */
  keys(): Array<{ ref: string; keys: string[] }> {
    return Object.keys(this.values)
      .sort()
      .map((ref) => ({ ref, keys: Object.keys(this.values[ref]!).sort() }));
  }

  render(): string {
    const sorted: StoredValues = {};
    for (const ref of Object.keys(this.values).sort()) {
      const entry = this.values[ref]!;
      sorted[ref] = Object.fromEntries(
        Object.keys(entry)
          .sort()
          .map((k) => [k, entry[k]!]),
      );
    }
    return HEADER(this.clusterName) + stringify(sorted, { lineWidth: 0 });
  }

  save(): void {
    writePrivateFileAtomically(this.path, this.render());
    this.dirty = false;
  }
}

// ---- where each declared key's value comes from ----

export interface KeyOrigin {
  /** The declared secret and key that own the value ("same-as" chains end here). */
  ref: string;
  key: string;
  source: "operator" | "generate" | "literal";
  literal?: string;
}

export const originId = (o: Pick<KeyOrigin, "ref" | "key">): string => `${o.ref}#${o.key}`;

/** Follows same-as links to the key that owns the value; throws on a dangling or circular link. */
export function keyOrigin(all: readonly DeclaredSecret[], secret: DeclaredSecret, key: string): KeyOrigin {
  const seen: string[] = [];
  let s = secret;
  let k = key;
  for (;;) {
    const id = `${secretRef(s)}#${k}`;
    if (seen.includes(id)) throw new ValueStoreError(`same-as links form a circle: ${[...seen, id].join(" -> ")}`);
    seen.push(id);
    const src = s.keys[k];
    if (!src) throw new ValueStoreError(`${seen.join(" -> ")}: ${secretRef(s)} declares no key ${JSON.stringify(k)}`);
    if (src.from !== "same-as") return { ref: secretRef(s), key: k, source: src.from, ...(src.from === "literal" ? { literal: src.value } : {}) };
    const next = all.find((x) => x.namespace === src.namespace && x.name === src.name);
    if (!next) throw new ValueStoreError(`${secretRef(s)} key ${k} is same-as ${src.namespace}/${src.name}, which is not declared`);
    s = next;
    k = src.key;
  }
}

/** The set command that fills an origin's value: what an operator copies from an error message. */
export function setCommand(o: Pick<KeyOrigin, "ref" | "key" | "source">): string {
  return o.source === "generate" ? `bk secrets set ${o.ref} ${o.key} --generate` : `bk secrets set ${o.ref} ${o.key} --from-file <file>   # or --value '<value>'`;
}

export interface KeyProblem {
  key: string;
  origin: KeyOrigin;
  message: string;
  fix: string;
}

export interface ResolveOptions {
  store: SecretValueStore;
  /** Values opened from the current SealedSecrets with old keys, by originId (reseal --from-key-backup). */
  recovered?: ReadonlyMap<string, string>;
  /** Origins whose value is already sealed somewhere in the tree: a new random value there would rotate it. */
  sealedOrigins: ReadonlySet<string>;
  generate?: () => string;
}

export interface Resolution {
  /** ref -> key -> plaintext, for every secret whose keys all resolved. */
  values: Map<string, Record<string, string>>;
  /** ref -> what is missing, for the others. */
  problems: Map<string, KeyProblem[]>;
  /** Origins that got a new random value (now in the store, unsaved). */
  generated: KeyOrigin[];
  /** Origins whose value came from the old keys (now in the store, unsaved). */
  recovered: KeyOrigin[];
}

/**
 * Resolves every key of `secrets`. Values come from the definition (literal), the store, recovered
 * SealedSecrets, or a fresh random value for "generate" keys; new values are put into the store (the
 * caller saves it before sealing, so a sealed value is never one nobody kept). Same-as keys read their
 * origin, so both sides always get the same value.
 */
export function resolveSecretValues(secrets: readonly DeclaredSecret[], all: readonly DeclaredSecret[], opts: ResolveOptions): Resolution {
  const res: Resolution = { values: new Map(), problems: new Map(), generated: [], recovered: [] };
  const gen = opts.generate ?? (() => generateValue());
  const originValue = (o: KeyOrigin): { value?: string; problem?: Omit<KeyProblem, "key" | "origin"> } => {
    if (o.source === "literal") return { value: o.literal ?? "" };
    const stored = opts.store.get(o.ref, o.key);
    if (stored !== undefined) return { value: stored };
    const recovered = opts.recovered?.get(originId(o));
    if (recovered !== undefined) {
      opts.store.set(o.ref, o.key, recovered);
      res.recovered.push(o);
      return { value: recovered };
    }
    if (o.source === "operator") {
      return { problem: { message: "not in the value store (the operator provides it)", fix: setCommand(o) } };
    }
    if (opts.sealedOrigins.has(originId(o))) {
      return {
        problem: {
          message: "its generated value is sealed in the tree but not in the value store; a new random value would silently change it",
          fix: `bk secrets reseal --from-key-backup <key backup> --cert <cert>   # recovers it; or change it on purpose: ${setCommand(o)}`,
        },
      };
    }
    const value = gen();
    opts.store.set(o.ref, o.key, value);
    res.generated.push(o);
    return { value };
  };

  for (const s of secrets) {
    const ref = secretRef(s);
    const data: Record<string, string> = {};
    const problems: KeyProblem[] = [];
    for (const key of Object.keys(s.keys).sort()) {
      const origin = keyOrigin(all, s, key);
      const { value, problem } = originValue(origin);
      const via = origin.ref === ref && origin.key === key ? "" : ` [same-as ${origin.ref} ${origin.key}]`;
      if (problem) problems.push({ key, origin, message: problem.message + via, fix: problem.fix });
      else data[key] = value!;
    }
    if (problems.length) res.problems.set(ref, problems);
    else res.values.set(ref, data);
  }
  return res;
}

/**
 * The selection plus every declared secret that shares a value with it through same-as, so sealing one
 * side of a shared password always reseals the other (a database password in two namespaces).
 */
export function withSharedValues(selected: readonly DeclaredSecret[], all: readonly DeclaredSecret[]): DeclaredSecret[] {
  const origins = new Map<string, Set<string>>(); // ref -> origin ids of its keys
  for (const s of all) origins.set(secretRef(s), new Set(Object.keys(s.keys).map((k) => originId(keyOrigin(all, s, k)))));
  const chosen = new Set(selected.map(secretRef));
  for (let grew = true; grew; ) {
    grew = false;
    const wanted = new Set([...chosen].flatMap((r) => [...(origins.get(r) ?? [])]));
    for (const s of all) {
      const r = secretRef(s);
      if (chosen.has(r)) continue;
      if ([...origins.get(r)!].some((o) => wanted.has(o))) {
        chosen.add(r);
        grew = true;
      }
    }
  }
  return all.filter((s) => chosen.has(secretRef(s)));
}
