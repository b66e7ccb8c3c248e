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
}

/** `bk restore <backup-dir>`: verify checksums, pg_restore, then verify row counts against the manifest. */
export async function restoreCommand(root: string, backupDir: string, opts: RestoreCliOptions, runner: Runner = new ProcessRunner()): Promise<number> {
  try {
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
