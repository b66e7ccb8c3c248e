/**
 * `bk backup` / `bk restore` against a real PostgreSQL server: a throwaway cluster made with initdb on a
 * free loopback port. Databases are filled, backed up, dropped, restored, and compared table by table
 * (row counts and a content checksum of every table).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/definition.js";
import { listBackups, runBackup } from "../../src/workflows/backup.js";
import { PgClient } from "../../src/adapters/postgres.js";
import { RecordingRunner } from "../../src/adapters/runner.js";

/** The CLI entry; BK_MAIN lets a work-in-progress entry be tested before it is wired into main.ts. */
const MAIN = process.env.BK_MAIN ?? path.join(REPO_ROOT, "src/cli/main.ts");
function runBk(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PG")));
  return spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: REPO_ROOT, env: { ...clean, NO_COLOR: "1", ...env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

const PG_BIN = "/usr/lib/postgresql/15/bin";
/** The definition's databases: `bk backup` without --database must find exactly these. */
const DATABASES = ["stenographer", "triager", "ffl", "midwestmtg"];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** PostgreSQL refuses to run as root: as root, run server programs as the 'postgres' system user. */
function asServerUser(cmd: string, args: string[]) {
  const asRoot = process.getuid?.() === 0;
  const r = asRoot ? spawnSync("runuser", ["-u", "postgres", "--", cmd, ...args], { encoding: "utf8" }) : spawnSync(cmd, args, { encoding: "utf8" });
  return r;
}

class TempServer {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), "bk-pg-"));
  readonly data = path.join(this.dir, "data");
  port = 0;
  started = false;

  async start(): Promise<void> {
    for (const bin of ["initdb", "pg_ctl", "psql", "pg_dump", "pg_restore"]) {
      assert.ok(existsSync(path.join(PG_BIN, bin)), `${PG_BIN}/${bin} is missing: install the PostgreSQL 15 server and client (apt-get install postgresql-15)`);
    }
    if (process.getuid?.() === 0) {
      const pw = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
      assert.equal(pw.status, 0, "running as root needs a 'postgres' system user to run the test server (the postgresql package creates it)");
      chmodSync(this.dir, 0o755);
      chownSync(this.dir, Number(pw.stdout.trim()), Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim()));
    }
    this.port = await freePort();
    const init = asServerUser(path.join(PG_BIN, "initdb"), ["-D", this.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
    assert.equal(init.status, 0, `initdb failed: ${init.stderr}`);
    const opts = `-c listen_addresses=127.0.0.1 -c port=${this.port} -c unix_socket_directories='${this.dir}' -c fsync=off`;
    const start = asServerUser(path.join(PG_BIN, "pg_ctl"), ["-D", this.data, "-l", path.join(this.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"]);
    this.started = start.status === 0;
    assert.equal(start.status, 0, `pg_ctl start failed: ${start.stderr}\n${existsSync(path.join(this.dir, "server.log")) ? readFileSync(path.join(this.dir, "server.log"), "utf8") : ""}`);
  }

  stop(): void {
    if (this.started) asServerUser(path.join(PG_BIN, "pg_ctl"), ["-D", this.data, "-m", "immediate", "-w", "stop"]);
    this.started = false;
    rmSync(this.dir, { recursive: true, force: true });
  }

  psql(db: string, sql: string): string {
    const r = spawnSync(path.join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(this.port), "-U", "postgres", "-d", db, "-c", sql], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, `psql on ${db} failed: ${r.stderr}\n${sql}`);
    return r.stdout.trim();
  }

  /** table -> "rows:md5 of every row in id order": equal snapshots mean equal contents. */
  snapshot(db: string): Record<string, string> {
    const tables = this.psql(db, "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 1").split("\n").filter(Boolean);
    const out: Record<string, string> = {};
    for (const t of tables) {
      const [schema, name] = t.split(".");
      out[t] = this.psql(db, `SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x.id)), '-') FROM "${schema}"."${name}" x`);
    }
    return out;
  }
}

const server = new TempServer();
const work = mkdtempSync(path.join(os.tmpdir(), "bk-backup-"));
const backups = path.join(work, "backups");
const keysFile = path.join(REPO_ROOT, "test/fixtures/sealed-secrets/TEST-ONLY-key-backup.yaml");
let before_: Record<string, Record<string, string>> = {};

const conn = () => ["--host", "127.0.0.1", "--port", String(server.port), "--user", "postgres", "--pg-bin", PG_BIN];

function fill(): void {
  for (const db of DATABASES) server.psql("postgres", `CREATE DATABASE ${db}`);
  server.psql(
    "ffl",
    `CREATE TABLE teams (id serial PRIMARY KEY, name text NOT NULL, points numeric(8,2), founded date);
     INSERT INTO teams (name, points, founded) SELECT 'team ' || md5(i::text), i * 1.25, date '2020-01-01' + i FROM generate_series(1, 500) i;
     CREATE TABLE matches (id bigserial PRIMARY KEY, home int REFERENCES teams(id), away int REFERENCES teams(id), played timestamptz);
     INSERT INTO matches (home, away, played) SELECT 1 + i % 500, 1 + (i * 7) % 500, timestamptz '2024-09-01 12:00Z' + i * interval '1 hour' FROM generate_series(1, 2000) i;`,
  );
  server.psql(
    "triager",
    `CREATE SCHEMA app;
     CREATE TABLE app.issues (id int PRIMARY KEY, title text, labels jsonb, body text);
     INSERT INTO app.issues SELECT i, 'issue #' || i, jsonb_build_object('prio', i % 3, 'tags', jsonb_build_array('a', i)), CASE WHEN i % 5 = 0 THEN NULL ELSE repeat('x', i % 97) END FROM generate_series(1, 1200) i;
     CREATE TABLE empty_queue (id int PRIMARY KEY, payload text);`,
  );
  server.psql(
    "midwestmtg",
    `CREATE TABLE players (id int PRIMARY KEY, handle text, avatar bytea, note text);
     INSERT INTO players SELECT i, 'spieler-' || i || ' ✓ äöü', decode(md5(i::text), 'hex'), E'line1\\nline2\\t''quoted''' FROM generate_series(1, 300) i;`,
  );
  server.psql(
    "stenographer",
    `CREATE TABLE log (id bigint PRIMARY KEY, at timestamptz, entry text);
     INSERT INTO log SELECT i, timestamptz '2026-01-01Z' + i * interval '1 second', 'entry ' || i FROM generate_series(1, 5000) i;`,
  );
}

function snapshotAll(): Record<string, Record<string, string>> {
  return Object.fromEntries(DATABASES.map((db) => [db, server.snapshot(db)]));
}

function dropAll(): void {
  for (const db of DATABASES) server.psql("postgres", `DROP DATABASE ${db}`);
}

function parseJson(stdout: string, what: string) {
  try {
    return JSON.parse(stdout);
  } catch {
    assert.fail(`${what} did not print JSON: ${stdout}`);
  }
}

describe("bk backup / bk restore against a real PostgreSQL 15", () => {
  before(async () => {
    await server.start();
    fill();
    before_ = snapshotAll();
  });
  after(() => {
    server.stop();
    rmSync(work, { recursive: true, force: true });
  });

  let folder = "";

  it("--dry-run writes nothing and names the pg_dump commands", () => {
    const r = runBk(["backup", "--dir", backups, ...conn(), "--dry-run", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const plan = parseJson(r.stdout, "backup --dry-run");
    assert.deepEqual(plan.databases, DATABASES);
    assert.equal(plan.commands.length, DATABASES.length);
    assert.ok(plan.commands.every((c: string) => c.includes(" -Fc ")));
    assert.ok(!existsSync(backups), "dry run must not create the backup folder");
  });

  it("takes the connection from flags, else PG* variables, else the definition's PostgreSQL endpoint", () => {
    const conn = (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = runBk(["backup", "--dir", backups, "--dry-run", "--json", ...args], env);
      assert.equal(r.status, 0, r.stderr);
      return parseJson(r.stdout, "backup --dry-run").connection;
    };
    assert.deepEqual(conn([]), { host: "192.168.7.17", port: 5432, user: "postgres" });
    assert.deepEqual(conn([], { PGHOST: "10.1.2.3", PGPORT: "6543", PGUSER: "backup" }), { host: "10.1.2.3", port: 6543, user: "backup" });
    assert.deepEqual(conn(["--host", "127.0.0.9", "--port", "7000", "--user", "me"], { PGHOST: "10.1.2.3", PGPORT: "6543" }), { host: "127.0.0.9", port: 7000, user: "me" });
    const bad = runBk(["backup", "--dir", backups, "--dry-run", "--port", "99999"]);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /port "99999" is not a TCP port/);
  });

  it("backs up every database of the definition with checksums, row counts and the Sealed Secrets keys", () => {
    const r = runBk(["backup", "--dir", backups, ...conn(), "--sealed-secrets-keys", keysFile, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /bk backup: dumping ffl \(3\/4\)/, "progress lines go to stderr");
    const out = parseJson(r.stdout, "backup");
    folder = out.folder;
    assert.match(path.basename(folder), /^\d{8}T\d{6}Z$/);
    assert.equal(path.dirname(folder), backups);
    const files = readdirSync(folder).sort();
    assert.deepEqual(files, ["SHA256SUMS", "ffl.dump", "manifest.json", "midwestmtg.dump", "sealed-secrets-keys.yaml", "stenographer.dump", "triager.dump"]);
    // Custom-format dumps start with the PGDMP magic.
    assert.equal(readFileSync(path.join(folder, "ffl.dump")).subarray(0, 5).toString("latin1"), "PGDMP");
    assert.equal(statSync(path.join(folder, "sealed-secrets-keys.yaml")).mode & 0o777, 0o600);
    assert.deepEqual(readFileSync(path.join(folder, "sealed-secrets-keys.yaml")), readFileSync(keysFile));

    const m = JSON.parse(readFileSync(path.join(folder, "manifest.json"), "utf8"));
    assert.equal(m.server.major, 15);
    assert.deepEqual(m.sealedSecretsKeys.included, true);
    assert.deepEqual(
      m.databases.map((d: { name: string }) => d.name),
      DATABASES,
    );
    const ffl = m.databases.find((d: { name: string }) => d.name === "ffl");
    assert.deepEqual(ffl.tables, { "public.matches": 2000, "public.teams": 500 });
    const triager = m.databases.find((d: { name: string }) => d.name === "triager");
    assert.deepEqual(triager.tables, { "app.issues": 1200, "public.empty_queue": 0 });
    const head = spawnSync("git", ["-C", REPO_ROOT, "rev-parse", "HEAD"], { encoding: "utf8" });
    if (head.status === 0) assert.equal(m.definition.commit, head.stdout.trim(), "the definition's commit is recorded");
    else assert.equal(m.definition, null);

    // SHA256SUMS is what sha256sum -c reads.
    const check = spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: folder, encoding: "utf8" });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /manifest\.json: OK/);
  });

  it("restores dropped databases with identical contents, table by table", () => {
    dropAll();
    const r = runBk(["restore", folder, ...conn(), "--json"]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const res = parseJson(r.stdout, "restore");
    assert.equal(res.ok, true);
    assert.deepEqual(
      res.databases.map((d: { name: string }) => d.name),
      DATABASES,
    );
    for (const d of res.databases) for (const t of d.tables) assert.equal(t.actual, t.expected, `${d.name} ${t.table}`);
    assert.deepEqual(snapshotAll(), before_);
  });

  it("restores one database into the existing database, replacing changed rows", () => {
    server.psql("ffl", "DELETE FROM matches WHERE id > 10; UPDATE teams SET name = 'changed'");
    assert.notDeepEqual(server.snapshot("ffl"), before_.ffl);
    const r = runBk(["restore", folder, "--database", "ffl", "--into-existing", ...conn()]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /1\/1 database\(s\) restored and verified/);
    assert.deepEqual(server.snapshot("ffl"), before_.ffl);
    assert.deepEqual(snapshotAll(), before_);
  });

  it("reports a row-count difference after restore as a failure", () => {
    // A manifest recorded with a different count than the dump holds: the verification must notice.
    const forged = path.join(work, "forged");
    cpSync(folder, forged, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(forged, "manifest.json"), "utf8"));
    m.databases.find((d: { name: string }) => d.name === "stenographer").tables["public.log"] = 4999;
    writeFileSync(path.join(forged, "manifest.json"), JSON.stringify(m, null, 2) + "\n");
    // Re-sign so the checksum gate passes and the row-count check is what fails.
    const sums = spawnSync("sh", ["-c", "sha256sum ffl.dump midwestmtg.dump stenographer.dump triager.dump sealed-secrets-keys.yaml manifest.json > SHA256SUMS"], { cwd: forged });
    assert.equal(sums.status, 0);
    const r = runBk(["restore", forged, "--database", "stenographer", ...conn()]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /public\.log: 4999 row\(s\) at backup time, 5000 after restore/);
  });

  it("refuses a corrupted dump before touching anything", () => {
    const bad = path.join(work, "corrupt");
    cpSync(folder, bad, { recursive: true });
    const dump = path.join(bad, "ffl.dump");
    const bytes = readFileSync(dump);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(dump, bytes);
    server.psql("ffl", "INSERT INTO teams (name) VALUES ('marker after backup')");
    const r = runBk(["restore", bad, ...conn()]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /refusing to restore/);
    assert.match(r.stderr, /ffl\.dump: checksum mismatch/);
    assert.match(r.stderr, /nothing was touched/);
    assert.equal(server.psql("ffl", "SELECT count(*) FROM teams WHERE name = 'marker after backup'"), "1", "the database must be untouched");
    // --dry-run verifies checksums too.
    const dry = runBk(["restore", bad, ...conn(), "--dry-run"]);
    assert.equal(dry.status, 1);
    assert.match(dry.stderr, /checksum mismatch/);
  });

  it("refuses a database that is not in the backup", () => {
    const r = runBk(["restore", folder, "--database", "nosuchdb", ...conn()]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nosuchdb are not in this backup/);
  });

  it("retention --keep N keeps the N newest backups and nothing else is touched", () => {
    const stray = path.join(backups, "not-a-backup");
    mkdirSync(stray);
    const made: string[] = [folder];
    for (let i = 0; i < 3; i++) {
      const r = runBk(["backup", "--dir", backups, "--database", "ffl", "--database", "triager", ...conn(), "--keep", "2", "--json"]);
      assert.equal(r.status, 0, r.stderr);
      const out = parseJson(r.stdout, "backup --keep");
      made.push(out.folder);
      assert.ok(!("sealedSecretsKeys" in out.manifest) || out.manifest.sealedSecretsKeys.included === false);
    }
    const left = readdirSync(backups)
      .filter((n) => n !== "not-a-backup")
      .sort();
    assert.deepEqual(left.map((n) => path.join(backups, n)).sort(), made.slice(-2).sort());
    assert.ok(existsSync(stray), "folders that are not backups are never deleted");
    // Restoring from the folder that holds the backups takes the newest one.
    const dry = runBk(["restore", backups, ...conn(), "--dry-run", "--json"]);
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(parseJson(dry.stdout, "restore --dry-run").folder, made.at(-1));
    const bad = runBk(["backup", "--dir", backups, ...conn(), "--keep", "0"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--keep 0/);
  });

  it("fails clearly when the server is unreachable", async () => {
    const port = await freePort();
    const r = runBk(["backup", "--dir", path.join(work, "nowhere"), "--host", "127.0.0.1", "--port", String(port), "--pg-bin", PG_BIN]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /127\.0\.0\.1/);
    assert.ok(!existsSync(path.join(work, "nowhere")) || readdirSync(path.join(work, "nowhere")).length === 0, "no partial backup left behind");
  });
});

describe("backup folder naming and retention (pure: a RecordingRunner stands in for psql and pg_dump)", () => {
  /** psql answers for version, databases and counts; pg_dump writes a small file where -f says. */
  const fakePg = () =>
    new PgClient(
      new RecordingRunner((c) => {
        if (c.args[0] === "--version") return { code: 0, stdout: "pg_dump (PostgreSQL) 15.14\n", stderr: "" };
        const sql = c.args.at(-1) ?? "";
        if (sql.includes("server_version")) return { code: 0, stdout: "15.14\x1f150014\n", stderr: "" };
        if (sql.includes("pg_database")) return { code: 0, stdout: "ffl\npostgres\n", stderr: "" };
        if (sql.includes("query_to_xml")) return { code: 0, stdout: "public.t\x1f3\n", stderr: "" };
        const f = c.args.indexOf("-f");
        if (f >= 0) writeFileSync(c.args[f + 1]!, "PGDMP fake");
        return undefined;
      }),
      { psql: "psql", pgDump: "pg_dump", pgRestore: "pg_restore", from: "test" },
      { host: "127.0.0.1", port: 1, user: "postgres" },
    );

  it("backups made within one second sort in creation order, and --keep keeps the newest even after deletions", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "bk-names-"));
    try {
      const now = new Date("2026-08-12T03:15:00.456Z");
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await runBackup({ pg: fakePg(), dir, databases: ["ffl"], keep: 2, definition: null, now })).folder);
      assert.deepEqual(
        made.map((f) => path.basename(f)),
        ["20260812T031500Z", "20260812T031500Z-2", "20260812T031500Z-3", "20260812T031500Z-4", "20260812T031500Z-5"],
      );
      assert.deepEqual(listBackups(dir), ["20260812T031500Z-5", "20260812T031500Z-4"]);
      const later = await runBackup({ pg: fakePg(), dir, databases: ["ffl"], keep: 2, definition: null, now: new Date("2026-08-12T03:15:01Z") });
      assert.equal(path.basename(later.folder), "20260812T031501Z");
      assert.deepEqual(listBackups(dir), ["20260812T031501Z", "20260812T031500Z-5"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
