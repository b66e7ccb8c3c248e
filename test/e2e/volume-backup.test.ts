/**
 * End-to-end: `bk backup --volume` and `bk restore --volume` through a real kube-apiserver holding VolSync's CRDs
 * (from the chart in the mirror) and the ReplicationSource synth generates, and `bk status`'s reading of it.
 *
 * No VolSync mover can run here (KWOK runs no containers), so the test runs a stand-in, FakeVolSyncMover: it does
 * what the controller and its mover do for one manual trigger (read the repository Secret through the API, run the
 * real restic on a folder standing in for the claim, record status.lastManualSync/lastSyncTime/latestMoverStatus
 * through the status subresource). Everything bk does, it does against the real API server.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe } from "node:test";
import { stringify } from "yaml";
import { connect, type Kube } from "../../src/adapters/kube.js";
import { ProcessRunner } from "../../src/adapters/runner.js";
import { up } from "../../src/devcluster/index.js";
import { chartTemplateCrds } from "../../src/schema/crd-extract.js";
import { loadDefinition } from "../../src/model/load.js";
import type { BackupVolumeModel, Model } from "../../src/model/model.js";
import { replicationSource } from "../../src/synth/volume-backups.js";
import { backupVolumeNow, collectVolumeBackups, judgeVolume, moverEnv, restoreVolumeNow, type ReplicationObject } from "../../src/workflows/volume-backup.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { requireProgram } from "../helpers/programs.js";
import { clusterSuite } from "./helpers/suite.js";

const suite = clusterSuite();
const c = suite.cluster;
const step = (name: string, fn: () => Promise<void>): void => suite.step(name, 3 * 60_000, fn);
const runner = new ProcessRunner();
const PASSWORD = "e2e restic password";

function checksums(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    out[path.relative(dir, full)] = createHash("sha256").update(readFileSync(full)).digest("hex");
  }
  return out;
}

/** The stand-in for VolSync's controller and restic mover, for one volume whose claim is the folder `claim`. */
class FakeVolSyncMover {
  private stopped = false;
  readonly runs: string[] = [];
  constructor(
    private readonly kube: Kube,
    private readonly v: BackupVolumeModel,
    private readonly claim: string,
    private readonly restic: string,
  ) {}

  private async env(): Promise<Record<string, string>> {
    const s = await this.kube.core.readNamespacedSecret({ namespace: this.v.namespace, name: this.v.secret });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, b]) => [k, Buffer.from(b, "base64").toString("utf8")]));
  }

  private async restic$(args: string[], cwd?: string): Promise<string> {
    const env = await this.env();
    if ((await runner.run(this.restic, ["cat", "config"], { env })).code !== 0) await runner.run(this.restic, ["init"], { env });
    const r = await runner.run(this.restic, args, { env, ...(cwd ? { cwd } : {}), timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`restic ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  }

  private async once(kind: "ReplicationSource" | "ReplicationDestination", name: string): Promise<void> {
    const o = (await c().kubectl.getJson(kind.toLowerCase(), this.v.namespace, name)) as ReplicationObject | undefined;
    const manual = (o?.spec?.["trigger"] as { manual?: string } | undefined)?.manual;
    if (!o || !manual || o.status?.lastManualSync === manual) return;
    const started = Date.now();
    const logs = kind === "ReplicationSource" ? await this.restic$(["backup", "--host", this.v.id, "."], this.claim) : await this.restic$(["restore", "latest", "--target", this.claim]);
    this.runs.push(`${kind}/${manual}`);
    const status = {
      lastManualSync: manual,
      lastSyncTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      lastSyncDuration: `${(Date.now() - started) / 1000}s`,
      latestMoverStatus: { result: "Successful", logs: logs.trim().split("\n").slice(-2).join("\n") },
    };
    await c().kubectl.run(["patch", kind.toLowerCase(), name, "-n", this.v.namespace, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
  }

  async loop(): Promise<void> {
    while (!this.stopped) {
      await this.once("ReplicationSource", this.v.id).catch((e: Error) => console.log(`# fake mover: ${e.message}`));
      await this.once("ReplicationDestination", `${this.v.id}-restore`).catch((e: Error) => console.log(`# fake mover: ${e.message}`));
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  stop(): void {
    this.stopped = true;
  }
}

describe("volume backups through a real API server", () => {
  let model: Model;
  let v: BackupVolumeModel;
  let kube: Kube;
  let claim = "";
  let store = "";
  let mover: FakeVolSyncMover;
  let before1: Record<string, string> = {};

  before(
    async () => {
      const restic = requireProgram("restic", "the volume backup e2e test");
      const crds = await suite.tempDir("bk-volsync-crds-");
      for (const [i, t] of chartTemplateCrds(path.join(process.env["BK_SHARED"] ?? path.join(REPO_ROOT, "..", "shared"), "charts")).entries()) writeFileSync(path.join(crds, `crd-${i}.yaml`), t.text);
      suite.setCluster(await up({ flux: false, gitServer: false, crdsDir: crds, onProgress: (l) => console.log(`# devcluster ${l}`) }));
      kube = connect(c().kubeconfig);
      model = loadDefinition(REPO_ROOT).model;
      v = model.volumeBackups!.volumes.find((x) => x.id === "postgres-dumps")!;
      claim = await suite.tempDir("bk-claim-");
      store = await suite.tempDir("bk-store-");
      mkdirSync(path.join(claim, "20261205T031500Z"));
      for (const db of ["ffl", "triager"]) writeFileSync(path.join(claim, "20261205T031500Z", `${db}.dump`), createHash("sha512").update(db).digest().toString("hex").repeat(500));
      before1 = checksums(claim);
      const env = moverEnv(v, model.volumeBackups!, { RESTIC_PASSWORD: PASSWORD }, store);
      await c().applyManifest(stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: v.namespace } }));
      await c().applyManifest(stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: v.secret, namespace: v.namespace }, stringData: env }));
      await c().applyManifest(stringify(replicationSource(model, v)));
      mover = new FakeVolSyncMover(kube, v, claim, restic);
      void mover.loop();
    },
    { timeout: 6 * 60_000 },
  );

  after(async () => {
    mover?.stop();
    await suite.teardown();
  });

  step("the API server accepts the ReplicationSource synth generates, against VolSync's CRD", async () => {
    const rs = (await c().kubectl.getJson("replicationsource", v.namespace, v.id)) as ReplicationObject;
    assert.equal((rs.spec as { sourcePVC: string }).sourcePVC, "postgres-backups");
    const [state] = (await collectVolumeBackups(kube, { ...model.volumeBackups!, volumes: [v] })).map((s) => judgeVolume(v, s, new Date()));
    assert.equal(state?.health, "fail", "never backed up yet");
  });

  step("bk backup --volume: triggers a run, waits for it, and gives the schedule back", async () => {
    const r = await backupVolumeNow(kube, v, { timeoutMs: 90_000, pollMs: 250 });
    assert.equal(r.result, "Successful");
    assert.match(r.trigger, /^bk-/);
    assert.deepEqual(mover.runs, [`ReplicationSource/${r.trigger}`]);
    const rs = (await c().kubectl.getJson("replicationsource", v.namespace, v.id)) as ReplicationObject;
    assert.deepEqual(rs.spec?.["trigger"], { schedule: v.schedule }, "the manual trigger is removed again");
    const [state] = await collectVolumeBackups(kube, { ...model.volumeBackups!, volumes: [v] });
    assert.equal(judgeVolume(v, state!, new Date()).health, "ok");
  });

  step("bk restore --volume: refused while a pod mounts the claim; then the files come back with their checksums", async () => {
    await c().applyManifest(
      stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "uses-claim", namespace: v.namespace },
        spec: { containers: [{ name: "x", image: "busybox" }], volumes: [{ name: "d", persistentVolumeClaim: { claimName: v.pvc } }] },
      }),
    );
    await assert.rejects(restoreVolumeNow(kube, v, { timeoutMs: 30_000, pollMs: 250 }), /in use by uses-claim/);
    await c().kubectl.run(["delete", "pod", "uses-claim", "-n", v.namespace, "--wait=true", "--grace-period=0", "--force"]);
    writeFileSync(path.join(claim, "20261205T031500Z", "ffl.dump"), "damaged");
    const r = await restoreVolumeNow(kube, v, { timeoutMs: 90_000, pollMs: 250 });
    assert.equal(r.result, "Successful");
    assert.deepEqual(checksums(claim), before1);
    assert.equal(await c().kubectl.getJson("replicationdestination", v.namespace, `${v.id}-restore`), undefined, "the one-off destination is deleted");
  });
});
