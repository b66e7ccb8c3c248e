/**
 * The canary: one simple component whose HelmRelease is Ready and whose pod runs its image from the private
 * registry proves the whole path an application needs (chart from ChartMuseum, image pulled through the node's
 * trust, the apps layer reconciling). `bk bootstrap` waits for it; `bk doctor` asks it again on a live cluster.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Condition } from "../core/object.js";
import type { ComponentModel, Model } from "../model/model.js";
import { componentSelector } from "../netpol/workloads.js";
import { helmReleaseRef, readFlux, readyCondition } from "../adapters/flux.js";
import { reaching, type Kube } from "../adapters/kube.js";

export interface CanaryVerdict {
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface CanaryState {
  /** The HelmRelease's Ready condition; undefined: no such HelmRelease. */
  release?: { ready?: Condition };
  pods: Array<{ name: string; ready: boolean; images: string[] }>;
}

/** Pure: what the canary's live state says. */
export function judgeCanary(m: Model, c: ComponentModel, s: CanaryState): CanaryVerdict {
  const ref = `HelmRelease ${c.namespace}/${c.fullname}`;
  const image = `${c.image.repository}:${c.image.tag}`;
  if (!s.release) return { ok: false, detail: `${ref} does not exist`, fix: "is the apps layer suspended or not yet reconciled? `bk status`; after a rebuild, `bk bootstrap` refills and releases it" };
  const r = s.release.ready;
  if (r?.status !== "True") {
    return {
      ok: false,
      detail: `${ref} is not Ready: ${r ? `${r.reason ?? ""}: ${r.message ?? ""}` : "no Ready condition yet"}`,
      fix: "ChartMuseum must serve the pinned chart (`bk chart push --apps none`) and the registry the image (`bk images mirror`, `bk images import`)",
    };
  }
  const running = s.pods.filter((p) => p.ready && p.images.includes(image));
  if (!running.length) {
    const seen = [...new Set(s.pods.flatMap((p) => p.images))];
    return {
      ok: false,
      detail: `${ref} is Ready but no Ready pod runs ${image}${seen.length ? ` (pods run ${seen.join(", ")})` : " (no pods)"}`,
      fix: `kubectl -n ${c.namespace} describe pods -l app.kubernetes.io/instance=${c.fullname}`,
    };
  }
  if (!image.startsWith(`${m.registry}/`))
    return {
      ok: false,
      detail: `${c.id} runs ${image}, which is not from the private registry ${m.registry}: the canary proves nothing about it`,
      fix: "choose a canary whose image is in the private registry (--canary)",
    };
  return { ok: true, detail: `${c.id}: ${ref} Ready, pod ${running[0]!.name} runs ${image} pulled from ${m.registry}` };
}

/** The canary's live state through the API. */
export async function readCanary(kube: Kube, c: ComponentModel): Promise<CanaryState> {
  const hr = await readFlux(kube, helmReleaseRef(c.namespace, c.fullname));
  const selector = Object.entries(componentSelector(c))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const pods = await reaching(kube.core.listNamespacedPod({ namespace: c.namespace, labelSelector: selector }));
  const ready = hr ? readyCondition(hr) : undefined;
  return {
    ...(hr ? { release: ready ? { ready } : {} } : {}),
    pods: pods.items
      .filter((p: V1Pod) => !p.metadata?.deletionTimestamp)
      .map((p: V1Pod) => ({
        name: p.metadata?.name ?? "?",
        ready: Boolean(p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True")),
        images: (p.spec?.containers ?? []).map((x) => x.image ?? ""),
      })),
  };
}
