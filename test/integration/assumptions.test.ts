/**
 * The upstream assumptions of the real tree, checked against its HelmReleases rendered by the real helm
 * through the real charts (the offline mirror) and the Gateway API release from ../shared/crds. No
 * upstream/* finding may remain; each of the defects issue 15 found is put back to show it is still caught.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { formatFinding } from "../../src/core/finding.js";
import type { KubeObject, PlacedObject } from "../../src/core/object.js";
import { generate } from "../../src/pipeline.js";
import { checkAssumptions, METRICS_SWITCHES, type SourceArtifact } from "../../src/validate/assumptions.js";
import { renderReleases, type Rendered } from "../../src/workflows/render.js";
import { readSourceArtifacts } from "../../src/workflows/upstream-sources.js";
import { validateTree } from "../../src/workflows/validate.js";
import { SourceNotFoundError } from "../../src/adapters/sources.js";
import { CHART_ROWS } from "../../src/model/infra-workloads.js";
import { FACTS_FILE, factsModule, renderedPodFacts } from "../../src/validate/upstream/pod-facts.js";
import { generateUpstreamFacts } from "../../src/workflows/upstream-facts.js";
import { sharedCharts, sharedCrds } from "../helpers/charts.js";
import { REPO_ROOT } from "../helpers/definition.js";

const { model, tree } = generate(REPO_ROOT);
const cacheDir = mkdtempSync(path.join(os.tmpdir(), "bk-assume-"));
const render = (objects: readonly PlacedObject[]) => renderReleases(REPO_ROOT, objects, { scope: "all", charts: { mirror: sharedCharts() }, kubeVersion: model.cluster.profile.kubernetesVersion, cacheDir });
let rendered: Rendered[] = [];
let artifacts: SourceArtifact[] = [];

/** The tree with one object changed by `edit` (a deep copy: the shared tree stays as generated). */
function edited(match: (o: KubeObject) => boolean, edit: (o: KubeObject) => void): PlacedObject[] {
  let hit = 0;
  const out = tree.objects.map((p) => {
    if (!match(p.object)) return p;
    hit++;
    const object = structuredClone(p.object);
    edit(object);
    return { ...p, object };
  });
  assert.equal(hit, 1, "the edit must hit exactly one object");
  return out;
}
const named = (kind: string, name: string) => (o: KubeObject) => o.kind === kind && o.metadata.name === name;
const upstreamRules = (objects: readonly PlacedObject[], r: readonly Rendered[] = rendered, a: readonly SourceArtifact[] = artifacts, m = model) => checkAssumptions(m, objects, r, a).map((f) => `${f.rule} ${f.object}`);
/** Render one HelmRelease of `objects` (with the HelmRepositories) and put it in place of its render in `rendered`. */
async function rerender(objects: readonly PlacedObject[], name: string): Promise<{ one: Rendered; all: Rendered[] }> {
  const r = await render(objects.filter((p) => p.object.kind === "HelmRepository" || named("HelmRelease", name)(p.object)));
  const one = r.rendered[0]!;
  return { one, all: rendered.map((x) => (x.release.object.metadata.name === name ? one : x)) };
}

describe("upstream assumptions of the real tree", () => {
  before(async () => {
    const r = await render(tree.objects);
    assert.deepEqual(r.findings, []);
    rendered = r.rendered;
    artifacts = await readSourceArtifacts(model, tree.objects, { mirror: sharedCrds(), fetch: false });
  });
  after(() => rmSync(cacheDir, { recursive: true, force: true }));

  it("hold: no upstream/* finding remains", () => {
    const upstream = tree.objects.filter(
      (p) => p.object.kind === "HelmRelease" && p.object.metadata.namespace !== undefined && !model.components.some((c) => c.fullname === p.object.metadata.name && c.namespace === p.object.metadata.namespace),
    );
    assert.ok(upstream.length >= 13, `the tree installs the upstream charts (${upstream.length})`);
    assert.equal(rendered.filter((r) => r.chart !== "app").length, upstream.length, "every upstream HelmRelease rendered");
    assert.deepEqual(checkAssumptions(model, tree.objects, rendered, artifacts).map(formatFinding), []);
  });

  it("the Gateway API release is read at the pinned tag and holds the kinds infra-configs uses", () => {
    assert.deepEqual(
      artifacts.map((a) => `${a.url} ${a.ref} ${a.path}`),
      ["https://github.com/kubernetes-sigs/gateway-api v1.6.1 config/crd/standard"],
    );
    const kinds = artifacts[0]!.objects.filter((o) => o.kind === "CustomResourceDefinition").map((o) => (o.spec as { names: { kind: string } }).names.kind);
    assert.ok(kinds.includes("Gateway") && kinds.includes("HTTPRoute"), kinds.join(","));
    assert.deepEqual(upstreamRules(tree.objects, rendered, []), ["upstream/crd-source Kustomization/flux-system/gateway-api-crds", "upstream/crd-order Gateway/istio-ingress/bk-gateway"]);
  });

  it("catch a mesh principal no rendered pod runs as: a component's and the gateway's (upstream/mesh-identity)", () => {
    const swap = (from: string, to: string) => (o: KubeObject) => {
      const rules = (o.spec as { rules: Array<{ from: Array<{ source: { principals: string[] } }> }> }).rules;
      const source = rules[0]!.from[0]!.source;
      assert.ok(source.principals.includes(from), `${o.metadata.name} names ${from}`);
      source.principals = source.principals.map((p) => (p === from ? to : p));
    };
    const ap = (ns: string, name: string) => (o: KubeObject) => o.kind === "AuthorizationPolicy" && o.metadata.namespace === ns && o.metadata.name === name;
    assert.deepEqual(upstreamRules(edited(ap("ffl", "allow-backend-from-frontend"), swap("cluster.local/ns/ffl/sa/ffl-frontend", "cluster.local/ns/ffl/sa/frontend"))), [
      "upstream/mesh-identity AuthorizationPolicy/ffl/allow-backend-from-frontend",
    ]);
    assert.deepEqual(upstreamRules(edited(ap("ffl", "allow-frontend-from-gateway"), swap("cluster.local/ns/istio-ingress/sa/bk-gateway", "cluster.local/ns/istio-ingress/sa/istio-ingressgateway"))), [
      "upstream/mesh-identity AuthorizationPolicy/ffl/allow-frontend-from-gateway",
    ]);
  });

  it("istiod's injector, as the chart renders it, redirects traffic through the CNI agent and injects native sidecars", () => {
    const cm = rendered.flatMap((r) => r.objects).find((o) => o.kind === "ConfigMap" && o.metadata.name === "istio-sidecar-injector")!;
    const values = JSON.parse((cm as unknown as { data: { values: string } }).data.values) as { pilot: { cni: { enabled: boolean }; env: Record<string, string> } };
    assert.equal(values.pilot.cni.enabled, true);
    assert.equal(values.pilot.env.ENABLE_NATIVE_SIDECARS, "true");
  });

  it("catch the cert-manager ServiceMonitor on tcp-prometheus-servicemonitor", () => {
    const objects = edited(named("ServiceMonitor", "cert-manager"), (o) => {
      (o.spec as { endpoints: Array<{ port: string }> }).endpoints[0]!.port = "tcp-prometheus-servicemonitor";
    });
    assert.deepEqual(upstreamRules(objects), ["upstream/servicemonitor-port ServiceMonitor/monitoring/cert-manager"]);
  });

  it("catch the MetalLB NetworkPolicy on 7472", () => {
    const objects = edited(named("NetworkPolicy", "allow-metallb-controller-from-prometheus"), (o) => {
      (o.spec as { ingress: Array<{ ports: Array<{ port: number }> }> }).ingress[0]!.ports[0]!.port = 7472;
    });
    assert.deepEqual(upstreamRules(objects), ["upstream/netpol-port NetworkPolicy/metallb-system/allow-metallb-controller-from-prometheus"]);
  });

  it("catch the Model's MetalLB controller listening on 7472", () => {
    const w = model.workloads.metallbController;
    const stale = {
      ...model,
      workloads: {
        ...model.workloads,
        metallbController: {
          ...w,
          ports: [
            { name: "webhook-server", port: 9443, protocol: "TCP" as const },
            { name: "monitoring", port: 7472, protocol: "TCP" as const },
          ],
        },
      },
    };
    assert.deepEqual(upstreamRules(tree.objects, rendered, artifacts, stale), ["upstream/workload-facts metallbController"]);
  });

  it("the committed upstream facts are what the charts render (npm run gen:facts): CI's drift check", async () => {
    const committed = readFileSync(path.join(REPO_ROOT, FACTS_FILE), "utf8");
    const once = factsModule(renderedPodFacts(model, CHART_ROWS, tree.objects, rendered));
    assert.equal(once, factsModule(renderedPodFacts(model, CHART_ROWS, tree.objects, rendered)), "the generator is deterministic");
    assert.equal(once, committed, `${FACTS_FILE} is older than the charts: run npm run gen:facts`);
    // the workflow the script runs renders on its own and writes the same bytes
    const generated = await generateUpstreamFacts(REPO_ROOT, { mirror: sharedCharts(), cacheDir });
    assert.equal(generated.text, committed);
    assert.deepEqual(Object.keys(generated.facts).sort(), [...CHART_ROWS].sort());
  });

  it("a chart bump without npm run gen:facts is caught by the module test and by bk validate", () => {
    const bumped = rendered.map((r) => {
      if (r.release.object.metadata.name !== "metallb") return r;
      const object = structuredClone(r.release.object);
      (object.spec as { chart: { spec: { version: string } } }).chart.spec.version = "0.16.2";
      return { ...r, release: { ...r.release, object } };
    });
    assert.notEqual(factsModule(renderedPodFacts(model, CHART_ROWS, tree.objects, bumped)), readFileSync(path.join(REPO_ROOT, FACTS_FILE), "utf8"));
    const found = checkAssumptions(model, tree.objects, bumped, artifacts);
    assert.deepEqual(
      found.map((f) => `${f.rule} ${f.object}: ${f.message.split(": ").at(-1)} | ${f.fix}`),
      ["upstream/workload-facts metallbController: generated from metallb 0.16.1, rendered by metallb 0.16.2 | run npm run gen:facts and commit src/model/upstream-facts.generated.ts"],
    );
  });

  it("catch a tree without the Gateway API source", () => {
    const objects = tree.objects.filter((p) => !p.file.startsWith("infrastructure/controllers/gateway-api/"));
    assert.deepEqual(upstreamRules(objects), ["upstream/crd-order Gateway/istio-ingress/bk-gateway"]);
  });

  it("the metrics switch table holds for the ChartMuseum chart as rendered: DISABLE_METRICS is dropped, ENABLE_METRICS reaches the container", async () => {
    const museum = rendered.find((r) => r.release.object.metadata.name === "chartmuseum")!;
    const container = (r: Rendered) =>
      (r.objects.find((o) => o.kind === "Deployment")!.spec as { template: { spec: { containers: Array<{ image: string; env?: Array<{ name: string; value?: string }> }> } } }).template.spec.containers[0]!;
    const [sw] = METRICS_SWITCHES;
    assert.match(container(museum).image, sw.image);
    assert.ok(container(museum).env?.some((e) => e.name === sw.env && e.value === sw.value));

    const before15 = edited(named("HelmRelease", "chartmuseum"), (o) => {
      const open = (o.spec as { values: { env: { open: Record<string, unknown> } } }).values.env.open;
      delete open.ENABLE_METRICS;
      open.DISABLE_METRICS = false;
    });
    const { one, all } = await rerender(before15, "chartmuseum");
    assert.ok(!container(one).env?.some((e) => e.name.endsWith("_METRICS")), "the chart drops DISABLE_METRICS=false");
    assert.deepEqual(upstreamRules(before15, all), ["upstream/metrics-enabled Deployment/infra/chartmuseum"]);
  });

  it("catch Grafana's admin login sealed into infra-configs while Grafana is installed by infra-controllers", async () => {
    const before15 = edited(named("HelmRelease", "kube-prometheus-stack"), (o) => {
      const values = (o.spec as { values: { grafana: Record<string, unknown> } }).values;
      values.grafana.admin = { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" };
    });
    const declared = { ...model, secrets: [...model.secrets, { namespace: model.monitoring.namespace, name: "grafana-admin", keys: {}, owner: "infra:monitoring" }] };
    const { all } = await rerender(before15, "kube-prometheus-stack");
    assert.deepEqual(upstreamRules(before15, all, artifacts, declared), ["upstream/secret-source Deployment/monitoring/kube-prometheus-stack-grafana"]);
    // as the tree has it now, the chart renders the login Secret itself
    const own = rendered.find((r) => r.release.object.metadata.name === "kube-prometheus-stack")!.objects.find((o) => o.kind === "Secret" && o.metadata.name === "kube-prometheus-stack-grafana");
    assert.ok(own, "the chart renders Grafana's admin Secret");
  });

  it("bk validate with every chart rendered runs them and has no upstream/* finding", async () => {
    const xdg = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = cacheDir;
    try {
      const r = await validateTree(model, tree, { kustomize: false, render: { root: REPO_ROOT, scope: "all", charts: { mirror: sharedCharts() }, sources: { mirror: sharedCrds(), fetch: false } } });
      assert.ok(r.checks.includes("upstream"), r.checks.join(","));
      assert.deepEqual(r.findings.filter((f) => f.rule.startsWith("upstream/")).map(formatFinding), []);
    } finally {
      if (xdg === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = xdg;
    }
  });

  it("refuses a mirror holding another Gateway API release, and names a missing one", async () => {
    const mirror = mkdtempSync(path.join(os.tmpdir(), "bk-crds-"));
    try {
      await assert.rejects(readSourceArtifacts(model, tree.objects, { mirror, fetch: false, cacheDir: mirror }), (e: unknown) => e instanceof SourceNotFoundError && /gateway-api at v1\.6\.1/.test(e.message));
      cpSync(path.join(sharedCrds(), "gateway-api"), path.join(mirror, "gateway-api"), { recursive: true });
      const f = path.join(mirror, "gateway-api", "gateway.networking.k8s.io_gateways.yaml");
      writeFileSync(f, readFileSync(f, "utf8").replace("bundle-version: v1.6.1", "bundle-version: v1.5.0"));
      await assert.rejects(readSourceArtifacts(model, tree.objects, { mirror, fetch: false }), /release v1\.5\.0, the tree pins v1\.6\.1/);
    } finally {
      rmSync(mirror, { recursive: true, force: true });
    }
  });
});
