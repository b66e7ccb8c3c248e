/**
 * Offline verification: opens every SealedSecret of the tree with a key backup, as the controller of a
 * rebuilt cluster would. The pre-flight before a rebuild, and the proof a fresh backup is complete.
 */
import { createPublicKey } from "node:crypto";
import { existsSync } from "node:fs";
import { InputError, UnavailableError } from "../../core/errors.js";
import { loadDefinition } from "../../model/load.js";
import type { Model } from "../../model/model.js";
import { loadKeyBackupFile, publicKeyFingerprint, type KeyBackup } from "../../sealing/keys.js";
import { NO_KEY_COULD_DECRYPT, UnsealError, unsealSecret } from "../../sealing/sealing.js";
import { readSealedFiles, type SealedFile } from "../../tree/sealed.js";
import { OWNED_DIRS } from "../../tree/tree.js";
import { sealedEntries } from "./sealed-entries.js";
import { keyOrigin, secretRef } from "./value-store.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export interface VerifyEntry {
  secret: string;
  file?: string;
  declared: boolean;
  /** null when there is no SealedSecret to open. */
  opens: boolean | null;
  /** Which backed-up key opened it. */
  openedBy?: string;
  error?: string;
  /** Everything wrong with it, each with its fix. */
  problems: string[];
}

export interface VerifyReport {
  ok: boolean;
  keys: Array<{ source: string; fingerprint: string }>;
  secrets: VerifyEntry[];
}

/** The key backup named by `flag` (e.g. --key-backup): missing is unavailable (3), unreadable bad input (2). */
export function readKeyBackup(file: string, flag: string): KeyBackup {
  if (!existsSync(file)) throw new UnavailableError(`${flag} ${file} does not exist`);
  try {
    return loadKeyBackupFile(file);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

/**
 * Opens every SealedSecret in the tree with `backup`, as the controller of a rebuilt cluster would; also
 * checks each declared secret is sealed with all its keys, that literal keys still match the definition and
 * that same-as copies hold the same value as their origin.
 */
export function verifySealedTree(model: Model, files: readonly SealedFile[], backup: KeyBackup, opts: { requireAllSealed: boolean }): VerifyReport {
  const present = sealedEntries(files);
  const keys = backup.keys.map((k) => ({ source: k.source, fingerprint: publicKeyFingerprint(createPublicKey(k.privateKey)) }));
  const opened = new Map<string, Record<string, Buffer>>();
  const entries: VerifyEntry[] = [];
  for (const e of present) {
    const declared = model.secrets.find((s) => secretRef(s) === e.ref);
    const entry: VerifyEntry = { secret: e.ref, file: e.file, declared: Boolean(declared), opens: false, problems: [] };
    try {
      const data = unsealSecret(e.object, backup.privateKeys).data;
      entry.opens = true;
      opened.set(e.ref, data);
      const by = backup.keys.findIndex((k) => {
        try {
          unsealSecret(e.object, [k.privateKey]);
          return true;
        } catch {
          return false;
        }
      });
      entry.openedBy = by >= 0 ? `${keys[by]!.source} (${keys[by]!.fingerprint})` : "several keys together";
    } catch (err) {
      entry.error = (err as Error).message;
      entry.problems.push(
        err instanceof UnsealError ? `cannot be opened: ${NO_KEY_COULD_DECRYPT} for key(s) ${err.failedKeys.join(", ")} (scope ${err.scope}, tried ${plural(err.triedKeys, "key")})` : `cannot be opened: ${entry.error}`,
      );
    }
    if (declared) {
      const missing = Object.keys(declared.keys).filter((k) => !e.keys.includes(k));
      if (missing.length) entry.problems.push(`lacks declared key(s) ${missing.join(", ")}; fix: bk secrets seal ${e.ref}`);
    }
    entries.push(entry);
  }
  checkValues(model, entries, opened);
  for (const s of model.secrets) {
    const ref = secretRef(s);
    if (present.some((e) => e.ref === ref)) continue;
    entries.push({ secret: ref, declared: true, opens: null, problems: opts.requireAllSealed ? [`not sealed yet; fix: bk secrets seal ${ref}`] : [] });
  }
  entries.sort((a, b) => a.secret.localeCompare(b.secret));
  return { ok: entries.every((e) => e.problems.length === 0), keys, secrets: entries };
}

/** Literal and same-as checks need the plaintext, so they run after everything is open. */
function checkValues(model: Model, entries: readonly VerifyEntry[], opened: ReadonlyMap<string, Record<string, Buffer>>): void {
  for (const entry of entries) {
    const s = model.secrets.find((x) => secretRef(x) === entry.secret);
    const data = opened.get(entry.secret);
    if (!s || !data) continue;
    for (const k of Object.keys(s.keys).sort()) {
      const v = data[k];
      if (v === undefined) continue;
      const origin = keyOrigin(model.secrets, s, k);
      if (origin.source === "literal") {
        if (v.toString("utf8") !== origin.literal)
          entry.problems.push(`key ${k} no longer matches the definition's literal${origin.ref === entry.secret ? "" : ` (of ${origin.ref} ${origin.key})`}; fix: bk secrets seal ${entry.secret}`);
      } else if (origin.ref !== entry.secret) {
        const theirs = opened.get(origin.ref)?.[origin.key];
        if (theirs && !theirs.equals(v)) entry.problems.push(`key ${k} differs from ${origin.ref} ${origin.key}, which it must equal (same-as); fix: bk secrets seal ${origin.ref}`);
      }
    }
  }
}

/** `bk secrets verify`: the tree of `root` against the key backup in `file`, every declared secret required. */
export function verifyWithKeyBackup(root: string, file: string): VerifyReport {
  const backup = readKeyBackup(file, "--key-backup");
  const { model } = loadDefinition(root);
  return verifySealedTree(model, readSealedFiles(root, OWNED_DIRS), backup, { requireAllSealed: true });
}
