import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Finding } from "../../src/core/finding.js";
import type { KubeObject } from "../../src/core/object.js";
import { schemaScope, validateObject, validateObjects } from "../../src/schema/validate.js";

const labels = { "app.kubernetes.io/name": "web" };

const valid: Record<string, KubeObject> = {
  HelmRelease: {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "podinfo", namespace: "flux-system" },
    spec: {
      interval: "10m",
      targetNamespace: "apps",
      chart: { spec: { chart: "podinfo", version: "6.7.1", sourceRef: { kind: "HelmRepository", name: "podinfo" } } },
      install: { remediation: { retries: 3 } },
      // values preserves unknown fields: anything goes below it.
      values: { replicaCount: 2, whatever: { nested: [1, "two", { three: true }] } },
    },
  },
  Kustomization: {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "apps", namespace: "flux-system" },
    spec: {
      interval: "10m",
      path: "./clusters/home/apps",
      prune: true,
      sourceRef: { kind: "GitRepository", name: "flux-system" },
      dependsOn: [{ name: "infrastructure" }],
      timeout: "5m",
    },
  },
  GitRepository: {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: "flux-system", namespace: "flux-system" },
    spec: { interval: "1m", url: "http://gitea.local/becker/platform.git", ref: { branch: "main" }, secretRef: { name: "git-auth" } },
  },
  IPAddressPool: {
    apiVersion: "metallb.io/v1beta1",
    kind: "IPAddressPool",
    metadata: { name: "home", namespace: "metallb-system" },
    spec: { addresses: ["192.168.7.10-192.168.7.30"], autoAssign: false },
  },
  Certificate: {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: "registry-tls", namespace: "registry" },
    spec: {
      secretName: "registry-tls",
      dnsNames: ["registry.home.lan"],
      duration: "2160h",
      renewBefore: "360h",
      privateKey: { algorithm: "ECDSA", size: 256 },
      issuerRef: { name: "home-ca", kind: "ClusterIssuer", group: "cert-manager.io" },
    },
  },
  ClusterIssuer: {
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: { name: "home-ca" },
    spec: { ca: { secretName: "home-ca" } },
  },
  SealedSecret: {
    apiVersion: "bitnami.com/v1alpha1",
    kind: "SealedSecret",
    metadata: { name: "db-credentials", namespace: "apps" },
    spec: {
      encryptedData: { password: "AgBy3i4OJSWK+PiTySYZZA==" },
      template: { metadata: { name: "db-credentials", namespace: "apps" }, type: "Opaque" },
    },
  },
  ServiceMonitor: {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name: "web", namespace: "monitoring", labels: { release: "kube-prometheus-stack" } },
    spec: {
      selector: { matchLabels: labels },
      namespaceSelector: { matchNames: ["apps"] },
      endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
    },
  },
  Cluster: {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    metadata: { name: "postgres", namespace: "databases" },
    spec: {
      instances: 1,
      imageName: "ghcr.io/cloudnative-pg/postgresql:17.5",
      storage: { size: "10Gi" },
      bootstrap: { initdb: { database: "app", owner: "app" } },
      resources: { requests: { cpu: "250m", memory: "512Mi" } },
    },
  },
  Database: {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Database",
    metadata: { name: "immich", namespace: "databases" },
    spec: { name: "immich", owner: "immich", cluster: { name: "postgres" }, extensions: [{ name: "vector", ensure: "present" }] },
  },
  HTTPRoute: {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "web", namespace: "apps" },
    spec: {
      parentRefs: [{ name: "home", namespace: "istio-ingress", sectionName: "https" }],
      hostnames: ["web.home.lan"],
      rules: [{ matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "web", port: 80 }] }],
    },
  },
  Deployment: {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "apps", labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "web",
              image: "registry.home.lan/web:1.0.0",
              ports: [{ name: "http", containerPort: 8080 }],
              resources: { limits: { memory: "128Mi" } },
            },
          ],
        },
      },
    },
  },
  Service: {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "apps" },
    spec: { type: "LoadBalancer", loadBalancerIP: "192.168.7.21", selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  },
  Namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: "apps", labels: { "pod-security.kubernetes.io/enforce": "restricted" } } },
  ClusterRole: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "system:bk-reader" },
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }],
  },
};

/** A deep copy of a valid object with one change applied. */
// biome-ignore lint/suspicious/noExplicitAny: the changes write deliberately invalid values (wrong types, misspelt fields) that any declared type would refuse
function variant(name: string, change: (o: any) => void): KubeObject {
  const o = structuredClone(valid[name]!);
  change(o);
  return o;
}

function render(findings: Finding[]): string {
  return findings.map((f) => `${f.rule} ${f.field ?? ""}: ${f.message}`).join("\n");
}

/** Exactly one finding, on the given field, whose message mentions every fragment. */
async function expectOne(obj: KubeObject, field: string, ...fragments: string[]): Promise<Finding> {
  const findings = await validateObject(obj);
  assert.equal(findings.length, 1, `expected exactly one finding, got:\n${render(findings)}`);
  const f = findings[0]!;
  assert.equal(f.field, field, render(findings));
  assert.equal(f.severity, "error");
  assert.equal(f.rule, `schema/${obj.kind}`);
  assert.ok(f.message.includes(field), `message should name ${field}: ${f.message}`);
  for (const fragment of fragments) assert.ok(f.message.includes(fragment), `message should mention ${fragment}: ${f.message}`);
  assert.ok(f.fix.length > 0);
  return f;
}

describe("schema validation: valid objects pass", () => {
  for (const [name, obj] of Object.entries(valid)) {
    it(`${obj.apiVersion} ${name}`, async () => {
      assert.deepEqual(render(await validateObject(obj)), "");
    });
  }
});

describe("schema validation: custom resources", () => {
  it("rejects a misspelt field that Kubernetes would prune, suggesting the right one", async () => {
    const f = await expectOne(
      variant("HelmRelease", (o) => (o.spec.intervall = "5m")),
      "spec.intervall",
      "unknown field",
      "spec.interval?",
    );
    assert.match(f.fix, /rename it to spec\.interval/);
  });

  it("rejects unknown fields deep inside a closed object", async () => {
    await expectOne(
      variant("HelmRelease", (o) => (o.spec.chart.spec.sourceRef.nmae = "x")),
      "spec.chart.spec.sourceRef.nmae",
      "unknown field",
    );
  });

  it("reports a wrong type with the expected and the actual type", async () => {
    await expectOne(
      variant("HelmRelease", (o) => (o.spec.interval = 5)),
      "spec.interval",
      "must be a string",
      "number 5",
    );
  });

  it("reports a missing required field", async () => {
    await expectOne(
      variant("Kustomization", (o) => delete o.spec.sourceRef),
      "spec.sourceRef",
      "required",
    );
    await expectOne(
      variant("GitRepository", (o) => delete o.spec.url),
      "spec.url",
      "required",
    );
  });

  it("reports a value outside the enum with the allowed values", async () => {
    await expectOne(
      variant("Kustomization", (o) => (o.spec.sourceRef.kind = "GitRepo")),
      "spec.sourceRef.kind",
      '"GitRepository"',
      '"OCIRepository"',
      '"GitRepo"',
    );
  });

  it("reports a pattern mismatch (Flux durations)", async () => {
    await expectOne(
      variant("GitRepository", (o) => (o.spec.interval = "5 minutes")),
      "spec.interval",
      "pattern",
    );
  });

  it("reports wrong types in lists with the index", async () => {
    await expectOne(
      variant("IPAddressPool", (o) => (o.spec.addresses = ["192.168.7.10/32", 7])),
      "spec.addresses[1]",
      "must be a string",
    );
    await expectOne(
      variant("HTTPRoute", (o) => (o.spec.rules[0].backendRefs[0].port = "http")),
      "spec.rules[0].backendRefs[0].port",
      "integer",
    );
  });

  it("rejects a namespace on a cluster-scoped kind", async () => {
    await expectOne(
      variant("ClusterIssuer", (o) => (o.metadata.namespace = "cert-manager")),
      "metadata.namespace",
      "cluster-scoped",
    );
  });

  it("requires a namespace on a namespaced kind", async () => {
    await expectOne(
      variant("Database", (o) => delete o.metadata.namespace),
      "metadata.namespace",
      "namespaced",
    );
  });

  it("checks metadata of custom resources against ObjectMeta", async () => {
    await expectOne(
      variant("Certificate", (o) => (o.metadata.lables = { a: "b" })),
      "metadata.lables",
      "unknown field",
      "metadata.labels?",
    );
    await expectOne(
      variant("Certificate", (o) => (o.metadata.labels = { version: 1 })),
      "metadata.labels.version",
      "must be a string",
    );
  });

  it("accepts int-or-string fields as either", async () => {
    const asInt = variant("ServiceMonitor", (o) => (o.spec.endpoints[0].targetPort = 8080));
    const asString = variant("ServiceMonitor", (o) => (o.spec.endpoints[0].targetPort = "http"));
    assert.equal(render(await validateObject(asInt)), "");
    assert.equal(render(await validateObject(asString)), "");
    await expectOne(
      variant("ServiceMonitor", (o) => (o.spec.endpoints[0].targetPort = true)),
      "spec.endpoints[0].targetPort",
      "an integer or a string",
    );
  });

  it("accepts an embedded resource's apiVersion/kind/metadata but closes its other fields", async () => {
    const ok = variant("SealedSecret", (o) => (o.spec.template.metadata.labels = { a: "b" }));
    assert.equal(render(await validateObject(ok)), "");
    await expectOne(
      variant("SealedSecret", (o) => (o.spec.template.typo = "x")),
      "spec.template.typo",
      "unknown field",
    );
  });

  it("reports format violations (int32 range)", async () => {
    await expectOne(
      variant("Cluster", (o) => (o.spec.failoverDelay = 2 ** 33)),
      "spec.failoverDelay",
      "int32",
    );
    await expectOne(
      variant("Cluster", (o) => (o.spec.instances = 0)),
      "spec.instances",
      ">= 1",
    );
  });
});

describe("schema validation: built-in kinds", () => {
  it("reports a container image that is a number", async () => {
    await expectOne(
      variant("Deployment", (o) => (o.spec.template.spec.containers[0].image = 42)),
      "spec.template.spec.containers[0].image",
      "must be a string",
      "number 42",
    );
  });

  it("reports a Service port that is not a number", async () => {
    await expectOne(
      variant("Service", (o) => (o.spec.ports[0].port = "abc")),
      "spec.ports[0].port",
      "must be an integer",
      '"abc"',
    );
  });

  it("reports a bad enum value with the allowed values", async () => {
    await expectOne(
      variant("Service", (o) => (o.spec.type = "LoadBalancr")),
      "spec.type",
      '"LoadBalancer"',
      '"ClusterIP"',
    );
  });

  it("reports a missing required field", async () => {
    await expectOne(
      variant("Deployment", (o) => delete o.spec.template.spec.containers[0].name),
      "spec.template.spec.containers[0].name",
      "required",
    );
  });

  it("rejects unknown fields in built-in kinds too", async () => {
    await expectOne(
      variant("Deployment", (o) => (o.spec.template.spec.containers[0].resources.limts = { cpu: "1" })),
      "spec.template.spec.containers[0].resources.limts",
      "unknown field",
      "resources.limits?",
    );
  });

  it("checks resource quantities", async () => {
    await expectOne(
      variant("Deployment", (o) => (o.spec.template.spec.containers[0].resources.limits.memory = "128 MB")),
      "spec.template.spec.containers[0].resources.limits.memory",
      "quantity",
    );
  });

  it("checks names per kind", async () => {
    await expectOne(
      variant("Deployment", (o) => (o.metadata.name = "Web_App")),
      "metadata.name",
      "DNS-1123 subdomain",
    );
    await expectOne(
      variant("Service", (o) => (o.metadata.name = "1web")),
      "metadata.name",
      "DNS-1035",
    );
    await expectOne(
      variant("Namespace", (o) => (o.metadata.name = "apps.home")),
      "metadata.name",
      "DNS-1123 label",
    );
  });

  it("checks label keys and values", async () => {
    await expectOne(
      variant("Deployment", (o) => (o.metadata.labels = { "bad key!": "x" })),
      'metadata.labels["bad key!"]',
      "label key",
    );
    await expectOne(
      variant("Deployment", (o) => (o.metadata.labels = { app: "a b" })),
      "metadata.labels.app",
      "label value",
    );
  });

  it("rejects a namespace on cluster-scoped built-in kinds and requires it on namespaced ones", async () => {
    await expectOne(
      variant("Namespace", (o) => (o.metadata.namespace = "default")),
      "metadata.namespace",
      "cluster-scoped",
    );
    await expectOne(
      variant("ClusterRole", (o) => (o.metadata.namespace = "default")),
      "metadata.namespace",
      "cluster-scoped",
    );
    await expectOne(
      variant("Service", (o) => delete o.metadata.namespace),
      "metadata.namespace",
      "namespaced",
    );
  });
});

describe("schema validation: fields holding undefined", () => {
  it("ignores unknown keys whose value is undefined, since they are never written out", async () => {
    const cr = variant("HelmRelease", (o) => (o.spec.notAField = undefined));
    const core = variant("Deployment", (o) => (o.spec.template.spec.containers[0].notAField = undefined));
    assert.equal(render(await validateObject(cr)), "");
    assert.equal(render(await validateObject(core)), "");
  });

  it("treats a required field holding undefined as missing", async () => {
    await expectOne(
      variant("Certificate", (o) => (o.spec.secretName = undefined)),
      "spec.secretName",
      "required",
    );
  });
});

describe("schema validation: unknown kinds and placement", () => {
  it("fails an object whose apiVersion/kind has no schema", async () => {
    const findings = await validateObject({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: "x" } });
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.rule, "schema/unknown-kind");
    assert.match(findings[0]!.message, /no schema for example\.com\/v1 Widget: add its CRD to \.\.\/shared\/crds and run gen:schemas/);
  });

  it("fails a known kind under a version that is not served", async () => {
    const findings = await validateObject(variant("HelmRelease", (o) => (o.apiVersion = "helm.toolkit.fluxcd.io/v2beta1")));
    assert.deepEqual(
      findings.map((f) => f.rule),
      ["schema/unknown-kind"],
    );
  });

  it("carries file and object reference into every finding", async () => {
    const findings = await validateObjects([
      { object: valid.Service!, file: "apps/web/service.yaml" },
      { object: variant("HelmRelease", (o) => (o.spec.intervall = "5m")), file: "infrastructure/podinfo.yaml" },
    ]);
    assert.equal(findings.length, 1, render(findings));
    assert.equal(findings[0]!.file, "infrastructure/podinfo.yaml");
    assert.equal(findings[0]!.object, "HelmRelease/flux-system/podinfo");
  });

  it("knows the scope of custom and built-in kinds", async () => {
    assert.equal(await schemaScope("cert-manager.io/v1", "ClusterIssuer"), "Cluster");
    assert.equal(await schemaScope("cert-manager.io/v1", "Issuer"), "Namespaced");
    assert.equal(await schemaScope("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), "Cluster");
    assert.equal(await schemaScope("apps/v1", "Deployment"), "Namespaced");
    assert.equal(await schemaScope("example.com/v1", "Widget"), undefined);
  });
});
