/**
 * `bk secrets backup`: the controller's private keys, read through the API into a private file outside
 * the repository, then proven by opening the tree with the file as written.
 */
import { createPublicKey } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { InputError, UnavailableError } from "../../core/errors.js";
import { KEY_BACKED_UP_ANNOTATION } from "../../core/well-known.js";
import { keyBackupYaml, openCluster } from "../../adapters/sealed-secrets-cluster.js";
import { loadDefinition } from "../../model/load.js";
import { certificateInfo, loadKeyBackupFile, parseKeyBackup, publicKeyFingerprint, type KeyBackup } from "../../sealing/keys.js";
import { readSealedFiles } from "../../tree/sealed.js";
import { OWNED_DIRS } from "../../tree/tree.js";
import type { OpenCluster } from "./certificate.js";
import { assertOutsideRepository, writePrivateFileAtomically } from "./value-store.js";
import { verifySealedTree, type VerifyEntry, type VerifyReport } from "./verify.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export interface KeyBackupOptions {
  kubeconfig: string;
  /** Where to write the keys; resolved against the working directory. */
  out: string;
  /** Overwrite an existing backup even though it holds keys the cluster no longer has. */
  force?: boolean;
  dryRun?: boolean;
}

export interface BackedUpKey {
  name: string;
  state: string;
  created: string | undefined;
  fingerprint: string | undefined;
  certificateExpires: string | undefined;
}

export interface KeyBackupRun {
  /** Every SealedSecret of the tree opens with the backup. */
  ok: boolean;
  /** The absolute path written (or that would be, on a dry run). */
  out: string;
  server: string;
  namespace: string;
  keys: BackedUpKey[];
  /** The key Secrets annotated as backed up in the cluster (none on a dry run). */
  marked: string[];
  verify: VerifyReport;
  /** The SealedSecrets the backup does not open. */
  notOpening: VerifyEntry[];
}

const fingerprints = (b: KeyBackup) => b.privateKeys.map((k) => publicKeyFingerprint(createPublicKey(k)));

/** Refuses to overwrite a backup holding keys the new one lacks: they may be all that opens an old SealedSecret. */
function checkOverwrite(out: string, fresh: KeyBackup): void {
  let old: KeyBackup | undefined;
  try {
    old = loadKeyBackupFile(out);
  } catch (err) {
    throw new InputError(`${out} exists and is not a key backup (${(err as Error).message}); choose another --out, or pass --force to overwrite it`);
  }
  const newFps = new Set(fingerprints(fresh));
  const lost = fingerprints(old).filter((f) => !newFps.has(f));
  if (lost.length) {
    throw new InputError(
      `${out} holds ${plural(lost.length, "key")} the cluster no longer has (${lost.join(", ")}); overwriting would lose them and every SealedSecret sealed with them. ` +
        "Write to a new file (e.g. with the date in its name), or pass --force.",
    );
  }
}

export async function backupSealingKeys(root: string, opts: KeyBackupOptions, ctx: { now: Date; cluster?: OpenCluster }): Promise<KeyBackupRun> {
  const out = path.resolve(opts.out);
  assertOutsideRepository(out, root, `--out ${out}`, "private keys belong off the repository: an encrypted disk or a password manager");
  const { model } = loadDefinition(root);
  const ns = model.sealedSecrets.namespace;
  const cluster = await (ctx.cluster ?? openCluster)(opts.kubeconfig);
  const keys = await cluster.listKeySecrets(ns);
  if (keys.length === 0) {
    throw new UnavailableError(
      `no Secrets labelled sealedsecrets.bitnami.com/sealed-secrets-key in namespace ${ns} at ${cluster.describe()}; ` + "is the sealed-secrets controller installed there (it creates its first key when it starts)?",
    );
  }
  const header =
    `# Sealed Secrets private keys of cluster ${model.cluster.name} (namespace ${ns}), read ${ctx.now.toISOString()} from ${cluster.describe()} by \`bk secrets backup\`.\n` +
    "# Anyone holding this file can open every SealedSecret: keep it off Git, encrypted and offline. Restore: kubectl apply -f <this file>, before the controller starts.\n";
  const text = keyBackupYaml(
    keys.map((k) => ({ ...k, manifest: { ...k.manifest, metadata: { ...k.manifest.metadata, annotations: { ...k.manifest.metadata.annotations, [KEY_BACKED_UP_ANNOTATION]: ctx.now.toISOString() } } } })),
    header,
  );
  let parsed: KeyBackup;
  try {
    parsed = parseKeyBackup(text);
  } catch (err) {
    throw new Error(`the key Secrets read from the cluster do not form a usable backup: ${(err as Error).message}`);
  }
  if (existsSync(out) && !opts.force) checkOverwrite(out, parsed);
  if (!opts.dryRun) writePrivateFileAtomically(out, text);
  // Verify what is on disk, not what is in memory: the file is what a rebuild will have.
  const verified = opts.dryRun ? parsed : loadKeyBackupFile(out);
  const report = verifySealedTree(model, readSealedFiles(root, OWNED_DIRS), verified, { requireAllSealed: false });
  const notOpening = report.secrets.filter((e) => e.opens === false);
  // Mark the keys the file holds, as read back, so SealedSecretsKeyNotBackedUp clears; the file carries the mark
  // too, so keys restored from it count as backed up although their Secrets are new.
  const saved = new Set(fingerprints(verified));
  const marked = keys.filter((k) => k.certPem && saved.has(certificateInfo(k.certPem).publicKeyFingerprint)).map((k) => k.name);
  const annotate = !opts.dryRun && marked.length > 0 && cluster.annotateKeySecrets !== undefined;
  if (annotate) await cluster.annotateKeySecrets!(ns, marked, KEY_BACKED_UP_ANNOTATION, ctx.now.toISOString());
  const keyInfo = keys.map((k) => {
    const info = k.certPem ? certificateInfo(k.certPem) : undefined;
    return { name: k.name, state: k.state, created: k.created?.toISOString(), fingerprint: info?.publicKeyFingerprint, certificateExpires: info?.notAfter.toISOString() };
  });
  return { ok: notOpening.length === 0, out, server: cluster.describe(), namespace: ns, keys: keyInfo, marked: annotate ? marked : [], verify: report, notOpening };
}
