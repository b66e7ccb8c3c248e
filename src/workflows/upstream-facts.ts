/**
 * The facts of the chart-rendered infrastructure pods, generated from the real renders: every HelmRelease of the
 * tree through its pinned chart, as `bk validate` renders them. `npm run gen:facts` writes the result to
 * src/model/upstream-facts.generated.ts; the test that compares the two is the drift check CI runs.
 */
import type { ChartPodFacts } from "../model/model.js";
import { CHART_ROWS } from "../model/infra-workloads.js";
import { generate } from "../pipeline.js";
import { factsModule, renderedPodFacts } from "../validate/upstream/pod-facts.js";
import { renderReleases } from "./render.js";
import { UnavailableError } from "../core/errors.js";

export interface FactsOptions {
  /** The unpacked upstream charts (`<chart>-<version>/`). */
  mirror: string;
  /** Where renders are cached; null turns the cache off. Default: the user cache. */
  cacheDir?: string | null;
}

/** The facts and the module text, from the definition at `root` and the charts of the mirror. */
export async function generateUpstreamFacts(root: string, opts: FactsOptions): Promise<{ facts: Record<string, ChartPodFacts>; text: string }> {
  const { model, tree } = generate(root);
  const r = await renderReleases(root, tree.objects, {
    scope: "all",
    charts: { mirror: opts.mirror },
    kubeVersion: model.cluster.profile.kubernetesVersion,
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
  });
  if (r.findings.length) throw new UnavailableError(`the charts did not all render:\n  ${r.findings.map((f) => `${f.object ?? f.file}: ${f.message}`).join("\n  ")}`);
  const facts = renderedPodFacts(model, CHART_ROWS, tree.objects, r.rendered);
  return { facts, text: factsModule(facts) };
}
