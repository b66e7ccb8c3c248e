import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { podSecurityRules, psaMinor, safeSysctls } from "../../src/policy/pod-security.js";
import { C0, POD, check, ctx, deployment, deploymentWith, findings, podSpec, withCtx, type Obj } from "./policy-fixtures.js";

const psaOnly = (obj: KubeObject, c = ctx): Array<[string, string | undefined]> => check(obj, c).filter(([rule]) => rule.startsWith("psa-"));

describe("Pod Security levels per namespace", () => {
  const broken = (ns: string): KubeObject =>
    deploymentWith((_, c) => {
      c.securityContext.privileged = true; // baseline
      delete c.securityContext.allowPrivilegeEscalation; // restricted
    }, ns);

  it("restricted namespaces get baseline and restricted checks", () => {
    assert.deepEqual(psaOnly(broken("ffl")), [
      ["psa-baseline/privileged", `${C0}.securityContext.privileged`],
      ["psa-restricted/allow-privilege-escalation", `${C0}.securityContext.allowPrivilegeEscalation`],
    ]);
  });

  it("baseline namespaces get only baseline checks", () => {
    assert.deepEqual(psaOnly(broken("ingress-nginx")), [["psa-baseline/privileged", `${C0}.securityContext.privileged`]]);
  });

  it("privileged namespaces get none", () => {
    assert.deepEqual(psaOnly(broken("kube-system")), []);
  });

  it("an undeclared namespace is restricted unless the context says otherwise", () => {
    assert.equal(psaOnly(broken("unknown")).length, 2);
    assert.equal(psaOnly(broken("unknown"), withCtx({ defaultPodSecurityLevel: "privileged" })).length, 0);
  });

  it("the message says which namespace level demanded it", () => {
    const [f] = findings(broken("ingress-nginx")).filter((x) => x.rule === "psa-baseline/privileged");
    assert.match(f!.message, /container "backend" sets securityContext\.privileged=true/);
    assert.match(f!.message, /namespace "ingress-nginx" enforces Pod Security "baseline"/);
    assert.equal(f!.severity, "error");
    assert.ok(f!.fix.length > 0);
  });
});

describe("every pod template and every container", () => {
  const spec = (): Obj => {
    const s = podSpec();
    s.containers[0].securityContext.privileged = true;
    return s;
  };
  const cases: Array<[string, Obj, string]> = [
    ["Pod", { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "ffl" }, spec: spec() }, "spec"],
    ["StatefulSet", { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "s", namespace: "ffl" }, spec: { template: { spec: spec() } } }, "spec.template.spec"],
    ["DaemonSet", { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "d", namespace: "ffl" }, spec: { template: { spec: spec() } } }, "spec.template.spec"],
    ["ReplicaSet", { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "r", namespace: "ffl" }, spec: { template: { spec: spec() } } }, "spec.template.spec"],
    ["Job", { apiVersion: "batch/v1", kind: "Job", metadata: { name: "j", namespace: "ffl" }, spec: { template: { spec: spec() } } }, "spec.template.spec"],
    [
      "CronJob",
      { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c", namespace: "ffl" }, spec: { schedule: "0 3 * * *", jobTemplate: { spec: { template: { spec: spec() } } } } },
      "spec.jobTemplate.spec.template.spec",
    ],
  ];
  for (const [kind, obj, path] of cases) {
    it(`${kind}: checks the pod spec at ${path}`, () => {
      const got = psaOnly(obj as KubeObject).filter(([r]) => r === "psa-baseline/privileged");
      assert.deepEqual(got, [["psa-baseline/privileged", `${path}.containers[0].securityContext.privileged`]]);
    });
  }

  it("checks init containers and ephemeral containers", () => {
    const obj = deploymentWith((s) => {
      const init = structuredClone(s.containers[0]);
      init.name = "migrate";
      init.securityContext.privileged = true;
      s.initContainers = [init];
      s.ephemeralContainers = [{ name: "debug", image: "busybox", securityContext: { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }];
    });
    const got = psaOnly(obj);
    assert.deepEqual(got, [
      ["psa-baseline/privileged", `${POD}.ephemeralContainers[0].securityContext.privileged`],
      ["psa-baseline/privileged", `${POD}.initContainers[0].securityContext.privileged`],
    ]);
  });

  it("ignores a CRD that reuses a workload kind name in another API group", () => {
    const obj = deployment((d) => {
      d.apiVersion = "example.com/v1";
      d.spec.template.spec.hostNetwork = true;
    });
    assert.deepEqual(check(obj), []);
  });
});

describe("baseline details", () => {
  it("host namespaces: each of hostNetwork, hostPID, hostIPC is its own finding", () => {
    const got = psaOnly(deploymentWith((s) => Object.assign(s, { hostNetwork: true, hostPID: true, hostIPC: true })));
    assert.deepEqual(
      got.map(([, f]) => f),
      [`${POD}.hostIPC`, `${POD}.hostNetwork`, `${POD}.hostPID`],
    );
  });

  it("capabilities: the default set may be added at baseline, anything else not", () => {
    const obj = (caps: string[]): KubeObject => deploymentWith((_, c) => (c.securityContext.capabilities.add = caps), "ingress-nginx");
    assert.deepEqual(psaOnly(obj(["CHOWN", "NET_BIND_SERVICE", "SETUID"])), []);
    assert.deepEqual(psaOnly(obj(["CHOWN", "NET_RAW"])), [["psa-baseline/capabilities", `${C0}.securityContext.capabilities.add[1]`]]);
  });

  it("capabilities at restricted: default-set additions are the restricted rule's, others the baseline rule's (no double report)", () => {
    const got = psaOnly(deploymentWith((_, c) => (c.securityContext.capabilities.add = ["CHOWN", "SYS_ADMIN", "NET_BIND_SERVICE"])));
    assert.deepEqual(got, [
      ["psa-baseline/capabilities", `${C0}.securityContext.capabilities.add[1]`],
      ["psa-restricted/capabilities", `${C0}.securityContext.capabilities.add[0]`],
    ]);
  });

  it("hostPath in a restricted namespace is reported once, by the baseline rule", () => {
    const got = psaOnly(deploymentWith((s) => s.volumes.push({ name: "h", hostPath: { path: "/" } })));
    assert.deepEqual(got, [["psa-baseline/host-path-volumes", `${POD}.volumes[4].hostPath`]]);
  });

  it("probe and lifecycle hosts are checked from v1.34 on", () => {
    const obj = deploymentWith((_, c) => {
      c.readinessProbe = { tcpSocket: { host: "db.example", port: 5432 } };
      c.lifecycle = { preStop: { httpGet: { host: "10.0.0.2", path: "/drain", port: 80 } } };
    });
    assert.deepEqual(psaOnly(obj), [
      ["psa-baseline/probe-host", `${C0}.lifecycle.preStop.httpGet.host`],
      ["psa-baseline/probe-host", `${C0}.readinessProbe.tcpSocket.host`],
    ]);
    assert.deepEqual(psaOnly(obj, withCtx({ podSecurityVersion: "v1.33" })), []);
  });

  it("AppArmor: legacy annotations must be runtime/default or localhost/*", () => {
    const obj = (value: string): KubeObject => deployment((d) => (d.spec.template.metadata.annotations = { "container.apparmor.security.beta.kubernetes.io/backend": value }));
    assert.deepEqual(psaOnly(obj("unconfined")), [["psa-baseline/apparmor", 'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/backend"]']]);
    assert.deepEqual(psaOnly(obj("runtime/default")), []);
    assert.deepEqual(psaOnly(obj("localhost/backend")), []);
  });

  it("AppArmor: a profile without a type is not allowed (as upstream)", () => {
    assert.deepEqual(psaOnly(deploymentWith((s) => (s.securityContext.appArmorProfile = {}))), [["psa-baseline/apparmor", `${POD}.securityContext.appArmorProfile.type`]]);
  });

  it("SELinux: user and role are never allowed; container_engine_t from v1.31", () => {
    const userRole = deploymentWith((_, c) => (c.securityContext.seLinuxOptions = { user: "system_u", role: "system_r" }));
    assert.deepEqual(psaOnly(userRole), [
      ["psa-baseline/selinux", `${C0}.securityContext.seLinuxOptions.role`],
      ["psa-baseline/selinux", `${C0}.securityContext.seLinuxOptions.user`],
    ]);
    const engine = deploymentWith((s) => (s.securityContext.seLinuxOptions = { type: "container_engine_t" }));
    assert.deepEqual(psaOnly(engine, withCtx({ podSecurityVersion: "v1.31" })), []);
    assert.equal(psaOnly(engine, withCtx({ podSecurityVersion: "v1.30" })).length, 1);
  });

  it("seccomp: an Unconfined pod profile is the baseline rule's; containers left to inherit it are the restricted rule's", () => {
    const got = psaOnly(deploymentWith((s) => (s.securityContext.seccompProfile = { type: "Unconfined" })));
    assert.deepEqual(got, [
      ["psa-baseline/seccomp", `${POD}.securityContext.seccompProfile.type`],
      ["psa-restricted/seccomp", `${C0}.securityContext.seccompProfile`],
    ]);
    // At baseline an unset profile is fine, Unconfined is not.
    assert.deepEqual(psaOnly(deploymentWith((s) => delete s.securityContext.seccompProfile, "ingress-nginx")), []);
  });

  it("sysctls: the safe set grows with the version", () => {
    const obj = (name: string): KubeObject => deploymentWith((s) => (s.securityContext.sysctls = [{ name, value: "1" }]));
    assert.deepEqual(psaOnly(obj("net.ipv4.tcp_keepalive_time"), withCtx({ podSecurityVersion: "v1.28" })), [["psa-baseline/sysctls", `${POD}.securityContext.sysctls[0].name`]]);
    assert.deepEqual(psaOnly(obj("net.ipv4.tcp_keepalive_time"), withCtx({ podSecurityVersion: "v1.29" })), []);
    assert.equal(psaOnly(obj("net.ipv4.tcp_rmem"), withCtx({ podSecurityVersion: "v1.31" })).length, 1);
    assert.deepEqual(psaOnly(obj("net.ipv4.tcp_rmem"), withCtx({ podSecurityVersion: "v1.32" })), []);
    assert.equal(psaOnly(obj("net.ipv4.tcp_slow_start_after_idle"), withCtx({ podSecurityVersion: "latest" })).length, 1);
    assert.deepEqual(psaOnly(obj("net.ipv4.tcp_slow_start_after_idle"), withCtx({ podSecurityVersion: "v1.37" })), []);
    assert.equal(safeSysctls(34).size, 12);
  });

  it("proc mount: before v1.35 a user namespace does not relax it", () => {
    const obj = deploymentWith((s, c) => {
      s.hostUsers = false;
      c.securityContext.procMount = "Unmasked";
    }, "ingress-nginx");
    assert.deepEqual(psaOnly(obj, withCtx({ podSecurityVersion: "v1.34" })), [["psa-baseline/proc-mount", `${C0}.securityContext.procMount`]]);
    assert.deepEqual(psaOnly(obj, withCtx({ podSecurityVersion: "v1.35" })), []);
  });
});

describe("restricted details", () => {
  it("volume types: image volumes are allowed, a volume without a source defaults to emptyDir", () => {
    const obj = deploymentWith((s) => s.volumes.push({ name: "model", image: { reference: "192.168.7.21:5000/ffl/model:1" } }, { name: "scratch" }));
    assert.deepEqual(psaOnly(obj), []);
  });

  it("allowPrivilegeEscalation=true is reported with its own message", () => {
    const [f] = findings(deploymentWith((_, c) => (c.securityContext.allowPrivilegeEscalation = true)));
    assert.equal(f!.rule, "psa-restricted/allow-privilege-escalation");
    assert.match(f!.message, /sets securityContext\.allowPrivilegeEscalation=true/);
  });

  it("runAsNonRoot: explicit false on a container fails even when the pod sets true; pod false fails at the pod", () => {
    assert.deepEqual(psaOnly(deploymentWith((_, c) => (c.securityContext.runAsNonRoot = false))), [["psa-restricted/run-as-non-root", `${C0}.securityContext.runAsNonRoot`]]);
    assert.deepEqual(
      psaOnly(
        deploymentWith((s, c) => {
          s.securityContext.runAsNonRoot = false;
          c.securityContext.runAsNonRoot = true;
        }),
      ),
      [["psa-restricted/run-as-non-root", `${POD}.securityContext.runAsNonRoot`]],
    );
  });

  it("runAsNonRoot: every container must be covered when the pod does not set it", () => {
    const obj = deploymentWith((s) => {
      delete s.securityContext.runAsNonRoot;
      const sidecar = structuredClone(s.containers[0]);
      sidecar.name = "proxy";
      sidecar.securityContext.runAsNonRoot = true;
      s.containers.push(sidecar);
    });
    assert.deepEqual(psaOnly(obj), [["psa-restricted/run-as-non-root", `${C0}.securityContext.runAsNonRoot`]]);
  });

  it("runAsUser 0 on a container is reported; in a user namespace from v1.35 it is allowed", () => {
    const obj = deploymentWith((s, c) => {
      s.hostUsers = false;
      c.securityContext.runAsUser = 0;
    });
    assert.deepEqual(psaOnly(obj, withCtx({ podSecurityVersion: "v1.34" })), [["psa-restricted/run-as-user", `${C0}.securityContext.runAsUser`]]);
    assert.deepEqual(psaOnly(obj, withCtx({ podSecurityVersion: "v1.35" })), []);
  });

  it("Windows pods are exempt from seccomp, capabilities and allowPrivilegeEscalation", () => {
    const obj = deploymentWith((s, c) => {
      s.os = { name: "windows" };
      delete s.securityContext.seccompProfile;
      delete c.securityContext.capabilities;
      delete c.securityContext.allowPrivilegeEscalation;
    });
    assert.deepEqual(psaOnly(obj), []);
  });
});

describe("versions", () => {
  it("parses v1.N and latest; very old versions are evaluated as v1.25", () => {
    assert.equal(psaMinor("v1.34"), 34);
    assert.equal(psaMinor("latest"), 36);
    assert.equal(psaMinor(undefined), 36);
    assert.equal(psaMinor("v1.20"), 25);
  });

  it("every PSA rule id names its level", () => {
    for (const r of podSecurityRules) assert.match(r.id, /^psa-(baseline|restricted)\/[a-z-]+$/);
  });
});
