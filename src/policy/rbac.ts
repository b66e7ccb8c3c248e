/**
 * RBAC least privilege: no wildcard grants, no cluster-admin bindings, and API tokens mounted only
 * into pods that ask for them.
 */
import type { Finding } from "../core/finding.js";
import { fieldPath, list, rec, str } from "../core/paths.js";
import { apiGroup, podTemplateOf } from "../core/pod-spec.js";
import type { PolicyRule } from "./rule.js";

type Violation = Omit<Finding, "rule" | "file" | "object">;

const RBAC_GROUP = "rbac.authorization.k8s.io";

const wildcard: PolicyRule = {
  id: "rbac/wildcard",
  description: "Roles and ClusterRoles name their verbs, resources and apiGroups; no `*`.",
  check(obj) {
    if ((obj.kind !== "Role" && obj.kind !== "ClusterRole") || apiGroup(obj) !== RBAC_GROUP) return [];
    const out: Violation[] = [];
    list(obj.rules).forEach((r, i) => {
      const rule = rec(r);
      if (!rule) return;
      for (const key of ["apiGroups", "resources", "verbs"] as const) {
        // "*/scale" grants a subresource of every resource: as wide as "*" for that subresource.
        const wild = list(rule[key]).filter((v) => typeof v === "string" && (key === "resources" ? v.includes("*") : v === "*"));
        if (wild.length === 0) continue;
        out.push({
          severity: "error",
          field: fieldPath("rules", i, key),
          message: `rule ${i} grants ${wild.map((w) => `"${w}"`).join(", ")} in ${key}, which includes everything that exists now and anything added later`,
          fix: `list the ${key} the workload actually needs instead of a wildcard`,
        });
      }
    });
    return out;
  },
};

const clusterAdmin: PolicyRule = {
  id: "rbac/cluster-admin",
  description: "No RoleBinding or ClusterRoleBinding grants the ClusterRole cluster-admin.",
  check(obj) {
    if ((obj.kind !== "RoleBinding" && obj.kind !== "ClusterRoleBinding") || apiGroup(obj) !== RBAC_GROUP) return [];
    const ref = rec(obj.roleRef);
    if (str(ref?.kind) !== "ClusterRole" || str(ref?.name) !== "cluster-admin") return [];
    return [
      {
        severity: "error",
        field: "roleRef.name",
        message: `${obj.kind} grants cluster-admin: full control of every object in the cluster`,
        fix: "bind a Role/ClusterRole that lists only the permissions the subjects need",
      },
    ];
  },
};

const automountToken: PolicyRule = {
  id: "rbac/automount-token",
  description: "ServiceAccounts set automountServiceAccountToken: false, and pod specs state it explicitly (false unless the pod calls the API).",
  // Upstream charts are mostly controllers that call the API: their tokens are the point, not an oversight.
  origins: ["tree", "app-chart"],
  check(obj) {
    if (obj.kind === "ServiceAccount" && apiGroup(obj) === "") {
      if (obj.automountServiceAccountToken === false) return [];
      return [
        {
          severity: "warning",
          field: "automountServiceAccountToken",
          message: "the ServiceAccount lets every pod that uses it mount an API token",
          fix: "set automountServiceAccountToken: false on the ServiceAccount; pods that call the Kubernetes API set it to true themselves",
        },
      ];
    }
    const pt = podTemplateOf(obj);
    if (!pt || pt.spec.automountServiceAccountToken !== undefined) return [];
    return [
      {
        severity: "warning",
        field: fieldPath(pt.specPath, "automountServiceAccountToken"),
        message: "the pod spec leaves automountServiceAccountToken unset, so it mounts an API token unless its ServiceAccount forbids it",
        fix: "set automountServiceAccountToken: false in the pod spec (true only for pods that call the Kubernetes API)",
      },
    ];
  },
};

export const rbacRules: readonly PolicyRule[] = [wildcard, clusterAdmin, automountToken];
