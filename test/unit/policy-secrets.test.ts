import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { isCredentialKey, scanForCredentials } from "../../src/policy/credential-scan.js";
import { C0, check, configMap, deploymentWith, findings, helmRelease, type Obj } from "./policy-fixtures.js";

// Token-shaped values are assembled at run time so the repository never contains one a push-protection scanner flags.
const b64url = (s: string): string => Buffer.from(s).toString("base64url");
const TOKENS: Record<string, string> = {
  "a private key": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
  "an OpenSSH private key": "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
  "an AWS access key id": "AK" + "IA" + "Z7Q2M4X9K3B8N5P1",
  "a GitHub token": "gh" + "p_" + "a1B2".repeat(9),
  "a GitHub fine-grained token": "github" + "_pat_" + "11ABCDEFG0" + "aB3_".repeat(15),
  "a Slack token": "xo" + "xb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx",
  "a Slack webhook URL": "https://hooks.slack.com/services/" + "T0000AAAA/B0000BBBB/" + "abcdEFGHijklMNOPqrstUVWX",
  "a Discord bot token": b64url("123456789012345678") + ".GaBcDe." + "Xy9_".repeat(7) + "abc",
  "an Anthropic API key": "sk-" + "ant-api03-" + "Ab1".repeat(30),
  "an OpenAI API key": "sk-" + "proj-" + "Xy9".repeat(20),
  "a JSON Web Token": `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url('{"sub":"1234567890","name":"ffl"}')}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`,
  "a URL with an embedded password": "postgres://ffl:" + "s3cr3tpass" + "@postgres.infra:5432/ffl",
};

const credentialFields = (obj: KubeObject): Array<string | undefined> =>
  check(obj)
    .filter(([r]) => r === "secrets/credential-literal")
    .map(([, f]) => f);

describe("secrets/plaintext-secret", () => {
  it("a Secret is reported once, whatever its fields hold", () => {
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "x", namespace: "ffl" }, stringData: { password: "hunter2", token: TOKENS["a GitHub token"] } };
    const got = findings(secret as KubeObject);
    assert.deepEqual(
      got.map((f) => f.rule),
      ["secrets/plaintext-secret"],
    );
    assert.match(got[0]!.fix, /bk secrets seal/);
  });
});

describe("secrets/credential-literal: token shapes anywhere in a string", () => {
  for (const [kind, token] of Object.entries(TOKENS)) {
    it(`finds ${kind}`, () => {
      assert.deepEqual(credentialFields(configMap({ "settings.txt": `first line\nvalue ${token} here\n` })), ['data["settings.txt"]']);
    });
  }

  const lookAlikes: Record<string, string> = {
    "a certificate": "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----",
    "a kebab-case name after sk-": "sk-" + "this-is-a-very-long-kebab-case-service-name-for-tests",
    "a word ending in sk- followed by text": "task-" + "Runner9Runner9Runner9Runner9Runner9Runner9",
    "dotted base64 that is no JWT": "eyJxxxxxxxxxxxxxxx.eyJyyyyyyyyyyyyyy.zzzzzzzzzzzzzzzzzz",
    "a dotted identifier in the Discord shape that is no user id": "MyServiceConfigurationVal.abcdef.ghijklmnopqrstuvwxyzABCDEFGH",
    "a URL with a user but no password": "https://ffl@github.com/beckerkube/ffl.git",
    "a URL whose password is a variable": "postgres://ffl:${DB_PASSWORD}@postgres.infra:5432/ffl",
    "an AWS-like string inside a longer word": "XAK" + "IAZ7Q2M4X9K3B8N5P1X",
  };
  for (const [what, value] of Object.entries(lookAlikes)) {
    it(`does not flag ${what}`, () => {
      assert.deepEqual(credentialFields(configMap({ note: value })), []);
    });
  }
});

describe("secrets/credential-literal: credential keys", () => {
  it("recognises credential keys and leaves names of secrets alone", () => {
    for (const k of ["password", "DB_PASSWORD", "adminPassword", "passwd", "clientSecret", "apiKey", "api-key", "API_KEY", "x-api-key", "authToken", "secret"]) {
      assert.equal(isCredentialKey(k), true, k);
    }
    for (const k of ["existingSecret", "secretName", "passwordSecret", "tokenSecretRef", "passwordFile", "secretKeyRef", "valuesKey", "automountServiceAccountToken2"]) {
      assert.equal(isCredentialKey(k), false, k);
    }
  });

  const flagged: Record<string, string> = { password: "hunter2", apiKey: "abc123def456", clientSecret: "Zx8Qp2Lm4Nv6Bc1D", DISCORD_TOKEN: "changeme" };
  for (const [key, value] of Object.entries(flagged)) {
    it(`flags ${key} with a literal value`, () => {
      assert.deepEqual(credentialFields(configMap({ [key]: value })), [`data.${key}`]);
    });
  }

  const fine: Array<[string, string, string]> = [
    ["password as ${VAR}", "password", "${DB_PASSWORD}"],
    ["password as $(VAR)", "password", "$(DB_PASSWORD)"],
    ["password as a template", "password", "{{ .Values.db.password }}"],
    ["an empty password", "password", ""],
    ["a boolean-looking token", "token", "false"],
    ["token as a file path", "token", "/var/run/secrets/tokens/vault"],
    ["token as prose", "token", "rotated every 90 days by the operator"],
    ["secret naming a Secret", "secret", "ffl-backend-tls"],
    ["secret naming a short Secret", "imagePullSecret", "regcred"],
    ["the name of an existing Secret", "existingSecret", "pg-ffl"],
    ["a checksum/secret annotation (a hash that rolls pods)", "checksum/secret", "3f2a9c0d5e7b1a4c6d8e0f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c"],
    ["a <namespace>/<name> Secret reference (cert-manager's CA injection)", "cert-manager.io/inject-ca-from-secret", "cert-manager/cert-manager-webhook-ca"],
  ];
  it("still flags a random value with a slash under a secret key", () => {
    assert.deepEqual(credentialFields(configMap({ clientSecret: "Zq8/Xw2+Lm4Pq9Rt" })), ["data.clientSecret"]);
  });
  for (const [what, key, value] of fine) {
    it(`does not flag ${what}`, () => {
      assert.deepEqual(credentialFields(configMap({ [key]: value })), []);
    });
  }

  it("reads env entries as NAME=value and ignores secretKeyRef", () => {
    assert.deepEqual(credentialFields(deploymentWith(() => undefined)), []);
    const obj = deploymentWith((_, c) => c.env.push({ name: "DB_PASSWORD", value: "hunter2" }));
    assert.deepEqual(credentialFields(obj), [`${C0}.env[2].value`]);
  });

  it("finds --password=... in args, but not --password-file=...", () => {
    assert.deepEqual(credentialFields(deploymentWith((_, c) => (c.args = ["--listen=:8080", "--db-password=hunter2"]))), [`${C0}.args[1]`]);
    assert.deepEqual(credentialFields(deploymentWith((_, c) => (c.args = ["--db-password-file=/etc/ffl/pw"]))), []);
  });

  it("finds key=value and key: value lines in embedded config files, with the line", () => {
    const props = configMap({ "application.properties": "spring.datasource.url=jdbc:postgresql://db/ffl\nspring.datasource.password=hunter2\n" });
    const [f] = findings(props);
    assert.equal(f!.field, 'data["application.properties"]');
    assert.match(f!.message, /line 2 of the value/);
    const yaml = configMap({ "config.yaml": "# password: example\ndb:\n  password: ${DB_PASSWORD}\n  auth:\n    token:\n      file: /run/token\n" });
    assert.deepEqual(credentialFields(yaml), []);
    const json = configMap({ "config.json": '{\n  "apiKey": "abc123def456",\n  "region": "eu"\n}' });
    assert.deepEqual(credentialFields(json), ['data["config.json"]']);
  });

  it("finds credential keys spelled with separators in embedded text, which the quick pre-check must not skip", () => {
    for (const [key, line] of [
      ["DB_PASS_WORD", 1],
      ["api-key", 2],
      ["Tok.En", 2],
      ["x.passwd", 1],
      ["client_SECRET", 2],
    ] as const) {
      const text = line === 1 ? `${key}=Zx9vQ2mL7pR4\nother=1\n` : `other: 1\n${key}: Zx9vQ2mL7pR4\n`;
      const [f] = findings(configMap({ "app.conf": text }));
      assert.ok(f, key);
      assert.match(f.message, new RegExp(`line ${line} of the value`), key);
    }
    assert.deepEqual(credentialFields(deploymentWith((_, c) => (c.args = ["--api_key=Zx9vQ2mL7pR4"]))), [`${C0}.args[0]`]);
    // A large text with no credential word in it (dashboards, scrape configs) yields nothing.
    assert.deepEqual(credentialFields(configMap({ "d.json": '{\n  "expr": "sum(rate(x[5m]))",\n  "legend": "{{pod}}"\n}\n'.repeat(5000) })), []);
  });

  it("scans HelmRelease values, not the valuesFrom references", () => {
    assert.deepEqual(credentialFields(helmRelease({ postgresql: { auth: { password: "hunter2", existingSecret: "pg-ffl" } } })), ["spec.values.postgresql.auth.password"]);
    assert.deepEqual(credentialFields(helmRelease({ postgresql: { auth: { existingSecret: "pg-ffl" } } })), []);
  });

  it("scans Flux postBuild substitutions", () => {
    const ks: Obj = {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "apps", namespace: "flux-system" },
      spec: { postBuild: { substitute: { DB_PASSWORD: "hunter2", CLUSTER: "beckerbox" } } },
    };
    assert.deepEqual(credentialFields(ks), ["spec.postBuild.substitute.DB_PASSWORD"]);
  });

  it("skips SealedSecret ciphertext but not the rest of a SealedSecret", () => {
    const sealed = (annotations: Record<string, string>): Obj => ({
      apiVersion: "bitnami.com/v1alpha1",
      kind: "SealedSecret",
      metadata: { name: "pg-ffl", namespace: "ffl" },
      spec: { encryptedData: { password: "AgBy3i4OJSWK", token: TOKENS["a JSON Web Token"] }, template: { metadata: { annotations } } },
    });
    assert.deepEqual(credentialFields(sealed({})), []);
    assert.deepEqual(credentialFields(sealed({ password: "hunter2" })), ["spec.template.metadata.annotations.password"]);
  });

  it("never repeats the value in the finding", () => {
    const token = TOKENS["a GitHub token"]!;
    const [f] = findings(configMap({ token }));
    assert.equal(f!.rule, "secrets/credential-literal");
    assert.ok(!f!.message.includes(token) && !f!.fix.includes(token));
    assert.match(f!.message, /a GitHub token/);
  });

  it("reports one finding per string, naming every kind it matched", () => {
    const hits = scanForCredentials({ a: `${TOKENS["a GitHub token"]} ${TOKENS["an AWS access key id"]}` });
    assert.equal(hits.length, 1);
    assert.equal(hits[0]!.kind, "an AWS access key id and a GitHub token");
  });
});
