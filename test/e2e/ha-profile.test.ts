/**
 * The ha profile on the local control plane with three KWOK nodes (issue 19): what the profile renders spreads over
 * the nodes, and a node drained through the Eviction API honours every PodDisruptionBudget.
 *
 * What runs is the profile's own output. ffl's frontend goes through the real Flux controllers: the shared tree's
 * HelmRelease in Git, the Flux Kustomization of clusters/ha/apps.yaml with its JSON 6902 patches, our chart
 * (charts/app) from the harness's chart repository. ffl's backend is the same chart rendered by helm with its
 * HelmRelease's values in the profile (its migration hook Job could not complete without containers, so it is not
 * left to helm-controller). The CloudNativePG
 * operator cannot run here, so a stand-in takes its place, made from the profile's Cluster object: a StatefulSet of
 * `spec.instances` pods carrying the required pod anti-affinity on `spec.affinity.topologyKey` that CNPG renders for
 * `podAntiAffinityType: required`, under a PodDisruptionBudget allowing one instance down at a time.
 * The kube-scheduler places the pods, kube-controller-manager's disruption controller keeps each budget's
 * status, and the API server answers the evictions: no part of what is asserted is faked.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe } from "node:test";
import { stringify } from "yaml";
import { helmTemplate } from "../../src/adapters/helm.js";
import type { KubeObject } from "../../src/core/object.js";
import { CommandError } from "../../src/devcluster/exec.js";
import { fakeNodes, up } from "../../src/devcluster/index.js";
import { loadDefinition } from "../../src/model/load.js";
import { findProfile } from "../../src/model/profiles.js";
import { synthesize } from "../../src/synth/index.js";
import { profileTree } from "../../src/synth/profiles.js";
import { FLUX_NAMESPACE } from "../../src/core/well-known.js";
import { sharedCrds } from "../helpers/charts.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { clusterSuite } from "./helpers/suite.js";

const { model } = loadDefinition(REPO_ROOT);
const ha = findProfile(model, "ha");
const pt = profileTree(model, ha, synthesize(model), (m) => synthesize(m));
const NODES = fakeNodes(ha.nodes, "ha");
const APP_NS = "ffl";
const PG = pt.objects.find((o) => o.object.kind === "Cluster")!.object as KubeObject & { spec: { instances: number; imageName: string; affinity: { topologyKey: string; podAntiAffinityType: string } } };
const PG_LABELS = { "cnpg.io/cluster": PG.metadata.name };
const HR = "helmreleases.helm.toolkit.fluxcd.io";
const FRONTEND = model.components.find((x) => x.id === `${APP_NS}/frontend`)!;

interface Pod {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: Array<{ type: string; status: string; reason?: string }> };
}

const suite = clusterSuite();
const c = suite.cluster;
const step = (name: string, fn: () => Promise<void>): void => suite.step(name, 150_000, fn);
const ready = (p: Pod) => p.status.conditions?.some((x) => x.type === "Ready" && x.status === "True") ?? false;

async function pods(ns: string, selector: Record<string, string>): Promise<Pod[]> {
  const sel = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return (JSON.parse(await c().kubectl.run(["get", "pods", "-n", ns, "-l", sel, "-o", "json"])) as { items: Pod[] }).items;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  for (const end = Date.now() + timeoutMs; ; ) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `count` Ready pods, none on `notOn`, each on a node of its own. */
const spreadReady = (ns: string, selector: Record<string, string>, count: number, notOn?: string) =>
  until(`${count} Ready pods of ${JSON.stringify(selector)} on distinct nodes${notOn ? ` off ${notOn}` : ""}`, async () => {
    const ps = (await pods(ns, selector)).filter(ready);
    const nodes = new Set(ps.map((p) => p.spec.nodeName));
    return ps.length === count && nodes.size === count && !nodes.has(notOn) ? ps : undefined;
  });

/** The Eviction API: undefined when the pod was evicted, else the API server's refusal. */
async function evict(p: Pod): Promise<string | undefined> {
  const body = JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name: p.metadata.name, namespace: p.metadata.namespace } });
  try {
    await c().kubectl.run(["create", "--raw", `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/eviction`, "-f", "-"], body);
    return undefined;
  } catch (err) {
    if (err instanceof CommandError) return err.stderr.trim();
    throw err;
  }
}

/** ffl's component as the ha profile installs it: our chart rendered with its HelmRelease's values in the profile. */
async function component(name: string): Promise<{ objects: KubeObject[]; selector: Record<string, string> }> {
  const c = model.components.find((x) => x.id === `${APP_NS}/${name}`)!;
  const hr = pt.objects.find((o) => o.object.kind === "HelmRelease" && o.object.metadata.name === c.fullname)!.object as KubeObject & { spec: { values: Record<string, unknown> } };
  const rendered = await helmTemplate(path.join(REPO_ROOT, "charts/app"), hr.spec.values, { releaseName: c.fullname, namespace: APP_NS, kubeVersion: model.cluster.profile.kubernetesVersion });
  const objects = rendered.filter((o) => ["ServiceAccount", "Service", "Deployment", "PodDisruptionBudget"].includes(o.kind));
  const d = objects.find((o) => o.kind === "Deployment") as KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } };
  return { objects, selector: d.spec.selector.matchLabels };
}

type Obj = KubeObject & { spec: Record<string, unknown> };

/**
 * The frontend as Flux installs it on the ha cluster: in Git the shared tree's HelmRelease (without its dependsOn
 * on the backend, which Flux does not install here), and the clusters/ha `apps` Kustomization with the profile's
 * patches for it; the chart from the harness's chart repository under the name the tree gives it.
 */
async function fluxFrontend(): Promise<void> {
  const cluster = c();
  const charts = cluster.charts!;
  await charts.pushChart(path.join(REPO_ROOT, "charts/app"));
  const base = synthesize(model).find((o) => o.object.kind === "HelmRelease" && o.object.metadata.name === FRONTEND.fullname)!;
  const release = structuredClone(base.object) as Obj;
  delete release.spec["dependsOn"];
  const repo = await suite.tempDir("bk-e2e-ha-");
  await mkdir(path.join(repo, path.dirname(base.file)), { recursive: true });
  await writeFile(path.join(repo, base.file), stringify(release));
  await cluster.pushRepo(repo, { repo: "fleet", message: "ffl frontend" });
  const apps = pt.entry.find((o) => o.object.kind === "Kustomization" && o.object.metadata.name === "apps")!.object as Obj;
  const patches = (apps.spec["patches"] as Array<{ target: { name: string } }>).filter((p) => p.target.name === FRONTEND.fullname);
  assert.equal(patches.length, 1, "clusters/ha patches the frontend's HelmRelease");
  const source = (release.spec["chart"] as { spec: { sourceRef: { name: string; namespace: string } } }).spec.sourceRef;
  const gitName = (apps.spec["sourceRef"] as { name: string }).name;
  await cluster.applyManifest(
    [
      { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "HelmRepository", metadata: { name: source.name, namespace: source.namespace }, spec: { url: charts.url, interval: "10m" } },
      { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: { name: gitName, namespace: FLUX_NAMESPACE }, spec: { url: cluster.git!.url("fleet"), interval: "10m", ref: { branch: "main" } } },
      {
        ...apps,
        spec: { ...Object.fromEntries(Object.entries(apps.spec).filter(([k]) => k !== "dependsOn")), path: `./${path.dirname(base.file)}`, timeout: "3m", patches },
      },
    ]
      .map((o) => stringify(o))
      .join("---\n"),
  );
  await cluster.waitReady("kustomizations.kustomize.toolkit.fluxcd.io", FLUX_NAMESPACE, "apps", 150_000);
  await cluster.waitReady(HR, APP_NS, FRONTEND.fullname, 150_000);
}

/** The CNPG stand-in: the profile's instances, with the anti-affinity CNPG renders for them (see the header). */
function postgresStandIn(): KubeObject[] {
  assert.equal(PG.spec.affinity.podAntiAffinityType, "required");
  const labels = { ...PG_LABELS, "app.kubernetes.io/name": "postgres-stand-in" };
  const security = { runAsNonRoot: true, runAsUser: 26, seccompProfile: { type: "RuntimeDefault" } };
  return [
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: PG.metadata.name, namespace: PG.metadata.namespace! },
      spec: {
        replicas: PG.spec.instances,
        serviceName: PG.metadata.name,
        podManagementPolicy: "Parallel",
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: security,
            affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: PG.spec.affinity.topologyKey, labelSelector: { matchLabels: PG_LABELS } }] } },
            containers: [{ name: "postgres", image: PG.spec.imageName, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }],
          },
        },
      },
    },
    { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: PG.metadata.name, namespace: PG.metadata.namespace! }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
  ];
}

describe("the ha profile on three KWOK nodes", { timeout: 600_000 }, () => {
  let frontend: Record<string, string> = {};
  let backend: Record<string, string> = {};
  let drained = "";

  before(
    async () => {
      // Only Flux's own CRDs: nothing here needs the others, and installing all of them is most of a start.
      suite.setCluster(await up({ chartRepo: true, crdsDir: path.join(sharedCrds(), "flux"), nodes: NODES, onProgress: (l) => console.log(`# devcluster ${l}`) }));
    },
    { timeout: 5 * 60_000 },
  );
  after(() => suite.teardown());

  step("the profile's workloads are applied and spread over the three nodes", async () => {
    assert.equal(NODES.length, 3);
    const namespaces = pt.objects.filter((o) => o.object.kind === "Namespace" && [APP_NS, PG.metadata.namespace].includes(o.object.metadata.name)).map((o) => o.object);
    assert.equal(namespaces.length, 2);
    const f = await component("frontend");
    const b = await component("backend");
    frontend = f.selector;
    backend = b.selector;
    for (const objects of [namespaces, b.objects, postgresStandIn()]) await c().kubectl.applyManifest(objects.map((o) => stringify(o)).join("---\n"));
    await fluxFrontend();
    // Flux applied the profile's patches: the release in the cluster carries the ha values, not the shared tree's.
    const live = (await c().kubectl.getJson<Obj>(HR, APP_NS, FRONTEND.fullname))!;
    const values = live.spec["values"] as { replicas: number; pdb: { enabled: boolean }; topologySpread?: { enabled: boolean } };
    assert.deepEqual([values.replicas, values.pdb.enabled, values.topologySpread?.enabled], [ha.replicas, true, true]);
    const pdbs = JSON.parse(await c().kubectl.run(["get", "pdb", "-n", APP_NS, "-o", "json"])) as { items: Array<{ metadata: { name: string } }> };
    assert.ok(
      pdbs.items.some((x) => x.metadata.name === FRONTEND.fullname),
      "helm-controller installed the frontend's budget",
    );
    // The profile's replicas, each Deployment with its budget and its spread as our chart rendered them.
    for (const { objects } of [f, b]) {
      const d = objects.find((o) => o.kind === "Deployment") as KubeObject & { spec: { replicas: number; template: { spec: { topologySpreadConstraints?: unknown[] } } } };
      assert.equal(d.spec.replicas, ha.replicas);
      assert.equal(d.spec.template.spec.topologySpreadConstraints?.length, 1);
      assert.ok(objects.some((o) => o.kind === "PodDisruptionBudget"));
    }
    await spreadReady(APP_NS, frontend, ha.replicas);
    await spreadReady(APP_NS, backend, ha.replicas);
    await spreadReady(PG.metadata.namespace!, PG_LABELS, PG.spec.instances);
  });

  step("an eviction beyond a budget is refused", async () => {
    // With every node cordoned, an evicted pod's replacement cannot start, so the budget stays spent.
    for (const n of NODES) await c().kubectl.run(["cordon", n.name]);
    try {
      const [a, b] = await pods(APP_NS, frontend);
      await until("the frontend budget to allow one disruption", async () => {
        const pdb = JSON.parse(await c().kubectl.run(["get", "pdb", "-n", APP_NS, "-o", "json"])) as { items: Array<{ metadata: { name: string }; status?: { disruptionsAllowed?: number } }> };
        return pdb.items.find((x) => x.metadata.name.endsWith("frontend"))?.status?.disruptionsAllowed === 1 ? true : undefined;
      });
      assert.equal(await evict(a!), undefined, "the first eviction is within the budget");
      assert.match((await evict(b!)) ?? "evicted", /disruption budget/, "the second would leave no frontend pod");
    } finally {
      for (const n of NODES) await c().kubectl.run(["uncordon", n.name]);
    }
    await spreadReady(APP_NS, frontend, ha.replicas);
  });

  step("a node drains through the Eviction API with every budget honoured, and everything is Ready again", async () => {
    const [first] = await pods(APP_NS, frontend);
    drained = first!.spec.nodeName!;
    // kubectl drain evicts (never deletes) and retries while a budget refuses; it fails on the timeout otherwise.
    const out = await c().kubectl.run(["drain", drained, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s"], undefined, 150_000);
    assert.match(out, new RegExp(`node/${drained} drained`));
    // The stateless components moved: the profile's replicas again, Ready, spread over the two nodes left.
    await spreadReady(APP_NS, frontend, ha.replicas, drained);
    await spreadReady(APP_NS, backend, ha.replicas, drained);
    // The drained instance waits for a node without an instance: it cannot share one with another.
    const pg = await until("the drained instance to wait unschedulable", async () => {
      const ps = await pods(PG.metadata.namespace!, PG_LABELS);
      const waiting = ps.filter((p) => p.status.conditions?.some((x) => x.type === "PodScheduled" && x.status === "False" && x.reason === "Unschedulable"));
      return ps.filter(ready).length === PG.spec.instances - 1 && waiting.length === 1 ? ps : undefined;
    });
    // One instance is down: the budget refuses a second.
    const running = pg.find(ready)!;
    assert.match((await evict(running)) ?? "evicted", /disruption budget/);
    // The release Flux installed is still Ready after the drain, checked afresh.
    const token = await c().reconcileNow(HR, APP_NS, FRONTEND.fullname);
    await c().waitReady(HR, APP_NS, FRONTEND.fullname, 60_000, { requestedAt: token });
  });

  step("the node returns and every instance is Ready on a node of its own", async () => {
    await c().kubectl.run(["uncordon", drained]);
    const pg = await spreadReady(PG.metadata.namespace!, PG_LABELS, PG.spec.instances);
    assert.ok(pg.some((p) => p.spec.nodeName === drained));
    await spreadReady(APP_NS, frontend, ha.replicas);
    await spreadReady(APP_NS, backend, ha.replicas);
  });
});
