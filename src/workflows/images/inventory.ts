/**
 * Every image the cluster runs, read from the fully rendered tree (the tree's own objects and every HelmRelease
 * rendered through its real chart), each with where it comes from: built by us and pushed to the private
 * registry, a third-party image mirrored into it (the definition names the upstream), or pulled from its own
 * registry. An image named under the private registry that the definition does not account for is a finding:
 * nothing would ever put it there.
 */
import type { ChartSourceOptions } from "../../adapters/charts.js";
import type { Finding } from "../../core/finding.js";
import { objectRef, type KubeObject } from "../../core/object.js";
import { apiGroup, containersOf, podTemplateOf } from "../../core/pod-spec.js";
import { rec, str } from "../../core/paths.js";
import type { Model } from "../../model/model.js";
import { generate } from "../../pipeline.js";
import { renderReleases } from "../render.js";

export type ImageOrigin = "app" | "mirrored" | "upstream" | "unknown";

export interface ImageUse {
  /** Kind/namespace/name of the object running it. */
  object: string;
  /** The container, or the custom resource field naming the image. */
  container: string;
  /** The tree file, or the chart and HelmRelease that render the object. */
  source: string;
}

export interface ImageEntry {
  image: string;
  origin: ImageOrigin;
  /** Where it comes from, for people: the upstream image, the application's repository, or the registry pulled from. */
  from: string;
  /** app/component, for images of the definition's components. */
  component?: string;
  /** The upstream reference of a mirrored image. */
  upstream?: string;
  usedBy: ImageUse[];
}

/**
 * Custom resources whose operator starts pods from an image the resource names: the operator's pods are
 * rendered, these are not. Group and kind -> the field.
 */
const RESOURCE_IMAGE_FIELDS: ReadonlyArray<{ group: string; kind: string; field: string }> = [
  { group: "postgresql.cnpg.io", kind: "Cluster", field: "imageName" },
  { group: "monitoring.coreos.com", kind: "Prometheus", field: "image" },
  { group: "monitoring.coreos.com", kind: "Alertmanager", field: "image" },
  { group: "monitoring.coreos.com", kind: "ThanosRuler", field: "image" },
];

/** An operator's flag or environment variable naming an image it starts pods from (a config reloader, an ACME solver). */
const IMAGE_FLAG = /^--([a-z0-9-]*(?:image|reloader))=(.+)$/;
const IMAGE_ENV = /(?:^|_)IMAGE(?:_NAME)?$/;
const looksLikeImage = (v: string) => /^[a-z0-9.-]+(?::\d+)?\/[a-z0-9._/-]+(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/.test(v) && /[.:]/.test(v.split("/")[0]!);

/** Images an operator container names in its arguments or environment: it starts pods from them later. */
function startedImages(c: Record<string, unknown>, name: string): Array<{ image: string; container: string }> {
  const out: Array<{ image: string; container: string }> = [];
  for (const a of Array.isArray(c.args) ? c.args : []) {
    const m = IMAGE_FLAG.exec(String(a));
    if (m && looksLikeImage(m[2]!)) out.push({ image: m[2]!, container: `started by container ${name} (--${m[1]})` });
  }
  for (const e of Array.isArray(c.env) ? c.env : []) {
    const env = rec(e);
    const value = str(env?.value);
    if (env && value && IMAGE_ENV.test(str(env.name) ?? "") && looksLikeImage(value)) out.push({ image: value, container: `started by container ${name} (${str(env.name)})` });
  }
  return out;
}

/** The images an object runs: its pod template's init and regular containers (and those they start), or the image field of a known custom resource. */
export function imagesOf(o: KubeObject): Array<{ image: string; container: string }> {
  const pt = podTemplateOf(o);
  if (pt)
    return containersOf(pt, ["initContainers", "containers"]).flatMap((c) => {
      const image = str(c.container.image);
      const own = image ? [{ image, container: c.group === "initContainers" ? `init container ${c.name}` : `container ${c.name}` }] : [];
      return [...own, ...startedImages(c.container, c.name)];
    });
  const field = RESOURCE_IMAGE_FIELDS.find((f) => f.kind === o.kind && apiGroup(o) === f.group);
  const image = field ? str(rec(o.spec)?.[field.field]) : undefined;
  return field && image ? [{ image, container: `spec.${field.field}` }] : [];
}

/** Istio's placeholder for a proxy image its sidecar injector fills in at admission. */
const INJECTED = "auto";

/** The proxy image istiod injects, from the values its sidecar injector renders with (global.hub, proxy.image, tag). */
export function injectedProxyImage(objects: readonly KubeObject[]): string | undefined {
  for (const o of objects) {
    if (o.kind !== "ConfigMap" || !o.metadata.name.startsWith("istio-sidecar-injector")) continue;
    const values = str(rec(o["data"])?.values);
    if (!values) continue;
    const global = rec(rec(JSON.parse(values))?.global);
    const hub = str(global?.hub);
    const image = str(rec(global?.proxy)?.image);
    const tag = str(global?.tag) ?? (typeof global?.tag === "number" ? String(global.tag) : undefined);
    if (hub && image && tag) return image.includes("/") ? image : `${hub}/${image}:${tag}`;
  }
  return undefined;
}

/** Where an image comes from, judged by the Model: components of ours, mirrored components, or anything else. */
export function classify(model: Model, image: string): Pick<ImageEntry, "origin" | "from" | "component" | "upstream"> {
  const component = model.components.find((c) => c.image.ref === image);
  if (component?.image.upstream) return { origin: "mirrored", from: `mirrored from ${component.image.upstream}`, component: component.id, upstream: component.image.upstream };
  if (component) {
    const app = model.apps.find((a) => a.name === component.app);
    const repo = app?.sourceRepository;
    return { origin: "app", from: `built from ${repo ?? `the ${component.app} repository`} and pushed by \`bk release\``, component: component.id };
  }
  if (image.startsWith(`${model.registry}/`)) return { origin: "unknown", from: "named under the private registry, but no component of the definition is this image" };
  const host = image.split("/")[0]!;
  const hasHost = image.includes("/") && (/[.:]/.test(host) || host === "localhost");
  return { origin: "upstream", from: `pulled from ${hasHost ? host : "docker.io (short name)"}` };
}

export interface InventoryOptions {
  /** Render the upstream charts too (default true); false lists only the tree's objects and our own chart. */
  upstream?: boolean;
  charts?: ChartSourceOptions;
  cacheDir?: string | null;
}

export interface Inventory {
  images: ImageEntry[];
  /** Releases that did not render (their images are missing from the list), and images nothing accounts for. */
  findings: Finding[];
}

export function inventoryFindings(images: readonly ImageEntry[]): Finding[] {
  return images
    .filter((i) => i.origin === "unknown")
    .map((i) => ({
      rule: "images/unaccounted",
      severity: "error" as const,
      message: `${i.image} is named under the private registry, but no component of the definition is this image, so nothing pushes or mirrors it (used by ${i.usedBy.map((u) => u.object).join(", ")})`,
      fix: "make it a component (its tag in definition/apps/<app>.yaml, with `upstream:` for a third-party image), or pull it from its own registry",
      object: i.usedBy[0]?.object,
    }));
}

/** Every image of the fully rendered tree, sorted by image. */
export async function imageInventory(root: string, opts: InventoryOptions = {}): Promise<Inventory> {
  const { model, tree } = generate(root);
  const { rendered, findings } = await renderReleases(root, tree.objects, {
    scope: opts.upstream === false ? "app" : "all",
    ...(opts.charts ? { charts: opts.charts } : {}),
    kubeVersion: model.cluster.profile.kubernetesVersion,
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
  });
  const byImage = new Map<string, ImageEntry>();
  const proxy = injectedProxyImage(rendered.flatMap((r) => r.objects));
  const add = (o: KubeObject, source: string) => {
    for (const use of imagesOf(o)) {
      const injected = use.image === INJECTED && proxy !== undefined;
      const image = injected ? proxy : use.image;
      const container = injected ? `${use.container} (injected by istiod)` : use.container;
      const entry = byImage.get(image) ?? { image, ...classify(model, image), usedBy: [] };
      byImage.set(image, entry);
      entry.usedBy.push({ object: objectRef(o), container, source });
    }
  };
  for (const { object, file } of tree.objects) add(object, file);
  for (const r of rendered) {
    const chart = r.chart === "app" ? "chart charts/app" : `chart ${r.chart.chart} ${r.chart.version}`;
    for (const o of r.objects) add(o, `${chart} (${objectRef(r.release.object)})`);
  }
  const images = [...byImage.values()].sort((a, b) => a.image.localeCompare(b.image));
  return { images, findings: [...findings, ...inventoryFindings(images)] };
}
