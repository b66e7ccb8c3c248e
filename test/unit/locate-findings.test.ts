/** Findings on generated objects traced back to the definition value they come from (src/pipeline.ts locateFindings). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import type { Finding } from "../../src/core/finding.js";
import { formatFinding } from "../../src/core/finding.js";
import { fieldPath, parseFieldPath } from "../../src/core/paths.js";
import { loadDefinition } from "../../src/model/load.js";
import { generate, locateFindings } from "../../src/pipeline.js";
import { REPO_ROOT } from "../helpers/definition.js";

const loaded = loadDefinition(REPO_ROOT);
const generated = generate(REPO_ROOT);
const fflLines = readFileSync(path.join(REPO_ROOT, "definition/apps/ffl.yaml"), "utf8").split("\n");
/** The 1-based line of the first line matching `re` after the line matching `after`. */
const lineAfter = (after: RegExp, re: RegExp) => {
  const start = fflLines.findIndex((l) => after.test(l));
  return start + 1 + fflLines.slice(start).findIndex((l) => re.test(l));
};

const onBackend = (field: string, rule = "image/pinned-tag"): Finding => ({
  rule,
  severity: "error",
  message: "m",
  fix: "f",
  file: "apps/ffl/backend.yaml",
  object: "HelmRelease/ffl/ffl-backend",
  field,
});

describe("parseFieldPath", () => {
  it("reads back every path fieldPath writes", () => {
    for (const segs of [
      ["spec", "values", "env", "AWS_KEY"],
      ["a", 0, "b", 12],
      ["metadata", "annotations", "x.io/y z"],
      ["k", 'q"uote'],
    ]) {
      assert.deepEqual(parseFieldPath(fieldPath("", ...segs)), segs);
    }
    assert.deepEqual(parseFieldPath(""), []);
    assert.equal(parseFieldPath(".a"), undefined);
    assert.equal(parseFieldPath("a..b"), undefined);
    assert.equal(parseFieldPath("a[x]"), undefined);
  });
});

describe("locateFindings", () => {
  it("an image tag finding on a component's HelmRelease names the definition line of its tag", () => {
    const [f] = locateFindings([onBackend("spec.values.image.tag")], loaded);
    assert.deepEqual(f, {
      rule: "image/pinned-tag",
      severity: "error",
      message: "m",
      fix: "f",
      file: "definition/apps/ffl.yaml",
      line: lineAfter(/^ {2}backend:/, /^ {4}tag:/),
      field: "components.backend.tag",
      generated: { file: "apps/ffl/backend.yaml", object: "HelmRelease/ffl/ffl-backend", field: "spec.values.image.tag" },
    });
    assert.equal(
      formatFinding(f!),
      `error [image/pinned-tag] definition/apps/ffl.yaml:${f!.line} components.backend.tag: m\n    fix: f\n    generated: apps/ffl/backend.yaml HelmRelease/ffl/ffl-backend spec.values.image.tag`,
    );
  });

  it("an env value the operator wrote maps to its key; a credential there is fixed with secretEnv", () => {
    const withEnv = loadDefinition(REPO_ROOT).model.components.find((c) => c.id === "ffl/backend")!;
    withEnv.env.API_TOKEN = "x";
    const [f] = locateFindings([onBackend("spec.values.env.API_TOKEN", "secrets/credential-literal")], { ...loaded, model: { ...loaded.model, components: [withEnv] } });
    assert.equal(f!.file, "definition/apps/ffl.yaml");
    assert.equal(f!.field, "components.backend.env.API_TOKEN");
    // No such key in the file: the closest existing parent (the component's map) gives the line.
    assert.equal(f!.line, lineAfter(/^ {2}backend:/, /^ {4}role:/));
    assert.match(f!.fix, /reference it from the component's `secretEnv`/);
  });

  it("values synthesis derives, and objects that are no component's release, keep naming the generated object", () => {
    const derived = [
      onBackend("spec.values.env.DATABASE_HOST"),
      onBackend("spec.values.image.repository"),
      onBackend("spec.valuesFrom[0]"),
      { ...onBackend("spec.values.image.tag"), object: "HelmRelease/monitoring/not-in-the-tree" },
    ];
    assert.deepEqual(locateFindings(derived, generated), derived);
  });

  it("secretEnv entries, which the chart takes as a sorted list, map to the variable the operator declared", () => {
    const [own, derived] = locateFindings([onBackend("spec.values.secretEnv[1].key"), onBackend("spec.values.secretEnv[0]")], loaded);
    assert.equal(own!.field, "components.backend.secretEnv.SECRET_KEY");
    assert.equal(own!.line, lineAfter(/^ {2}backend:/, /^ {4}secretEnv:/));
    // DATABASE_PASSWORD is not written by the operator: it comes from the component's database.
    assert.equal(derived!.field, "components.backend.database");
    assert.equal(derived!.line, lineAfter(/^ {2}backend:/, /^ {4}database:/));
  });

  it("an object our chart renders for a component maps to the component field behind the container field", () => {
    const rendered = (object: string, field: string): Finding => ({
      ...onBackend(field, "workload/resources"),
      object,
      file: "apps/ffl/backend.yaml (rendered by HelmRelease/ffl/ffl-backend)",
      renderedBy: "HelmRelease/ffl/ffl-backend",
    });
    const [res, other, job] = locateFindings(
      [
        rendered("Deployment/ffl/ffl-backend", "spec.template.spec.containers[0].resources.limits.memory"),
        rendered("Deployment/ffl/ffl-backend", "spec.template.spec.securityContext"),
        rendered("Job/ffl/ffl-backend-migrate", "spec.template.spec.containers[0].image"),
      ],
      loaded,
    );
    assert.equal(res!.field, "components.backend.resources");
    assert.equal(other!.field, "components.backend");
    assert.equal(other!.line, lineAfter(/^ {2}backend:/, /^ {4}role:/));
    assert.equal(job!.field, "components.backend.migration");
    assert.deepEqual(res!.generated, { file: "apps/ffl/backend.yaml (rendered by HelmRelease/ffl/ffl-backend)", object: "Deployment/ffl/ffl-backend", field: "spec.template.spec.containers[0].resources.limits.memory" });
    assert.equal("renderedBy" in res!, false);
  });

  it("an infrastructure release, its values and what its upstream chart renders map to the chart pin that declares it", () => {
    const infraLines = readFileSync(path.join(REPO_ROOT, "definition/infrastructure.yaml"), "utf8").split("\n");
    const pinLine = infraLines.findIndex((l) => /^ {2}kube-prometheus-stack:/.test(l)) + 1;
    const base = { rule: "values/unknown-key", severity: "error" as const, message: "m", fix: "f" };
    const [values, rendered] = locateFindings(
      [
        { ...base, file: "infrastructure/controllers/monitoring/kube-prometheus-stack.yaml", object: "HelmRelease/monitoring/kube-prometheus-stack", field: "spec.values.grafana.typo" },
        { ...base, file: "x (rendered by HelmRelease/monitoring/kube-prometheus-stack)", object: "StatefulSet/monitoring/alertmanager", field: "spec", renderedBy: "HelmRelease/monitoring/kube-prometheus-stack" },
      ],
      generated,
    );
    for (const f of [values!, rendered!]) {
      assert.equal(f.file, "definition/infrastructure.yaml");
      assert.equal(f.field, "charts.kube-prometheus-stack");
      assert.equal(f.line, pinLine);
    }
    assert.equal(values!.generated?.field, "spec.values.grafana.typo");
    assert.equal(rendered!.generated?.object, "StatefulSet/monitoring/alertmanager");
  });

  it("the other component fields map by name", () => {
    const fields = locateFindings(
      ["spec.values.migration.activeDeadlineSeconds", "spec.values.migration.command[1]", "spec.values.probes.liveness.path", "spec.values.route.path", "spec.values.replicas"].map((x) => onBackend(x)),
      loaded,
    ).map((f) => f.field);
    assert.deepEqual(fields, [
      "components.backend.migration.deadlineSeconds",
      "components.backend.migration.command[1]",
      "components.backend.probes.liveness.path",
      "components.backend.route",
      "components.backend.replicas",
    ]);
  });
});
