/**
 * Every HelmRelease rendered through its real upstream chart (the offline mirror in ../shared/charts, or a real
 * Helm repository served on loopback) with the real helm, and what is rendered checked like the tree.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ChartNotFoundError, resolveChart } from "../../src/adapters/charts.js";
import { helmBinary } from "../../src/adapters/tools.js";
import type { PlacedObject } from "../../src/core/object.js";
import { startChartRepo } from "../../src/devcluster/chartrepo.js";
import { freePorts } from "../../src/devcluster/net.js";
import { generate, locateFindings } from "../../src/pipeline.js";
import { renderReleases } from "../../src/workflows/render.js";
import { validateTree } from "../../src/workflows/validate.js";
import { sharedCharts, sharedCrds } from "../helpers/charts.js";
import { runBk } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/definition.js";

const scratch: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
};
after(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

const METALLB = { repository: "https://metallb.github.io/metallb", chart: "metallb", version: "0.16.1" };

describe("chart source", () => {
  it("finds a pinned chart in the mirror by Chart.yaml name and version, whatever the folder is called", async () => {
    const c = await resolveChart({ repository: "https://istio-release.storage.googleapis.com/charts", chart: "gateway", version: "1.30.3" }, { mirror: sharedCharts(), pull: false });
    assert.equal(c.from, "mirror");
    assert.equal(path.basename(c.dir), "istio-gateway-1.30.3");
    assert.match(c.digest, /^sha256:[0-9a-f]{64}$/);
  });

  it("is unavailable (exit 3) naming the chart, version and repository when neither mirror nor cache has it", async () => {
    const ref = { ...METALLB, version: "9.9.9" };
    await assert.rejects(resolveChart(ref, { mirror: sharedCharts(), cacheDir: tmp("bk-charts-"), pull: false }), (err: unknown) => {
      assert.ok(err instanceof ChartNotFoundError);
      assert.equal(err.exitCode, 3);
      assert.match(err.message, /chart metallb 9\.9\.9 from https:\/\/metallb\.github\.io\/metallb is not in the chart mirror/);
      return true;
    });
  });

  it("pulls from a real Helm repository once, then reads the digest-keyed cache", async () => {
    const [port] = await freePorts(1);
    const repo = await startChartRepo(tmp("bk-repo-"), port!, helmBinary());
    try {
      await repo.pushChart(path.join(sharedCharts(), "metallb-0.16.1"));
      const cacheDir = tmp("bk-charts-");
      const ref = { ...METALLB, repository: repo.url };
      const first = await resolveChart(ref, { cacheDir });
      assert.equal(first.from, "pulled");
      assert.ok(existsSync(path.join(first.dir, "Chart.yaml")));
      const second = await resolveChart(ref, { cacheDir, pull: false });
      assert.equal(second.from, "cache");
      assert.equal(second.digest, first.digest);
      assert.equal(second.dir, first.dir);
    } finally {
      await repo.close();
    }
  });

  it("says which chart could not be pulled when the repository does not answer", async () => {
    const [port] = await freePorts(1);
    await assert.rejects(
      resolveChart({ ...METALLB, repository: `http://127.0.0.1:${port}` }, { cacheDir: tmp("bk-charts-") }),
      /chart metallb 0\.16\.1 from http:\/\/127\.0\.0\.1:\d+ could not be pulled: .+; on a host without internet pass --charts/,
    );
  });
});

describe("every HelmRelease rendered through its real chart", () => {
  const generated = generate(REPO_ROOT);
  const { model, tree } = generated;
  const charts = { mirror: sharedCharts(), pull: false };
  const sources = { mirror: sharedCrds(), fetch: false };
  const kubeVersion = model.cluster.profile.kubernetesVersion;

  it("renders every upstream release and our application releases, and caches what it rendered", async () => {
    const cacheDir = tmp("bk-render-");
    const r = await renderReleases(REPO_ROOT, tree.objects, { scope: "all", charts, kubeVersion, cacheDir });
    assert.deepEqual(r.findings, []);
    const upstream = r.rendered.filter((x) => x.chart !== "app").map((x) => (x.chart === "app" ? "" : x.chart.chart));
    // Every chart the definition pins, each rendered once (its releases name them; VolSync came thirteenth).
    assert.deepEqual(upstream.sort(), [...new Set(Object.values(model.charts).map((p) => p.chart))].sort());
    assert.ok(upstream.includes("volsync") && upstream.includes("kube-prometheus-stack"), upstream.join(", "));
    const count = r.rendered.reduce((n, x) => n + x.objects.length, 0);
    assert.ok(count > 300, `${count} objects rendered`);
    // Helm test hooks are not installed by helm-controller unless the release enables tests.
    assert.equal(
      r.rendered.some((x) => x.objects.some((o) => o.metadata.annotations?.["helm.sh/hook"]?.includes("test"))),
      false,
    );
    // Namespaced objects the chart leaves without a namespace land in the release's, as helm-controller applies them.
    const metallb = r.rendered.find((x) => x.chart !== "app" && x.chart.chart === "metallb")!;
    assert.ok(metallb.objects.filter((o) => o.kind === "Deployment").every((o) => o.metadata.namespace === model.metallb.namespace));
    // A second run is served from the cache: a helm that always fails would otherwise surface.
    const saved = process.env["BK_HELM"];
    process.env["BK_HELM"] = "/bin/false";
    try {
      const again = await renderReleases(REPO_ROOT, tree.objects, { scope: "all", charts, kubeVersion, cacheDir });
      assert.deepEqual(
        again.rendered.map((x) => x.objects.length),
        r.rendered.map((x) => x.objects.length),
      );
    } finally {
      if (saved === undefined) delete process.env["BK_HELM"];
      else process.env["BK_HELM"] = saved;
    }
    assert.ok(readdirSync(cacheDir).length > 0);
  });

  it("renders charts that ask .Capabilities.APIVersions with the CRDs the tree's charts install, as the cluster will answer", async () => {
    // fluent-bit renders its ServiceMonitor only when the cluster serves monitoring.coreos.com/v1, which
    // kube-prometheus-stack's CRDs provide: a one-pass render would silently drop it.
    const objects: PlacedObject[] = tree.objects.map((p) => {
      if (p.object.kind !== "HelmRelease" || p.object.metadata.name !== "fluent-bit") return p;
      const spec = structuredClone(p.object.spec) as { values: Record<string, unknown> };
      spec.values["serviceMonitor"] = { enabled: true };
      return { ...p, object: { ...p.object, spec } };
    });
    const r = await renderReleases(REPO_ROOT, objects, { scope: "all", charts, kubeVersion, cacheDir: tmp("bk-render-") });
    const fluentBit = r.rendered.find((x) => x.chart !== "app" && x.chart.chart === "fluent-bit")!;
    assert.deepEqual(
      fluentBit.objects.filter((o) => o.kind === "ServiceMonitor").map((o) => o.metadata.name),
      ["fluent-bit"],
    );
    const crds = r.rendered
      .flatMap((x) => x.objects)
      .filter((o) => o.kind === "CustomResourceDefinition")
      .map((o) => o.metadata.name);
    assert.ok(crds.includes("servicemonitors.monitoring.coreos.com") && crds.includes("certificates.cert-manager.io"));
  });

  it("passes on the committed tree: no errors from any rendered chart", async () => {
    const v = await validateTree(model, tree, { kustomize: false, render: { root: REPO_ROOT, scope: "all", charts, sources } });
    assert.deepEqual(
      v.findings.filter((f) => f.severity === "error"),
      [],
    );
    assert.ok(v.checks.includes("upstream"));
    // The definition sizes every container the upstream charts run (issue 16): none is left to the chart's defaults.
    assert.deepEqual(
      v.findings.filter((f) => f.rule === "workload/resources"),
      [],
    );
  });

  it("finds what Pod Security would reject in an upstream chart's pods, at the HelmRelease that installs them", async () => {
    const objects: PlacedObject[] = tree.objects.map((p) => {
      if (p.object.kind !== "HelmRelease" || p.object.metadata.name !== "istiod") return p;
      const spec = structuredClone(p.object.spec) as { values: Record<string, unknown> };
      delete spec.values["seccompProfile"];
      return { ...p, object: { ...p.object, spec } };
    });
    const v = await validateTree(model, { ...tree, objects }, { kustomize: false, render: { root: REPO_ROOT, scope: "all", charts, sources } });
    const f = v.findings.find((x) => x.rule === "psa-restricted/seccomp");
    assert.ok(f, JSON.stringify(v.findings.filter((x) => x.severity === "error")));
    assert.equal(f.object, `Deployment/${model.istio.namespace}/istiod`);
    assert.equal(f.file, "infrastructure/controllers/istio/helmrelease.yaml (rendered by HelmRelease/istio-system/istiod)");
    assert.match(f.message, /namespace "istio-system" enforces Pod Security "restricted"/);
    // Traced to the definition entry that installs the chart, the rendered object kept as context.
    const [located] = locateFindings([f], { ...generated, tree: { objects } });
    assert.equal(located!.file, "definition/infrastructure.yaml");
    assert.equal(located!.field, "charts.istiod");
    assert.equal(located!.generated?.object, `Deployment/${model.istio.namespace}/istiod`);
  });

  it("bk validate renders the upstream charts from --charts, and exits 3 naming the chart when it cannot be had", () => {
    const ok = runBk(["validate", "--json", "--no-kustomize", "--charts", sharedCharts()], { env: { BK_CRDS: sharedCrds() } });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).checks, ["schema", "policy", "references", "render", "values", "upstream", "profiles"]);
    const empty = tmp("bk-mirror-");
    const missing = runBk(["validate", "--no-kustomize", "--charts", empty], { env: { BK_CRDS: sharedCrds(), XDG_CACHE_HOME: tmp("bk-cache-"), HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" } });
    assert.equal(missing.status, 3, missing.stderr);
    assert.match(missing.stderr, /chart \S+ \S+ from \S+ could not be pulled/);
  });
});
