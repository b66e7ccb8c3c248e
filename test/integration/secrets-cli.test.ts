/**
 * `bk secrets` end to end on a copy of the real definition, with the repository's TEST keys: values into a
 * store outside the repository, every declared secret sealed into the tree, the tree still valid, the
 * SealedSecrets opened offline (by us and by the real kubeseal), re-sealed for another key with values
 * recovered from the old one, and key backups read from a (fake) API.
 * The command functions are called directly until they are wired into src/cli/main.ts.
 */
import { scratchDirs } from "../helpers/scratch.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { secretsBackupCommand, secretsListCommand, secretsResealCommand, secretsSealCommand, secretsSetCommand, secretsVerifyCommand, type SecretsDeps } from "../../src/cli/commands/secrets.js";
import type { KubeObject } from "../../src/core/object.js";
import { loadDefinition } from "../../src/model/load.js";
import type { DeclaredSecret, Model } from "../../src/model/model.js";
import type { KeySecret } from "../../src/adapters/sealed-secrets-cluster.js";
import { SecretValueStore } from "../../src/workflows/secrets/value-store.js";
import { toolPath } from "../../src/adapters/tools.js";
import { generate } from "../../src/pipeline.js";
import { keySecretManifest, parseKeyBackup } from "../../src/sealing/keys.js";
import { generateTestKeyPair } from "../helpers/sealing-keys.js";
import { unsealSecret } from "../../src/sealing/sealing.js";
import { sealedSecretFile } from "../../src/synth/secrets.js";
import { diffTrees, isClean } from "../../src/tree/diff.js";
import { readTree } from "../../src/tree/files.js";
import { GENERATED_FILES, OWNED_DIRS } from "../../src/tree/tree.js";
import { runBk } from "../helpers/cli.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures/sealed-secrets");
const fx = (f: string) => path.join(FIXTURES, f);
const CURRENT = { cert: fx("TEST-ONLY-current-cert.pem"), key: fx("TEST-ONLY-current-key.pem") };
const PREVIOUS = { cert: fx("TEST-ONLY-previous-cert.pem"), key: fx("TEST-ONLY-previous-key.pem") };

const { tmp, adopt } = scratchDirs();

/** Command output captured instead of printed, plus an environment without the operator's settings. */
function io(extra: Partial<SecretsDeps> = {}): SecretsDeps & { out: () => string; err: () => string; json: () => unknown } {
  let out = "";
  let err = "";
  return {
    env: { HOME: tmp("bk-home-") },
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    ...extra,
    out: () => out,
    err: () => err,
    json: () => JSON.parse(out),
  };
}

const refOf = (s: Pick<DeclaredSecret, "namespace" | "name">) => `${s.namespace}/${s.name}`;
const operatorValue = (ref: string, key: string) => `op:${ref}:${key}`;

function sealedFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!existsSync(abs)) return;
    for (const n of readdirSync(abs)) {
      const r = path.posix.join(rel, n);
      if (statSync(path.join(root, r)).isDirectory()) walk(r);
      else if (n.endsWith(".sealed.yaml")) out.push(r);
    }
  };
  for (const d of OWNED_DIRS) walk(d);
  return out.sort();
}

function sealedObject(root: string, file: string): KubeObject {
  const docs = parseAllDocuments(readFileSync(path.join(root, file), "utf8"))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((x): x is KubeObject => x !== null);
  assert.equal(docs.length, 1, `${file} holds one SealedSecret`);
  return docs[0]!;
}

function opened(root: string, model: Model, s: DeclaredSecret, keyFile: string): Record<string, string> {
  const data = unsealSecret(sealedObject(root, sealedSecretFile(model, s)), [readFileSync(keyFile, "utf8")]).data;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString("utf8")]));
}

function treeSnapshot(root: string): Map<string, string> {
  return readTree(root, OWNED_DIRS, GENERATED_FILES);
}

async function setAllOperatorValues(root: string, model: Model, values: string): Promise<number[]> {
  const codes: number[] = [];
  for (const s of model.secrets) {
    for (const [k, src] of Object.entries(s.keys)) {
      if (src.from === "operator") codes.push(await secretsSetCommand(root, refOf(s), k, { values, value: operatorValue(refOf(s), k) }, io()));
    }
  }
  return codes;
}

describe("bk secrets on a copy of the real definition", () => {
  let root = "";
  let model: Model;
  let values = "";
  let valuesDir = "";

  before(() => {
    root = tempDefinition();
    adopt(root);
    model = loadDefinition(root).model;
    valuesDir = path.join(tmp("bk-values-"), "beckerkube", model.cluster.name);
    values = path.join(valuesDir, "secret-values.yaml");
    const r = runBk(["--root", root, "synth"]);
    assert.equal(r.status, 0, r.stderr);
  });

  it("the definition declares secrets of every source, so the flow below covers them all", () => {
    const sources = new Set(model.secrets.flatMap((s) => Object.values(s.keys).map((k) => k.from)));
    assert.deepEqual([...sources].sort(), ["generate", "literal", "operator", "same-as"]);
  });

  it("seal --all without the operator's values fails, lists every `bk secrets set` to run, and writes nothing", async () => {
    const before = treeSnapshot(root);
    const c = io();
    const code = await secretsSealCommand(root, [], { all: true, values, cert: CURRENT.cert, allowTestKey: true }, c);
    assert.equal(code, 1, c.err());
    for (const s of model.secrets) {
      for (const [k, src] of Object.entries(s.keys)) {
        if (src.from === "operator") assert.ok(c.err().includes(`bk secrets set ${refOf(s)} ${k} --from-file <file>`), `missing the set command for ${refOf(s)} ${k}:\n${c.err()}`);
      }
    }
    assert.match(c.err(), /nothing was written/);
    assert.deepEqual(sealedFiles(root), []);
    assert.equal(existsSync(values), false, "generated values are not saved when sealing fails");
    assert.ok(isClean(diffTrees(before, treeSnapshot(root))));
  });

  it("set refuses what it cannot set, precisely", async () => {
    const cases: Array<[string, string, Parameters<typeof secretsSetCommand>[3], RegExp]> = [
      ["ffl/nope", "k", { value: "v" }, /ffl\/nope is not a declared secret; did you mean ffl\/ffl-backend, ffl\/ffl-db, ffl\/restic-ffl-redis\?/],
      ["ffl-backend", "k", { value: "v" }, /name a secret as <namespace>\/<name>/],
      ["ffl/ffl-backend", "nope", { value: "v" }, /ffl\/ffl-backend declares no key "nope"; its keys: secret-key/],
      ["ffl/ffl-db", "username", { value: "v" }, /is a literal in the definition/],
      ["ffl/ffl-db", "password", { value: "v" }, /takes its value from infra\/pg-ffl key password \(same-as\); set that one instead: bk secrets set infra\/pg-ffl password/],
      ["ffl/ffl-backend", "secret-key", { value: "v", generate: true }, /exactly one of --value/],
      ["ffl/ffl-backend", "secret-key", { value: "" }, /is empty/],
      ["ffl/ffl-backend", "secret-key", { generate: true, length: "8" }, /--length 8: give a whole number of random bytes from 16/],
      ["ffl/ffl-backend", "secret-key", { value: "v", length: "32" }, /--length only goes with --generate/],
    ];
    for (const [ref, key, opts, re] of cases) {
      const c = io();
      assert.equal(await secretsSetCommand(root, ref, key, { values, ...opts }, c), 2, `${ref} ${key}`);
      assert.match(c.err(), re);
    }
    assert.equal(existsSync(values), false);
  });

  it("set stores operator values from --value, --from-file and standard input, never printing them", async () => {
    const codes = await setAllOperatorValues(root, model, values);
    assert.ok(codes.every((c) => c === 0));
    const file = path.join(tmp("bk-in-"), "credentials.json");
    writeFileSync(file, '{"client":"x"}\n');
    const c = io();
    assert.equal(await secretsSetCommand(root, "ccbot/ccbot-oauth", "credentials.json", { values, fromFile: file }, c), 0, c.err());
    assert.doesNotMatch(c.out(), /client/);
    assert.match(c.out(), /replaced the previous value/);
    const s = io({ stdin: () => Buffer.from("from-stdin") });
    assert.equal(await secretsSetCommand(root, "triager/triager-github", "token", { values, fromFile: "-" }, s), 0, s.err());
    const store = SecretValueStore.load(values, model.cluster.name);
    assert.equal(store.get("ccbot/ccbot-oauth", "credentials.json"), '{"client":"x"}\n', "kept byte for byte, trailing newline included");
    assert.equal(store.get("triager/triager-github", "token"), "from-stdin");
    // Back to the pattern the later checks expect.
    await secretsSetCommand(root, "ccbot/ccbot-oauth", "credentials.json", { values, value: operatorValue("ccbot/ccbot-oauth", "credentials.json") }, io());
    await secretsSetCommand(root, "triager/triager-github", "token", { values, value: operatorValue("triager/triager-github", "token") }, io());
    assert.equal(statSync(values).mode & 0o777, 0o600);
    assert.equal(statSync(valuesDir).mode & 0o777, 0o700);
  });

  it("seal --dry-run lists the files it would write and writes nothing", async () => {
    const before = readFileSync(values, "utf8");
    const c = io();
    assert.equal(await secretsSealCommand(root, [], { all: true, values, cert: CURRENT.cert, allowTestKey: true, dryRun: true }, c), 0, c.err());
    for (const s of model.secrets) assert.ok(c.out().includes(`+ ${sealedSecretFile(model, s)}`), `dry run names ${sealedSecretFile(model, s)}`);
    assert.match(c.out(), /nothing was written/);
    assert.deepEqual(sealedFiles(root), []);
    assert.equal(readFileSync(values, "utf8"), before, "generated values are not saved in a dry run");
  });

  it("seal --all writes every declared secret's SealedSecret where synthesis expects it and lists it in the kustomization", async () => {
    const c = io();
    const code = await secretsSealCommand(root, [], { all: true, values, cert: CURRENT.cert, allowTestKey: true, json: true }, c);
    assert.equal(code, 0, c.err());
    const report = c.json() as { ok: boolean; certificate: { testKey: string } };
    assert.equal(report.ok, true);
    assert.equal(report.certificate.testKey, "test/fixtures/sealed-secrets/TEST-ONLY-current-cert.pem");
    assert.match(c.err(), /WARNING: sealing with a TEST key/);
    const expected = model.secrets.map((s) => sealedSecretFile(model, s)).sort();
    assert.deepEqual(sealedFiles(root), expected);
    for (const s of model.secrets) {
      const file = sealedSecretFile(model, s);
      const obj = sealedObject(root, file);
      assert.equal(obj.kind, "SealedSecret");
      assert.equal(obj.metadata.namespace, s.namespace);
      assert.equal(obj.metadata.name, s.name);
      const spec = obj.spec as { encryptedData: Record<string, string>; template: { type: string } };
      assert.deepEqual(Object.keys(spec.encryptedData).sort(), Object.keys(s.keys).sort());
      assert.equal(spec.template.type, s.type ?? "Opaque");
      assert.equal(obj.metadata.annotations, undefined, "strict scope: no scope annotation");
      const kustomization = parse(readFileSync(path.join(root, path.posix.dirname(file), "kustomization.yaml"), "utf8")) as { resources: string[] };
      assert.ok(kustomization.resources.includes(path.posix.basename(file)), `${file} is listed in its kustomization`);
    }
  });

  it("generated values are in the store and are what was sealed; same-as copies hold the same value", () => {
    const store = SecretValueStore.load(values, model.cluster.name);
    let sameAs = 0;
    for (const s of model.secrets) {
      const data = opened(root, model, s, CURRENT.key);
      for (const [k, src] of Object.entries(s.keys)) {
        if (src.from === "literal") assert.equal(data[k], src.value);
        if (src.from === "operator") assert.equal(data[k], operatorValue(refOf(s), k));
        if (src.from === "generate") {
          assert.match(store.get(refOf(s), k) ?? "", /^[A-Za-z0-9_-]{43}$/, `${refOf(s)} ${k} generated and stored`);
          assert.equal(data[k], store.get(refOf(s), k));
        }
        if (src.from === "same-as") {
          const origin = model.secrets.find((x) => x.namespace === src.namespace && x.name === src.name)!;
          assert.equal(data[k], opened(root, model, origin, CURRENT.key)[src.key], `${refOf(s)} ${k} equals ${src.namespace}/${src.name} ${src.key}`);
          assert.ok(data[k]);
          sameAs++;
        }
      }
    }
    assert.ok(sameAs >= 2, "the definition has same-as keys to check");
  });

  it("the tree stays what `bk synth` makes, and `bk validate` has nothing to say about secrets or references", () => {
    assert.ok(isClean(diffTrees(treeSnapshot(root), generate(root).tree.files)), "seal wrote the tree synth would write");
    const r = runBk(["--root", root, "validate", "--no-render", "--json"]);
    const result = JSON.parse(r.stdout) as { findings: Array<{ rule: string; message: string }>; checks: string[] };
    assert.ok(result.checks.includes("kustomize"));
    const relevant = result.findings.filter((f) => /^(secrets|refs|kustomize)\//.test(f.rule));
    assert.deepEqual(relevant, []);
    assert.ok(!result.findings.some((f) => f.rule === "secrets/not-sealed"));
  });

  it("the real kubeseal opens a SealedSecret written by `bk secrets seal` (--recovery-unseal)", () => {
    const s = model.secrets.find((x) => x.namespace === "infra" && x.name.startsWith("pg-"))!;
    const file = path.join(root, sealedSecretFile(model, s));
    const r = spawnSync(toolPath("kubeseal"), ["--recovery-unseal", "--recovery-private-key", CURRENT.key, "-o", "yaml", "-f", file], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp("bk-kubeseal-home-") },
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const secret = parse(r.stdout) as { kind: string; type: string; metadata: { name: string; namespace: string }; data: Record<string, string> };
    assert.equal(secret.kind, "Secret");
    assert.equal(secret.type, "kubernetes.io/basic-auth");
    assert.deepEqual([secret.metadata.namespace, secret.metadata.name], [s.namespace, s.name]);
    const store = SecretValueStore.load(values, model.cluster.name);
    assert.equal(Buffer.from(secret.data.password!, "base64").toString(), store.get(refOf(s), "password"));
  });

  it("verify opens every SealedSecret with the right key, and names every one the wrong key cannot open", async () => {
    const ok = io();
    assert.equal(await secretsVerifyCommand(root, { keyBackup: CURRENT.key }, ok), 0, ok.out() + ok.err());
    assert.match(ok.out(), new RegExp(`ok: ${model.secrets.length} secrets checked`));

    const bad = io();
    assert.equal(await secretsVerifyCommand(root, { keyBackup: PREVIOUS.key, json: true }, bad), 1);
    const report = bad.json() as { ok: boolean; secrets: Array<{ secret: string; opens: boolean; error: string }> };
    assert.equal(report.ok, false);
    assert.deepEqual(report.secrets.map((e) => e.secret).sort(), model.secrets.map(refOf).sort());
    for (const e of report.secrets) {
      assert.equal(e.opens, false, e.secret);
      assert.match(e.error, /no key could decrypt secret/);
    }
    const human = io();
    assert.equal(await secretsVerifyCommand(root, { keyBackup: PREVIOUS.key }, human), 1);
    for (const s of model.secrets) assert.match(human.out(), new RegExp(`CANNOT OPEN ${refOf(s)} `));
  });

  it("verify catches a same-as copy that drifted from its origin and a declared key missing from a SealedSecret", async () => {
    // Reseal one side of a shared value by hand with a different value, the way drift happens.
    const { sealSecret } = await import("../../src/sealing/sealing.js");
    const copy = model.secrets.find((s) => Object.values(s.keys).some((k) => k.from === "same-as"))!;
    const file = path.join(root, sealedSecretFile(model, copy));
    const original = readFileSync(file, "utf8");
    try {
      const drifted = sealSecret({ certPem: readFileSync(CURRENT.cert, "utf8"), namespace: copy.namespace, name: copy.name, data: { password: "drifted" } });
      const { toYaml } = await import("../../src/tree/emit.js");
      writeFileSync(file, toYaml(drifted));
      const c = io();
      assert.equal(await secretsVerifyCommand(root, { keyBackup: CURRENT.key }, c), 1);
      assert.match(c.out(), new RegExp(`PROBLEM +${refOf(copy)} `));
      assert.match(c.out(), /key password differs from .* \(same-as\)/);
      assert.match(c.out(), /lacks declared key\(s\) username/);
    } finally {
      writeFileSync(file, original);
    }
  });

  it("reseal to a second key: verify passes with the new key and fails with the old one", async () => {
    const c = io();
    assert.equal(await secretsResealCommand(root, { values, cert: PREVIOUS.cert, allowTestKey: true }, c), 0, c.err());
    assert.match(c.out(), new RegExp(`${model.secrets.length} SealedSecrets written`));
    assert.equal(await secretsVerifyCommand(root, { keyBackup: PREVIOUS.key }, io()), 0);
    assert.equal(await secretsVerifyCommand(root, { keyBackup: CURRENT.key }, io()), 1);
    assert.ok(isClean(diffTrees(treeSnapshot(root), generate(root).tree.files)));
  });

  it("reseal without the values and without the old keys fails with the fix and writes nothing", async () => {
    const emptyStore = path.join(tmp("bk-empty-"), "secret-values.yaml");
    const before = treeSnapshot(root);
    const c = io();
    assert.equal(await secretsResealCommand(root, { values: emptyStore, cert: CURRENT.cert, allowTestKey: true }, c), 1);
    assert.match(c.err(), /sealed in the tree but not in the value store/);
    assert.match(c.err(), /bk secrets reseal --from-key-backup/);
    assert.match(c.err(), /bk secrets set ccbot\/ccbot-discord token/);
    assert.ok(isClean(diffTrees(before, treeSnapshot(root))), "nothing resealed");
    assert.equal(existsSync(emptyStore), false);
  });

  it("reseal --from-key-backup recovers every value missing from the store with the old keys", async () => {
    const full = SecretValueStore.load(values, model.cluster.name);
    // A store that lost everything but one operator value, to show stored values win and the rest is recovered.
    const partial = path.join(tmp("bk-partial-"), "secret-values.yaml");
    writeFileSync(partial, `ccbot/ccbot-discord:\n  token: ${JSON.stringify(operatorValue("ccbot/ccbot-discord", "token"))}\n`, { mode: 0o600 });
    const c = io();
    const code = await secretsResealCommand(root, { values: partial, cert: CURRENT.cert, allowTestKey: true, fromKeyBackup: fx("TEST-ONLY-key-backup.yaml"), json: true }, c);
    assert.equal(code, 0, c.out() + c.err());
    const report = c.json() as { recovered: string[] };
    assert.ok(report.recovered.length > 0);
    assert.ok(!report.recovered.includes("ccbot/ccbot-discord token"), "a stored value is not 'recovered'");
    const recovered = SecretValueStore.load(partial, model.cluster.name);
    for (const { ref, keys } of full.keys()) for (const k of keys) assert.equal(recovered.get(ref, k), full.get(ref, k), `${ref} ${k} recovered`);
    assert.equal(statSync(partial).mode & 0o777, 0o600);
    assert.equal(await secretsVerifyCommand(root, { keyBackup: CURRENT.key }, io()), 0);
    for (const s of model.secrets) {
      for (const [k, src] of Object.entries(s.keys)) if (src.from === "generate") assert.equal(opened(root, model, s, CURRENT.key)[k], full.get(refOf(s), k), "generated values kept across the reseal");
    }
  });

  it("list shows each key's source, whether the store has it and whether it is sealed", async () => {
    const c = io();
    assert.equal(await secretsListCommand(root, { values, json: true }, c), 0, c.err());
    const l = c.json() as { store: { path: string; exists: boolean }; secrets: Array<{ secret: string; sealed: boolean; keys: Array<{ key: string; source: string; stored: boolean | null; sealed: boolean }> }> };
    assert.deepEqual(l.store, { path: values, from: "--values", exists: true });
    assert.equal(l.secrets.length, model.secrets.length);
    const db = l.secrets.find((s) => s.secret === "ffl/ffl-db")!;
    assert.deepEqual(db.keys, [
      { key: "password", source: "same-as infra/pg-ffl password", stored: true, sealed: true },
      { key: "username", source: "literal", stored: null, sealed: true },
    ]);
    assert.ok(l.secrets.every((s) => s.sealed));
    const empty = io();
    assert.equal(await secretsListCommand(root, { values: path.join(tmp("bk-none-"), "v.yaml") }, empty), 0);
    assert.match(empty.out(), /not created yet/);
    assert.match(empty.out(), /ccbot\/ccbot-discord +token +operator +MISSING +yes/);
  });

  it("seal of one side of a shared value reseals the other side too", async () => {
    const c = io();
    assert.equal(await secretsSealCommand(root, ["infra/pg-ffl"], { values, cert: CURRENT.cert, allowTestKey: true, json: true }, c), 0, c.err());
    const r = c.json() as { sealed: Array<{ ref: string }>; alsoSealedBecauseShared: string[] };
    assert.deepEqual(r.sealed.map((s) => s.ref).sort(), ["ffl/ffl-db", "infra/pg-ffl"]);
    assert.deepEqual(r.alsoSealedBecauseShared, ["ffl/ffl-db"]);
  });

  it("sealing a secret whose SealedSecret sits in the wrong file moves it, leaving no duplicate", async () => {
    const s = model.secrets.find((x) => refOf(x) === "ffl/ffl-backend")!;
    const right = sealedSecretFile(model, s);
    const wrong = "infrastructure/configs/secrets/ffl/ffl-backend.sealed.yaml";
    mkdirSync(path.join(root, path.posix.dirname(wrong)), { recursive: true });
    writeFileSync(path.join(root, wrong), readFileSync(path.join(root, right)));
    rmSync(path.join(root, right));
    const c = io();
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values, cert: CURRENT.cert, allowTestKey: true, json: true }, c), 0, c.err());
    assert.deepEqual((c.json() as { movedFrom: string[] }).movedFrom, [wrong]);
    assert.ok(existsSync(path.join(root, right)));
    assert.equal(existsSync(path.join(root, wrong)), false);
    assert.ok(isClean(diffTrees(treeSnapshot(root), generate(root).tree.files)));
  });

  it("a SealedSecret keeps its scope when resealed without --scope", async () => {
    const s = model.secrets.find((x) => refOf(x) === "ffl/ffl-backend")!;
    const annotations = () => sealedObject(root, sealedSecretFile(model, s)).metadata.annotations;
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values, cert: CURRENT.cert, allowTestKey: true, scope: "namespace-wide" }, io()), 0);
    assert.deepEqual(annotations(), { "sealedsecrets.bitnami.com/namespace-wide": "true" });
    assert.equal(await secretsResealCommand(root, { values, cert: CURRENT.cert, allowTestKey: true }, io()), 0);
    assert.deepEqual(annotations(), { "sealedsecrets.bitnami.com/namespace-wide": "true" });
    assert.equal(await secretsVerifyCommand(root, { keyBackup: CURRENT.key }, io()), 0);
  });
});

describe("bk secrets: the value store and the certificate", () => {
  let root = "";
  before(() => {
    root = tempDefinition();
    adopt(root);
  });

  it("refuses a value store inside the repository and writes nothing there", async () => {
    const inside = path.join(root, "secret-values.yaml");
    const c = io();
    assert.equal(await secretsSetCommand(root, "ffl/ffl-backend", "secret-key", { values: inside, generate: true }, c), 2);
    assert.match(c.err(), /inside the repository/);
    const env = io({ env: { HOME: tmp("bk-home-"), BK_SECRET_VALUES: path.join(root, "nested", "v.yaml") } });
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { cert: CURRENT.cert, allowTestKey: true }, env), 2);
    assert.match(env.err(), /from BK_SECRET_VALUES\) is inside the repository/);
    assert.equal(existsSync(inside), false);
    assert.equal(existsSync(path.join(root, "nested")), false);
  });

  it("uses ${XDG_CONFIG_HOME}/beckerkube/<cluster>/secret-values.yaml by default", async () => {
    const xdg = tmp("bk-xdg-");
    const c = io({ env: { HOME: tmp("bk-home-"), XDG_CONFIG_HOME: xdg } });
    assert.equal(await secretsSetCommand(root, "ffl/ffl-backend", "secret-key", { generate: true }, c), 0, c.err());
    const file = path.join(xdg, "beckerkube", loadDefinition(root).model.cluster.name, "secret-values.yaml");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
  });

  it("refuses a TEST certificate unless --allow-test-key, and says it is a test key", async () => {
    for (const cert of [CURRENT.cert, PREVIOUS.cert]) {
      const c = io();
      assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values: path.join(tmp("bk-v-"), "v.yaml"), cert }, c), 2);
      assert.match(c.err(), /is a TEST key \(test\/fixtures\/sealed-secrets\/TEST-ONLY-\w+-cert\.pem\)/);
    }
    const env = io({ env: { HOME: tmp("bk-home-"), BK_SEALING_CERT: readFileSync(CURRENT.cert, "utf8") } });
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values: path.join(tmp("bk-v-"), "v.yaml") }, env), 2);
    assert.match(env.err(), /from BK_SEALING_CERT is a TEST key/);
    assert.deepEqual(sealedFiles(root), []);
  });

  it("accepts any other certificate, even with the controller's usual subject (the check is the key, not the name)", async () => {
    const pair = generateTestKeyPair({ cn: "sealed-secret" });
    const dir = tmp("bk-cert-");
    writeFileSync(path.join(dir, "cert.pem"), pair.certPem);
    const c = io({ env: { HOME: tmp("bk-home-"), BK_SEALING_CERT: path.join(dir, "cert.pem") } });
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values: path.join(tmp("bk-v-"), "v.yaml") }, c), 0, c.err());
    assert.doesNotMatch(c.err(), /TEST key/);
    const m = loadDefinition(root).model;
    const s = m.secrets.find((x) => refOf(x) === "ffl/ffl-backend")!;
    assert.ok(unsealSecret(sealedObject(root, sealedSecretFile(m, s)), [pair.privateKey]).data["secret-key"]);
    rmSync(path.join(root, sealedSecretFile(m, s)));
  });

  it("refuses an expired certificate and one that is missing, and asks for a certificate when none is given", async () => {
    const pair = generateTestKeyPair({ days: 1 });
    const dir = tmp("bk-cert-");
    writeFileSync(path.join(dir, "old.pem"), pair.certPem);
    const later = new Date(Date.now() + 3 * 86_400_000);
    const c = io({ now: () => later });
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values: path.join(tmp("bk-v-"), "v.yaml"), cert: path.join(dir, "old.pem") }, c), 2);
    assert.match(c.err(), /expired on/);
    const missing = io();
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values: path.join(tmp("bk-v-"), "v.yaml"), cert: path.join(dir, "nope.pem") }, missing), 3);
    assert.match(missing.err(), /nope\.pem does not exist; fetch the controller certificate with `kubeseal --fetch-cert/);
    const none = io();
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values: path.join(tmp("bk-v-"), "v.yaml") }, none), 2);
    assert.match(none.err(), /pass --cert <file>.*--kubeconfig <file>.*BK_SEALING_CERT/);
    assert.deepEqual(sealedFiles(root), []);
  });

  it("names secrets as <namespace>/<name> or --all, not both and not neither", async () => {
    const a = io();
    assert.equal(await secretsSealCommand(root, [], { cert: CURRENT.cert }, a), 2);
    assert.match(a.err(), /which secrets\?/);
    const b = io();
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { all: true, cert: CURRENT.cert }, b), 2);
    const d = io();
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { cert: CURRENT.cert, scope: "everywhere" }, d), 2);
    assert.match(d.err(), /--scope everywhere: use one of strict, namespace-wide, cluster-wide/);
  });
});

describe("bk secrets with the controller's keys from the API (fake API)", () => {
  let root = "";
  let values = "";
  const pem = (f: string) => readFileSync(fx(f), "utf8");
  const keySecret = (name: string, pair: { privateKeyPem: string; certPem: string }, created: string): KeySecret => ({
    name,
    namespace: "kube-system",
    state: "active",
    created: new Date(created),
    manifest: keySecretManifest({ name, ...pair }),
    certPem: pair.certPem,
  });
  // The controller seals with the certificate that starts last: a pair issued now is newer than the fixtures.
  const fresh = generateTestKeyPair();
  let freshKeyFile = "";
  const old = { privateKeyPem: pem("TEST-ONLY-previous-key.pem"), certPem: pem("TEST-ONLY-previous-cert.pem") };
  const both = [keySecret("sealed-secrets-keyold", old, "2026-01-01T00:00:00Z"), keySecret("sealed-secrets-keynew", fresh, "2026-02-01T00:00:00Z")];
  const cluster = (keys: KeySecret[]) => ({
    cluster: (kubeconfig: string) => {
      assert.equal(kubeconfig, "/fake/kubeconfig");
      return { describe: () => "https://fake:6443", listKeySecrets: async (ns: string) => keys.filter((k) => k.namespace === ns) };
    },
  });

  before(async () => {
    root = tempDefinition();
    adopt(root);
    values = path.join(tmp("bk-values-"), "secret-values.yaml");
    freshKeyFile = path.join(tmp("bk-fresh-"), "key.pem");
    writeFileSync(freshKeyFile, fresh.privateKeyPem, { mode: 0o600 });
    const model = loadDefinition(root).model;
    await setAllOperatorValues(root, model, values);
  });

  it("seal --kubeconfig seals with the controller's current key", async () => {
    const c = io(cluster(both));
    assert.equal(await secretsSealCommand(root, [], { all: true, values, kubeconfig: "/fake/kubeconfig" }, c), 0, c.err());
    assert.match(c.out(), /from Secret kube-system\/sealed-secrets-keynew via https:\/\/fake:6443/);
    assert.equal(await secretsVerifyCommand(root, { keyBackup: freshKeyFile }, io()), 0);
    assert.equal(await secretsVerifyCommand(root, { keyBackup: PREVIOUS.key }, io()), 1);
  });

  it("seal --kubeconfig refuses when the cluster's current key is a TEST key", async () => {
    const testOnly = [keySecret("sealed-secrets-keytest", old, "2026-01-01T00:00:00Z")];
    const c = io(cluster(testOnly));
    assert.equal(await secretsSealCommand(root, ["ffl/ffl-backend"], { values, kubeconfig: "/fake/kubeconfig" }, c), 2);
    assert.match(c.err(), /from Secret kube-system\/sealed-secrets-keytest via https:\/\/fake:6443 is a TEST key/);
  });

  it("backup writes the keys as a private v1 List and proves it opens the tree", async () => {
    const out = path.join(tmp("bk-backup-"), "keys", "sealed-secrets-keys.yaml");
    const c = io(cluster(both));
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out, json: true }, c), 0, c.err());
    const r = c.json() as { ok: boolean; written: string; keys: Array<{ name: string }>; verify: { secrets: Array<{ opens: boolean }> } };
    assert.equal(r.ok, true);
    assert.equal(r.written, out);
    assert.deepEqual(
      r.keys.map((k) => k.name),
      ["sealed-secrets-keyold", "sealed-secrets-keynew"],
    );
    assert.ok(r.verify.secrets.every((e) => e.opens));
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const list = parse(readFileSync(out, "utf8")) as { apiVersion: string; kind: string; items: KubeObject[] };
    assert.deepEqual([list.apiVersion, list.kind, list.items.length], ["v1", "List", 2]);
    assert.equal(parseKeyBackup(readFileSync(out, "utf8")).privateKeys.length, 2);
    assert.equal(await secretsVerifyCommand(root, { keyBackup: out }, io()), 0, "the backup is what verify takes");
  });

  it("backup marks every key it saved, in the cluster and in the file (SealedSecretsKeyNotBackedUp clears)", async () => {
    const out = path.join(tmp("bk-backup-"), "marked.yaml");
    const calls: Array<{ ns: string; names: readonly string[]; annotation: string; value: string }> = [];
    const marking = {
      cluster: () => ({
        describe: () => "https://fake:6443",
        listKeySecrets: async (ns: string) => both.filter((k) => k.namespace === ns),
        annotateKeySecrets: async (ns: string, names: readonly string[], annotation: string, value: string) => void calls.push({ ns, names, annotation, value }),
      }),
    };
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out }, io(marking)), 0);
    assert.equal(calls.length, 1);
    assert.deepEqual([calls[0]!.ns, [...calls[0]!.names], calls[0]!.annotation], ["kube-system", ["sealed-secrets-keyold", "sealed-secrets-keynew"], "beckerkube.io/key-backed-up"]);
    assert.match(calls[0]!.value, /^\d{4}-\d\d-\d\dT/);
    const list = parse(readFileSync(out, "utf8")) as { items: KubeObject[] };
    assert.deepEqual(
      list.items.map((i) => i.metadata.annotations?.["beckerkube.io/key-backed-up"]),
      [calls[0]!.value, calls[0]!.value],
      "a key restored from the file counts as backed up",
    );
    calls.length = 0;
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out: path.join(tmp("bk-backup-"), "dry.yaml"), dryRun: true }, io(marking)), 0);
    assert.equal(calls.length, 0, "a dry run marks nothing");
  });

  it("backup reports every SealedSecret its keys cannot open, and exits 1", async () => {
    const out = path.join(tmp("bk-backup-"), "keys.yaml");
    const c = io(cluster([both[0]!]));
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out }, c), 1);
    assert.match(c.out(), /FAILED: the backup does not open \d+ SealedSecrets/);
    assert.match(c.out(), /ffl\/ffl-backend \(apps\/ffl\/secrets\/ffl-backend\.sealed\.yaml\): .*no key could decrypt secret/);
    assert.ok(existsSync(out), "the keys that exist are still worth keeping");
  });

  it("backup refuses to overwrite a backup holding keys the cluster no longer has, unless --force", async () => {
    const out = path.join(tmp("bk-backup-"), "keys.yaml");
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out }, io(cluster(both))), 0);
    const before = readFileSync(out, "utf8");
    const c = io(cluster([both[1]!]));
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out }, c), 2);
    assert.match(c.err(), /holds 1 key the cluster no longer has .*Write to a new file/);
    assert.equal(readFileSync(out, "utf8"), before);
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out, force: true }, io(cluster([both[1]!]))), 0);
    assert.equal(parseKeyBackup(readFileSync(out, "utf8")).privateKeys.length, 1);
  });

  it("backup refuses a path inside the repository, writes nothing in a dry run, and fails clearly without keys", async () => {
    const inside = io(cluster(both));
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out: path.join(root, "keys.yaml") }, inside), 2);
    assert.match(inside.err(), /inside the repository/);
    assert.equal(existsSync(path.join(root, "keys.yaml")), false);

    const out = path.join(tmp("bk-backup-"), "keys.yaml");
    const dry = io(cluster(both));
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out, dryRun: true }, dry), 0, dry.err());
    assert.match(dry.out(), /would write .*nothing was written/);
    assert.equal(existsSync(out), false);

    const none = io(cluster([]));
    assert.equal(await secretsBackupCommand(root, { kubeconfig: "/fake/kubeconfig", out }, none), 3);
    assert.match(none.err(), /no Secrets labelled sealedsecrets\.bitnami\.com\/sealed-secrets-key in namespace kube-system/);
    assert.equal(existsSync(out), false);
  });

  it("an unreadable kubeconfig is 'unavailable' (exit 3), not a crash", async () => {
    const dir = tmp("bk-kc-");
    mkdirSync(path.join(dir, "x"));
    const c = io();
    assert.equal(await secretsBackupCommand(root, { kubeconfig: path.join(dir, "missing-kubeconfig"), out: path.join(dir, "k.yaml") }, c), 3);
    assert.match(c.err(), /cannot load kubeconfig/);
  });
});
