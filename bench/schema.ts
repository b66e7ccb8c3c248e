/**
 * Micro benchmark of schema validation with warm validators.
 *
 *   npx tsx bench/schema.ts [objects]      (default 30000)
 *
 * Prints objects/second for a mix of Deployment, Service, ConfigMap, HelmRelease and Kustomization
 * objects, all valid (the common case in `bk validate`). Target: 20,000+/s on a 2-core machine.
 */
import type { KubeObject, PlacedObject } from "../src/core/object.js";
import { SchemaValidator } from "../src/schema/validate.js";

function deployment(i: number): KubeObject {
  const labels = { "app.kubernetes.io/name": `app-${i}`, "app.kubernetes.io/part-of": "beckerkube" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `app-${i}`, namespace: "apps", labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: `app-${i}`,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "app",
              image: `registry.local:5000/app-${i}:1.2.3`,
              ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
              env: [{ name: "LOG_LEVEL", value: "info" }],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
              readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10 },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
            },
          ],
        },
      },
    },
  };
}

function service(i: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `app-${i}`, namespace: "apps" },
    spec: { selector: { "app.kubernetes.io/name": `app-${i}` }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  };
}

function configMap(i: number): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `app-${i}`, namespace: "apps" }, data: { "config.yaml": "a: 1\n" } };
}

function helmRelease(i: number): KubeObject {
  return {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: `rel-${i}`, namespace: "flux-system" },
    spec: {
      interval: "10m",
      targetNamespace: "apps",
      chart: { spec: { chart: "podinfo", version: "6.7.1", sourceRef: { kind: "HelmRepository", name: "podinfo" } } },
      install: { remediation: { retries: 3 } },
      values: { replicaCount: 2, ingress: { enabled: false } },
    },
  };
}

function kustomization(i: number): KubeObject {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: `ks-${i}`, namespace: "flux-system" },
    spec: { interval: "10m", path: `./apps/app-${i}`, prune: true, sourceRef: { kind: "GitRepository", name: "flux-system" } },
  };
}

const makers = [deployment, service, configMap, helmRelease, kustomization];
const count = Number(process.argv[2] ?? 30000);
const objects: PlacedObject[] = Array.from({ length: count }, (_, i) => ({
  object: makers[i % makers.length]!(i),
  file: `apps/app-${i}.yaml`,
}));

const validator = new SchemaValidator();
const t0 = performance.now();
await validator.prepare(objects.map((p) => p.object));
const warmup = validator.validateObjectsSync(objects.slice(0, 1000));
if (warmup.length > 0) {
  console.error("benchmark objects are not valid:", warmup.slice(0, 3));
  process.exit(1);
}
const t1 = performance.now();
const findings = validator.validateObjectsSync(objects);
const t2 = performance.now();
const perSecond = Math.round(count / ((t2 - t1) / 1000));
console.log(`cold start (import + compile + 1000 warm-up): ${(t1 - t0).toFixed(0)} ms`);
console.log(`${count} objects in ${(t2 - t1).toFixed(0)} ms: ${perSecond} objects/s (${findings.length} findings)`);
