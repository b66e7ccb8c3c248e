/**
 * `bk validate`: every check a tree must pass before it may be committed. The object checks and
 * references are pure (src/validate/); rendering runs the real helm, and the kustomize build the
 * real kubectl on a scratch copy.
 */
import type { ChartSourceOptions } from "../adapters/charts.js";
import type { GitSourceOptions } from "../adapters/sources.js";
import type { Finding } from "../core/finding.js";
import { objectRef, type KubeObject } from "../core/object.js";
import type { Model } from "../model/model.js";
import type { PolicyException } from "../policy/rule.js";
import { locateFindings, type Generated } from "../pipeline.js";
import type { GeneratedTree } from "../tree/tree.js";
import { checkObjects } from "../validate/checks.js";
import { checkReferences } from "../validate/references.js";
import { checkTimeouts } from "../validate/timeouts.js";

export { policyContext } from "../validate/checks.js";

export interface ValidateOptions {
  /** Run `kubectl kustomize` on every root (needs kubectl). */
  kustomize: boolean;
  /**
   * Render HelmReleases with helm and check what they render; needs the repository root. `scope: "all"`
   * renders the upstream charts too (from `charts`: a mirror, the cache, or their repositories).
   */
  render?: { root: string; scope?: "app" | "all"; charts?: ChartSourceOptions; sources?: GitSourceOptions };
  /** Checks of what the charts rendered, beside the per-object ones (a profile's, validate-profiles.ts). */
  renderedChecks?: (rendered: ReadonlyArray<{ release: KubeObject; file: string; objects: readonly KubeObject[] }>) => Finding[];
}

export interface ValidationResult {
  findings: Finding[];
  excepted: Array<{ finding: Finding; exception: PolicyException }>;
  objects: number;
  files: number;
  checks: string[];
}

export async function validateTree(m: Model, tree: GeneratedTree, opts: ValidateOptions): Promise<ValidationResult> {
  const { unusedExceptionFindings } = await import("../policy/engine.js");
  const checks = ["schema", "policy", "references"];
  const own = await checkObjects(m, tree.objects);
  const findings: Finding[] = [...own.findings];
  let unused = own.unusedExceptions;
  const excepted = [...own.excepted];
  findings.push(...checkReferences(m, tree.objects, tree.files));
  // Cross-object, like the references: timeouts that agree between a layer and its releases.
  findings.push(...checkTimeouts(tree.objects));
  if (opts.render) {
    const { renderReleases, placeRendered } = await import("./render.js");
    const { root, scope = "app", charts } = opts.render;
    const {
      rendered,
      findings: renderFindings,
      releases,
    } = await renderReleases(root, tree.objects, { scope, ...(charts ? { charts } : {}), kubeVersion: m.cluster.profile.kubernetesVersion, ...(scope === "app" ? { cacheDir: null } : {}) });
    const placed = placeRendered(rendered);
    const checked = await checkObjects(m, placed);
    // Which release rendered each object, so a finding on it can be traced to the definition entry behind it.
    const byFile = new Map(rendered.map((r) => [placed.find((p) => r.objects.includes(p.object))?.file, objectRef(r.release.object)]));
    const renderedChecks = { ...checked, findings: checked.findings.map((f) => (f.file && byFile.get(f.file) ? { ...f, renderedBy: byFile.get(f.file)! } : f)) };
    const { lintRenderedValues, withoutSchemaRefusals } = await import("./values-lint.js");
    const valuesFindings = lintRenderedValues(releases, scope === "app" ? { cacheDir: null } : {});
    findings.push(...withoutSchemaRefusals(renderFindings, valuesFindings), ...renderedChecks.findings, ...valuesFindings);
    if (opts.renderedChecks) findings.push(...opts.renderedChecks(rendered.map((r) => ({ release: r.release.object, file: r.release.file, objects: r.objects }))));
    excepted.push(...renderedChecks.excepted);
    unused = unused.filter((e) => renderedChecks.unusedExceptions.includes(e));
    checks.push("render", "values");
    if (scope === "all") {
      // Only with every chart rendered are the assumptions about them checkable (upstream/*).
      const [{ checkAssumptions }, { readSourceArtifacts }] = await Promise.all([import("../validate/assumptions.js"), import("./upstream-sources.js")]);
      findings.push(...checkAssumptions(m, tree.objects, rendered, await readSourceArtifacts(m, tree.objects, opts.render.sources)));
      checks.push("upstream");
    }
  }
  // An exception is stale only if nothing it could name was checked: objects of upstream charts exist only once
  // they are rendered, so without them exceptions are not judged.
  if (opts.render?.scope === "all") findings.push(...unusedExceptionFindings(unused, "definition/policy-exceptions.yaml"));
  if (opts.kustomize) {
    const { kustomizeCheck } = await import("../adapters/kustomize.js");
    findings.push(...(await kustomizeCheck(tree.files, tree.kustomizationRoots)).findings);
    checks.push("kustomize");
  }
  return { findings, excepted, objects: tree.objects.length, files: tree.files.size, checks };
}

/**
 * The one gate before a tree is shown as a plan or written (`bk plan`, `bk synth`, `bk validate`): the checks
 * of validateTree, with every finding that comes from a definition value traced back to that value's line.
 */
export async function checkGenerated(g: Generated, opts: ValidateOptions): Promise<ValidationResult> {
  const result = await validateTree(g.model, g.tree, opts);
  const { validateProfiles } = await import("./validate-profiles.js");
  const profiles = await validateProfiles(g, result.findings, (m, tree, renderedChecks) => validateTree(m, tree, { ...opts, kustomize: false, renderedChecks }));
  return { ...result, checks: [...result.checks, ...profiles.checks], findings: locateFindings([...result.findings, ...profiles.findings], g) };
}
