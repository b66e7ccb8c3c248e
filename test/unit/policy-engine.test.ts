import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import type { KubeObject } from "../../src/core/object.js";
import { allRules, objectMatches, ruleMatches, runPolicy, unusedExceptionFindings } from "../../src/policy/engine.js";
import type { PolicyException } from "../../src/policy/rule.js";
import { APP_LABELS, C0, REGISTRY, binding, configMap, ctx, deployment, deploymentWith, helmRelease, placed, role, serviceAccount } from "./policy-fixtures.js";

const sealedSecret: KubeObject = {
  apiVersion: "bitnami.com/v1alpha1",
  kind: "SealedSecret",
  metadata: { name: "pg-ffl", namespace: "ffl" },
  spec: { encryptedData: { password: "AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq" }, template: { metadata: { name: "pg-ffl", namespace: "ffl" } } },
};

describe("a compliant app", () => {
  it("a fully compliant restricted Deployment and its companions pass every rule", () => {
    const objects = [
      placed(deployment(), "apps/ffl/backend/deployment.yaml"),
      placed(serviceAccount(false), "apps/ffl/backend/serviceaccount.yaml"),
      placed(role([{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }]), "apps/ffl/backend/rbac.yaml"),
      placed(binding("RoleBinding", { kind: "Role", name: "ffl-reader" }), "apps/ffl/backend/rbac.yaml"),
      placed(configMap({ LOG_LEVEL: "info", DATABASE_HOST: "postgres-rw.infra.svc" }), "apps/ffl/backend/configmap.yaml"),
      placed(sealedSecret, "apps/ffl/backend/sealedsecret.yaml"),
      placed(helmRelease({ image: { repository: `${REGISTRY}/ffl/backend`, tag: "0.1.12" } }, APP_LABELS), "apps/ffl/backend/helmrelease.yaml"),
    ];
    const result = runPolicy(objects, ctx, []);
    assert.deepEqual(result, { findings: [], excepted: [], unusedExceptions: [] });
  });

  it("works on @kubernetes-models instances, not only plain objects", () => {
    const plain = deployment() as unknown as ConstructorParameters<typeof Deployment>[0];
    const model = new Deployment(plain);
    assert.deepEqual(runPolicy([placed(model as unknown as KubeObject)], ctx, []).findings, []);
    const bad = new Deployment(plain);
    bad.spec!.template.spec!.hostPID = true;
    assert.deepEqual(
      runPolicy([placed(bad as unknown as KubeObject)], ctx, []).findings.map((f) => f.rule),
      ["psa-baseline/host-namespaces"],
    );
  });
});

describe("findings", () => {
  it("carry rule, file and object", () => {
    const { findings } = runPolicy(
      [
        placed(
          deploymentWith((s) => (s.hostIPC = true)),
          "apps/ffl/x.yaml",
        ),
      ],
      ctx,
      [],
    );
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.rule, "psa-baseline/host-namespaces");
    assert.equal(f.file, "apps/ffl/x.yaml");
    assert.equal(f.object, "Deployment/ffl/ffl-backend");
  });

  it("are ordered by file, object, rule, then field (containers[2] before containers[10])", () => {
    const many = deploymentWith((s) => {
      for (let i = 1; i <= 10; i++) s.containers.push({ ...structuredClone(s.containers[0]), name: `c${i}` });
      s.containers[10].securityContext.privileged = true;
      s.containers[2].securityContext.privileged = true;
      s.hostPID = true;
    });
    const objects = [
      placed(configMap({ password: "hunter2" }, "z-config"), "b.yaml"),
      placed(many, "b.yaml"),
      placed(configMap({ password: "hunter2" }, "a-config"), "b.yaml"),
      placed(
        deploymentWith((s) => (s.hostNetwork = true)),
        "a.yaml",
      ),
    ];
    const order = (list: typeof objects) => runPolicy(list, ctx, []).findings.map((f) => [f.file, f.object, f.rule, f.field]);
    const expected = [
      ["a.yaml", "Deployment/ffl/ffl-backend", "psa-baseline/host-namespaces", "spec.template.spec.hostNetwork"],
      ["b.yaml", "ConfigMap/ffl/a-config", "secrets/credential-literal", "data.password"],
      ["b.yaml", "ConfigMap/ffl/z-config", "secrets/credential-literal", "data.password"],
      ["b.yaml", "Deployment/ffl/ffl-backend", "psa-baseline/host-namespaces", "spec.template.spec.hostPID"],
      ["b.yaml", "Deployment/ffl/ffl-backend", "psa-baseline/privileged", "spec.template.spec.containers[2].securityContext.privileged"],
      ["b.yaml", "Deployment/ffl/ffl-backend", "psa-baseline/privileged", "spec.template.spec.containers[10].securityContext.privileged"],
    ];
    assert.deepEqual(order(objects), expected);
    assert.deepEqual(order([...objects].reverse()), expected);
  });
});

describe("exceptions", () => {
  const ingress = (): KubeObject =>
    deployment((d) => {
      d.metadata = { name: "ingress-nginx-controller", namespace: "ingress-nginx" };
      const c = d.spec.template.spec.containers[0];
      c.securityContext.capabilities.add = ["NET_RAW"]; // psa-baseline/capabilities
      c.image = "registry.k8s.io/ingress-nginx/controller:v1.13.3"; // image/registry
    });

  it("an exact rule id and object except the finding and record which exception did", () => {
    const e: PolicyException = { rule: "image/registry", object: "Deployment/ingress-nginx/ingress-nginx-controller", reason: "upstream chart image, mirrored later" };
    const r = runPolicy([placed(ingress())], ctx, [e]);
    assert.deepEqual(
      r.findings.map((f) => f.rule),
      ["psa-baseline/capabilities"],
    );
    assert.equal(r.excepted.length, 1);
    assert.equal(r.excepted[0]!.finding.rule, "image/registry");
    assert.equal(r.excepted[0]!.exception, e);
    assert.deepEqual(r.unusedExceptions, []);
  });

  it("a family prefix excepts the whole family and nothing else", () => {
    const r = runPolicy([placed(ingress())], ctx, [{ rule: "psa-baseline/*", object: "Deployment/ingress-nginx/*", reason: "the controller needs NET_RAW for its probes" }]);
    assert.deepEqual(
      r.findings.map((f) => f.rule),
      ["image/registry"],
    );
    assert.deepEqual(
      r.excepted.map((x) => x.finding.rule),
      ["psa-baseline/capabilities"],
    );
  });

  it("reports exceptions that match nothing, including ones in the wrong family or for another object", () => {
    const stale: PolicyException[] = [
      { rule: "psa-restricted/*", object: "Deployment/ingress-nginx/*", reason: "namespace is baseline, so nothing to except" },
      { rule: "image/registry", object: "Deployment/ingress-nginx/other", reason: "another object" },
      { rule: "image/registry", object: "Deployment/ingress-nginx/ingress-nginx-controller", reason: "used" },
    ];
    const r = runPolicy([placed(ingress())], ctx, stale);
    assert.deepEqual(r.unusedExceptions, stale.slice(0, 2));
    const warnings = unusedExceptionFindings(r.unusedExceptions, "definition/policy-exceptions.yaml");
    assert.deepEqual(
      warnings.map((w) => [w.rule, w.severity, w.file]),
      [
        ["policy/unused-exception", "warning", "definition/policy-exceptions.yaml"],
        ["policy/unused-exception", "warning", "definition/policy-exceptions.yaml"],
      ],
    );
    assert.match(warnings[0]!.message, /"psa-restricted\/\*" on "Deployment\/ingress-nginx\/\*" matches no finding/);
  });

  it("two exceptions matching the same finding both count as used", () => {
    const both: PolicyException[] = [
      { rule: "image/*", object: "Deployment/ingress-nginx/*", reason: "family" },
      { rule: "image/registry", object: "Deployment/ingress-nginx/ingress-nginx-controller", reason: "exact" },
    ];
    const r = runPolicy([placed(ingress())], ctx, both);
    assert.deepEqual(r.unusedExceptions, []);
    assert.equal(r.excepted[0]!.exception, both[0]);
  });

  it("rule and object patterns", () => {
    assert.equal(ruleMatches("psa-baseline/*", "psa-baseline/privileged"), true);
    assert.equal(ruleMatches("psa-baseline/*", "psa-restricted/seccomp"), false);
    assert.equal(ruleMatches("psa/*", "psa-baseline/privileged"), false);
    assert.equal(ruleMatches("image/registry", "image/registry-x"), false);
    assert.equal(objectMatches("Deployment/ffl/ffl-*", "Deployment/ffl/ffl-backend"), true);
    assert.equal(objectMatches("Deployment/ffl/ffl-*", "StatefulSet/ffl/ffl-backend"), false);
    assert.equal(objectMatches("ClusterRole/metallb", "ClusterRole/metallb-speaker"), false);
  });
});

describe("allRules", () => {
  it("has unique ids in family/name form, each with a one-line description", () => {
    const ids = allRules.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const r of allRules) {
      assert.match(r.id, /^[a-z-]+\/[a-z-]+$/);
      assert.ok(r.description.length > 10 && !r.description.includes("\n"), r.id);
    }
  });

  it("is what runPolicy runs by default", () => {
    const violatesOne = deploymentWith((_, c) => (c.image = `${REGISTRY}/ffl/backend:latest`));
    assert.deepEqual(
      runPolicy([placed(violatesOne)], ctx, []).findings.map((f) => [f.rule, f.field]),
      [["image/pinned-tag", `${C0}.image`]],
    );
    assert.deepEqual(runPolicy([placed(violatesOne)], ctx, [], []).findings, []);
  });
});
