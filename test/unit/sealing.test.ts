import assert from "node:assert/strict";
import { constants, createPrivateKey, createPublicKey, privateDecrypt } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { KubeObject } from "../../src/core/object.js";
import { certificateInfo, keySecretManifest, parseKeyBackup, publicKeyFingerprint } from "../../src/sealing/keys.js";
import { scopeLabel, type SealingScope } from "../../src/sealing/scope.js";
import { sealSecret, sealValue, UnsealError, unsealSecret, unsealValue } from "../../src/sealing/sealing.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "sealed-secrets");
const read = (f: string): string => readFileSync(join(fixtures, f), "utf8");
const current = { cert: read("TEST-ONLY-current-cert.pem"), key: read("TEST-ONLY-current-key.pem") };
const previous = { cert: read("TEST-ONLY-previous-cert.pem"), key: read("TEST-ONLY-previous-key.pem") };

type Spec = { encryptedData: Record<string, string>; template: { metadata: Record<string, unknown>; type?: string } };
const specOf = (o: KubeObject): Spec => o.spec as Spec;
const clone = (o: KubeObject): KubeObject => structuredClone(o);

describe("sealSecret / unsealSecret", () => {
  const scopes: SealingScope[] = ["strict", "namespace-wide", "cluster-wide"];
  for (const scope of scopes) {
    it(`round-trips a ${scope} secret`, () => {
      const binary = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
      const sealed = sealSecret({
        certPem: current.cert,
        namespace: "infra",
        name: "db-credentials",
        scope,
        data: { password: "s3cr3t-ü", blob: binary },
      });
      assert.equal(sealed.apiVersion, "bitnami.com/v1alpha1");
      assert.equal(sealed.kind, "SealedSecret");
      assert.equal(sealed.metadata.name, "db-credentials");
      assert.equal(sealed.metadata.namespace, "infra");
      const expectedAnno = scope === "strict" ? undefined : { [`sealedsecrets.bitnami.com/${scope}`]: "true" };
      assert.deepEqual(sealed.metadata.annotations, expectedAnno);
      assert.deepEqual(specOf(sealed).template.metadata.annotations, expectedAnno);
      assert.equal(specOf(sealed).template.type, "Opaque");

      const opened = unsealSecret(sealed, [current.key]);
      assert.deepEqual(Object.keys(opened.data), ["blob", "password"]);
      assert.equal(opened.data.password!.toString("utf8"), "s3cr3t-ü");
      assert.deepEqual(opened.data.blob, binary);
      assert.equal(opened.type, "Opaque");
    });
  }

  it("binds a strict secret to its name and namespace", () => {
    const sealed = sealSecret({ certPem: current.cert, namespace: "infra", name: "a", data: { k: "v" } });
    const renamed = clone(sealed);
    renamed.metadata.name = "b";
    assert.throws(() => unsealSecret(renamed, [current.key]), UnsealError);
    const moved = clone(sealed);
    moved.metadata.namespace = "other";
    assert.throws(() => unsealSecret(moved, [current.key]), UnsealError);
    // Claiming a wider scope after the fact must not help either.
    const widened = clone(sealed);
    widened.metadata.annotations = { "sealedsecrets.bitnami.com/cluster-wide": "true" };
    assert.throws(() => unsealSecret(widened, [current.key]), UnsealError);
  });

  it("lets a namespace-wide secret be renamed but not moved", () => {
    const sealed = sealSecret({ certPem: current.cert, namespace: "infra", name: "a", scope: "namespace-wide", data: { k: "v" } });
    const renamed = clone(sealed);
    renamed.metadata.name = "b";
    assert.equal(unsealSecret(renamed, [current.key]).data.k!.toString(), "v");
    const moved = clone(sealed);
    moved.metadata.namespace = "other";
    assert.throws(() => unsealSecret(moved, [current.key]), UnsealError);
  });

  it("lets a cluster-wide secret go anywhere", () => {
    const sealed = sealSecret({ certPem: current.cert, namespace: "infra", name: "a", scope: "cluster-wide", data: { k: "v" } });
    const moved = clone(sealed);
    moved.metadata.name = "b";
    moved.metadata.namespace = "elsewhere";
    assert.equal(unsealSecret(moved, [current.key]).data.k!.toString(), "v");
  });

  it("fails with a clear error naming the SealedSecret and keys when no private key fits", () => {
    const sealed = sealSecret({ certPem: current.cert, namespace: "infra", name: "redis", data: { password: "x", user: "y" } });
    assert.throws(
      () => unsealSecret(sealed, [previous.key]),
      (err: unknown) => {
        assert.ok(err instanceof UnsealError);
        assert.match(err.message, /SealedSecret\/infra\/redis/);
        assert.match(err.message, /no key could decrypt secret/);
        assert.match(err.message, /"password", "user"/);
        assert.match(err.message, /tried 1 private key/);
        assert.deepEqual(err.failedKeys, ["password", "user"]);
        assert.equal(err.label, "infra/redis");
        return true;
      },
    );
  });

  it("opens a secret sealed with an older key when that key is second in the list (rotation)", () => {
    const sealed = sealSecret({ certPem: previous.cert, namespace: "infra", name: "old", data: { token: "t0k3n" } });
    const opened = unsealSecret(sealed, [createPrivateKey(current.key), createPrivateKey(previous.key)]);
    assert.equal(opened.data.token!.toString(), "t0k3n");
  });

  it("emits maps in sorted key order so the YAML is stable", () => {
    const make = (): KubeObject =>
      sealSecret({
        certPem: current.cert,
        namespace: "infra",
        name: "ordered",
        data: { zeta: "1", alpha: "2", mid: "3" },
        labels: { "z.example/b": "1", "a.example/a": "2" },
        annotations: { zz: "1", aa: "2" },
        scope: "namespace-wide",
      });
    const a = make();
    const b = make();
    assert.deepEqual(Object.keys(specOf(a).encryptedData), ["alpha", "mid", "zeta"]);
    assert.deepEqual(Object.keys(specOf(a).template.metadata.labels as object), ["a.example/a", "z.example/b"]);
    assert.deepEqual(Object.keys(specOf(a).template.metadata.annotations as object), ["aa", "sealedsecrets.bitnami.com/namespace-wide", "zz"]);
    // Same structure apart from the random ciphertext.
    const blank = (o: KubeObject): string => stringify({ ...o, spec: { ...specOf(o), encryptedData: Object.keys(specOf(o).encryptedData) } });
    assert.equal(blank(a), blank(b));
    assert.notEqual(specOf(a).encryptedData.alpha, specOf(b).encryptedData.alpha);
  });

  it("strips last-applied annotations and keeps type and labels in the template", () => {
    const sealed = sealSecret({
      certPem: current.cert,
      namespace: "infra",
      name: "tls",
      type: "kubernetes.io/tls",
      data: { "tls.crt": "c", "tls.key": "k" },
      labels: { app: "x" },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"tls.key":"k"}}', keep: "me" },
    });
    assert.deepEqual(specOf(sealed).template.metadata, {
      name: "tls",
      namespace: "infra",
      annotations: { keep: "me" },
      labels: { app: "x" },
    });
    assert.equal(specOf(sealed).template.type, "kubernetes.io/tls");
    assert.equal(sealed.metadata.annotations, undefined);
    assert.equal(unsealSecret(sealed, current.key).type, "kubernetes.io/tls");
  });

  it("rejects bad input with messages that say what to fix", () => {
    const base = { certPem: current.cert, namespace: "infra", name: "n", data: { k: "v" } };
    assert.throws(() => sealSecret({ ...base, namespace: "" }), /namespace is empty/);
    assert.doesNotThrow(() => sealSecret({ ...base, namespace: "", scope: "cluster-wide" }));
    assert.throws(() => sealSecret({ ...base, data: {} }), /data is empty.*allowEmptyData/);
    assert.throws(() => sealSecret({ ...base, data: { "bad key": "v" } }), /"bad key" is not a valid Secret key/);
    assert.throws(() => sealSecret({ ...base, certPem: current.key }), /no PEM CERTIFICATE block/);
    assert.throws(() => sealSecret({ ...base, now: new Date("2200-01-01T00:00:00Z") }), /expired on .*kubeseal --fetch-cert/);
  });

  it("reports malformed and truncated values per key", () => {
    const sealed = sealSecret({ certPem: current.cert, namespace: "infra", name: "n", data: { a: "1", b: "2", c: "3" } });
    const broken = clone(sealed);
    const enc = specOf(broken).encryptedData;
    enc.a = "not base64!";
    enc.b = Buffer.from([0x01, 0x00, 0x01]).toString("base64");
    const bytes = Buffer.from(enc.c!, "base64");
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    enc.c = bytes.toString("base64");
    assert.throws(
      () => unsealSecret(broken, [current.key]),
      (err: unknown) => {
        assert.ok(err instanceof UnsealError);
        assert.deepEqual(err.failedKeys, ["a", "b", "c"]);
        assert.match(err.message, /a: .*not valid standard base64/);
        assert.match(err.message, /b: SealedSecret data is too short/);
        return true;
      },
    );
  });

  it("refuses the deprecated whole-Secret spec.data format", () => {
    const sealed = sealSecret({ certPem: current.cert, namespace: "infra", name: "n", data: { k: "v" } });
    (sealed.spec as Record<string, unknown>).data = "AAAA";
    assert.throws(() => unsealSecret(sealed, [current.key]), /deprecated spec\.data/);
  });
});

describe("sealValue / unsealValue", () => {
  it("uses the documented layout: 2-byte length, RSA-OAEP(SHA-256, label) session key, AES-256-GCM body", () => {
    const plaintext = Buffer.from("hello sealed world");
    const label = scopeLabel("strict", "infra", "x");
    assert.equal(label, "infra/x");
    const raw = Buffer.from(sealValue(current.cert, label, plaintext), "base64");
    const rsaLen = raw.readUInt16BE(0);
    assert.equal(rsaLen, 256, "2048-bit RSA gives 256 bytes");
    assert.equal(raw.length, 2 + rsaLen + plaintext.length + 16, "GCM adds a 16-byte tag and no nonce");
    const sessionKey = privateDecrypt({ key: current.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: Buffer.from(label) }, raw.subarray(2, 2 + rsaLen));
    assert.equal(sessionKey.length, 32);
  });

  it("round-trips for every scope label, including the empty cluster-wide label", () => {
    for (const label of [scopeLabel("strict", "ns", "n"), scopeLabel("namespace-wide", "ns", "n"), scopeLabel("cluster-wide", "ns", "n")]) {
      const b64 = sealValue(current.cert, label, Buffer.from(`v-${label}`));
      assert.equal(unsealValue([current.key], label, b64).toString(), `v-${label}`);
      assert.throws(() => unsealValue([current.key], `${label}-other`, b64), /no key could decrypt secret/);
    }
    assert.equal(scopeLabel("namespace-wide", "ns", "n"), "ns");
    assert.equal(scopeLabel("cluster-wide", "ns", "n"), "");
  });

  it("tries each key in turn", () => {
    const b64 = sealValue(previous.cert, "ns", Buffer.from("rotated"));
    assert.equal(unsealValue([current.key, previous.key], "ns", b64).toString(), "rotated");
    assert.throws(() => unsealValue([current.key], "ns", b64), /no key could decrypt secret.*tried 1/);
  });
});

describe("keys", () => {
  it("reads the kubectl List backup of the controller keys", () => {
    const backup = parseKeyBackup(read("TEST-ONLY-key-backup.yaml"));
    assert.equal(backup.privateKeys.length, 2);
    assert.equal(backup.certificates.length, 2);
    assert.deepEqual(
      backup.keys.map((k) => k.source),
      ["Secret kube-system/sealed-secrets-key-test-only-current", "Secret kube-system/sealed-secrets-key-test-only-previous"],
    );
    const sealed = sealSecret({ certPem: backup.certificates[1]!, namespace: "a", name: "b", data: { k: "v" } });
    assert.equal(unsealSecret(sealed, backup.privateKeys).data.k!.toString(), "v");
  });

  it("reads a single Secret, JSON, and plain PEM", () => {
    const secret = keySecretManifest({ name: "sealed-secrets-keyabc", privateKeyPem: current.key, certPem: current.cert });
    const fromYaml = parseKeyBackup(stringify(secret));
    assert.equal(fromYaml.privateKeys.length, 1);
    assert.equal(fromYaml.certificates[0], current.cert);
    assert.equal(parseKeyBackup(JSON.stringify({ apiVersion: "v1", kind: "List", items: [secret] })).privateKeys.length, 1);
    const pem = parseKeyBackup(current.key);
    assert.equal(pem.privateKeys.length, 1);
    assert.equal(pem.certificates.length, 0);
    const sealed = sealSecret({ certPem: current.cert, namespace: "a", name: "b", data: { k: "v" } });
    assert.equal(unsealSecret(sealed, pem.privateKeys).data.k!.toString(), "v");
  });

  it("explains what is wrong with a bad backup", () => {
    assert.throws(() => parseKeyBackup(stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "kube-system" }, data: {} })), /Secret kube-system\/s: has no data\["tls.key"\]/);
    assert.throws(() => parseKeyBackup(stringify({ apiVersion: "v1", kind: "ConfigMap" })), /got kind ConfigMap/);
    assert.throws(() => parseKeyBackup(stringify({ apiVersion: "v1", kind: "List", items: [] })), /holds no key Secrets/);
    assert.throws(() => parseKeyBackup(current.cert), /no PRIVATE KEY block/);
  });

  it("describes a certificate", () => {
    const info = certificateInfo(current.cert);
    assert.ok(info.notAfter.getTime() > Date.now(), "TEST certificate expired: run test/fixtures/sealed-secrets/regenerate.ts");
    assert.ok(info.notBefore.getTime() < info.notAfter.getTime());
    assert.match(info.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.match(info.subject, /CN=sealed-secret/);
    assert.match(info.publicKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(info.publicKeyFingerprint, publicKeyFingerprint(createPublicKey(current.key)));
    assert.notEqual(info.publicKeyFingerprint, certificateInfo(previous.cert).publicKeyFingerprint);
  });
});
