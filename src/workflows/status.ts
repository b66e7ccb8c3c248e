/**
 * `bk status`: the cluster's health at a glance. Collectors read the live system (Kubernetes
 * API, TCP, TLS, the backup folder) into a Snapshot; evaluateStatus turns a Snapshot and the Model
 * into a report. The evaluation is pure, so what "healthy" means is tested without a cluster.
 */
import net from "node:net";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Model } from "../model/model.js";
import { listBackups } from "./backup.js";
import { checkCertificates, tlsTargets, type CertificateReport } from "./certs.js";
import type { Kube } from "../adapters/kube.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";
import { longestIntervalMs } from "../model/cron.js";
import { POSTGRES_BACKUP_CRONJOB } from "../synth/observability/rules.js";
import { BACKUP_GRACE_MS, collectVolumeBackups, judgeVolume, type VolumeBackupState } from "./volume-backup.js";

export interface FluxItem {
  kind: string;
  namespace: string;
  name: string;
  ready: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  revision?: string;
  suspended?: boolean;
  /** An OCI HelmRepository: source-controller does not reconcile it, so it never carries a Ready condition. */
  static?: boolean;
}

export interface ServiceIp {
  namespace: string;
  name: string;
  ip?: string;
}

export interface PodProblem {
  namespace: string;
  name: string;
  phase: string;
  reason: string;
}

export interface RunningImage {
  namespace: string;
  deployment: string;
  images: string[];
}

export interface Reachability {
  name: string;
  address: string;
  ok: boolean;
  error?: string;
}

export interface Snapshot {
  /** Set when the Kubernetes API could not be read at all. */
  apiError?: string;
  flux: FluxItem[];
  services: ServiceIp[];
  pods: PodProblem[];
  images: RunningImage[];
  reachability: Reachability[];
  certificates: CertificateReport[];
  /** Each volume's newest backup, from its ReplicationSource; error when they could not be read. */
  volumes?: { states: VolumeBackupState[]; error?: string };
  /** The nightly pg_dump CronJob's last successful run, from the cluster. */
  dumps?: { found: boolean; lastSuccessfulTime?: string };
  /** Newest backup folder name (UTC timestamp) and its age, when a backup folder was given. */
  backup?: { dir: string; newest?: string; ageHours?: number };
}

export type Health = "ok" | "warn" | "fail";

/** The areas a report covers, in the order they are shown. */
export const STATUS_AREAS = ["api", "flux", "ips", "reachability", "certificates", "pods", "images", "backups"] as const;
export type StatusArea = (typeof STATUS_AREAS)[number];

export interface StatusCheck {
  area: StatusArea;
  subject: string;
  health: Health;
  detail: string;
}

export interface StatusReport {
  healthy: boolean;
  checks: StatusCheck[];
}

const FLUX_KINDS: Array<[string, string]> = [
  ["source.toolkit.fluxcd.io/v1", "GitRepository"],
  ["source.toolkit.fluxcd.io/v1", "HelmRepository"],
  ["kustomize.toolkit.fluxcd.io/v1", "Kustomization"],
  ["helm.toolkit.fluxcd.io/v2", "HelmRelease"],
];

export interface StatusObject extends KubernetesObject {
  spec?: { suspend?: boolean; type?: string };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>; artifact?: { revision?: string }; lastAppliedRevision?: string; lastAttemptedRevision?: string };
}

/** One Flux object as `bk status` reports it (also what `bk ui` pushes when a watched object changes). */
export function toFluxItem(kind: string, o: StatusObject): FluxItem {
  const ready = o.status?.conditions?.find((c) => c.type === "Ready");
  const revision = o.status?.artifact?.revision ?? o.status?.lastAppliedRevision ?? o.status?.lastAttemptedRevision;
  return {
    kind,
    namespace: o.metadata?.namespace ?? "",
    name: o.metadata?.name ?? "",
    ready: (ready?.status as FluxItem["ready"]) ?? "Unknown",
    ...(ready?.reason ? { reason: ready.reason } : {}),
    ...(ready?.message ? { message: ready.message } : {}),
    ...(revision ? { revision } : {}),
    ...(o.spec?.suspend ? { suspended: true } : {}),
    ...(kind === "HelmRepository" && o.spec?.type === "oci" ? { static: true } : {}),
  };
}

export async function collectFlux(kube: Kube): Promise<FluxItem[]> {
  const out: FluxItem[] = [];
  for (const [apiVersion, kind] of FLUX_KINDS) {
    const list = await kube.objects.list(apiVersion, kind);
    for (const o of list.items as StatusObject[]) out.push(toFluxItem(kind, o));
  }
  return out;
}

export async function collectCluster(kube: Kube): Promise<Pick<Snapshot, "services" | "pods" | "images">> {
  const [svcs, pods, deps] = await Promise.all([kube.core.listServiceForAllNamespaces(), kube.core.listPodForAllNamespaces(), kube.objects.list("apps/v1", "Deployment")]);
  const services = svcs.items
    .filter((s) => s.spec?.type === "LoadBalancer")
    .map((s) => ({ namespace: s.metadata!.namespace!, name: s.metadata!.name!, ...(s.status?.loadBalancer?.ingress?.[0]?.ip ? { ip: s.status.loadBalancer.ingress[0].ip } : {}) }));
  const problems: PodProblem[] = [];
  for (const p of pods.items) {
    const phase = p.status?.phase ?? "Unknown";
    if (phase === "Succeeded") continue;
    const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
    const notReady = p.status?.containerStatuses?.some((c) => !c.ready);
    if (phase === "Running" && !notReady) continue;
    problems.push({
      namespace: p.metadata!.namespace!,
      name: p.metadata!.name!,
      phase,
      reason: waiting ? `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}` : notReady ? "containers not ready" : (p.status?.reason ?? phase),
    });
  }
  const images = (deps.items as Array<KubernetesObject & { spec?: { template?: { spec?: { containers?: Array<{ image?: string }> } } } }>).map((d) => ({
    namespace: d.metadata!.namespace!,
    deployment: d.metadata!.name!,
    images: (d.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ""),
  }));
  return { services, pods: problems, images };
}

export function tcpReachable(host: string, port: number, timeoutMs = 2000): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.once("connect", () => {
      s.destroy();
      resolve({ ok: true });
    });
    s.once("timeout", () => {
      s.destroy();
      resolve({ ok: false, error: `no answer within ${timeoutMs} ms` });
    });
    s.once("error", (e) => resolve({ ok: false, error: e.message }));
  });
}

export interface CollectOptions {
  kube?: Kube;
  /** endpoint id -> host:port, to reach services through a tunnel (and for tests). */
  overrides?: Record<string, string>;
  /** PEM of the cluster CA, to verify each served certificate's chain. */
  ca?: string;
  backupsDir?: string;
  now?: Date;
}

export async function collect(m: Model, o: CollectOptions): Promise<Snapshot> {
  const snap: Snapshot = { flux: [], services: [], pods: [], images: [], reachability: [], certificates: [] };
  if (o.kube) {
    try {
      snap.flux = await collectFlux(o.kube);
      Object.assign(snap, await collectCluster(o.kube));
    } catch (err) {
      snap.apiError = (err as Error).message;
    }
    if (!snap.apiError) Object.assign(snap, await collectBackups(m, o.kube));
  } else snap.apiError = "no kubeconfig";
  const reach = m.endpoints.filter((e) => ["registry", "chartmuseum", "postgres"].includes(e.id));
  snap.reachability = await Promise.all(
    reach.map(async (e) => {
      const address = o.overrides?.[e.id] ?? `${e.ip}:${e.ports[0]!.port}`;
      const [host, port] = address.split(":");
      return { name: e.title, address, ...(await tcpReachable(host!, Number(port))) };
    }),
  );
  const certOverrides = Object.fromEntries(Object.entries(o.overrides ?? {}).filter(([k]) => m.certificates.some((c) => c.endpoint === k || c.name === k)));
  snap.certificates = await checkCertificates(tlsTargets(m, certOverrides), { ...(o.ca ? { ca: o.ca } : {}), ...(o.now ? { now: o.now } : {}) });
  if (o.backupsDir) {
    const newest = listBackups(o.backupsDir)[0];
    snap.backup = { dir: o.backupsDir, ...(newest ? { newest, ageHours: ageHours(newest, o.now ?? new Date()) } : {}) };
  }
  return snap;
}

/** The newest backup of each kind, as the cluster records it: every volume's ReplicationSource, the dump CronJob. */
export async function collectBackups(m: Model, kube: Kube): Promise<Pick<Snapshot, "volumes" | "dumps">> {
  const out: Pick<Snapshot, "volumes" | "dumps"> = {};
  if (m.volumeBackups) {
    try {
      out.volumes = { states: await collectVolumeBackups(kube, m.volumeBackups) };
    } catch (err) {
      out.volumes = { states: [], error: (err as Error).message };
    }
  }
  const jobs = await kube.objects.list("batch/v1", "CronJob", m.postgres.namespace);
  const job = (jobs.items as Array<KubernetesObject & { status?: { lastSuccessfulTime?: string } }>).find((j) => j.metadata?.name === POSTGRES_BACKUP_CRONJOB);
  out.dumps = { found: Boolean(job), ...(job?.status?.lastSuccessfulTime ? { lastSuccessfulTime: job.status.lastSuccessfulTime } : {}) };
  return out;
}

/** Backup folders are named by their UTC timestamp, e.g. 20261126T031500Z. */
export function ageHours(name: string, now: Date): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(name);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Math.round(((now.getTime() - t) / 3_600_000) * 10) / 10;
}

/** The report narrowed to some areas (`bk status --only`): healthy when those are. */
export function scopeReport(r: StatusReport, areas: readonly StatusArea[]): StatusReport {
  const checks = r.checks.filter((c) => areas.includes(c.area));
  return { healthy: checks.every((c) => c.health !== "fail"), checks };
}

/** What healthy means, given what was seen. Pure. */
export function evaluateStatus(m: Model, s: Snapshot, opts: { backupMaxAgeHours?: number; now?: Date } = {}): StatusReport {
  const checks: StatusCheck[] = [];
  const add = (area: StatusCheck["area"], subject: string, health: Health, detail: string) => checks.push({ area, subject, health, detail });
  if (s.apiError) add("api", "Kubernetes API", "fail", `cannot read the cluster: ${s.apiError}`);
  else {
    for (const f of s.flux) {
      if (f.static && !f.suspended) {
        add("flux", `${f.kind} ${f.namespace}/${f.name}`, "ok", "OCI repository: Flux keeps no status for it; its charts show in their HelmReleases");
        continue;
      }
      // Unknown is a reconciliation in progress: worth a look, not yet a failure.
      const health: Health = f.suspended ? "warn" : f.ready === "True" ? "ok" : f.ready === "Unknown" ? "warn" : "fail";
      add("flux", `${f.kind} ${f.namespace}/${f.name}`, health, f.suspended ? "suspended" : f.ready === "True" ? `Ready${f.revision ? ` at ${f.revision}` : ""}` : `${f.reason ?? "not Ready"}: ${f.message ?? ""}`.trim());
    }
    for (const k of ["infra-controllers", "infra-configs", "apps"]) {
      if (!s.flux.some((f) => f.kind === "Kustomization" && f.name === k)) add("flux", `Kustomization ${FLUX_NAMESPACE}/${k}`, "fail", "missing: is Flux bootstrapped (`bk bootstrap`)?");
    }
    for (const e of m.endpoints) {
      const svc = s.services.find((x) => x.namespace === e.namespace && x.name === e.service);
      if (!svc) add("ips", `${e.title} ${e.namespace}/${e.service}`, "fail", `no LoadBalancer Service; the definition pins ${e.ip}`);
      else if (svc.ip !== e.ip) add("ips", `${e.title} ${e.namespace}/${e.service}`, "fail", `serves at ${svc.ip ?? "no address"}, the definition pins ${e.ip} (run \`bk ips\`)`);
      else add("ips", `${e.title} ${e.namespace}/${e.service}`, "ok", e.ip);
    }
    for (const p of s.pods) add("pods", `${p.namespace}/${p.name}`, "fail", `${p.phase}: ${p.reason}`);
    for (const c of m.components) {
      const d = s.images.find((x) => x.namespace === c.namespace && x.deployment === c.fullname);
      if (!d) add("images", c.id, c.replicas === 0 ? "ok" : "fail", c.replicas === 0 ? "scaled to zero" : `no Deployment ${c.namespace}/${c.fullname}`);
      else if (!d.images.includes(c.image.ref)) add("images", c.id, "fail", `runs ${d.images.join(", ")}; the tree says ${c.image.ref}`);
      else add("images", c.id, "ok", c.image.ref);
    }
  }
  for (const r of s.reachability) add("reachability", r.name, r.ok ? "ok" : "fail", r.ok ? `${r.address} answers` : `${r.address}: ${r.error}`);
  for (const c of s.certificates)
    add(
      "certificates",
      `${c.certificate} (${c.target})`,
      c.status === "ok" ? "ok" : c.status === "warning" ? "warn" : "fail",
      c.findings.length ? c.findings.map((f) => f.message).join("; ") : `valid until ${c.served?.notAfter ?? "?"} (${c.daysLeft} days)`,
    );
  const now = opts.now ?? new Date();
  if (s.dumps) {
    const subject = `PostgreSQL dumps (CronJob ${m.postgres.namespace}/${POSTGRES_BACKUP_CRONJOB})`;
    const allowedH = (longestIntervalMs(m.postgres.backup.schedule) + BACKUP_GRACE_MS) / 3_600_000;
    if (!s.dumps.found) add("backups", subject, "fail", "no such CronJob in the cluster: is infra-configs reconciled?");
    else if (!s.dumps.lastSuccessfulTime) add("backups", subject, "fail", "no successful dump yet");
    else {
      const ageH = Math.round(((now.getTime() - Date.parse(s.dumps.lastSuccessfulTime)) / 3_600_000) * 10) / 10;
      add("backups", subject, ageH > allowedH ? "fail" : "ok", `newest dump ${ageH} h old${ageH > allowedH ? `, older than its schedule '${m.postgres.backup.schedule}' allows (${allowedH} h)` : ""}`);
    }
  }
  if (s.volumes?.error) add("backups", "volume backups", "fail", `cannot read ReplicationSources: ${s.volumes.error} (is VolSync installed?)`);
  for (const v of m.volumeBackups?.volumes ?? []) {
    const state = s.volumes?.states.find((x) => x.id === v.id && x.namespace === v.namespace);
    if (!state) continue;
    const j = judgeVolume(v, state, now);
    add("backups", `volume ${v.id} (${v.namespace}/${v.pvc})`, j.health, j.detail);
  }
  if (s.backup) {
    const max = opts.backupMaxAgeHours ?? 26;
    if (!s.backup.newest) add("backups", s.backup.dir, "fail", "no backup yet: run `bk backup`");
    else
      add("backups", s.backup.newest, (s.backup.ageHours ?? Infinity) > max ? "fail" : "ok", `${s.backup.ageHours} h old${(s.backup.ageHours ?? 0) > max ? ` (older than ${max} h: the nightly backup did not run)` : ""}`);
  }
  return { healthy: checks.every((c) => c.health !== "fail"), checks };
}
