import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { parseImage, unpinnedReason } from "../../src/core/image-ref.js";
import { APP_LABELS, C0, POD, REGISTRY, check, deployment, deploymentWith, findings, helmRelease, podSpec, type Obj } from "./policy-fixtures.js";

const only = (prefix: string, obj: KubeObject): Array<[string, string | undefined]> => check(obj).filter(([r]) => r.startsWith(prefix));

describe("workload/resources", () => {
  it("names the missing requests/limits in one finding per container", () => {
    const [f] = findings(deploymentWith((_, c) => (c.resources = { requests: { cpu: "100m" } })));
    assert.equal(f!.rule, "workload/resources");
    assert.equal(f!.field, `${C0}.resources`);
    assert.match(f!.message, /requests\.memory, limits\.cpu, limits\.memory/);
  });

  it("covers init containers but not ephemeral (debug) containers", () => {
    const obj = deploymentWith((s) => {
      s.initContainers = [{ ...structuredClone(s.containers[0]), name: "migrate", resources: undefined }];
      s.ephemeralContainers = [{ ...structuredClone(s.containers[0]), name: "debug", resources: undefined }];
    });
    assert.deepEqual(only("workload/", obj), [["workload/resources", `${POD}.initContainers[0].resources`]]);
  });
});

describe("workload/probes", () => {
  it("StatefulSets and DaemonSets need both probes on every container", () => {
    for (const kind of ["StatefulSet", "DaemonSet"]) {
      const obj = deployment((d) => {
        d.kind = kind;
        const c = d.spec.template.spec.containers[0];
        delete c.livenessProbe;
        delete c.readinessProbe;
      });
      assert.deepEqual(only("workload/", obj), [
        ["workload/probes", `${C0}.livenessProbe`],
        ["workload/probes", `${C0}.readinessProbe`],
      ]);
    }
  });

  it("Jobs, CronJobs and init containers need no probes", () => {
    const spec = podSpec();
    delete spec.containers[0].livenessProbe;
    delete spec.containers[0].readinessProbe;
    const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "backup", namespace: "ffl" }, spec: { template: { spec } } } as KubeObject;
    const cron = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "backup", namespace: "ffl" },
      spec: { schedule: "15 3 * * *", jobTemplate: { spec: { template: { spec: structuredClone(spec) } } } },
    } as KubeObject;
    assert.deepEqual(only("workload/", job), []);
    assert.deepEqual(only("workload/", cron), []);
    const withInit = deploymentWith((s) => (s.initContainers = [{ ...structuredClone(spec.containers[0]), name: "migrate" }]));
    assert.deepEqual(only("workload/", withInit), []);
  });
});

describe("image references", () => {
  it("parses registry ports, tags and digests", () => {
    assert.deepEqual(parseImage(`${REGISTRY}/ffl/backend`), { repository: `${REGISTRY}/ffl/backend` });
    assert.deepEqual(parseImage(`${REGISTRY}/ffl/backend:0.1.12`), { repository: `${REGISTRY}/ffl/backend`, tag: "0.1.12" });
    assert.deepEqual(parseImage("nginx:1.27@sha256:abc"), { repository: "nginx", tag: "1.27", digest: "sha256:abc" });
    assert.equal(unpinnedReason(parseImage(`${REGISTRY}/ffl/backend`)), "has no tag, so it means `latest`");
    assert.equal(unpinnedReason(parseImage("x:LATEST")), "uses the moving tag `latest`");
    assert.equal(unpinnedReason(parseImage("x:latest@sha256:abc")), undefined);
  });

  it("a missing tag behind a registry port is still a missing tag", () => {
    assert.deepEqual(
      only(
        "image/",
        deploymentWith((_, c) => (c.image = `${REGISTRY}/ffl/backend`)),
      ),
      [["image/pinned-tag", `${C0}.image`]],
    );
  });

  it("init and ephemeral container images must come from the registry too", () => {
    const obj = deploymentWith((s) => {
      s.initContainers = [{ ...structuredClone(s.containers[0]), name: "wait", image: "busybox:1.36" }];
    });
    assert.deepEqual(only("image/", obj), [["image/registry", `${POD}.initContainers[0].image`]]);
  });

  it("an image from another registry is one finding (registry), not also a naming finding", () => {
    const got = only(
      "image/",
      deploymentWith((_, c) => (c.image = "ghcr.io/ffl/backend:1.0.0")),
    );
    assert.deepEqual(got, [["image/registry", `${C0}.image`]]);
  });

  it("naming covers init containers but not ephemeral (debug) containers", () => {
    const obj = deploymentWith((s) => {
      s.initContainers = [{ ...structuredClone(s.containers[0]), name: "migrate", image: `${REGISTRY}/ffl/migrate:1.4.2` }];
      s.ephemeralContainers = [{ name: "debug", image: `${REGISTRY}/tools/debug:1.0.0`, securityContext: structuredClone(s.containers[0].securityContext) }];
    });
    assert.deepEqual(only("image/", obj), [["image/naming", `${POD}.initContainers[0].image`]]);
  });

  it("naming applies only with both part-of and component labels, read from the object or its pod template", () => {
    const flat = `${REGISTRY}/ffl-backend:1.4.2`;
    const noLabels = deployment((d) => {
      d.metadata.labels = {};
      d.spec.template.metadata.labels = {};
      d.spec.template.spec.containers[0].image = flat;
    });
    assert.deepEqual(only("image/", noLabels), []);
    const templateOnly = deployment((d) => {
      d.metadata.labels = {};
      d.spec.template.spec.containers[0].image = flat;
    });
    assert.deepEqual(only("image/", templateOnly), [["image/naming", `${C0}.image`]]);
    const [f] = findings(templateOnly);
    assert.match(f!.message, /192\.168\.7\.21:5000\/ffl\/backend"/);
  });
});

describe("images in HelmRelease values", () => {
  it("our app's chart: registry and naming apply to image.repository", () => {
    assert.deepEqual(only("image/", helmRelease({ image: { repository: `${REGISTRY}/ffl/backend`, tag: "0.1.12" } }, APP_LABELS)), []);
    assert.deepEqual(only("image/", helmRelease({ image: { repository: `${REGISTRY}/ffl-backend`, tag: "0.1.12" } }, APP_LABELS)), [["image/naming", "spec.values.image.repository"]]);
    assert.deepEqual(only("image/", helmRelease({ image: { repository: "docker.io/ffl/backend", tag: "0.1.12" } }, APP_LABELS)), [["image/registry", "spec.values.image.repository"]]);
  });

  it("registry + repository split (Bitnami style) and numeric tags are understood", () => {
    const values: Obj = { image: { registry: REGISTRY, repository: "ffl/backend", tag: 1.2 } };
    assert.deepEqual(only("image/", helmRelease(values, APP_LABELS)), []);
  });

  it("a third-party chart may pull from its vendor, but not an unpinned tag", () => {
    assert.deepEqual(only("image/", helmRelease({ controller: { image: { repository: "registry.k8s.io/ingress-nginx/controller", tag: "v1.13.3" } } })), []);
    assert.deepEqual(only("image/", helmRelease({ controller: { image: { repository: "quay.io/x/y", tag: "latest" } } })), [["image/pinned-tag", "spec.values.controller.image.tag"]]);
    assert.deepEqual(only("image/", helmRelease({ sidecars: [{ image: "busybox" }] })), [["image/pinned-tag", "spec.values.sidecars[0].image"]]);
  });

  it("no tag in values means the chart's own appVersion: pinned by the chart version", () => {
    assert.deepEqual(only("image/", helmRelease({ image: { repository: "quay.io/jetstack/cert-manager-controller" } })), []);
  });

  it("an empty tag is unpinned", () => {
    assert.deepEqual(only("image/", helmRelease({ image: { repository: `${REGISTRY}/ffl/backend`, tag: "" } }, APP_LABELS)), [["image/pinned-tag", "spec.values.image.tag"]]);
  });
});
