/**
 * A real, local, offline Kubernetes control plane with the real Flux controllers: BeckerKube's end-to-end test
 * bed (and later `bk dev up/down`). Everything listens on 127.0.0.1 at free ports and lives in one workdir:
 *
 *   <workdir>/logs/<process>.log   one log per process
 *   <workdir>/kubeconfig           admin kubeconfig (certs embedded)
 *   <workdir>/pki, etcd, flux, git, charts
 *
 * up() starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK (fake node "beckerbox"),
 * installs the CRDs from shared/crds, starts the four Flux controllers, a git server and optionally a Helm
 * chart repository. On failure it stops what it started, keeps the workdir and throws with every log's tail.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { repoRoot } from "../adapters/tools.js";
import { resolveBinaries, type Binaries } from "./binaries.js";
import { startChartRepo, type ChartRepo } from "./chartrepo.js";
import { etcdDataDir, registerNodes, startApiserver, startControllers, startEtcd, type ControlPlanePorts, type FakeNode } from "./controlplane.js";
import { startFlux, type FluxEndpoints } from "./flux.js";
import { syncManifests, type SyncGitOptions } from "./fluxsync.js";
import { startGitServer, type GitServer, type PushOptions } from "./gitserver.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { Kubectl, type WaitReadyOptions } from "./kubectl.js";
import { freePorts } from "./net.js";
import { createPki } from "./pki.js";
import { ProcessSet, tailLogs } from "./procs.js";
import { poll } from "./wait.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";

export type { FakeNode } from "./controlplane.js";
export { fakeNodes } from "./nodes.js";
export type { PushOptions } from "./gitserver.js";
export type { SyncGitOptions } from "./fluxsync.js";
export { Kubectl } from "./kubectl.js";
export { readiness } from "./readiness.js";

export interface DevClusterOptions {
  /** Directory for everything (created if missing). Default: a new mkdtemp under the OS temp dir. */
  workdir?: string;
  /** down() leaves the workdir in place. Default false (failed up() always keeps it). */
  keep?: boolean;
  /** Where CRD YAML lives (searched recursively; only CustomResourceDefinition documents are applied).
   *  Default <repo>/../shared/crds. `false`: install none. */
  crdsDir?: string | false;
  /** Start the Flux controllers. Default true (needs the Flux CRDs). */
  flux?: boolean;
  /** Start the git server. Default true. */
  gitServer?: boolean;
  /** Start the Helm chart repository (needs helm from the base tool set). Default false. */
  chartRepo?: boolean;
  /** Fake nodes run by KWOK. Default one node, "beckerbox"; fakeNodes(n) makes n of them. */
  nodes?: FakeNode[];
  /** Budget for each startup step. Default 120 s. */
  stepTimeoutMs?: number;
  /** Use these binaries instead of the tool sets / PATH. */
  binaries?: Partial<Binaries>;
  /** Progress lines ("apiserver ready in 6.1 s"). */
  onProgress?: (line: string) => void;
}

export interface DevCluster {
  workdir: string;
  logsDir: string;
  kubeconfig: string;
  apiserverUrl: string;
  binaries: Binaries;
  kubectl: Kubectl;
  /** Present unless gitServer: false. */
  git: GitServer | undefined;
  /** Present when chartRepo: true. */
  charts: ChartRepo | undefined;
  /** Present unless flux: false. */
  flux: FluxEndpoints | undefined;
  /** Seconds each startup step took. */
  timings: Record<string, number>;

  /** Server-side dry-run apply of files/dirs through the full admission chain; rejects with apiserver messages. */
  applyServerSideDryRun(files: readonly string[]): Promise<string>;
  /** Server-side apply of files/dirs. */
  apply(files: readonly string[]): Promise<string>;
  /** Server-side apply of manifest text. */
  applyManifest(manifest: string): Promise<string>;
  /** Commit `dir`'s content to the git server's repo (default "fleet", branch "main"); returns the commit SHA. */
  pushRepo(dir: string, opts?: PushOptions): Promise<string>;
  /** Wait for readiness (Flux Ready condition / workload replicas / Node Ready); throws on Stalled or timeout. */
  waitReady(kind: string, namespace: string | undefined, name: string, timeoutMs: number, opts?: WaitReadyOptions): Promise<Record<string, unknown>>;
  /** Set reconcile.fluxcd.io/requestedAt; returns the token to pass as waitReady's `requestedAt`. */
  reconcileNow(kind: string, namespace: string, name: string): Promise<string>;
  /**
   * Point Flux at a path of a repo on the local git server (GitRepository + Kustomization, named
   * "flux-system" by default) and wait until both are Ready; returns the applied revision ("main@sha1:...").
   */
  syncGit(opts: SyncGitOptions & { timeoutMs?: number }): Promise<string>;
  /** Throws if any cluster process has exited. */
  assertAlive(): void;
  /** Tail of every process log, for failure reports. */
  logTails(lines?: number): string;
  /** Stop everything started; remove the workdir unless `keep` (or options.keep). */
  down(opts?: { keep?: boolean }): Promise<void>;
}

/** The upstream mirror's CRDs: $BK_SHARED/crds (the tests' one mirror setting), else shared/crds beside the checkout. */
export function defaultCrdsDir(): string {
  const shared = process.env["BK_SHARED"];
  return shared ? path.resolve(shared, "crds") : path.resolve(repoRoot, "..", "shared", "crds");
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(entry)) out.push(p);
  }
  return out;
}

/**
 * Every CustomResourceDefinition document under `dir`, as one JSON `v1 List` (kubectl decodes JSON far faster
 * than the ~10 MB of YAML), and their names.
 */
export function collectCrds(dir: string): { manifest: string; names: string[] } {
  if (!existsSync(dir)) throw new Error(`devcluster: CRD directory ${dir} does not exist; pass crdsDir or crdsDir: false`);
  const docs: unknown[] = [];
  const names: string[] = [];
  for (const file of yamlFiles(dir)) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      if (doc.errors.length) throw new Error(`devcluster: ${file}: YAML error: ${doc.errors[0]?.message}`);
      const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (obj?.kind !== "CustomResourceDefinition") continue;
      docs.push(obj);
      names.push(obj.metadata?.name ?? "?");
    }
  }
  return { manifest: JSON.stringify({ apiVersion: "v1", kind: "List", items: docs }), names };
}

/** Every CRD under `dir`, applied server-side and waited Established. */
async function installCrds(kubectl: Kubectl, dir: string, workdir: string, stepTimeout: number): Promise<void> {
  const { manifest, names } = collectCrds(dir);
  if (names.length === 0) throw new Error(`devcluster: no CustomResourceDefinition found under ${dir}`);
  const file = path.join(workdir, "crds.json");
  await writeFile(file, manifest);
  // Server-side: several CRDs exceed the 256 KiB last-applied annotation client-side apply would write.
  await kubectl.apply([file]);
  await kubectl.run(["wait", "--for=condition=Established", "--timeout", `${Math.round(stepTimeout / 1000)}s`, ...names.map((n) => `crd/${n}`)]);
}

/** The started parts the handle exposes, and what its methods need besides. */
type HandleParts = Pick<DevCluster, "workdir" | "logsDir" | "kubeconfig" | "apiserverUrl" | "binaries" | "kubectl" | "git" | "charts" | "flux" | "timings"> & {
  stepTimeout: number;
  abort: () => void;
  stopAll: () => Promise<void>;
  keep: boolean | undefined;
};

/** The handle tests drive a started cluster through. */
function clusterHandle(h: HandleParts): DevCluster {
  const { workdir, logsDir, kubeconfig, apiserverUrl, binaries, kubectl, git, charts, flux, timings, stepTimeout, abort, stopAll } = h;
  return {
    workdir,
    logsDir,
    kubeconfig,
    apiserverUrl,
    binaries,
    kubectl,
    git,
    charts,
    flux,
    timings,
    applyServerSideDryRun: (files) => kubectl.applyServerSideDryRun(files),
    apply: (files) => kubectl.apply(files),
    applyManifest: (m) => kubectl.applyManifest(m),
    pushRepo: (dir, o) => {
      if (!git) throw new Error("devcluster: pushRepo needs the git server (gitServer: true)");
      return git.pushRepo(dir, o);
    },
    waitReady: (kind, ns, name, timeoutMs, o = {}) => kubectl.waitReady(kind, ns, name, timeoutMs, { abort, ...o }),
    reconcileNow: (kind, ns, name) => kubectl.reconcileNow(kind, ns, name),
    async syncGit(o) {
      if (!git) throw new Error("devcluster: syncGit needs the git server (gitServer: true)");
      if (!flux) throw new Error("devcluster: syncGit needs the Flux controllers (flux: true)");
      const name = o.name ?? FLUX_NAMESPACE;
      const ns = o.namespace ?? FLUX_NAMESPACE;
      const timeoutMs = o.timeoutMs ?? stepTimeout;
      await kubectl.applyManifest(syncManifests(git.url(o.repo ?? "fleet"), o));
      await kubectl.waitReady("gitrepositories.source.toolkit.fluxcd.io", ns, name, timeoutMs, { abort });
      const ks = await kubectl.waitReady("kustomizations.kustomize.toolkit.fluxcd.io", ns, name, timeoutMs, { abort });
      return String((ks["status"] as { lastAppliedRevision?: string } | undefined)?.lastAppliedRevision ?? "");
    },
    assertAlive: abort,
    logTails: (lines = 40) => tailLogs(logsDir, lines),
    async down(o = {}) {
      await stopAll();
      if (!(o.keep ?? h.keep)) await rm(workdir, { recursive: true, force: true });
    },
  };
}

/** Runs one start-up step, recording its wall time in `timings` and reporting it. */
function timedStep(timings: Record<string, number>, progress: (line: string) => void) {
  return async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const v = await fn();
    timings[name] = (Date.now() - t0) / 1000;
    progress(`${name}: ${timings[name].toFixed(1)} s`);
    return v;
  };
}

export async function up(opts: DevClusterOptions = {}): Promise<DevCluster> {
  const stepTimeout = opts.stepTimeoutMs ?? 120_000;
  const progress = opts.onProgress ?? (() => {});
  const wantFlux = opts.flux ?? true;
  const wantGit = opts.gitServer ?? true;
  const wantCharts = opts.chartRepo ?? false;
  const binaries = resolveBinaries({ helm: wantCharts }, opts.binaries);

  const workdir = opts.workdir ? path.resolve(opts.workdir) : await mkdtemp(path.join(tmpdir(), "bk-dev-"));
  const logsDir = path.join(workdir, "logs");
  await mkdir(logsDir, { recursive: true });
  const procs = new ProcessSet(logsDir);
  const timings: Record<string, number> = {};
  let git: GitServer | undefined;
  let charts: ChartRepo | undefined;
  let stopped = false;

  const step = timedStep(timings, progress);

  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    await procs.stopAll();
    await git?.close();
    await charts?.close();
  };

  try {
    const [etcdClient, etcdPeer, apiserver, kwokNode, kwokServer, gitPort, chartPort] = await freePorts(7);
    const ports: ControlPlanePorts = { etcdClient: etcdClient!, etcdPeer: etcdPeer!, apiserver: apiserver!, kwokNode: kwokNode!, kwokServer: kwokServer! };
    const pkiDir = path.join(workdir, "pki");
    await mkdir(pkiDir, { recursive: true, mode: 0o700 });
    const pki = await step("pki", () =>
      createPki(pkiDir, {
        dns: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
        ips: ["127.0.0.1", "10.96.0.1"],
      }),
    );
    const etcdUrl = await step("etcd", () => startEtcd(binaries, procs, etcdDataDir(workdir), ports, stepTimeout));
    const apiserverUrl = await step("kube-apiserver", () => startApiserver(binaries, procs, pki, etcdUrl, ports, stepTimeout));
    const kubeconfig = path.join(workdir, "kubeconfig");
    await writeKubeconfig(kubeconfig, apiserverUrl, pki);
    const kubectl = new Kubectl(binaries.kubectl, kubeconfig);
    const abort = () => procs.assertAlive();

    startControllers(binaries, procs, pki, kubeconfig, ports);

    if (opts.crdsDir !== false) {
      const dir = opts.crdsDir ?? defaultCrdsDir();
      await step("crds", () => installCrds(kubectl, dir, workdir, stepTimeout));
    }

    await step("nodes", () => registerNodes(kubectl, opts.nodes ?? [{ name: "beckerbox" }], procs, stepTimeout));
    // The ServiceAccount admission plugin refuses Pods until the controller-manager made "default".
    await step("default-serviceaccount", () =>
      poll("serviceaccount default/default", stepTimeout, async () => ({ done: (await kubectl.getJson("serviceaccount", "default", "default")) !== undefined }), {
        abort,
      }),
    );

    let flux: FluxEndpoints | undefined;
    if (wantFlux) {
      await kubectl.applyManifest(stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: FLUX_NAMESPACE } }));
      flux = await step("flux", () => startFlux(binaries, procs, workdir, kubeconfig, stepTimeout));
    }
    if (wantGit) git = await step("git-server", () => startGitServer(path.join(workdir, "git"), gitPort!));
    if (wantCharts) charts = await step("chart-repo", () => startChartRepo(path.join(workdir, "charts"), chartPort!, binaries.helm));

    return clusterHandle({ workdir, logsDir, kubeconfig, apiserverUrl, binaries, kubectl, git, charts, flux, timings, stepTimeout, abort, stopAll, keep: opts.keep });
  } catch (err) {
    await stopAll().catch(() => {});
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`devcluster: up() failed: ${msg}\nworkdir kept: ${workdir}\n${tailLogs(logsDir, 25)}`, { cause: err });
  }
}
