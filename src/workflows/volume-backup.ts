/**
 * Volume backups through VolSync (issue 17): `bk backup --volume` sets a ReplicationSource's manual trigger and
 * waits until the controller reports that run done; `bk restore --volume` creates a ReplicationDestination that
 * restores the newest snapshot into the volume's own claim; `bk status` reads each ReplicationSource's status.
 * What "too old" means comes from the volume's schedule, the same rule the VolumeBackupTooOld alert follows.
 */
import { PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import type { Kube } from "../adapters/kube.js";
import { longestIntervalMs } from "../model/cron.js";
import type { BackupVolumeModel, RetentionModel, VolumeBackupsModel } from "../model/model.js";
import { MOVER_LABELS, moverPod, VOLSYNC_API } from "../model/volume-backups.js";
import { CheckFailedError, InputError } from "../core/errors.js";
import { VOLUME_BACKUP_GRACE_HOURS } from "../synth/observability/rules.js";

export { MOVER_LABELS, VOLSYNC_API };
/** A run may take this long past its schedule before its backup counts as missed (a large first upload, a slow store). */
export const BACKUP_GRACE_MS = VOLUME_BACKUP_GRACE_HOURS * 3_600_000;

export type Progress = (line: string) => void;

export interface ReplicationStatus {
  lastSyncTime?: string;
  lastSyncStartTime?: string;
  lastSyncDuration?: string;
  nextSyncTime?: string;
  lastManualSync?: string;
  latestMoverStatus?: { result?: string; logs?: string };
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

export type ReplicationObject = KubernetesObject & { spec?: Record<string, unknown>; status?: ReplicationStatus };

/** restic forget's --keep-* flags for a retention, as the mover is told them. */
export function forgetArgs(r: RetentionModel): string[] {
  const out: string[] = [];
  for (const k of ["hourly", "daily", "weekly", "monthly", "yearly"] as const) if (r[k] !== undefined) out.push(`--keep-${k}`, String(r[k]));
  return out.length ? out : ["--keep-last", "1"];
}

/**
 * The environment restic gets for a volume: RESTIC_REPOSITORY from the volume and the operator's credentials.
 * `root` swaps the store for a local folder with the same layout (<root>/<namespace>/<volume>), for a rehearsal.
 */
export function moverEnv(v: BackupVolumeModel, vb: Pick<VolumeBackupsModel, "repository">, credentials: Record<string, string>, root?: string): Record<string, string> {
  if (!credentials["RESTIC_PASSWORD"]) throw new InputError(`no RESTIC_PASSWORD for volume ${v.id}: it is a key of the restic-credentials Secret (\`bk secrets set\`)`);
  const repository = root ? `${root.replace(/\/+$/, "")}${v.repository.slice(vb.repository.length)}` : v.repository;
  return { ...credentials, RESTIC_REPOSITORY: repository };
}

export const replicationSourceRef = (v: BackupVolumeModel) => `ReplicationSource/${v.namespace}/${v.id}`;

export function findVolume(vb: VolumeBackupsModel | undefined, id: string): BackupVolumeModel {
  if (!vb) throw new InputError("the definition has no volumeBackups section: no volume is backed up (add one to definition/infrastructure.yaml, see docs/runbooks/volume-backups.md)");
  const v = vb.volumes.find((x) => x.id === id);
  if (!v) {
    const skipped = vb.skipped.find((x) => x.id === id);
    throw new InputError(skipped ? `volume ${id} is skipped in the definition (${skipped.why})` : `no volume ${id}; volumes: ${vb.volumes.map((x) => x.id).join(", ")}`);
  }
  return v;
}

// --- Status -------------------------------------------------------------------------------------

export interface VolumeBackupState {
  id: string;
  namespace: string;
  /** Absent: the ReplicationSource is not in the cluster. */
  found: boolean;
  lastSyncTime?: string;
  nextSyncTime?: string;
  lastSyncDuration?: string;
  result?: string;
  /** The last mover run failed, or the Synchronizing condition has reason Error (WaitingForSchedule is the normal rest). */
  problem?: string;
}

export function volumeStateOf(v: BackupVolumeModel, o: ReplicationObject | undefined): VolumeBackupState {
  if (!o) return { id: v.id, namespace: v.namespace, found: false };
  const s = o.status ?? {};
  const sync = s.conditions?.find((c) => c.type === "Synchronizing");
  const failed = s.latestMoverStatus?.result === "Failed";
  return {
    id: v.id,
    namespace: v.namespace,
    found: true,
    ...(s.lastSyncTime ? { lastSyncTime: s.lastSyncTime } : {}),
    ...(s.nextSyncTime ? { nextSyncTime: s.nextSyncTime } : {}),
    ...(s.lastSyncDuration ? { lastSyncDuration: s.lastSyncDuration } : {}),
    ...(s.latestMoverStatus?.result ? { result: s.latestMoverStatus.result } : {}),
    ...(failed
      ? { problem: `the last mover run failed${s.latestMoverStatus?.logs ? `: ${s.latestMoverStatus.logs.trim().split("\n").slice(-1)[0]}` : ""}` }
      : sync?.reason === "Error"
        ? { problem: sync.message ?? "the VolSync controller reports an error" }
        : {}),
  };
}

/** The newest backup of every volume, read from its ReplicationSource (not from any local folder). */
export async function collectVolumeBackups(kube: Kube, vb: VolumeBackupsModel): Promise<VolumeBackupState[]> {
  const list = await kube.objects.list(VOLSYNC_API, "ReplicationSource");
  const byKey = new Map((list.items as ReplicationObject[]).map((o) => [`${o.metadata?.namespace}/${o.metadata?.name}`, o]));
  return vb.volumes.map((v) => volumeStateOf(v, byKey.get(`${v.namespace}/${v.id}`)));
}

/** The oldest a volume's newest backup may be: the longest gap of its schedule plus the grace for one run. */
export function allowedAgeMs(v: Pick<BackupVolumeModel, "schedule">): number {
  return longestIntervalMs(v.schedule) + BACKUP_GRACE_MS;
}

export interface VolumeVerdict {
  id: string;
  health: "ok" | "warn" | "fail";
  detail: string;
  ageHours?: number;
}

export function judgeVolume(v: BackupVolumeModel, s: VolumeBackupState, now: Date): VolumeVerdict {
  if (!s.found) return { id: v.id, health: "fail", detail: `no ReplicationSource ${v.namespace}/${v.id} in the cluster: is infra-configs reconciled?` };
  const allowedH = allowedAgeMs(v) / 3_600_000;
  if (!s.lastSyncTime) return { id: v.id, health: "fail", detail: `never backed up${s.problem ? `: ${s.problem}` : ""} (run \`bk backup --volume ${v.id}\`)` };
  const ageHours = Math.round(((now.getTime() - Date.parse(s.lastSyncTime)) / 3_600_000) * 10) / 10;
  if (ageHours > allowedH) return { id: v.id, health: "fail", ageHours, detail: `newest backup ${ageHours} h old, older than its schedule '${v.schedule}' allows (${allowedH} h)${s.problem ? `: ${s.problem}` : ""}` };
  if (s.problem) return { id: v.id, health: "warn", ageHours, detail: `newest backup ${ageHours} h old; ${s.problem}` };
  return { id: v.id, health: "ok", ageHours, detail: `newest backup ${ageHours} h old (${s.lastSyncTime}), next ${s.nextSyncTime ?? "?"}` };
}

// --- Manual runs --------------------------------------------------------------------------------

export interface RunOptions {
  timeoutMs: number;
  pollMs?: number;
  now?: () => Date;
  progress?: Progress;
}

export interface RunResult {
  volume: string;
  namespace: string;
  object: string;
  trigger: string;
  lastSyncTime?: string;
  duration?: string;
  result?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function read(kube: Kube, kind: string, namespace: string, name: string): Promise<ReplicationObject | undefined> {
  try {
    return (await kube.objects.read({ apiVersion: VOLSYNC_API, kind, metadata: { namespace, name } })) as ReplicationObject;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/** Poll until the controller has taken the trigger (status.lastManualSync equals it), then say how the run went. */
async function waitForManual(kube: Kube, kind: string, namespace: string, name: string, trigger: string, o: RunOptions): Promise<ReplicationObject> {
  const now = o.now ?? (() => new Date());
  const deadline = now().getTime() + o.timeoutMs;
  let said = "";
  for (;;) {
    const cur = await read(kube, kind, namespace, name);
    if (!cur) throw new CheckFailedError(`${kind} ${namespace}/${name} disappeared while waiting for its run`);
    if (cur.status?.lastManualSync === trigger) return cur;
    const sync = cur.status?.conditions?.find((c) => c.type === "Synchronizing");
    const line = sync ? `${sync.reason ?? sync.status}${sync.message ? `: ${sync.message}` : ""}` : "waiting for the VolSync controller";
    if (line !== said) o.progress?.(`  ${kind} ${namespace}/${name}: ${line}`);
    said = line;
    if (now().getTime() > deadline)
      throw new CheckFailedError(
        `${kind} ${namespace}/${name} did not finish run ${trigger} within ${Math.round(o.timeoutMs / 1000)} s (last: ${line}); see \`kubectl -n ${namespace} describe ${kind.toLowerCase()} ${name}\``,
      );
    await sleep(o.pollMs ?? 2000);
  }
}

/**
 * One backup now: the manual trigger replaces the schedule until the run is done, then it is removed again so
 * the schedule the tree declares is back in force (Flux applies only the fields it owns, so it keeps neither).
 */
export async function backupVolumeNow(kube: Kube, v: BackupVolumeModel, o: RunOptions): Promise<RunResult> {
  const trigger = `bk-${(o.now ?? (() => new Date()))().toISOString().replace(/[-:.]/g, "").toLowerCase()}`;
  const rs = await read(kube, "ReplicationSource", v.namespace, v.id);
  if (!rs) throw new CheckFailedError(`no ReplicationSource ${v.namespace}/${v.id} in the cluster: reconcile infra-configs first (\`flux reconcile kustomization infra-configs\`)`);
  o.progress?.(`backing up ${v.id} (${v.namespace}/${v.pvc}) to ${v.repository}`);
  await kube.objects.patch(
    { apiVersion: VOLSYNC_API, kind: "ReplicationSource", metadata: { namespace: v.namespace, name: v.id }, spec: { trigger: { manual: trigger } } },
    undefined,
    undefined,
    "bk",
    undefined,
    PatchStrategy.MergePatch,
  );
  let done: ReplicationObject;
  try {
    done = await waitForManual(kube, "ReplicationSource", v.namespace, v.id, trigger, o);
  } finally {
    await kube.objects
      .patch(
        { apiVersion: VOLSYNC_API, kind: "ReplicationSource", metadata: { namespace: v.namespace, name: v.id }, spec: { trigger: { manual: null } } } as unknown as KubernetesObject,
        undefined,
        undefined,
        "bk",
        undefined,
        PatchStrategy.MergePatch,
      )
      .catch(() => undefined);
  }
  const s = done.status ?? {};
  if (s.latestMoverStatus?.result === "Failed") throw new CheckFailedError(`backup of ${v.id} failed: ${s.latestMoverStatus.logs?.trim() ?? "see the mover Job's log"}`);
  return {
    volume: v.id,
    namespace: v.namespace,
    object: `ReplicationSource/${v.id}`,
    trigger,
    ...(s.lastSyncTime ? { lastSyncTime: s.lastSyncTime } : {}),
    ...(s.lastSyncDuration ? { duration: s.lastSyncDuration } : {}),
    ...(s.latestMoverStatus?.result ? { result: s.latestMoverStatus.result } : {}),
  };
}

/** The ReplicationDestination that restores a volume's newest snapshot (or the one as of a time) into its own claim. */
export function restoreDestination(v: BackupVolumeModel, trigger: string, restoreAsOf?: string): ReplicationObject {
  return {
    apiVersion: VOLSYNC_API,
    kind: "ReplicationDestination",
    metadata: { name: `${v.id}-restore`, namespace: v.namespace, labels: { "app.kubernetes.io/managed-by": "bk", "app.kubernetes.io/part-of": "beckerkube" } },
    spec: {
      trigger: { manual: trigger },
      restic: {
        repository: v.secret,
        destinationPVC: v.pvc,
        copyMethod: "Direct",
        // The claim holds exactly the snapshot afterwards, not the snapshot plus whatever was written since.
        enableFileDeletion: true,
        ...(restoreAsOf ? { restoreAsOf } : {}),
        ...moverPod(v),
      },
    },
  };
}

/** Pods that have the claim mounted and are not finished: restoring under a running workload would mix two states. */
export async function podsUsingClaim(kube: Kube, namespace: string, claim: string): Promise<string[]> {
  const pods = await kube.core.listNamespacedPod({ namespace });
  return pods.items
    .filter((p) => !["Succeeded", "Failed"].includes(p.status?.phase ?? ""))
    .filter((p) => p.metadata?.labels?.["app.kubernetes.io/name"] !== MOVER_LABELS["app.kubernetes.io/name"])
    .filter((p) => (p.spec?.volumes ?? []).some((vol) => vol.persistentVolumeClaim?.claimName === claim))
    .map((p) => p.metadata?.name ?? "?");
}

export async function restoreVolumeNow(kube: Kube, v: BackupVolumeModel, o: RunOptions & { restoreAsOf?: string }): Promise<RunResult> {
  const users = await podsUsingClaim(kube, v.namespace, v.pvc);
  if (users.length)
    throw new CheckFailedError(
      `refusing to restore ${v.id}: claim ${v.namespace}/${v.pvc} is in use by ${users.join(", ")}; stop the workload first (\`flux suspend helmrelease ...\` or suspend its Kustomization, then scale it to 0), restore, and resume; nothing was changed`,
    );
  const trigger = `bk-${(o.now ?? (() => new Date()))().toISOString().replace(/[-:.]/g, "").toLowerCase()}`;
  const rd = restoreDestination(v, trigger, o.restoreAsOf);
  const name = rd.metadata!.name!;
  if (await read(kube, "ReplicationDestination", v.namespace, name)) await kube.objects.delete(rd);
  o.progress?.(`restoring ${v.id} into ${v.namespace}/${v.pvc} from ${v.repository}${o.restoreAsOf ? ` as of ${o.restoreAsOf}` : ""}`);
  await kube.objects.create(rd);
  try {
    const done = await waitForManual(kube, "ReplicationDestination", v.namespace, name, trigger, o);
    const s = done.status ?? {};
    if (s.latestMoverStatus?.result === "Failed") throw new CheckFailedError(`restore of ${v.id} failed: ${s.latestMoverStatus.logs?.trim() ?? "see the mover Job's log"}`);
    return {
      volume: v.id,
      namespace: v.namespace,
      object: `ReplicationDestination/${name}`,
      trigger,
      ...(s.lastSyncTime ? { lastSyncTime: s.lastSyncTime } : {}),
      ...(s.lastSyncDuration ? { duration: s.lastSyncDuration } : {}),
      ...(s.latestMoverStatus?.result ? { result: s.latestMoverStatus.result } : {}),
    };
  } finally {
    // A destination left behind would restore again whenever its trigger changed; it is a one-off.
    await kube.objects.delete(rd).catch(() => undefined);
  }
}
