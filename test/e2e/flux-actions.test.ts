/**
 * `bk reconcile`, `bk suspend`, `bk resume` against the local control plane with the real Flux controllers.
 * The names are the real definition's: the GitRepository and the root Kustomization are named as the tree
 * names them (`source`, `flux-system`), served from the harness's Git server and applying one ConfigMap;
 * `ffl/redis` is a HelmRelease whose chart repository answers nothing, so its reconciliation fails.
 */
import assert from "node:assert/strict";
import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, describe } from "node:test";
import { up } from "../../src/devcluster/index.js";
import { loadDefinition } from "../../src/model/load.js";
import { runBkAsync } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { freePort } from "../helpers/net.js";
import { clusterSuite } from "./helpers/suite.js";

const { model } = loadDefinition(REPO_ROOT);
const REPO = model.gitops.repository;
const redis = model.components.find((c) => c.id === "ffl/redis")!;
const KS = "kustomizations.kustomize.toolkit.fluxcd.io";
const HR = "helmreleases.helm.toolkit.fluxcd.io";

interface Report {
  ok: boolean;
  exitCode?: number;
  error?: string;
  objects: Array<{
    role: string;
    kind: string;
    namespace: string;
    name: string;
    requestedAt?: string;
    lastHandledReconcileAt?: string;
    ready?: { status: string; reason?: string };
    suspended?: boolean;
    events?: string[];
  }>;
}

describe("bk reconcile / suspend / resume on the local control plane", { timeout: 600_000 }, () => {
  const suite = clusterSuite();
  let kubeconfig = "";
  const bk = async (...args: string[]) => {
    const r = await runBkAsync([...args, "--root", REPO_ROOT, "--kubeconfig", kubeconfig]);
    return { ...r, report: (args.includes("--json") ? JSON.parse(r.stdout) : undefined) as Report };
  };
  const status = async (kind: string, ns: string, name: string) =>
    (await suite
      .cluster()
      .kubectl.getJson<{ spec: { suspend?: boolean }; status: { lastHandledReconcileAt?: string; lastAppliedRevision?: string; conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }>(
        kind,
        ns,
        name,
      ))!;

  const configMap = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: flux-actions, namespace: default }\ndata: { a: ${value} }\n`;
  const configValue = async () => (await suite.cluster().kubectl.getJson<{ data: { a: string } }>("configmap", "default", "flux-actions"))?.data.a;
  const waitUntil = async (probe: () => Promise<boolean>, timeoutMs = 30_000) => {
    for (const end = Date.now() + timeoutMs; !(await probe()); ) {
      if (Date.now() > end) throw new Error("timed out");
      await new Promise((res) => setTimeout(res, 500));
    }
  };
  let tree = "";

  before(async () => {
    const cluster = await up();
    suite.setCluster(cluster);
    kubeconfig = cluster.kubeconfig;
    tree = await suite.tempDir("bk-flux-actions-");
    await mkdir(path.join(tree, "cm"));
    await writeFile(path.join(tree, "cm", "configmap.yaml"), configMap("b"));
    await cluster.pushRepo(tree);
    // Named as the definition's tree names them: GitRepository and root Kustomization both `beckerkube`.
    await cluster.syncGit({ name: REPO, path: "./cm", timeoutMs: 120_000 });
    const deadPort = await freePort();
    await cluster.applyManifest(
      [
        `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${redis.namespace} }`,
        `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: { name: bk-charts, namespace: flux-system }\nspec: { interval: 10m, url: "http://127.0.0.1:${deadPort}" }`,
        `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: { name: ${redis.fullname}, namespace: ${redis.namespace} }\nspec: { interval: 10m, chart: { spec: { chart: app, version: "1.0.0", sourceRef: { kind: HelmRepository, name: bk-charts, namespace: flux-system } } } }`,
      ].join("\n---\n"),
    );
  });

  after(() => suite.teardown());

  suite.step("reconcile source and flux-system --wait: each request is handled and Ready", 120_000, async () => {
    const r = await bk("reconcile", "source", "flux-system", "--wait", "--json");
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.deepEqual(
      r.report.objects.map((o) => `${o.kind} ${o.name}`),
      [`GitRepository ${REPO}`, `Kustomization ${REPO}`],
    );
    for (const o of r.report.objects) {
      assert.ok(o.requestedAt);
      const live = await status(o.kind === "GitRepository" ? "gitrepositories.source.toolkit.fluxcd.io" : KS, "flux-system", o.name);
      assert.equal(live.status.lastHandledReconcileAt, o.requestedAt, `${o.kind} handled the request bk made`);
      assert.equal(o.ready?.status, "True");
    }
  });

  suite.step("reconcile --with-source reconciles the GitRepository first, then the Kustomization", 120_000, async () => {
    const r = await bk("reconcile", "flux-system", "--with-source", "--wait", "--json");
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.deepEqual(
      r.report.objects.map((o) => `${o.role} ${o.kind}`),
      ["source GitRepository", "target Kustomization"],
    );
    assert.equal((await status(KS, "flux-system", REPO)).status.lastHandledReconcileAt, r.report.objects[1]!.requestedAt);
  });

  // A suspended Kustomization still records a request as handled (kustomize-controller writes lastHandledReconcileAt
  // on its way out) but applies nothing: what shows suspension is a new commit that is not applied until resume.
  let newCommit = "";
  suite.step("suspend sets spec.suspend: a new commit is fetched but not applied, even on request; bk reconcile refuses (exit 1)", 120_000, async () => {
    const r = await bk("suspend", "flux-system", "--json");
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal((await status(KS, "flux-system", REPO)).spec.suspend, true);
    await writeFile(path.join(tree, "cm", "configmap.yaml"), configMap("c"));
    newCommit = await suite.cluster().pushRepo(tree);
    const src = await bk("reconcile", "source", "--wait", "--json");
    assert.equal(src.status, 0, src.stderr);
    const git = await suite.cluster().kubectl.getJson<{ status: { artifact?: { revision?: string } } }>("gitrepositories.source.toolkit.fluxcd.io", "flux-system", REPO);
    assert.ok(git?.status.artifact?.revision?.includes(newCommit), "the source has the new commit");
    const token = await suite.cluster().reconcileNow(KS, "flux-system", REPO);
    await waitUntil(async () => (await status(KS, "flux-system", REPO)).status.lastHandledReconcileAt === token);
    assert.ok(!(await status(KS, "flux-system", REPO)).status.lastAppliedRevision?.includes(newCommit), "a suspended Kustomization applied a new commit");
    assert.equal(await configValue(), "b");
    const refused = await bk("reconcile", "flux-system", "--wait");
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /suspended.*bk resume flux-system/);
  });

  suite.step("resume --wait clears spec.suspend, requests a reconcile, sees it handled and the new commit applied", 120_000, async () => {
    const r = await bk("resume", "flux-system", "--wait", "--json");
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const live = await status(KS, "flux-system", REPO);
    assert.equal(live.spec.suspend, false);
    assert.equal(live.status.lastHandledReconcileAt, r.report.objects[0]!.requestedAt);
    assert.ok(live.status.lastAppliedRevision?.includes(newCommit), live.status.lastAppliedRevision);
    assert.equal(r.report.objects[0]!.ready?.status, "True");
    assert.equal(await configValue(), "c");
  });

  suite.step("a failing HelmRelease: reconcile --wait exits 1 with Flux's reason, message and the object's events", 180_000, async () => {
    const r = await bk("reconcile", "ffl/redis", "--wait", "--timeout", "2m");
    assert.equal(r.status, 1, r.stderr + r.stdout);
    const ready = (await status(HR, redis.namespace, redis.fullname)).status.conditions!.find((c) => c.type === "Ready")!;
    assert.equal(ready.status, "False");
    // The reason moves from ArtifactFailed (no HelmChart yet) to SourceNotReady as Flux works: either is Flux's own.
    const said = new RegExp(`HelmRelease ${redis.namespace}/${redis.fullname}: Ready=False (\\w+): (.+)`).exec(r.stderr);
    assert.ok(said, r.stderr);
    assert.match(said[1]!, /^(SourceNotReady|ArtifactFailed)$/);
    assert.match(ready.reason, /^(SourceNotReady|ArtifactFailed)$/);
    assert.match(r.stderr, /last events of HelmRelease/);
    const j = await bk("reconcile", "ffl/redis", "--wait", "--timeout", "2m", "--json");
    assert.equal(j.status, 1);
    assert.equal(j.report.exitCode, 1);
    assert.equal(j.report.objects[0]!.ready?.status, "False");
    // What the controller recorded for it (helm-controller records no event while it waits for a source).
    assert.ok(Array.isArray(j.report.objects[0]!.events), "the failure carries the object's events");
  });

  suite.step("an object the definition names but the cluster lacks is unavailable (exit 3)", 60_000, async () => {
    const r = await bk("reconcile", "apps", "--json");
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.report.error ?? "", /not in the cluster: Kustomization flux-system\/apps/);
  });
});
