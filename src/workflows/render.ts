/**
 * What Flux will install: every HelmRelease of our own chart rendered with its values through
 * the real `helm template`, and the rendered objects checked like the rest of the tree. Pod
 * Security is only ever enforced on pods, so this is where the restricted level is proven.
 */
import path from "node:path";
import type { Finding } from "../core/finding.js";
import { objectRef, type KubeObject, type PlacedObject } from "../core/object.js";
import { HelmError, helmTemplate } from "../adapters/helm.js";
import { APP_CHART_REPOSITORY } from "../core/well-known.js";

export const APP_CHART_DIR = "charts/app";

export interface Rendered {
  release: PlacedObject;
  objects: KubeObject[];
}

export function appReleases(objects: readonly PlacedObject[]): PlacedObject[] {
  return objects.filter(({ object: o }) => {
    if (o.kind !== "HelmRelease") return false;
    const ref = (o.spec as { chart?: { spec?: { sourceRef?: { name?: string } } } }).chart?.spec?.sourceRef;
    return ref?.name === APP_CHART_REPOSITORY;
  });
}

/** Render each release, two at a time (the machine class this runs on has two cores). */
export async function renderAppReleases(root: string, objects: readonly PlacedObject[]): Promise<{ rendered: Rendered[]; findings: Finding[] }> {
  const chart = path.join(root, APP_CHART_DIR);
  const releases = appReleases(objects);
  const rendered: Rendered[] = [];
  const findings: Finding[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < releases.length; i = next++) {
      const release = releases[i]!;
      const o = release.object;
      try {
        const out = await helmTemplate(chart, (o.spec as { values?: Record<string, unknown> }).values ?? {}, { releaseName: o.metadata.name, namespace: o.metadata.namespace ?? "default" });
        rendered.push({ release, objects: out });
      } catch (err) {
        findings.push({
          rule: "render/helm-template",
          severity: "error",
          message: err instanceof HelmError ? err.stderr.trim() : String(err),
          fix: "fix the component in the definition (or the chart) so that its values pass charts/app/values.schema.json",
          file: release.file,
          object: objectRef(o),
          field: "spec.values",
        });
      }
    }
  };
  await Promise.all([worker(), worker()]);
  rendered.sort((a, b) => a.release.file.localeCompare(b.release.file));
  return { rendered, findings };
}

/** Rendered objects, placed at their HelmRelease's file so findings point where the fix goes. */
export function placeRendered(rendered: readonly Rendered[]): PlacedObject[] {
  return rendered.flatMap((r) => r.objects.map((object) => ({ object, file: `${r.release.file} (rendered by ${objectRef(r.release.object)})` })));
}
