/**
 * Real kustomize (`kubectl kustomize`) on every Kustomization path of the generated tree, and
 * `bk validate` end to end through the CLI.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { kustomizeBuild, kustomizeCheck } from "../../src/adapters/kustomize.js";
import { generate } from "../../src/pipeline.js";
import { sharedCharts, sharedCrds } from "../helpers/charts.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";
import { runBk } from "../helpers/cli.js";

describe("kustomize build of the generated tree", () => {
  it("kubectl is on this machine", () => {
    const r = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
    assert.equal(r.status, 0, "kubectl (with kustomize) is required for these tests");
  });

  it("builds every Kustomization root, and the built objects are exactly the synthesized ones", async () => {
    const { tree } = generate(REPO_ROOT);
    const { findings, built } = await kustomizeBuild(tree.files, tree.kustomizationRoots);
    assert.deepEqual(findings, []);
    assert.deepEqual([...built.keys()].sort(), [...tree.kustomizationRoots].sort());
    const names = (yaml: string) =>
      parseAllDocuments(yaml)
        .map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } })
        .map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`)
        .sort();
    const fromKustomize = [...built.values()].flatMap(names).sort();
    const synthesized = tree.objects.map((p) => `${p.object.kind}/${p.object.metadata.namespace ?? ""}/${p.object.metadata.name}`).sort();
    assert.deepEqual(fromKustomize, synthesized);
  });

  it("reports a kustomization that lists a missing file, naming the file", async () => {
    const { tree } = generate(REPO_ROOT);
    const files = new Map(tree.files);
    files.set("apps/ffl/kustomization.yaml", files.get("apps/ffl/kustomization.yaml")!.replace("- backend.yaml", "- backend.yaml\n  - old-secret.yaml"));
    const { findings } = await kustomizeBuild(files, tree.kustomizationRoots);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.rule, "kustomize/build");
    assert.match(findings[0]!.message, /old-secret\.yaml/);
  });
});

describe("remembered kustomize builds", () => {
  it("skips a build only for a byte-identical tree that built before, never after a failure", async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), "bk-kcache-"));
    const { tree } = generate(REPO_ROOT);
    assert.deepEqual(await kustomizeCheck(tree.files, tree.kustomizationRoots, cache), { findings: [], cached: false });
    assert.deepEqual(await kustomizeCheck(tree.files, tree.kustomizationRoots, cache), { findings: [], cached: true });
    const broken = new Map(tree.files);
    broken.set("apps/ffl/kustomization.yaml", broken.get("apps/ffl/kustomization.yaml")!.replace("- backend.yaml", "- gone.yaml"));
    for (let i = 0; i < 2; i++) {
      const r = await kustomizeCheck(broken, tree.kustomizationRoots, cache);
      assert.equal(r.cached, false);
      assert.equal(r.findings[0]?.rule, "kustomize/build");
    }
  });
});

describe("bk validate", () => {
  it("passes on the committed tree with every check, and reports unsealed secrets as warnings", () => {
    const r = runBk(["validate", "--json"], { env: { BK_CHARTS: sharedCharts(), BK_CRDS: sharedCrds() } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.checks, ["schema", "policy", "references", "render", "values", "upstream", "kustomize", "profiles"]);
    assert.equal(out.errors, 0);
    assert.ok(out.findings.every((f: { severity: string }) => f.severity === "warning"));
  });

  it("--strict turns the pending secrets into errors (pre-flight for a rebuild)", () => {
    const r = runBk(["validate", "--strict", "--no-kustomize"], { env: { BK_CHARTS: sharedCharts(), BK_CRDS: sharedCrds() } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /secrets\/not-sealed/);
  });

  it("fails with the object and field when a policy exception is removed", () => {
    const root = tempDefinition((d) => d.exceptions.set("exceptions", []));
    const r = runBk(["validate", "--root", root, "--json", "--no-kustomize"], { env: { BK_CHARTS: sharedCharts(), BK_CRDS: sharedCrds() } });
    assert.equal(r.status, 1);
    const out = JSON.parse(r.stdout);
    const f = out.findings.find((x: { rule: string; object: string }) => x.rule === "image/registry" && x.object === "Deployment/registry/registry");
    assert.ok(f, r.stdout);
    assert.equal(f.field, "spec.template.spec.containers[0].image");
    assert.equal(f.file, "infrastructure/configs/registry/registry.yaml");
  });

  it("reports a SealedSecret that nothing declares (incident 9)", () => {
    const root = tempDefinition();
    assert.equal(runBk(["synth", "--root", root]).status, 0);
    const stray = path.join(root, "apps/ffl/secrets");
    spawnSync("mkdir", ["-p", stray]);
    writeFileSync(
      path.join(stray, "old-token.sealed.yaml"),
      "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: old-token\n  namespace: ffl\nspec:\n  encryptedData:\n    token: AgA=\n  template:\n    metadata:\n      name: old-token\n      namespace: ffl\n",
    );
    const r = runBk(["validate", "--root", root, "--json", "--no-kustomize"], { env: { BK_CHARTS: sharedCharts(), BK_CRDS: sharedCrds() } });
    assert.equal(r.status, 1);
    const out = JSON.parse(r.stdout);
    assert.ok(
      out.findings.some((f: { rule: string; file: string }) => f.rule === "secrets/undeclared" && f.file === "apps/ffl/secrets/old-token.sealed.yaml"),
      r.stdout,
    );
    void readFileSync;
  });
});
