/**
 * `bk doctor` against real peers: a TLS registry serving a certificate for the wrong address
 * (incident 3), ChartMuseum's served certificate (the FAKE ChartMuseum of test/helpers, on a real TLS stack
 * with openssl-made certificates: SANs, expiry, chain), trust folders written by the real `bk trust` (incident 4), SealedSecrets sealed
 * with the TEST keys and opened with the key backup (incident 6). The node pull goes through the
 * RecordingRunner test double: no Minikube node can run here.
 */
import assert from "node:assert/strict";
import { copyFileSync, chmodSync, mkdtempSync, utimesSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { loadDefinition } from "../../src/model/load.js";
import { runDoctor, type DoctorCheck } from "../../src/workflows/doctor.js";
import { RecordingRunner } from "../../src/adapters/runner.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";
import { runBk, runBkAsync } from "../helpers/cli.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { startFakeChartMuseum, type FakeChartMuseum } from "../helpers/fake-chartmuseum.js";
import { makeCa, makeServerCert } from "../helpers/pki.js";

const fixtures = path.join(REPO_ROOT, "test/fixtures/sealed-secrets");
const byId = (checks: DoctorCheck[], id: string) => checks.find((c) => c.id === id)!;

describe("bk doctor", () => {
  let registry: TestRegistry;
  let root: string;
  let keyBackup: string;
  before(async () => {
    registry = await startRegistry();
    root = tempDefinition();
    const env = { BK_SECRET_VALUES: path.join(mkdtempSync(path.join(os.tmpdir(), "bk-values-")), "values.yaml") };
    const list = JSON.parse(runBk(["secrets", "list", "--json", "--root", root], { env }).stdout) as { secrets: Array<{ secret: string; keys: Array<{ key: string; source: string }> }> };
    for (const s of list.secrets) for (const k of s.keys.filter((x) => x.source === "operator")) runBk(["secrets", "set", s.secret, k.key, "--value", "test-value", "--root", root], { env });
    const seal = runBk(["secrets", "seal", "--all", "--root", root, "--cert", path.join(fixtures, "TEST-ONLY-current-cert.pem"), "--allow-test-key"], { env });
    assert.equal(seal.status, 0, seal.stderr);
    keyBackup = path.join(mkdtempSync(path.join(os.tmpdir(), "bk-keys-")), "keys.yaml");
    copyFileSync(path.join(fixtures, "TEST-ONLY-key-backup.yaml"), keyBackup);
    chmodSync(keyBackup, 0o600);
  });
  after(() => registry?.stop());

  it("fails on a registry certificate that does not cover the definition's IP (incident 3)", async () => {
    const { model } = loadDefinition(root);
    const checks = await runDoctor(model, { root, ca: registry.ca.caCert, keyBackup, maxKeyBackupAgeDays: 7, overrides: { registry: registry.host }, hostRoot: mkdtempSync(path.join(os.tmpdir(), "bk-host-")) });
    const c = byId(checks, "registry-certificate");
    assert.equal(c.status, "fail");
    assert.match(c.detail, /192\.168\.7\.21/);
  });

  describe("ChartMuseum's certificate, checked like the registry's", () => {
    const museums: FakeChartMuseum[] = [];
    after(() => Promise.all(museums.map((m) => m.stop())));
    const ca = makeCa();
    const other = makeCa("another CA");
    // What the definition gives ChartMuseum: its LoadBalancer IP, its LAN name and its names inside the cluster.
    const definitionSans = ["IP:192.168.7.18", "DNS:charts.beckerkube.lan", "DNS:chartmuseum.infra.svc", "DNS:chartmuseum.infra.svc.cluster.local"];
    const serve = async (sans: string[], days = 60, signer = ca) => {
      const m = await startFakeChartMuseum({ tls: makeServerCert(signer, `chartmuseum-${museums.length}`, sans, days) });
      museums.push(m);
      return new URL(m.url).host;
    };
    const check = async (host: string) => {
      const { model } = loadDefinition(root);
      return byId(await runDoctor(model, { root, ca: ca.caCert, keyBackup, maxKeyBackupAgeDays: 7, overrides: { registry: registry.host, chartmuseum: host }, hostRoot: "/nonexistent" }), "chartmuseum-certificate");
    };

    it("passes for a certificate with the definition's SANs, current, from the CA", async () => {
      const c = await check(await serve(definitionSans));
      assert.equal(c.status, "ok", c.detail);
      assert.match(c.detail, /192\.168\.7\.18, charts\.beckerkube\.lan/);
      assert.match(c.detail, /verified against the CA/);
    });

    it("fails naming the address the certificate does not cover", async () => {
      const c = await check(await serve(["IP:127.0.0.1", "DNS:charts.beckerkube.lan"]));
      assert.equal(c.status, "fail");
      assert.match(c.detail, /valid for 127\.0\.0\.1, charts\.beckerkube\.lan, not 192\.168\.7\.18, chartmuseum\.infra\.svc/);
      assert.match(c.fix!, /bk certs renew chartmuseum-tls/);
    });

    it("fails a certificate about to expire, and one from another CA", async () => {
      const soon = await check(await serve(definitionSans, 5));
      assert.equal(soon.status, "fail");
      assert.match(soon.detail, /expires in [45] day\(s\)/);
      const foreign = await check(await serve(definitionSans, 60, other));
      assert.equal(foreign.status, "fail");
      assert.match(foreign.detail, /does not verify against the given CA/);
    });
  });

  it("fails until the build host trusts the CA, then passes after `bk trust` (incident 4)", async () => {
    const { model } = loadDefinition(root);
    const hostRoot = mkdtempSync(path.join(os.tmpdir(), "bk-host-"));
    const opts = { root, ca: registry.ca.caCert, keyBackup, maxKeyBackupAgeDays: 7, overrides: { registry: registry.host }, hostRoot };
    const before = byId(await runDoctor(model, opts), "build-host-trust");
    assert.equal(before.status, "fail");
    assert.match(before.fix!, /bk trust/);
    const trust = await runBkAsync(["trust", "--root", root, "--ca", registry.ca.caCert, "--root-prefix", hostRoot, "--no-node"]);
    assert.equal(trust.status, 0, trust.stderr);
    assert.equal(byId(await runDoctor(model, opts), "build-host-trust").status, "ok");
  });

  it("opens every SealedSecret with the key backup, and fails with the wrong key or a stale backup (incident 6)", async () => {
    const { model } = loadDefinition(root);
    const base = { root, maxKeyBackupAgeDays: 7, hostRoot: "/nonexistent", overrides: { registry: registry.host } };
    const good = await runDoctor(model, { ...base, keyBackup });
    assert.equal(byId(good, "sealed-secrets-decrypt").status, "ok", byId(good, "sealed-secrets-decrypt").detail);
    assert.equal(byId(good, "key-backup-recent").status, "ok");
    const wrongKey = path.join(mkdtempSync(path.join(os.tmpdir(), "bk-keys-")), "old.pem");
    copyFileSync(path.join(fixtures, "TEST-ONLY-previous-key.pem"), wrongKey);
    chmodSync(wrongKey, 0o600);
    const wrong = byId(await runDoctor(model, { ...base, keyBackup: wrongKey }), "sealed-secrets-decrypt");
    assert.equal(wrong.status, "fail");
    assert.match(wrong.detail, /no key could decrypt secret/);
    const old = new Date(Date.now() - 30 * 86_400_000);
    utimesSync(wrongKey, old, old);
    assert.equal(byId(await runDoctor(model, { ...base, keyBackup: wrongKey }), "key-backup-recent").status, "fail");
  });

  it("tells an x509 pull failure on the node to install the CA there", async () => {
    const { model } = loadDefinition(root);
    const runner = new RecordingRunner(() => ({ code: 1, stdout: "", stderr: "pulling image: failed to do request: x509: certificate signed by unknown authority" }));
    const c = byId(await runDoctor(model, { root, keyBackup, maxKeyBackupAgeDays: 7, hostRoot: "/", runner, overrides: { registry: registry.host } }), "node-pull");
    assert.equal(c.status, "fail");
    assert.match(c.fix!, /bk trust --no-host/);
    assert.deepEqual(runner.lines(), ["minikube -p beckerkube ssh -- sudo crictl pull 192.168.7.21:5000/ccbot/bot:2.0.3"]);
  });

  it("exits 1 and lists every check through the CLI", async () => {
    const r = await runBkAsync(["doctor", "--root", root, "--key-backup", keyBackup, "--target", `registry=${registry.host}`, "--target", `chartmuseum=${registry.host}`, "--ca", registry.ca.caCert, "--json"], {
      env: { KUBECONFIG: path.join(root, "no-such-kubeconfig") },
    });
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { checks: DoctorCheck[] };
    assert.deepEqual(
      out.checks.map((c) => c.id),
      ["registry-certificate", "chartmuseum-certificate", "build-host-trust", "node-pull", "canary", "sealed-secrets-decrypt", "key-backup-recent", "cni-enforces-networkpolicy"],
    );
    assert.equal(byId(out.checks, "cni-enforces-networkpolicy").status, "ok");
    // No kubeconfig anywhere: the canary is skipped, saying why (test/e2e/platform.test.ts runs it on a cluster).
    assert.deepEqual(byId(out.checks, "canary"), {
      id: "canary",
      title: "the canary application is Ready and runs its image from the private registry",
      status: "skipped",
      detail: "no cluster is configured (--kubeconfig, $KUBECONFIG or ~/.kube/config)",
    });
  });
});
