/**
 * Volume backups (issue 17, item 3): the volumes the definition backs up, what synth makes of them (checked
 * against VolSync's CRD schemas, extracted from the chart), the NetworkPolicies and alert, and how bk status
 * judges a ReplicationSource's status as the VolSync controller records it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { FindingsError } from "../../src/core/finding.js";
import type { KubeObject } from "../../src/core/object.js";
import { longestIntervalMs } from "../../src/model/cron.js";
import { loadDefinition } from "../../src/model/load.js";
import type { Model } from "../../src/model/model.js";
import { repositoryEndpoint } from "../../src/model/volume-backups.js";
import { validateObjects } from "../../src/schema/validate.js";
import { synthesize } from "../../src/synth/index.js";
import { checkBackupVolumes, claimsOf } from "../../src/validate/upstream/backup-volumes.js";
import { evaluateStatus, type Snapshot } from "../../src/workflows/status.js";
import { allowedAgeMs, forgetArgs, judgeVolume, moverEnv, restoreDestination, type ReplicationObject, volumeStateOf } from "../../src/workflows/volume-backup.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";

const model: Model = loadDefinition(REPO_ROOT).model;
const vb = model.volumeBackups!;
const tree = synthesize(model);
const vol = (id: string) => vb.volumes.find((v) => v.id === id)!;

describe("the volumes the definition backs up", () => {
  it("every volume a rebuild would lose: registry, ChartMuseum, Grafana, Loki, the dumps and every redis", () => {
    assert.deepEqual(
      vb.volumes.map((v) => `${v.namespace}/${v.pvc}`),
      [
        "registry/registry-data",
        "infra/chartmuseum",
        "monitoring/kube-prometheus-stack-grafana",
        "logging/storage-loki-0",
        "infra/postgres-backups",
        "ffl/ffl-redis-data",
        "midwestmtg/midwestmtg-redis-data",
        "triager/triager-redis-data",
      ],
    );
  });

  it("one restic repository per volume below the declared store; schedule and retention from the volume or the default", () => {
    assert.equal(vol("loki").repository, `${vb.repository}/logging/loki`);
    assert.equal(vol("registry").schedule, "0 5 * * *");
    assert.equal(vol("grafana").schedule, "30 4 * * *");
    assert.deepEqual(vol("postgres-dumps").retention, { daily: 14, weekly: 8, monthly: 12 });
    assert.deepEqual(vol("grafana").retention, { daily: 7, weekly: 4, monthly: 6 });
  });

  it("secrets: the operator's password and S3 key once, copied into each volume's Secret beside its repository URL", () => {
    const creds = model.secrets.find((s) => s.name === "restic-credentials")!;
    assert.equal(creds.namespace, "volsync-system");
    assert.deepEqual(Object.keys(creds.keys).sort(), ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "RESTIC_PASSWORD"]);
    assert.ok(
      Object.values(creds.keys).every((k) => k.from === "operator"),
      "never generated: a password only the cluster knows dies with it",
    );
    const redis = model.secrets.find((s) => s.namespace === "triager" && s.name === "restic-triager-redis")!;
    assert.deepEqual(redis.keys["RESTIC_REPOSITORY"], { from: "literal", value: `${vb.repository}/triager/triager-redis` });
    assert.deepEqual(redis.keys["RESTIC_PASSWORD"], { from: "same-as", namespace: "volsync-system", name: "restic-credentials", key: "RESTIC_PASSWORD" });
  });

  it("a REST server store asks for its login instead of an S3 key; skip leaves a volume out with its reason", () => {
    const { model: m } = loadDefinition(
      tempDefinition((d) => {
        d.infra.setIn(["volumeBackups", "repository"], "rest:https://192.168.7.5:8000/beckerkube");
        d.infra.setIn(["volumeBackups", "volumes", "loki"], { skip: "logs are kept 14 days anyway" });
      }),
    );
    const creds = m.secrets.find((s) => s.name === "restic-credentials")!;
    assert.deepEqual(Object.keys(creds.keys).sort(), ["RESTIC_PASSWORD", "RESTIC_REST_PASSWORD", "RESTIC_REST_USERNAME"]);
    assert.ok(!m.volumeBackups!.volumes.some((v) => v.id === "loki"));
    assert.deepEqual(m.volumeBackups!.skipped, [{ id: "loki", why: "logs are kept 14 days anyway" }]);
    const np = synthesize(m).find((p) => p.object.kind === "NetworkPolicy" && p.object.metadata.namespace === "registry" && p.object.metadata.name === "allow-volsync-mover-to-repository")!;
    assert.deepEqual((np.object as unknown as { spec: { egress: unknown } }).spec.egress, [{ to: [{ ipBlock: { cidr: "192.168.7.5/32" } }], ports: [{ protocol: "TCP", port: 8000 }] }]);
  });

  it("refuses a volume entry that names no volume of the cluster, and credentials in the URL", () => {
    const findings = (edit: Parameters<typeof tempDefinition>[0]) => {
      try {
        loadDefinition(tempDefinition(edit));
      } catch (err) {
        assert.ok(err instanceof FindingsError);
        return err.findings;
      }
      return assert.fail("loaded");
    };
    const [typo] = findings((d) => d.infra.setIn(["volumeBackups", "volumes", "grafanna"], { schedule: "@daily" }));
    assert.equal(typo?.rule, "definition/backup-volume-unknown");
    assert.match(typo!.message, /volume 'grafanna' is not a volume of this cluster \(volumes: registry, chartmuseum, grafana/);
    const [url] = findings((d) => d.infra.setIn(["volumeBackups", "repository"], "rest:https://user:pw@nas.lan/x"));
    assert.equal(url?.field, "volumeBackups.repository");
    assert.match(url!.message, /without user:password@/);
  });
});

describe("what synth makes of them", () => {
  const sources = tree.filter((p) => p.object.kind === "ReplicationSource");

  it("a ReplicationSource per volume beside it, valid against VolSync's CRD; app volumes go with the app", async () => {
    assert.equal(sources.length, vb.volumes.length);
    assert.equal(sources.find((p) => p.object.metadata.name === "triager-redis")?.file, "apps/triager/volume-backups.yaml");
    assert.equal(sources.find((p) => p.object.metadata.name === "registry")?.file, "infrastructure/configs/volume-backups/registry.yaml");
    assert.deepEqual(await validateObjects(sources), []);
    const bad = { ...sources[0]!, object: { ...sources[0]!.object, spec: { sourcePVC: "x", restic: { repository: "y", copyMethod: "Sideways" } } } as unknown as KubeObject };
    assert.ok((await validateObjects([bad])).length > 0, "the CRD schema rejects a copy method VolSync does not know");
  });

  it("the mover runs unprivileged as the workload's user, copies the claim directly, keeps the retention", () => {
    const spec = (sources.find((p) => p.object.metadata.name === "grafana")!.object as unknown as { spec: Record<string, Record<string, unknown>> }).spec;
    assert.equal(spec["sourcePVC"] as unknown, "kube-prometheus-stack-grafana");
    assert.deepEqual(spec["trigger"], { schedule: "30 4 * * *" });
    const r = spec["restic"]!;
    assert.equal(r["repository"], "restic-grafana");
    assert.equal(r["copyMethod"], "Direct");
    assert.deepEqual(r["retain"], { daily: 7, weekly: 4, monthly: 6 });
    assert.deepEqual(r["moverSecurityContext"], { runAsNonRoot: true, runAsUser: 472, runAsGroup: 472, fsGroup: 472, seccompProfile: { type: "RuntimeDefault" } });
  });

  it("the controller's HelmRelease pins the chart the mirror holds, with its CRDs and scrapeable metrics", () => {
    const hr = tree.find((p) => p.object.kind === "HelmRelease" && p.object.metadata.name === "volsync")!;
    assert.equal(hr.file, "infrastructure/controllers/volsync/helmrelease.yaml");
    const spec = (hr.object as unknown as { spec: { chart: { spec: { version: string } }; values: unknown } }).spec;
    const mirror = parse(readFileSync(path.join(process.env["BK_SHARED"] ?? path.join(REPO_ROOT, "..", "shared"), "charts", `volsync-${spec.chart.spec.version}`, "Chart.yaml"), "utf8")) as { version: string };
    assert.equal(mirror.version, spec.chart.spec.version);
    assert.deepEqual(spec.values, { manageCRDs: true, metrics: { disableAuth: true } });
  });

  it("NetworkPolicies: movers reach only the repository; the controller the API and Prometheus it", () => {
    const ep = repositoryEndpoint(vb.repository);
    assert.deepEqual(ep, { host: "s3.eu-central-003.backblazeb2.com", port: 443, ip: false });
    const movers = tree.filter((p) => p.object.kind === "NetworkPolicy" && p.object.metadata.name === "allow-volsync-mover-to-repository").map((p) => p.object.metadata.namespace);
    assert.deepEqual(movers.sort(), [...new Set(vb.volumes.map((v) => v.namespace))].sort());
    const names = tree.filter((p) => p.object.kind === "NetworkPolicy" && p.object.metadata.namespace === "volsync-system").map((p) => p.object.metadata.name);
    for (const n of ["default-deny", "allow-apiserver", "allow-volsync-controller-from-prometheus"]) assert.ok(names.includes(n), n);
  });

  it("the claim check knows a StatefulSet's claim template as <template>-<set>-<ordinal>", () => {
    const sts = { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "loki", namespace: "logging" }, spec: { replicas: 1, volumeClaimTemplates: [{ metadata: { name: "storage" } }] } } as unknown as KubeObject;
    assert.deepEqual([...claimsOf([{ object: sts, file: "x" }], [])], ["logging/storage-loki-0"]);
  });

  it("upstream/backup-volume: a claim no chart renders is an error at the ReplicationSource; the controller's labels and port are checked", () => {
    const lokiRelease = tree.find((p) => p.object.kind === "HelmRelease" && p.object.metadata.name === "loki")!;
    const volsync = tree.find((p) => p.object.kind === "HelmRelease" && p.object.metadata.name === "volsync")!;
    const sts = (claim: string) =>
      ({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "loki", namespace: "logging" }, spec: { volumeClaimTemplates: [{ metadata: { name: claim } }] } }) as unknown as KubeObject;
    const deploy = (labels: Record<string, string>) =>
      ({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "volsync", namespace: "volsync-system" },
        spec: { template: { metadata: { labels }, spec: { containers: [{ name: "manager", args: ["--metrics-bind-address=:8443"] }] } } },
      }) as unknown as KubeObject;
    const svc = { apiVersion: "v1", kind: "Service", metadata: { name: "volsync-metrics", namespace: "volsync-system" }, spec: { ports: [{ name: "https", port: 8443, targetPort: 8443 }] } } as unknown as KubeObject;
    const good = { release: volsync, objects: [deploy({ "app.kubernetes.io/name": "volsync", "app.kubernetes.io/instance": "volsync", "control-plane": "volsync-controller" }), svc] };
    // Every other claim as the tree and charts make it, so only Loki's can be wrong.
    const others = vb.volumes.filter((v) => v.id !== "loki").map((v) => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: v.pvc, namespace: v.namespace } }) as unknown as KubeObject);
    const rendered = (claim: string) => [{ release: lokiRelease, objects: [sts(claim), ...others] }, good];
    assert.deepEqual(checkBackupVolumes(model, tree, rendered("storage")), []);
    const [f] = checkBackupVolumes(model, tree, rendered("data"));
    assert.equal(f?.rule, "upstream/backup-volume");
    assert.equal(f?.object, "ReplicationSource/logging/loki");
    assert.match(f!.message, /claim logging\/storage-loki-0, which neither the tree nor any chart creates \(claims in logging: data-loki-0\)/);
    const relabelled = checkBackupVolumes(model, tree, [
      { release: lokiRelease, objects: [sts("storage"), ...others] },
      { release: volsync, objects: [deploy({ app: "volsync" }), svc] },
    ]);
    assert.equal(relabelled[0]?.rule, "upstream/backup-controller");
    assert.match(relabelled[0]!.message, /lack app.kubernetes.io\/name=volsync/);
  });

  it("the restore destination writes into the volume's own claim, exactly the snapshot, as the workload's user", () => {
    const rd = restoreDestination(vol("registry"), "bk-1", "2026-12-04T03:00:00Z");
    assert.equal(rd.metadata?.name, "registry-restore");
    assert.deepEqual((rd.spec as { trigger: unknown }).trigger, { manual: "bk-1" });
    const r = (rd.spec as { restic: Record<string, unknown> }).restic;
    assert.equal(r["destinationPVC"], "registry-data");
    assert.equal(r["enableFileDeletion"], true);
    assert.equal(r["restoreAsOf"], "2026-12-04T03:00:00Z");
  });
});

describe("restic's view of a volume", () => {
  it("forget flags from the retention; the env names the volume's repository, or the same layout below a local root", () => {
    assert.deepEqual(forgetArgs({ daily: 7, monthly: 6 }), ["--keep-daily", "7", "--keep-monthly", "6"]);
    assert.deepEqual(moverEnv(vol("loki"), vb, { RESTIC_PASSWORD: "p" }), { RESTIC_PASSWORD: "p", RESTIC_REPOSITORY: `${vb.repository}/logging/loki` });
    assert.equal(moverEnv(vol("loki"), vb, { RESTIC_PASSWORD: "p" }, "/tmp/store/")["RESTIC_REPOSITORY"], "/tmp/store/logging/loki");
    assert.throws(() => moverEnv(vol("loki"), vb, {}), /no RESTIC_PASSWORD/);
  });
});

/** A ReplicationSource as the VolSync controller records it after a run. */
function recorded(name: string, namespace: string, status: ReplicationObject["status"]): ReplicationObject {
  return { apiVersion: "volsync.backube/v1alpha1", kind: "ReplicationSource", metadata: { name, namespace }, spec: {}, status };
}

describe("bk status reads the newest backup from the cluster", () => {
  const now = new Date("2026-12-05T12:00:00Z");
  const grafana = vol("grafana");
  const ok = recorded("grafana", "monitoring", {
    lastSyncTime: "2026-12-05T04:31:02Z",
    lastSyncDuration: "1m2.5s",
    nextSyncTime: "2026-12-06T04:30:00Z",
    latestMoverStatus: { result: "Successful", logs: "processed 120 files, 3.1 MiB in 0:02\nsnapshot 1a2b3c4d saved" },
    conditions: [{ type: "Synchronizing", status: "False", reason: "WaitingForSchedule", message: "Waiting for next scheduled synchronization" }],
  });

  it("a daily volume may be 24 h plus the grace old", () => {
    assert.equal(longestIntervalMs("30 4 * * *"), 24 * 3_600_000);
    assert.equal(allowedAgeMs(grafana), 30 * 3_600_000);
  });

  it("a recent successful run is ok, with its age", () => {
    const v = judgeVolume(grafana, volumeStateOf(grafana, ok), now);
    assert.equal(v.health, "ok");
    assert.equal(v.ageHours, 7.5);
  });

  it("older than the schedule allows fails, saying so", () => {
    const v = judgeVolume(grafana, volumeStateOf(grafana, ok), new Date("2026-12-06T11:00:00Z"));
    assert.equal(v.health, "fail");
    assert.match(v.detail, /older than its schedule '30 4 \* \* \*' allows \(30 h\)/);
  });

  it("a failed last run warns while the backup is still young; never synced and missing sources fail", () => {
    const failed = recorded("grafana", "monitoring", { ...ok.status, latestMoverStatus: { result: "Failed", logs: "Fatal: unable to open config file: Stat: 403 Forbidden" } });
    const w = judgeVolume(grafana, volumeStateOf(grafana, failed), now);
    assert.equal(w.health, "warn");
    assert.match(w.detail, /403 Forbidden/);
    assert.equal(judgeVolume(grafana, volumeStateOf(grafana, recorded("grafana", "monitoring", {})), now).health, "fail");
    assert.match(judgeVolume(grafana, volumeStateOf(grafana, undefined), now).detail, /no ReplicationSource monitoring\/grafana/);
    const broken = recorded("grafana", "monitoring", { ...ok.status, conditions: [{ type: "Synchronizing", status: "False", reason: "Error", message: "Secret restic-grafana not found" }] });
    assert.match(judgeVolume(grafana, volumeStateOf(grafana, broken), now).detail, /Secret restic-grafana not found/);
  });

  it("evaluateStatus: one row per volume and one for the dump CronJob, from the snapshot, no local folder needed", () => {
    const snap: Snapshot = {
      flux: [],
      services: [],
      pods: [],
      images: [],
      reachability: [],
      certificates: [],
      volumes: { states: vb.volumes.map((v) => volumeStateOf(v, v.id === "grafana" ? ok : recorded(v.id, v.namespace, { lastSyncTime: "2026-12-01T04:30:00Z" }))) },
      dumps: { found: true, lastSuccessfulTime: "2026-12-05T03:16:40Z" },
    };
    const rows = evaluateStatus(model, snap, { now }).checks.filter((c) => c.area === "backups");
    assert.equal(rows.length, vb.volumes.length + 1);
    assert.equal(rows.find((r) => r.subject.startsWith("PostgreSQL dumps"))?.health, "ok");
    assert.equal(rows.find((r) => r.subject.startsWith("volume grafana"))?.health, "ok");
    assert.equal(rows.find((r) => r.subject.startsWith("volume registry"))?.health, "fail");
    const stale = evaluateStatus(model, { ...snap, dumps: { found: true, lastSuccessfulTime: "2026-12-03T03:16:40Z" } }, { now }).checks.find((c) => c.subject.startsWith("PostgreSQL dumps"));
    assert.equal(stale?.health, "fail");
  });
});
