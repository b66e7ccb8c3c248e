/**
 * The upstream world the tree names, served on loopback so the committed tree can reconcile offline:
 *
 *  - every upstream chart a HelmRelease pins, packaged by the real helm from the chart mirror (../shared/charts)
 *    into one harness Helm repository per HelmRepository of the tree, or pushed to a real Docker Registry v2 for
 *    an OCI HelmRepository (cert-manager's);
 *  - our application chart in the repository standing in for ChartMuseum (bk-charts);
 *  - every Git source the tree applies from another repository (the Gateway API release) as a repository on the
 *    harness git server, at the tag the tree pins, with the files the mirror (../shared/crds) holds for its path.
 *
 * The tree itself is not edited: the URLs are replaced by Flux patches carried on the root Kustomization (what an
 * operator would put in the bootstrap's kustomization), one per source, so the committed layers apply unchanged.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cp, mkdir } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { resolveChart, type ChartRef } from "../../../src/adapters/charts.js";
import { resolveGitSource } from "../../../src/adapters/sources.js";
import { toolPath } from "../../../src/adapters/tools.js";
import type { KubeObject, PlacedObject } from "../../../src/core/object.js";
import { APP_CHART_REPOSITORY, FLUX_NAMESPACE } from "../../../src/core/well-known.js";
import type { DevCluster } from "../../../src/devcluster/index.js";
import type { Model } from "../../../src/model/model.js";
import { externalSources } from "../../../src/validate/upstream/crds.js";
import { APP_CHART_DIR } from "../../../src/workflows/render.js";
import { sharedCharts, sharedCrds } from "../../helpers/charts.js";
import type { TestRegistry } from "../../helpers/registry.js";

/** A Flux Kustomization patch: a strategic-merge or JSON6902 document and the objects it applies to. */
export interface FluxPatch {
  patch: string;
  target: { kind: string; name: string; namespace?: string };
}

export interface ServedUpstream {
  /** For the root Kustomization's spec.patches: each layer Kustomization gets the patches of the sources it applies. */
  rootPatches: FluxPatch[];
  /** Objects the patched sources need before they reconcile (the registry CA for the OCI source). */
  prerequisites: KubeObject[];
  /** One line per served thing, for the report. */
  lines: string[];
}

const OCI_CA_SECRET = "harness-oci-ca";

interface Spec {
  url?: string;
  type?: string;
  chart?: { spec?: { chart?: string; version?: string; sourceRef?: { kind?: string; name?: string } } };
  sourceRef?: { kind?: string; name?: string };
  path?: string;
}
const spec = (o: KubeObject) => (o.spec ?? {}) as Spec;

/** The Flux Kustomization (of the tree's own repository) that applies `file`: the one whose path holds it. */
function layerOf(file: string, layers: readonly KubeObject[]): string {
  const owner = layers
    .map((k) => ({ name: k.metadata.name, dir: (spec(k).path ?? "").replace(/^\.\//, "").replace(/\/$/, "") }))
    .filter((k) => k.dir && file.startsWith(`${k.dir}/`))
    .sort((a, b) => b.dir.length - a.dir.length)[0];
  if (!owner) throw new Error(`no Kustomization of the tree applies ${file}`);
  return owner.name;
}

function sourcePatch(kind: string, name: string, specPatch: Record<string, unknown>): FluxPatch {
  return {
    target: { kind, name },
    patch: stringify({ apiVersion: "source.toolkit.fluxcd.io/v1", kind, metadata: { name, namespace: FLUX_NAMESPACE }, spec: specPatch }),
  };
}

/**
 * Where the application chart comes from instead of the harness repository: a ChartMuseum on loopback that
 * something else fills (bk bootstrap's refill), with a TLS certificate from the registry's CA and basic auth.
 */
export interface AppChartSource {
  url: string;
  /** A Secret in flux-system with username and password, standing in for the one the SealedSecret would make. */
  authSecret: string;
}

/** Packages and serves every chart and Git source; returns the patches that point the tree's sources at them. */
export async function serveUpstream(c: DevCluster, m: Pick<Model, "gitops">, tree: readonly PlacedObject[], registry: TestRegistry, scratch: string, appCharts?: AppChartSource): Promise<ServedUpstream> {
  const charts = c.charts;
  const git = c.git;
  if (!charts || !git) throw new Error("serveUpstream needs the harness chart repository and git server");
  const layers = tree.map((p) => p.object).filter((o) => o.kind === "Kustomization" && spec(o).sourceRef?.name === m.gitops.repository && spec(o).path?.startsWith("./infrastructure"));
  const byLayer = new Map<string, FluxPatch[]>();
  const add = (file: string, p: FluxPatch) => {
    const layer = layerOf(file, layers);
    byLayer.set(layer, [...(byLayer.get(layer) ?? []), p]);
  };
  const lines: string[] = [];
  const repos = tree.filter((p) => p.object.kind === "HelmRepository");
  const served = new Set<string>();
  for (const { object: hr } of tree.filter((p) => p.object.kind === "HelmRelease")) {
    const c0 = spec(hr).chart?.spec;
    const repo = repos.find((r) => r.object.metadata.name === c0?.sourceRef?.name);
    if (!repo || !c0?.chart || !c0.version) throw new Error(`HelmRelease ${hr.metadata.name}: no HelmRepository or chart in the tree`);
    const key = `${repo.object.metadata.name}/${c0.chart}@${c0.version}`;
    if (served.has(key)) continue;
    served.add(key);
    if (repo.object.metadata.name === APP_CHART_REPOSITORY) continue;
    const ref: ChartRef = { repository: spec(repo.object).url ?? "", chart: c0.chart, version: c0.version };
    const { dir } = await resolveChart(ref, { mirror: sharedCharts(), pull: false });
    if (spec(repo.object).type === "oci") {
      const out = execFileSync(toolPath("helm"), ["package", dir, "--destination", scratch], { encoding: "utf8" });
      const tgz = /saved it to: (.+\.tgz)/.exec(out)?.[1]?.trim();
      if (!tgz) throw new Error(`helm package ${dir}: ${out}`);
      const target = `oci://${registry.host}/${repo.object.metadata.name}`;
      execFileSync(toolPath("helm"), ["push", tgz, target, "--ca-file", registry.ca.caCert], { encoding: "utf8", stdio: "pipe" });
      lines.push(`${key}: ${dir} pushed to ${target} (Docker Registry v2)`);
    } else {
      await charts.pushChart(dir, repo.object.metadata.name);
      lines.push(`${key}: ${dir} served at ${charts.repoUrl(repo.object.metadata.name)}`);
    }
  }
  for (const repo of repos) {
    const name = repo.object.metadata.name;
    if (name === APP_CHART_REPOSITORY) continue;
    const oci = spec(repo.object).type === "oci";
    add(repo.file, sourcePatch("HelmRepository", name, oci ? { url: `oci://${registry.host}/${name}`, certSecretRef: { name: OCI_CA_SECRET } } : { url: charts.repoUrl(name) }));
  }

  // ChartMuseum stands in as a plain repository: its basic-auth Secret is a SealedSecret no harness key opens, and
  // the harness repository serves plain HTTP, so the cluster CA (certSecretRef) is dropped with it.
  const appRepo = repos.find((r) => r.object.metadata.name === APP_CHART_REPOSITORY);
  if (appRepo && appCharts) {
    add(appRepo.file, sourcePatch("HelmRepository", APP_CHART_REPOSITORY, { url: appCharts.url, secretRef: { name: appCharts.authSecret }, certSecretRef: { name: OCI_CA_SECRET } }));
    lines.push(`${APP_CHART_REPOSITORY}: ${appCharts.url} (HTTPS with the registry's CA, basic auth from ${appCharts.authSecret}); nothing pushed by the harness`);
  } else if (appRepo) {
    await charts.pushChart(path.join(process.cwd(), APP_CHART_DIR), APP_CHART_REPOSITORY);
    add(appRepo.file, sourcePatch("HelmRepository", APP_CHART_REPOSITORY, { url: charts.repoUrl(APP_CHART_REPOSITORY), secretRef: null, certSecretRef: null }));
    lines.push(`${APP_CHART_REPOSITORY}: ${APP_CHART_DIR} served at ${charts.repoUrl(APP_CHART_REPOSITORY)} (ChartMuseum's stand-in, no basic auth)`);
  }

  for (const s of externalSources(m, tree)) {
    const files = await resolveGitSource(s, { mirror: sharedCrds(), fetch: false });
    const name = path.basename(s.url.replace(/\.git$/, ""));
    const work = path.join(scratch, `git-${name}`);
    await mkdir(path.join(work, s.path), { recursive: true });
    await cp(files, path.join(work, s.path), { recursive: true });
    const sha = await c.pushRepo(work, { repo: name, tag: s.ref, message: `${name} ${s.ref} from the mirror` });
    const gitRepo = tree.find((p) => p.object.kind === "GitRepository" && spec(p.object).url === s.url);
    if (!gitRepo) throw new Error(`no GitRepository with url ${s.url}`);
    add(gitRepo.file, sourcePatch("GitRepository", gitRepo.object.metadata.name, { url: git.url(name) }));
    lines.push(`${s.url} ${s.ref}: ${files} served at ${git.url(name)} (tag ${s.ref} = ${sha.slice(0, 12)}, path ${s.path})`);
  }

  const rootPatches = [...byLayer].map(([layer, patches]) => ({
    target: { kind: "Kustomization", name: layer },
    patch: stringify([{ op: "add", path: "/spec/patches", value: patches }]),
  }));
  const caSecret: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: OCI_CA_SECRET, namespace: FLUX_NAMESPACE },
    stringData: { "ca.crt": readFileSync(registry.ca.caCert, "utf8") },
  } as KubeObject;
  return { rootPatches, prerequisites: [caSecret], lines };
}
