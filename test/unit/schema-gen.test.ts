import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CrdSchemas } from "../../src/schema/crd.js";
import type { CrdIndex } from "../../src/schema/crd-extract.js";
import { stripDocs } from "../../src/schema/crd-extract.js";
import { sharedCrds } from "../helpers/charts.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const committed = join(repoRoot, "schemas", "crds");
const script = join(repoRoot, "scripts", "gen-crd-schemas.ts");
const temp = mkdtempSync(join(tmpdir(), "bk-schema-gen-"));
after(() => rmSync(temp, { recursive: true, force: true }));

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? listFiles(p, base) : [relative(base, p)];
    })
    .sort();
}

function runGen(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, ["--import", "tsx", script, ...args], { cwd: repoRoot, env, encoding: "utf8" });
}

describe("gen:schemas", () => {
  it("schemas/crds is up to date with the mirror's crds/ ($BK_SHARED, else ../shared)", () => {
    assert.ok(existsSync(committed), `${committed} is missing; run "npm run gen:schemas"`);
    const out = join(temp, "fresh");
    execFileSync(process.execPath, ["--import", "tsx", script, "--crds", sharedCrds(), "--out", out], { cwd: repoRoot, stdio: "pipe" });
    const fresh = listFiles(out);
    assert.deepEqual(listFiles(committed), fresh, 'schemas/crds lists different files than the CRDs produce; run "npm run gen:schemas"');
    for (const rel of fresh) {
      assert.ok(readFileSync(join(committed, rel)).equals(readFileSync(join(out, rel))), `schemas/crds/${rel} is stale; run "npm run gen:schemas"`);
    }
  });

  it("writes one schema per served version and an index with scopes", () => {
    const index = JSON.parse(readFileSync(join(committed, "index.json"), "utf8")) as Record<string, { file: string; scope: string }>;
    assert.deepEqual(index["helm.toolkit.fluxcd.io/v2/HelmRelease"]?.file, "helm.toolkit.fluxcd.io/HelmRelease_v2.json");
    assert.equal(index["cert-manager.io/v1/ClusterIssuer"]?.scope, "Cluster");
    assert.equal(index["metallb.io/v1beta1/IPAddressPool"]?.scope, "Namespaced");
    // BGPPeer serves two versions.
    assert.ok(index["metallb.io/v1beta1/BGPPeer"] && index["metallb.io/v1beta2/BGPPeer"]);
    for (const entry of Object.values(index)) assert.ok(existsSync(join(committed, entry.file)), entry.file);
  });

  it("drops descriptions but keeps a property that is named description", () => {
    const cluster = JSON.parse(readFileSync(join(committed, "postgresql.cnpg.io", "Cluster_v1.json"), "utf8"));
    assert.equal(cluster.description, undefined);
    assert.equal(cluster.properties.spec.properties.description.type, "string");
    assert.deepEqual(stripDocs({ description: "doc", type: "object", properties: { description: { type: "string", description: "doc" } } }), { type: "object", properties: { description: { type: "string" } } });
  });

  it("reads the CRD folder from BK_CRDS_DIR", () => {
    const crds = join(temp, "one-crd");
    mkdirSync(crds, { recursive: true });
    cpSync(join(sharedCrds(), "sealed-secrets"), join(crds, "sealed-secrets"), { recursive: true });
    const out = join(temp, "one-out");
    const r = runGen(["--out", out], { ...process.env, BK_CRDS_DIR: crds });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(listFiles(out), [join("bitnami.com", "SealedSecret_v1alpha1.json"), "index.json"]);
  });

  it("fails on a kind defined twice, naming both files", () => {
    const crds = join(temp, "twice");
    mkdirSync(join(crds, "b"), { recursive: true });
    cpSync(join(sharedCrds(), "sealed-secrets"), join(crds, "a"), { recursive: true });
    cpSync(join(sharedCrds(), "sealed-secrets", "bitnami.com_sealedsecrets.yaml"), join(crds, "b", "copy.yaml"));
    const r = runGen(["--crds", crds, "--out", join(temp, "twice-out")]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bitnami\.com\/v1alpha1\/SealedSecret is defined twice: in a\/bitnami\.com_sealedsecrets\.yaml and in b\/copy\.yaml/);
  });

  it("every generated schema compiles and rejects an unknown spec field", () => {
    const crds = new CrdSchemas(committed);
    const index = JSON.parse(readFileSync(join(committed, "index.json"), "utf8")) as CrdIndex;
    const openSpecs: string[] = [];
    for (const [key, entry] of Object.entries(index)) {
      const [group, version, kind] = key.split("/");
      const obj = { apiVersion: `${group}/${version}`, kind, metadata: { name: "x" }, spec: { notAField: true } };
      const issues = crds.validate(entry, obj);
      const flagged = issues.some((i) => i.keyword === "additionalProperties" && i.params.additionalProperty === "notAField");
      if (!flagged) openSpecs.push(key);
    }
    // Only kinds whose spec preserves unknown fields (or that have no spec) may accept it.
    const allowed = Object.entries(index)
      .filter(([, e]) => {
        const spec = JSON.parse(readFileSync(join(committed, e.file), "utf8")).properties?.spec;
        return !spec || spec["x-kubernetes-preserve-unknown-fields"] === true;
      })
      .map(([k]) => k);
    assert.deepEqual(openSpecs.sort(), allowed.sort());
  });
});
