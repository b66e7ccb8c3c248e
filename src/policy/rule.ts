import type { Finding } from "../core/finding.js";
import type { KubeObject, ObjectOrigin, PlacedObject } from "../core/object.js";

/** A recorded, reasoned exception: a rule that an object we do not control may break, and why that is accepted. */
export interface PolicyException {
  rule: string; // rule id, or a prefix ending in "/*" for a whole family
  /** Which objects: Kind/namespace/name, where name may end in "*". */
  object: string;
  reason: string;
}

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

export interface PolicyContext {
  /** Registry host:port that images must come from (e.g. 192.168.7.21:5000). */
  registry: string;
  /** Namespace -> Pod Security level enforced there. */
  namespaceLevels: ReadonlyMap<string, PodSecurityLevel>;
  /**
   * Level for a namespace missing from namespaceLevels. Defaults to "restricted": a namespace nobody
   * declared should not silently get the weakest level.
   */
  defaultPodSecurityLevel?: PodSecurityLevel;
  /**
   * Pod Security Standards version the cluster enforces ("v1.34" or "latest"), as in the
   * pod-security.kubernetes.io/enforce-version label. Defaults to "latest".
   */
  podSecurityVersion?: string;
}

export interface PolicyRule {
  id: string;
  /** One line: what the rule demands. */
  description: string;
  /**
   * Which objects the rule judges, by origin (default: all). A rule about what is committed to Git does not
   * judge what a chart renders in the cluster; a rule about choices an upstream chart's maintainers make
   * (probes) does not judge their charts.
   */
  origins?: readonly ObjectOrigin[];
  /** Severity for objects rendered from upstream charts, when it differs from the rule's own (a gap we report but do not yet close). */
  upstreamSeverity?: "warning";
  check(obj: KubeObject, ctx: PolicyContext, placed?: PlacedObject): Omit<Finding, "rule" | "file" | "object">[];
}
