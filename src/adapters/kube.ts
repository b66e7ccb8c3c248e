/** The Kubernetes API through @kubernetes/client-node: one place that loads a kubeconfig. */
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node";

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
