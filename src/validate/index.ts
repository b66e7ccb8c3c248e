/**
 * `bk validate`: every check a tree must pass before it may be committed. Schema, policy and
 * references are pure; the kustomize build runs the real kubectl on a scratch copy.
 */
import type { Finding } from "../core/finding.js";
import type { Model } from "../model/model.js";
import type { PolicyContext, PolicyException } from "../policy/rule.js";
import type { GeneratedTree } from "../tree/tree.js";
import { checkListKeys } from "../schema/list-keys.js";
import { checkSizeLimits } from "../schema/size-limits.js";
import { checkReferences } from "./references.js";

export interface ValidateOptions {
  /** Run `kubectl kustomize` on every root (needs kubectl). */
  kustomize: boolean;
  /** Render our own chart's HelmReleases with helm and check what they render; needs the repository root. */
  render?: { root: string };
}

export interface ValidationResult {
  findings: Finding[];
  excepted: Array<{ finding: Finding; exception: PolicyException }>;
  objects: number;
  files: number;
  checks: string[];
}

export function policyContext(m: Model): PolicyContext {
  return {
    registry: m.registry,
    namespaceLevels: new Map(m.namespaces.map((n) => [n.name, n.podSecurity])),
    podSecurityVersion: m.podSecurityVersion,
  };
}

export async function validateTree(m: Model, tree: GeneratedTree, opts: ValidateOptions): Promise<ValidationResult> {
  const [{ validateObjects }, { runPolicy, unusedExceptionFindings }] = await Promise.all([import("../schema/validate.js"), import("../policy/engine.js")]);
  const checks = ["schema", "policy", "references"];
  const findings: Finding[] = [];
  findings.push(...(await validateObjects(tree.objects)), ...checkListKeys(tree.objects), ...checkSizeLimits(tree.objects));
  const policy = runPolicy(tree.objects, policyContext(m), m.exceptions);
  findings.push(...policy.findings, ...unusedExceptionFindings(policy.unusedExceptions, "definition/policy-exceptions.yaml"));
  findings.push(...checkReferences(m, tree.objects, tree.files));
  if (opts.render) {
    const { renderAppReleases, placeRendered } = await import("./render.js");
    const { rendered, findings: renderFindings } = await renderAppReleases(opts.render.root, tree.objects);
    findings.push(...renderFindings);
    const placed = placeRendered(rendered);
    findings.push(...(await validateObjects(placed)), ...checkListKeys(placed), ...checkSizeLimits(placed));
    const renderedPolicy = runPolicy(placed, policyContext(m), m.exceptions);
    findings.push(...renderedPolicy.findings);
    policy.excepted.push(...renderedPolicy.excepted);
    checks.push("render");
  }
  if (opts.kustomize) {
    const { kustomizeCheck } = await import("../ops/kustomize.js");
    findings.push(...kustomizeCheck(tree.files, tree.kustomizationRoots).findings);
    checks.push("kustomize");
  }
  return { findings, excepted: policy.excepted, objects: tree.objects.length, files: tree.files.size, checks };
}
