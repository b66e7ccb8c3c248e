/** The names `bk reconcile|suspend|resume` take, resolved against the real definition and its generated tree. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FORCE_ANNOTATION, fluxPatchBody, RECONCILE_ANNOTATION, reconcileState, type FluxObject } from "../../src/adapters/flux.js";
import { InputError } from "../../src/core/errors.js";
import { LAYERS } from "../../src/model/layout.js";
import { loadDefinition } from "../../src/model/load.js";
import { synthesize } from "../../src/synth/index.js";
import { closestNames, fluxNames, resolveTargets } from "../../src/workflows/flux-targets.js";
import { REPO_ROOT } from "../helpers/definition.js";

const { model: m } = loadDefinition(REPO_ROOT);
const one = (name: string) => {
  const [t] = resolveTargets(m, [name]);
  assert.equal(t!.refs.length, 1, `${name} should be one object`);
  const r = t!.refs[0]!;
  return `${r.kind} ${r.namespace}/${r.name}`;
};

describe("flux names from the definition", () => {
  it("every component is <app>/<component>: its HelmRelease in its namespace under its full name", () => {
    assert.ok(m.components.length > 5);
    for (const c of m.components) assert.equal(one(c.id), `HelmRelease ${c.namespace}/${c.fullname}`);
  });

  it("an application is every one of its components' HelmReleases, in the definition's order", () => {
    for (const app of m.apps) {
      const [t] = resolveTargets(m, [app.name]);
      assert.equal(t!.kind, "application");
      assert.deepEqual(
        t!.refs.map((r) => `${r.namespace}/${r.name}`),
        app.components.map((c) => `${c.namespace}/${c.fullname}`),
      );
    }
  });

  it("the layers, the root (also as flux-system) and source name the Kustomizations and the GitRepository Flux syncs from", () => {
    for (const l of LAYERS) assert.equal(one(l.name), `Kustomization flux-system/${l.name}`);
    assert.equal(one("flux-system"), `Kustomization flux-system/${m.gitops.repository}`);
    assert.equal(one("source"), `GitRepository flux-system/${m.gitops.repository}`);
    assert.equal(one(`source/${m.gitops.repository}`), `GitRepository flux-system/${m.gitops.repository}`);
  });

  it("every Flux object of the generated tree has a name; infrastructure releases go by their own name", () => {
    const names = fluxNames(m);
    const reached = new Set([...names.values()].flatMap((t) => t.refs.map((r) => `${r.kind}/${r.namespace}/${r.name}`)));
    const flux = synthesize(m)
      .map((p) => p.object)
      .filter((o) => /^(kustomize|helm|source)\.toolkit\.fluxcd\.io\//.test(o.apiVersion ?? ""));
    assert.ok(flux.length > 30);
    for (const o of flux) assert.ok(reached.has(`${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`), `${o.kind} ${o.metadata?.name} has no name`);
    assert.equal(one("kube-prometheus-stack"), `HelmRelease ${m.monitoring.namespace}/kube-prometheus-stack`);
  });

  it("a name two kinds share is the release; source/ and the kind prefixes pick the other", () => {
    assert.equal(one("chartmuseum"), `HelmRelease ${m.chartmuseum.namespace}/chartmuseum`);
    assert.equal(one("source/chartmuseum"), "HelmRepository flux-system/chartmuseum");
    assert.equal(one("helmrepository/chartmuseum"), "HelmRepository flux-system/chartmuseum");
    assert.equal(one(m.gitops.repository), `Kustomization flux-system/${m.gitops.repository}`);
    assert.equal(one(`kustomization/${m.gitops.repository}`), `Kustomization flux-system/${m.gitops.repository}`);
  });

  it("an object named twice is acted on once", () => {
    const [app, comp] = resolveTargets(m, ["ffl", "ffl/backend"]);
    assert.equal(app!.refs.length, m.apps.find((a) => a.name === "ffl")!.components.length);
    assert.deepEqual(comp!.refs, []);
  });

  it("an unknown name is bad input (exit 2) listing the closest valid names, aliases left out", () => {
    assert.throws(
      () => resolveTargets(m, ["ffl/backnd"]),
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.equal(err.exitCode, 2);
        assert.match(err.message, /'ffl\/backnd' is not a name in the definition; closest: ffl\/backend, /);
        assert.match(err.message, /infra-controllers, infra-configs, apps/);
        return true;
      },
    );
    assert.throws(() => resolveTargets(m, []), InputError);
    const valid = [...fluxNames(m).values()].filter((t) => !t.alias).map((t) => t.name);
    assert.equal(closestNames("kube-prom", valid)[0], "kube-prometheus-stack");
    assert.equal(closestNames("infra-controler", valid)[0], "infra-controllers");
    assert.ok(!closestNames("ffl-backnd", valid).includes("ffl/ffl-backend"), "namespace/name aliases are not suggested");
  });
});

describe("the patches, as the flux CLI sends them", () => {
  it("reconcile sets requestedAt; --force also forceAt to the same value; suspend and resume set spec.suspend", () => {
    const at = "2026-12-05T07:00:00.000Z";
    assert.deepEqual(fluxPatchBody({ requestedAt: at }), { metadata: { annotations: { [RECONCILE_ANNOTATION]: at } } });
    assert.deepEqual(fluxPatchBody({ requestedAt: at, force: true }), { metadata: { annotations: { [RECONCILE_ANNOTATION]: at, [FORCE_ANNOTATION]: at } } });
    assert.deepEqual(fluxPatchBody({ suspend: true }), { spec: { suspend: true } });
    assert.deepEqual(fluxPatchBody({ suspend: false, requestedAt: at }), { metadata: { annotations: { [RECONCILE_ANNOTATION]: at } }, spec: { suspend: false } });
  });
});

describe("when a reconcile request is settled", () => {
  const at = "2026-12-05T07:00:00.000Z";
  const obj = (handled: string | undefined, ready: "True" | "False" | "Unknown" | undefined, generation = 2, observedGeneration = 2): FluxObject => ({
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "ffl-backend", namespace: "ffl", generation },
    status: {
      observedGeneration,
      ...(handled ? { lastHandledReconcileAt: handled } : {}),
      conditions: ready ? [{ type: "Ready", status: ready, reason: ready === "False" ? "InstallFailed" : "Succeeded", message: "", lastTransitionTime: at }] : [],
    },
  });

  it("Ready=True counts only once this request was handled, and for the current generation", () => {
    assert.equal(reconcileState(obj(at, "True"), at), "ready");
    assert.equal(reconcileState(obj("2026-12-05T06:00:00.000Z", "True"), at), "waiting", "an earlier request's Ready");
    assert.equal(reconcileState(obj(undefined, "True"), at), "waiting");
    assert.equal(reconcileState(obj(at, "True", 3, 2), at), "waiting", "Ready of the previous generation");
    assert.equal(reconcileState(undefined, at), "waiting");
  });

  it("Ready=False on the handled request is a failed attempt, though Flux leaves observedGeneration behind on failure", () => {
    assert.equal(reconcileState(obj(at, "False", 3, 2), at), "failed");
    assert.equal(reconcileState(obj("2026-12-05T06:00:00.000Z", "False"), at), "waiting", "a failure from before the request");
  });

  it("Unknown (progressing) or no Ready condition keeps waiting", () => {
    assert.equal(reconcileState(obj(at, "Unknown"), at), "waiting");
    assert.equal(reconcileState(obj(at, undefined), at), "waiting");
  });
});
