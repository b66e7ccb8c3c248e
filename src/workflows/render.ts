/**
 * What Flux will install: every HelmRelease rendered with its values through its real chart and the real
 * `helm template`, so the objects checked are the objects the cluster gets. Our own chart is read from the
 * repository; upstream charts from the mirror, the chart cache or their HelmRepository (adapters/charts.ts).
 * Pod Security is only ever enforced on pods, so this is where the namespaces' levels are proven.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Finding } from "../core/finding.js";
import { objectRef, type KubeObject, type PlacedObject } from "../core/object.js";
import { APP_CHART_REPOSITORY, FLUX_NAMESPACE } from "../core/well-known.js";
import { ChartNotFoundError, chartDigest, resolveChart, type ChartSourceOptions, type ChartRef } from "../adapters/charts.js";
import { HelmError, helmTemplate } from "../adapters/helm.js";
import { UnavailableError } from "../core/errors.js";
import { schemaScope } from "../schema/validate.js";
import { chartFacts } from "./chart-facts.js";
import { ResultCache } from "./result-cache.js";
import type { ChartFacts } from "../validate/values-lint.js";

export const APP_CHART_DIR = "charts/app";

/** A release and the chart folder it is rendered from, whether or not it rendered. */
export interface ChartedRelease {
  release: PlacedObject;
  /** The chart it was rendered from: our own (`app`) or an upstream ref. */
  chart: ChartRef | "app";
  /** The chart folder rendered, for checks that read the chart itself (values schema, templates). */
  chartDir: string;
  /** sha256 of the chart's files (adapters/charts.ts chartDigest): what results derived from the chart are cached by. */
  digest: string;
}

export interface Rendered extends ChartedRelease {
  objects: KubeObject[];
}

export interface RenderOptions {
  /** Which releases: only our chart's (fast; no upstream chart needed), or every HelmRelease. Default "app". */
  scope?: "app" | "all";
  charts?: ChartSourceOptions;
  /** The cluster's Kubernetes version, passed to helm as --kube-version. */
  kubeVersion?: string;
  /** Where rendered results are kept by chart digest + inputs; null turns the cache off. Default: the user cache. */
  cacheDir?: string | null;
}

interface HelmReleaseSpec {
  releaseName?: string;
  targetNamespace?: string;
  chart?: { spec?: { chart?: string; version?: string; sourceRef?: { kind?: string; name?: string; namespace?: string } } };
  install?: { crds?: string };
  test?: { enable?: boolean };
  values?: Record<string, unknown>;
}

const specOf = (o: KubeObject) => (o.spec ?? {}) as HelmReleaseSpec;

export function helmReleases(objects: readonly PlacedObject[]): PlacedObject[] {
  return objects.filter(({ object: o }) => o.kind === "HelmRelease");
}

export function appReleases(objects: readonly PlacedObject[]): PlacedObject[] {
  return helmReleases(objects).filter(({ object: o }) => specOf(o).chart?.spec?.sourceRef?.name === APP_CHART_REPOSITORY);
}

/** Flux's defaults: the release is named `[<targetNamespace>-]<name>` and lands in targetNamespace or its own. */
export function releaseTarget(o: KubeObject): { releaseName: string; namespace: string } {
  const s = specOf(o);
  const namespace = s.targetNamespace ?? o.metadata.namespace ?? "default";
  return { releaseName: s.releaseName ?? (s.targetNamespace ? `${s.targetNamespace}-${o.metadata.name}` : o.metadata.name), namespace };
}

/** The HelmRepository a release's chart comes from, as a ref the chart source can resolve. */
function upstreamRef(o: KubeObject, all: readonly PlacedObject[]): ChartRef {
  const chart = specOf(o).chart?.spec;
  const src = chart?.sourceRef;
  const srcNs = src?.namespace ?? o.metadata.namespace;
  if (src?.kind !== "HelmRepository") throw new UnavailableError(`${objectRef(o)}: charts from a ${src?.kind ?? "missing"} source are not rendered (only HelmRepository)`);
  const repo = all.find(({ object: r }) => r.kind === "HelmRepository" && r.metadata.name === src.name && (r.metadata.namespace ?? FLUX_NAMESPACE) === srcNs)?.object;
  const url = (repo?.spec as { url?: string } | undefined)?.url;
  if (!url) throw new UnavailableError(`${objectRef(o)}: HelmRepository ${srcNs}/${src.name} is not in the tree`);
  return { repository: url, chart: chart?.chart ?? "", version: chart?.version ?? "" };
}

/**
 * Rendered charts are kept by everything that decides the output: chart digest, values, release name and
 * namespace, Kubernetes version, API versions and CRD inclusion; a warm `bk validate` renders nothing.
 * Bump when the cached shape or what helm is asked changes.
 */
const RENDER_FORMAT = 1;

interface Job {
  release: PlacedObject;
  chart: ChartRef | "app";
  dir: string;
  digest: string;
}

async function jobFor(release: PlacedObject, all: readonly PlacedObject[], root: string, opts: RenderOptions, appDigest: () => string): Promise<Job> {
  const o = release.object;
  if (specOf(o).chart?.spec?.sourceRef?.name === APP_CHART_REPOSITORY) return { release, chart: "app", dir: path.join(root, APP_CHART_DIR), digest: appDigest() };
  const ref = upstreamRef(o, all);
  const resolved = await resolveChart(ref, opts.charts);
  return { release, chart: ref, dir: resolved.dir, digest: resolved.digest };
}

async function renderJob(job: Job, opts: RenderOptions, apiVersions: readonly string[]): Promise<KubeObject[]> {
  const o = job.release.object;
  const target = releaseTarget(o);
  const inputs = {
    digest: job.digest,
    values: specOf(o).values ?? {},
    ...target,
    kubeVersion: opts.kubeVersion ?? "",
    apiVersions,
    includeCrds: job.chart !== "app" && specOf(o).install?.crds !== "Skip",
  };
  const useCache = opts.cacheDir !== null && job.digest !== "absent";
  const cache = new ResultCache<KubeObject[]>("renders", RENDER_FORMAT, useCache ? opts.cacheDir : null);
  let objects = cache.read(inputs);
  if (!objects) {
    objects = await helmTemplate(job.dir, inputs.values, { ...target, ...(inputs.kubeVersion ? { kubeVersion: inputs.kubeVersion } : {}), apiVersions, includeCrds: inputs.includeCrds });
    cache.write(inputs, objects);
  }
  return withNamespace(installedObjects(objects, specOf(o).test?.enable === true), target.namespace);
}

/** Helm test hooks exist only for `helm test`, which helm-controller runs only when the release enables tests. */
function installedObjects(objects: KubeObject[], testsEnabled: boolean): KubeObject[] {
  if (testsEnabled) return objects;
  return objects.filter((o) => !(o.metadata.annotations?.["helm.sh/hook"] ?? "").split(",").some((h) => h.trim().startsWith("test")));
}

/** helm-controller applies namespaced objects without a namespace into the release's: the checks see the same. */
async function withNamespace(objects: KubeObject[], namespace: string): Promise<KubeObject[]> {
  for (const obj of objects) {
    if (obj.metadata.namespace) continue;
    if ((await schemaScope(obj.apiVersion, obj.kind)) !== "Cluster") obj.metadata = { ...obj.metadata, namespace };
  }
  return objects;
}

/** `group/version` and `group/version/Kind` of every CRD the rendered charts install: what .Capabilities.APIVersions will hold. */
function crdApiVersions(objects: readonly KubeObject[]): string[] {
  const out = new Set<string>();
  for (const o of objects) {
    if (o.kind !== "CustomResourceDefinition") continue;
    const spec = o.spec as { group?: string; names?: { kind?: string }; versions?: Array<{ name?: string; served?: boolean }> };
    for (const v of spec.versions ?? []) {
      if (v.served === false || !spec.group || !v.name) continue;
      out.add(`${spec.group}/${v.name}`);
      if (spec.names?.kind) out.add(`${spec.group}/${v.name}/${spec.names.kind}`);
    }
  }
  return [...out].sort();
}

/** Runs `fn` over `items`, two at a time (the machine class this runs on has two cores). */
async function twoAtATime<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!);
  };
  await Promise.all([worker(), worker()]);
}

function renderFinding(release: PlacedObject, err: unknown, chart: ChartRef | "app"): Finding {
  return {
    rule: "render/helm-template",
    severity: "error",
    message: err instanceof HelmError ? err.stderr.trim() || err.message : err instanceof Error ? err.message : String(err),
    fix:
      chart === "app"
        ? "fix the component in the definition (or the chart) so that its values pass charts/app/values.schema.json"
        : `fix the release's values in the definition so that chart ${chart.chart} ${chart.version} renders`,
    file: release.file,
    object: objectRef(release.object),
    field: "spec.values",
  };
}

const byRelease = (a: ChartedRelease, b: ChartedRelease) => a.release.file.localeCompare(b.release.file) || objectRef(a.release.object).localeCompare(objectRef(b.release.object));

/**
 * Render each release. Charts that ask the cluster which APIs it serves are rendered twice: once to learn
 * the CRDs every chart installs, then again with those API versions, as the cluster will answer once the
 * earlier layers are in. A chart that cannot be found is an UnavailableError (exit 3), not a finding.
 */
export async function renderReleases(root: string, objects: readonly PlacedObject[], opts: RenderOptions = {}): Promise<{ rendered: Rendered[]; findings: Finding[]; releases: ChartedRelease[] }> {
  const releases = opts.scope === "all" ? helmReleases(objects) : appReleases(objects);
  let appDigest: string | undefined;
  // A checkout without charts/app still renders (and helm reports the missing chart as a finding); nothing to key a cache by.
  const appDir = path.join(root, APP_CHART_DIR);
  const digestOfApp = () => (appDigest ??= existsSync(appDir) ? chartDigest(appDir) : "absent");
  const jobs: Job[] = [];
  for (const r of releases) jobs.push(await jobFor(r, objects, root, opts, digestOfApp));
  const results = new Map<Job, KubeObject[]>();
  const findings: Finding[] = [];
  const pass = (apiVersions: readonly string[], subset: readonly Job[]) =>
    twoAtATime(subset, async (job) => {
      try {
        results.set(job, await renderJob(job, opts, apiVersions));
      } catch (err) {
        if (err instanceof ChartNotFoundError) throw err;
        findings.push(renderFinding(job.release, err, job.chart));
      }
    });
  await pass([], jobs);
  const apiVersions = crdApiVersions([...results.values()].flat());
  if (apiVersions.length)
    await pass(
      apiVersions,
      jobs.filter((j) => j.chart !== "app" && asksForApis(j)),
    );
  const rendered = jobs.flatMap((job) => {
    const objs = results.get(job);
    return objs ? [{ release: job.release, chart: job.chart, chartDir: job.dir, digest: job.digest, objects: objs }] : [];
  });
  rendered.sort(byRelease);
  const charted = jobs.map((job) => ({ release: job.release, chart: job.chart, chartDir: job.dir, digest: job.digest })).sort(byRelease);
  return { rendered, findings, releases: charted };
}

/** Our own chart's releases only: what `bk validate` always renders. */
export function renderAppReleases(root: string, objects: readonly PlacedObject[]): Promise<{ rendered: Rendered[]; findings: Finding[]; releases: ChartedRelease[] }> {
  return renderReleases(root, objects, { scope: "app", cacheDir: null });
}

/** Whether any template of the chart, subcharts included, reads .Capabilities.APIVersions (chart-facts reads them once). */
function asksForApis(job: Job): boolean {
  const mentions = (f: ChartFacts): boolean => f.templates.some((t) => t.includes(".Capabilities.APIVersions")) || f.subcharts.some((s) => mentions(s.chart));
  return mentions(chartFacts(job.dir, job.digest));
}

/** Rendered objects, placed at their HelmRelease's file so findings point where the fix goes. */
export function placeRendered(rendered: readonly Rendered[]): PlacedObject[] {
  return rendered.flatMap((r) => {
    const origin = r.chart === "app" ? ("app-chart" as const) : ("upstream-chart" as const);
    return r.objects.map((object) => ({ object, file: `${r.release.file} (rendered by ${objectRef(r.release.object)})`, origin }));
  });
}
