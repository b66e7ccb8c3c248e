/**
 * Byte compatibility with the real kubeseal: what we seal, kubeseal's recovery mode opens; what kubeseal seals,
 * we open. kubeseal runs offline throughout (--cert / --recovery-private-key), with HOME pointed at a temp dir
 * so no kubeconfig is read. Plaintext Secrets exist only inside that temp dir.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import type { KubeObject } from "../../src/core/object.js";
import { toolPath } from "../../src/adapters/tools.js";
import { parseKeyBackup } from "../../src/sealing/keys.js";
import { generateTestKeyPair } from "../helpers/sealing-keys.js";
import { scopeLabel, type SealingScope } from "../../src/sealing/scope.js";
import { sealSecret, unsealSecret, unsealValue } from "../../src/sealing/sealing.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "sealed-secrets");
const fixture = (f: string): string => join(fixtures, f);
const currentKey = readFileSync(fixture("TEST-ONLY-current-key.pem"), "utf8");
const currentCert = readFileSync(fixture("TEST-ONLY-current-cert.pem"), "utf8");
const previousCert = readFileSync(fixture("TEST-ONLY-previous-cert.pem"), "utf8");

/** BK_KUBESEAL overrides the pinned build; a missing binary fails the test with toolPath's "how to build it" message. */
function kubesealPath(): string {
  const fromEnv = process.env.BK_KUBESEAL;
  if (fromEnv) {
    assert.ok(existsSync(fromEnv) && statSync(fromEnv).isFile(), `BK_KUBESEAL=${fromEnv} is not a file`);
    return fromEnv;
  }
  return toolPath("kubeseal");
}

let work = "";
before(() => {
  work = mkdtempSync(join(tmpdir(), "bk-kubeseal-test-"));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function kubeseal(args: string[], stdin = ""): string {
  const res = spawnSync(kubesealPath(), args, {
    input: stdin,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work },
    timeout: 60_000,
  });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`kubeseal ${args.join(" ")} exited ${res.status}: ${res.stderr.trim()}`);
  return res.stdout;
}

function writeTemp(name: string, text: string): string {
  const p = join(work, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

function secretData(secretYaml: string): Record<string, Buffer> {
  const secret = parse(secretYaml) as { kind: string; data?: Record<string, string | null> };
  assert.equal(secret.kind, "Secret");
  // kubeseal prints an empty value as null (Go's nil byte slice).
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v ?? "", "base64")]));
}

const binary = Buffer.from([0, 255, 1, 254, 10, 13, 0x80]);

describe("kubeseal opens what sealSecret produces", () => {
  for (const scope of ["strict", "namespace-wide", "cluster-wide"] as SealingScope[]) {
    it(`${scope}: kubeseal --recovery-unseal gives back the same values`, () => {
      const sealed = sealSecret({
        certPem: currentCert,
        namespace: "infra",
        name: "app-secret",
        scope,
        type: "Opaque",
        labels: { "app.kubernetes.io/name": "app" },
        data: { password: "pa$$wörd", blob: binary, empty: "" },
      });
      const out = kubeseal(["--recovery-unseal", "--recovery-private-key", fixture("TEST-ONLY-current-key.pem"), "-o", "yaml"], stringify(sealed));
      const secret = parse(out) as KubeObject & { type?: string };
      assert.equal(secret.metadata.name, "app-secret");
      assert.equal(secret.metadata.namespace, "infra");
      assert.equal(secret.type, "Opaque");
      assert.deepEqual(secret.metadata.labels, { "app.kubernetes.io/name": "app" });
      const data = secretData(out);
      assert.equal(data.password?.toString("utf8"), "pa$$wörd");
      assert.deepEqual(data.blob, binary);
      assert.ok(data.empty, "empty value kept as a key");
      assert.equal(data.empty.length, 0);
    });
  }

  it("kubeseal refuses a strict secret of ours under another name (same label rule)", () => {
    const sealed = sealSecret({ certPem: currentCert, namespace: "infra", name: "a", data: { k: "v" } });
    sealed.metadata.name = "b";
    assert.throws(() => kubeseal(["--recovery-unseal", "--recovery-private-key", fixture("TEST-ONLY-current-key.pem"), "-o", "yaml"], stringify(sealed)), /no key could decrypt secret/);
  });

  it("kubeseal reads our TEST key backup List and uses the rotated-out key", () => {
    const sealed = sealSecret({ certPem: previousCert, namespace: "infra", name: "old", data: { token: "t0k3n" } });
    const out = kubeseal(["--recovery-unseal", "--recovery-private-key", fixture("TEST-ONLY-key-backup.yaml"), "-o", "yaml"], stringify(sealed));
    assert.equal(secretData(out).token?.toString(), "t0k3n");
  });
});

describe("unsealSecret opens what kubeseal produces", () => {
  const certPath = (): string => writeTemp("cert.pem", currentCert);

  it("kubeseal --cert --scope strict of a v1 Secret", () => {
    const plain = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "infra", labels: { tier: "data" } },
      type: "Opaque",
      data: { password: Buffer.from("hunter2").toString("base64"), blob: binary.toString("base64") },
      stringData: { url: "postgres://db:5432/app" },
    };
    const secretFile = writeTemp("secret.yaml", stringify(plain));
    const sealed = parse(kubeseal(["--cert", certPath(), "--scope", "strict", "-o", "yaml", "-f", secretFile])) as KubeObject;
    assert.equal(sealed.kind, "SealedSecret");
    assert.equal(sealed.apiVersion, "bitnami.com/v1alpha1");
    const opened = unsealSecret(sealed, [currentKey]);
    assert.equal(opened.data.password?.toString(), "hunter2");
    assert.deepEqual(opened.data.blob, binary);
    assert.equal(opened.data.url?.toString(), "postgres://db:5432/app");
    assert.equal(opened.type, "Opaque");

    // Our output must carry the same structure kubeseal emits (apart from random ciphertext and null timestamps).
    const ours = sealSecret({
      certPem: currentCert,
      namespace: "infra",
      name: "db",
      labels: { tier: "data" },
      data: { password: "hunter2", blob: binary, url: "postgres://db:5432/app" },
    });
    const shape = (o: KubeObject): unknown => {
      const spec = o.spec as { encryptedData: Record<string, string>; template: { metadata: Record<string, unknown> } };
      const { creationTimestamp: _a, ...meta } = o.metadata as Record<string, unknown>;
      const { creationTimestamp: _b, ...tmeta } = spec.template.metadata;
      return { ...o, metadata: meta, spec: { ...spec, encryptedData: Object.keys(spec.encryptedData).sort(), template: { ...spec.template, metadata: tmeta } } };
    };
    assert.deepEqual(shape(ours), shape(sealed));
  });

  for (const scope of ["namespace-wide", "cluster-wide"] as SealingScope[]) {
    it(`kubeseal --cert --scope ${scope}: same annotations as ours, and unsealSecret honours the scope`, () => {
      const plain = { apiVersion: "v1", kind: "Secret", metadata: { name: "wide", namespace: "infra" }, stringData: { k: "v" } };
      const sealed = parse(kubeseal(["--cert", certPath(), "--scope", scope, "-o", "yaml"], stringify(plain))) as KubeObject;
      const ours = sealSecret({ certPem: currentCert, namespace: "infra", name: "wide", scope, data: { k: "v" } });
      assert.deepEqual(sealed.metadata.annotations, ours.metadata.annotations);
      sealed.metadata.name = "renamed";
      assert.equal(unsealSecret(sealed, [currentKey]).data.k?.toString(), "v");
    });
  }

  it("kubeseal --raw --scope namespace-wide --namespace x --from-file", () => {
    const file = writeTemp("raw-value", "raw secret value\n");
    const out = kubeseal(["--cert", certPath(), "--raw", "--scope", "namespace-wide", "--namespace", "x", `--from-file=${file}`]);
    const b64 = out.trim();
    assert.equal(unsealValue([currentKey], scopeLabel("namespace-wide", "x", "anything"), b64).toString(), "raw secret value\n");
    assert.throws(() => unsealValue([currentKey], scopeLabel("namespace-wide", "y", "anything"), b64), /no key could decrypt secret/);
  });

  it("kubeseal --raw strict and cluster-wide labels match ours", () => {
    const file = writeTemp("raw-value-2", "v2");
    const strict = kubeseal(["--cert", certPath(), "--raw", "--scope", "strict", "--namespace", "x", "--name", "n", `--from-file=${file}`]).trim();
    assert.equal(unsealValue([currentKey], scopeLabel("strict", "x", "n"), strict).toString(), "v2");
    const cluster = kubeseal(["--cert", certPath(), "--raw", "--scope", "cluster-wide", `--from-file=${file}`]).trim();
    assert.equal(unsealValue([currentKey], scopeLabel("cluster-wide", "", ""), cluster).toString(), "v2");
  });
});

describe("generateTestKeyPair", () => {
  it("produces a pair kubeseal accepts for sealing and recovery", () => {
    const pair = generateTestKeyPair({ bits: 2048 });
    const certFile = writeTemp("gen-cert.pem", pair.certPem);
    const keyFile = writeTemp("gen-key.pem", pair.privateKeyPem);
    const plain = { apiVersion: "v1", kind: "Secret", metadata: { name: "g", namespace: "infra" }, stringData: { k: "gen" } };
    const sealed = parse(kubeseal(["--cert", certFile, "-o", "yaml"], stringify(plain))) as KubeObject;
    assert.equal(unsealSecret(sealed, parseKeyBackup(pair.privateKeyPem).privateKeys).data.k?.toString(), "gen");
    const ours = sealSecret({ certPem: pair.certPem, namespace: "infra", name: "g", data: { k: "ours" } });
    const out = kubeseal(["--recovery-unseal", "--recovery-private-key", keyFile, "-o", "yaml"], stringify(ours));
    assert.equal(secretData(out).k?.toString(), "ours");
  });
});
