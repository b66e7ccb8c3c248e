/**
 * What the fit check must count that no chart renders: the istio-proxy sidecar istiod's injector adds at admission to
 * every pod of a namespace labelled for injection (unless the pod opts out), sized by the definition's `mesh.proxy`.
 * It is injected as a native sidecar (an init container with restartPolicy Always, `ENABLE_NATIVE_SIDECARS`), which is
 * how the fit check adds it to the pod's request. Pure: the objects are copied, never changed.
 */
import type { KubeObject } from "../core/object.js";
import { podTemplateOf } from "../core/pod-spec.js";
import { list, rec } from "../core/paths.js";
import type { ResourcesModel } from "../model/model.js";
import { INJECTION_LABEL } from "../model/mesh.js";

const OPT_OUT = "sidecar.istio.io/inject";

export function withInjectedSidecars(objects: readonly KubeObject[], proxy: ResourcesModel): KubeObject[] {
  const injected = new Set(objects.filter((o) => o.kind === "Namespace" && o.metadata.labels?.[INJECTION_LABEL] === "enabled").map((o) => o.metadata.name));
  if (!injected.size) return [...objects];
  return objects.map((o) => {
    if (!injected.has(o.metadata.namespace ?? "") || !podTemplateOf(o)) return o;
    const copy = structuredClone(o);
    const pt = podTemplateOf(copy)!;
    const optOut = rec(pt.metadata.labels)?.[OPT_OUT] ?? rec(pt.metadata.annotations)?.[OPT_OUT];
    if (optOut === "false" || pt.spec.hostNetwork === true) return o;
    pt.spec.initContainers = [{ name: "istio-proxy", restartPolicy: "Always", resources: { requests: { ...proxy.requests }, limits: { ...proxy.limits } } }, ...list(pt.spec.initContainers)];
    return copy;
  });
}
