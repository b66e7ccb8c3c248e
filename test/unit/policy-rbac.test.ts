import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { POD, binding, check, deploymentWith, findings, role, serviceAccount } from "./policy-fixtures.js";

describe("rbac/wildcard", () => {
  it("reports each wildcard list of each rule, in Roles and ClusterRoles", () => {
    const rules = [
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get"] },
      { apiGroups: ["*"], resources: ["*"], verbs: ["get", "list"] },
    ];
    for (const kind of ["Role", "ClusterRole"] as const) {
      assert.deepEqual(check(role(rules, kind)), [
        ["rbac/wildcard", "rules[1].apiGroups"],
        ["rbac/wildcard", "rules[1].resources"],
      ]);
    }
  });

  it("a subresource of every resource (*/scale) is a wildcard too; named subresources are not", () => {
    assert.deepEqual(check(role([{ apiGroups: ["apps"], resources: ["*/scale"], verbs: ["update"] }])), [["rbac/wildcard", "rules[0].resources"]]);
    assert.deepEqual(check(role([{ apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["update"] }])), []);
  });
});

describe("rbac/cluster-admin", () => {
  it("RoleBindings to the cluster-admin ClusterRole are reported too", () => {
    assert.deepEqual(check(binding("RoleBinding", { kind: "ClusterRole", name: "cluster-admin" })), [["rbac/cluster-admin", "roleRef.name"]]);
  });

  it("a namespaced Role that happens to be called cluster-admin is not the ClusterRole", () => {
    assert.deepEqual(check(binding("RoleBinding", { kind: "Role", name: "cluster-admin" })), []);
  });
});

describe("rbac/automount-token", () => {
  it("a ServiceAccount that does not set automountServiceAccountToken: false gets a warning", () => {
    for (const sa of [serviceAccount(), serviceAccount(true)]) {
      const [f, ...rest] = findings(sa);
      assert.equal(rest.length, 0);
      assert.equal(f!.rule, "rbac/automount-token");
      assert.equal(f!.field, "automountServiceAccountToken");
      assert.equal(f!.severity, "warning");
    }
  });

  it("a pod spec that states true (it calls the API) is a decision, not an oversight", () => {
    assert.deepEqual(check(deploymentWith((s) => (s.automountServiceAccountToken = true))), []);
  });

  it("a pod spec that leaves it unset is a warning at the pod spec", () => {
    const [f] = findings(deploymentWith((s) => delete s.automountServiceAccountToken));
    assert.equal(f!.field, `${POD}.automountServiceAccountToken`);
    assert.equal(f!.severity, "warning");
  });
});
