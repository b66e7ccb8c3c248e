/**
 * The metadata rules the API server applies to every object and no OpenAPI schema expresses:
 * name syntax per kind, label/annotation key and value syntax, and namespace vs. scope.
 * Type errors (a label value that is a number) are left to the ObjectMeta schema.
 */
import type { Explained } from "./messages.js";
import { childPath } from "./paths.js";

export type Scope = "Namespaced" | "Cluster";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

interface NameRule {
  test(name: string): boolean;
  describe: string;
}

const SUBDOMAIN: NameRule = {
  test: (n) => n.length <= 253 && DNS1123_SUBDOMAIN.test(n),
  describe: "a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
};
const LABEL: NameRule = {
  test: (n) => n.length <= 63 && DNS1123_LABEL.test(n),
  describe: "a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
};
const DNS1035: NameRule = {
  test: (n) => n.length <= 63 && DNS1035_LABEL.test(n),
  describe: "a DNS-1035 label: at most 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit",
};
// RBAC objects may use names such as "system:metrics-reader".
const PATH_SEGMENT: NameRule = {
  test: (n) => n !== "." && n !== ".." && !/[/%]/.test(n),
  describe: "a path segment: anything but '.' or '..' without '/' or '%'",
};
// The controller appends an 11-character suffix to Job names it creates.
const CRONJOB: NameRule = {
  test: (n) => n.length <= 52 && DNS1123_SUBDOMAIN.test(n),
  describe: "a DNS-1123 subdomain of at most 52 characters (the CronJob controller appends a suffix)",
};

const NAME_RULES: Record<string, NameRule> = {
  "/Namespace": LABEL,
  "/Service": DNS1035,
  "rbac.authorization.k8s.io/Role": PATH_SEGMENT,
  "rbac.authorization.k8s.io/ClusterRole": PATH_SEGMENT,
  "rbac.authorization.k8s.io/RoleBinding": PATH_SEGMENT,
  "rbac.authorization.k8s.io/ClusterRoleBinding": PATH_SEGMENT,
  "batch/CronJob": CRONJOB,
};

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Why a label or annotation key is invalid, or undefined when it is valid. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return "has more than one '/'";
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) return "has an empty prefix before '/'";
    if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
      return `has prefix "${prefix}" that is not a DNS-1123 subdomain (lowercase letters, digits, '-', '.')`;
    }
  }
  if (name.length === 0) return "has an empty name part";
  if (name.length > 63) return `has a name part of ${name.length} characters (at most 63)`;
  if (!QUALIFIED_NAME_PART.test(name)) {
    return `has name part "${name}" that is not letters, digits, '-', '_' and '.' starting and ending with a letter or digit`;
  }
  return undefined;
}

export function checkMetadata(apiVersion: string, kind: string, metadata: Record<string, unknown>, scope: Scope): Explained[] {
  const out: Explained[] = [];
  const name = metadata.name;
  if (name === undefined || name === "") {
    out.push({ field: "metadata.name", message: "required field metadata.name is missing", fix: "set metadata.name" });
  } else if (typeof name === "string") {
    const rule = NAME_RULES[`${groupOf(apiVersion)}/${kind}`] ?? SUBDOMAIN;
    if (!rule.test(name)) {
      out.push({
        field: "metadata.name",
        message: `metadata.name "${name}" is not a valid ${kind} name: it must be ${rule.describe}`,
        fix: `rename it, e.g. to "${suggestName(name)}"`,
      });
    }
  }

  const ns = metadata.namespace;
  if (scope === "Cluster" && ns !== undefined) {
    out.push({
      field: "metadata.namespace",
      message: `metadata.namespace is set to ${JSON.stringify(ns)}, but ${kind} ${apiVersion} is cluster-scoped`,
      fix: "remove metadata.namespace",
    });
  } else if (scope === "Namespaced" && (ns === undefined || ns === "")) {
    out.push({
      field: "metadata.namespace",
      message: `metadata.namespace is missing; ${kind} ${apiVersion} is namespaced and would land in whatever namespace the applier defaults to`,
      fix: "set metadata.namespace",
    });
  } else if (scope === "Namespaced" && typeof ns === "string" && !(ns.length <= 63 && DNS1123_LABEL.test(ns))) {
    out.push({
      field: "metadata.namespace",
      message: `metadata.namespace "${ns}" is not a valid namespace name: it must be ${LABEL.describe}`,
      fix: `use a namespace such as "${suggestName(ns)}"`,
    });
  }

  if (isRecord(metadata.labels)) {
    for (const [key, value] of Object.entries(metadata.labels)) {
      const field = childPath("metadata.labels", key);
      const keyProblem = qualifiedNameProblem(key);
      if (keyProblem) out.push({ field, message: `label key of ${field} is invalid: it ${keyProblem}`, fix: "rename the label key" });
      if (typeof value === "string" && !(value.length <= 63 && LABEL_VALUE.test(value))) {
        out.push({
          field,
          message: `label value ${JSON.stringify(value)} of ${field} is invalid: it must be at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or empty)`,
          fix: "shorten or simplify the value, or move it to an annotation",
        });
      }
    }
  }

  if (isRecord(metadata.annotations)) {
    let bytes = 0;
    for (const [key, value] of Object.entries(metadata.annotations)) {
      const keyProblem = qualifiedNameProblem(key);
      if (keyProblem) {
        const field = childPath("metadata.annotations", key);
        out.push({ field, message: `annotation key of ${field} is invalid: it ${keyProblem}`, fix: "rename the annotation key" });
      }
      bytes += Buffer.byteLength(key) + (typeof value === "string" ? Buffer.byteLength(value) : 0);
    }
    if (bytes > MAX_ANNOTATIONS_BYTES) {
      out.push({
        field: "metadata.annotations",
        message: `metadata.annotations total ${bytes} bytes; the limit is ${MAX_ANNOTATIONS_BYTES}`,
        fix: "move large data out of annotations (e.g. into a ConfigMap)",
      });
    }
  }
  return out;
}

function suggestName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return s === "" ? "my-name" : s;
}
