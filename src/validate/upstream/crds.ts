/**
 * Every kind in the tree and in the renders must have its CRD installed by the time Flux applies it: by a
 * chart or a Flux source in the same or an earlier layer (infra-controllers -> infra-configs -> apps), or
 * by `flux bootstrap` for Flux's own kinds. Otherwise the layer stalls on a fresh cluster.
 */
import type { Finding } from "../../core/finding.js";
import { objectRef, type KubeObject, type PlacedObject } from "../../core/object.js";
import { apiGroup } from "../../core/pod-spec.js";
import { list, rec, str } from "../../core/paths.js";
import type { Model } from "../../model/model.js";
import { layerName, layerOf, locate, type Located, type RenderedRelease } from "./objects.js";

/** What a Flux source outside this repository holds at a ref and path: read from the upstream release, never guessed. */
export interface SourceArtifact {
  url: string;
  /** The tag, branch or commit the GitRepository pins. */
  ref: string;
  /** The path inside it a Kustomization applies, without a leading "./". */
  path: string;
  objects: readonly KubeObject[];
}

/** API groups every Kubernetes API server serves without a CRD. */
const BUILT_IN_GROUPS = new Set([
  "",
  "apps",
  "batch",
  "autoscaling",
  "policy",
  "networking.k8s.io",
  "rbac.authorization.k8s.io",
  "admissionregistration.k8s.io",
  "apiextensions.k8s.io",
  "apiregistration.k8s.io",
  "storage.k8s.io",
  "scheduling.k8s.io",
  "coordination.k8s.io",
  "discovery.k8s.io",
  "certificates.k8s.io",
  "node.k8s.io",
  "flowcontrol.apiserver.k8s.io",
  "events.k8s.io",
  "resource.k8s.io",
]);

/** `flux bootstrap` installs the toolkit's CRDs before any Kustomization runs. */
const isFluxGroup = (group: string) => group.endsWith(".toolkit.fluxcd.io");

interface Provider {
  layer: number;
  by: string;
}

const keyOf = (group: string, version: string, kind: string) => `${group}/${version}/${kind}`;

function addCrds(provided: Map<string, Provider>, crds: readonly KubeObject[], p: Provider): void {
  for (const crd of crds) {
    if (crd.kind !== "CustomResourceDefinition") continue;
    const spec = rec(crd.spec) ?? {};
    const group = str(spec.group) ?? "";
    const kind = str(rec(spec.names)?.kind) ?? "";
    for (const v of list(spec.versions)) {
      const ver = rec(v) ?? {};
      if (ver.served === false) continue;
      const key = keyOf(group, str(ver.name) ?? "", kind);
      const had = provided.get(key);
      if (!had || had.layer > p.layer) provided.set(key, p);
    }
  }
}

/** The Flux Kustomizations that apply a path of another Git repository: the Gateway API release, for one. */
export function externalSources(m: Pick<Model, "gitops">, tree: readonly PlacedObject[]): Array<{ ks: PlacedObject; url: string; ref: string; path: string }> {
  const out = [];
  for (const ks of tree) {
    const o = ks.object;
    if (o.kind !== "Kustomization" || !o.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/")) continue;
    const src = rec(rec(o.spec)?.sourceRef);
    if (src?.kind !== "GitRepository" || src.name === m.gitops.repository) continue;
    const git = tree.find(({ object: g }) => g.kind === "GitRepository" && g.metadata.name === src.name)?.object;
    const spec = rec(git?.spec);
    const ref = rec(spec?.ref);
    out.push({ ks, url: str(spec?.url) ?? "", ref: str(ref?.tag) ?? str(ref?.commit) ?? str(ref?.branch) ?? "", path: (str(rec(o.spec)?.path) ?? "").replace(/^\.\//, "").replace(/\/$/, "") });
  }
  return out;
}

function providers(m: Pick<Model, "gitops">, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[], artifacts: readonly SourceArtifact[], findings: Finding[]): Map<string, Provider> {
  const provided = new Map<string, Provider>();
  for (const { object, file } of tree) addCrds(provided, [object], { layer: layerOf(file), by: file });
  for (const r of rendered) addCrds(provided, r.objects, { layer: layerOf(r.release.file), by: objectRef(r.release.object) });
  for (const s of externalSources(m, tree)) {
    const art = artifacts.find((a) => a.url.replace(/\.git$/, "") === s.url.replace(/\.git$/, "") && a.ref === s.ref && a.path === s.path);
    if (art) {
      addCrds(provided, art.objects, { layer: layerOf(s.ks.file), by: objectRef(s.ks.object) });
      continue;
    }
    findings.push({
      rule: "upstream/crd-source",
      severity: "warning",
      message: `the CRDs of ${s.url} at ${s.ref}, path ${s.path}, were not read, so the kinds it installs are not credited`,
      fix: "point BK_CRDS at a directory holding that release's CRDs (the folder named after the repository), e.g. ../shared/crds",
      file: s.ks.file,
      object: objectRef(s.ks.object),
      field: "spec.path",
    });
  }
  return provided;
}

function orderFinding(l: Located, key: string, p: Provider | undefined): Finding {
  const where = !p
    ? "nothing in the tree or its charts installs it"
    : p.layer === l.layer
      ? `only ${p.by}, in the same layer, installs it, and Flux dry-runs the layer's objects before any of them is applied`
      : `only ${p.by}, in ${layerName(p.layer)}, installs it, and Flux applies that after ${layerName(l.layer)}`;
  return {
    rule: "upstream/crd-order",
    severity: "error",
    message: `${l.object.kind} needs the CRD for ${key}: ${where}`,
    fix: `install the CRD in ${layerName(l.layer)} or an earlier layer: a chart that ships it, or a Flux source for its upstream release pinned in definition/infrastructure.yaml`,
    file: l.file,
    object: objectRef(l.object),
    field: "apiVersion",
  };
}

/** upstream/crd-order: every custom kind's CRD is installed by its own layer or an earlier one. */
export function checkCrdOrder(m: Pick<Model, "gitops">, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[], artifacts: readonly SourceArtifact[] = []): Finding[] {
  const findings: Finding[] = [];
  const provided = providers(m, tree, rendered, artifacts, findings);
  for (const l of locate(tree, rendered)) {
    const group = apiGroup(l.object);
    if (BUILT_IN_GROUPS.has(group) || isFluxGroup(group)) continue;
    const key = keyOf(group, l.object.apiVersion.slice(group.length + 1), l.object.kind);
    const p = provided.get(key);
    // A Kustomization dry-runs every object it applies before applying any, so its own objects need the CRD
    // from an earlier layer; a chart's objects only wait for helm-controller, which retries within the layer.
    const late = l.release ? p && p.layer > l.layer : p && p.layer >= l.layer;
    if (!p || late) findings.push(orderFinding(l, key, p));
  }
  return findings;
}
