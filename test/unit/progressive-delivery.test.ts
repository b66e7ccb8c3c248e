/**
 * Progressive delivery (issue 19, item 3): the Canary objects synth makes from a component's `canary:` for both
 * routings (checked against Flagger's CRD schema, extracted from the chart's crds/), the route handed to Flagger,
 * Flagger's HelmRelease, and the definition errors.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { FindingsError } from "../../src/core/finding.js";
import { indentFlowScalarContinuations } from "../../src/core/flow-scalar-indent.js";
import type { KubeObject, PlacedObject } from "../../src/core/object.js";
import { loadDefinition } from "../../src/model/load.js";
import { validateObjects } from "../../src/schema/validate.js";
import { synthesize } from "../../src/synth/index.js";
import { checkFlagger } from "../../src/validate/upstream/flagger.js";
import { canaryBudgetMs, canaryVerdict, describeCanary } from "../../src/workflows/canary-rollout.js";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT, tempDefinition, type DefinitionDocs } from "../helpers/definition.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests read nested fields of generated objects, which have no declared type here
type Spec = Record<string, any>;
const specOf = (o: KubeObject) => (o as unknown as { spec: Spec }).spec;
const find = (tree: PlacedObject[], kind: string, name: string, ns?: string) => tree.find((p) => p.object.kind === kind && p.object.metadata.name === name && (ns === undefined || p.object.metadata.namespace === ns));

/** The real definition with ffl's backend opted in (and the loadtester named), routed as `routes` says. */
function withBackendCanary(routes: "gateway-api" | "ingress-nginx", canary: Record<string, unknown>, edit?: (d: DefinitionDocs) => void) {
  const root = tempDefinition((d) => {
    d.cluster.setIn(["network", "routes"], routes);
    d.infra.setIn(["progressiveDelivery", "loadtester"], "http://flagger-loadtester.istio-system/");
    d.apps["ffl"]!.setIn(["components", "backend", "canary"], canary);
    edit?.(d);
  });
  const { model } = loadDefinition(root);
  return { model, tree: synthesize(model) };
}

const STEPS = { interval: "30s", threshold: 2, stepWeight: 10, maxWeight: 40, metrics: { requestSuccessRate: 98, requestDurationMs: 300 }, smokeTest: "rollout" };

describe("Canary objects from the definition", () => {
  it("Istio gateway routing: provider istio, the Deployment and port, the VirtualService bound to the tree's gateway pods, matched on the route", async () => {
    const { tree } = withBackendCanary("gateway-api", STEPS);
    const canary = find(tree, "Canary", "ffl-backend", "ffl")!;
    assert.equal(canary.file, "apps/ffl/backend-canary.yaml");
    const s = specOf(canary.object);
    assert.equal(s["provider"], "istio");
    assert.deepEqual(s["targetRef"], { apiVersion: "apps/v1", kind: "Deployment", name: "ffl-backend" });
    assert.equal(s["ingressRef"], undefined);
    assert.deepEqual(s["service"], { port: 8000, targetPort: 8000, gateways: ["istio-ingress/bk-gateway-canary"], hosts: ["*"], match: [{ uri: { prefix: "/ffl/api" } }] });
    assert.deepEqual({ ...s["analysis"], metrics: undefined, webhooks: undefined }, { interval: "30s", threshold: 2, stepWeight: 10, maxWeight: 40, metrics: undefined, webhooks: undefined });
    assert.deepEqual(s["analysis"].metrics, [
      { name: "request-success-rate", thresholdRange: { min: 98 }, interval: "1m" },
      { name: "request-duration", thresholdRange: { max: 300 }, interval: "1m" },
    ]);
    assert.deepEqual(s["analysis"].webhooks, [
      {
        name: "smoke-test",
        type: "rollout",
        url: "http://flagger-loadtester.istio-system/",
        timeout: "30s",
        metadata: { type: "cmd", cmd: "curl -sf --max-time 10 http://ffl-backend-canary.ffl:8000/ffl/api/health" },
      },
    ]);
    assert.deepEqual(await validateObjects([canary]), [], "Flagger's CRD schema accepts it");
  });

  it("the Istio Gateway Flagger binds to selects the gateway chart's pods and serves both ports", async () => {
    const { tree } = withBackendCanary("gateway-api", STEPS);
    const gw = find(tree, "Gateway", "bk-gateway-canary", "istio-ingress")!;
    assert.equal(gw.object.apiVersion, "networking.istio.io/v1");
    assert.equal(gw.file, "infrastructure/configs/gateway/canary-gateway.yaml");
    assert.deepEqual(specOf(gw.object)["selector"], { istio: "bk-gateway" });
    assert.deepEqual(
      specOf(gw.object)["servers"].map((x: Spec) => x["port"].number),
      [80, 443],
    );
    assert.deepEqual(await validateObjects([gw]), [], "Istio's CRD schema accepts it");
  });

  it("hands the route over: the chart renders no HTTPRoute for a canary on the gateway, and still does for the others", () => {
    const { tree } = withBackendCanary("gateway-api", STEPS, (d) => d.apps["ffl"]!.deleteIn(["components", "frontend", "canary"]));
    const route = (name: string) => (specOf(find(tree, "HelmRelease", name, "ffl")!.object)["values"] as Spec)["route"];
    assert.deepEqual(route("ffl-backend"), { enabled: false });
    assert.equal(route("ffl-frontend").enabled, true);
    assert.equal(route("ffl-frontend").kind, "httproute");
  });

  it("ingress-nginx routing: provider nginx with the chart's Ingress as ingressRef, which the chart keeps rendering", async () => {
    const { tree } = withBackendCanary("ingress-nginx", { stepWeights: [5, 20, 50], smokeTest: "pre-rollout" });
    const canary = find(tree, "Canary", "ffl-backend", "ffl")!;
    const s = specOf(canary.object);
    assert.equal(s["provider"], "nginx");
    assert.deepEqual(s["ingressRef"], { apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "ffl-backend" });
    assert.deepEqual(s["service"], { port: 8000, targetPort: 8000 });
    assert.deepEqual(s["analysis"].stepWeights, [5, 20, 50]);
    assert.equal(s["analysis"].stepWeight, undefined);
    assert.equal(s["analysis"].webhooks[0].type, "pre-rollout");
    // Defaults: 1m steps, five failed checks, 99 % and 500 ms.
    assert.equal(s["analysis"].interval, "1m");
    assert.equal(s["analysis"].threshold, 5);
    assert.deepEqual(s["analysis"].metrics[0].thresholdRange, { min: 99 });
    assert.deepEqual(s["analysis"].metrics[1].thresholdRange, { max: 500 });
    assert.equal((specOf(find(tree, "HelmRelease", "ffl-backend", "ffl")!.object)["values"] as Spec)["route"].kind, "ingress");
    assert.equal(find(tree, "Gateway", "bk-gateway-canary"), undefined, "no Istio Gateway without a canary on it");
    assert.deepEqual(await validateObjects([canary]), []);
  });

  it("smokeTest: none leaves the webhook out; the CRD schema refuses what Flagger does not know", async () => {
    const { tree } = withBackendCanary("ingress-nginx", { ...STEPS, smokeTest: "none" });
    const canary = find(tree, "Canary", "ffl-backend", "ffl")!;
    assert.equal(specOf(canary.object)["analysis"].webhooks, undefined);
    const bad = { ...canary, object: { ...canary.object, spec: { ...specOf(canary.object), provider: 7 } } as unknown as KubeObject };
    assert.ok((await validateObjects([bad])).length > 0);
  });

  it("Flagger's HelmRelease: the pinned chart with its CRDs, meshProvider istio, the tree's Prometheus, restricted", () => {
    const tree = synthesize(loadDefinition(REPO_ROOT).model);
    const hr = find(tree, "HelmRelease", "flagger", "istio-system")!;
    assert.equal(hr.file, "infrastructure/controllers/flagger/helmrelease.yaml");
    const s = specOf(hr.object);
    assert.deepEqual(s["chart"].spec.version, "1.44.0");
    assert.equal(s["install"].crds, "CreateReplace");
    assert.equal(s["values"].meshProvider, "istio");
    assert.equal(s["values"].metricsServer, "http://kube-prometheus-stack-prometheus.monitoring:9090");
    assert.equal(s["values"].securityContext.context.runAsNonRoot, true);
  });
});

describe("canary definition errors", () => {
  const findings = (routes: "gateway-api" | "ingress-nginx", canary: Record<string, unknown>, edit?: (d: DefinitionDocs) => void) => {
    try {
      withBackendCanary(routes, canary, edit);
    } catch (err) {
      assert.ok(err instanceof FindingsError, String(err));
      return err.findings;
    }
    return assert.fail("loaded");
  };

  it("steps: both ways, none, or a first step past the limit", () => {
    assert.match(findings("ingress-nginx", { stepWeight: 10, maxWeight: 50, stepWeights: [10] })[0]!.message, /stepWeights and stepWeight\/maxWeight both given/);
    assert.match(findings("ingress-nginx", {})[0]!.message, /needs its steps/);
    assert.match(findings("ingress-nginx", { stepWeight: 60, maxWeight: 50 })[0]!.message, /above maxWeight/);
    assert.match(findings("ingress-nginx", { stepWeights: [20, 10] })[0]!.message, /rise/);
  });

  it("a canary needs a route, Flagger installed, and for its smoke test a health URL and the loadtester", () => {
    const noRoute = findings("gateway-api", STEPS, (d) => {
      d.apps["ffl"]!.setIn(["components", "redis", "canary"], STEPS);
    });
    assert.ok(noRoute.some((f) => f.rule === "definition/canary-without-route" && f.field?.includes("redis")));
    const noFlagger = findings("gateway-api", { ...STEPS, smokeTest: "none" }, (d) => d.infra.delete("progressiveDelivery"));
    assert.ok(noFlagger.some((f) => f.rule === "definition/canary-without-flagger"));
    const noLoadtester = findings("gateway-api", STEPS, (d) => d.infra.deleteIn(["progressiveDelivery", "loadtester"]));
    assert.ok(noLoadtester.some((f) => f.rule === "definition/canary-smoke-without-loadtester"));
  });
});

describe("Flagger's CRD file", () => {
  it("continuations of quoted descriptions at their key's indentation are repaired without changing the value", () => {
    const raw = readFileSync(`${process.env["BK_SHARED"] ?? `${REPO_ROOT}/../shared`}/charts/flagger-1.44.0/crds/crd.yaml`, "utf8");
    assert.ok(
      parseAllDocuments(raw).some((d) => d.errors.length > 0),
      "the upstream file is what only Go's YAML reader takes",
    );
    const docs = parseAllDocuments(indentFlowScalarContinuations(raw));
    assert.deepEqual(
      docs.map((d) => d.errors.length),
      [0, 0, 0],
    );
    assert.deepEqual(
      docs.map((d) => (d.toJS() as { spec: { names: { kind: string } } }).spec.names.kind),
      ["Canary", "MetricTemplate", "AlertProvider"],
    );
    const text = "a:\n  description: 'one\n  two ''x''\n  three'\n  b: 1\n";
    assert.deepEqual(parseAllDocuments(indentFlowScalarContinuations(text))[0]!.toJS(), { a: { description: "one two 'x' three", b: 1 } });
  });
});

describe("bk release's reading of a Canary's status", () => {
  const image = "192.168.7.21:5000/ffl/frontend:1.4.3";
  const since = Date.parse("2026-12-05T12:00:00Z");
  const promoted = { type: "Promoted", status: "True", reason: "Succeeded", message: "Canary analysis completed successfully, promotion finished." };

  it("Succeeded counts only once the primary runs the release's image (a stale Succeeded is the previous release)", () => {
    const status = { phase: "Succeeded", canaryWeight: 0, failedChecks: 0, conditions: [promoted] };
    assert.equal(canaryVerdict({ status, image, primaryImage: "192.168.7.21:5000/ffl/frontend:1.4.2", sawMoving: false, sinceMs: since }), undefined);
    assert.deepEqual(canaryVerdict({ status, image, primaryImage: image, sawMoving: true, sinceMs: since }), { ok: true, outcome: "promoted", reason: `promoted: the primary runs ${image}` });
  });

  it("a first release is promoted at Initialized, without analysis", () => {
    const v = canaryVerdict({ status: { phase: "Initialized" }, image, primaryImage: image, sawMoving: false, sinceMs: since });
    assert.equal(v?.outcome, "promoted");
    assert.match(v!.reason, /without analysis/);
  });

  it("Failed is a rollback when an analysis was seen or the phase changed after the push; an older Failed is not", () => {
    const failed = {
      phase: "Failed",
      failedChecks: 0,
      lastTransitionTime: "2026-12-05T11:00:00Z",
      conditions: [{ type: "Promoted", status: "False", reason: "Failed", message: "Canary analysis failed, Deployment scaled to zero." }],
    };
    assert.equal(canaryVerdict({ status: failed, image, sawMoving: false, sinceMs: since }), undefined);
    const v = canaryVerdict({ status: failed, image, primaryImage: "x:1.4.2", sawMoving: true, sinceMs: since, maxFailedChecks: 2 });
    assert.deepEqual(v, { ok: false, outcome: "rolled-back", reason: "rolled back by Flagger after 2 failed check(s): Canary analysis failed, Deployment scaled to zero.; the primary still runs x:1.4.2" });
    assert.equal(canaryVerdict({ status: { ...failed, lastTransitionTime: "2026-12-05T12:00:03Z" }, image, sawMoving: false, sinceMs: since })?.outcome, "rolled-back");
  });

  it("an analysis under way is no verdict; the progress line names the phase, the weight, the failed checks and Flagger's message", () => {
    const s = { phase: "Progressing", canaryWeight: 20, failedChecks: 1, conditions: [{ type: "Promoted", status: "Unknown", reason: "Progressing", message: "New revision detected, progressing canary analysis." }] };
    assert.equal(canaryVerdict({ status: s, image, primaryImage: "x:1.4.2", sawMoving: true, sinceMs: since }), undefined);
    assert.equal(describeCanary(s), "Progressing: 20% of the traffic on the canary, 1 failed check(s) (New revision detected, progressing canary analysis.)");
    assert.equal(describeCanary({}), "no phase yet: 0% of the traffic on the canary, 0 failed check(s)");
  });

  it("the wait grows by one interval per step and four more (detection, promotion, finalising)", () => {
    assert.equal(canaryBudgetMs({ canary: { interval: "1m", stepWeight: 20, maxWeight: 50 } }), 7 * 60_000);
    assert.equal(canaryBudgetMs({ canary: { interval: "30s", stepWeights: [5, 20, 50] } }), 7 * 30_000);
    assert.equal(canaryBudgetMs({}), 0);
  });
});

describe("what progressive delivery assumes of the charts (upstream/flagger-*, upstream/canary-target)", () => {
  const { model, tree } = withBackendCanary("ingress-nginx", { ...STEPS, smokeTest: "none" });
  const release = (name: string, ns: string) => find(tree, "HelmRelease", name, ns)!;
  const k = (kind: string, name: string, ns: string, spec: Spec = {}, apiVersion = "v1") => ({ apiVersion, kind, metadata: { name, namespace: ns }, spec }) as unknown as KubeObject;
  const flaggerDeploy = (labels: Record<string, string>) => k("Deployment", "flagger", "istio-system", { template: { metadata: { labels }, spec: { containers: [{ name: "flagger" }] } } }, "apps/v1");
  const prometheus = (port: number) => ({ release: release("kube-prometheus-stack", "monitoring"), objects: [k("Service", "kube-prometheus-stack-prometheus", "monitoring", { ports: [{ port }] })] });
  const ffl = (ingress: string) => ({ release: release("ffl-backend", "ffl"), objects: [k("Deployment", "ffl-backend", "ffl", {}, "apps/v1"), k("Ingress", ingress, "ffl", {}, "networking.k8s.io/v1")] });
  const good = { "app.kubernetes.io/name": "flagger", "app.kubernetes.io/instance": "flagger" };

  it("holds for what the charts render, and names each broken assumption", () => {
    const rendered = [{ release: release("flagger", "istio-system"), objects: [flaggerDeploy(good)] }, prometheus(9090), ffl("ffl-backend")];
    assert.deepEqual(
      checkFlagger(model, tree, rendered).filter((f) => f.object !== "Canary/ffl/ffl-frontend"),
      [],
    );
    const broken = checkFlagger(model, tree, [{ release: release("flagger", "istio-system"), objects: [flaggerDeploy({ app: "flagger" })] }, prometheus(80), ffl("ffl-backend-web")]).filter(
      (f) => f.object !== "Canary/ffl/ffl-frontend",
    );
    assert.deepEqual(broken.map((f) => f.rule).sort(), ["upstream/canary-target", "upstream/flagger-labels", "upstream/flagger-metrics-server"]);
    assert.ok(broken.some((f) => f.object === "Canary/ffl/ffl-backend" && f.field === "spec.ingressRef"));
    assert.deepEqual(checkFlagger(model, tree, []), [], "nothing to compare without the charts rendered");
  });

  it("judges the metrics server only where the monitoring namespace was rendered (a profile renders only the releases it changes)", () => {
    const flagger = { release: release("flagger", "istio-system"), objects: [flaggerDeploy(good)] };
    assert.deepEqual(
      checkFlagger(model, tree, [flagger]).map((f) => f.rule),
      [],
    );
    const otherMonitoring = { release: release("kube-prometheus-stack", "monitoring"), objects: [k("Service", "kube-prometheus-stack-grafana", "monitoring", { ports: [{ port: 80 }] })] };
    assert.deepEqual(
      checkFlagger(model, tree, [flagger, otherMonitoring]).map((f) => f.rule),
      ["upstream/flagger-metrics-server"],
    );
  });
});
