import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { durationMs, formatDuration } from "../../src/core/duration.js";
import type { PlacedObject } from "../../src/core/object.js";
import { generate } from "../../src/pipeline.js";
import { checkTimeouts } from "../../src/validate/timeouts.js";
import { REPO_ROOT } from "../helpers/definition.js";

describe("Go durations", () => {
  it("reads what Flux and Helm write, and refuses what they would not", () => {
    assert.equal(durationMs("35m"), 35 * 60_000);
    assert.equal(durationMs("1h30m"), 90 * 60_000);
    assert.equal(durationMs("90s"), 90_000);
    assert.equal(durationMs("15"), undefined);
    assert.equal(durationMs("15 m"), undefined);
    assert.equal(formatDuration(40 * 60_000), "40m");
    assert.equal(formatDuration(90_000), "90s");
  });
});

describe("timeouts/kustomization-shorter", () => {
  const { tree } = generate(REPO_ROOT);

  it("holds on the generated tree: the apps layer outlasts the slowest release (a 35m migration)", () => {
    assert.deepEqual(checkTimeouts(tree.objects), []);
    const apps = tree.objects.find((p) => p.object.kind === "Kustomization" && p.object.metadata.name === "apps")!;
    assert.equal((apps.object.spec as { timeout: string }).timeout, "40m");
  });

  // Each profile's cluster has its own apps layer (clusters/<profile>/apps.yaml); only the base one is shortened.
  it("names the layer, its timeout and the slowest release when the layer gives up first (incident 5)", () => {
    const objects: PlacedObject[] = tree.objects.map((p) => (p.file === "clusters/minikube/apps.yaml" ? { ...p, object: { ...p.object, spec: { ...(p.object.spec as object), timeout: "20m" } } } : p));
    const findings = checkTimeouts(objects);
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.object, "Kustomization/flux-system/apps");
    assert.equal(f.file, "clusters/minikube/apps.yaml");
    assert.equal(f.field, "spec.timeout");
    assert.match(f.message, /^Kustomization apps gives up after 20m, but HelmRelease\/\S+ \(apps\/\S+\.yaml\) may take 35m: the layer would report failure while that upgrade still runs$/);
  });
});
