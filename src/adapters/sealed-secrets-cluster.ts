/**
 * The Sealed Secrets controller's keys as the Kubernetes API holds them: kubernetes.io/tls Secrets in the
 * controller's namespace labelled sealedsecrets.bitnami.com/sealed-secrets-key. Read through the API (not
 * kubectl) so `bk secrets backup` needs nothing but a kubeconfig.
 */
// Types only: the client library takes seconds to load, so it is imported when a cluster is actually opened.
import type { CoreV1Api, KubeConfig, V1Secret, V1SecretList } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { UnavailableError } from "../core/errors.js";
import type { KubeObject } from "../core/object.js";
import { decodeStdBase64 } from "../sealing/base64.js";
import { certificateInfo, SEALED_SECRETS_KEY_LABEL } from "../sealing/keys.js";

/** Label value the controller puts on keys it may seal with. */
export const ACTIVE_KEY = "active";

export const API_TIMEOUT_MS = 30_000;

/** The cluster could not be asked: no kubeconfig, no connection, no permission. */
export class ClusterUnavailableError extends UnavailableError {
  constructor(message: string) {
    super(message);
    this.name = "ClusterUnavailableError";
  }
}

export interface KeySecret {
  name: string;
  namespace: string;
  /** The key label's value: "active", or "compromised" for a key rotated out by hand. */
  state: string;
  created?: Date;
  /** Only what a restore into a new cluster needs: no uid, resourceVersion or managedFields. */
  manifest: KubeObject;
  certPem?: string;
}

/** Where key Secrets come from; the command takes any, so tests can hand in a fake. */
export interface KeySecretSource {
  /** "https://127.0.0.1:6443 (context dev)", for messages. */
  describe(): string;
  listKeySecrets(namespace: string): Promise<KeySecret[]>;
  /** Sets an annotation on key Secrets (`bk secrets backup` marks the keys its verified backup holds). */
  annotateKeySecrets?(namespace: string, names: readonly string[], annotation: string, value: string): Promise<void>;
}

const DROPPED_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration"];

function toKeySecret(s: V1Secret, namespace: string): KeySecret {
  const name = s.metadata?.name ?? "";
  const labels = s.metadata?.labels ?? {};
  const annotations = Object.fromEntries(Object.entries(s.metadata?.annotations ?? {}).filter(([k]) => !DROPPED_ANNOTATIONS.includes(k)));
  const meta: KubeObject["metadata"] = { name, namespace: s.metadata?.namespace ?? namespace, labels: { ...labels } };
  if (Object.keys(annotations).length) meta.annotations = annotations;
  const data = { ...(s.data ?? {}) };
  const crt = data["tls.crt"];
  const out: KeySecret = {
    name,
    namespace: meta.namespace!,
    state: labels[SEALED_SECRETS_KEY_LABEL] ?? "",
    manifest: { apiVersion: "v1", kind: "Secret", metadata: meta, type: s.type ?? "kubernetes.io/tls", data },
  };
  if (s.metadata?.creationTimestamp) out.created = new Date(s.metadata.creationTimestamp);
  if (crt) out.certPem = decodeStdBase64(crt, `Secret ${namespace}/${name} data["tls.crt"]`).toString("utf8");
  return out;
}

type ApiExceptionClass = typeof import("@kubernetes/client-node").ApiException;

function describeApiError(err: unknown, what: string, where: string, ApiException: ApiExceptionClass): Error {
  const api = err as { code?: unknown; body?: unknown };
  if (err instanceof ApiException && typeof api.code === "number") {
    const code = api.code;
    const body = typeof api.body === "string" ? api.body : JSON.stringify(api.body);
    const reason = (() => {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        return body;
      }
    })();
    if (code === 401) return new ClusterUnavailableError(`${where}: ${what}: not authenticated (HTTP 401): ${reason}; check the kubeconfig's credentials`);
    if (code === 403) return new ClusterUnavailableError(`${where}: ${what}: forbidden (HTTP 403): ${reason}; the kubeconfig's user needs "list secrets" in that namespace (cluster-admin has it)`);
    return new Error(`${where}: ${what}: HTTP ${code}: ${reason}`);
  }
  const msg = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
  return new ClusterUnavailableError(`${where}: ${what}: cannot reach the API server: ${msg}${cause}; is the cluster up and the kubeconfig current?`);
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterUnavailableError(`${what}: no answer from the API server within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens the cluster a kubeconfig's current context points at. */
export async function openCluster(kubeconfigPath: string, timeoutMs = API_TIMEOUT_MS): Promise<KeySecretSource> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(kubeconfigPath);
  } catch (err) {
    throw new ClusterUnavailableError(`cannot load kubeconfig ${kubeconfigPath}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new ClusterUnavailableError(`kubeconfig ${kubeconfigPath}: its current context names no cluster`);
  return new SealedSecretsCluster(kubeconfigPath, kc, kc.makeApiClient(k8s.CoreV1Api), k8s.ApiException, timeoutMs);
}

class SealedSecretsCluster implements KeySecretSource {
  constructor(
    readonly kubeconfigPath: string,
    private readonly kc: KubeConfig,
    private readonly api: CoreV1Api,
    private readonly apiException: ApiExceptionClass,
    private readonly timeoutMs: number,
  ) {}

  describe(): string {
    return `${this.kc.getCurrentCluster()?.server ?? "?"} (context ${this.kc.getCurrentContext() || "?"})`;
  }

  async listKeySecrets(namespace: string): Promise<KeySecret[]> {
    const what = `listing Secrets -l ${SEALED_SECRETS_KEY_LABEL} in namespace ${namespace}`;
    let list: V1SecretList;
    try {
      list = await withTimeout(this.api.listNamespacedSecret({ namespace, labelSelector: SEALED_SECRETS_KEY_LABEL }), this.timeoutMs, what);
    } catch (err) {
      if (err instanceof ClusterUnavailableError) throw err;
      throw describeApiError(err, what, this.describe(), this.apiException);
    }
    return sortKeys(list.items.map((s) => toKeySecret(s, namespace)));
  }

  async annotateKeySecrets(namespace: string, names: readonly string[], annotation: string, value: string): Promise<void> {
    const k8s = await import("@kubernetes/client-node");
    for (const name of names) {
      const what = `annotating Secret ${namespace}/${name} with ${annotation}`;
      try {
        await withTimeout(
          this.api.patchNamespacedSecret({ name, namespace, body: { metadata: { annotations: { [annotation]: value } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)),
          this.timeoutMs,
          what,
        );
      } catch (err) {
        if (err instanceof ClusterUnavailableError) throw err;
        throw describeApiError(err, what, this.describe(), this.apiException);
      }
    }
  }
}

/** Oldest Secret first, ties by name: the order the controller loads them in. */
export function sortKeys(keys: readonly KeySecret[]): KeySecret[] {
  return [...keys].sort((a, b) => (a.created?.getTime() ?? 0) - (b.created?.getTime() ?? 0) || a.name.localeCompare(b.name));
}

/**
 * The key new secrets are sealed with, chosen as the controller chooses it by default (--key-order-priority
 * CertNotBefore): the active key whose certificate starts last; on a tie the one loaded first (oldest Secret)
 * stays. Ordering by certificate rather than by Secret keeps the choice right after a restore, which gives
 * every restored Secret a new creationTimestamp.
 */
export function currentSealingKey(keys: readonly KeySecret[]): KeySecret | undefined {
  let best: { key: KeySecret; notBefore: number } | undefined;
  for (const key of sortKeys(keys.filter((k) => k.state === ACTIVE_KEY && k.certPem))) {
    let notBefore: number;
    try {
      notBefore = certificateInfo(key.certPem!).notBefore.getTime();
    } catch (err) {
      throw new Error(`Secret ${key.namespace}/${key.name} data["tls.crt"]: ${(err as Error).message}`);
    }
    if (!best || notBefore > best.notBefore) best = { key, notBefore };
  }
  return best?.key;
}

/** The v1 List that `kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml` prints, ready to restore. */
export function keyBackupYaml(keys: readonly KeySecret[], header: string): string {
  const list = { apiVersion: "v1", kind: "List", metadata: { resourceVersion: "" }, items: keys.map((k) => k.manifest) };
  return header + stringify(list, { lineWidth: 0 });
}
