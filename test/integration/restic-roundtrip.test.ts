/**
 * The proof of issue 17, item 3: a volume's files go through a real restic repository and come back the same.
 * The repository, its layout (<root>/<namespace>/<volume>), the environment (RESTIC_REPOSITORY, RESTIC_PASSWORD)
 * and the retention flags are the ones the definition gives VolSync's mover; only the store is a local folder
 * instead of S3. Every file's sha256 is compared after the restore.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ProcessRunner } from "../../src/adapters/runner.js";
import { loadDefinition } from "../../src/model/load.js";
import type { BackupVolumeModel, VolumeBackupsModel } from "../../src/model/model.js";
import { forgetArgs, moverEnv } from "../../src/workflows/volume-backup.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { requireProgram } from "../helpers/programs.js";

const runner = new ProcessRunner();

function checksums(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.set(path.relative(dir, full), `${createHash("sha256").update(readFileSync(full)).digest("hex")} ${(statSync(full).mode & 0o777).toString(8)}`);
    }
  };
  walk(dir);
  return out;
}

describe("volume backup round trip through a real restic repository", () => {
  let restic: string;
  let work: string;
  let vb: VolumeBackupsModel;
  let volume: BackupVolumeModel;
  let env: Record<string, string>;
  const restic$ = async (args: string[], e = env, cwd?: string) => {
    const r = await runner.run(restic, args, { env: { ...e, RESTIC_CACHE_DIR: path.join(work, "cache") }, ...(cwd ? { cwd } : {}), timeoutMs: 60_000 });
    return r;
  };
  const ok = async (args: string[], cwd?: string) => {
    const r = await restic$(args, env, cwd);
    assert.equal(r.code, 0, `restic ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  before(() => {
    restic = requireProgram("restic", "the volume backup round trip");
    work = mkdtempSync(path.join(os.tmpdir(), "bk-restic-"));
    const model = loadDefinition(REPO_ROOT).model;
    assert.ok(model.volumeBackups, "the definition declares volumeBackups");
    vb = model.volumeBackups;
    volume = vb.volumes.find((v) => v.id === "postgres-dumps")!;
    assert.ok(volume, "the PostgreSQL dumps are backed up");
    env = moverEnv(volume, vb, { RESTIC_PASSWORD: "correct horse battery staple" }, path.join(work, "store"));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("keeps the definition's repository layout: one repository per volume, <namespace>/<volume> below the store", () => {
    assert.equal(env["RESTIC_REPOSITORY"], path.join(work, "store", volume.namespace, volume.id));
    assert.equal(volume.repository, `${vb.repository}/${volume.namespace}/${volume.id}`);
  });

  it("backs up a volume's files and restores them with every checksum equal; an older snapshot restores the older content", async () => {
    // What the dump CronJob leaves on the volume: timestamped folders of custom-format dumps and their SHA256SUMS.
    const data = path.join(work, "volume");
    for (const stamp of ["20261204T031500Z", "20261205T031500Z"]) {
      mkdirSync(path.join(data, stamp), { recursive: true });
      for (const db of ["stenographer", "triager", "ffl", "midwestmtg"]) writeFileSync(path.join(data, stamp, `${db}.dump`), createHash("sha512").update(`${stamp}/${db}`).digest().toString("base64").repeat(2000));
      writeFileSync(path.join(data, stamp, "SHA256SUMS"), "sums\n");
    }
    writeFileSync(path.join(data, "empty"), "");
    writeFileSync(path.join(data, "private.key"), "secret\n");
    chmodSync(path.join(data, "private.key"), 0o600);
    const before = checksums(data);

    await ok(["init"]);
    // The mover backs up the mounted volume from inside it, so paths in the snapshot are relative to the claim.
    await ok(["backup", "--host", volume.id, "."], data);
    await ok(["forget", ...forgetArgs(volume.retention), "--prune"]);
    const first = JSON.parse(await ok(["snapshots", "--json"])) as Array<{ id: string }>;
    assert.equal(first.length, 1);

    const restored = path.join(work, "restored");
    await ok(["restore", "latest", "--target", restored]);
    assert.deepEqual(checksums(restored), before, "every file restored with its checksum and mode");

    // A day later: one dump changed, the older snapshot still restores the older bytes.
    writeFileSync(path.join(data, "20261205T031500Z", "ffl.dump"), "changed");
    await ok(["backup", "--host", volume.id, "."], data);
    const older = path.join(work, "older");
    await ok(["restore", first[0]!.id, "--target", older]);
    assert.deepEqual(checksums(older), before);
    const newest = path.join(work, "newest");
    await ok(["restore", "latest", "--target", newest]);
    assert.notDeepEqual(checksums(newest), before, "the newest snapshot holds the change");
    assert.deepEqual(checksums(newest), checksums(data));
  });

  it("retention keeps what the definition says: the mover's forget flags", async () => {
    assert.deepEqual(forgetArgs(volume.retention), ["--keep-daily", "14", "--keep-weekly", "8", "--keep-monthly", "12"]);
    assert.deepEqual(forgetArgs({}), ["--keep-last", "1"]);
  });

  it("the repository cannot be read without the operator's password", async () => {
    const r = await restic$(["snapshots"], { ...env, RESTIC_PASSWORD: "wrong" });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /wrong password|no key found/i);
  });
});
