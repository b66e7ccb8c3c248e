/**
 * The Kubernetes API through @kubernetes/client-node: one place that loads a kubeconfig.
 * Importing this module loads client-node, which takes over a second: code that also serves
 * commands needing no cluster imports it with `await import()` where the cluster is first used.
 */
import * as k8s from "@kubernetes/client-node";
import { UnavailableError } from "../core/errors.js";
import { chooseKubeconfig } from "./kubeconfig.js";

export interface Kube {
  kc: k8s.KubeConfig;
  objects: k8s.KubernetesObjectApi;
  core: k8s.CoreV1Api;
}

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
}

/** --kubeconfig, else $KUBECONFIG / ~/.kube/config, as kubectl does; none of them is NoClusterConfigured (exit 3). */
function readKubeConfig(kubeconfig?: string, context?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const choice = chooseKubeconfig(kubeconfig);
  if (choice.kind === "file") kc.loadFromFile(choice.file);
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  return kc;
}

export function connect(kubeconfig?: string, context?: string): Kube {
  const kc = readKubeConfig(kubeconfig, context);
  return { kc, objects: k8s.KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(k8s.CoreV1Api) };
}

/** The kubeconfig as `connect` reads it, refusing one without a cluster; with the library, to make API clients from. */
export function loadKubeConfig(o: KubeOptions): { k8s: typeof k8s; kc: k8s.KubeConfig } {
  const kc = readKubeConfig(o.kubeconfig, o.context);
  if (!kc.getCurrentCluster()) throw new UnavailableError(`no cluster in the kubeconfig ${o.kubeconfig ?? "(default: $KUBECONFIG or ~/.kube/config)"}${o.context ? ` for context ${o.context}` : ""}`);
  return { k8s, kc };
}

/**
 * An API call that got no HTTP answer (refused, TLS, DNS, timeout) never reached the API server: that is
 * unavailable (exit 3). HTTP errors (ApiException, with a numeric code) pass through unchanged.
 */
export async function reaching<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof Error && typeof (err as { code?: unknown }).code !== "number") throw new UnavailableError(err.message, { cause: err });
    throw err;
  }
}
