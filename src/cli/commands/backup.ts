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
}

/** `bk backup`: pg_dump every database of the definition (or --database ...) into <dir>/<UTC timestamp>/. */
export async function backupCommand(root: string, opts: BackupCliOptions, runner: Runner = new ProcessRunner()): Promise<number> {
  try {
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
