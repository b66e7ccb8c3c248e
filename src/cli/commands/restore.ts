import { resolveBackupFolder, RestoreRefused, runRestore } from "../../workflows/backup.js";
import { findPgTools, PgClient } from "../../adapters/postgres.js";
import { ProcessRunner, type Runner } from "../../adapters/runner.js";
import { EXIT, InputError } from "../../core/errors.js";
import { printJson, progress } from "../output.js";
import { lazyModel, pgConnection, type PgCliOptions } from "../options.js";
import { reportError } from "../report-error.js";

export interface RestoreCliOptions extends PgCliOptions {
  database?: string[];
  intoExisting?: boolean;
  /** commander's --no-owner sets owner=false. */
  owner?: boolean;
  dryRun?: boolean;
  json?: boolean;
  volume?: string;
  asOf?: string;
  kubeconfig?: string;
  context?: string;
  timeout?: string;
}

/** `bk restore --volume NAME`: the newest snapshot (or the one as of --as-of) back into the volume's claim. */
async function volumeRestore(root: string, opts: RestoreCliOptions): Promise<number> {
  const { loadDefinition } = await import("../../model/load.js");
  const { findVolume, restoreDestination, restoreVolumeNow } = await import("../../workflows/volume-backup.js");
  const { durationMs } = await import("../../core/duration.js");
  const { model } = loadDefinition(root);
  const v = findVolume(model.volumeBackups, opts.volume!);
  if (opts.asOf !== undefined && Number.isNaN(Date.parse(opts.asOf))) throw new InputError(`--as-of ${opts.asOf}: write an RFC 3339 time such as 2026-12-04T03:00:00Z`);
  const timeoutMs = durationMs(opts.timeout ?? "1h");
  if (!timeoutMs) throw new InputError(`--timeout ${opts.timeout}: write a duration such as 30m or 2h`);
  if (opts.dryRun) {
    const rd = restoreDestination(v, "bk-<UTC timestamp>", opts.asOf);
    if (opts.json) printJson({ dryRun: true, volume: v.id, claim: `${v.namespace}/${v.pvc}`, repository: v.repository, object: rd });
    else
      process.stdout.write(
        `bk restore --dry-run: would check that nothing mounts ${v.namespace}/${v.pvc}, create ReplicationDestination ${v.namespace}/${rd.metadata?.name} (restore ${opts.asOf ? `as of ${opts.asOf}` : "the newest snapshot"} of ${v.repository}), wait for it, then delete it\n`,
      );
    return EXIT.ok;
  }
  const kube = (await import("../../adapters/kube.js")).connect(opts.kubeconfig, opts.context);
  const r = await restoreVolumeNow(kube, v, { timeoutMs, progress: progress("restore"), ...(opts.asOf ? { restoreAsOf: opts.asOf } : {}) });
  if (opts.json) printJson({ ok: true, ...r });
  else process.stdout.write(`bk restore: volume ${r.volume} restored into ${v.namespace}/${v.pvc} (${r.object}, took ${r.duration ?? "?"}); start its workload again\n`);
  return EXIT.ok;
}

/** `bk restore <backup-dir>`: verify checksums, pg_restore, then verify row counts against the manifest. */
export async function restoreCommand(root: string, backupDir: string | undefined, opts: RestoreCliOptions, runner: Runner = new ProcessRunner()): Promise<number> {
  try {
    if (opts.volume) {
      if (backupDir) throw new InputError("give either a backup folder (databases) or --volume (a volume), not both");
      return await volumeRestore(root, opts);
    }
    if (!backupDir) throw new InputError("which backup? pass the folder written by `bk backup`, or --volume <name> to restore a volume");
    let folder: string;
    try {
      folder = resolveBackupFolder(backupDir);
    } catch (err) {
      throw new InputError((err as Error).message);
    }
    const conn = pgConnection(opts, lazyModel(root));
    const pg = new PgClient(runner, findPgTools(opts.pgBin), conn);
    const result = await runRestore({
      pg,
      folder,
      ...(opts.database?.length ? { databases: opts.database } : {}),
      mode: opts.intoExisting ? "existing" : "create",
      noOwner: opts.owner === false,
      ...(opts.dryRun ? { dryRun: true } : {}),
      progress: progress("restore"),
    });
    if (opts.json) printJson(result);
    else if (result.dryRun) {
      process.stdout.write(`bk restore --dry-run: checksums of ${result.checksums.files.length} file(s) verified in ${folder}; would run against ${conn.user}@${conn.host}:${conn.port}:\n`);
      for (const c of result.commands) process.stdout.write(`  ${c}\n`);
    } else {
      for (const d of result.databases) {
        process.stdout.write(`${d.ok ? "ok  " : "FAIL"} ${d.name}: ${d.tables.length} table(s)${d.error ? `: ${d.error}` : ""}\n`);
        for (const t of d.tables.filter((x) => x.expected !== x.actual)) {
          process.stdout.write(`     ${t.table}: ${t.expected ?? "absent"} row(s) at backup time, ${t.actual ?? "absent"} after restore\n`);
        }
      }
      process.stdout.write(`bk restore: ${result.databases.filter((d) => d.ok).length}/${result.databases.length} database(s) restored and verified from ${folder}\n`);
    }
    return result.ok ? EXIT.ok : EXIT.failed;
  } catch (err) {
    if (err instanceof RestoreRefused) {
      if (opts.json) printJson({ ok: false, refused: true, error: err.message, problems: err.problems });
      process.stderr.write(`bk restore: ${err.message}\n${err.problems.map((p) => `  ${p}\n`).join("")}`);
      return EXIT.failed;
    }
    return reportError("restore", err, opts.json);
  }
}
