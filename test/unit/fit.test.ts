import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { amountOf, checkFit, podUse, workloadUses } from "../../src/validate/fit.js";
import { nodeCapacity, reserveOf } from "../../src/workflows/fit.js";
import { FindingsError } from "../../src/core/finding.js";
import { loadDefinition } from "../../src/model/load.js";
import { generate } from "../../src/pipeline.js";
import { REPO_ROOT, tempDefinition, type DefinitionDocs } from "../helpers/definition.js";

const GI = 2 ** 30;
const MI = 2 ** 20;

const res = (cpu: string, memory: string, limCpu = cpu, limMemory = memory) => ({ requests: { cpu, memory }, limits: { cpu: limCpu, memory: limMemory } });

function deployment(name: string, replicas: number, containers: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "ns" },
    spec: { replicas, template: { metadata: {}, spec: { containers } }, ...extra },
  };
}
const daemonSet = (name: string, resources: unknown): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name, namespace: "ns" },
  spec: { template: { spec: { containers: [{ name, resources }] } } },
});

const node = { capacity: { cpu: 4000, memory: 8 * GI }, reserve: { cpu: 1000, memory: 2 * GI } };

describe("quantities in the scheduler's units", () => {
  it("reads CPU as millicores and memory as bytes, rounding up", () => {
    assert.equal(amountOf("1", "cpu"), 1000);
    assert.equal(amountOf("250m", "cpu"), 250);
    assert.equal(amountOf("0.1", "cpu"), 100);
    assert.equal(amountOf("1500u", "cpu"), 2);
    assert.equal(amountOf("512Mi", "memory"), 512 * MI);
    assert.equal(amountOf("1G", "memory"), 1e9);
    assert.equal(amountOf("lots", "memory"), undefined);
    assert.deepEqual(nodeCapacity({ cpus: 6, memory: "16g" }), { cpu: 6000, memory: 16 * GI });
    assert.deepEqual(reserveOf({ cpu: "1500m", memory: "2Gi" }), { cpu: 1500, memory: 2 * GI });
  });
});

describe("a pod's effective request", () => {
  it("is the larger of the heaviest init container and the sum of the regular ones", () => {
    const spec = {
      initContainers: [{ name: "migrate", resources: res("2", "64Mi") }],
      containers: [
        { name: "a", resources: res("100m", "128Mi") },
        { name: "b", resources: res("200m", "128Mi") },
      ],
    };
    assert.deepEqual(podUse(spec).requests, { cpu: 2000, memory: 256 * MI });
  });

  it("counts native sidecars (restartPolicy Always) with the containers and under every later init container", () => {
    const spec = {
      initContainers: [
        { name: "proxy", restartPolicy: "Always", resources: res("100m", "64Mi") },
        { name: "setup", resources: res("500m", "32Mi") },
      ],
      containers: [{ name: "app", resources: res("100m", "64Mi") }],
    };
    assert.deepEqual(podUse(spec).requests, { cpu: 600, memory: 128 * MI });
  });

  it("takes the limit as the request when only a limit is set, and has no bound without a limit", () => {
    const u = podUse({
      containers: [
        { name: "a", resources: { limits: { cpu: "300m", memory: "64Mi" } } },
        { name: "b", resources: { requests: { cpu: "100m", memory: "64Mi" } } },
      ],
    });
    assert.deepEqual(u.requests, { cpu: 400, memory: 128 * MI });
    assert.equal(u.limits.cpu, Number.POSITIVE_INFINITY);
  });
});

describe("checkFit", () => {
  it("fits: sums replicas × pods, a DaemonSet once on the one node, and leaves room for the largest surge", () => {
    const r = checkFit([deployment("web", 2, [{ name: "web", resources: res("500m", "512Mi", "1", "1Gi") }]), daemonSet("agent", res("100m", "128Mi"))], node);
    assert.equal(r.fits, true, r.problems.join("\n"));
    assert.deepEqual(r.requests, { cpu: 1100, memory: 1152 * MI });
    assert.deepEqual(r.limits, { cpu: 2100, memory: 2176 * MI });
    assert.deepEqual(r.allocatable, { cpu: 3000, memory: 6 * GI });
    // 25% of 2 replicas rounds up to one extra pod
    assert.deepEqual(r.headroom.needed, { cpu: 500, memory: 512 * MI });
    assert.match(r.headroom.neededBy.cpu, /Deployment\/ns\/web surges/);
    assert.deepEqual(r.problems, []);
  });

  it("does not fit: says how much is requested against what the node offers and names the largest consumers first", () => {
    const r = checkFit(
      [
        deployment("small", 1, [{ name: "s", resources: res("100m", "1Gi") }]),
        deployment("prometheus", 1, [{ name: "p", resources: res("200m", "4Gi") }]),
        deployment("loki", 1, [{ name: "l", resources: res("100m", "2Gi") }]),
      ],
      node,
    );
    assert.equal(r.fits, false);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /request 7 GiB of memory but the node offers 6 GiB \(after the system reserve\); the largest: Deployment\/ns\/prometheus 4 GiB, Deployment\/ns\/loki 2 GiB, Deployment\/ns\/small 1 GiB/);
  });

  it("fails when what is left is less than the largest rolling-update surge, naming it", () => {
    const big = deployment("big", 4, [{ name: "b", resources: res("250m", "1Gi") }], { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 2 } } });
    const r = checkFit([big, deployment("other", 1, [{ name: "o", resources: res("100m", "1Gi") }])], node);
    assert.deepEqual(r.requests, { cpu: 1100, memory: 5 * GI });
    assert.equal(r.fits, false);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /leaving 1 GiB: no room for Deployment\/ns\/big surges \(2 GiB more\); the largest: Deployment\/ns\/big 4 GiB/);
    // Recreate adds no pod: the same platform fits
    const recreate = deployment("big", 4, [{ name: "b", resources: res("250m", "1Gi") }], { strategy: { type: "Recreate" } });
    assert.equal(checkFit([recreate, deployment("other", 1, [{ name: "o", resources: res("100m", "1Gi") }])], node).fits, true);
  });

  it("counts Jobs and Helm hooks as room to keep free, not as steady load", () => {
    const job: KubeObject = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "migrate", namespace: "ns" }, spec: { template: { spec: { containers: [{ name: "m", resources: res("100m", "1536Mi") }] } } } };
    const r = checkFit([deployment("app", 1, [{ name: "a", resources: res("100m", "5Gi") }], { strategy: { type: "Recreate" } }), job], node);
    assert.deepEqual(r.requests, { cpu: 100, memory: 5 * GI });
    assert.equal(r.fits, false);
    assert.match(r.problems[0]!, /no room for Job\/ns\/migrate runs \(1.5 GiB more\)/);
  });

  it("reports BestEffort containers by workload and container, and counts operator-run pods from their resources", () => {
    const prometheus: KubeObject = { apiVersion: "monitoring.coreos.com/v1", kind: "Prometheus", metadata: { name: "p", namespace: "mon" }, spec: { replicas: 2, resources: res("200m", "1Gi") } };
    const operator = deployment("operator", 1, [{ name: "op", args: ["--prometheus-config-reloader=img", "--config-reloader-cpu-request=0", "--config-reloader-memory-request=0"], resources: res("10m", "32Mi") }]);
    const cluster: KubeObject = { apiVersion: "postgresql.cnpg.io/v1", kind: "Cluster", metadata: { name: "pg", namespace: "db" }, spec: { instances: 1, resources: res("100m", "256Mi") } };
    const uses = workloadUses([prometheus, operator, cluster, deployment("bare", 1, [{ name: "bare" }])]);
    assert.deepEqual(
      uses.map((u) => [u.ref, u.replicas, u.requests.cpu, u.bestEffort]),
      [
        ["Prometheus/mon/p", 2, 400, []],
        ["Prometheus/mon/p config-reloader", 2, 0, ["config-reloader"]],
        ["Deployment/ns/operator", 1, 10, []],
        ["Cluster/db/pg", 1, 100, []],
        ["Deployment/ns/bare", 1, 0, ["bare"]],
      ],
    );
    const r = checkFit([prometheus, operator, cluster, deployment("bare", 1, [{ name: "bare" }])], node);
    assert.equal(r.fits, false);
    assert.deepEqual(r.bestEffort, ["Prometheus/mon/p config-reloader config-reloader", "Deployment/ns/bare bare"]);
    assert.match(r.problems.at(-1)!, /2 container\(s\) request nothing and would run BestEffort/);
  });
});

describe("resources in the definition", () => {
  const findings = (edit: (d: DefinitionDocs) => void) => {
    try {
      loadDefinition(tempDefinition(edit));
    } catch (err) {
      assert.ok(err instanceof FindingsError);
      return err.findings.map((f) => `${f.field}: ${f.message} (fix: ${f.fix})`);
    }
    return assert.fail("the definition loaded");
  };

  it("sizes a container from its own entry, else from the default, apps included", () => {
    const { model: m, tree } = generate(REPO_ROOT);
    assert.deepEqual(m.resources.components.prometheus, { requests: { cpu: "200m", memory: "1Gi" }, limits: { cpu: "1", memory: "2Gi" } });
    assert.deepEqual(m.cluster.profile.reserved, { cpu: "1500m", memory: "2Gi" });
    const release = (name: string) =>
      tree.objects.find((p) => p.object.kind === "HelmRelease" && p.object.metadata.name === name)!.object.spec as { values: { resources?: unknown; prometheus?: { prometheusSpec?: { resources?: unknown } } } };
    assert.deepEqual(release("kube-prometheus-stack").values.prometheus?.prometheusSpec?.resources, m.resources.components.prometheus);
    assert.deepEqual(release("ffl-frontend").values.resources, m.resources.default);
  });

  it("refuses a container name it does not know, and a bad or missing reserve, naming the field", () => {
    const unknown = findings((d) => d.infra.setIn(["resources", "components", "prometheuz"], d.infra.createNode({ requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } })));
    assert.deepEqual(unknown, ["resources.components.prometheuz: unknown field 'prometheuz' (fix: remove the field or correct its spelling (see docs/definition.md for the fields each entry takes))"]);
    const reserve = findings((d) => d.cluster.setIn(["cluster", "profile", "reserved", "memory"], "2Gx"));
    assert.deepEqual(reserve, ["cluster.profile.reserved.memory: '2Gx' is not a Kubernetes quantity such as 2Gi (fix: write a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, ...), such as 2Gi)"]);
    const below = findings((d) => d.infra.setIn(["resources", "components", "loki", "limits", "memory"], "128Mi"));
    assert.deepEqual(below, [
      "resources.components.loki.limits.memory: the memory limit 128Mi is below the request 256Mi; Kubernetes refuses such a pod (fix: raise limits.memory to at least 256Mi, or lower requests.memory)",
    ]);
  });
});
