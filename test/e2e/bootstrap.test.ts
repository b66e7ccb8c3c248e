/**
 * End-to-end: `bk bootstrap --target existing` rebuilds the platform on the local control plane, from a cluster
 * with nothing but Flux's CRDs to every HelmRelease Ready. The target replaces `minikube start` (and the node
 * network and node trust, which need a Minikube node) with the harness; every step after it is the one a
 * Minikube rebuild runs: the Sealed Secrets key restored, Flux pointed at the repository, the applications held,
 * the infrastructure layers, the CA saved, the refill, the canary, the rest.
 *
 * The refill is bk's own, against real peers: the application chart uploaded by `bk chart push` to ChartMuseum
 * (a FAKE one, test/helpers/fake-chartmuseum.ts: the real one cannot be built here) over TLS with basic auth,
 * from which Flux then installs every application; the application images restored by `bk images import` from
 * an export of another real Docker Registry v2 (the registry before the rebuild); the third-party images copied
 * by `bk images mirror --from-oci-dir` from locally made OCI archives. Both land in a real, empty registry.
 *
 * Stood in for (each named, as in the platform e2e): the upstream charts and the Gateway API source, served by
 * the harness (helpers/upstream.ts); Minikube's storage and advisory webhooks (helpers/stand-ins.ts); the
 * cluster CA, which cert-manager (a KWOK pod here) would issue, made by openssl and written where cert-manager
 * writes it; the Flux deploy key, which `flux create secret git` would make (the harness git server is plain
 * HTTP and reads none); ChartMuseum's credentials, which the Sealed Secrets controller (a KWOK pod) would decrypt.
 *
 * Needs `npm run tools -- base e2e`, docker-registry and skopeo, and the mirrors in ../shared.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { after, before, describe } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/core/object.js";
import { FLUX_NAMESPACE } from "../../src/core/well-known.js";
import { up } from "../../src/devcluster/index.js";
import { type Generated, generate } from "../../src/pipeline.js";
import { CA_SECRET } from "../../src/workflows/trust.js";
import type { StatusReport } from "../../src/workflows/status.js";
import { sharedCrds } from "../helpers/charts.js";
import { runBkAsync } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { type FakeChartMuseum, startFakeChartMuseum } from "../helpers/fake-chartmuseum.js";
import { makeServerCert } from "../helpers/pki.js";
import { ociLayout, startRegistry, type TestRegistry } from "../helpers/registry.js";
import { clusterSuite } from "./helpers/suite.js";
import { cond, describeCond, GOTK_SYNC, HR, KS, list, writeTree, yamlDocs } from "./helpers/tree.js";
import { minikubeStorage, type StandIn, webhookRelaxer } from "./helpers/stand-ins.js";
import { type ServedUpstream, serveUpstream } from "./helpers/upstream.js";

const suite = clusterSuite();
const c = suite.cluster;
const report: string[] = [];
const standIns: Record<string, StandIn> = {};
const KEY = path.join(REPO_ROOT, "test/fixtures/sealed-secrets/TEST-ONLY-key-backup.yaml");
const AUTH = { user: "bk-e2e", password: "e2e-only-password" };
const AUTH_SECRET = "harness-chartmuseum-auth";

let gen: Generated | undefined;
let before_: TestRegistry | undefined; // the registry the images are exported from (before the rebuild)
let rebuilt: TestRegistry | undefined; // the rebuilt cluster's registry: empty until the refill
let museum: FakeChartMuseum | undefined;
let served: ServedUpstream | undefined;
let root = "";
let exportDir = "";
let ociDir = "";
let bootstrap: { status: number | null; stdout: string; stderr: string; seconds: number } | undefined;

const g = (): Generated => gen ?? assert.fail("the tree was not generated (see the before() failure above)");
const note = (line: string) => {
  report.push(line);
  console.log(`# ${line}`);
};
/** repository:tag inside the registry (the model's references carry the definition's registry address). */
const inRegistry = (x: { image: { registry: string; ref: string } }) => x.image.ref.slice(x.image.registry.length + 1);
const appImages = () =>
  g()
    .model.components.filter((x) => !x.image.upstream)
    .map(inRegistry);
const mirroredImages = () => g().model.components.filter((x) => x.image.upstream);

/** The manifest digest of `image` (repository:tag) in a registry, or undefined when it is not there. */
function digestIn(r: TestRegistry, image: string): Promise<string | undefined> {
  const [repo, tag] = image.split(":") as [string, string];
  const [hostname, port] = r.host.split(":");
  const accept = "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json";
  return new Promise((resolve, reject) => {
    https
      .get({ hostname, port: Number(port), path: `/v2/${repo}/manifests/${tag}`, ca: readFileSync(r.ca.caCert), headers: { accept } }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? String(res.headers["docker-content-digest"]) : undefined);
      })
      .on("error", reject);
  });
}

/** The bootstrap file the harness needs: the tree's, pointed at the harness git server, with the source patches. */
function patchedSync(text: string): string {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as KubeObject & { spec?: Record<string, unknown> });
  const rootKs = docs.find((d) => d.kind === "Kustomization" && d.metadata.name === g().model.gitops.repository);
  if (!rootKs?.spec) throw new Error(`${GOTK_SYNC}: no root Kustomization`);
  rootKs.spec["patches"] = served!.rootPatches;
  return yamlDocs(...docs);
}

/**
 * cert-manager's CA, stood in: once the tree has made cert-manager's namespace, the Secret its CA Certificate
 * would produce, holding the CA that signed the rebuilt registry's and ChartMuseum's certificates.
 */
function clusterCa(ca: TestRegistry["ca"]): StandIn {
  const lines: string[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const ns = await c()
        .kubectl.run(["get", "namespace", CA_SECRET.namespace, "-o", "name"])
        .then(() => true)
        .catch(() => false);
      if (ns) {
        const crt = readFileSync(ca.caCert, "utf8");
        const secret = {
          apiVersion: "v1",
          kind: "Secret",
          type: "kubernetes.io/tls",
          metadata: { name: CA_SECRET.name, namespace: CA_SECRET.namespace },
          stringData: { "ca.crt": crt, "tls.crt": crt, "tls.key": readFileSync(ca.caKey, "utf8") },
        };
        await c().applyManifest(yamlDocs(secret as unknown as KubeObject));
        lines.push(`Secret ${CA_SECRET.namespace}/${CA_SECRET.name} with the test CA, as cert-manager would issue it`);
        return;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  return {
    lines,
    async stop() {
      running = false;
      await done;
    },
  };
}

describe("bk bootstrap --target existing: from an empty cluster to every HelmRelease Ready", () => {
  before(
    async () => {
      gen = generate(REPO_ROOT);
      [before_, rebuilt] = await Promise.all([startRegistry(), startRegistry()]);
      const cert = makeServerCert(rebuilt.ca, "chartmuseum", ["IP:127.0.0.1"]);
      museum = await startFakeChartMuseum({ username: AUTH.user, password: AUTH.password, tls: cert });
      const cluster = await up({ chartRepo: true, crdsDir: path.join(sharedCrds(), "flux"), onProgress: (l) => console.log(`# devcluster ${l}`) });
      suite.setCluster(cluster);
      served = await serveUpstream(cluster, g().model, g().tree.objects, rebuilt, await suite.tempDir("bk-e2e-upstream-"), { url: museum.url, authSecret: AUTH_SECRET });
      for (const l of served.lines) note(`served: ${l}`);

      // The images as they were before the rebuild, exported by bk from the old registry.
      for (const image of appImages()) {
        const [repo, tag] = image.split(":") as [string, string];
        before_.push(repo, tag);
      }
      exportDir = path.join(await suite.tempDir("bk-e2e-export-"), "images");
      const exported = await runBkAsync(["images", "export", exportDir, "--registry", before_.host, "--ca", before_.ca.caCert, "--json"]);
      assert.equal(exported.status, 0, exported.stderr);
      // The third-party images saved on a connected machine, under their upstream references.
      ociDir = await suite.tempDir("bk-e2e-oci-");
      for (const upstream of new Set(mirroredImages().map((x) => x.image.upstream!))) {
        const name = upstream.replace(/[^a-z0-9]+/gi, "-");
        const layout = ociLayout(path.join(ociDir, `layout-${name}`), `${upstream} made locally`, "v");
        execFileSync("skopeo", ["copy", "--quiet", `oci:${layout}:v`, `oci-archive:${path.join(ociDir, `${name}.tar`)}:${upstream}`]);
      }

      // The repository as bootstrap reads it: the definition, the application chart and the generated tree.
      root = await suite.tempDir("bk-e2e-bootstrap-root-");
      cpSync(path.join(REPO_ROOT, "definition"), path.join(root, "definition"), { recursive: true });
      cpSync(path.join(REPO_ROOT, "charts"), path.join(root, "charts"), { recursive: true });
      await writeTree(g().tree.files, root, cluster.git!.url("fleet"));
      writeFileSync(path.join(root, GOTK_SYNC), patchedSync(readFileSync(path.join(root, GOTK_SYNC), "utf8")));
      const sha = await cluster.pushRepo(root, { message: "the tree as committed" });
      note(`pushed the tree at ${sha.slice(0, 12)}; export of ${appImages().length} images from ${before_.host}; ${new Set(mirroredImages().map((x) => x.image.upstream)).size} OCI archive(s)`);
    },
    { timeout: 10 * 60_000 },
  );

  after(async () => {
    for (const [name, s] of Object.entries(standIns)) {
      await s.stop();
      for (const l of s.lines) report.push(`stand-in ${name}: ${l}`);
    }
    if (report.length) console.log(`# --- bootstrap e2e report ---\n${report.map((l) => `# ${l}`).join("\n")}`);
    await museum?.stop();
    before_?.stop();
    rebuilt?.stop();
    await suite.teardown(async () => `${bootstrap ? `bk bootstrap exit ${bootstrap.status}\n${bootstrap.stdout}\n${bootstrap.stderr}` : ""}`);
  });

  suite.step("bk bootstrap runs every step after the cluster's start, and the platform comes up", 50 * 60_000, async () => {
    const k = c().kubectl;
    assert.deepEqual(
      (await list<KubeObject>(k, "customresourcedefinitions")).map((x) => x.metadata.name).filter((n) => !n.endsWith(".toolkit.fluxcd.io")),
      [],
      "only Flux's CRDs before the bootstrap",
    );
    assert.equal(await digestIn(rebuilt!, appImages()[0]!), undefined, "the rebuilt registry starts empty");
    // What the harness provides in place of a node and a cluster's own controllers (see the file's comment).
    await c().applyManifest(yamlDocs(...served!.prerequisites));
    await c().applyManifest(
      yamlDocs(
        { apiVersion: "v1", kind: "Secret", metadata: { name: AUTH_SECRET, namespace: FLUX_NAMESPACE }, stringData: { username: AUTH.user, password: AUTH.password } } as unknown as KubeObject,
        { apiVersion: "v1", kind: "Secret", metadata: { name: g().model.gitops.secretRef!, namespace: FLUX_NAMESPACE }, stringData: { identity: "stand-in", known_hosts: "stand-in" } } as unknown as KubeObject,
      ),
    );
    standIns["storage"] = await minikubeStorage(k, (m) => c().applyManifest(m));
    standIns["webhooks"] = webhookRelaxer(k);
    standIns["cluster CA"] = clusterCa(rebuilt!.ca);

    const t0 = Date.now();
    const args = ["bootstrap", "--target", "existing", "--kubeconfig", c().kubeconfig, "--sealed-secrets-key", KEY, "--images", exportDir, "--images-from-oci-dir", ociDir];
    const r = await runBkAsync([...args, "--registry", rebuilt!.host, "--chartmuseum-url", museum!.url, "--root", root, "--json"], {
      env: { ...process.env, PATH: `${path.dirname(c().binaries.kubectl)}:${process.env["PATH"]}`, BK_CHARTMUSEUM_USER: AUTH.user, BK_CHARTMUSEUM_PASSWORD: AUTH.password },
    });
    bootstrap = { ...r, seconds: (Date.now() - t0) / 1000 };
    assert.equal(r.status, 0, `bk bootstrap exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout) as { ok: boolean; steps: Array<{ id: string; outcome: string }> };
    note(`bk bootstrap: exit 0 after ${bootstrap.seconds.toFixed(0)} s; ${out.steps.map((s) => `${s.id} ${s.outcome}`).join(", ")}`);
    const outcome = Object.fromEntries(out.steps.map((s) => [s.id, s.outcome]));
    // Everything after the cluster's start ran here; only Flux (the harness runs its controllers) and the deploy
    // key (stood in) were there before.
    for (const id of ["sealed-secrets-key", "flux-sync", "source", "hold-apps", "infra-controllers", "infra-configs", "trust-node", "refill", "release-apps", "canary", "apps"]) {
      assert.equal(outcome[id], "ran", `step ${id}: ${outcome[id]}`);
    }
    assert.equal(outcome["flux-install"], "already-done");
  });

  suite.step("every HelmRelease of the tree is Ready, the applications installed from the refilled ChartMuseum", 3 * 60_000, async () => {
    const inTree = g()
      .tree.objects.filter((p) => p.object.kind === "HelmRelease")
      .map((p) => `${p.object.metadata.namespace}/${p.object.metadata.name}`);
    const live = await list(c().kubectl, HR);
    const notReady = live.filter((h) => cond(h)?.status !== "True").map((h) => `${h.metadata.namespace}/${h.metadata.name}: ${describeCond(h)}`);
    assert.deepEqual(notReady, []);
    assert.deepEqual(live.map((h) => `${h.metadata.namespace}/${h.metadata.name}`).sort(), [...inTree].sort());
    for (const ks of await list(c().kubectl, KS)) assert.equal(cond(ks)?.status, "True", `Kustomization ${ks.metadata.name}: ${describeCond(ks)}`);
    const chart = (await c().kubectl.getJson<{ status?: { url?: string } }>("helmrepositories.source.toolkit.fluxcd.io", FLUX_NAMESPACE, "bk-charts"))?.status?.url;
    note(`${live.length} HelmReleases Ready (${inTree.length} in the tree); bk-charts artifact ${chart}`);
  });

  suite.step("the chart and the images are back: ChartMuseum holds the chart, the rebuilt registry every image", 60_000, async () => {
    const version = g().model.chartmuseum.appChart.version;
    const name = (parse(readFileSync(path.join(REPO_ROOT, "charts/app/Chart.yaml"), "utf8")) as { name: string }).name;
    const auth = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString("base64")}`;
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${museum!.url}/api/charts/${name}/${version}`);
      https
        .get({ hostname: u.hostname, port: Number(u.port), path: u.pathname, ca: readFileSync(rebuilt!.ca.caCert), headers: { authorization: auth } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on("error", reject);
    });
    assert.equal(status, 200, `chart ${name} ${version} in ChartMuseum`);
    const exported = JSON.parse(readFileSync(path.join(exportDir, "bk-images.json"), "utf8")) as { images: Array<{ image: string; digest: string }> };
    for (const e of exported.images) assert.equal(await digestIn(rebuilt!, e.image), e.digest, `${e.image} restored with its digest`);
    for (const x of mirroredImages()) assert.ok(await digestIn(rebuilt!, inRegistry(x)), `${inRegistry(x)} mirrored`);
    note(`ChartMuseum: ${name} ${version}; rebuilt registry: ${exported.images.length} application images (digests as exported), ${mirroredImages().length} mirrored`);
  });

  suite.step("bk status: Flux, pods and images green (exit 0 with --only); what only a real node and LAN provide is named", 3 * 60_000, async () => {
    const r = await runBkAsync(["status", "--json", "--kubeconfig", c().kubeconfig, "--root", root]);
    const s = JSON.parse(r.stdout) as StatusReport;
    for (const area of ["flux", "pods", "images"]) {
      assert.deepEqual(
        s.checks.filter((x) => x.area === area && x.health !== "ok"),
        [],
        `bk status ${area}`,
      );
    }
    // As in the platform e2e: no LoadBalancer address is announced by a KWOK speaker, nothing listens at the
    // definition's addresses, no certificate is served and no backup Job runs on a KWOK node.
    const failing = s.checks.filter((x) => x.health === "fail");
    const needNode = new Set(["ips", "reachability", "certificates", "backups"]);
    assert.deepEqual(
      failing.filter((x) => !needNode.has(x.area)),
      [],
    );
    for (const f of failing) note(`bk status (needs a real node): ${f.area} ${f.subject}: ${f.detail}`);
    assert.equal(r.status, s.healthy ? 0 : 1);
    // What this cluster can show, judged alone: exit 0.
    const areas = ["api", "flux", "pods", "images"];
    const scoped = await runBkAsync(["status", "--only", areas.join(","), "--json", "--kubeconfig", c().kubeconfig, "--root", root]);
    assert.equal(scoped.status, 0, scoped.stdout + scoped.stderr);
    const sr = JSON.parse(scoped.stdout) as StatusReport;
    assert.equal(sr.healthy, true);
    assert.ok(sr.checks.length > 0 && sr.checks.every((x) => areas.includes(x.area)));
    note(`bk status --only ${areas.join(",")}: exit 0, ${sr.checks.length} checks ok`);
  });
});
