/**
 * `bk secrets`: the declared secrets from value to SealedSecret and back (incident 6).
 *   list    what is declared, stored and sealed
 *   set     put one plaintext value into the local value store (outside the repository)
 *   seal    seal declared secrets with the controller's certificate and regenerate the tree around them
 *   verify  open every SealedSecret offline with a key backup: the pre-flight before a rebuild
 *   backup  read the controller's keys through the API into a private file, then prove they open the tree
 *   reseal  re-encrypt everything for a new key, recovering values from the old keys where needed
 * Nothing here prints a secret value.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../core/object.js";
import { loadDefinition } from "../../model/load.js";
import type { DeclaredSecret, Model } from "../../model/model.js";
import { ClusterUnavailableError, currentSealingKey, keyBackupYaml, openCluster, type KeySecretSource } from "../../adapters/sealed-secrets-cluster.js";
import { assertOutsideRepository, DEFAULT_GENERATED_BYTES, generateValue, keyOrigin, MIN_GENERATED_BYTES, originId, resolveSecretValues, resolveValuesPath, secretRef, SecretValueStore, ValueStoreError, withSharedValues, writePrivateFileAtomically, type KeyOrigin, type KeyProblem, type Resolution } from "../../workflows/secrets/value-store.js";
import { repoRoot } from "../../adapters/tools.js";
import { generate, treeFrom } from "../../pipeline.js";
import { certificateInfo, loadKeyBackupFile, parseKeyBackup, publicKeyFingerprint, publicKeyFromCertificate, type CertificateInfo, type KeyBackup } from "../../sealing/keys.js";
import { isSealingScope, scopeFromAnnotations, SEALING_SCOPES, type SealingScope } from "../../sealing/scope.js";
import { NO_KEY_COULD_DECRYPT, sealSecret, UnsealError, unsealSecret } from "../../sealing/sealing.js";
import { sealedSecretFile } from "../../synth/secrets.js";
import { toYaml } from "../../tree/emit.js";
import { diffTrees, type TreeDiff } from "../../tree/diff.js";
import { readTree, writeTreeAtomically } from "../../tree/files.js";
import { readSealedFiles, type SealedFile } from "../../tree/sealed.js";
import { GENERATED_FILES, OWNED_DIRS } from "../../tree/tree.js";
import { EXIT } from "../output.js";
import { CliInputError, reportError } from "./backup.js";

export const SEALING_CERT_ENV = "BK_SEALING_CERT";
const TEST_FIXTURES = path.join("test", "fixtures", "sealed-secrets");

// ---- options ----

export interface ValuesOptions {
  /** --values <file>: the plaintext value store (default ${XDG_CONFIG_HOME:-~/.config}/beckerkube/<cluster>/secret-values.yaml). */
  values?: string;
}

export interface CertOptions {
  cert?: string;
  kubeconfig?: string;
  /** Accept a TEST certificate from test/fixtures (tests only). */
  allowTestKey?: boolean;
}

export interface SecretsListOptions extends ValuesOptions {
  json?: boolean;
}

export interface SecretsSetOptions extends ValuesOptions {
  value?: string;
  /** A file, or "-" for standard input. */
  fromFile?: string;
  generate?: boolean;
  /** Random bytes for --generate (commander hands over a string). */
  length?: string;
  dryRun?: boolean;
  json?: boolean;
}

export interface SecretsSealOptions extends ValuesOptions, CertOptions {
  all?: boolean;
  scope?: string;
  dryRun?: boolean;
  json?: boolean;
}

export interface SecretsVerifyOptions {
  keyBackup?: string;
  json?: boolean;
}

export interface SecretsBackupOptions {
  kubeconfig?: string;
  out?: string;
  /** Overwrite an existing backup even though it holds keys the cluster no longer has. */
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export interface SecretsResealOptions extends ValuesOptions, CertOptions {
  fromKeyBackup?: string;
  scope?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** What the commands reach outside themselves; tests replace parts. */
export interface SecretsDeps {
  cluster?: (kubeconfig: string) => KeySecretSource | Promise<KeySecretSource>;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  stdout?: { write(s: string): unknown };
  stderr?: { write(s: string): unknown };
  /** Standard input for `set --from-file -`. */
  stdin?: () => Buffer;
}

/** A file or server the command needs is missing or unreachable (exit 3). */
class UnavailableError extends Error {}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  json: (v: unknown) => void;
  env: NodeJS.ProcessEnv;
  now: () => Date;
}

function io(deps: SecretsDeps): Io {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  return {
    out: (s) => void stdout.write(s),
    err: (s) => void stderr.write(s),
    json: (v) => void stdout.write(JSON.stringify(v, null, 2) + "\n"),
    env: deps.env ?? process.env,
    now: deps.now ?? (() => new Date()),
  };
}

function fail(cmd: string, err: unknown, json: boolean | undefined, o: Io): number {
  const message = err instanceof Error ? err.message : String(err);
  const code =
    err instanceof CliInputError || err instanceof ValueStoreError
      ? EXIT.badInput
      : err instanceof UnavailableError || err instanceof ClusterUnavailableError
        ? EXIT.unavailable
        : undefined;
  if (code === undefined) return reportError(`secrets ${cmd}`, err, json);
  if (json) o.json({ ok: false, error: message });
  o.err(`bk secrets ${cmd}: ${message}\n`);
  return code;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

// ---- the tree's SealedSecrets ----

interface SealedEntry {
  ref: string;
  file: string;
  object: KubeObject;
  /** spec.encryptedData keys. */
  keys: string[];
}

function sealedEntries(files: readonly SealedFile[]): SealedEntry[] {
  return files.flatMap((f) =>
    f.objects
      .filter((o) => o.kind === "SealedSecret")
      .map((object) => ({
        ref: `${object.metadata.namespace ?? ""}/${object.metadata.name}`,
        file: f.file,
        object,
        keys: Object.keys(((object.spec as { encryptedData?: Record<string, unknown> } | undefined)?.encryptedData ?? {}) as object).sort(),
      })),
  );
}

function findDeclared(model: Model, ref: string): DeclaredSecret {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(ref);
  if (!m) throw new CliInputError(`${JSON.stringify(ref)}: name a secret as <namespace>/<name>, e.g. ${model.secrets[0] ? secretRef(model.secrets[0]) : "infra/pg-app"}`);
  const s = model.secrets.find((x) => x.namespace === m[1] && x.name === m[2]);
  if (s) return s;
  const sameNs = model.secrets.filter((x) => x.namespace === m[1]).map(secretRef);
  const sameName = model.secrets.filter((x) => x.name === m[2]).map(secretRef);
  const hint = [...new Set([...sameName, ...sameNs])];
  throw new CliInputError(
    `${ref} is not a declared secret; ${hint.length ? `did you mean ${hint.join(", ")}?` : "`bk secrets list` shows them all"} ` +
      "(secrets are declared under secrets: of an application in definition/apps/, or by the infrastructure)",
  );
}

// ---- the sealing certificate ----

interface SealingCert {
  pem: string;
  info: CertificateInfo;
  source: string;
  /** Set when the certificate is one of the repository's TEST keys. */
  testKey?: string;
}

/** Public-key fingerprints of the TEST keys in test/fixtures, of this checkout and of the tool itself. */
function testKeyFingerprints(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of new Set([path.join(repoRoot, TEST_FIXTURES), path.join(root, TEST_FIXTURES)])) {
    if (!existsSync(dir)) continue;
    // Certificates first, so a match names the file an operator would have passed.
    const names = readdirSync(dir).filter((n) => /^TEST-ONLY-.*\.(pem|ya?ml)$/.test(n));
    for (const f of [...names.filter((n) => n.endsWith("-cert.pem")), ...names.filter((n) => !n.endsWith("-cert.pem"))]) {
      const file = path.join(TEST_FIXTURES, f);
      try {
        const text = readFileSync(path.join(dir, f), "utf8");
        const pubs: KeyObject[] = [];
        if (text.includes("CERTIFICATE-----") && !text.includes("PRIVATE KEY")) pubs.push(publicKeyFromCertificate(text));
        else for (const k of parseKeyBackup(text).privateKeys) pubs.push(createPublicKey(k));
        for (const p of pubs) {
          const fp = publicKeyFingerprint(p);
          if (!out.has(fp)) out.set(fp, file);
        }
      } catch {
        // A fixture that does not parse cannot be sealed with either.
      }
    }
  }
  return out;
}

function readCertFile(file: string, from: string): string {
  if (!existsSync(file)) throw new UnavailableError(`${from} ${file} does not exist; fetch the controller certificate with \`kubeseal --fetch-cert > ${path.basename(file)}\` or pass --kubeconfig`);
  const text = readFileSync(file, "utf8");
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new CliInputError(`${from} ${file} holds no PEM CERTIFICATE; pass the controller certificate (kubeseal --fetch-cert)`);
  return text;
}

async function sealingCertificate(root: string, model: Model, opts: CertOptions, deps: SecretsDeps, o: Io, cmd: string): Promise<SealingCert> {
  let pem: string;
  let source: string;
  const fromEnv = o.env[SEALING_CERT_ENV];
  // Explicit flags first, then the environment: a flag typed now must never lose to a variable set long ago.
  if (opts.cert) {
    pem = readCertFile(path.resolve(opts.cert), "--cert");
    source = `--cert ${opts.cert}`;
  } else if (opts.kubeconfig) {
    const cluster = await (deps.cluster ?? openCluster)(opts.kubeconfig);
    const ns = model.infra.sealedSecrets.namespace;
    const key = currentSealingKey(await cluster.listKeySecrets(ns));
    if (!key?.certPem) {
      throw new UnavailableError(
        `no active Sealed Secrets key (Secret labelled sealedsecrets.bitnami.com/sealed-secrets-key=active with tls.crt) in namespace ${ns} at ${cluster.describe()}; ` +
          "is the controller installed and running there? It creates its key on first start.",
      );
    }
    pem = key.certPem;
    source = `Secret ${ns}/${key.name} via ${cluster.describe()}`;
  } else if (fromEnv) {
    pem = fromEnv.trimStart().startsWith("-----BEGIN") ? fromEnv : readCertFile(path.resolve(fromEnv), SEALING_CERT_ENV);
    source = SEALING_CERT_ENV;
  } else {
    throw new CliInputError(
      `which controller key? pass --cert <file> (from \`kubeseal --fetch-cert\`), --kubeconfig <file> to read it from the cluster, or set ${SEALING_CERT_ENV}=<file>`,
    );
  }
  let info: CertificateInfo;
  try {
    info = certificateInfo(pem);
  } catch (err) {
    throw new CliInputError(`sealing certificate from ${source}: ${(err as Error).message}`);
  }
  const now = o.now();
  if (now.getTime() > info.notAfter.getTime()) {
    throw new CliInputError(
      `sealing certificate from ${source} (${info.publicKeyFingerprint}) expired on ${info.notAfter.toISOString()}; ` +
        "the controller has rotated away from it: fetch its current certificate (kubeseal --fetch-cert, or --kubeconfig)",
    );
  }
  const cert: SealingCert = { pem, info, source };
  const test = testKeyFingerprints(root).get(info.publicKeyFingerprint);
  if (test) {
    if (!opts.allowTestKey) {
      throw new CliInputError(
        `the certificate from ${source} is a TEST key (${test}): its private key is public in the repository, so anything sealed with it is readable by anyone. ` +
          "Seal with the cluster controller's certificate (kubeseal --fetch-cert, or --kubeconfig); only tests pass --allow-test-key.",
      );
    }
    cert.testKey = test;
    o.err(`bk secrets ${cmd}: WARNING: sealing with a TEST key (${test}); never commit or apply the result to a real cluster\n`);
  }
  const days = Math.floor((info.notAfter.getTime() - now.getTime()) / 86_400_000);
  if (days < 30) o.err(`bk secrets ${cmd}: warning: the sealing certificate expires in ${days} day(s) (${info.notAfter.toISOString()})\n`);
  return cert;
}

const certJson = (c: SealingCert) => ({
  source: c.source,
  subject: c.info.subject,
  publicKeyFingerprint: c.info.publicKeyFingerprint,
  notAfter: c.info.notAfter.toISOString(),
  ...(c.testKey ? { testKey: c.testKey } : {}),
});

function parseScope(scope: string | undefined): SealingScope | undefined {
  if (scope === undefined) return undefined;
  if (!isSealingScope(scope)) throw new CliInputError(`--scope ${scope}: use one of ${SEALING_SCOPES.join(", ")}`);
  return scope;
}

// ---- sealing into the tree ----

function sealedFileContent(obj: KubeObject, cert: SealingCert, ref: string): string {
  return (
    `# Sealed by \`bk secrets seal\` for the Sealed Secrets key ${cert.info.publicKeyFingerprint}; only that controller key opens it.\n` +
    `# Do not edit: change a value with \`bk secrets set ${ref} <key> ...\`, then run \`bk secrets seal ${ref}\`.\n` +
    "---\n" +
    toYaml(obj)
  );
}

interface SealOutcome {
  /** ref -> file written. */
  sealed: Array<{ ref: string; file: string; keys: string[]; scope: SealingScope }>;
  diff: TreeDiff;
  /** Old files holding a SealedSecret that now lives at its proper path. */
  moved: string[];
  files: Map<string, string>;
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
  return { sealed, diff, moved: [...droppable], files: tree.files };
}

function problemLines(problems: ReadonlyMap<string, KeyProblem[]>): string {
  let s = "";
  for (const [ref, list] of problems) for (const p of list) s += `  ${ref} ${p.key}: ${p.message}\n`;
  return s;
}

function fixCommands(problems: ReadonlyMap<string, KeyProblem[]>): string[] {
  return [...new Set([...problems.values()].flat().map((p) => p.fix))];
}

const problemsJson = (problems: ReadonlyMap<string, KeyProblem[]>) =>
  [...problems].flatMap(([ref, list]) => list.map((p) => ({ secret: ref, key: p.key, origin: `${p.origin.ref} ${p.origin.key}`, message: p.message, fix: p.fix })));

const originsJson = (list: readonly KeyOrigin[]) => list.map((x) => `${x.ref} ${x.key}`);

/** Every origin whose value is sealed somewhere in the tree already (in its own secret or a same-as copy). */
function sealedOrigins(model: Model, present: readonly SealedEntry[]): Set<string> {
  const out = new Set<string>();
  for (const e of present) {
    const s = model.secrets.find((x) => secretRef(x) === e.ref);
    if (!s) continue;
    for (const k of e.keys) if (s.keys[k]) out.add(originId(keyOrigin(model.secrets, s, k)));
  }
  return out;
}

function treeSummary(d: TreeDiff): string {
  return `${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed`;
}

// ---- list ----

export async function secretsListCommand(root: string, opts: SecretsListOptions, deps: SecretsDeps = {}): Promise<number> {
  const o = io(deps);
  try {
    const { model } = loadDefinition(root);
    const loc = resolveValuesPath({ flag: opts.values, clusterName: model.cluster.name, root, env: o.env });
    const store = SecretValueStore.load(loc.path, model.cluster.name);
    const present = sealedEntries(readSealedFiles(root, OWNED_DIRS));
    const declared = new Set(model.secrets.map(secretRef));
    const rows = model.secrets.map((s) => {
      const ref = secretRef(s);
      const sealedAt = present.filter((e) => e.ref === ref);
      return {
        secret: ref,
        owner: s.owner,
        type: s.type ?? "Opaque",
        file: sealedSecretFile(model, s),
        sealed: sealedAt.length > 0,
        sealedFiles: sealedAt.map((e) => e.file),
        keys: Object.keys(s.keys)
          .sort()
          .map((key) => {
            const src = s.keys[key]!;
            const origin = keyOrigin(model.secrets, s, key);
            const stored = origin.source === "literal" ? null : store.get(origin.ref, origin.key) !== undefined;
            return {
              key,
              source: src.from === "same-as" ? `same-as ${src.namespace}/${src.name} ${src.key}` : src.from,
              // null: the value is in the definition, the store is not involved.
              stored,
              sealed: sealedAt.some((e) => e.keys.includes(key)),
            };
          }),
      };
    });
    const undeclaredStore = store.keys().flatMap(({ ref, keys }) => keys.filter((k) => !model.secrets.some((s) => secretRef(s) === ref && s.keys[k])).map((k) => `${ref} ${k}`));
    const undeclaredSealed = present.filter((e) => !declared.has(e.ref)).map((e) => ({ secret: e.ref, file: e.file }));
    if (opts.json) {
      o.json({ store: { path: loc.path, from: loc.source, exists: store.existed }, secrets: rows, undeclaredStoreEntries: undeclaredStore, undeclaredSealedSecrets: undeclaredSealed });
      return EXIT.ok;
    }
    o.out(`Value store: ${loc.path} (${loc.source}${store.existed ? "" : ", not created yet"})\n\n`);
    const w = Math.max(...rows.map((r) => r.secret.length), 6) + 2;
    const kw = Math.max(...rows.flatMap((r) => r.keys.map((k) => k.key.length)), 3) + 2;
    const sw = Math.max(...rows.flatMap((r) => r.keys.map((k) => k.source.length)), 6) + 2;
    o.out(`${"SECRET".padEnd(w)}${"KEY".padEnd(kw)}${"SOURCE".padEnd(sw)}${"VALUE".padEnd(14)}SEALED\n`);
    for (const r of rows) {
      r.keys.forEach((k, i) => {
        const value = k.stored === null ? "definition" : k.stored ? "stored" : k.source === "generate" ? "to generate" : "MISSING";
        const sealed = !r.sealed ? "no" : k.sealed ? `yes` : "KEY MISSING";
        o.out(`${(i === 0 ? r.secret : "").padEnd(w)}${k.key.padEnd(kw)}${k.source.padEnd(sw)}${value.padEnd(14)}${sealed}\n`);
      });
    }
    const sealedCount = rows.filter((r) => r.sealed).length;
    const missing = rows.flatMap((r) => r.keys.filter((k) => k.stored === false && !k.source.startsWith("generate") && !k.source.startsWith("same-as")).map((k) => `${r.secret} ${k.key}`));
    o.out(`\n${plural(rows.length, "declared secret")}, ${sealedCount} sealed in the tree; ${plural(missing.length, "operator value")} missing from the store\n`);
    if (undeclaredStore.length) o.out(`store entries no longer declared (harmless; remove them by hand): ${undeclaredStore.join(", ")}\n`);
    if (undeclaredSealed.length) o.out(`SealedSecrets in the tree that are not declared: ${undeclaredSealed.map((u) => `${u.secret} (${u.file})`).join(", ")}\n`);
    return EXIT.ok;
  } catch (err) {
    return fail("list", err, opts.json, o);
  }
}

// ---- set ----

export async function secretsSetCommand(root: string, ref: string, key: string, opts: SecretsSetOptions, deps: SecretsDeps = {}): Promise<number> {
  const o = io(deps);
  try {
    const chosen = [opts.value !== undefined, opts.fromFile !== undefined, Boolean(opts.generate)].filter(Boolean).length;
    if (chosen !== 1) throw new CliInputError("give exactly one of --value <value>, --from-file <file> (- for standard input), or --generate [--length <bytes>]");
    if (opts.length !== undefined && !opts.generate) throw new CliInputError("--length only goes with --generate");
    const { model } = loadDefinition(root);
    const secret = findDeclared(model, ref);
    const src = secret.keys[key];
    if (!src) throw new CliInputError(`${ref} declares no key ${JSON.stringify(key)}; its keys: ${Object.keys(secret.keys).sort().join(", ")}`);
    if (src.from === "literal") throw new CliInputError(`${ref} key ${key} is a literal in the definition (the owner ${secret.owner} sets it); change it there, not in the value store`);
    if (src.from === "same-as") {
      const origin = keyOrigin(model.secrets, secret, key);
      throw new CliInputError(`${ref} key ${key} takes its value from ${origin.ref} key ${origin.key} (same-as); set that one instead: bk secrets set ${origin.ref} ${origin.key} ...`);
    }
    let value: string;
    let how: string;
    if (opts.generate) {
      const bytes = opts.length === undefined ? DEFAULT_GENERATED_BYTES : Number(opts.length);
      if (!Number.isInteger(bytes) || bytes < MIN_GENERATED_BYTES || bytes > 4096) throw new CliInputError(`--length ${opts.length}: give a whole number of random bytes from ${MIN_GENERATED_BYTES} to 4096`);
      value = generateValue(bytes);
      how = `generated (${bytes} random bytes, base64url)`;
    } else if (opts.fromFile !== undefined) {
      let raw: Buffer;
      if (opts.fromFile === "-") raw = (deps.stdin ?? (() => readFileSync(0)))();
      else {
        if (!existsSync(opts.fromFile)) throw new UnavailableError(`--from-file ${opts.fromFile} does not exist`);
        raw = readFileSync(opts.fromFile);
      }
      value = raw.toString("utf8");
      if (!Buffer.from(value, "utf8").equals(raw)) throw new CliInputError(`--from-file ${opts.fromFile}: not UTF-8 text; the value store keeps text values only (base64-encode binary data first)`);
      how = `from ${opts.fromFile === "-" ? "standard input" : opts.fromFile} (${raw.length} bytes, kept exactly, trailing newline included)`;
    } else {
      value = opts.value!;
      how = `from --value (${Buffer.byteLength(value)} bytes)`;
    }
    if (value.length === 0) throw new CliInputError(`the value for ${ref} key ${key} is empty; an empty secret is almost always a mistake`);

    const loc = resolveValuesPath({ flag: opts.values, clusterName: model.cluster.name, root, env: o.env });
    const store = SecretValueStore.load(loc.path, model.cluster.name);
    const previous = store.get(ref, key);
    store.set(ref, key, value);
    const sharing = withSharedValues([secret], model.secrets).map(secretRef);
    const present = sealedEntries(readSealedFiles(root, OWNED_DIRS));
    const staleSealed = previous !== value && present.some((e) => sharing.includes(e.ref));
    if (!opts.dryRun) store.save();
    const reseal = `bk secrets seal ${sharing.join(" ")}`;
    if (opts.json) o.json({ ok: true, dryRun: Boolean(opts.dryRun), secret: ref, key, store: loc.path, replaced: previous !== undefined, changed: previous !== value, next: reseal });
    else {
      o.out(`bk secrets set: ${opts.dryRun ? "would store" : "stored"} ${ref} ${key} ${how} in ${loc.path}${previous === undefined ? "" : previous === value ? " (unchanged)" : " (replaced the previous value)"}\n`);
      o.out(`  next: ${reseal}${staleSealed ? "   (the SealedSecret in the tree still holds the old value until then)" : ""}\n`);
    }
    return EXIT.ok;
  } catch (err) {
    return fail("set", err, opts.json, o);
  }
}

// ---- seal ----

export async function secretsSealCommand(root: string, refs: readonly string[], opts: SecretsSealOptions, deps: SecretsDeps = {}): Promise<number> {
  const o = io(deps);
  try {
    if (opts.all && refs.length) throw new CliInputError("give secret names or --all, not both");
    if (!opts.all && !refs.length) throw new CliInputError("which secrets? name them as <namespace>/<name> or pass --all (`bk secrets list` shows them)");
    const scopeFlag = parseScope(opts.scope);
    const g = generate(root);
    const model = g.model;
    const picked = opts.all ? model.secrets : refs.map((r) => findDeclared(model, r));
    const selected = withSharedValues(picked, model.secrets);
    const pickedRefs = new Set(picked.map(secretRef));
    const addedForSharing = selected.map(secretRef).filter((r) => !pickedRefs.has(r));
    const loc = resolveValuesPath({ flag: opts.values, clusterName: model.cluster.name, root, env: o.env });
    const cert = await sealingCertificate(root, model, opts, deps, o, "seal");
    const store = SecretValueStore.load(loc.path, model.cluster.name);
    const onDisk = readSealedFiles(root, OWNED_DIRS);
    const present = sealedEntries(onDisk);
    const res = resolveSecretValues(selected, model.secrets, { store, sealedOrigins: sealedOrigins(model, present) });

    if (res.problems.size) {
      if (opts.json) o.json({ ok: false, written: false, certificate: certJson(cert), store: loc.path, problems: problemsJson(res.problems) });
      o.err(`bk secrets seal: cannot seal ${plural(res.problems.size, "secret")}; nothing was written (no SealedSecret, no value store change):\n${problemLines(res.problems)}`);
      o.err(`To fix, run:\n${fixCommands(res.problems).map((c) => `  ${c}\n`).join("")}then \`bk secrets seal ${opts.all ? "--all" : refs.join(" ")}\` again.\n`);
      return EXIT.failed;
    }

    const outcome = sealIntoTree(root, g, selected, res.values, cert, scopeFlag, onDisk, o.now());
    if (!opts.dryRun) {
      // Values first: a sealed value nobody kept is how incident 6 started.
      if (store.changed) store.save();
      writeTreeAtomically(root, outcome.files, OWNED_DIRS, GENERATED_FILES);
    }
    report("seal", o, opts, { cert, store: loc.path, res, outcome, addedForSharing });
    return EXIT.ok;
  } catch (err) {
    return fail("seal", err, opts.json, o);
  }
}

function report(
  cmd: "seal" | "reseal",
  o: Io,
  opts: { dryRun?: boolean; json?: boolean },
  r: { cert: SealingCert; store: string; res: Resolution; outcome: SealOutcome; addedForSharing?: string[]; changedLive?: string[] },
): void {
  const d = r.outcome.diff;
  if (opts.json) {
    o.json({
      ok: r.res.problems.size === 0,
      dryRun: Boolean(opts.dryRun),
      written: !opts.dryRun,
      certificate: certJson(r.cert),
      store: r.store,
      sealed: r.outcome.sealed,
      alsoSealedBecauseShared: r.addedForSharing ?? [],
      generated: originsJson(r.res.generated),
      recovered: originsJson(r.res.recovered),
      valueChangedFromSealed: r.changedLive ?? [],
      movedFrom: r.outcome.moved,
      tree: { added: d.added, changed: d.changed, removed: d.removed },
      problems: problemsJson(r.res.problems),
    });
    return;
  }
  const verb = opts.dryRun ? "would seal" : "sealed";
  o.out(`bk secrets ${cmd}: ${verb} for key ${r.cert.info.publicKeyFingerprint} (${r.cert.info.subject}, expires ${r.cert.info.notAfter.toISOString().slice(0, 10)}; from ${r.cert.source})\n`);
  for (const s of r.outcome.sealed) o.out(`  ${s.ref.padEnd(40)} -> ${s.file}  [${s.keys.join(", ")}]${s.scope === "strict" ? "" : ` (${s.scope})`}\n`);
  if (r.addedForSharing?.length) o.out(`  also sealed, as they share a value with the ones named: ${r.addedForSharing.join(", ")}\n`);
  if (r.res.generated.length) o.out(`  ${opts.dryRun ? "would generate" : "generated"} ${plural(r.res.generated.length, "new value")} (${opts.dryRun ? "not saved" : `saved to ${r.store}`}): ${originsJson(r.res.generated).join(", ")}\n`);
  if (r.res.recovered.length) o.out(`  ${opts.dryRun ? "would recover" : "recovered"} ${plural(r.res.recovered.length, "value")} from the old keys (${opts.dryRun ? "not saved" : `saved to ${r.store}`}): ${originsJson(r.res.recovered).join(", ")}\n`);
  if (r.changedLive?.length) o.out(`  NOTE the value store differs from what is sealed now for: ${r.changedLive.join(", ")}; the store's value wins, so the cluster's value changes\n`);
  if (r.outcome.moved.length) o.out(`  removed misplaced copies: ${r.outcome.moved.join(", ")}\n`);
  if (opts.dryRun) {
    o.out(`bk secrets ${cmd} --dry-run: would write ${treeSummary(d)} file(s); nothing was written:\n`);
    for (const f of d.added) o.out(`  + ${f}\n`);
    for (const f of d.changed) o.out(`  ~ ${f}\n`);
    for (const f of d.removed) o.out(`  - ${f}\n`);
  } else {
    const sealedFiles = new Set(r.outcome.sealed.map((s) => s.file));
    const other = [...d.added, ...d.changed, ...d.removed].filter((f) => !sealedFiles.has(f) && !f.endsWith("/kustomization.yaml"));
    o.out(`bk secrets ${cmd}: ${plural(r.outcome.sealed.length, "SealedSecret")} written; tree: ${treeSummary(d)}\n`);
    if (other.length) {
      const shown = other.slice(0, 5).join(", ") + (other.length > 5 ? `, and ${other.length - 5} more` : "");
      o.out(`  the tree also took in ${plural(other.length, "pending definition change")}, as \`bk synth\` would: ${shown}\n`);
    }
    if (r.cert.testKey) o.out(`  sealed with the TEST key ${r.cert.testKey}: do not commit this\n`);
  }
}

// ---- verify ----

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
        err instanceof UnsealError
          ? `cannot be opened: ${NO_KEY_COULD_DECRYPT} for key(s) ${err.failedKeys.join(", ")} (scope ${err.scope}, tried ${plural(err.triedKeys, "key")})`
          : `cannot be opened: ${entry.error}`,
      );
    }
    if (declared) {
      const missing = Object.keys(declared.keys).filter((k) => !e.keys.includes(k));
      if (missing.length) entry.problems.push(`lacks declared key(s) ${missing.join(", ")}; fix: bk secrets seal ${e.ref}`);
    }
    entries.push(entry);
  }
  // Literal and same-as checks need the plaintext, so they run after everything is open.
  for (const entry of entries) {
    const s = model.secrets.find((x) => secretRef(x) === entry.secret);
    const data = opened.get(entry.secret);
    if (!s || !data) continue;
    for (const k of Object.keys(s.keys).sort()) {
      const v = data[k];
      if (v === undefined) continue;
      const origin = keyOrigin(model.secrets, s, k);
      if (origin.source === "literal") {
        if (v.toString("utf8") !== origin.literal) entry.problems.push(`key ${k} no longer matches the definition's literal${origin.ref === entry.secret ? "" : ` (of ${origin.ref} ${origin.key})`}; fix: bk secrets seal ${entry.secret}`);
      } else if (origin.ref !== entry.secret) {
        const theirs = opened.get(origin.ref)?.[origin.key];
        if (theirs && !theirs.equals(v)) entry.problems.push(`key ${k} differs from ${origin.ref} ${origin.key}, which it must equal (same-as); fix: bk secrets seal ${origin.ref}`);
      }
    }
  }
  for (const s of model.secrets) {
    const ref = secretRef(s);
    if (present.some((e) => e.ref === ref)) continue;
    entries.push({ secret: ref, declared: true, opens: null, problems: opts.requireAllSealed ? [`not sealed yet; fix: bk secrets seal ${ref}`] : [] });
  }
  entries.sort((a, b) => a.secret.localeCompare(b.secret));
  return { ok: entries.every((e) => e.problems.length === 0), keys, secrets: entries };
}

function printVerify(o: Io, r: VerifyReport): void {
  for (const e of r.secrets) {
    const status = e.opens === null ? "NOT SEALED" : e.opens ? (e.problems.length ? "PROBLEM" : "opens") : "CANNOT OPEN";
    o.out(`${status.padEnd(11)} ${e.secret}${e.file ? `  (${e.file})` : ""}${e.declared ? "" : "  [not declared]"}\n`);
    for (const p of e.problems) o.out(`            ${p}\n`);
  }
}

export async function secretsVerifyCommand(root: string, opts: SecretsVerifyOptions, deps: SecretsDeps = {}): Promise<number> {
  const o = io(deps);
  try {
    if (!opts.keyBackup) throw new CliInputError("pass --key-backup <file>: the controller's private keys (from `bk secrets backup`)");
    if (!existsSync(opts.keyBackup)) throw new UnavailableError(`--key-backup ${opts.keyBackup} does not exist`);
    let backup: KeyBackup;
    try {
      backup = loadKeyBackupFile(opts.keyBackup);
    } catch (err) {
      throw new CliInputError((err as Error).message);
    }
    const { model } = loadDefinition(root);
    const report = verifySealedTree(model, readSealedFiles(root, OWNED_DIRS), backup, { requireAllSealed: true });
    if (opts.json) o.json({ ...report, keyBackup: opts.keyBackup });
    else {
      printVerify(o, report);
      const bad = report.secrets.filter((e) => e.problems.length).length;
      if (report.secrets.some((e) => e.opens === false)) {
        o.out(
          "A SealedSecret that cannot be opened was sealed with a controller key missing from this backup (find the backup that has it), " +
            "or for another name/namespace/scope; either way `bk secrets reseal` with the current certificate fixes it (add --from-key-backup <old keys> to recover values not in the store).\n",
        );
      }
      o.out(
        `bk secrets verify: ${report.ok ? "ok" : "FAILED"}: ${plural(report.secrets.length, "secret")} checked with ${plural(report.keys.length, "key")} from ${opts.keyBackup}` +
          `${bad ? `; ${bad} with problems` : ""}\n`,
      );
    }
    return report.ok ? EXIT.ok : EXIT.failed;
  } catch (err) {
    return fail("verify", err, opts.json, o);
  }
}

// ---- backup ----

export async function secretsBackupCommand(root: string, opts: SecretsBackupOptions, deps: SecretsDeps = {}): Promise<number> {
  const o = io(deps);
  try {
    if (!opts.kubeconfig) throw new CliInputError("pass --kubeconfig <file> of the cluster whose Sealed Secrets keys to back up");
    if (!opts.out) throw new CliInputError("pass --out <file>: where to write the keys (outside the repository: an encrypted disk, a password manager attachment)");
    const out = path.resolve(opts.out);
    assertOutsideRepository(out, root, `--out ${out}`, "private keys belong off the repository: an encrypted disk or a password manager");
    const { model } = loadDefinition(root);
    const ns = model.infra.sealedSecrets.namespace;
    const cluster = await (deps.cluster ?? openCluster)(opts.kubeconfig);
    const keys = await cluster.listKeySecrets(ns);
    if (keys.length === 0) {
      throw new UnavailableError(
        `no Secrets labelled sealedsecrets.bitnami.com/sealed-secrets-key in namespace ${ns} at ${cluster.describe()}; ` +
          "is the sealed-secrets controller installed there (it creates its first key when it starts)?",
      );
    }
    const header =
      `# Sealed Secrets private keys of cluster ${model.cluster.name} (namespace ${ns}), read ${o.now().toISOString()} from ${cluster.describe()} by \`bk secrets backup\`.\n` +
      "# Anyone holding this file can open every SealedSecret: keep it off Git, encrypted and offline. Restore: kubectl apply -f <this file>, before the controller starts.\n";
    const text = keyBackupYaml(keys, header);
    let parsed: KeyBackup;
    try {
      parsed = parseKeyBackup(text);
    } catch (err) {
      throw new Error(`the key Secrets read from the cluster do not form a usable backup: ${(err as Error).message}`);
    }
    const fingerprints = (b: KeyBackup) => b.privateKeys.map((k) => publicKeyFingerprint(createPublicKey(k)));
    const newFps = new Set(fingerprints(parsed));
    if (existsSync(out) && !opts.force) {
      let old: KeyBackup | undefined;
      try {
        old = loadKeyBackupFile(out);
      } catch (err) {
        throw new CliInputError(`${out} exists and is not a key backup (${(err as Error).message}); choose another --out, or pass --force to overwrite it`);
      }
      const lost = fingerprints(old).filter((f) => !newFps.has(f));
      if (lost.length) {
        throw new CliInputError(
          `${out} holds ${plural(lost.length, "key")} the cluster no longer has (${lost.join(", ")}); overwriting would lose them and every SealedSecret sealed with them. ` +
            "Write to a new file (e.g. with the date in its name), or pass --force.",
        );
      }
    }
    if (!opts.dryRun) writePrivateFileAtomically(out, text);
    // Verify what is on disk, not what is in memory: the file is what a rebuild will have.
    const verified = opts.dryRun ? parsed : loadKeyBackupFile(out);
    const report = verifySealedTree(model, readSealedFiles(root, OWNED_DIRS), verified, { requireAllSealed: false });
    const notOpening = report.secrets.filter((e) => e.opens === false);
    const keyInfo = keys.map((k) => {
      const info = k.certPem ? certificateInfo(k.certPem) : undefined;
      return { name: k.name, state: k.state, created: k.created?.toISOString(), fingerprint: info?.publicKeyFingerprint, certificateExpires: info?.notAfter.toISOString() };
    });
    const ok = notOpening.length === 0;
    if (opts.json) o.json({ ok, dryRun: Boolean(opts.dryRun), written: opts.dryRun ? null : out, server: cluster.describe(), namespace: ns, keys: keyInfo, verify: report });
    else {
      o.out(`bk secrets backup: ${plural(keys.length, "key")} in ${ns} at ${cluster.describe()}:\n`);
      for (const k of keyInfo) o.out(`  ${k.name.padEnd(32)} ${k.state.padEnd(11)} ${k.fingerprint ?? "(no certificate)"}  created ${k.created ?? "?"}\n`);
      o.out(opts.dryRun ? `  --dry-run: would write ${out} (mode 0600); nothing was written\n` : `  written to ${out} (mode 0600)\n`);
      const opened = report.secrets.filter((e) => e.opens === true).length;
      if (ok) o.out(`bk secrets backup: ok: the backup opens all ${plural(opened, "SealedSecret")} in the tree\n`);
      else {
        o.out(`bk secrets backup: FAILED: the backup does not open ${plural(notOpening.length, "SealedSecret")} of the tree (they were sealed with a key this cluster does not have):\n`);
        for (const e of notOpening) o.out(`  ${e.secret} (${e.file}): ${e.error}\n`);
        o.out("  fix: reseal them for this cluster's key: bk secrets reseal --kubeconfig <file> [--from-key-backup <older backup>]\n");
      }
    }
    return ok ? EXIT.ok : EXIT.failed;
  } catch (err) {
    return fail("backup", err, opts.json, o);
  }
}

// ---- reseal ----

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

export async function secretsResealCommand(root: string, opts: SecretsResealOptions, deps: SecretsDeps = {}): Promise<number> {
  const o = io(deps);
  try {
    const scopeFlag = parseScope(opts.scope);
    const g = generate(root);
    const model = g.model;
    const loc = resolveValuesPath({ flag: opts.values, clusterName: model.cluster.name, root, env: o.env });
    const cert = await sealingCertificate(root, model, opts, deps, o, "reseal");
    const store = SecretValueStore.load(loc.path, model.cluster.name);
    const onDisk = readSealedFiles(root, OWNED_DIRS);
    const present = sealedEntries(onDisk);

    let recovered: Map<string, string> | undefined;
    let unopenable: string[] = [];
    if (opts.fromKeyBackup) {
      if (!existsSync(opts.fromKeyBackup)) throw new UnavailableError(`--from-key-backup ${opts.fromKeyBackup} does not exist`);
      let backup: KeyBackup;
      try {
        backup = loadKeyBackupFile(opts.fromKeyBackup);
      } catch (err) {
        throw new CliInputError((err as Error).message);
      }
      ({ values: recovered, unopenable } = recoverValues(model, present, backup));
    }
    // Where the store and the current SealedSecret disagree the store wins; say so, since the live value changes.
    const changedLive = recovered ? [...recovered].filter(([id, v]) => {
      const [ref, key] = id.split("#") as [string, string];
      const stored = store.get(ref, key);
      return stored !== undefined && stored !== v;
    }).map(([id]) => id.replace("#", " ")) : [];

    const res = resolveSecretValues(model.secrets, model.secrets, { store, sealedOrigins: sealedOrigins(model, present), ...(recovered ? { recovered } : {}) });
    const outcome = sealIntoTree(root, g, model.secrets, res.values, cert, scopeFlag, onDisk, o.now());
    if (!opts.dryRun && outcome.sealed.length) {
      if (store.changed) store.save();
      writeTreeAtomically(root, outcome.files, OWNED_DIRS, GENERATED_FILES);
    }
    report("reseal", o, opts, { cert, store: loc.path, res, outcome, changedLive });
    if (res.problems.size) {
      if (!opts.json) {
        o.err(`bk secrets reseal: ${plural(res.problems.size, "secret")} could not be resealed${outcome.sealed.length && !opts.dryRun ? " (the others were)" : ""}:\n${problemLines(res.problems)}`);
        if (unopenable.length) o.err(`  the old keys (--from-key-backup) did not open: ${unopenable.join(", ")}\n`);
        o.err(`To fix, run:\n${fixCommands(res.problems).map((c) => `  ${c}\n`).join("")}then \`bk secrets reseal\` again.\n`);
      }
      return EXIT.failed;
    }
    return EXIT.ok;
  } catch (err) {
    return fail("reseal", err, opts.json, o);
  }
}
