/**
 * clusters/<profile>/: the entry point Flux reconciles. The GitRepository and three layered
 * Kustomizations (infra-controllers -> infra-configs -> apps), each waiting for the one before.
 */
import { durationMs, formatDuration } from "../core/duration.js";
import { releaseTimeout } from "./apps.js";
import type { IGitRepository } from "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository";
import type { PlacedObject } from "../core/object.js";
import type { Model } from "../model/model.js";
import { MANAGED_BY, fluxKustomization, obj, place } from "./builders.js";
import { LAYERS } from "../model/layout.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";

export function synthFlux(m: Model): PlacedObject[] {
  const dir = m.gitops.path;
  const git: IGitRepository = {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: m.gitops.repository, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    spec: {
      interval: m.gitops.interval,
      url: m.gitops.url,
      ref: { branch: m.gitops.branch },
      ...(m.gitops.secretRef ? { secretRef: { name: m.gitops.secretRef } } : {}),
      // Only what Flux applies: the definition, charts and code are not part of the artifact.
      ignore: ["/*", `!/${dir.split("/")[0]}/`, "!/infrastructure/", "!/apps/"].join("\n"),
    },
  };
  const root = fluxKustomization(m, { name: m.gitops.repository, path: `./${dir}`, wait: false });
  (root.spec as { interval: string }).interval = "10m";

  const [controllers, configs, apps] = LAYERS;
  return [
    ...place(`${dir}/${FLUX_NAMESPACE}/gotk-sync.yaml`, obj(git), root),
    ...place(
      `${dir}/infrastructure.yaml`,
      fluxKustomization(m, { name: controllers.name, path: `./${controllers.dir}`, timeout: "15m" }),
      fluxKustomization(m, { name: configs.name, path: `./${configs.dir}`, dependsOn: [controllers.name], timeout: "15m" }),
    ),
    ...place(`${dir}/apps.yaml`, fluxKustomization(m, { name: apps.name, path: `./${apps.dir}`, dependsOn: [configs.name], timeout: appsTimeout(m) })),
  ];
}

/**
 * The apps layer waits for every application release, so it must outlast the slowest one (a release with a
 * long migration), with room for fetching the chart (incident 5; checked by timeouts/kustomization-shorter).
 */
function appsTimeout(m: Model): string {
  const slowest = Math.max(0, ...m.components.map((c) => durationMs(releaseTimeout(c)) ?? 0));
  return formatDuration(Math.max(20 * 60_000, slowest + 5 * 60_000));
}
