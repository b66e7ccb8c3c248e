/**
 * Runs every policy rule over the objects of the tree and applies the recorded exceptions.
 * Pure: same objects, context and exceptions in, same findings out, in the same order.
 */
import type { Finding } from "../core/finding.js";
import { objectRef, type PlacedObject } from "../core/object.js";
import { naturalCompare } from "../core/paths.js";
import { podSecurityRules } from "./pod-security.js";
import { rbacRules } from "./rbac.js";
import type { PolicyContext, PolicyException, PolicyRule } from "./rule.js";
import { secretRules } from "./secrets.js";
import { workloadRules } from "./workload.js";

/** Every rule `bk validate` runs, in documentation order (`bk validate --rules`). */
export const allRules: readonly PolicyRule[] = [...podSecurityRules, ...workloadRules, ...rbacRules, ...secretRules];

export interface PolicyResult {
  findings: Finding[];
  excepted: Array<{ finding: Finding; exception: PolicyException }>;
  unusedExceptions: PolicyException[];
}

/** Rule id equal to the exception's, or in its family when the exception says "family/*". */
export function ruleMatches(pattern: string, rule: string): boolean {
  if (pattern.endsWith("/*")) return rule.startsWith(pattern.slice(0, -1));
  return pattern === rule;
}

/** Object ref equal to the pattern, or starting with it when the pattern ends in "*". */
export function objectMatches(pattern: string, ref: string): boolean {
  if (pattern.endsWith("*")) return ref.startsWith(pattern.slice(0, -1));
  return pattern === ref;
}

export function exceptionMatches(e: PolicyException, f: Finding): boolean {
  return f.object !== undefined && ruleMatches(e.rule, f.rule) && objectMatches(e.object, f.object);
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    naturalCompare(a.file ?? "", b.file ?? "") || naturalCompare(a.object ?? "", b.object ?? "") || naturalCompare(a.rule, b.rule) || naturalCompare(a.field ?? "", b.field ?? "") || naturalCompare(a.message, b.message)
  );
}

export function runPolicy(objects: PlacedObject[], ctx: PolicyContext, exceptions: PolicyException[], rules: readonly PolicyRule[] = allRules): PolicyResult {
  const raw: Finding[] = [];
  for (const placed of objects) {
    const object = objectRef(placed.object);
    for (const rule of rules) {
      for (const v of rule.check(placed.object, ctx, placed)) {
        raw.push({ ...v, rule: rule.id, file: placed.file, object });
      }
    }
  }
  raw.sort(compareFindings);

  const used = new Set<PolicyException>();
  const findings: Finding[] = [];
  const excepted: PolicyResult["excepted"] = [];
  for (const f of raw) {
    const matching = exceptions.filter((e) => exceptionMatches(e, f));
    // Every matching exception counts as used: "unused" must mean "matches nothing", not "was shadowed".
    for (const e of matching) used.add(e);
    const first = matching[0];
    if (first) excepted.push({ finding: f, exception: first });
    else findings.push(f);
  }
  return { findings, excepted, unusedExceptions: exceptions.filter((e) => !used.has(e)) };
}

/** Stale exceptions as warnings, so they are seen and removed rather than piling up. */
export function unusedExceptionFindings(unused: readonly PolicyException[], file?: string): Finding[] {
  return unused.map((e) => {
    const f: Finding = {
      rule: "policy/unused-exception",
      severity: "warning",
      message: `the exception for rule "${e.rule}" on "${e.object}" matches no finding`,
      fix: "remove the exception (the object was fixed, renamed or removed), or correct its rule id or object pattern",
    };
    if (file !== undefined) f.file = file;
    return f;
  });
}
