/** The Kubernetes API through @kubernetes/client-node: one place that loads a kubeconfig. */
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node";
import { UnavailableError } from "../core/errors.js";

export interface Kube {
  kc: KubeConfig;
  objects: KubernetesObjectApi;
  core: CoreV1Api;
}

/** --kubeconfig, else $KUBECONFIG / ~/.kube/config, as kubectl does. */
export function connect(kubeconfig?: string, context?: string): Kube {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  return { kc, objects: KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(CoreV1Api) };
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
