/**
 * The mesh layer generated from the real definition, evaluated from the objects (netpol/mesh-semantics.ts):
 * every path the definition declares into an application pod is allowed by the AuthorizationPolicies on exactly its
 * port (and its declared paths), and a sample of the paths it does not declare is denied. The tests are derived from
 * the definition's edges, so a new edge brings its own test. Then the namespaces' baseline (STRICT, allow-nothing,
 * Pod Security restricted) and the definition's CNI switch.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadDefinition } from "../../src/model/load.js";
import { prefixPaths } from "../../src/model/mesh.js";
import { buildInventory, type InventoryEndpoint } from "../../src/netpol/inventory.js";
import { requiredPaths } from "../../src/netpol/intent.js";
import { identityOf } from "../../src/netpol/mesh.js";
import { evaluateMesh, parseMeshPolicies } from "../../src/netpol/mesh-semantics.js";
import type { PodEndpoint } from "../../src/netpol/semantics.js";
import { synthesize } from "../../src/synth/index.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";
import { checkFit } from "../../src/validate/fit.js";
import { validateObject, validateObjects } from "../../src/schema/validate.js";
import { withInjectedSidecars } from "../../src/validate/mesh-sidecars.js";
import type { KubeObject } from "../../src/core/object.js";

const { model } = loadDefinition(REPO_ROOT);
const objects = synthesize(model).map((p) => p.object);
const mesh = model.mesh!;
const policies = parseMeshPolicies(objects);
const inv = buildInventory(model, objects);
const byId = new Map(inv.endpoints.map((e) => [e.endpoint.id, e]));
const root = model.istio.namespace;
const inMesh = (e: InventoryEndpoint | undefined): e is InventoryEndpoint & { endpoint: PodEndpoint } => e?.endpoint.kind === "pod" && mesh.namespaces.includes(e.endpoint.namespace);
const verdict = (from: InventoryEndpoint, to: InventoryEndpoint & { endpoint: PodEndpoint }, port: number) => evaluateMesh(policies, identityOf(model, from), to.endpoint, port, root);

// The declared paths into the mesh, as `bk netpol` derives them from the definition (talksTo, routes, metrics).
const declared = requiredPaths(model, inv).filter((p) => p.protocol === "TCP" && inMesh(byId.get(p.to)));
const declaredKeys = new Set(declared.map((p) => `${byId.get(p.from)!.owner}>${byId.get(p.to)!.owner}:${p.port}`));

describe("every declared edge into the mesh is allowed on exactly its port", () => {
  assert.ok(declared.length >= 30, `the definition declares ${declared.length} paths into the mesh`);
  for (const p of declared) {
    it(`${p.from} -> ${p.to}:${p.port} (${p.why})`, () => {
      const from = byId.get(p.from)!;
      const to = byId.get(p.to)! as InventoryEndpoint & { endpoint: PodEndpoint };
      const v = verdict(from, to, p.port);
      assert.equal(v.allowed, true, v.why);
      const c = model.components.find((x) => x.id === to.owner)!;
      const grant = (paths?: string[], methods?: string[]) =>
        assert.ok(
          v.grants?.some((g) => JSON.stringify([g.paths, g.methods]) === JSON.stringify([paths, methods])),
          `a rule granting ${paths} ${methods ?? ""}: ${JSON.stringify(v.grants)}`,
        );
      if (p.why.startsWith("talksTo")) {
        if (c.paths) grant(prefixPaths(c.paths));
        else assert.equal(v.paths, undefined, "any path");
      }
      if (p.why.startsWith("route")) grant(prefixPaths([c.route!]));
      if (p.why.startsWith("metrics")) grant([c.metrics!.path], ["GET"]);
      // Exactly its port: the same client is denied on the server's other ports unless declared there too. A client
      // without identity is told apart by nothing but the port, so the ports open to such clients (route, metrics) are shared.
      const anonymousPorts = identityOf(model, from) === undefined ? [...(c.route ? [c.port] : []), ...(c.metrics ? [c.metrics.port] : [])] : [];
      for (const other of to.endpoint.ports) {
        if (other.port === p.port || anonymousPorts.includes(other.port) || declaredKeys.has(`${from.owner}>${to.owner}:${other.port}`)) continue;
        assert.equal(verdict(from, to, other.port).allowed, false, `${p.from} -> ${p.to}:${other.port} must be denied`);
      }
    });
  }
});

describe("a sample of undeclared paths into the mesh is denied", () => {
  const sources = inv.endpoints.filter((e) => identityOf(model, e) !== undefined);
  const dests = inv.endpoints.filter(inMesh).filter((e) => e.endpoint.ports.length);
  // For each destination port: the first, middle and last mesh identity that declares nothing there.
  const sample = dests.flatMap((d) =>
    d.endpoint.ports.flatMap((port) => {
      const others = sources.filter((s) => s !== d && !declaredKeys.has(`${s.owner}>${d.owner}:${port.port}`));
      return [...new Set([others[0], others[Math.floor(others.length / 2)], others.at(-1)])].filter((s) => s !== undefined).map((s) => ({ s, d, port: port.port }));
    }),
  );
  assert.ok(sample.length >= 40, `sampled ${sample.length} undeclared paths`);
  for (const { s, d, port } of sample) {
    it(`${s.endpoint.id} -> ${d.endpoint.id}:${port} denied`, () => {
      const v = verdict(s, d, port);
      assert.equal(v.allowed, false, `allowed: ${v.why}`);
    });
  }

  it("a client without mesh identity is refused on every port outside routes and metrics (mTLS STRICT)", () => {
    const lan = byId.get("lan")!;
    const redis = byId.get("ffl/redis")! as InventoryEndpoint & { endpoint: PodEndpoint };
    assert.match(verdict(lan, redis, 6379).why, /STRICT/);
    const agent = byId.get("mtg-dev-agents/orchestrator")! as InventoryEndpoint & { endpoint: PodEndpoint };
    assert.equal(verdict(lan, agent, 8080).allowed, false);
  });
});

describe("the mesh namespaces' baseline", () => {
  const of = (kind: string, ns: string) => objects.filter((o) => o.kind === kind && o.metadata.namespace === ns);

  it("every application namespace, and only those, is in the mesh", () => {
    assert.deepEqual(
      mesh.namespaces,
      model.namespaces
        .filter((n) => n.kind === "application")
        .map((n) => n.name)
        .sort(),
    );
  });

  for (const ns of model.namespaces.filter((n) => n.kind === "application").map((n) => n.name)) {
    it(`${ns}: STRICT by default, ALLOW-nothing by default, PERMISSIVE only on route and metrics ports, Pod Security restricted`, () => {
      const pa = of("PeerAuthentication", ns);
      assert.deepEqual(pa.find((o) => o.metadata.name === "default")?.spec, { mtls: { mode: "STRICT" } });
      assert.deepEqual(of("AuthorizationPolicy", ns).find((o) => o.metadata.name === "allow-nothing")?.spec, {});
      for (const o of pa.filter((x) => x.metadata.name !== "default")) {
        const c = model.components.find((x) => x.namespace === ns && `${x.name}-plaintext-ports` === o.metadata.name)!;
        const open = new Set([...(c.route ? [c.port] : []), ...(c.metrics ? [c.metrics.port] : [])].map(String));
        assert.deepEqual(Object.keys((o.spec as { portLevelMtls: object }).portLevelMtls).sort(), [...open].sort());
      }
      const nsObj = objects.find((o) => o.kind === "Namespace" && o.metadata.name === ns)!;
      assert.equal(nsObj.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
      assert.equal(nsObj.metadata.labels?.["istio-injection"], undefined, "no injection while the CNI agent is not installed");
    });
  }

  it("istiod never injects istio-init (CNI mode) and runs the sidecar as a native sidecar", () => {
    const istiod = objects.find((o) => o.kind === "HelmRelease" && o.metadata.name === "istiod")!;
    const values = (istiod.spec as { values: Record<string, { enabled?: boolean; ENABLE_NATIVE_SIDECARS?: string }> }).values;
    assert.equal(values.cni?.enabled, true);
    assert.equal(values.env?.ENABLE_NATIVE_SIDECARS, "true");
  });
});

describe("the definition's CNI switch", () => {
  it("a pinned CNI chart installs the node agent and labels every application namespace for injection, which stays restricted", () => {
    const root = tempDefinition((d) => {
      d.infra.setIn(["charts", "istio-cni"], d.infra.createNode({ repository: "https://istio-release.storage.googleapis.com/charts", chart: "cni", version: "1.30.3" }));
      d.infra.setIn(["mesh", "cni", "chart"], "istio-cni");
    });
    const m = loadDefinition(root).model;
    const all = synthesize(m).map((p) => p.object);
    const cni = all.find((o) => o.kind === "HelmRelease" && o.metadata.name === "istio-cni");
    assert.equal(cni?.metadata.namespace, "kube-system", "the node agent is installed, in the privileged namespace");
    assert.deepEqual((cni!.spec as { chart: { spec: { chart: string; version: string } } }).chart.spec.chart, "cni");
    const nss = all.filter((o) => o.kind === "Namespace" && m.mesh!.namespaces.includes(o.metadata.name));
    assert.equal(nss.length, m.mesh!.namespaces.length);
    for (const n of nss) {
      assert.equal(n.metadata.labels?.["istio-injection"], "enabled", n.metadata.name);
      assert.equal(n.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted", n.metadata.name);
    }
  });

  it("a CNI chart that is not pinned is refused, naming the field", () => {
    const root = tempDefinition((d) => d.infra.setIn(["mesh", "cni", "chart"], "istio-cni"));
    assert.throws(
      () => loadDefinition(root),
      (e: Error) => /mesh\.cni\.chart 'istio-cni' is not a key of charts/.test(e.message + JSON.stringify(e)),
    );
  });
});

describe("the fit check counts the injected sidecars", () => {
  const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
  const deploy = (namespace: string, replicas: number, podLabels: Record<string, string> = {}): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "app", namespace },
    spec: { replicas, template: { metadata: { labels: podLabels }, spec: { containers: [{ name: "app", resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } } }] } } },
  });
  const fit = (objects: KubeObject[]) => checkFit(withInjectedSidecars(objects, mesh.proxy), { capacity: { cpu: 6000, memory: 16 * 2 ** 30 }, reserve: { cpu: 0, memory: 0 } }).requests;

  it("adds mesh.proxy per replica in an injected namespace, nothing elsewhere or where a pod opts out", () => {
    assert.deepEqual(fit([ns("a"), deploy("a", 2)]), { cpu: 200, memory: 256 * 2 ** 20 });
    assert.deepEqual(fit([ns("a", { "istio-injection": "enabled" }), deploy("a", 2)]), { cpu: 2 * (100 + 20), memory: 2 * (128 + 64) * 2 ** 20 });
    assert.deepEqual(fit([ns("a", { "istio-injection": "enabled" }), deploy("a", 2, { "sidecar.istio.io/inject": "false" })]), { cpu: 200, memory: 256 * 2 ** 20 });
  });
});

describe("bk validate's schemas cover the mesh kinds (from Istio's CRDs, npm run gen:schemas)", () => {
  it("every generated PeerAuthentication and AuthorizationPolicy passes; an unknown action and an unknown field do not", async () => {
    const placed = synthesize(model).filter((p) => p.object.apiVersion.startsWith("security.istio.io/"));
    assert.ok(placed.length > 40);
    assert.deepEqual(await validateObjects(placed), []);
    const ap = placed.find((p) => p.object.kind === "AuthorizationPolicy" && p.object.metadata.name !== "allow-nothing")!.object;
    const bad = structuredClone(ap);
    (bad.spec as Record<string, unknown>).action = "PERMIT";
    (bad.spec as Record<string, unknown>).principal = "x";
    const messages = (await validateObject(bad)).map((f) => `${f.field ?? ""} ${f.message}`).join("\n");
    assert.match(messages, /action/);
    assert.match(messages, /principal/);
  });
});
