/**
 * Putting BeckerKube's generated GitOps tree into the local dev cluster (src/devcluster) the way an
 * operator's cluster gets it, with the few stand-ins an offline machine needs. Shared by test/e2e/tree.test.ts
 * and bench/reconcile.ts. Each stand-in is named here and in docs/e2e.md:
 *
 * - Bootstrap: the pushed copy's clusters/minikube/flux-system/gotk-sync.yaml points the GitRepository at the
 *   harness git server instead of GitHub and drops the SSH secretRef, which is what `flux bootstrap` against that
 *   server would have written. Everything else in the tree is pushed byte for byte as generated.
 * - ChartMuseum: HelmRepository flux-system/bk-charts points at the harness chart repository (no basic auth).
 *   In the tree it lives in infrastructure/configs, which can never apply offline (see appsKustomization).
 * - Storage: minikube's storage-provisioner answers PVCs of class "standard"; nothing provisions here, so each
 *   PVC the chart will create gets a PersistentVolume bound to it in advance.
 */
import type { Condition } from "../../../src/core/object.js";
import { rm, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { parseAllDocuments, stringify } from "yaml";
import type { KubeObject } from "../../../src/core/object.js";
import { run, CommandError } from "../../../src/devcluster/exec.js";
import type { Kubectl } from "../../../src/devcluster/index.js";
import { poll } from "../../../src/devcluster/wait.js";
import { GENERATED_ROOTS } from "../../../src/model/layout.js";

export const FLUX_NS = "flux-system";
export const GIT_REPOSITORY = "beckerkube";
export const GOTK_SYNC = "clusters/minikube/flux-system/gotk-sync.yaml";
export const KS = "kustomizations.kustomize.toolkit.fluxcd.io";
export const GITREPO = "gitrepositories.source.toolkit.fluxcd.io";
export const HELMREPO = "helmrepositories.source.toolkit.fluxcd.io";
export const HELMCHART = "helmcharts.source.toolkit.fluxcd.io";
export const HR = "helmreleases.helm.toolkit.fluxcd.io";

export const yamlDocs = (...objs: unknown[]): string => objs.map((o) => stringify(o)).join("---\n");

/**
 * The stand-in for `flux bootstrap`: the tree's GitRepository pointed at `gitUrl`, without the SSH
 * deploy-key secret (the local server is plain HTTP). Throws if the generated file no longer has the shape
 * this relies on, so a layout change shows up here rather than as a silent clone of GitHub.
 */
export function localBootstrap(gotkSync: string, gitUrl: string): string {
  const docs = parseAllDocuments(gotkSync).map((d) => d.toJS() as KubeObject & { spec?: Record<string, unknown> });
  const repo = docs.find((d) => d.kind === "GitRepository" && d.metadata.name === GIT_REPOSITORY);
  if (!repo?.spec) throw new Error(`${GOTK_SYNC}: no GitRepository "${GIT_REPOSITORY}" found; the e2e bootstrap needs it`);
  repo.spec["url"] = gitUrl;
  delete repo.spec["secretRef"];
  return yamlDocs(...docs);
}

/**
 * Writes the GitOps part of the tree (clusters/, infrastructure/, apps/) into `dir`, replacing what was
 * there so removed files disappear from the next commit too, with the bootstrap pointed at `gitUrl`.
 */
export async function writeTree(files: ReadonlyMap<string, string>, dir: string, gitUrl: string): Promise<number> {
  for (const r of GENERATED_ROOTS) await rm(path.join(dir, r), { recursive: true, force: true });
  let n = 0;
  for (const [file, content] of files) {
    if (!GENERATED_ROOTS.some((r) => file.startsWith(`${r}/`))) continue;
    const abs = path.join(dir, file);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, file === GOTK_SYNC ? localBootstrap(content, gitUrl) : content);
    n++;
  }
  if (!files.has(GOTK_SYNC)) throw new Error(`the generated tree has no ${GOTK_SYNC}`);
  return n;
}

/** HelmRepository flux-system/bk-charts (ChartMuseum in the tree) pointed at the harness chart repository. */
export function standInChartRepository(name: string, url: string): Record<string, unknown> {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "HelmRepository",
    metadata: { name, namespace: FLUX_NS },
    spec: { url, interval: "1m" },
  };
}

/**
 * A Kustomization applying the tree's ./apps from the tree's own GitRepository, like the tree's `apps` but
 * without `dependsOn: infra-configs`: infra-configs waits for infra-controllers, whose upstream charts cannot
 * be downloaded offline, so the tree's own `apps` never starts here.
 */
export function appsKustomization(name: string, appsPath = "./apps", timeout = "5m"): Record<string, unknown> {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name, namespace: FLUX_NS },
    spec: {
      interval: "1h",
      retryInterval: "1m",
      timeout,
      sourceRef: { kind: "GitRepository", name: GIT_REPOSITORY },
      path: appsPath,
      prune: true,
      wait: true,
    },
  };
}

/** A PersistentVolume reserved for one PVC (claimRef), standing in for minikube's hostpath provisioner. */
export function volumeFor(pvc: KubeObject): Record<string, unknown> {
  const spec = pvc.spec as { storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } } };
  const ns = pvc.metadata.namespace ?? "default";
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: `e2e-${ns}-${pvc.metadata.name}` },
    spec: {
      capacity: { storage: spec.resources?.requests?.storage ?? "1Gi" },
      accessModes: spec.accessModes ?? ["ReadWriteOnce"],
      storageClassName: spec.storageClassName ?? "",
      persistentVolumeReclaimPolicy: "Retain",
      hostPath: { path: `/tmp/hostpath-provisioner/${ns}/${pvc.metadata.name}` },
      claimRef: { namespace: ns, name: pvc.metadata.name },
    },
  };
}

export type { Condition };

export interface FluxObj {
  metadata: { name: string; namespace?: string; generation?: number };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };
}

export function cond(o: FluxObj | undefined, type = "Ready"): Condition | undefined {
  return o?.status?.conditions?.find((c) => c.type === type);
}

export function describeCond(o: FluxObj | undefined, type = "Ready"): string {
  const c = cond(o, type);
  return c ? `${type}=${c.status} ${c.reason ?? ""}: ${c.message ?? ""}` : `no ${type} condition`;
}

export async function list<T = FluxObj>(k: Kubectl, kind: string, namespace?: string, selector?: string): Promise<T[]> {
  const args = ["get", kind, ...(namespace ? ["-n", namespace] : ["-A"]), ...(selector ? ["-l", selector] : []), "-o", "json"];
  return (JSON.parse(await k.run(args)) as { items: T[] }).items;
}

/**
 * Server-side dry-run of manifest text; returns stdout and stderr (Pod Security's warn mode only speaks on
 * stderr). Rejects with a CommandError carrying the apiserver's refusal.
 */
export async function dryRun(k: Kubectl, manifest: string): Promise<{ stdout: string; stderr: string }> {
  return run(k.binary, ["--kubeconfig", k.kubeconfig, "apply", "--server-side", "--dry-run=server", "--field-manager=beckerkube-e2e", "-f", "-"], {
    input: manifest,
    timeoutMs: 300_000,
  });
}

export { CommandError };

/** Polls until `check` returns a value (not undefined); on timeout says what was last seen. */
export function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<{ value?: T; detail: string }>, abort?: () => void, intervalMs = 1000): Promise<T> {
  return poll(
    what,
    timeoutMs,
    async () => {
      const r = await check();
      return { done: r.value !== undefined, value: r.value, detail: r.detail };
    },
    { intervalMs, abort },
  );
}

export interface HelmHook {
  name: string;
  kind: string;
  events?: string[];
  last_run?: { started_at?: string; completed_at?: string; phase?: string };
}

export interface HelmReleaseRecord {
  name: string;
  version: number;
  info?: { status?: string; first_deployed?: string; last_deployed?: string; description?: string };
  hooks?: HelmHook[];
  config?: Record<string, unknown>;
}

/**
 * Every stored Helm release record of `release` in `namespace` (Helm's Secret storage driver: base64 of gzip
 * of JSON in data.release, under the Secret's own base64), oldest first.
 */
export async function helmHistory(k: Kubectl, namespace: string, release: string): Promise<HelmReleaseRecord[]> {
  const secrets = await list<{ data?: { release?: string } }>(k, "secrets", namespace, `owner=helm,name=${release}`);
  const out: HelmReleaseRecord[] = [];
  for (const s of secrets) {
    const data = s.data?.release;
    if (!data) continue;
    const inner = Buffer.from(Buffer.from(data, "base64").toString("utf8"), "base64");
    const json = inner[0] === 0x1f && inner[1] === 0x8b ? gunzipSync(inner).toString("utf8") : inner.toString("utf8");
    out.push(JSON.parse(json) as HelmReleaseRecord);
  }
  return out.sort((a, b) => a.version - b.version);
}

export interface PodInfo {
  metadata: { name: string; deletionTimestamp?: string; ownerReferences?: { kind: string }[] };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** Live (not terminating) pods of a component's Deployment: the chart labels them with the release instance. */
export async function deploymentPods(k: Kubectl, namespace: string, release: string): Promise<PodInfo[]> {
  const pods = await list<PodInfo>(k, "pods", namespace, `app.kubernetes.io/instance=${release}`);
  return pods.filter((p) => !p.metadata.deletionTimestamp && !p.metadata.ownerReferences?.some((o) => o.kind === "Job"));
}

/** Seconds, to one decimal. */
export const secs = (ms: number): number => Math.round(ms / 100) / 10;
