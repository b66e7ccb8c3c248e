/**
 * `bk validate` on the ha profile, against the real pinned charts (the shared mirror): the profile's patched
 * releases render through helm, their values are linted against the charts, and what the charts render is
 * checked for replicas, budget and spread. The CloudNativePG chart renders no PodDisruptionBudget for its
 * operator, which is why the definition accepts it: take the reason away and exactly that is reported.
 */
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { generate } from "../../src/pipeline.js";
import { validateTree } from "../../src/workflows/validate.js";
import { validateProfiles } from "../../src/workflows/validate-profiles.js";
import { sharedCharts, sharedCrds } from "../helpers/charts.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";

describe("bk validate on the ha profile, with the real charts", { timeout: 300_000 }, () => {
  it("reports the operator whose chart renders no budget once its reason is gone, and nothing else", async () => {
    const root = tempDefinition((d) => d.cluster.deleteIn(["profiles", "ha", "accepted", "cloudnative-pg"]));
    cpSync(path.join(REPO_ROOT, "charts"), path.join(root, "charts"), { recursive: true });
    const g = generate(root);
    const { findings, checks } = await validateProfiles(g, [], (m, tree, renderedChecks) =>
      validateTree(m, tree, { kustomize: false, renderedChecks, render: { root, scope: "all", charts: { mirror: sharedCharts() }, sources: { mirror: sharedCrds(), fetch: false } } }),
    );
    assert.deepEqual(checks, ["profiles"]);
    const errors = findings.filter((f) => f.severity === "error");
    assert.deepEqual(
      errors.map((f) => [f.rule, f.object, f.message]),
      [
        [
          "profile/rendered-single-point",
          "HelmRelease/cnpg-system/cloudnative-pg",
          "[profile ha] profile 'ha': Deployment/cnpg-system/cloudnative-pg, rendered by HelmRelease/cnpg-system/cloudnative-pg, has no PodDisruptionBudget selecting its pods",
        ],
      ],
    );
    assert.match(errors[0]!.fix, /'cloudnative-pg: <why>' under profiles\.ha\.accepted/);
  });
});
