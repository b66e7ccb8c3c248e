/**
 * Does the platform fit its node (`bk plan`)? The workloads are what the cluster will run: the tree's own
 * (registry, PostgreSQL, backups) and every HelmRelease rendered through its real chart, upstream charts
 * included. Rendering needs helm and the charts at hand; the plan needs no network, so nothing is pulled:
 * charts come from a mirror (`--charts`, $BK_CHARTS, $BK_SHARED/charts) or the chart cache `bk validate` fills.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Generated } from "../pipeline.js";
import type { ChartSourceOptions } from "../adapters/charts.js";
import { ChartNotFoundError } from "../adapters/charts.js";
import { helmAvailable } from "../adapters/helm.js";
import { amountOf, checkFit, type Amount, type FitReport } from "../validate/fit.js";
import { renderReleases } from "./render.js";
import { findProfile } from "../model/profiles.js";
import { profileTreeOf } from "./profile-tree.js";
import { withInjectedSidecars } from "../validate/mesh-sidecars.js";

export type FitOutcome = { checked: true; report: FitReport; chartsFrom: string } | { checked: false; reason: string };

export interface FitOptions {
  /** A chart mirror folder; default $BK_CHARTS, else $BK_SHARED/charts. */
  charts?: string;
  /** Render cache folder (null: none); default the user cache, as `bk validate` uses. */
  cacheDir?: string | null;
  /** The profile to fit (model/profiles.ts): its objects on its nodes. Default the base profile. */
  profile?: string;
}

/** The node as the profile gives it: Minikube's `16g` is 16 GiB. */
export function nodeCapacity(profile: { cpus: number; memory: string }): Amount {
  const m = /^(\d+)([mg])$/.exec(profile.memory);
  const mib = m ? Number(m[1]) * (m[2] === "g" ? 1024 : 1) : 0;
  return { cpu: profile.cpus * 1000, memory: mib * 2 ** 20 };
}

export function reserveOf(reserved: { cpu: string; memory: string }): Amount {
  return { cpu: amountOf(reserved.cpu, "cpu") ?? 0, memory: amountOf(reserved.memory, "memory") ?? 0 };
}

function mirrorOf(opts: FitOptions): string | undefined {
  if (opts.charts) return opts.charts;
  if (process.env.BK_CHARTS) return process.env.BK_CHARTS;
  const shared = process.env.BK_SHARED;
  const dir = shared ? path.join(shared, "charts") : undefined;
  return dir && existsSync(dir) ? dir : undefined;
}

export async function fitPlatform(root: string, g: Generated, opts: FitOptions = {}): Promise<FitOutcome> {
  if (!(await helmAvailable())) return { checked: false, reason: "helm is not available to render the charts; run `npm run tools`" };
  const mirror = mirrorOf(opts);
  const charts: ChartSourceOptions = { pull: false, ...(mirror ? { mirror } : {}) };
  const profile = findProfile(g.model, opts.profile);
  // Another profile's cluster runs the shared tree with its patches applied, not the base tree.
  const objectsOf = profile === g.model.profiles[0] ? g.tree.objects : profileTreeOf(g, profile).objects;
  let rendered: Awaited<ReturnType<typeof renderReleases>>;
  try {
    rendered = await renderReleases(root, objectsOf, { scope: "all", charts, kubeVersion: g.model.cluster.profile.kubernetesVersion, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}) });
  } catch (err) {
    if (err instanceof ChartNotFoundError) return { checked: false, reason: `${err.message}; or run \`bk validate\` once to fill the chart cache` };
    throw err;
  }
  if (rendered.findings.length) {
    const names = [...new Set(rendered.findings.map((f) => f.object).filter(Boolean))];
    return { checked: false, reason: `${names.join(", ")} did not render (\`bk validate\` says why)` };
  }
  const all = [...objectsOf.filter((p) => p.object.kind !== "HelmRelease").map((p) => p.object), ...rendered.rendered.flatMap((r) => r.objects)];
  // The mesh's sidecars come from the injector at admission, not from any chart: counted here.
  const objects = g.model.mesh ? withInjectedSidecars(all, g.model.mesh.proxy) : all;
  const p = g.model.cluster.profile;
  const report = checkFit(objects, { capacity: nodeCapacity(p), reserve: reserveOf(p.reserved), nodes: profile.nodes });
  return { checked: true, report, chartsFrom: mirror ? `the chart mirror ${mirror}` : "the chart cache" };
}
