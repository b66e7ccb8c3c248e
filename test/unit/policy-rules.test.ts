/**
 * One violating and one compliant object for every rule in allRules: the violating one must produce exactly
 * that rule at the expected field, the compliant one nothing. The table must cover allRules, so a new rule
 * cannot ship without both sides tested.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { allRules } from "../../src/policy/engine.js";
import type { PolicyContext } from "../../src/policy/rule.js";
import { C0, POD, REGISTRY, binding, check, configMap, ctx, deployment, deploymentWith, role, serviceAccount, withCtx } from "./policy-fixtures.js";

interface Case {
  violating: () => KubeObject;
  field: string | undefined;
  compliant: () => KubeObject;
  ctx?: PolicyContext;
}

const v135 = withCtx({ podSecurityVersion: "v1.35" });

const table: Record<string, Case> = {
  "psa-baseline/host-process": {
    violating: () => deploymentWith((s) => (s.securityContext.windowsOptions = { hostProcess: true })),
    field: `${POD}.securityContext.windowsOptions.hostProcess`,
    compliant: () => deploymentWith((s) => (s.securityContext.windowsOptions = { hostProcess: false })),
  },
  "psa-baseline/host-namespaces": {
    violating: () => deploymentWith((s) => (s.hostNetwork = true)),
    field: `${POD}.hostNetwork`,
    compliant: () => deploymentWith((s) => Object.assign(s, { hostNetwork: false, hostPID: false, hostIPC: false })),
  },
  "psa-baseline/privileged": {
    violating: () => deploymentWith((_, c) => (c.securityContext.privileged = true)),
    field: `${C0}.securityContext.privileged`,
    compliant: () => deploymentWith((_, c) => (c.securityContext.privileged = false)),
  },
  "psa-baseline/capabilities": {
    violating: () => deploymentWith((_, c) => (c.securityContext.capabilities.add = ["SYS_ADMIN"])),
    field: `${C0}.securityContext.capabilities.add[0]`,
    compliant: () => deploymentWith((_, c) => (c.securityContext.capabilities.add = ["NET_BIND_SERVICE"])),
  },
  "psa-baseline/host-path-volumes": {
    violating: () => deploymentWith((s) => s.volumes.push({ name: "docker", hostPath: { path: "/var/run/docker.sock" } })),
    field: `${POD}.volumes[4].hostPath`,
    compliant: () => deploymentWith((s) => s.volumes.push({ name: "cache", persistentVolumeClaim: { claimName: "cache" } })),
  },
  "psa-baseline/host-ports": {
    violating: () => deploymentWith((_, c) => (c.ports[0].hostPort = 8080)),
    field: `${C0}.ports[0].hostPort`,
    compliant: () => deploymentWith((_, c) => (c.ports[0].hostPort = 0)),
  },
  "psa-baseline/probe-host": {
    violating: () => deploymentWith((_, c) => (c.livenessProbe.httpGet.host = "10.0.0.1")),
    field: `${C0}.livenessProbe.httpGet.host`,
    compliant: () => deploymentWith((_, c) => (c.livenessProbe.httpGet.host = "")),
  },
  "psa-baseline/apparmor": {
    violating: () => deploymentWith((_, c) => (c.securityContext.appArmorProfile = { type: "Unconfined" })),
    field: `${C0}.securityContext.appArmorProfile.type`,
    compliant: () => deploymentWith((_, c) => (c.securityContext.appArmorProfile = { type: "RuntimeDefault" })),
  },
  "psa-baseline/selinux": {
    violating: () => deploymentWith((s) => (s.securityContext.seLinuxOptions = { type: "spc_t" })),
    field: `${POD}.securityContext.seLinuxOptions.type`,
    compliant: () => deploymentWith((s) => (s.securityContext.seLinuxOptions = { type: "container_t", level: "s0:c123,c456" })),
  },
  "psa-baseline/proc-mount": {
    violating: () => deploymentWith((_, c) => (c.securityContext.procMount = "Unmasked")),
    field: `${C0}.securityContext.procMount`,
    compliant: () => deploymentWith((_, c) => (c.securityContext.procMount = "Default")),
  },
  "psa-baseline/seccomp": {
    violating: () => deploymentWith((_, c) => (c.securityContext.seccompProfile = { type: "Unconfined" })),
    field: `${C0}.securityContext.seccompProfile.type`,
    compliant: () => deploymentWith((_, c) => (c.securityContext.seccompProfile = { type: "Localhost", localhostProfile: "profiles/backend.json" })),
  },
  "psa-baseline/sysctls": {
    violating: () => deploymentWith((s) => (s.securityContext.sysctls = [{ name: "kernel.msgmax", value: "65536" }])),
    field: `${POD}.securityContext.sysctls[0].name`,
    compliant: () => deploymentWith((s) => (s.securityContext.sysctls = [{ name: "net.ipv4.tcp_keepalive_time", value: "600" }])),
  },
  "psa-restricted/volume-types": {
    violating: () => deploymentWith((s) => s.volumes.push({ name: "share", nfs: { server: "nas", path: "/export" } })),
    field: `${POD}.volumes[4].nfs`,
    compliant: () => deploymentWith((s) => s.volumes.push({ name: "share", csi: { driver: "nfs.csi.k8s.io" } })),
  },
  "psa-restricted/allow-privilege-escalation": {
    violating: () => deploymentWith((_, c) => delete c.securityContext.allowPrivilegeEscalation),
    field: `${C0}.securityContext.allowPrivilegeEscalation`,
    compliant: () => deployment(),
  },
  "psa-restricted/run-as-non-root": {
    violating: () => deploymentWith((s) => delete s.securityContext.runAsNonRoot),
    field: `${C0}.securityContext.runAsNonRoot`,
    compliant: () =>
      deploymentWith((s, c) => {
        delete s.securityContext.runAsNonRoot;
        c.securityContext.runAsNonRoot = true;
      }),
  },
  "psa-restricted/run-as-user": {
    violating: () => deploymentWith((s) => (s.securityContext.runAsUser = 0)),
    field: `${POD}.securityContext.runAsUser`,
    compliant: () => deploymentWith((s) => (s.securityContext.runAsUser = 1000)),
  },
  "psa-restricted/seccomp": {
    violating: () => deploymentWith((s) => delete s.securityContext.seccompProfile),
    field: `${C0}.securityContext.seccompProfile`,
    compliant: () =>
      deploymentWith((s, c) => {
        delete s.securityContext.seccompProfile;
        c.securityContext.seccompProfile = { type: "RuntimeDefault" };
      }),
  },
  "psa-restricted/capabilities": {
    violating: () => deploymentWith((_, c) => (c.securityContext.capabilities.drop = ["NET_RAW"])),
    field: `${C0}.securityContext.capabilities.drop`,
    compliant: () => deploymentWith((_, c) => (c.securityContext.capabilities = { drop: ["ALL"], add: ["NET_BIND_SERVICE"] })),
  },
  "psa-restricted/proc-mount": {
    violating: () =>
      deploymentWith((s, c) => {
        s.hostUsers = false;
        c.securityContext.procMount = "Unmasked";
      }),
    field: `${C0}.securityContext.procMount`,
    compliant: () => deploymentWith((s) => (s.hostUsers = false)),
    ctx: v135,
  },
  "workload/resources": {
    violating: () => deploymentWith((_, c) => delete c.resources.limits),
    field: `${C0}.resources`,
    compliant: () => deployment(),
  },
  "workload/probes": {
    violating: () => deploymentWith((_, c) => delete c.readinessProbe),
    field: `${C0}.readinessProbe`,
    compliant: () => deployment(),
  },
  "image/registry": {
    violating: () => deploymentWith((_, c) => (c.image = "docker.io/library/nginx:1.27.3")),
    field: `${C0}.image`,
    compliant: () => deploymentWith((_, c) => (c.image = `${REGISTRY}/ffl/backend:1.4.2`)),
  },
  "image/pinned-tag": {
    violating: () => deploymentWith((_, c) => (c.image = `${REGISTRY}/ffl/backend:latest`)),
    field: `${C0}.image`,
    compliant: () => deploymentWith((_, c) => (c.image = `${REGISTRY}/ffl/backend@sha256:${"a".repeat(64)}`)),
  },
  "image/naming": {
    violating: () => deploymentWith((_, c) => (c.image = `${REGISTRY}/ffl-backend:1.4.2`)),
    field: `${C0}.image`,
    compliant: () => deploymentWith((_, c) => (c.image = `${REGISTRY}/ffl/backend:0.1.12`)),
  },
  "rbac/wildcard": {
    violating: () => role([{ apiGroups: [""], resources: ["configmaps"], verbs: ["*"] }]),
    field: "rules[0].verbs",
    compliant: () => role([{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }]),
  },
  "rbac/cluster-admin": {
    violating: () => binding("ClusterRoleBinding", { kind: "ClusterRole", name: "cluster-admin" }),
    field: "roleRef.name",
    compliant: () => binding("ClusterRoleBinding", { kind: "ClusterRole", name: "view" }),
  },
  "rbac/automount-token": {
    violating: () => deploymentWith((s) => delete s.automountServiceAccountToken),
    field: `${POD}.automountServiceAccountToken`,
    compliant: () => serviceAccount(false),
  },
  "secrets/plaintext-secret": {
    violating: () => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "pg-ffl", namespace: "ffl" }, data: { password: "aHVudGVyMg==" } }),
    field: undefined,
    compliant: () => ({
      apiVersion: "bitnami.com/v1alpha1",
      kind: "SealedSecret",
      metadata: { name: "pg-ffl", namespace: "ffl" },
      spec: { encryptedData: { password: "AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq" }, template: { metadata: { name: "pg-ffl", namespace: "ffl" } } },
    }),
  },
  "secrets/credential-literal": {
    violating: () => configMap({ password: "hunter2" }),
    field: "data.password",
    compliant: () => configMap({ passwordFile: "/etc/ffl/password", LOG_LEVEL: "info" }),
  },
};

describe("every rule: a violating and a compliant fixture", () => {
  it("the table covers exactly the rules in allRules", () => {
    assert.deepEqual(Object.keys(table).sort(), allRules.map((r) => r.id).sort());
  });

  for (const [id, c] of Object.entries(table)) {
    it(`${id}: violating object yields exactly this rule at ${c.field ?? "(no field)"}`, () => {
      assert.deepEqual(check(c.violating(), c.ctx ?? ctx), [[id, c.field]]);
    });
    it(`${id}: compliant object yields nothing`, () => {
      assert.deepEqual(check(c.compliant(), c.ctx ?? ctx), []);
    });
  }
});
