/**
 * `bk images`: the images of the fully rendered tree (every upstream chart rendered from the mirror with the
 * real helm), each with where it comes from.
 */
import assert from "node:assert/strict";
import { rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { imageInventory, type ImageEntry } from "../../src/workflows/images/inventory.js";
import { sharedCharts } from "../helpers/charts.js";
import { runBk } from "../helpers/cli.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";

const scratch: string[] = [];
after(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

describe("bk images", () => {
  it("lists every image of the rendered tree, upstream charts included, with its origin", async () => {
    const { images, findings } = await imageInventory(REPO_ROOT, { charts: { mirror: sharedCharts(), pull: false } });
    assert.deepEqual(findings, []);
    const byImage = new Map(images.map((i) => [i.image, i]));
    const get = (image: string): ImageEntry => {
      const e = byImage.get(image);
      assert.ok(e, `${image} is not listed; listed: ${[...byImage.keys()].join(", ")}`);
      return e;
    };

    const redis = get("192.168.7.21:5000/ffl/redis:7.4.2");
    assert.equal(redis.origin, "mirrored");
    assert.equal(redis.upstream, "docker.io/library/redis:7.4.2");
    assert.equal(redis.component, "ffl/redis");

    const backend = get("192.168.7.21:5000/ffl/backend:1.4.2");
    assert.equal(backend.origin, "app");
    // The migration Job runs the backend's image too.
    assert.deepEqual(backend.usedBy.map((u) => u.object).sort(), ["Deployment/ffl/ffl-backend", "Job/ffl/ffl-backend-migrate"]);

    const certManager = get("quay.io/jetstack/cert-manager-controller:v1.21.1");
    assert.equal(certManager.origin, "upstream");
    assert.deepEqual(certManager.usedBy, [
      { object: "Deployment/cert-manager/cert-manager", container: "container cert-manager-controller", source: "chart cert-manager v1.21.1 (HelmRelease/cert-manager/cert-manager)" },
    ]);

    // Images no pod template names: a custom resource's field, an operator's flag, istiod's injected proxy.
    assert.ok(get("ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie").usedBy.some((u) => u.object === "Cluster/infra/postgres" && u.container === "spec.imageName"));
    assert.match(get("quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1").usedBy[0]!.container, /--prometheus-config-reloader/);
    assert.match(get("docker.io/istio/proxyv2:1.30.3").usedBy[0]!.container, /istio-proxy \(injected by istiod\)/);
    assert.ok(!byImage.has("auto"), "istio's placeholder is listed as an image");

    // Our own registry Deployment is in the tree, not in a chart.
    assert.equal(get("docker.io/library/registry:3.0.0").usedBy[0]!.source, "infrastructure/configs/registry/registry.yaml");
    assert.deepEqual(
      images.filter((i) => i.origin === "unknown"),
      [],
    );
  });

  it("an image under the private registry that no component accounts for fails (exit 1), naming it", () => {
    const root = tempDefinition((d) => d.infra.setIn(["registry", "image"], "192.168.7.21:5000/library/registry:3.0.0"));
    scratch.push(root);
    symlinkSync(path.join(REPO_ROOT, "charts"), path.join(root, "charts"));
    const r = runBk(["images", "--no-upstream", "--json", "--root", root]);
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; images: ImageEntry[]; findings: Array<{ rule: string; message: string }> };
    assert.equal(out.ok, false);
    assert.equal(out.images.find((i) => i.image === "192.168.7.21:5000/library/registry:3.0.0")?.origin, "unknown");
    assert.deepEqual(
      out.findings.map((f) => f.rule),
      ["images/unaccounted"],
    );
    assert.match(out.findings[0]!.message, /192\.168\.7\.21:5000\/library\/registry:3\.0\.0 is named under the private registry, but no component .* \(used by Deployment\/registry\/registry\)/);
  });

  it("an unknown --origin is bad input (exit 2)", () => {
    const r = runBk(["images", "--origin", "nosuch"]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--origin nosuch is not one of app, mirrored, upstream, unknown/);
  });
});
