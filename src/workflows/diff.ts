/**
 * `bk diff`: what a change does to the cluster, as a reviewer reads it (the anchor is flux-local's `diff`). Both
 * sides are fully rendered: the objects of the tree's Kustomization roots (the tree's kustomizations list every
 * file and transform nothing, so the generated objects are what Flux applies) plus every HelmRelease expanded
 * through its real chart. The base side is the repository's files at a Git ref, extracted to a scratch folder
 * and generated and rendered there (with the app chart of that ref), so the working tree is never touched.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTwoFilesPatch } from "diff";
import type { ChartSourceOptions } from "../adapters/charts.js";
import { Git } from "../adapters/git.js";
import type { Runner } from "../adapters/runner.js";
import { InputError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import type { KubeObject } from "../core/object.js";
import { generate } from "../pipeline.js";
import { toYaml } from "../tree/emit.js";
import { placeRendered, renderReleases } from "./render.js";

export interface DiffOptions {
  /** The Git ref to compare with. Default HEAD. */
  base?: string;
  charts?: ChartSourceOptions;
  /** The render cache (see RENDER_FORMAT in render.ts); null turns it off. Default: the user cache. */
  cacheDir?: string | null;
  runner?: Runner;
}

export interface ObjectDiff {
  /** `[group/]Kind/[namespace/]name`: the API group (none for the core API), kind, namespace (none when cluster-scoped), name. */
  object: string;
  /** Where the object comes from: its tree file, or the HelmRelease that renders it. */
  source: string;
  /** Unified diff of the object's YAML, Secret values masked. */
  patch: string;
}

export interface RenderedDiff {
  base: string;
  baseCommit: string;
  added: ObjectDiff[];
  removed: ObjectDiff[];
  changed: ObjectDiff[];
  /** How many Secrets in the diff had their data/stringData values masked. */
  maskedSecrets: number;
  /** Releases that did not render, per side: their objects are missing from that side. */
  findings: { base: Finding[]; head: Finding[] };
}

/** An object's identity across both sides; the version is left out so an API version bump is a change, not a remove and an add. */
export function diffKey(o: KubeObject): string {
  const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : undefined;
  return [group, o.kind, o.metadata.namespace, o.metadata.name].filter((p) => p !== undefined && p !== "").join("/");
}

interface Entry {
  object: KubeObject;
  source: string;
}

/** The fully rendered objects of the repository at `root`, keyed by identity. */
export async function renderedObjects(root: string, opts: DiffOptions): Promise<{ objects: Map<string, Entry>; findings: Finding[] }> {
  const { model, tree } = generate(root);
  const inRoots = tree.objects.filter(({ file }) => tree.kustomizationRoots.some((r) => file.startsWith(`${r}/`)));
  const { rendered, findings } = await renderReleases(root, tree.objects, {
    scope: "all",
    ...(opts.charts ? { charts: opts.charts } : {}),
    kubeVersion: model.cluster.profile.kubernetesVersion,
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
  });
  const objects = new Map<string, Entry>();
  for (const { object, file } of [...inRoots, ...placeRendered(rendered)]) {
    const id = diffKey(object);
    // Two sources of one identity (e.g. a CRD two charts ship) are both shown, each named by its source.
    const key = objects.has(id) ? `${id} [${file}]` : id;
    objects.set(key, { object, source: file });
  }
  return { objects, findings };
}

/** The repository's files at `ref`, generated and rendered in a scratch folder that is removed afterwards. */
async function renderedAtRef(root: string, ref: string, opts: DiffOptions): Promise<{ commit: string; objects: Map<string, Entry>; findings: Finding[] }> {
  const git = new Git(root, opts.runner);
  const commit = await git.resolveCommit(ref);
  if (!commit) throw new InputError(`'${ref}' is not a commit in the repository at ${root} (a branch, tag or commit, e.g. HEAD or main)`);
  const scratch = mkdtempSync(path.join(tmpdir(), "bk-diff-"));
  try {
    const dir = path.join(scratch, "tree");
    mkdirSync(dir);
    await git.exportCommit(commit, dir);
    return { commit, ...(await renderedObjects(dir, opts)) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const MASK = "<masked>";
const MASK_CHANGED = { base: "<masked, old value>", head: "<masked, new value>" };

/**
 * A Secret's values never reach the diff: each data/stringData value is replaced by a marker, and a value that
 * differs from the other side's by an old/new marker, so a changed value still shows as a changed line.
 */
function masked(o: KubeObject, other: KubeObject | undefined, side: "base" | "head"): KubeObject {
  if (o.kind !== "Secret" || o.apiVersion !== "v1") return o;
  const out: KubeObject = { ...o };
  for (const field of ["data", "stringData"] as const) {
    const values = o[field] as Record<string, unknown> | undefined;
    if (!values || typeof values !== "object") continue;
    const theirs = (other?.[field] ?? {}) as Record<string, unknown>;
    out[field] = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, other && k in theirs && theirs[k] !== v ? MASK_CHANGED[side] : MASK]));
  }
  return out;
}

function hasValues(o: KubeObject | undefined): boolean {
  return o?.kind === "Secret" && o.apiVersion === "v1" && (o["data"] !== undefined || o["stringData"] !== undefined);
}

/** A unified diff between two texts, with `---`/`+++` naming the object (the library's banner line dropped). */
function patchOf(key: string, a: string | undefined, b: string | undefined): string {
  const p = createTwoFilesPatch(a === undefined ? "/dev/null" : `a/${key}`, b === undefined ? "/dev/null" : `b/${key}`, a ?? "", b ?? "", "", "", { context: 3 });
  return p
    .split("\n")
    .slice(1)
    .map((l) => (l.startsWith("--- ") || l.startsWith("+++ ") ? l.replace(/\t$/, "") : l))
    .join("\n");
}

/** Compares two rendered object sets: every added, removed and changed object with its patch, sorted by identity. */
export function diffObjects(base: ReadonlyMap<string, Entry>, head: ReadonlyMap<string, Entry>): Pick<RenderedDiff, "added" | "removed" | "changed" | "maskedSecrets"> {
  const added: ObjectDiff[] = [];
  const removed: ObjectDiff[] = [];
  const changed: ObjectDiff[] = [];
  let maskedSecrets = 0;
  for (const key of [...new Set([...base.keys(), ...head.keys()])].sort()) {
    const a = base.get(key);
    const b = head.get(key);
    const before = a ? toYaml(a.object) : undefined;
    const after = b ? toYaml(b.object) : undefined;
    if (before === after) continue;
    const shownA = a ? toYaml(masked(a.object, b?.object, "base")) : undefined;
    const shownB = b ? toYaml(masked(b.object, a?.object, "head")) : undefined;
    if (hasValues(a?.object) || hasValues(b?.object)) maskedSecrets++;
    const d = { object: key, source: (b ?? a)!.source, patch: patchOf(key, shownA, shownB) };
    (a === undefined ? added : b === undefined ? removed : changed).push(d);
  }
  return { added, removed, changed, maskedSecrets };
}

/** The working tree at `root` against `opts.base` (default HEAD), both fully rendered. */
export async function diffRendered(root: string, opts: DiffOptions = {}): Promise<RenderedDiff> {
  const base = opts.base ?? "HEAD";
  const at = await renderedAtRef(root, base, opts);
  const head = await renderedObjects(root, opts);
  return { base, baseCommit: at.commit, ...diffObjects(at.objects, head.objects), findings: { base: at.findings, head: head.findings } };
}

/** The diff as text: one header per object (`# added|removed|changed <object>  (<source>)`), then its patch. */
export function formatDiff(d: Pick<RenderedDiff, "added" | "removed" | "changed">): string {
  const all = [...d.added.map((x) => ["added", x] as const), ...d.removed.map((x) => ["removed", x] as const), ...d.changed.map((x) => ["changed", x] as const)];
  all.sort(([, x], [, y]) => (x.object < y.object ? -1 : x.object > y.object ? 1 : 0));
  return all.map(([what, x]) => `# ${what} ${x.object}  (${x.source})\n${x.patch}`).join("\n");
}
