/**
 * The values lint against the real upstream charts (the shared mirror, read in place) and the real definition:
 * a typo'd key and a schema violation in a real release's values give the exact finding; the tree as
 * committed gives what it truly gives.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { objectRef, type PlacedObject } from "../../src/core/object.js";
import { generate } from "../../src/pipeline.js";
import { lintValues } from "../../src/validate/values-lint.js";
import { chartFacts } from "../../src/workflows/chart-facts.js";
import { renderReleases } from "../../src/workflows/render.js";
import { validateTree } from "../../src/workflows/validate.js";
import { lintRenderedValues } from "../../src/workflows/values-lint.js";
import { repoRoot } from "../../src/adapters/tools.js";
import { sharedCharts, sharedCrds } from "../helpers/charts.js";

let releases: PlacedObject[];
let mirror: string;

before(() => {
  mirror = sharedCharts();
  releases = generate(repoRoot).tree.objects.filter((p) => p.object.kind === "HelmRelease");
});

/** The release's real values from the definition, changed by `edit`, linted against its real chart. */
type Values = Record<string, unknown>;
/** A nested map of the values, for editing. */
const obj = (v: unknown) => v as Values;

function lintReal(name: string, chartFolder: string, edit: (values: Values) => void) {
  const release = releases.find((p) => p.object.metadata.name === name);
  assert.ok(release, `HelmRelease ${name} is in the tree`);
  const values = structuredClone((release.object.spec as { values: Values }).values);
  edit(values);
  return lintValues({ file: release.file, object: objectRef(release.object), values }, chartFacts(path.join(mirror, chartFolder)));
}

describe("values lint on the real charts", () => {
  it("a typo'd key in the cert-manager release: the path, the chart and version, and the key it meant", () => {
    assert.deepEqual(
      lintReal("cert-manager", "cert-manager-v1.21.1", (v) => {
        v.startupapicheck = { timout: "5m" };
      }),
      [
        {
          rule: "values/unknown-key",
          severity: "error",
          message: "chart cert-manager v1.21.1 never reads startupapicheck.timout: Helm ignores it, so the chart's default applies",
          fix: "rename it to startupapicheck.timeout (the key chart cert-manager v1.21.1 reads), in the definition",
          file: "infrastructure/controllers/cert-manager/helmrelease.yaml",
          object: "HelmRelease/cert-manager/cert-manager",
          field: "spec.values.startupapicheck.timout",
        },
      ],
    );
  });

  it("a typo'd key in the MetalLB release, below a map the chart's templates read by name", () => {
    const found = lintReal("metallb", "metallb-0.16.1", (v) => {
      obj(v.speaker).frr = { enabeld: false };
    });
    assert.deepEqual(
      found.map((f) => [f.rule, f.field, f.fix]),
      [["values/unknown-key", "spec.values.speaker.frr.enabeld", "rename it to speaker.frr.enabled (the key chart metallb 0.16.1 reads), in the definition"]],
    );
  });

  it("a value MetalLB's values.schema.json forbids: the path and what the schema allows", () => {
    assert.deepEqual(
      lintReal("metallb", "metallb-0.16.1", (v) => {
        obj(v.speaker).logLevel = "loud";
      }),
      [
        {
          rule: "values/schema",
          severity: "error",
          message: "chart metallb 0.16.1: values.schema.json says speaker.logLevel must be equal to one of the allowed values",
          fix: 'set spec.values.speaker.logLevel in the definition to a value the chart\'s schema allows (one of "all", "debug", "info", "warn", "error", "none")',
          file: "infrastructure/controllers/metallb/helmrelease.yaml",
          object: "HelmRelease/metallb-system/metallb",
          field: "spec.values.speaker.logLevel",
        },
      ],
    );
  });

  it("istio's gateway schema (no draft named: 2020-12) and its defaults kept under _internal_defaults_do_not_set", () => {
    const found = lintReal("bk-gateway", "istio-gateway-1.30.3", (v) => {
      v.replicaCount = "two";
      v.servce = {};
    });
    assert.deepEqual(
      found.map((f) => [f.rule, f.field, f.fix]),
      [
        ["values/unknown-key", "spec.values.servce", "rename it to service (the key chart gateway 1.30.3 reads), in the definition"],
        ["values/schema", "spec.values.replicaCount", "set spec.values.replicaCount in the definition to a value the chart's schema allows"],
      ],
    );
  });

  it("free-form maps are accepted: ingress-nginx's extraArgs and annotations, ChartMuseum's env.open, a subchart (Grafana) by name", () => {
    assert.deepEqual(
      lintReal("ingress-nginx", "ingress-nginx-4.15.1", (v) => Object.assign(obj(obj(v.controller).extraArgs), { "any-flag": "x" })),
      [],
    );
    assert.deepEqual(
      lintReal("chartmuseum", "chartmuseum-3.10.4", (v) => Object.assign(obj(obj(v.env).open), { ENABLE_METRICS: true })),
      [],
    );
    const grafana = lintReal("kube-prometheus-stack", "kube-prometheus-stack-88.5.3", (v) => {
      v.grafana = { ...obj(v.grafana), adminPasword: "x" };
    });
    assert.deepEqual(
      grafana.map((f) => [f.field, f.fix]),
      [["spec.values.grafana.adminPasword", "rename it to grafana.adminPassword (the key chart kube-prometheus-stack 88.5.3 reads), in the definition"]],
    );
  });

  it("istiod reads a legacy `pilot.` prefix as the root (zzy_descope_legacy.yaml), so the tree's pilot.resources is read", () => {
    assert.deepEqual(
      lintReal("istiod", "istiod-1.30.3", () => {}),
      [],
    );
    assert.deepEqual(
      lintReal("istiod", "istiod-1.30.3", (v) => {
        obj(v.pilot).resourcez = {};
      }).map((f) => f.field),
      ["spec.values.pilot.resourcez"],
    );
  });

  it("the real definition, every release rendered through its real chart: no values finding", async () => {
    const { model, tree } = generate(repoRoot);
    const { rendered, findings } = await renderReleases(repoRoot, tree.objects, { scope: "all", charts: { mirror, pull: false }, kubeVersion: model.cluster.profile.kubernetesVersion });
    assert.deepEqual(findings, []);
    assert.equal(rendered.length, releases.length);
    assert.deepEqual(lintRenderedValues(rendered, { cacheDir: null }), []);
  });

  it("keeps results by chart digest and values: a warm run reads them, a changed value is linted afresh", async () => {
    const { model, tree } = generate(repoRoot);
    const { rendered } = await renderReleases(
      repoRoot,
      tree.objects.filter((p) => p.object.kind !== "HelmRelease" || p.object.metadata.name === "metallb"),
      { scope: "all", charts: { mirror, pull: false }, kubeVersion: model.cluster.profile.kubernetesVersion },
    );
    const cacheDir = mkdtempSync(path.join(tmpdir(), "bk-values-lint-"));
    assert.deepEqual(lintRenderedValues(rendered, { cacheDir }), []);
    assert.equal(readdirSync(cacheDir).length, 1);
    assert.deepEqual(lintRenderedValues(rendered, { cacheDir }), []);
    const [metallb] = rendered;
    const spec = metallb!.release.object.spec as { values: Values };
    const typo = { ...metallb!, release: { ...metallb!.release, object: { ...metallb!.release.object, spec: { ...spec, values: { ...spec.values, speakr: {} } } } } };
    assert.deepEqual(
      lintRenderedValues([typo], { cacheDir }).map((f) => f.field),
      ["spec.values.speakr"],
    );
    assert.deepEqual(
      lintRenderedValues([typo], { cacheDir }).map((f) => f.field),
      ["spec.values.speakr"],
    );
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("bk validate's workflow lints every release, the ones helm refuses included: the key paths instead of helm's refusal", async () => {
    const { model, tree } = generate(repoRoot);
    const objects = tree.objects.map((p) => {
      if (p.object.kind !== "HelmRelease" || p.object.metadata.name !== "metallb") return p;
      const spec = p.object.spec as { values: Values };
      return { ...p, object: { ...p.object, spec: { ...spec, values: { ...spec.values, speaker: { ...obj(spec.values.speaker), tolerationz: [], logLevel: "loud" } } } } };
    });
    const result = await validateTree(model, { ...tree, objects }, { kustomize: false, render: { root: repoRoot, scope: "all", charts: { mirror, pull: false }, sources: { mirror: sharedCrds(), fetch: false } } });
    assert.deepEqual(result.checks, ["schema", "policy", "references", "render", "values", "upstream"]);
    const release = ["infrastructure/controllers/metallb/helmrelease.yaml", "HelmRelease/metallb-system/metallb"];
    assert.deepEqual(
      result.findings.filter((f) => f.file === release[0] && f.object === release[1]).map((f) => [f.rule, f.field, f.fix]),
      [
        ["values/unknown-key", "spec.values.speaker.tolerationz", "rename it to speaker.tolerations (the key chart metallb 0.16.1 reads), in the definition"],
        ["values/schema", "spec.values.speaker.logLevel", 'set spec.values.speaker.logLevel in the definition to a value the chart\'s schema allows (one of "all", "debug", "info", "warn", "error", "none")'],
      ],
    );
  });
});
