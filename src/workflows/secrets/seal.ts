/**
 * Sealing into the tree: `bk secrets seal` (the named secrets) and `bk secrets reseal` (everything, for a
 * new key, recovering values from the old keys where the store lacks them). Both regenerate the tree
 * around the new files exactly as `bk synth` would, and write nothing on a dry run.
 */
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../core/object.js";
import type { DeclaredSecret, Model } from "../../model/model.js";
import { EXIT } from "../../core/errors.js";
import { FindingsError } from "../../core/finding.js";
import { generate, treeFrom, type Generated } from "../../pipeline.js";
import type { KeyBackup } from "../../sealing/keys.js";
import { scopeFromAnnotations, type SealingScope } from "../../sealing/scope.js";
import { sealSecret, unsealSecret } from "../../sealing/sealing.js";
import { sealedSecretFile } from "../../synth/secrets.js";
import { diffTrees, type TreeDiff } from "../../tree/diff.js";
import { toYaml } from "../../tree/emit.js";
import { readTree, writeTreeAtomically } from "../../tree/files.js";
import { readSealedFiles, type SealedFile } from "../../tree/sealed.js";
import { GENERATED_FILES, OWNED_DIRS, type GeneratedTree } from "../../tree/tree.js";
import { sealingCertificate, type CertificateChoice, type OpenCluster, type SealingCert } from "./certificate.js";
import { findDeclared, sealedEntries, sealedOrigins, type SealedEntry } from "./sealed-entries.js";
import { keyOrigin, originId, resolveSecretValues, resolveValuesPath, secretRef, SecretValueStore, withSharedValues, type KeyProblem, type Resolution } from "./value-store.js";
import { readKeyBackup } from "./verify.js";

export interface SealContext {
  env: NodeJS.ProcessEnv;
  now: Date;
  cluster?: OpenCluster;
  warn: (message: string) => void;
}

export interface SealOptions extends CertificateChoice {
  /** --values: the value store file. */
  values?: string;
  /** Overrides the scope each secret has now (strict for a new one). */
  scope?: SealingScope;
  dryRun?: boolean;
}

export interface SealOutcome {
  /** ref -> file written. */
  sealed: Array<{ ref: string; file: string; keys: string[]; scope: SealingScope }>;
  diff: TreeDiff;
  /** Old files holding a SealedSecret that now lives at its proper path. */
  moved: string[];
  files: Map<string, string>;
  /** The whole tree the files are, for the gate before they are written. */
  tree: GeneratedTree;
}

export interface SealRun {
  ok: true;
  cert: SealingCert;
  /** The value store's path. */
  store: string;
  resolution: Resolution;
  outcome: SealOutcome;
  /** Secrets not named but sealed too, because they share a value with one that was. */
  addedForSharing: string[];
}

/** Some value is missing: nothing was sealed and nothing written. */
export interface SealRefused {
  ok: false;
  cert: SealingCert;
  store: string;
  problems: ReadonlyMap<string, KeyProblem[]>;
}

export interface ResealRun {
  cert: SealingCert;
  store: string;
  resolution: Resolution;
  outcome: SealOutcome;
  /** "<ref> <key>" whose stored value differs from what is sealed now (the store wins). */
  changedLive: string[];
  /** Secrets the old keys did not open. */
  unopenable: string[];
}

function sealedFileContent(obj: KubeObject, cert: SealingCert, ref: string): string {
  return (
    `# Sealed by \`bk secrets seal\` for the Sealed Secrets key ${cert.info.publicKeyFingerprint}; only that controller key opens it.\n` +
    `# Do not edit: change a value with \`bk secrets set ${ref} <key> ...\`, then run \`bk secrets seal ${ref}\`.\n` +
    "---\n" +
    toYaml(obj)
  );
}

/**
 * Seals the resolved secrets and builds the whole tree around the new files exactly as `bk synth` would,
 * so the kustomizations list them (incident 7). Writes nothing: the caller decides.
 */
function sealIntoTree(
  root: string,
  g: ReturnType<typeof generate>,
  secrets: readonly DeclaredSecret[],
  values: ReadonlyMap<string, Record<string, string>>,
  cert: SealingCert,
  scopeFlag: SealingScope | undefined,
  onDisk: readonly SealedFile[],
  now: Date,
): SealOutcome {
  const present = sealedEntries(onDisk);
  const model = g.model;
  const newFiles = new Map<string, string>();
  const sealed: SealOutcome["sealed"] = [];
  const moved = new Set<string>();
  for (const s of secrets) {
    const ref = secretRef(s);
    const data = values.get(ref);
    if (!data) continue;
    const existing = present.filter((e) => e.ref === ref);
    const scope = scopeFlag ?? (existing[0] ? scopeFromAnnotations(existing[0].object.metadata.annotations) : "strict");
    const obj = sealSecret({ certPem: cert.pem, namespace: s.namespace, name: s.name, scope, data, ...(s.type ? { type: s.type } : {}), now });
    const file = sealedSecretFile(model, s);
    newFiles.set(file, sealedFileContent(obj, cert, ref));
    sealed.push({ ref, file, keys: Object.keys(data).sort(), scope });
    for (const e of existing) if (e.file !== file) moved.add(e.file);
  }
  // A misplaced copy is dropped only when it holds nothing else; otherwise `bk validate` reports the duplicate.
  const droppable = new Set([...moved].filter((f) => onDisk.find((x) => x.file === f)?.objects.every((o) => o.kind === "SealedSecret" && sealed.some((s) => s.ref === `${o.metadata.namespace}/${o.metadata.name}`))));
  const merged: SealedFile[] = onDisk.filter((f) => !newFiles.has(f.file) && !droppable.has(f.file));
  for (const [file, content] of newFiles) {
    const objects = parseAllDocuments(content)
      .map((d) => d.toJS() as KubeObject | null)
      .filter((x): x is KubeObject => x !== null && typeof x === "object");
    merged.push({ file, content, objects });
  }
  const docs = new Map(GENERATED_FILES.flatMap((f) => (g.tree.files.has(f) ? [[f, g.tree.files.get(f)!] as const] : [])));
  const tree = treeFrom(model, merged, docs);
  const diff = diffTrees(readTree(root, OWNED_DIRS, GENERATED_FILES), tree.files);
  return { sealed, diff, moved: [...droppable], files: tree.files, tree };
}

/**
 * The gate of `bk synth` (and `bk plan`) before a seal writes the tree: a seal regenerates the whole tree, so a
 * tree those would refuse (a credential in plain values) is not written this way either. Exit 1, nothing written.
 */
async function refuseFailingTree(g: Generated, tree: GeneratedTree): Promise<void> {
  const { checkGenerated } = await import("../validate.js");
  const errors = (await checkGenerated({ ...g, tree }, { kustomize: false })).findings.filter((f) => f.severity === "error");
  if (errors.length) throw new FindingsError(errors, EXIT.failed);
}

/** Seals the named secrets (all with `all`), plus those sharing a value with them. */
export async function sealSecrets(root: string, refs: readonly string[], opts: SealOptions & { all?: boolean }, ctx: SealContext): Promise<SealRun | SealRefused> {
  const g = generate(root);
  const model = g.model;
  const picked = opts.all ? model.secrets : refs.map((r) => findDeclared(model, r));
  const selected = withSharedValues(picked, model.secrets);
  const pickedRefs = new Set(picked.map(secretRef));
  const addedForSharing = selected.map(secretRef).filter((r) => !pickedRefs.has(r));
  const loc = resolveValuesPath({ flag: opts.values, clusterName: model.cluster.name, root, env: ctx.env });
  const cert = await sealingCertificate(opts, { ...ctx, namespace: model.sealedSecrets.namespace });
  const store = SecretValueStore.load(loc.path, model.cluster.name);
  const onDisk = readSealedFiles(root, OWNED_DIRS);
  const resolution = resolveSecretValues(selected, model.secrets, { store, sealedOrigins: sealedOrigins(model, sealedEntries(onDisk)) });
  if (resolution.problems.size) return { ok: false, cert, store: loc.path, problems: resolution.problems };

  const outcome = sealIntoTree(root, g, selected, resolution.values, cert, opts.scope, onDisk, ctx.now);
  await refuseFailingTree(g, outcome.tree);
  if (!opts.dryRun) {
    // Values first: a sealed value nobody kept is how incident 6 started.
    if (store.changed) store.save();
    writeTreeAtomically(root, outcome.files, OWNED_DIRS, GENERATED_FILES);
  }
  return { ok: true, cert, store: loc.path, resolution, outcome, addedForSharing };
}

/** Values of the current SealedSecrets, opened with the old keys, by origin; the origin's own copy wins. */
function recoverValues(model: Model, present: readonly SealedEntry[], backup: KeyBackup): { values: Map<string, string>; unopenable: string[] } {
  const values = new Map<string, string>();
  const fromOwn = new Set<string>();
  const unopenable: string[] = [];
  for (const e of present) {
    const s = model.secrets.find((x) => secretRef(x) === e.ref);
    if (!s) continue;
    let data: Record<string, Buffer>;
    try {
      data = unsealSecret(e.object, backup.privateKeys).data;
    } catch {
      unopenable.push(e.ref);
      continue;
    }
    for (const [k, buf] of Object.entries(data)) {
      if (!s.keys[k]) continue;
      const origin = keyOrigin(model.secrets, s, k);
      if (origin.source === "literal") continue;
      const text = buf.toString("utf8");
      if (!Buffer.from(text, "utf8").equals(buf)) continue; // binary: the text store cannot hold it faithfully
      const id = originId(origin);
      const own = origin.ref === e.ref;
      if (own || !fromOwn.has(id)) values.set(id, text);
      if (own) fromOwn.add(id);
    }
  }
  return { values, unopenable };
}

/** Re-seals every declared secret it has a value for; the ones it has none for are left as they are. */
export async function resealSecrets(root: string, opts: SealOptions & { fromKeyBackup?: string }, ctx: SealContext): Promise<ResealRun> {
  const g = generate(root);
  const model = g.model;
  const loc = resolveValuesPath({ flag: opts.values, clusterName: model.cluster.name, root, env: ctx.env });
  const cert = await sealingCertificate(opts, { ...ctx, namespace: model.sealedSecrets.namespace });
  const store = SecretValueStore.load(loc.path, model.cluster.name);
  const onDisk = readSealedFiles(root, OWNED_DIRS);
  const present = sealedEntries(onDisk);

  let recovered: Map<string, string> | undefined;
  let unopenable: string[] = [];
  if (opts.fromKeyBackup) ({ values: recovered, unopenable } = recoverValues(model, present, readKeyBackup(opts.fromKeyBackup, "--from-key-backup")));
  // Where the store and the current SealedSecret disagree the store wins; say so, since the live value changes.
  const changedLive = recovered
    ? [...recovered]
        .filter(([id, v]) => {
          const [ref, key] = id.split("#") as [string, string];
          const stored = store.get(ref, key);
          return stored !== undefined && stored !== v;
        })
        .map(([id]) => id.replace("#", " "))
    : [];

  const resolution = resolveSecretValues(model.secrets, model.secrets, { store, sealedOrigins: sealedOrigins(model, present), ...(recovered ? { recovered } : {}) });
  const outcome = sealIntoTree(root, g, model.secrets, resolution.values, cert, opts.scope, onDisk, ctx.now);
  await refuseFailingTree(g, outcome.tree);
  if (!opts.dryRun && outcome.sealed.length) {
    if (store.changed) store.save();
    writeTreeAtomically(root, outcome.files, OWNED_DIRS, GENERATED_FILES);
  }
  return { cert, store: loc.path, resolution, outcome, changedLive, unopenable };
}
