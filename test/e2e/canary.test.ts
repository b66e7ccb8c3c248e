/**
 * Progressive delivery on the local control plane (issue 19, item 3): the real Flagger controller, built from its Go
 * module (tool set "flagger"), runs on the host against kube-apiserver + KWOK and takes over ffl's frontend as the
 * tree generates it (its Deployment and Service rendered from charts/app, the Canary from the definition, Istio's
 * and Flagger's CRDs installed). One release is promoted, the next rolled back on a failing webhook; bk release's
 * canary follower (followCanary) reports both from the Canary's status as Flagger records it.
 *
 * What stands in, because KWOK runs no containers and no Envoy:
 * - Prometheus: a local HTTP server answering /api/v1/query; Flagger's own built-in Istio queries reach it, and it
 *   answers 100 (% success) for request-success-rate and 20 (ms) for request-duration. It records each query.
 * - Flagger's loadtester: the same server; the smoke-test webhook's URL (progressiveDelivery.loadtester) points at
 *   /hooks/pass or /hooks/fail, which answer 200 or 500 to Flagger's POST and record its payload.
 * - Traffic: Flagger writes the VirtualService weights for real; no proxy applies them.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { after, before, describe } from "node:test";
import { stringify } from "yaml";
import { connect, type Kube } from "../../src/adapters/kube.js";
import { helmTemplate } from "../../src/adapters/helm.js";
import { up } from "../../src/devcluster/index.js";
import { loadDefinition } from "../../src/model/load.js";
import type { ComponentModel, Model } from "../../src/model/model.js";
import { componentValues } from "../../src/synth/apps.js";
import { canaryObject } from "../../src/synth/progressive.js";
import { followCanary } from "../../src/workflows/canary-rollout.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";
import { startFlagger, startStandIn, writeCrds, type StandIn } from "./helpers/flagger.js";
import { clusterSuite } from "./helpers/suite.js";

const suite = clusterSuite();
const CANARY = { interval: "5s", threshold: 1, stepWeight: 50, maxWeight: 50, smokeTest: "rollout" };

describe("Flagger on the local control plane: a canary promoted, one rolled back", { timeout: 900_000 }, () => {
  const c = () => suite.cluster();
  let kube: Kube;
  let standIn: StandIn;
  let flagger: ChildProcess | undefined;

  /** The real definition with ffl's frontend routed through the Istio gateway and its canary pointed at `hook`. */
  const definition = (hook: string): { model: Model; comp: ComponentModel } => {
    const root = tempDefinition((d) => {
      d.cluster.setIn(["network", "routes"], "gateway-api");
      d.infra.setIn(["progressiveDelivery", "loadtester"], `${standIn.url}${hook}`);
      d.apps["ffl"]!.setIn(["components", "frontend", "canary"], CANARY);
    });
    suite.scratch(root);
    const { model } = loadDefinition(root);
    return { model, comp: model.components.find((x) => x.id === "ffl/frontend")! };
  };

  /** What Flux's helm-controller would apply for the component at `tag`: the real chart, rendered with synth's values. */
  const release = async (m: Model, comp: ComponentModel, tag: string) => {
    const values = { ...componentValues(m, comp), image: { repository: comp.image.repository, tag } };
    const objects = await helmTemplate(path.join(REPO_ROOT, "charts/app"), values, { releaseName: comp.fullname, namespace: comp.namespace });
    await c().applyManifest(objects.map((o) => stringify(o)).join("---\n"));
    return `${comp.image.repository}:${tag}`;
  };

  before(
    async () => {
      const crds = await suite.tempDir("bk-flagger-crds-");
      writeCrds(crds);
      suite.setCluster(await up({ flux: false, gitServer: false, crdsDir: crds, onProgress: (l) => console.log(`# devcluster ${l}`) }));
      kube = connect(c().kubeconfig);
      standIn = await startStandIn();
      flagger = await startFlagger(c().kubeconfig, standIn.url, path.join(c().logsDir, "flagger.log"));
      const { model, comp } = definition("/hooks/pass");
      await c().applyManifest(stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: comp.namespace } }));
      await release(model, comp, comp.image.tag);
    },
    { timeout: 6 * 60_000 },
  );

  after(async () => {
    flagger?.kill("SIGTERM");
    standIn?.close();
    await suite.teardown(async () => `flagger log: ${path.join(c().logsDir, "flagger.log")}`);
  });

  suite.step("the generated Canary is accepted and Flagger initializes it: a -primary Deployment on the running version", 180_000, async () => {
    const { model, comp } = definition("/hooks/pass");
    await c().applyManifest(stringify(canaryObject(model, comp)));
    const r = await followCanary(kube, { namespace: comp.namespace, name: comp.fullname, image: comp.image.ref, sinceMs: Date.now(), timeoutMs: 150_000, helmRelease: false, onProgress: (l) => console.log(`# ${l}`) });
    assert.equal(r.outcome, "promoted", r.reason);
    assert.match(r.reason, /initialized/);
    // Flagger took the chart's Service over: it now selects the primary's pods.
    const svc = await c().kubectl.getJson<{ spec: { selector: Record<string, string> } }>("service", comp.namespace, comp.fullname);
    assert.equal(svc?.spec.selector["app.kubernetes.io/name"], `${comp.fullname}-primary`);
  });

  suite.step("a new version passing the webhook and the metrics is promoted step by step; bk's follower reports each step", 240_000, async () => {
    const { model, comp } = definition("/hooks/pass");
    const sinceMs = Date.now();
    const image = await release(model, comp, "1.4.3");
    const r = await followCanary(kube, { namespace: comp.namespace, name: comp.fullname, image, sinceMs, timeoutMs: 200_000, helmRelease: false, onProgress: (l) => console.log(`# ${l}`) });
    assert.equal(r.outcome, "promoted", r.reason);
    assert.ok(
      r.steps.some((s) => s.phase === "Progressing" && s.weight === 50),
      `a step at 50 %: ${JSON.stringify(r.steps)}`,
    );
    const primary = await c().kubectl.getJson<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>("deployment", comp.namespace, `${comp.fullname}-primary`);
    assert.equal(primary?.spec.template.spec.containers[0]?.image, image);
    // The route Flagger owns: the VirtualService on the tree's Istio Gateway, matched on the component's route, all traffic back on the primary.
    const vs = await c().kubectl.getJson<{ spec: { gateways: string[]; http: Array<{ match?: Array<{ uri?: { prefix?: string } }>; route: Array<{ destination: { host: string }; weight: number }> }> } }>(
      "virtualservices.networking.istio.io",
      comp.namespace,
      comp.fullname,
    );
    assert.deepEqual(vs?.spec.gateways, [`${model.istio.gatewayNamespace}/${model.istio.gatewayName}-canary`]);
    assert.equal(vs?.spec.http[0]?.match?.[0]?.uri?.prefix, comp.route);
    assert.deepEqual(
      vs?.spec.http[0]?.route.map((x) => [x.destination.host, x.weight]),
      [
        [`${comp.fullname}-primary`, 100],
        [`${comp.fullname}-canary`, 0],
      ],
    );
    assert.ok(
      standIn.rec.hooks.some((h) => h.path === "/hooks/pass" && h.body.name === comp.fullname && h.body.phase === "Progressing"),
      "Flagger called the rollout webhook during the analysis",
    );
    assert.ok(
      standIn.rec.queries.some((q) => /istio_requests_total/.test(q)),
      "Flagger's built-in Istio success-rate query reached the Prometheus stand-in",
    );
  });

  suite.step("a new version failing the smoke test is rolled back: phase Failed, the primary keeps the promoted version", 240_000, async () => {
    const { model, comp } = definition("/hooks/fail");
    await c().applyManifest(stringify(canaryObject(model, comp)));
    const sinceMs = Date.now();
    const image = await release(model, comp, "1.4.4");
    const r = await followCanary(kube, { namespace: comp.namespace, name: comp.fullname, image, sinceMs, timeoutMs: 200_000, helmRelease: false, onProgress: (l) => console.log(`# ${l}`) });
    assert.equal(r.outcome, "rolled-back", r.reason);
    assert.equal(r.ok, false);
    assert.match(r.reason, /the primary still runs \S+:1\.4\.3/);
    assert.ok(
      r.steps.some((s) => s.failedChecks >= 1),
      `a failed check was seen before the rollback: ${JSON.stringify(r.steps)}`,
    );
    assert.match(r.reason, /after 1 failed check/);
    assert.ok(standIn.rec.hooks.some((h) => h.path === "/hooks/fail" && h.body.name === comp.fullname));
    const primary = await c().kubectl.getJson<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>("deployment", comp.namespace, `${comp.fullname}-primary`);
    assert.match(primary?.spec.template.spec.containers[0]?.image ?? "", /:1\.4\.3$/);
  });
});
