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
import { BkError, EXIT, InputError } from "../../core/errors.js";
import { FindingsError } from "../../core/finding.js";
import { isSealingScope, SEALING_SCOPES, type SealingScope } from "../../sealing/scope.js";
import type { TreeDiff } from "../../tree/diff.js";
import { certificateSummary, type OpenCluster, type SealingCert } from "../../workflows/secrets/certificate.js";
import { secretsInventory } from "../../workflows/secrets/inventory.js";
import { backupSealingKeys } from "../../workflows/secrets/key-backup.js";
import { resealSecrets, sealSecrets, type SealContext, type SealOutcome } from "../../workflows/secrets/seal.js";
import { setSecretValue } from "../../workflows/secrets/set-value.js";
import type { KeyOrigin, KeyProblem, Resolution } from "../../workflows/secrets/value-store.js";
import { verifyWithKeyBackup, type VerifyReport } from "../../workflows/secrets/verify.js";
import { errorJson } from "../report-error.js";

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
  cluster?: OpenCluster;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  stdout?: { write(s: string): unknown };
  stderr?: { write(s: string): unknown };
  /** Standard input for `set --from-file -`. */
  stdin?: () => Buffer;
}

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
  if (err instanceof FindingsError) throw err; // definition problems: main renders them
  const message = err instanceof Error ? err.message : String(err);
  // Errors not yet typed (a plain Error from a file read) keep the code these commands always gave them.
  const code = err instanceof BkError ? err.exitCode : EXIT.failed;
  if (json) o.json(errorJson(message, code));
  o.err(`bk secrets ${cmd}: ${message}\n`);
  return code;
}

/** What the seal workflows reach outside themselves; their warnings go to stderr under the command's name. */
function sealContext(cmd: string, deps: SecretsDeps, o: Io): SealContext {
  return { env: o.env, now: o.now(), cluster: deps.cluster, warn: (m) => o.err(`bk secrets ${cmd}: ${m}\n`) };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function parseScope(scope: string | undefined): SealingScope | undefined {
  if (scope === undefined) return undefined;
  if (!isSealingScope(scope)) throw new InputError(`--scope ${scope}: use one of ${SEALING_SCOPES.join(", ")}`);
  return scope;
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

function treeSummary(d: TreeDiff): string {
  return `${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed`;
}

// ---- list ----

export async function secretsListCommand(root: string, opts: SecretsListOptions, deps: SecretsDeps = {}): Promise<number> {
  const o = io(deps);
  try {
    const inv = secretsInventory(root, { values: opts.values }, { env: o.env });
    if (opts.json) {
      o.json(inv);
      return EXIT.ok;
    }
    const rows = inv.secrets;
    o.out(`Value store: ${inv.store.path} (${inv.store.from}${inv.store.exists ? "" : ", not created yet"})\n\n`);
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
    if (inv.undeclaredStoreEntries.length) o.out(`store entries no longer declared (harmless; remove them by hand): ${inv.undeclaredStoreEntries.join(", ")}\n`);
    if (inv.undeclaredSealedSecrets.length) o.out(`SealedSecrets in the tree that are not declared: ${inv.undeclaredSealedSecrets.map((u) => `${u.secret} (${u.file})`).join(", ")}\n`);
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
    if (chosen !== 1) throw new InputError("give exactly one of --value <value>, --from-file <file> (- for standard input), or --generate [--length <bytes>]");
    if (opts.length !== undefined && !opts.generate) throw new InputError("--length only goes with --generate");
    const r = setSecretValue(root, ref, key, opts, { env: o.env, stdin: deps.stdin });
    if (opts.json) o.json({ ok: true, dryRun: Boolean(opts.dryRun), secret: r.secret, key: r.key, store: r.store, replaced: r.replaced, changed: r.changed, next: r.next });
    else {
      o.out(`bk secrets set: ${opts.dryRun ? "would store" : "stored"} ${ref} ${key} ${r.how} in ${r.store}${!r.replaced ? "" : !r.changed ? " (unchanged)" : " (replaced the previous value)"}\n`);
      o.out(`  next: ${r.next}${r.staleSealed ? "   (the SealedSecret in the tree still holds the old value until then)" : ""}\n`);
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
    if (opts.all && refs.length) throw new InputError("give secret names or --all, not both");
    if (!opts.all && !refs.length) throw new InputError("which secrets? name them as <namespace>/<name> or pass --all (`bk secrets list` shows them)");
    const scope = parseScope(opts.scope);
    const r = await sealSecrets(root, refs, { ...opts, scope }, sealContext("seal", deps, o));
    if (!r.ok) {
      if (opts.json) o.json({ ok: false, written: false, certificate: certificateSummary(r.cert), store: r.store, problems: problemsJson(r.problems) });
      o.err(`bk secrets seal: cannot seal ${plural(r.problems.size, "secret")}; nothing was written (no SealedSecret, no value store change):\n${problemLines(r.problems)}`);
      o.err(
        `To fix, run:\n${fixCommands(r.problems)
          .map((c) => `  ${c}\n`)
          .join("")}then \`bk secrets seal ${opts.all ? "--all" : refs.join(" ")}\` again.\n`,
      );
      return EXIT.failed;
    }
    report("seal", o, opts, { cert: r.cert, store: r.store, res: r.resolution, outcome: r.outcome, addedForSharing: r.addedForSharing });
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
      certificate: certificateSummary(r.cert),
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
  if (r.res.generated.length)
    o.out(`  ${opts.dryRun ? "would generate" : "generated"} ${plural(r.res.generated.length, "new value")} (${opts.dryRun ? "not saved" : `saved to ${r.store}`}): ${originsJson(r.res.generated).join(", ")}\n`);
  if (r.res.recovered.length)
    o.out(
      `  ${opts.dryRun ? "would recover" : "recovered"} ${plural(r.res.recovered.length, "value")} from the old keys (${opts.dryRun ? "not saved" : `saved to ${r.store}`}): ${originsJson(r.res.recovered).join(", ")}\n`,
    );
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
    if (!opts.keyBackup) throw new InputError("pass --key-backup <file>: the controller's private keys (from `bk secrets backup`)");
    const report = verifyWithKeyBackup(root, opts.keyBackup);
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
    if (!opts.kubeconfig) throw new InputError("pass --kubeconfig <file> of the cluster whose Sealed Secrets keys to back up");
    if (!opts.out) throw new InputError("pass --out <file>: where to write the keys (outside the repository: an encrypted disk, a password manager attachment)");
    const r = await backupSealingKeys(root, { kubeconfig: opts.kubeconfig, out: opts.out, force: opts.force, dryRun: opts.dryRun }, { now: o.now(), cluster: deps.cluster });
    if (opts.json) o.json({ ok: r.ok, dryRun: Boolean(opts.dryRun), written: opts.dryRun ? null : r.out, server: r.server, namespace: r.namespace, keys: r.keys, verify: r.verify });
    else {
      o.out(`bk secrets backup: ${plural(r.keys.length, "key")} in ${r.namespace} at ${r.server}:\n`);
      for (const k of r.keys) o.out(`  ${k.name.padEnd(32)} ${k.state.padEnd(11)} ${k.fingerprint ?? "(no certificate)"}  created ${k.created ?? "?"}\n`);
      o.out(opts.dryRun ? `  --dry-run: would write ${r.out} (mode 0600); nothing was written\n` : `  written to ${r.out} (mode 0600)\n`);
      const opened = r.verify.secrets.filter((e) => e.opens === true).length;
      if (r.ok) o.out(`bk secrets backup: ok: the backup opens all ${plural(opened, "SealedSecret")} in the tree\n`);
      else {
        o.out(`bk secrets backup: FAILED: the backup does not open ${plural(r.notOpening.length, "SealedSecret")} of the tree (they were sealed with a key this cluster does not have):\n`);
        for (const e of r.notOpening) o.out(`  ${e.secret} (${e.file}): ${e.error}\n`);
        o.out("  fix: reseal them for this cluster's key: bk secrets reseal --kubeconfig <file> [--from-key-backup <older backup>]\n");
      }
    }
    return r.ok ? EXIT.ok : EXIT.failed;
  } catch (err) {
    return fail("backup", err, opts.json, o);
  }
}

// ---- reseal ----

export async function secretsResealCommand(root: string, opts: SecretsResealOptions, deps: SecretsDeps = {}): Promise<number> {
  const o = io(deps);
  try {
    const scope = parseScope(opts.scope);
    const r = await resealSecrets(root, { ...opts, scope }, sealContext("reseal", deps, o));
    const res = r.resolution;
    report("reseal", o, opts, { cert: r.cert, store: r.store, res, outcome: r.outcome, changedLive: r.changedLive });
    if (res.problems.size) {
      if (!opts.json) {
        o.err(`bk secrets reseal: ${plural(res.problems.size, "secret")} could not be resealed${r.outcome.sealed.length && !opts.dryRun ? " (the others were)" : ""}:\n${problemLines(res.problems)}`);
        if (r.unopenable.length) o.err(`  the old keys (--from-key-backup) did not open: ${r.unopenable.join(", ")}\n`);
        o.err(
          `To fix, run:\n${fixCommands(res.problems)
            .map((c) => `  ${c}\n`)
            .join("")}then \`bk secrets reseal\` again.\n`,
        );
      }
      return EXIT.failed;
    }
    return EXIT.ok;
  } catch (err) {
    return fail("reseal", err, opts.json, o);
  }
}
