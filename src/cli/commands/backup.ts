import { backupPlan, definitionCommit, runBackup } from "../../workflows/backup.js";
import { findPgTools, PgClient } from "../../adapters/postgres.js";
import { ProcessRunner, type Runner } from "../../adapters/runner.js";
import { EXIT, InputError } from "../../core/errors.js";
import { lazyModel, parseKeep, pgConnection, type PgCliOptions } from "../options.js";
import { printJson, progress } from "../output.js";
import { reportError } from "../report-error.js";

export interface BackupCliOptions extends PgCliOptions {
  dir?: string;
  database?: string[];
  sealedSecretsKeys?: string;
  keep?: string;
  dryRun?: boolean;
  json?: boolean;
  volume?: string[];
  kubeconfig?: string;
  context?: string;
  timeout?: string;
}

/** `bk backup --volume NAME|all`: a VolSync run now for each volume, waited for. */
async function volumeBackup(root: string, opts: BackupCliOptions): Promise<number> {
  const { loadDefinition } = await import("../../model/load.js");
  const { backupVolumeNow, findVolume, replicationSourceRef } = await import("../../workflows/volume-backup.js");
  const { durationMs } = await import("../../core/duration.js");
  const { model } = loadDefinition(root);
  const names = opts.volume!.includes("all") ? (model.volumeBackups?.volumes ?? []).map((v) => v.id) : opts.volume!;
  const volumes = names.map((n) => findVolume(model.volumeBackups, n));
  const timeoutMs = durationMs(opts.timeout ?? "1h");
  if (!timeoutMs) throw new InputError(`--timeout ${opts.timeout}: write a duration such as 30m or 2h`);
  if (opts.dryRun) {
    const plan = volumes.map((v) => ({ volume: v.id, object: replicationSourceRef(v), claim: `${v.namespace}/${v.pvc}`, repository: v.repository, patch: { spec: { trigger: { manual: "bk-<UTC timestamp>" } } } }));
    if (opts.json) printJson({ dryRun: true, volumes: plan });
    else for (const p of plan) process.stdout.write(`bk backup --dry-run: would set spec.trigger.manual on ${p.object} (claim ${p.claim} -> ${p.repository}), wait for it, then remove it\n`);
    return EXIT.ok;
  }
  const kube = (await import("../../adapters/kube.js")).connect(opts.kubeconfig, opts.context);
  const results = [];
  for (const v of volumes) results.push(await backupVolumeNow(kube, v, { timeoutMs, progress: progress("backup") }));
  if (opts.json) printJson({ ok: true, volumes: results });
  else for (const r of results) process.stdout.write(`bk backup: volume ${r.volume} backed up (${r.object}, finished ${r.lastSyncTime ?? "?"}, took ${r.duration ?? "?"})\n`);
  return EXIT.ok;
}

/** `bk backup`: pg_dump every database of the definition (or --database ...) into <dir>/<UTC timestamp>/. */
export async function backupCommand(root: string, opts: BackupCliOptions, runner: Runner = new ProcessRunner()): Promise<number> {
  try {
    if (opts.volume?.length) return await volumeBackup(root, opts);
    const dir = opts.dir ?? process.env.BK_BACKUP_DIR;
    if (!dir) throw new InputError("where to? pass --dir <folder> (or set BK_BACKUP_DIR)");
    const keep = parseKeep(opts.keep);
    const model = lazyModel(root);
    const databases = opts.database?.length ? opts.database : model().postgres.databases.map((d) => d.name);
    const conn = pgConnection(opts, model);
    const tools = findPgTools(opts.pgBin);
    if (opts.dryRun) {
      const plan = backupPlan({ dir, databases, ...(opts.sealedSecretsKeys ? { sealedSecretsKeys: opts.sealedSecretsKeys } : {}), ...(keep ? { keep } : {}) });
      const commands = databases.map((d) => `${tools.pgDump} -Fc -d ${d} -f ${plan.folder}/${d}.dump`);
      if (opts.json) printJson({ dryRun: true, connection: { host: conn.host, port: conn.port, user: conn.user }, databases, ...plan, commands });
      else {
        process.stdout.write(`bk backup --dry-run: would dump ${databases.length} database(s) from ${conn.user}@${conn.host}:${conn.port} into ${plan.folder}\n`);
        for (const c of commands) process.stdout.write(`  ${c}\n`);
        process.stdout.write(`  files: ${plan.files.join(", ")}\n`);
        if (plan.retention) process.stdout.write(`  retention: keep ${plan.retention.keep}; would remove ${plan.retention.wouldRemove.length ? plan.retention.wouldRemove.join(", ") : "nothing"}\n`);
      }
      return EXIT.ok;
    }
    const pg = new PgClient(runner, tools, conn);
    const result = await runBackup({
      pg,
      dir,
      databases,
      ...(opts.sealedSecretsKeys ? { sealedSecretsKeys: opts.sealedSecretsKeys } : {}),
      ...(keep ? { keep } : {}),
      definition: await definitionCommit(runner, root),
      progress: progress("backup"),
    });
    if (opts.json) printJson({ ok: true, folder: result.folder, manifest: result.manifest, removed: result.removed });
    else {
      const m = result.manifest;
      process.stdout.write(`bk backup: ${m.databases.length} database(s) from PostgreSQL ${m.server.version} -> ${result.folder}\n`);
      for (const d of m.databases) process.stdout.write(`  ${d.name.padEnd(16)} ${String(d.bytes).padStart(10)} bytes  ${Object.keys(d.tables).length} table(s)  sha256 ${d.sha256.slice(0, 16)}…\n`);
      if (!m.sealedSecretsKeys.included) process.stdout.write(`  Sealed Secrets keys NOT included (pass --sealed-secrets-keys <file>; without them no SealedSecret decrypts after a rebuild)\n`);
      if (result.removed.length) process.stdout.write(`  retention: removed ${result.removed.length} older backup(s)\n`);
    }
    return EXIT.ok;
  } catch (err) {
    return reportError("backup", err, opts.json);
  }
}
