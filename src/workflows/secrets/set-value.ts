/** `bk secrets set`: one plaintext value into the local value store, for the key that owns it. */
import { existsSync, readFileSync } from "node:fs";
import { InputError, UnavailableError } from "../../core/errors.js";
import { loadDefinition } from "../../model/load.js";
import { readSealedFiles } from "../../tree/sealed.js";
import { OWNED_DIRS } from "../../tree/tree.js";
import { findDeclared, sealedEntries } from "./sealed-entries.js";
import { DEFAULT_GENERATED_BYTES, generateValue, keyOrigin, MIN_GENERATED_BYTES, resolveValuesPath, secretRef, SecretValueStore, withSharedValues } from "./value-store.js";

/** Exactly one of value, fromFile and generate. */
export interface SetValueOptions {
  value?: string;
  /** A file, or "-" for standard input. */
  fromFile?: string;
  generate?: boolean;
  /** Random bytes for generate, as typed. */
  length?: string;
  /** --values: the value store file. */
  values?: string;
  dryRun?: boolean;
}

export interface SetValueRun {
  secret: string;
  key: string;
  store: string;
  /** Where the value came from, for people: never the value. */
  how: string;
  /** The store held a value for the key before. */
  replaced: boolean;
  changed: boolean;
  /** The seal command that brings the tree up to date. */
  next: string;
  /** A SealedSecret in the tree still holds the old value. */
  staleSealed: boolean;
}

function readValue(opts: SetValueOptions, stdin: (() => Buffer) | undefined): { value: string; how: string } {
  if (opts.generate) {
    const bytes = opts.length === undefined ? DEFAULT_GENERATED_BYTES : Number(opts.length);
    if (!Number.isInteger(bytes) || bytes < MIN_GENERATED_BYTES || bytes > 4096) throw new InputError(`--length ${opts.length}: give a whole number of random bytes from ${MIN_GENERATED_BYTES} to 4096`);
    return { value: generateValue(bytes), how: `generated (${bytes} random bytes, base64url)` };
  }
  if (opts.fromFile !== undefined) {
    let raw: Buffer;
    if (opts.fromFile === "-") raw = (stdin ?? (() => readFileSync(0)))();
    else {
      if (!existsSync(opts.fromFile)) throw new UnavailableError(`--from-file ${opts.fromFile} does not exist`);
      raw = readFileSync(opts.fromFile);
    }
    const value = raw.toString("utf8");
    if (!Buffer.from(value, "utf8").equals(raw)) throw new InputError(`--from-file ${opts.fromFile}: not UTF-8 text; the value store keeps text values only (base64-encode binary data first)`);
    return { value, how: `from ${opts.fromFile === "-" ? "standard input" : opts.fromFile} (${raw.length} bytes, kept exactly, trailing newline included)` };
  }
  const value = opts.value!;
  return { value, how: `from --value (${Buffer.byteLength(value)} bytes)` };
}

export function setSecretValue(root: string, ref: string, key: string, opts: SetValueOptions, ctx: { env: NodeJS.ProcessEnv; stdin?: () => Buffer }): SetValueRun {
  const { model } = loadDefinition(root);
  const secret = findDeclared(model, ref);
  const src = secret.keys[key];
  if (!src) throw new InputError(`${ref} declares no key ${JSON.stringify(key)}; its keys: ${Object.keys(secret.keys).sort().join(", ")}`);
  if (src.from === "literal") throw new InputError(`${ref} key ${key} is a literal in the definition (the owner ${secret.owner} sets it); change it there, not in the value store`);
  if (src.from === "same-as") {
    const origin = keyOrigin(model.secrets, secret, key);
    throw new InputError(`${ref} key ${key} takes its value from ${origin.ref} key ${origin.key} (same-as); set that one instead: bk secrets set ${origin.ref} ${origin.key} ...`);
  }
  const { value, how } = readValue(opts, ctx.stdin);
  if (value.length === 0) throw new InputError(`the value for ${ref} key ${key} is empty; an empty secret is almost always a mistake`);

  const loc = resolveValuesPath({ flag: opts.values, clusterName: model.cluster.name, root, env: ctx.env });
  const store = SecretValueStore.load(loc.path, model.cluster.name);
  const previous = store.get(ref, key);
  store.set(ref, key, value);
  const sharing = withSharedValues([secret], model.secrets).map(secretRef);
  const present = sealedEntries(readSealedFiles(root, OWNED_DIRS));
  const staleSealed = previous !== value && present.some((e) => sharing.includes(e.ref));
  if (!opts.dryRun) store.save();
  return { secret: ref, key, store: loc.path, how, replaced: previous !== undefined, changed: previous !== value, next: `bk secrets seal ${sharing.join(" ")}`, staleSealed };
}
