/**
 * The pure parts of `bk images`: where the definition says a third-party image comes from (the component's
 * `upstream:`), which images are mirrored, how archive names match upstream references, and the images an
 * object runs.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, it } from "node:test";
import { InputError } from "../../src/core/errors.js";
import { FindingsError } from "../../src/core/finding.js";
import type { KubeObject } from "../../src/core/object.js";
import { loadDefinition } from "../../src/model/load.js";
import { archiveName } from "../../src/workflows/images/archive.js";
import { imagesOf, injectedProxyImage } from "../../src/workflows/images/inventory.js";
import { mirrorItems, normalizeRef } from "../../src/workflows/images/mirror.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";

function withUpstream(value: string): string[] {
  const root = tempDefinition((d) => (d.apps["ffl"]!.get("components") as { setIn(p: string[], v: string): void }).setIn(["redis", "upstream"], value));
  try {
    loadDefinition(root);
    return [];
  } catch (err) {
    assert.ok(err instanceof FindingsError, String(err));
    return err.findings.map((f) => `${f.file} ${f.field ?? ""}: ${f.message}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe("a component's upstream image", () => {
  it("takes the component's tag when it names none, and keeps a pinned tag or digest", () => {
    const { model } = loadDefinition(REPO_ROOT);
    const redis = model.components.find((c) => c.id === "ffl/redis")!;
    assert.equal(redis.image.upstream, "docker.io/library/redis:7.4.2");
    assert.equal(model.components.find((c) => c.id === "ffl/backend")!.image.upstream, undefined);
    assert.deepEqual(withUpstream("docker.io/library/redis:7.4.2-alpine"), []);
    assert.deepEqual(withUpstream(`docker.io/library/redis@sha256:${"a".repeat(64)}`), []);
  });

  it("refuses a short name, `latest` and a bad reference, naming the field", () => {
    const [short] = withUpstream("redis");
    assert.match(short!, /definition\/apps\/ffl\.yaml components\.redis\.upstream: upstream image 'redis' does not name its registry/);
    assert.match(withUpstream("docker.io/library/redis:latest")[0]!, /uses the moving tag `latest`/);
    assert.match(withUpstream("docker.io/library/Redis")[0]!, /upper-case/);
  });
});

describe("mirrored images", () => {
  const { model } = loadDefinition(REPO_ROOT);

  it("are the components with an upstream, under the private registry (or --registry)", () => {
    assert.deepEqual(mirrorItems(model), [
      { component: "ffl/redis", upstream: "docker.io/library/redis:7.4.2", image: "192.168.7.21:5000/ffl/redis:7.4.2" },
      { component: "midwestmtg/redis", upstream: "docker.io/library/redis:7.4.2", image: "192.168.7.21:5000/midwestmtg/redis:7.4.2" },
      { component: "triager/redis", upstream: "docker.io/library/redis:7.4.2", image: "192.168.7.21:5000/triager/redis:7.4.2" },
    ]);
    assert.deepEqual(
      mirrorItems(model, { registry: "127.0.0.1:5000", only: ["192.168.7.21:5000/triager/redis:7.4.2"] }).map((i) => i.image),
      ["127.0.0.1:5000/triager/redis:7.4.2"],
    );
  });

  it("refuses an upstream under the private registry itself", () => {
    const root = tempDefinition((d) => (d.apps["ffl"]!.get("components") as { setIn(p: string[], v: string): void }).setIn(["redis", "upstream"], "192.168.7.21:5000/library/redis"));
    try {
      const self = loadDefinition(root).model;
      assert.throws(
        () => mirrorItems(self),
        (err: unknown) => err instanceof InputError && /the upstream of ffl\/redis \(192\.168\.7\.21:5000\/library\/redis:7\.4\.2\) is the private registry itself/.test(err.message),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses a name that is not a mirrored image", () => {
    assert.throws(
      () => mirrorItems(model, { only: ["ffl/backend"] }),
      (err: unknown) => err instanceof InputError && /mirrored: ffl\/redis, midwestmtg\/redis, triager\/redis/.test(err.message),
    );
  });

  it("match archives by Docker's normalized reference", () => {
    for (const r of ["redis:7.4.2", "library/redis:7.4.2", "docker.io/redis:7.4.2", "index.docker.io/library/redis:7.4.2"]) assert.equal(normalizeRef(r), "docker.io/library/redis:7.4.2", r);
    assert.equal(normalizeRef("127.0.0.1:5000/library/redis:7.4.2"), "127.0.0.1:5000/library/redis:7.4.2");
    assert.equal(normalizeRef("ghcr.io/org/img@sha256:abc"), "ghcr.io/org/img@sha256:abc");
    assert.equal(archiveName("ffl/backend:1.4.2"), "ffl_backend_1.4.2.tar");
  });
});

describe("the images an object runs", () => {
  const deployment = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "op", namespace: "x" }, spec: { template: { spec } } });

  it("are its init and regular containers, and the images an operator is told to start", () => {
    const o = deployment({
      initContainers: [{ name: "init", image: "docker.io/library/busybox:1.38.0" }],
      containers: [
        {
          name: "op",
          image: "quay.io/o/op:1.0.0",
          args: ["--prometheus-config-reloader=quay.io/o/reloader:1.0.0", "--log-level=info", "--some-image=not an image"],
          env: [
            { name: "OPERATOR_IMAGE_NAME", value: "ghcr.io/o/op:1.0.0" },
            { name: "LOG_LEVEL", value: "ghcr.io/looks/like:1.0" },
          ],
        },
      ],
    });
    assert.deepEqual(imagesOf(o), [
      { image: "docker.io/library/busybox:1.38.0", container: "init container init" },
      { image: "quay.io/o/op:1.0.0", container: "container op" },
      { image: "quay.io/o/reloader:1.0.0", container: "started by container op (--prometheus-config-reloader)" },
      { image: "ghcr.io/o/op:1.0.0", container: "started by container op (OPERATOR_IMAGE_NAME)" },
    ]);
  });

  it("is the image field of a custom resource whose operator runs it; other kinds run nothing", () => {
    const cluster: KubeObject = { apiVersion: "postgresql.cnpg.io/v1", kind: "Cluster", metadata: { name: "pg" }, spec: { imageName: "ghcr.io/cloudnative-pg/postgresql:18" } };
    assert.deepEqual(imagesOf(cluster), [{ image: "ghcr.io/cloudnative-pg/postgresql:18", container: "spec.imageName" }]);
    assert.deepEqual(imagesOf({ apiVersion: "example.com/v1", kind: "Deployment", metadata: { name: "d" }, spec: { template: { spec: { containers: [{ name: "c", image: "x/y:1" }] } } } }), []);
  });

  it("resolves istio's `auto` from the values istiod injects with", () => {
    const cm: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "istio-sidecar-injector" },
      data: { values: JSON.stringify({ global: { hub: "docker.io/istio", tag: "1.30.3", proxy: { image: "proxyv2" } } }) },
    };
    assert.equal(injectedProxyImage([cm]), "docker.io/istio/proxyv2:1.30.3");
    assert.equal(injectedProxyImage([]), undefined);
  });
});
