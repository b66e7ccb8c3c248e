/**
 * The pieces under `bk secrets`: where the plaintext value store may live and how it is written, how each
 * declared key gets its value (literal, store, generated, same-as, recovered), and the key-Secret helpers.
 */
import { scratchDirs } from "../helpers/scratch.js";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import type { DeclaredSecret } from "../../src/model/model.js";
import { currentSealingKey, keyBackupYaml, sortKeys, type KeySecret } from "../../src/adapters/sealed-secrets-cluster.js";
import {
  assertOutsideRepository,
  defaultValuesPath,
  generateValue,
  keyOrigin,
  originId,
  resolveSecretValues,
  resolveValuesPath,
  SecretValueStore,
  ValueStoreError,
  withSharedValues,
  writePrivateFileAtomically,
} from "../../src/workflows/secrets/value-store.js";
import { keySecretManifest, parseKeyBackup } from "../../src/sealing/keys.js";
import { generateTestKeyPair } from "../helpers/sealing-keys.js";
import { REPO_ROOT } from "../helpers/definition.js";

const { tmp } = scratchDirs();

const mode = (p: string) => statSync(p).mode & 0o777;

describe("value store location", () => {
  it("defaults to $XDG_CONFIG_HOME/beckerkube/<cluster>/secret-values.yaml, else ~/.config", () => {
    assert.equal(defaultValuesPath("bk", { XDG_CONFIG_HOME: "/cfg", HOME: "/home/u" }), "/cfg/beckerkube/bk/secret-values.yaml");
    assert.equal(defaultValuesPath("bk", { HOME: "/home/u" }), "/home/u/.config/beckerkube/bk/secret-values.yaml");
    // A relative XDG_CONFIG_HOME is invalid per the XDG spec and ignored.
    assert.equal(defaultValuesPath("bk", { XDG_CONFIG_HOME: "rel", HOME: "/home/u" }), "/home/u/.config/beckerkube/bk/secret-values.yaml");
  });

  it("--values wins over BK_SECRET_VALUES, which wins over the default", () => {
    const root = tmp("bk-repo-");
    const outside = tmp("bk-out-");
    const env = { HOME: outside, BK_SECRET_VALUES: path.join(outside, "env.yaml") };
    assert.deepEqual(resolveValuesPath({ flag: path.join(outside, "flag.yaml"), clusterName: "c", root, env }), { path: path.join(outside, "flag.yaml"), source: "--values" });
    assert.deepEqual(resolveValuesPath({ clusterName: "c", root, env }), { path: path.join(outside, "env.yaml"), source: "BK_SECRET_VALUES" });
    assert.deepEqual(resolveValuesPath({ clusterName: "c", root, env: { HOME: outside } }), {
      path: path.join(outside, ".config/beckerkube/c/secret-values.yaml"),
      source: "default",
    });
  });

  it("refuses any path inside the repository, the default and symlinked paths included", () => {
    const root = tmp("bk-repo-");
    const outside = tmp("bk-out-");
    assert.throws(() => resolveValuesPath({ flag: path.join(root, "secret-values.yaml"), clusterName: "c", root, env: {} }), /inside the repository/);
    assert.throws(() => resolveValuesPath({ flag: path.join(root, "deep/new/dir/v.yaml"), clusterName: "c", root, env: {} }), ValueStoreError);
    assert.throws(() => resolveValuesPath({ clusterName: "c", root, env: { BK_SECRET_VALUES: path.join(root, "v.yaml") } }), /from BK_SECRET_VALUES/);
    assert.throws(() => resolveValuesPath({ clusterName: "c", root, env: { XDG_CONFIG_HOME: path.join(root, ".config") } }), /inside the repository/);
    // A link outside that points into the repository is still the repository.
    mkdirSync(path.join(root, "private"));
    symlinkSync(path.join(root, "private"), path.join(outside, "link"));
    assert.throws(() => assertOutsideRepository(path.join(outside, "link", "v.yaml"), root, "store"), /inside the repository/);
    // A sibling whose name merely starts with the root's name is outside.
    assert.doesNotThrow(() => assertOutsideRepository(`${root}-sibling/v.yaml`, root, "store"));
    assert.doesNotThrow(() => assertOutsideRepository(path.join(outside, "v.yaml"), root, "store"));
  });
});

describe("value store file", () => {
  it("a missing file is an empty store; save writes mode 0600 in a 0700 directory, whatever the umask", () => {
    const dir = tmp("bk-store-");
    const file = path.join(dir, "a", "b", "secret-values.yaml");
    const store = SecretValueStore.load(file, "bk");
    assert.equal(store.existed, false);
    assert.equal(store.get("ns/x", "k"), undefined);
    store.set("ns/x", "k", "v1");
    store.set("a/y", "z", "multi\nline\n");
    const old = process.umask(0o000);
    try {
      store.save();
    } finally {
      process.umask(old);
    }
    assert.equal(mode(file), 0o600);
    assert.equal(mode(path.dirname(file)), 0o700);
    assert.equal(mode(path.join(dir, "a")), 0o700);
    assert.deepEqual(readdirSync(path.dirname(file)), ["secret-values.yaml"], "no temporary file left behind");
    const again = SecretValueStore.load(file, "bk");
    assert.equal(again.existed, true);
    assert.equal(again.get("ns/x", "k"), "v1");
    assert.equal(again.get("a/y", "z"), "multi\nline\n");
    assert.deepEqual(again.keys(), [
      { ref: "a/y", keys: ["z"] },
      { ref: "ns/x", keys: ["k"] },
    ]);
    assert.match(readFileSync(file, "utf8"), /^# Plaintext values .*cluster bk/);
  });

  it("a replaced file keeps 0600 even when the old one was world-readable", () => {
    const file = path.join(tmp("bk-store-"), "v.yaml");
    writeFileSync(file, "ns/x: { k: old }\n", { mode: 0o644 });
    const store = SecretValueStore.load(file, "bk");
    store.set("ns/x", "k", "new");
    store.save();
    assert.equal(mode(file), 0o600);
    assert.equal(SecretValueStore.load(file, "bk").get("ns/x", "k"), "new");
  });

  it("a write that fails at the rename leaves what was there and no temporary file", () => {
    const dir = tmp("bk-store-");
    // A non-empty directory where the file should go: the temporary file is written, the rename fails.
    const target = path.join(dir, "keys.yaml");
    mkdirSync(target);
    writeFileSync(path.join(target, "inside"), "kept\n");
    assert.throws(() => writePrivateFileAtomically(target, "new\n"));
    assert.equal(readFileSync(path.join(target, "inside"), "utf8"), "kept\n");
    assert.deepEqual(readdirSync(dir), ["keys.yaml"], "the temporary file is removed");
  });

  it("rejects a malformed store naming the file and the entry", () => {
    const file = path.join(tmp("bk-store-"), "v.yaml");
    writeFileSync(file, "ns/x:\n  port: 5432\n");
    assert.throws(
      () => SecretValueStore.load(file, "bk"),
      (e: Error) => e instanceof ValueStoreError && e.message.includes(file) && /ns\/x key port: value must be a string/.test(e.message),
    );
    writeFileSync(file, "not-a-ref:\n  k: v\n");
    assert.throws(() => SecretValueStore.load(file, "bk"), /"not-a-ref" is not "<namespace>\/<name>"/);
    writeFileSync(file, "- a\n- b\n");
    assert.throws(() => SecretValueStore.load(file, "bk"), /expected a mapping/);
  });

  it("generated values are 32 random bytes in base64url unless told otherwise", () => {
    const a = generateValue();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, generateValue());
    assert.equal(Buffer.from(generateValue(48), "base64url").length, 48);
    assert.throws(() => generateValue(8), /at least 16/);
  });
});

// A small declaration set shaped like the model's: a role secret with a generated password, two same-as
// copies of it (one through the other), an operator-provided token and a literal.
const secrets: DeclaredSecret[] = [
  { namespace: "infra", name: "pg-app", keys: { username: { from: "literal", value: "app" }, password: { from: "generate" } }, owner: "database-role:app" },
  { namespace: "app", name: "app-db", keys: { username: { from: "literal", value: "app" }, password: { from: "same-as", namespace: "infra", name: "pg-app", key: "password" } }, owner: "database:app" },
  { namespace: "other", name: "copy", keys: { pw: { from: "same-as", namespace: "app", name: "app-db", key: "password" } }, owner: "app:other" },
  { namespace: "app", name: "api", keys: { token: { from: "operator" } }, owner: "app:app" },
  { namespace: "app", name: "solo", keys: { k: { from: "generate" } }, owner: "app:app" },
];
const byRef = (ref: string) => secrets.find((s) => `${s.namespace}/${s.name}` === ref)!;

function memStore(): SecretValueStore {
  return SecretValueStore.load(path.join(tmp("bk-mem-"), "never-saved.yaml"), "test");
}

describe("key origins and shared values", () => {
  it("same-as follows the chain to the key that owns the value", () => {
    assert.deepEqual(keyOrigin(secrets, byRef("other/copy"), "pw"), { ref: "infra/pg-app", key: "password", source: "generate" });
    assert.deepEqual(keyOrigin(secrets, byRef("app/app-db"), "username"), { ref: "app/app-db", key: "username", source: "literal", literal: "app" });
  });

  it("a circular or dangling same-as is an error that names the chain", () => {
    const loop: DeclaredSecret[] = [
      { namespace: "a", name: "x", keys: { k: { from: "same-as", namespace: "a", name: "y", key: "k" } }, owner: "t" },
      { namespace: "a", name: "y", keys: { k: { from: "same-as", namespace: "a", name: "x", key: "k" } }, owner: "t" },
    ];
    assert.throws(() => keyOrigin(loop, loop[0]!, "k"), /circle: a\/x#k -> a\/y#k -> a\/x#k/);
    const dangling: DeclaredSecret[] = [{ namespace: "a", name: "x", keys: { k: { from: "same-as", namespace: "a", name: "gone", key: "k" } }, owner: "t" }];
    assert.throws(() => keyOrigin(dangling, dangling[0]!, "k"), /a\/gone, which is not declared/);
  });

  it("selecting one side of a shared value selects every secret that holds it", () => {
    const refs = (list: DeclaredSecret[]) => list.map((s) => `${s.namespace}/${s.name}`).sort();
    assert.deepEqual(refs(withSharedValues([byRef("other/copy")], secrets)), ["app/app-db", "infra/pg-app", "other/copy"]);
    assert.deepEqual(refs(withSharedValues([byRef("infra/pg-app")], secrets)), ["app/app-db", "infra/pg-app", "other/copy"]);
    assert.deepEqual(refs(withSharedValues([byRef("app/api")], secrets)), ["app/api"]);
  });
});

describe("resolveSecretValues", () => {
  it("literal from the definition, generated once and shared by every same-as copy, stored for saving", () => {
    const store = memStore();
    store.set("app/api", "token", "tok");
    let n = 0;
    const res = resolveSecretValues(secrets, secrets, { store, sealedOrigins: new Set(), generate: () => `gen-${++n}` });
    assert.equal(res.problems.size, 0);
    assert.deepEqual(res.values.get("infra/pg-app"), { password: "gen-1", username: "app" });
    assert.deepEqual(res.values.get("app/app-db"), { password: "gen-1", username: "app" });
    assert.deepEqual(res.values.get("other/copy"), { pw: "gen-1" });
    assert.deepEqual(res.values.get("app/api"), { token: "tok" });
    assert.deepEqual(res.values.get("app/solo"), { k: "gen-2" });
    assert.deepEqual(res.generated.map(originId).sort(), ["app/solo#k", "infra/pg-app#password"]);
    assert.equal(store.get("infra/pg-app", "password"), "gen-1", "generated values go into the store");
    assert.equal(store.get("app/app-db", "password"), undefined, "copies are not stored twice");
    assert.equal(store.changed, true);
  });

  it("a stored value is used as is, never regenerated", () => {
    const store = memStore();
    store.set("infra/pg-app", "password", "kept");
    store.set("app/api", "token", "tok");
    store.set("app/solo", "k", "kept-too");
    const res = resolveSecretValues(secrets, secrets, { store, sealedOrigins: new Set(), generate: () => assert.fail("must not generate") });
    assert.equal(res.values.get("other/copy")?.pw, "kept");
    assert.deepEqual(res.generated, []);
  });

  it("a missing operator value is a problem with the exact set command, on the copy as on the origin", () => {
    const opSecrets: DeclaredSecret[] = [byRef("app/api"), { namespace: "x", name: "api-copy", keys: { t: { from: "same-as", namespace: "app", name: "api", key: "token" } }, owner: "t" }];
    const res = resolveSecretValues(opSecrets, opSecrets, { store: memStore(), sealedOrigins: new Set() });
    assert.equal(res.values.size, 0);
    const [p] = res.problems.get("app/api")!;
    assert.equal(p!.fix.split("   #")[0], "bk secrets set app/api token --from-file <file>");
    const [q] = res.problems.get("x/api-copy")!;
    assert.match(q!.message, /\[same-as app\/api token\]/);
    assert.equal(q!.fix, p!.fix, "the fix sets the origin, not the copy");
  });

  it("refuses to invent a new value for a generated key that is already sealed, unless it can be recovered", () => {
    const store = memStore();
    store.set("app/api", "token", "tok");
    const sealed = new Set(["infra/pg-app#password"]);
    const res = resolveSecretValues(secrets, secrets, { store, sealedOrigins: sealed, generate: () => "fresh" });
    for (const ref of ["infra/pg-app", "app/app-db", "other/copy"]) {
      assert.match(res.problems.get(ref)![0]!.message, /sealed in the tree but not in the value store/, ref);
      assert.match(res.problems.get(ref)![0]!.fix, /--from-key-backup/);
    }
    assert.deepEqual(res.values.get("app/solo"), { k: "fresh" }, "unsealed keys are still generated");

    const store2 = memStore();
    store2.set("app/api", "token", "tok");
    const rec = resolveSecretValues(secrets, secrets, { store: store2, sealedOrigins: sealed, recovered: new Map([["infra/pg-app#password", "old-pw"]]), generate: () => "fresh" });
    assert.equal(rec.problems.size, 0);
    assert.equal(rec.values.get("other/copy")?.pw, "old-pw");
    assert.deepEqual(rec.recovered.map(originId), ["infra/pg-app#password"]);
    assert.equal(store2.get("infra/pg-app", "password"), "old-pw");
  });
});

describe("controller key Secrets", () => {
  const fixtures = path.join(REPO_ROOT, "test/fixtures/sealed-secrets");
  const pair = (stem: string) => ({
    privateKeyPem: readFileSync(path.join(fixtures, `${stem}-key.pem`), "utf8"),
    certPem: readFileSync(path.join(fixtures, `${stem}-cert.pem`), "utf8"),
  });
  const key = (name: string, stem: string, created: string, state = "active"): KeySecret => {
    const manifest = keySecretManifest({ name, ...pair(stem) });
    manifest.metadata.labels = { "sealedsecrets.bitnami.com/sealed-secrets-key": state };
    return { name, namespace: "kube-system", state, created: new Date(created), manifest, certPem: pair(stem).certPem };
  };

  it("the sealing key is the active one whose certificate starts last, as the controller picks it", () => {
    // Both fixtures were issued in the same second; a certificate issued now starts later than either.
    const fresh = generateTestKeyPair();
    const freshKey = (name: string, created: string): KeySecret => ({
      name,
      namespace: "kube-system",
      state: "active",
      created: new Date(created),
      manifest: keySecretManifest({ name, ...fresh }),
      certPem: fresh.certPem,
    });
    const keys = [
      key("sealed-secrets-keyb", "TEST-ONLY-current", "2026-03-01T00:00:00Z"),
      freshKey("sealed-secrets-keyfresh", "2026-01-15T00:00:00Z"),
      key("sealed-secrets-keya", "TEST-ONLY-previous", "2026-01-01T00:00:00Z"),
      key("sealed-secrets-keyc", "TEST-ONLY-current", "2026-06-01T00:00:00Z", "compromised"),
    ];
    assert.deepEqual(
      sortKeys(keys).map((k) => k.name),
      ["sealed-secrets-keya", "sealed-secrets-keyfresh", "sealed-secrets-keyb", "sealed-secrets-keyc"],
    );
    assert.equal(currentSealingKey(keys)?.name, "sealed-secrets-keyfresh", "the latest certificate wins over the latest Secret");
    assert.equal(currentSealingKey([keys[0]!, keys[2]!])?.name, "sealed-secrets-keya", "same NotBefore: the key loaded first stays");
    assert.equal(currentSealingKey([keys[3]!]), undefined, "a compromised key never seals");
  });

  it("the backup is a v1 List every key of which parses back, compromised ones included", () => {
    const keys = [key("k1", "TEST-ONLY-previous", "2026-01-01T00:00:00Z"), key("k2", "TEST-ONLY-current", "2026-02-01T00:00:00Z", "compromised")];
    const text = keyBackupYaml(keys, "# header\n");
    assert.match(text, /^# header\napiVersion: v1\nkind: List\n/);
    const parsed = parseKeyBackup(text);
    assert.deepEqual(
      parsed.keys.map((k) => k.source),
      ["Secret kube-system/k1", "Secret kube-system/k2"],
    );
    assert.equal(parsed.certificates.length, 2);
  });
});
