/** Fixtures shared by the policy tests: a fully compliant restricted workload and helpers to break it. */
import type { Finding } from "../../src/core/finding.js";
import type { KubeObject, PlacedObject } from "../../src/core/object.js";
import { runPolicy } from "../../src/policy/engine.js";
import type { PolicyContext, PolicyException } from "../../src/policy/rule.js";

// Test fixtures are mutated freely by path; typing every nested field would only restate the Kubernetes API.
// biome-ignore lint/suspicious/noExplicitAny: see above; the fixtures are deliberately loose
export type Obj = any;

export const REGISTRY = "192.168.7.21:5000";

export const ctx: PolicyContext = {
  registry: REGISTRY,
  namespaceLevels: new Map([
    ["ffl", "restricted"],
    ["ingress-nginx", "baseline"],
    ["kube-system", "privileged"],
  ]),
  podSecurityVersion: "v1.34",
};

export function withCtx(over: Partial<PolicyContext>): PolicyContext {
  return { ...ctx, ...over };
}

export function container(name = "backend", image = `${REGISTRY}/ffl/backend:1.4.2`): Obj {
  return {
    name,
    image,
    ports: [{ name: "http", containerPort: 8080 }],
    env: [
      { name: "LOG_LEVEL", value: "info" },
      { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "pg-ffl", key: "password" } } },
    ],
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    livenessProbe: { httpGet: { path: "/healthz", port: "http" } },
    readinessProbe: { httpGet: { path: "/ready", port: "http" } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
    volumeMounts: [{ name: "config", mountPath: "/etc/backend" }],
  };
}

export function podSpec(): Obj {
  return {
    automountServiceAccountToken: false,
    serviceAccountName: "ffl-backend",
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
    containers: [container()],
    volumes: [
      { name: "config", configMap: { name: "ffl-backend" } },
      { name: "creds", secret: { secretName: "ffl-backend" } },
      { name: "tmp", emptyDir: {} },
      { name: "data", persistentVolumeClaim: { claimName: "ffl-data" } },
    ],
  };
}

const LABELS = { "app.kubernetes.io/name": "ffl-backend", "app.kubernetes.io/part-of": "ffl", "app.kubernetes.io/component": "backend" };

/** A Deployment that passes every rule in a restricted namespace. */
export function deployment(mutate?: (d: Obj) => void): KubeObject {
  const d: Obj = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "ffl-backend", namespace: "ffl", labels: { ...LABELS } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { "app.kubernetes.io/name": "ffl-backend" } },
      template: { metadata: { labels: { ...LABELS } }, spec: podSpec() },
    },
  };
  mutate?.(d);
  return d as KubeObject;
}

/** The pod spec of the fixture Deployment, for short mutations. */
export function deploymentWith(mutate: (spec: Obj, c0: Obj) => void, namespace = "ffl"): KubeObject {
  return deployment((d) => {
    d.metadata.namespace = namespace;
    mutate(d.spec.template.spec, d.spec.template.spec.containers[0]);
  });
}

export const C0 = "spec.template.spec.containers[0]";
export const POD = "spec.template.spec";

export function role(rules: Obj[], kind: "Role" | "ClusterRole" = "Role"): KubeObject {
  const metadata: Obj = kind === "Role" ? { name: "ffl-reader", namespace: "ffl" } : { name: "ffl-reader" };
  return { apiVersion: "rbac.authorization.k8s.io/v1", kind, metadata, rules } as KubeObject;
}

export function binding(kind: "RoleBinding" | "ClusterRoleBinding", roleRef: { kind: string; name: string }): KubeObject {
  const metadata: Obj = kind === "RoleBinding" ? { name: "ffl-binding", namespace: "ffl" } : { name: "ffl-binding" };
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind,
    metadata,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", ...roleRef },
    subjects: [{ kind: "ServiceAccount", name: "ffl-backend", namespace: "ffl" }],
  } as KubeObject;
}

export function serviceAccount(automount?: boolean): KubeObject {
  const sa: Obj = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "ffl-backend", namespace: "ffl" } };
  if (automount !== undefined) sa.automountServiceAccountToken = automount;
  return sa as KubeObject;
}

export function configMap(data: Record<string, string>, name = "ffl-backend"): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "ffl" }, data } as KubeObject;
}

export function helmRelease(values: Obj, labels?: Record<string, string>): KubeObject {
  const metadata: Obj = { name: "ffl-backend", namespace: "ffl" };
  if (labels) metadata.labels = labels;
  return {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata,
    spec: {
      interval: "10m",
      chart: { spec: { chart: "ffl-backend", version: "0.3.1", sourceRef: { kind: "HelmRepository", name: "chartmuseum", namespace: "flux-system" } } },
      values,
      valuesFrom: [{ kind: "Secret", name: "ffl-backend-values", valuesKey: "values.yaml" }],
    },
  } as KubeObject;
}

export const APP_LABELS = { "app.kubernetes.io/part-of": "ffl", "app.kubernetes.io/component": "backend" };

export function placed(object: KubeObject, file = "apps/ffl/backend.yaml"): PlacedObject {
  return { object, file };
}

/** Findings for one object as [rule, field] pairs, the shape most assertions compare. */
export function check(object: KubeObject, c: PolicyContext = ctx, exceptions: PolicyException[] = []): Array<[string, string | undefined]> {
  return runPolicy([placed(object)], c, exceptions).findings.map((f) => [f.rule, f.field]);
}

export function findings(object: KubeObject, c: PolicyContext = ctx): Finding[] {
  return runPolicy([placed(object)], c, []).findings;
}

/** Builds token-shaped strings at run time, so this repository never contains one a push-protection scanner would flag. */
export function fake(prefix: string, body: string): string {
  return prefix + body;
}
