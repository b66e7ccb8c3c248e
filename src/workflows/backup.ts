/**
 * Database backups and restores as folders: <dir>/<UTC timestamp>/ holding one pg_dump custom-format
 * file per database, manifest.json (what was dumped, with per-table row counts to verify a restore
 * against) and SHA256SUMS (sha256sum -c compatible). A folder appears under its final name only when
 * complete; a restore touches nothing until every checksum matches.
 */
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CheckFailedError } from "../core/errors.js";
import type { PgClient } from "../adapters/postgres.js";
import type { Runner } from "../adapters/runner.js";

export const MANIFEST = "manifest.json";
export const SUMS = "SHA256SUMS";
export const KEYS_FILE = "sealed-secrets-keys.yaml";
export const BACKUP_FORMAT = "beckerkube-backup/v1";
const FOLDER = /^\d{8}T\d{6}Z(-\d+)?$/;

export interface DatabaseEntry {
  name: string;
  file: string;
  bytes: number;
  sha256: string;
  /** "schema.table" -> exact row count at dump time. */
  tables: Record<string, number>;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  server: { host: string; port: number; version: string; major: number };
  pgDump: { version: string; major: number };
  definition: { commit: string; dirty: boolean } | null;
  databases: DatabaseEntry[];
  sealedSecretsKeys: { included: false } | { included: true; file: string; sha256: string };
}

export type Progress = (line: string) => void;

export interface BackupOptions {
  pg: PgClient;
  dir: string;
  databases: string[];
  sealedSecretsKeys?: string;
  keep?: number;
  definition: BackupManifest["definition"];
  now?: Date;
  progress?: Progress;
}

export interface BackupResult {
  folder: string;
  manifest: BackupManifest;
  removed: string[];
}

/** 2026-08-12T03:15:00.123Z -> 20260812T031500Z: sortable, and safe in every file system. */
export function timestampName(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(file)
      .on("data", (b) => h.update(b))
      .on("end", () => resolve(h.digest("hex")))
      .on("error", reject);
  });
}

/** What `bk backup --dry-run` reports: nothing is contacted or written. */
export function backupPlan(o: Pick<BackupOptions, "dir" | "databases" | "sealedSecretsKeys" | "keep" | "now">) {
  const folder = path.join(path.resolve(o.dir), timestampName(o.now ?? new Date()));
  return {
    folder,
    files: [...o.databases.map((d) => `${d}.dump`), ...(o.sealedSecretsKeys ? [KEYS_FILE] : []), MANIFEST, SUMS],
    retention: o.keep ? { keep: o.keep, wouldRemove: retentionVictims(o.dir, o.keep - 1) } : null,
  };
}

export async function runBackup(o: BackupOptions): Promise<BackupResult> {
  const say = o.progress ?? (() => undefined);
  if (o.sealedSecretsKeys && !existsSync(o.sealedSecretsKeys)) {
    throw new Error(`--sealed-secrets-keys ${o.sealedSecretsKeys}: no such file (export it with \`kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml\`)`);
  }
  const server = await o.pg.serverVersion();
  const pgDump = await o.pg.toolVersion(o.pg.tools.pgDump);
  if (pgDump.major < server.major) {
    throw new Error(
      `pg_dump ${pgDump.version} (${o.pg.tools.from}) cannot dump a PostgreSQL ${server.version} server: pg_dump must be of the server's major version or newer; install postgresql-client-${server.major} and pass --pg-bin /usr/lib/postgresql/${server.major}/bin`,
    );
  }
  const present = new Set(await o.pg.databases());
  const missing = o.databases.filter((d) => !present.has(d));
  if (missing.length) {
    throw new Error(`database(s) ${missing.join(", ")} do not exist on ${o.pg.where()} (it has: ${[...present].join(", ")}); check --database or the definition's postgres.databases`);
  }

  const root = path.resolve(o.dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const final = uniqueFolder(root, timestampName(o.now ?? new Date()));
  // Built under a dot-name and renamed when complete, so a half-written backup is never mistaken for one.
  const work = path.join(root, `.${path.basename(final)}.partial`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { mode: 0o700 });
  try {
    const entries: DatabaseEntry[] = [];
    for (const [i, db] of o.databases.entries()) {
      say(`dumping ${db} (${i + 1}/${o.databases.length})`);
      // Counted before the dump: a restore must reproduce what the dump holds, and with no writers
      // these agree; with writers the verification step says so instead of passing silently.
      const tables = await o.pg.tableRowCounts(db);
      const file = `${db}.dump`;
      await o.pg.dump(db, path.join(work, file));
      const full = path.join(work, file);
      entries.push({ name: db, file, bytes: statSync(full).size, sha256: await sha256File(full), tables });
      say(`  ${db}: ${Object.keys(tables).length} table(s), ${statSync(full).size} bytes`);
    }
    let keys: BackupManifest["sealedSecretsKeys"] = { included: false };
    if (o.sealedSecretsKeys) {
      const dest = path.join(work, KEYS_FILE);
      copyFileSync(o.sealedSecretsKeys, dest);
      chmodSync(dest, 0o600);
      keys = { included: true, file: KEYS_FILE, sha256: await sha256File(dest) };
      say(`  Sealed Secrets keys copied (mode 0600)`);
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      createdAt: (o.now ?? new Date()).toISOString(),
      server: { host: o.pg.conn.host, port: o.pg.conn.port, ...server },
      pgDump,
      definition: o.definition,
      databases: entries,
      sealedSecretsKeys: keys,
    };
    writeFileSync(path.join(work, MANIFEST), JSON.stringify(manifest, null, 2) + "\n", { mode: 0o600 });
    const sums: string[] = [];
    for (const f of [...entries.map((e) => e.file), ...(keys.included ? [keys.file] : []), MANIFEST]) {
      sums.push(`${await sha256File(path.join(work, f))}  ${f}`);
    }
    writeFileSync(path.join(work, SUMS), sums.join("\n") + "\n", { mode: 0o600 });
    renameSync(work, final);
    say(`backup written to ${final}`);
    const removed = o.keep ? applyRetention(root, o.keep) : [];
    for (const r of removed) say(`retention (keep ${o.keep}): removed ${r}`);
    return { folder: final, manifest, removed };
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

/** Two backups in one second get -2, -3, ...: always above any suffix in use, so the newest sorts last even after retention removed the earlier ones. */
function uniqueFolder(root: string, name: string): string {
  let highest = 0;
  for (const entry of readdirSync(root)) {
    const m = new RegExp(`^\\.?${name}(?:-(\\d+))?(?:\\.partial)?$`).exec(entry);
    if (m) highest = Math.max(highest, m[1] ? Number(m[1]) : 1);
  }
  return path.join(root, highest ? `${name}-${highest + 1}` : name);
}

/** Complete backup folders under `dir`, newest first. Anything else in `dir` is never touched. */
export function listBackups(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && FOLDER.test(e.name) && existsSync(path.join(dir, e.name, MANIFEST)))
    .map((e) => e.name)
    .sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
}

function retentionVictims(dir: string, keep: number): string[] {
  return listBackups(path.resolve(dir))
    .slice(Math.max(keep, 0))
    .map((n) => path.join(path.resolve(dir), n));
}

/** Delete all but the `keep` newest backup folders; returns what was removed. */
export function applyRetention(dir: string, keep: number): string[] {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`--keep must be a whole number of at least 1 (got ${keep})`);
  const victims = retentionVictims(dir, keep);
  for (const v of victims) rmSync(v, { recursive: true, force: true });
  return victims;
}

/** Accept a backup folder, or the folder holding backups (then the newest one). */
export function resolveBackupFolder(p: string): string {
  const abs = path.resolve(p);
  if (existsSync(path.join(abs, MANIFEST)) || existsSync(path.join(abs, SUMS))) return abs;
  const newest = listBackups(abs)[0];
  if (newest) return path.join(abs, newest);
  throw new Error(`${abs} is not a backup: it has no ${MANIFEST}/${SUMS} and no <timestamp>/ backup folders; pass a folder written by \`bk backup\``);
}

export interface ChecksumReport {
  ok: boolean;
  problems: string[];
  files: string[];
}

/** Every file listed in SHA256SUMS must exist and match; the manifest and every dump it names must be listed. */
export async function verifyChecksums(folder: string): Promise<ChecksumReport> {
  const problems: string[] = [];
  const sumsPath = path.join(folder, SUMS);
  if (!existsSync(sumsPath)) return { ok: false, problems: [`${sumsPath} is missing: the backup is incomplete or not from \`bk backup\``], files: [] };
  const listed = new Map<string, string>();
  for (const [i, line] of readFileSync(sumsPath, "utf8").split("\n").entries()) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line);
    if (!m || m[2]!.includes("/") || m[2] === "..") {
      problems.push(`${SUMS}:${i + 1}: unreadable line "${line}"`);
      continue;
    }
    listed.set(m[2]!, m[1]!);
  }
  for (const [file, want] of listed) {
    const full = path.join(folder, file);
    if (!existsSync(full)) {
      problems.push(`${file}: listed in ${SUMS} but missing`);
      continue;
    }
    const got = await sha256File(full);
    if (got !== want) problems.push(`${file}: checksum mismatch (expected ${want.slice(0, 16)}…, got ${got.slice(0, 16)}…): the file is corrupted or was changed after the backup`);
  }
  if (!listed.has(MANIFEST)) problems.push(`${MANIFEST} is not listed in ${SUMS}`);
  else if (!problems.some((p) => p.startsWith(MANIFEST))) {
    const manifest = readManifest(folder);
    for (const d of manifest.databases) if (!listed.has(d.file)) problems.push(`${d.file} (database ${d.name}) is not listed in ${SUMS}`);
  }
  return { ok: problems.length === 0, problems, files: [...listed.keys()] };
}

export function readManifest(folder: string): BackupManifest {
  const file = path.join(folder, MANIFEST);
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(file, "utf8")) as BackupManifest;
  } catch (err) {
    throw new Error(`${file}: cannot read the manifest (${(err as Error).message})`);
  }
  if (m.format !== BACKUP_FORMAT) throw new Error(`${file}: format "${String(m.format)}" is not ${BACKUP_FORMAT}; this backup was not written by this version of bk`);
  return m;
}

export interface TableCheck {
  table: string;
  expected: number | null;
  actual: number | null;
}

export interface RestoredDatabase {
  name: string;
  ok: boolean;
  error?: string;
  tables: TableCheck[];
}

export interface RestoreOptions {
  pg: PgClient;
  folder: string;
  databases?: string[];
  mode: "create" | "existing";
  noOwner?: boolean;
  dryRun?: boolean;
  progress?: Progress;
}

export interface RestoreResult {
  folder: string;
  checksums: ChecksumReport;
  dryRun: boolean;
  commands: string[];
  databases: RestoredDatabase[];
  ok: boolean;
}

/** Thrown before anything is touched: checksums or the selection are wrong. */
export class RestoreRefused extends CheckFailedError {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

/** Compare row counts after a restore with the manifest: the same tables, the same counts. */
export function compareTables(expected: Record<string, number>, actual: Record<string, number>): TableCheck[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return names.map((t) => ({ table: t, expected: expected[t] ?? null, actual: actual[t] ?? null }));
}

export async function runRestore(o: RestoreOptions): Promise<RestoreResult> {
  const say = o.progress ?? (() => undefined);
  say(`verifying checksums in ${o.folder}`);
  const checksums = await verifyChecksums(o.folder);
  if (!checksums.ok) throw new RestoreRefused(`refusing to restore from ${o.folder}: ${checksums.problems.length} checksum problem(s); nothing was touched`, checksums.problems);
  const manifest = readManifest(o.folder);
  const names = o.databases?.length ? o.databases : manifest.databases.map((d) => d.name);
  const unknown = names.filter((n) => !manifest.databases.some((d) => d.name === n));
  if (unknown.length) {
    throw new RestoreRefused(`database(s) ${unknown.join(", ")} are not in this backup (it has: ${manifest.databases.map((d) => d.name).join(", ")}); nothing was touched`, unknown);
  }
  const chosen = names.map((n) => manifest.databases.find((d) => d.name === n)!);
  const commands = chosen.map((d) => [o.pg.tools.pgRestore, ...o.pg.restoreArgs(path.join(o.folder, d.file), d.name, o.mode, Boolean(o.noOwner))].join(" "));
  if (o.dryRun) {
    const planned = chosen.map((d) => ({ name: d.name, ok: true, tables: Object.entries(d.tables).map(([table, n]) => ({ table, expected: n, actual: null })) }));
    return { folder: o.folder, checksums, dryRun: true, commands, databases: planned, ok: true };
  }
  const tool = await o.pg.toolVersion(o.pg.tools.pgRestore);
  if (tool.major < manifest.pgDump.major) {
    throw new RestoreRefused(`pg_restore ${tool.version} cannot read dumps written by pg_dump ${manifest.pgDump.version}; install postgresql-client-${manifest.pgDump.major} and pass --pg-bin; nothing was touched`, []);
  }
  const results: RestoredDatabase[] = [];
  for (const [i, d] of chosen.entries()) {
    say(`restoring ${d.name} (${i + 1}/${chosen.length}, ${o.mode === "create" ? "drop and recreate" : "into the existing database"})`);
    let error: string | undefined;
    try {
      await o.pg.restore(path.join(o.folder, d.file), d.name, o.mode, Boolean(o.noOwner));
    } catch (err) {
      error = (err as Error).message;
    }
    let tables: TableCheck[] = [];
    try {
      say(`  verifying row counts of ${d.name}`);
      tables = compareTables(d.tables, await o.pg.tableRowCounts(d.name));
    } catch (err) {
      error = error ?? `verification failed: ${(err as Error).message}`;
    }
    const ok = !error && tables.every((t) => t.expected === t.actual);
    results.push({ name: d.name, ok, ...(error ? { error } : {}), tables });
    say(`  ${d.name}: ${ok ? "restored and verified" : "FAILED"}`);
  }
  return { folder: o.folder, checksums, dryRun: false, commands, databases: results, ok: results.every((r) => r.ok) };
}

/** The commit of the definition, for the manifest: which cluster shape the data belongs to. */
export async function definitionCommit(runner: Runner, root: string): Promise<BackupManifest["definition"]> {
  const head = await runner.run("git", ["-C", root, "rev-parse", "HEAD"]);
  if (head.code !== 0) return null;
  const status = await runner.run("git", ["-C", root, "status", "--porcelain", "--", "definition"]);
  return { commit: head.stdout.trim(), dirty: status.code === 0 && status.stdout.trim() !== "" };
}
