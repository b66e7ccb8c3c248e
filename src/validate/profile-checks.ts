/**
 * What the charts really render for an `ha` profile (issue 19): every Deployment and StatefulSet of a release the
 * profile replicates runs two or more pods, spread over nodes, under a PodDisruptionBudget. The values in
 * model/profiles.ts are only what we ask of a chart; this check reads what the pinned chart makes of them.
 */
import type { Finding } from "../core/finding.js";
import { objectRef, type KubeObject } from "../core/object.js";
import type { Model } from "../model/model.js";
import type { ProfileModel } from "../model/profiles.js";

export interface RenderedRelease {
  release: KubeObject;
  file: string;
  objects: readonly KubeObject[];
}

interface Workload {
  spec?: {
    replicas?: number;
    template?: { metadata?: { labels?: Record<string, string> }; spec?: { topologySpreadConstraints?: unknown[]; affinity?: { podAntiAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: unknown[] } } } };
  };
}

/** The id under which a profile accepts a release: the component (app/component) or the chart pin's key. */
export function acceptedId(m: Model, release: KubeObject): string | undefined {
  const c = m.components.find((x) => x.fullname === release.metadata.name && x.namespace === release.metadata.namespace);
  if (c) return c.id;
  const chart = (release.spec as { chart?: { spec?: { chart?: string; version?: string } } } | undefined)?.chart?.spec;
  return Object.entries(m.charts).find(([, pin]) => pin.chart === chart?.chart && pin.version === chart?.version)?.[0];
}

export function checkRenderedProfile(m: Model, p: ProfileModel, releases: readonly RenderedRelease[]): Finding[] {
  if (p.kind !== "ha") return [];
  const out: Finding[] = [];
  for (const r of releases) {
    const id = acceptedId(m, r.release);
    if (id !== undefined && id in p.accepted) continue;
    // An autoscaled workload's replicas are its HorizontalPodAutoscaler's floor (the chart leaves spec.replicas out).
    const floors = new Map(
      r.objects
        .filter((o) => o.kind === "HorizontalPodAutoscaler")
        .map((o) => {
          const spec = o.spec as { scaleTargetRef?: { kind?: string; name?: string }; minReplicas?: number };
          return [`${spec.scaleTargetRef?.kind}/${spec.scaleTargetRef?.name}`, spec.minReplicas ?? 1] as const;
        }),
    );
    const budgets = r.objects.filter((o) => o.kind === "PodDisruptionBudget").map((o) => (o.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {});
    for (const w of r.objects) {
      if (w.kind !== "Deployment" && w.kind !== "StatefulSet") continue;
      const spec = (w as Workload).spec;
      const labels = spec?.template?.metadata?.labels ?? {};
      const pod = spec?.template?.spec;
      const replicas = floors.get(`${w.kind}/${w.metadata.name}`) ?? spec?.replicas ?? 1;
      const lacks = [
        replicas < 2 ? `${replicas} replica(s)` : "",
        budgets.some((sel) => Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v)) ? "" : "no PodDisruptionBudget selecting its pods",
        pod?.topologySpreadConstraints?.length || pod?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length ? "" : "no spread over nodes",
      ].filter(Boolean);
      if (!lacks.length) continue;
      out.push({
        rule: "profile/rendered-single-point",
        severity: "error",
        message: `profile '${p.name}': ${objectRef(w)}, rendered by ${objectRef(r.release)}, has ${lacks.join(", ")}`,
        fix: `set the chart's replica, budget and spread values in HA_RELEASES (src/model/profiles.ts)${id ? `, or accept it: '${id}: <why>' under profiles.${p.name}.accepted in cluster.yaml` : ""}`,
        file: r.file,
        object: objectRef(r.release),
      });
    }
  }
  return out;
}
