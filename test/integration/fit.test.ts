/**
 * It fits the node (issue 16): the whole tree rendered through the real charts (upstream ones from the mirror,
 * with the real helm) leaves no container without requests and limits, and `bk plan` adds them up against the
 * profile, failing with the largest consumers named when they do not fit.
 */
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { objectRef, type KubeObject } from "../../src/core/object.js";
import { containersOf, podTemplateOf } from "../../src/core/pod-spec.js";
import { generate } from "../../src/pipeline.js";
import { checkFit } from "../../src/validate/fit.js";
import { nodeCapacity, reserveOf } from "../../src/workflows/fit.js";
import { renderReleases } from "../../src/workflows/render.js";
import { sharedCharts } from "../helpers/charts.js";
import { runBk } from "../helpers/cli.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";
import { scratchDirs } from "../helpers/scratch.js";

const { tmp, adopt } = scratchDirs();
const SIZED = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];

/** What a container leaves unset of SIZED. */
function unsized(resources: unknown): string[] {
  const r = (resources ?? {}) as Record<string, Record<string, unknown> | undefined>;
  return SIZED.filter((k) => {
    const [kind, res] = k.split(".") as [string, string];
    const v = r[kind]?.[res];
    return v === undefined || v === null || v === "" || v === 0 || v === "0";
  });
}

describe("the platform fits its node (issue 16)", () => {
  const g = generate(REPO_ROOT);
  const rendering = renderReleases(REPO_ROOT, g.tree.objects, { scope: "all", charts: { mirror: sharedCharts(), pull: false }, kubeVersion: g.model.cluster.profile.kubernetesVersion });
  const objectsOf = async (): Promise<KubeObject[]> => {
    const r = await rendering;
    assert.deepEqual(r.findings, []);
    return [...g.tree.objects.filter((p) => p.object.kind !== "HelmRelease").map((p) => p.object), ...r.rendered.flatMap((x) => x.objects)];
  };

  it("every container of every rendered workload, upstream charts included, has requests and limits for cpu and memory", async () => {
    const objects = await objectsOf();
    const gaps: string[] = [];
    let containers = 0;
    for (const o of objects) {
      const pt = podTemplateOf(o);
      if (pt)
        for (const c of containersOf(pt, ["initContainers", "containers"])) {
          containers++;
          const missing = unsized(c.container.resources);
          if (missing.length) gaps.push(`${objectRef(o)} ${c.name}: ${missing.join(", ")}`);
        }
      // Pods an operator starts from a custom resource: sized by the resource's spec.resources.
      if (["Prometheus", "Alertmanager", "Cluster"].includes(o.kind)) {
        containers++;
        const missing = unsized((o.spec as { resources?: unknown }).resources);
        if (missing.length) gaps.push(`${objectRef(o)}: ${missing.join(", ")}`);
      }
      // The config reloader the Prometheus Operator adds to both is sized by its flags; 0 means unset.
      for (const arg of pt ? containersOf(pt, ["containers"]).flatMap((c) => (c.container.args as string[] | undefined) ?? []) : [])
        if (/^--config-reloader-(cpu|memory)-(request|limit)=0?$/.test(arg)) gaps.push(`${objectRef(o)}: ${arg}`);
    }
    assert.ok(containers >= 40, `only ${containers} containers rendered`);
    assert.deepEqual(gaps, []);
  });

  it("none runs BestEffort, and the platform fits the profile less its reserve with room for the largest rolling update", async () => {
    const p = g.model.cluster.profile;
    const r = checkFit(await objectsOf(), { capacity: nodeCapacity(p), reserve: reserveOf(p.reserved) });
    assert.deepEqual(r.bestEffort, []);
    assert.equal(r.fits, true, r.problems.join("\n"));
    const refs = r.workloads.map((w) => w.ref);
    for (const ref of [
      "Prometheus/monitoring/kube-prometheus-stack-prometheus",
      "Deployment/monitoring/kube-prometheus-stack-grafana",
      "StatefulSet/logging/loki",
      "Deployment/cert-manager/cert-manager",
      "Cluster/infra/postgres",
      "DaemonSet/logging/fluent-bit",
    ])
      assert.ok(refs.includes(ref), `${ref} is not among the workloads: ${refs.join(", ")}`);
    const prometheus = r.workloads.find((w) => w.ref === "Prometheus/monitoring/kube-prometheus-stack-prometheus")!;
    assert.deepEqual(prometheus.requests, { cpu: 200, memory: 2 ** 30 });
  });

  it("bk plan prints requests and limits against the node; --json carries the same", () => {
    const human = runBk(["plan", "--no-kustomize", "--charts", sharedCharts()]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /Resources \(6 CPUs, 16g memory, less 1500m CPU and 2Gi reserved\)/);
    assert.match(human.stdout, /allocatable\s+4\.5 CPU\s+14 GiB/);
    assert.match(human.stdout, /Prometheus\/monitoring\/kube-prometheus-stack-prometheus\s+1\s+0\.2 CPU \/ 1 CPU\s+1 GiB \/ 2 GiB/);
    assert.match(human.stdout, /fits, with room for the largest rolling update/);
    const json = runBk(["plan", "--json", "--no-kustomize", "--charts", sharedCharts()]);
    assert.equal(json.status, 0, json.stderr);
    const res = JSON.parse(json.stdout).resources;
    assert.equal(res.checked, true);
    assert.equal(res.fits, true);
    assert.deepEqual(res.bestEffort, []);
    assert.deepEqual(res.allocatable, { cpuMillis: 4500, memoryBytes: 14 * 2 ** 30 });
    assert.ok(res.workloads.length >= 36);
  });

  it("bk plan exits 1 naming the largest consumers when the platform does not fit the node", () => {
    const root = adopt(tempDefinition((d) => d.cluster.setIn(["cluster", "profile", "memory"], "6g")));
    cpSync(path.join(REPO_ROOT, "charts/app"), path.join(root, "charts/app"), { recursive: true });
    const r = runBk(["--root", root, "plan", "--no-kustomize", "--charts", sharedCharts()]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /bk plan: the platform does not fit the node/);
    assert.match(r.stderr, /the workloads request 4\.\d+ GiB of memory but the node offers 4 GiB \(after the system reserve\); the largest: Prometheus\/monitoring\/kube-prometheus-stack-prometheus 1 GiB, /);
    const json = JSON.parse(runBk(["--root", root, "plan", "--json", "--no-kustomize", "--charts", sharedCharts()]).stdout);
    assert.equal(json.resources.fits, false);
    assert.equal(json.resources.problems.length, 1);
  });

  it("bk plan on a fresh clone (no mirror, empty chart cache) says the fit was not checked, and why, and exits 0", () => {
    const r = runBk(["plan", "--no-kustomize"], { env: { BK_SHARED: "", BK_CHARTS: "", XDG_CACHE_HOME: tmp("bk-cache-") } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Resources .*\n {2}not checked: chart \S+ \S+ from \S+ is not in any chart mirror nor in the chart cache; pass --charts <dir>/);
  });
});
