/**
 * The names `bk reconcile|suspend|resume` take, resolved through the definition: what the operator calls a
 * thing (ffl/backend, ffl, apps, kube-prometheus-stack, source) to the Flux objects the tree declares for it.
 * The Flux objects come from synthesis, so a name resolves exactly when the generated tree holds the object.
 */
import { InputError } from "../core/errors.js";
import type { Model } from "../model/model.js";
import { synthesize } from "../synth/index.js";
import type { FluxRef } from "../adapters/flux.js";

export type TargetKind = "component" | "application" | "kustomization" | "helmrelease" | "source";

export interface FluxTarget {
  /** The name as the operator wrote it. */
  name: string;
  kind: TargetKind;
  /** The Flux objects it stands for, in the order they are acted on. */
  refs: FluxRef[];
  /** Another name for objects a shorter name already reaches (ffl/ffl-backend for ffl/backend): not suggested. */
  alias?: boolean;
}

/** Kind prefixes accepted before a name, for names two kinds share (`kustomization/beckerkube`, `source/beckerkube`). */
const PREFIXES: Record<string, (r: FluxRef) => boolean> = {
  kustomization: (r) => r.kind === "Kustomization",
  ks: (r) => r.kind === "Kustomization",
  helmrelease: (r) => r.kind === "HelmRelease",
  hr: (r) => r.kind === "HelmRelease",
  source: (r) => r.apiVersion.startsWith("source."),
  gitrepository: (r) => r.kind === "GitRepository",
  helmrepository: (r) => r.kind === "HelmRepository",
};

const targetKind = (r: FluxRef): TargetKind => (r.kind === "Kustomization" ? "kustomization" : r.kind === "HelmRelease" ? "helmrelease" : "source");

const toRef = (o: { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } }): FluxRef => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata?.name ?? "",
  namespace: o.metadata?.namespace ?? "",
});

/**
 * Every name the definition gives a Flux object, first owner wins: applications and their components, then
 * Kustomizations, HelmReleases (by name and by namespace/name), sources, and `source` for the GitRepository
 * Flux syncs the tree from. A bare name two kinds share (beckerkube, chartmuseum) is the Kustomization or
 * HelmRelease; the source is `source/<name>`.
 */
export function fluxNames(model: Model): Map<string, FluxTarget> {
  const names = new Map<string, FluxTarget>();
  const add = (name: string, kind: TargetKind, refs: FluxRef[], alias = false) => {
    if (!names.has(name)) names.set(name, { name, kind, refs, ...(alias ? { alias } : {}) });
  };
  const flux = synthesize(model)
    .map((p) => p.object)
    .filter((o) => /^(kustomize|helm|source)\.toolkit\.fluxcd\.io\//.test(o.apiVersion ?? ""))
    .map((o) => toRef(o as Parameters<typeof toRef>[0]));
  const hr = (ns: string, name: string) => flux.find((r) => r.kind === "HelmRelease" && r.namespace === ns && r.name === name);
  for (const app of model.apps) {
    const refs = app.components.flatMap((c) => hr(c.namespace, c.fullname) ?? []);
    add(app.name, "application", refs);
    for (const c of app.components) {
      const ref = hr(c.namespace, c.fullname);
      if (ref) add(c.id, "component", [ref]);
    }
  }
  for (const r of flux.filter((x) => x.kind === "Kustomization")) add(r.name, "kustomization", [r]);
  // The root Kustomization is named after the repository here; `flux bootstrap` calls it flux-system, as operators do.
  const root = flux.find((r) => r.kind === "Kustomization" && r.name === model.gitops.repository);
  if (root) add("flux-system", "kustomization", [root]);
  const components = new Set(model.components.map((c) => `${c.namespace}/${c.fullname}`));
  for (const r of flux.filter((x) => x.kind === "HelmRelease")) {
    add(r.name, "helmrelease", [r], components.has(`${r.namespace}/${r.name}`));
    add(`${r.namespace}/${r.name}`, "helmrelease", [r], true);
  }
  const sources = flux.filter((x) => x.apiVersion.startsWith("source."));
  const main = sources.find((r) => r.kind === "GitRepository" && r.name === model.gitops.repository);
  if (main) add("source", "source", [main]);
  for (const r of sources) add(r.name, "source", [r]);
  for (const [prefix, fits] of Object.entries(PREFIXES)) {
    for (const r of flux.filter(fits)) add(`${prefix}/${r.name}`, targetKind(r), [r], true);
  }
  return names;
}

/** Levenshtein distance, for naming the closest valid names to a typo. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The valid names nearest to `name` by edit distance; one that contains the other counts as close (kube-prom). */
export function closestNames(name: string, valid: Iterable<string>, n = 6): string[] {
  const score = (v: string) => Math.min(distance(name, v), v.includes(name) || name.includes(v) ? 2 : Number.POSITIVE_INFINITY);
  return [...valid].sort((a, b) => score(a) - score(b) || a.localeCompare(b)).slice(0, n);
}

/** The targets for the names given, in order and without repeating an object; an unknown name is bad input (exit 2). */
export function resolveTargets(model: Model, given: readonly string[]): FluxTarget[] {
  if (!given.length) throw new InputError("name what to act on, e.g. ffl/backend, ffl, apps, kube-prometheus-stack or source");
  const names = fluxNames(model);
  const unknown = given.filter((g) => !names.has(g));
  if (unknown.length) {
    const lines = unknown.map(
      (u) =>
        `'${u}' is not a name in the definition; closest: ${closestNames(
          u,
          [...names.values()].filter((t) => !t.alias).map((t) => t.name),
        ).join(", ")}`,
    );
    throw new InputError(
      `${lines.join("\n")}\n  names are <app>/<component>, <app>, a Kustomization (${[...names.values()]
        .filter((t) => t.kind === "kustomization" && !t.name.includes("/"))
        .map((t) => t.name)
        .join(", ")}), a HelmRelease, a source, or \`source\` (the GitRepository ${model.gitops.repository}); prefix kustomization/, helmrelease/ or source/ where two kinds share a name`,
    );
  }
  const seen = new Set<string>();
  return given.map((g) => {
    const t = names.get(g)!;
    const refs = t.refs.filter((r) => {
      const key = `${r.kind}/${r.namespace}/${r.name}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { ...t, refs };
  });
}
