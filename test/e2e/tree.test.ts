/**
 * End-to-end: BeckerKube's own generated tree against the real apiserver and the real Flux controllers
 * (src/devcluster), in one cluster:
 *
 *  1. every synthesized object passes a server-side dry-run (Namespaces applied first, for real);
 *  2. every object the application chart renders passes too, and every pod it would create is admitted by
 *     Pod Security "restricted" in the tree's namespaces, while a non-compliant one is refused;
 *  3. Flux reconciles the pushed tree: the infrastructure layer fails, and only because upstream chart
 *     repositories are unreachable offline (reported);
 *  4. the application layer installs through Flux from the chart served by the harness: HelmReleases Ready in
 *     dependency order, pods Running on the KWOK node with the definition's images, migration hooks run;
 *  5. a tag bump made the way `bk release` makes it reaches the running Deployment;
 *  6. broken values end in failed HelmReleases with Flux's remediation, and the previous version keeps running.
 *
 * The stand-ins an offline machine needs are listed in test/e2e/helpers/tree.ts and docs/e2e.md.
 * Needs `npm run tools -- base e2e`.
 */
import assert from "node:assert/strict";
import { readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe } from "node:test";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/core/object.js";
import { FLUX_NAMESPACE } from "../../src/core/well-known.js";
import { defaultCrdsDir, up } from "../../src/devcluster/index.js";
import { chartTemplateCrds } from "../../src/schema/crd-extract.js";
import { bumpTags } from "../../src/workflows/bump.js";
import { generate, type Generated } from "../../src/pipeline.js";
import { APP_CHART_REPOSITORY } from "../../src/core/well-known.js";
import { CONTROLLERS } from "../../src/model/layout.js";
import { APP_CHART_DIR, appReleases, renderAppReleases, type Rendered } from "../../src/workflows/render.js";
import { REPO_ROOT } from "../helpers/definition.js";
import {
  CommandError,
  GIT_REPOSITORY,
  GITREPO,
  GOTK_SYNC,
  HELMCHART,
  HELMREPO,
  HR,
  KS,
  appsKustomization,
  cond,
  deploymentPods,
  describeCond,
  dryRun,
  helmHistory,
  list,
  secs,
  standInChartRepository,
  volumeFor,
  waitFor,
  writeTree,
  yamlDocs,
  type FluxObj,
} from "./helpers/tree.js";
import { clusterSuite } from "./helpers/suite.js";

const NODE = "beckerbox";
const E2E_APPS = "e2e-apps";
const READY_TIMEOUT = 120_000;
/** All 18 application releases, two dependency levels deep, each level waiting out helm-controller's 30 s requeue. */
const APPS_TIMEOUT = 8 * 60_000;
/** Outside the cluster nothing resolves: a fetch from an upstream chart repository fails in one of these ways. */
const NETWORK_ERROR = /no such host|dial tcp|network is unreachable|connection refused|i\/o timeout|Temporary failure in name resolution|server misbehaving|TLS handshake timeout|Client\.Timeout exceeded/;

const suite = clusterSuite();
const c = suite.cluster;
const step = suite.step;
const tempDir = suite.tempDir;
const report: string[] = [];
let gen: Generated | undefined;
let rendered: Rendered[] = [];
let treeDir = "";
/** Set once the application layer is Ready (test 4); tests 5 and 6 build on it. */
let appsUp = false;
/** Set by test 5: the tag ffl/frontend runs after the bump. */
let bumpedTag = "";

function g(): Generated {
  if (!gen) throw new Error("the tree was not generated (see the before() failure above)");
  return gen;
}
const note = (line: string) => {
  report.push(line);
  console.log(`# ${line}`);
};

/** kubectl's line per object of an apply: "<kind>.<group>/<name> serverside-applied (server dry run)". */
function countDryRunApplied(stdout: string): number {
  return stdout.split("\n").filter((l) => /serverside-applied \(server dry run\)$/.test(l.trim())).length;
}

interface PodTemplateSketch {
  metadata?: { labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

/** The pod a workload would create: Pod Security is enforced on Pods only (Deployments merely warn). */
function podsOf(o: KubeObject): KubeObject[] {
  const spec = o.spec as { template?: PodTemplateSketch; jobTemplate?: { spec?: { template?: PodTemplateSketch } } } | undefined;
  const template = o.kind === "CronJob" ? spec?.jobTemplate?.spec?.template : ["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"].includes(o.kind) ? spec?.template : undefined;
  if (!template) return [];
  const podSpec = structuredClone(template.spec) as Record<string, unknown>;
  // The release's ServiceAccounts exist only once Helm installs it; the ServiceAccount admission plugin would
  // refuse the pod for that alone. Pod Security does not look at the account, so the default one stands in.
  delete podSpec["serviceAccountName"];
  return [
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `${o.metadata.name}-podsec`.slice(0, 63), namespace: o.metadata.namespace, labels: template.metadata?.labels ?? {} },
      spec: podSpec,
    },
  ];
}

function renderedObjects(): KubeObject[] {
  return rendered.flatMap((r) => r.objects.map((o) => (o.metadata.namespace ? o : { ...o, metadata: { ...o.metadata, namespace: r.release.object.metadata.namespace } })));
}

/** One line per application HelmRelease that is not Ready, for failure messages. */
async function releaseSummary(): Promise<string> {
  const hrs = await list(c().kubectl, HR);
  const lines = hrs
    .filter((h) => (h.spec?.["chart"] as { spec?: { sourceRef?: { name?: string } } } | undefined)?.spec?.sourceRef?.name === APP_CHART_REPOSITORY)
    .filter((h) => cond(h)?.status !== "True")
    .map((h) => `  ${h.metadata.namespace}/${h.metadata.name}: ${describeCond(h)}`);
  return lines.length ? `HelmReleases not Ready:\n${lines.join("\n")}` : "every application HelmRelease is Ready";
}

async function getHr(ns: string, name: string): Promise<FluxObj> {
  const hr = await c().kubectl.getJson<FluxObj>(HR, ns, name);
  if (!hr) throw new Error(`HelmRelease ${ns}/${name} does not exist`);
  return hr;
}

/** Commit `treeDir`, then ask Flux for it now (GitRepository, then the Kustomization) as `bk release` does. */
async function pushAndRequest(message: string): Promise<string> {
  const sha = await c().pushRepo(treeDir, { message });
  const token = await c().reconcileNow(GITREPO, FLUX_NAMESPACE, GIT_REPOSITORY);
  const repo = await c().waitReady(GITREPO, FLUX_NAMESPACE, GIT_REPOSITORY, READY_TIMEOUT, { requestedAt: token });
  assert.equal((repo["status"] as { artifact?: { revision?: string } }).artifact?.revision, `main@sha1:${sha}`, "GitRepository fetched the new commit");
  await c().reconcileNow(KS, FLUX_NAMESPACE, E2E_APPS);
  return sha;
}

/** Chart values as the tests edit them: the image tag by name, the rest as plain data. */
interface ChartValues {
  image: { tag: string };
  [key: string]: unknown;
}

/** Edit the HelmRelease in one file of the pushed copy, as a hand edit of generated YAML would. */
async function editRelease(rel: string, edit: (values: ChartValues) => void): Promise<void> {
  const file = path.join(treeDir, rel);
  const docs = parseAllDocuments(await readFile(file, "utf8")).map((d) => d.toJS() as KubeObject);
  const hr = docs.find((d) => d.kind === "HelmRelease");
  if (!hr) throw new Error(`${rel}: no HelmRelease`);
  edit((hr.spec as { values: ChartValues }).values);
  await writeFile(file, yamlDocs(...docs));
}

function nextPatch(tag: string): string {
  const m = /^(.*?)(\d+)$/.exec(tag);
  if (!m) throw new Error(`tag ${tag} does not end in a number`);
  return `${m[1]}${Number(m[2]) + 1}`;
}

async function assertRunning(ns: string, release: string, image: string, replicas: number): Promise<void> {
  await c().waitReady("deployment", ns, release, READY_TIMEOUT);
  // A rolling update leaves old pods terminating for a moment; wait for the set to settle.
  const pods = await waitFor(
    `pods of ${ns}/${release} to be ${replicas} x ${image}`,
    READY_TIMEOUT,
    async () => {
      const p = await deploymentPods(c().kubectl, ns, release);
      const ok = p.length === replicas && p.every((x) => x.spec.containers[0]?.image === image && x.status.phase === "Running");
      return { value: ok ? p : undefined, detail: p.map((x) => `${x.metadata.name}=${x.spec.containers[0]?.image}/${x.status.phase}`).join(", ") || "no pods" };
    },
    () => c().assertAlive(),
  );
  for (const p of pods) {
    assert.equal(p.spec.nodeName, NODE, `pod ${ns}/${p.metadata.name} is bound to ${p.spec.nodeName ?? "no node"}`);
    assert.equal(p.status.conditions?.find((x) => x.type === "Ready")?.status, "True", `pod ${ns}/${p.metadata.name} Ready`);
  }
}

describe("the generated tree on a real control plane with Flux", () => {
  before(
    async () => {
      gen = generate(REPO_ROOT);
      const r = await renderAppReleases(REPO_ROOT, gen.tree.objects);
      assert.deepEqual(r.findings, [], "helm template renders every application release");
      rendered = r.rendered;
      // The mirror's CRDs, and VolSync's, which its chart ships only as templates (the tree's ReplicationSources need
      // them; this test installs no upstream chart).
      const crds = await tempDir("bk-e2e-crds-");
      await symlink(defaultCrdsDir(), path.join(crds, "upstream"));
      for (const [i, t] of chartTemplateCrds(path.join(defaultCrdsDir(), "..", "charts")).entries()) await writeFile(path.join(crds, `chart-crd-${i}.yaml`), t.text);
      const cluster = await up({ chartRepo: true, crdsDir: crds, onProgress: (l) => console.log(`# devcluster ${l}`) });
      suite.setCluster(cluster);
      console.log(`# devcluster workdir ${cluster.workdir}`);
      treeDir = await tempDir("bk-e2e-tree-");
    },
    { timeout: 6 * 60_000 },
  );

  after(async () => {
    if (report.length) console.log(`# --- tree e2e report ---\n${report.map((l) => `# ${l}`).join("\n")}`);
    await suite.teardown(releaseSummary);
  });

  step("every synthesized object is accepted by the apiserver (server-side dry-run, Namespaces first)", 5 * 60_000, async () => {
    const objects = g().tree.objects.map((p) => p.object);
    assert.equal(objects.filter((o) => o.kind === "SealedSecret").length, 0, "SealedSecrets are written by `bk secrets seal`, not synthesis; none are committed");
    const namespaces = objects.filter((o) => o.kind === "Namespace");
    const rest = objects.filter((o) => o.kind !== "Namespace");
    // A dry-run cannot create a namespace, and a namespaced dry-run in a missing namespace is refused: the
    // Namespaces go in for real (the CRDs are already there, installed by the harness).
    await c().applyManifest(yamlDocs(...namespaces));
    const t0 = Date.now();
    const { stdout, stderr } = await dryRun(c().kubectl, yamlDocs(...rest));
    assert.equal(countDryRunApplied(stdout), rest.length, `every object accepted:\n${stdout}\n${stderr}`);
    assert.doesNotMatch(stderr, /PodSecurity/, "no Pod Security warning for the tree's own workloads");
    assert.deepEqual(await list(c().kubectl, HR), [], "the dry-run persisted nothing");
    note(`dry-run: ${namespaces.length} Namespaces applied, ${rest.length} other objects accepted in ${secs(Date.now() - t0)} s`);
  });

  step("every rendered application object passes; every pod it makes is admitted by Pod Security restricted", 5 * 60_000, async () => {
    const objs = renderedObjects();
    const namespaces = [...new Set(objs.map((o) => o.metadata.namespace!))];
    for (const ns of namespaces) {
      const live = await c().kubectl.getJson<{ metadata: { labels?: Record<string, string> } }>("namespace", undefined, ns);
      assert.equal(live?.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted", `namespace ${ns} enforces restricted (labelled by the tree)`);
      await waitFor(`serviceaccount ${ns}/default`, READY_TIMEOUT, async () => ({ value: await c().kubectl.getJson("serviceaccount", ns, "default"), detail: "not yet" }));
    }
    const objectsRun = await dryRun(c().kubectl, yamlDocs(...objs));
    assert.equal(countDryRunApplied(objectsRun.stdout), objs.length, `every rendered object accepted:\n${objectsRun.stdout}\n${objectsRun.stderr}`);

    const pods = objs.flatMap(podsOf);
    assert.ok(pods.length >= rendered.length, `one pod per workload (${pods.length} pods for ${rendered.length} releases)`);
    const podsRun = await dryRun(c().kubectl, yamlDocs(...pods));
    assert.equal(countDryRunApplied(podsRun.stdout), pods.length, `every pod admitted:\n${podsRun.stdout}\n${podsRun.stderr}`);
    assert.doesNotMatch(podsRun.stderr + objectsRun.stderr, /PodSecurity/);
    note(`rendered: ${objs.length} objects of ${rendered.length} releases accepted; ${pods.length} pods (Deployments, migration Jobs, CronJobs) admitted in ${namespaces.length} restricted namespaces`);

    // Admission is live: the same Deployment without runAsNonRoot is only warned about (Pod Security enforces on
    // Pods), and its pod is refused.
    const deployment = structuredClone(objs.find((o) => o.kind === "Deployment")!);
    const spec = (deployment.spec as { template: { spec: { securityContext?: Record<string, unknown>; containers: { securityContext?: Record<string, unknown> }[] } } }).template.spec;
    delete spec.securityContext?.["runAsNonRoot"];
    for (const ct of spec.containers) delete ct.securityContext?.["runAsNonRoot"];
    const warned = await dryRun(c().kubectl, yamlDocs(deployment));
    assert.match(warned.stderr, /would violate PodSecurity "restricted:v1\.\d+".*runAsNonRoot/s, `warn mode reports the Deployment:\n${warned.stderr}`);
    await assert.rejects(dryRun(c().kubectl, yamlDocs(...podsOf(deployment))), (err: unknown) => {
      assert.ok(err instanceof CommandError, String(err));
      assert.match(err.stderr, /violates PodSecurity "restricted:v1\.\d+".*runAsNonRoot/s);
      return true;
    });
    note(`Pod Security is live: ${deployment.metadata.namespace}/${deployment.metadata.name} without runAsNonRoot is warned about as a Deployment and refused as a Pod`);
  });

  step("Flux reconciles the pushed tree; the infrastructure layer fails only on the unreachable upstream network", 6 * 60_000, async () => {
    const files = await writeTree(g().tree.files, treeDir, c().git!.url("fleet"));
    const sha = await c().pushRepo(treeDir, { message: "generated tree" });
    // Bootstrap as `flux bootstrap` would: apply the tree's own gotk-sync (pointed at the local server).
    await c().applyManifest(await readFile(path.join(treeDir, GOTK_SYNC), "utf8"));
    await c().waitReady(GITREPO, FLUX_NAMESPACE, GIT_REPOSITORY, READY_TIMEOUT);
    const root = await c().waitReady(KS, FLUX_NAMESPACE, GIT_REPOSITORY, READY_TIMEOUT);
    assert.equal((root["status"] as { lastAppliedRevision?: string }).lastAppliedRevision, `main@sha1:${sha}`);
    note(`pushed ${files} files of clusters/, infrastructure/, apps/ as ${sha.slice(0, 12)}; Kustomization ${GIT_REPOSITORY} applied it`);

    const placed = g().tree.objects.filter((p) => p.file.startsWith(`${CONTROLLERS}/`));
    const repos = placed.filter((p) => p.object.kind === "HelmRepository").map((p) => p.object);
    const releases = placed.filter((p) => p.object.kind === "HelmRelease").map((p) => p.object);
    assert.ok(repos.length > 0 && releases.length > 0);

    type Verdict = { line: string };
    const repoVerdict = (r: FluxObj | undefined): Verdict | undefined => {
      const ready = cond(r);
      return ready?.status === "False" && NETWORK_ERROR.test(ready.message ?? "") ? { line: ready.message! } : undefined;
    };
    const verdicts = await waitFor(
      "every infrastructure HelmRelease to fail on the network",
      3 * 60_000,
      async () => {
        const out = new Map<string, string>();
        const pending: string[] = [];
        for (const r of repos) {
          const live = await c().kubectl.getJson<FluxObj>(HELMREPO, r.metadata.namespace, r.metadata.name);
          // OCI HelmRepositories have no index to fetch; their charts fail instead (below).
          if ((r.spec as { type?: string }).type === "oci") continue;
          const v = repoVerdict(live);
          if (v) out.set(`HelmRepository ${r.metadata.namespace}/${r.metadata.name}`, v.line);
          else pending.push(`HelmRepository ${r.metadata.name}: ${describeCond(live)}`);
        }
        const failing = new Set(releases.map((x) => `${x.metadata.namespace}/${x.metadata.name}`));
        for (const x of releases) {
          const id = `${x.metadata.namespace}/${x.metadata.name}`;
          const hr = await c().kubectl.getJson<FluxObj>(HR, x.metadata.namespace, x.metadata.name);
          const ready = cond(hr);
          const msg = ready?.message ?? "";
          const dep = /dependency '([^']+)' is not ready/.exec(msg)?.[1];
          const chart = /HelmChart '([^/']+)\/([^']+)' is not ready/.exec(msg);
          if (ready?.status === "False" && dep && failing.has(dep)) {
            out.set(`HelmRelease ${id}`, msg);
          } else if (ready?.status === "False" && chart) {
            const hc = await c().kubectl.getJson<FluxObj>(HELMCHART, chart[1]!, chart[2]!);
            const hcMsg = cond(hc)?.message ?? "";
            const srcName = /no artifact available for HelmRepository source '([^']+)'/.exec(hcMsg)?.[1];
            const src = srcName ? out.get(`HelmRepository ${chart[1]}/${srcName}`) : undefined;
            if (cond(hc)?.status === "False" && (NETWORK_ERROR.test(hcMsg) || src)) {
              out.set(`HelmRelease ${id}`, `${msg} (${src ? `HelmRepository ${srcName}: ${src}` : `HelmChart: ${hcMsg}`})`);
            } else pending.push(`HelmRelease ${id}: ${describeCond(hr)}; HelmChart: ${describeCond(hc)}`);
          } else pending.push(`HelmRelease ${id}: ${describeCond(hr)}`);
        }
        return { value: pending.length ? undefined : out, detail: pending.join("; ") };
      },
      () => c().assertAlive(),
      2000,
    );
    for (const [what, why] of verdicts) note(`offline: ${what}: ${why.replace(/\s+/g, " ")}`);

    const controllers = await c().kubectl.getJson<FluxObj>(KS, FLUX_NAMESPACE, "infra-controllers");
    assert.notEqual(cond(controllers)?.status, "True", "infra-controllers cannot be Ready offline");
    for (const [name, dep] of [
      ["infra-configs", "infra-controllers"],
      ["apps", "infra-configs"],
    ] as const) {
      const ks = await waitFor(`Kustomization ${name} to wait for ${dep}`, READY_TIMEOUT, async () => {
        const k = await c().kubectl.getJson<FluxObj>(KS, FLUX_NAMESPACE, name);
        return { value: cond(k)?.message?.includes(`dependency '${FLUX_NAMESPACE}/${dep}' is not ready`) ? k : undefined, detail: describeCond(k) };
      });
      note(`Kustomization ${name}: ${describeCond(ks)}`);
    }
    note(`Kustomization infra-controllers: ${describeCond(controllers)} (health checks run until its 15m timeout)`);
  });

  step("the application layer installs through Flux: Ready in dependency order, pods on beckerbox, hooks run", APPS_TIMEOUT + 4 * 60_000, async () => {
    const charts = c().charts!;
    await charts.pushChart(path.join(REPO_ROOT, APP_CHART_DIR));
    const pvcs = renderedObjects().filter((o) => o.kind === "PersistentVolumeClaim");
    if (pvcs.length) await c().applyManifest(yamlDocs(...pvcs.map(volumeFor)));
    // bk-charts (ChartMuseum) and the apps layer are the stand-ins described in helpers/tree.ts: infra-configs,
    // which holds bk-charts, and the tree's `apps`, which depends on it, cannot become Ready offline.
    await c().applyManifest(yamlDocs(standInChartRepository(APP_CHART_REPOSITORY, charts.url), appsKustomization(E2E_APPS, "./apps", "5m")));
    const t0 = Date.now();
    try {
      await waitFor(
        `Kustomization ${E2E_APPS} to become Ready`,
        APPS_TIMEOUT,
        async () => {
          const ks = await c().kubectl.getJson<FluxObj>(KS, FLUX_NAMESPACE, E2E_APPS);
          const r = cond(ks);
          if (r?.status === "True" && r.observedGeneration === ks?.metadata.generation) return { value: ks, detail: "Ready" };
          // A Stalled HelmRelease will not recover without a new commit: waiting out the timeout would prove nothing.
          const stalled = (await list(c().kubectl, HR)).filter((h) => cond(h, "Stalled")?.status === "True");
          if (stalled.length) throw new Error(`HelmReleases stalled: ${stalled.map((h) => `${h.metadata.namespace}/${h.metadata.name}: ${describeCond(h, "Stalled")}; ${describeCond(h)}`).join("; ")}`);
          return { detail: describeCond(ks) };
        },
        () => c().assertAlive(),
        2000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await releaseSummary()}`, { cause: err });
    }
    note(`Kustomization ${E2E_APPS} (./apps) Ready in ${secs(Date.now() - t0)} s with every HelmRelease healthy`);

    const m = g().model;
    const releases = appReleases(g().tree.objects).map((p) => p.object);
    const live = new Map<string, FluxObj>();
    for (const r of releases) {
      const hr = await getHr(r.metadata.namespace!, r.metadata.name);
      assert.equal(cond(hr)?.status, "True", `HelmRelease ${r.metadata.namespace}/${r.metadata.name}: ${describeCond(hr)}`);
      live.set(`${r.metadata.namespace}/${r.metadata.name}`, hr);
    }

    // dependsOn: a release is installed only after each of its dependencies is Ready.
    const readyAt = (hr: FluxObj) => Date.parse(cond(hr)!.lastTransitionTime!);
    const installedAt = (hr: FluxObj) => Math.min(...((hr.status?.["history"] as { firstDeployed?: string }[] | undefined) ?? []).map((h) => Date.parse(h.firstDeployed ?? "")));
    for (const r of releases) {
      const id = `${r.metadata.namespace}/${r.metadata.name}`;
      for (const d of (r.spec as { dependsOn?: { name: string; namespace?: string }[] }).dependsOn ?? []) {
        const depId = `${d.namespace ?? r.metadata.namespace}/${d.name}`;
        const hr = live.get(id)!;
        const dep = live.get(depId)!;
        assert.ok(installedAt(hr) >= readyAt(dep), `${id} was installed (${new Date(installedAt(hr)).toISOString()}) before its dependency ${depId} was Ready (${cond(dep)?.lastTransitionTime})`);
      }
    }
    const fe = live.get("ffl/ffl-frontend")!;
    const be = live.get("ffl/ffl-backend")!;
    assert.ok(readyAt(fe) > readyAt(be), `ffl-frontend Ready at ${cond(fe)?.lastTransitionTime}, ffl-backend at ${cond(be)?.lastTransitionTime}`);
    note(`order: ffl-backend Ready ${cond(be)?.lastTransitionTime}, ffl-frontend installed ${new Date(installedAt(fe)).toISOString()} and Ready ${cond(fe)?.lastTransitionTime}`);

    for (const comp of m.components) {
      await assertRunning(comp.namespace, comp.fullname, comp.image.ref, comp.replicas);
    }
    note(`${m.components.length} components: Deployments Ready, ${m.components.reduce((n, x) => n + x.replicas, 0)} pods Running on ${NODE} with the definition's images`);

    for (const comp of m.components.filter((x) => x.migration)) {
      const history = await helmHistory(c().kubectl, comp.namespace, comp.fullname);
      const deployed = history.filter((h) => h.info?.status === "deployed").at(-1);
      assert.ok(deployed, `${comp.namespace}/${comp.fullname}: no deployed Helm release record (history: ${history.map((h) => `${h.version}=${h.info?.status}`).join(", ")})`);
      const hook = deployed.hooks?.find((h) => h.kind === "Job" && h.name === `${comp.fullname}-migrate`);
      assert.ok(hook, `${comp.fullname}: the release has no migration hook Job (hooks: ${deployed.hooks?.map((h) => `${h.kind}/${h.name}`).join(", ")})`);
      assert.ok(hook.events?.includes("pre-install") && hook.events.includes("pre-upgrade"), `hook events: ${hook.events?.join(", ")}`);
      assert.equal(hook.last_run?.phase, "Succeeded", `${comp.fullname}-migrate last run: ${JSON.stringify(hook.last_run)}`);
      note(`migration hook Job ${comp.namespace}/${hook.name} ran for release v${deployed.version}: ${hook.last_run?.phase} (${hook.last_run?.started_at} .. ${hook.last_run?.completed_at})`);
    }

    // No SealedSecret is in Git without a cluster key, so the Secrets the pods read do not exist; KWOK starts
    // no containers and never resolves them, so the pods run anyway. A real kubelet would stop at
    // CreateContainerConfigError.
    const missing: string[] = [];
    for (const comp of m.components) {
      for (const s of comp.secretRefs) if (!(await c().kubectl.getJson("secret", comp.namespace, s))) missing.push(`${comp.namespace}/${s}`);
    }
    note(`secrets referenced by pods but absent (no SealedSecrets in the tree; KWOK does not check): ${[...new Set(missing)].join(", ") || "none"}`);
    appsUp = true;
  });

  step("a tag bump commit reaches the running Deployment through Flux", 5 * 60_000, async () => {
    assert.ok(appsUp, "needs the application layer from the previous test");
    const m = g().model;
    const app = m.apps.find((a) => a.name === "ffl")!;
    const comp = app.components.find((x) => x.name === "frontend")!;
    const to = nextPatch(comp.image.tag);
    const { text, bumps } = bumpTags(await readFile(path.join(REPO_ROOT, app.file), "utf8"), ["frontend"], to, app.file);
    assert.deepEqual(bumps, [{ component: "frontend", from: comp.image.tag, to }]);
    const next = generate(REPO_ROOT, new Map([[app.file, text]]));
    const changed = [...next.tree.files].filter(([f, content]) => /^(clusters|infrastructure|apps)\//.test(f) && g().tree.files.get(f) !== content).map(([f]) => f);
    assert.deepEqual(changed, ["apps/ffl/frontend.yaml"], "the bump changes one generated file");
    await writeTree(next.tree.files, treeDir, c().git!.url("fleet"));

    const hr0 = await getHr(comp.namespace, comp.fullname);
    const t0 = Date.now();
    const sha = await pushAndRequest(`ffl: frontend ${comp.image.tag} -> ${to}`);
    const image = next.model.components.find((x) => x.id === comp.id)!.image.ref;
    const hr = await waitFor(
      `HelmRelease ${comp.fullname} Ready on ${to}`,
      READY_TIMEOUT,
      async () => {
        const h = await getHr(comp.namespace, comp.fullname);
        const tag = (h.spec?.["values"] as { image?: { tag?: string } } | undefined)?.image?.tag;
        const ok = tag === to && h.metadata.generation! > hr0.metadata.generation! && cond(h)?.observedGeneration === h.metadata.generation && cond(h)?.status === "True";
        return { value: ok ? h : undefined, detail: `tag=${tag} generation=${h.metadata.generation} ${describeCond(h)}` };
      },
      () => c().assertAlive(),
      500,
    );
    await assertRunning(comp.namespace, comp.fullname, image, comp.replicas);
    // The Kustomization records the revision once its health checks (this release among them) have passed.
    await waitFor(`Kustomization ${E2E_APPS} to record ${sha.slice(0, 12)}`, READY_TIMEOUT, async () => {
      const k = await c().kubectl.getJson<FluxObj>(KS, FLUX_NAMESPACE, E2E_APPS);
      const ok = k?.status?.["lastAppliedRevision"] === `main@sha1:${sha}` && cond(k)?.status === "True";
      return { value: ok ? k : undefined, detail: `lastAppliedRevision=${String(k?.status?.["lastAppliedRevision"])} ${describeCond(k)}` };
    });
    note(`bump: ${comp.fullname} ${comp.image.tag} -> ${to} (commit ${sha.slice(0, 12)}) running on ${NODE} ${secs(Date.now() - t0)} s after the push; ${describeCond(hr)}`);
    bumpedTag = to;
  });

  step("broken values end in failed HelmReleases with Flux's remediation; the previous version keeps running", 6 * 60_000, async () => {
    assert.ok(bumpedTag, "needs the bumped release from the previous test");
    const m = g().model;
    const fe = m.components.find((x) => x.id === "ffl/frontend")!;
    const bot = m.components.find((x) => x.id === "ccbot/bot")!;
    const feImage = `${fe.image.repository}:${bumpedTag}`;
    const feBefore = await helmHistory(c().kubectl, fe.namespace, fe.fullname);
    const botBefore = await helmHistory(c().kubectl, bot.namespace, bot.fullname);

    // ffl-frontend: a value the chart's schema rejects. ccbot-bot: values the schema accepts but the apiserver
    // refuses (CPU request above its limit), so Helm does store a failed release and remediation has work to do.
    await editRelease("apps/ffl/frontend.yaml", (v) => (v["image"].tag = "latest"));
    await editRelease("apps/ccbot/bot.yaml", (v) => {
      v["image"].tag = nextPatch(bot.image.tag);
      v["resources"] = { requests: { cpu: "2", memory: "64Mi" }, limits: { cpu: "1", memory: "64Mi" } };
    });
    const sha = await pushAndRequest("broken values");

    const feHr = await waitFor(
      `HelmRelease ${fe.fullname} to fail the upgrade`,
      READY_TIMEOUT,
      async () => {
        const h = await getHr(fe.namespace, fe.fullname);
        const r = cond(h);
        const ok = (h.spec?.["values"] as { image: { tag: string } } | undefined)?.image.tag === "latest" && r?.observedGeneration === h.metadata.generation && r?.status === "False" && r.reason === "UpgradeFailed";
        return { value: ok ? h : undefined, detail: describeCond(h) };
      },
      () => c().assertAlive(),
    );
    assert.match(cond(feHr)!.message!, /values don't meet the specifications of the schema.*\/image\/tag/s);
    assert.ok(Number(feHr.status?.["failures"] ?? 0) >= 1, "status.failures counts the failed attempt");
    // Helm refused before storing anything, so there is nothing to roll back: helm-controller counts such
    // failures in status.failures only (not upgradeFailures) and keeps retrying with back-off.
    const feAfter = await helmHistory(c().kubectl, fe.namespace, fe.fullname);
    assert.deepEqual(
      feAfter.map((h) => [h.version, h.info?.status]),
      feBefore.map((h) => [h.version, h.info?.status]),
      "no Helm release record was written",
    );
    await assertRunning(fe.namespace, fe.fullname, feImage, fe.replicas);
    note(`broken (schema): ${fe.fullname}: ${describeCond(feHr).replace(/\s+/g, " ")}; failures=${String(feHr.status?.["failures"])}, Helm history unchanged at v${feAfter.at(-1)?.version}, still running ${feImage}`);

    const botHr = await waitFor(
      `HelmRelease ${bot.fullname} to exhaust its upgrade retries`,
      4 * 60_000,
      async () => {
        const h = await getHr(bot.namespace, bot.fullname);
        const stalled = cond(h, "Stalled");
        return {
          value: stalled?.status === "True" && stalled.observedGeneration === h.metadata.generation ? h : undefined,
          detail: `${describeCond(h)}; upgradeFailures=${String(h.status?.["upgradeFailures"])}; ${describeCond(h, "Remediated")}`,
        };
      },
      () => c().assertAlive(),
      2000,
    );
    assert.equal(cond(botHr, "Stalled")?.reason, "RetriesExceeded");
    assert.ok(Number(botHr.status?.["upgradeFailures"]) > 3, `upgradeFailures=${String(botHr.status?.["upgradeFailures"])} exceeds the 3 retries`);
    assert.match(cond(botHr, "Released")?.message ?? "", /must be less than or equal to cpu limit/);
    assert.equal(cond(botHr, "Remediated")?.reason, "RollbackSucceeded");
    const botAfter = await helmHistory(c().kubectl, bot.namespace, bot.fullname);
    const added = botAfter.filter((h) => h.version > (botBefore.at(-1)?.version ?? 0));
    assert.ok(
      added.some((h) => h.info?.status === "failed"),
      `failed upgrades are recorded: ${added.map((h) => `${h.version}=${h.info?.status}`).join(", ")}`,
    );
    assert.equal(botAfter.at(-1)?.info?.status, "deployed");
    assert.match(botAfter.at(-1)?.info?.description ?? "", /^Rollback to \d+/);
    await assertRunning(bot.namespace, bot.fullname, bot.image.ref, bot.replicas);
    note(
      `broken (apiserver): ${bot.fullname}: ${describeCond(botHr, "Stalled")}; upgradeFailures=${String(botHr.status?.["upgradeFailures"])}; ${describeCond(botHr, "Remediated")}; Helm history ${added.map((h) => `v${h.version}=${h.info?.status}`).join(", ")}; still running ${bot.image.ref}`,
    );

    const ks = await waitFor(`Kustomization ${E2E_APPS} to report the failure`, 3 * 60_000, async () => {
      const k = await c().kubectl.getJson<FluxObj>(KS, FLUX_NAMESPACE, E2E_APPS);
      return { value: cond(k)?.status === "False" && k?.status?.["lastAttemptedRevision"] === `main@sha1:${sha}` ? k : undefined, detail: describeCond(k) };
    });
    note(`Kustomization ${E2E_APPS}: ${describeCond(ks).replace(/\s+/g, " ")}`);
  });
});
