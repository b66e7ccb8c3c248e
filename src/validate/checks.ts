/**
 * The pure checks every object must pass, whether synthesized or rendered from a chart: schema,
 * API server limits and policy. Runs no program and reads no file; src/workflows/validate.ts
 * composes them with the steps that do (helm, kustomize).
 */
import type { Finding } from "../core/finding.js";
import type { PlacedObject } from "../core/object.js";
import type { Model } from "../model/model.js";
import type { PolicyContext, PolicyException } from "../policy/rule.js";
import { checkListKeys } from "../schema/list-keys.js";
import { checkSizeLimits } from "../schema/size-limits.js";

export interface ObjectChecks {
  findings: Finding[];
  excepted: Array<{ finding: Finding; exception: PolicyException }>;
  unusedExceptions: PolicyException[];
}

export function policyContext(m: Model): PolicyContext {
  return {
    registry: m.registry,
    namespaceLevels: new Map(m.namespaces.map((n) => [n.name, n.podSecurity])),
    podSecurityVersion: m.podSecurityVersion,
  };
}

/** Schema, list-map keys, size limits and policy over placed objects. Loaded lazily: `bk --help` needs none of it. */
export async function checkObjects(m: Model, objects: readonly PlacedObject[]): Promise<ObjectChecks> {
  const [{ validateObjects }, { runPolicy }] = await Promise.all([import("../schema/validate.js"), import("../policy/engine.js")]);
  const findings: Finding[] = [...(await validateObjects(objects)), ...checkListKeys(objects), ...checkSizeLimits(objects)];
  const policy = runPolicy([...objects], policyContext(m), m.exceptions);
  findings.push(...policy.findings);
  return { findings, excepted: policy.excepted, unusedExceptions: policy.unusedExceptions };
}
