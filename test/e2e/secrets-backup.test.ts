/**
 * `bk secrets backup` and `bk secrets seal --kubeconfig` against a real kube-apiserver (the dev cluster, no
 * Flux): the controller's key Secrets are created in kube-system as the controller writes them, then read back
 * through the API, written to a private file, restored into the emptied namespace, and used to verify the tree.
 * The keys are the repository's TEST keys. Needs `npm run tools -- base e2e` and Debian's etcd-server.
 */
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe } from "node:test";
import { parse, stringify } from "yaml";
import { secretsBackupCommand, secretsSealCommand, secretsSetCommand, secretsVerifyCommand, type SecretsDeps } from "../../src/cli/commands/secrets.js";
import { KEY_BACKED_UP_ANNOTATION } from "../../src/core/well-known.js";
import { loadDefinition } from "../../src/model/load.js";
import { up } from "../../src/devcluster/index.js";
import { keySecretManifest, parseKeyBackup, publicKeyFingerprint, publicKeyFromCertificate } from "../../src/sealing/keys.js";
import { generateTestKeyPair } from "../helpers/sealing-keys.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";
import { clusterSuite } from "./helpers/suite.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures/sealed-secrets");
const NS = "kube-system";
const LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key";

const suite = clusterSuite();
const c = suite.cluster;
const tempDir = suite.tempDir;
const step = (name: string, fn: () => Promise<void>): void => suite.step(name, 5 * 60_000, fn);
let root = "";
let values = "";

function io(): SecretsDeps & { out: () => string; err: () => string; json: () => unknown } {
  let out = "";
  let err = "";
  return {
    env: { HOME: tmpdir() },
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    out: () => out,
    err: () => err,
    json: () => JSON.parse(out),
  };
}

async function fixture(stem: string): Promise<{ privateKeyPem: string; certPem: string }> {
  return { certPem: await readFile(path.join(FIXTURES, `${stem}-cert.pem`), "utf8"), privateKeyPem: await readFile(path.join(FIXTURES, `${stem}-key.pem`), "utf8") };
}

describe("bk secrets against a real API server", () => {
  before(
    async () => {
      suite.setCluster(await up({ flux: false, gitServer: false, crdsDir: false, nodes: [], onProgress: (l) => console.log(`# devcluster ${l}`) }));
      root = tempDefinition();
      suite.scratch(root);
      values = path.join(await tempDir("bk-values-"), "secret-values.yaml");
      const model = loadDefinition(root).model;
      assert.equal(model.sealedSecrets.namespace, NS);
      for (const s of model.secrets) {
        for (const [k, src] of Object.entries(s.keys)) {
          if (src.from !== "operator") continue;
          const code = await secretsSetCommand(root, `${s.namespace}/${s.name}`, k, { values, value: `e2e-${s.name}-${k}` }, io());
          assert.equal(code, 0);
        }
      }
    },
    { timeout: 6 * 60_000 },
  );

  after(() => suite.teardown());

  // The current key is issued now, so its certificate starts after the fixture's: the controller seals with it.
  const fresh = generateTestKeyPair();
  let freshKeyFile = "";

  step("the controller's keys are in kube-system: an older one, the current one, and an unrelated Secret", async () => {
    const previous = await fixture("TEST-ONLY-previous");
    await c().applyManifest(stringify(keySecretManifest({ name: "sealed-secrets-keyold", ...previous })));
    await c().applyManifest(stringify(keySecretManifest({ name: "sealed-secrets-keynew", ...fresh })));
    await c().applyManifest(stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "unrelated", namespace: NS }, stringData: { k: "v" } }));
    freshKeyFile = path.join(await tempDir("bk-fresh-"), "key.pem");
    await writeFile(freshKeyFile, fresh.privateKeyPem, { mode: 0o600 });
  });

  step("seal --kubeconfig fetches the controller's current certificate through the API", async () => {
    const o = io();
    const code = await secretsSealCommand(root, [], { all: true, values, kubeconfig: c().kubeconfig, json: true }, o);
    assert.equal(code, 0, o.err());
    const r = o.json() as { certificate: { source: string; publicKeyFingerprint: string } };
    assert.match(r.certificate.source, /^Secret kube-system\/sealed-secrets-keynew via https:\/\/127\.0\.0\.1:\d+/);
    assert.equal(r.certificate.publicKeyFingerprint, publicKeyFingerprint(publicKeyFromCertificate(fresh.certPem)));
    assert.equal(await secretsVerifyCommand(root, { keyBackup: freshKeyFile }, io()), 0);
  });

  let backupFile = "";
  step("backup reads exactly the labelled key Secrets, writes them 0600 and proves they open the tree", async () => {
    backupFile = path.join(await tempDir("bk-keys-"), "sealed-secrets-keys.yaml");
    const o = io();
    const code = await secretsBackupCommand(root, { kubeconfig: c().kubeconfig, out: backupFile, json: true }, o);
    assert.equal(code, 0, o.err() + o.out());
    const r = o.json() as { keys: Array<{ name: string; state: string }>; verify: { secrets: Array<{ opens: boolean }> } };
    assert.deepEqual(r.keys.map((k) => `${k.name}=${k.state}`).sort(), ["sealed-secrets-keynew=active", "sealed-secrets-keyold=active"]);
    assert.ok(r.verify.secrets.length > 0 && r.verify.secrets.every((e) => e.opens));
    assert.equal((await stat(backupFile)).mode & 0o777, 0o600);
    const list = parse(await readFile(backupFile, "utf8")) as { kind: string; items: Array<{ metadata: Record<string, unknown>; type: string }> };
    assert.equal(list.kind, "List");
    assert.deepEqual(list.items.map((i) => i.metadata.name).sort(), ["sealed-secrets-keynew", "sealed-secrets-keyold"]);
    for (const i of list.items) {
      assert.equal(i.type, "kubernetes.io/tls");
      assert.deepEqual(Object.keys(i.metadata).sort(), ["annotations", "labels", "name", "namespace"], "server-set fields (uid, resourceVersion, managedFields) are left out");
      // The file carries the backed-up mark, so keys restored from it do not raise SealedSecretsKeyNotBackedUp.
      const marks = i.metadata.annotations as Record<string, string>;
      assert.deepEqual(Object.keys(marks), [KEY_BACKED_UP_ANNOTATION]);
      assert.ok(!Number.isNaN(Date.parse(marks[KEY_BACKED_UP_ANNOTATION]!)), marks[KEY_BACKED_UP_ANNOTATION]);
    }
    const fps = parseKeyBackup(await readFile(backupFile, "utf8")).privateKeys.length;
    assert.equal(fps, 2);
  });

  step("the backup restores into an emptied namespace with kubectl apply, and the restored keys back up the same", async () => {
    await c().kubectl.run(["delete", "secret", "-n", NS, "-l", LABEL]);
    const empty = io();
    assert.equal(await secretsBackupCommand(root, { kubeconfig: c().kubeconfig, out: path.join(await tempDir("bk-keys-"), "k.yaml") }, empty), 3);
    assert.match(empty.err(), /no Secrets labelled/);
    await c().kubectl.run(["apply", "-f", backupFile]);
    const again = path.join(await tempDir("bk-keys-"), "again.yaml");
    const o = io();
    assert.equal(await secretsBackupCommand(root, { kubeconfig: c().kubeconfig, out: again, json: true }, o), 0, o.err());
    const fps = (t: string) =>
      parseKeyBackup(t)
        .privateKeys.map((k) => publicKeyFingerprint(createPublicKey(k)))
        .sort();
    assert.deepEqual(fps(await readFile(again, "utf8")), fps(await readFile(backupFile, "utf8")));
    // Restored Secrets all get a new creationTimestamp; the sealing key must still be the same one.
    const o2 = io();
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values, kubeconfig: c().kubeconfig, json: true }, o2), 0, o2.err());
    assert.match((o2.json() as { certificate: { source: string } }).certificate.source, /sealed-secrets-keynew/);
    assert.equal(await secretsVerifyCommand(root, { keyBackup: again }, io()), 0);
  });

  step("a user who may not read Secrets in kube-system gets exit 3 and a 403 that says what is missing", async () => {
    await c().kubectl.run(["create", "serviceaccount", "nobody", "-n", "default"]);
    const token = (await c().kubectl.run(["create", "token", "nobody", "-n", "default"])).trim();
    const admin = parse(await readFile(c().kubeconfig, "utf8")) as { clusters: Array<{ cluster: Record<string, string> }> };
    const kc = path.join(await tempDir("bk-kc-"), "nobody.kubeconfig");
    await writeFile(
      kc,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "dev", cluster: admin.clusters[0]!.cluster }],
        users: [{ name: "nobody", user: { token } }],
        contexts: [{ name: "dev", context: { cluster: "dev", user: "nobody" } }],
        "current-context": "dev",
      }),
      { mode: 0o600 },
    );
    const o = io();
    assert.equal(await secretsBackupCommand(root, { kubeconfig: kc, out: path.join(await tempDir("bk-keys-"), "k.yaml") }, o), 3);
    assert.match(o.err(), /forbidden \(HTTP 403\).*needs "list secrets"/);
  });
});
