/**
 * Adapter over the PostgreSQL client programs (psql, pg_dump, pg_restore). Connection settings travel
 * in the standard PG* environment variables, so a password never appears on a command line.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { CheckFailedError, UnavailableError } from "../core/errors.js";
import { describeFailure, type Runner, type RunResult } from "./runner.js";

export interface PgConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
}

export interface PgTools {
  psql: string;
  pgDump: string;
  pgRestore: string;
  /** Where they were found, for messages. */
  from: string;
}

const PG_LIB = "/usr/lib/postgresql";

/**
 * The client programs: an explicit folder, else the newest /usr/lib/postgresql/<major>/bin (Debian
 * installs several majors side by side there), else PATH. Newest first because pg_dump refuses to
 * dump a server of a newer major than itself.
 */
export function findPgTools(binDir?: string): PgTools {
  const inDir = (dir: string): PgTools => ({
    psql: path.join(dir, "psql"),
    pgDump: path.join(dir, "pg_dump"),
    pgRestore: path.join(dir, "pg_restore"),
    from: dir,
  });
  if (binDir) {
    const t = inDir(path.resolve(binDir));
    for (const p of [t.psql, t.pgDump, t.pgRestore]) {
      if (!existsSync(p)) throw new Error(`${p} does not exist: --pg-bin must be a folder holding psql, pg_dump and pg_restore`);
    }
    return t;
  }
  if (existsSync(PG_LIB)) {
    const majors = readdirSync(PG_LIB)
      .filter((d) => /^\d+$/.test(d) && existsSync(path.join(PG_LIB, d, "bin", "pg_dump")))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return inDir(path.join(PG_LIB, majors[0], "bin"));
  }
  return { psql: "psql", pgDump: "pg_dump", pgRestore: "pg_restore", from: "PATH" };
}

export function pgEnv(c: PgConnection): Record<string, string | undefined> {
  return {
    PGHOST: c.host,
    PGPORT: String(c.port),
    PGUSER: c.user,
    ...(c.password !== undefined ? { PGPASSWORD: c.password } : {}),
    PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? "10",
    // Fixed output whatever the operator's locale and ~/.psqlrc say.
    LC_MESSAGES: "C",
  };
}

const FS = "\x1f";

/** What the PostgreSQL tools (or the runner, for a missing program) print when the server or the tool cannot be reached. */
const UNREACHABLE = /command not found|could not connect|Connection refused|timeout expired/i;

/** A tool that never reached the server is unavailable (exit 3); one that reached it and failed is a failure (exit 1). */
function pgFailure(message: string, r: RunResult): Error {
  return r.code === 127 || UNREACHABLE.test(r.stderr || r.stdout) ? new UnavailableError(message) : new CheckFailedError(message);
}

export class PgClient {
  constructor(
    readonly runner: Runner,
    readonly tools: PgTools,
    readonly conn: PgConnection,
  ) {}

  private get env() {
    return pgEnv(this.conn);
  }

  /** Rows of a query as arrays of text fields. */
  async query(database: string, sql: string): Promise<string[][]> {
    const args = ["-X", "-q", "-A", "-t", "-F", FS, "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql];
    const r = await this.runner.run(this.tools.psql, args, { env: this.env });
    if (r.code !== 0) {
      const conn = /connection to server|could not connect|authentication failed|could not translate host name|timeout expired/.exec(r.stderr);
      if (r.code === 127) throw new UnavailableError(r.stderr);
      if (conn) {
        const detail = r.stderr.trim().split("\n")[0] ?? "";
        throw new UnavailableError(`could not connect to PostgreSQL at ${this.where()} (database ${database}): ${detail}; check --host/--port/--user (or PGHOST/PGPORT/PGUSER/PGPASSWORD)`);
      }
      throw pgFailure(`query on database ${database} at ${this.where()} failed: ${describeFailure(this.tools.psql, args, r)}`, r);
    }
    return r.stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split(FS));
  }

  where(): string {
    return `${this.conn.user}@${this.conn.host}:${this.conn.port}`;
  }

  async serverVersion(): Promise<{ version: string; major: number }> {
    const rows = await this.query("postgres", "SELECT current_setting('server_version'), current_setting('server_version_num')");
    const [version = "", num = "0"] = rows[0] ?? [];
    return { version, major: Math.floor(Number(num) / 10000) };
  }

  async databases(): Promise<string[]> {
    return (await this.query("postgres", "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1")).map((r) => r[0]!);
  }

  /**
   * Exact row count of every user table ("schema.table" -> rows). One statement: query_to_xml runs a
   * count(*) per table inside the server, so the count does not depend on statistics being fresh.
   */
  async tableRowCounts(database: string): Promise<Record<string, number>> {
    const sql = `SELECT n.nspname || '.' || c.relname,
       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
 ORDER BY 1`;
    const out: Record<string, number> = {};
    for (const [name, n] of await this.query(database, sql)) out[name!] = Number(n);
    return out;
  }

  /** `pg_dump -Fc`: custom format, compressed, restorable selectively and in parallel. */
  async dump(database: string, file: string): Promise<void> {
    const args = ["-Fc", "--no-password", "-d", database, "-f", file];
    const r = await this.runner.run(this.tools.pgDump, args, { env: this.env });
    if (r.code !== 0) throw pgFailure(`pg_dump of ${database} failed: ${describeFailure(this.tools.pgDump, args, r)}`, r);
  }

  /**
   * pg_restore. "create": drop and recreate the database from the dump (connects to the maintenance
   * database). "existing": clean and refill an existing database inside one transaction.
   */
  restoreArgs(file: string, database: string, mode: "create" | "existing", noOwner: boolean): string[] {
    const base = ["--clean", "--if-exists", "--no-password", ...(noOwner ? ["--no-owner", "--no-acl"] : [])];
    return mode === "create" ? [...base, "--create", "-d", "postgres", file] : [...base, "--single-transaction", "-d", database, file];
  }

  async restore(file: string, database: string, mode: "create" | "existing", noOwner: boolean): Promise<void> {
    const args = this.restoreArgs(file, database, mode, noOwner);
    const r = await this.runner.run(this.tools.pgRestore, args, { env: this.env });
    if (r.code !== 0) throw pgFailure(`pg_restore of ${database} failed: ${describeFailure(this.tools.pgRestore, args, r)}`, r);
  }

  /** "pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)" -> { version: "15.14", major: 15 } */
  async toolVersion(bin: string): Promise<{ version: string; major: number }> {
    const r = await this.runner.run(bin, ["--version"]);
    if (r.code !== 0) throw pgFailure(describeFailure(bin, ["--version"], r), r);
    const m = /\(PostgreSQL\)\s+(\d+)(\.\d+)?/.exec(r.stdout);
    if (!m) throw new Error(`cannot read the version of ${bin} from "${r.stdout.trim()}"`);
    return { version: `${m[1]}${m[2] ?? ""}`, major: Number(m[1]) };
  }
}

export interface ConnectionFlags {
  host?: string;
  port?: string | number;
  user?: string;
  password?: string;
}

/**
 * Flags first, then the standard PG* variables, then the definition's PostgreSQL LoadBalancer
 * endpoint (what a build host on the LAN reaches). The user defaults to the superuser, which a
 * full dump and a --create restore need.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv, fallback: () => { host: string; port: number }): PgConnection {
  let fb: { host: string; port: number } | undefined;
  const model = () => (fb ??= fallback());
  const host = flags.host ?? env.PGHOST ?? model().host;
  const rawPort = flags.port ?? env.PGPORT ?? model().port;
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port "${rawPort}" is not a TCP port (1..65535); check --port or PGPORT`);
  const password = flags.password ?? env.PGPASSWORD;
  return { host, port, user: flags.user ?? env.PGUSER ?? "postgres", ...(password !== undefined ? { password } : {}) };
}
