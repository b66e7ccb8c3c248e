/**
 * Constructors for the objects every component needs, with the house defaults in one place
 * (HelmRelease remediation and timeouts, namespace Pod Security labels, LoadBalancer pinning).
 * Types come from @kubernetes-models as type-only imports: checked at compile time, free at run time.
 */
import type { IHelmRelease } from "@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2/HelmRelease";
import type { IGitRepository } from "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository";
import type { IHelmRepository } from "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/HelmRepository";
import type { IKustomization } from "@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import type { IService } from "kubernetes-models/v1/Service";
import type { KubeObject, PlacedObject } from "../core/object.js";
import type { ChartPinModel, EndpointModel, GitSourcePinModel, Model, NamespaceModel } from "../model/model.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";
import { meshNamespaceLabels } from "../model/mesh.js";

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "beckerkube" } as const;

/** Cast a typed object to the pipeline's generic shape (all @kubernetes-models interfaces fit it). */
export function obj<T extends { apiVersion: string; kind: string; metadata?: unknown }>(o: T): KubeObject {
  return o as unknown as KubeObject;
}

export function place(file: string, ...objects: KubeObject[]): PlacedObject[] {
  return objects.map((object) => ({ object, file }));
}

export function namespace(m: Model, ns: NamespaceModel): KubeObject {
  const v = m.podSecurityVersion;
  const level = ns.podSecurity;
  const annotations: Record<string, string> = {};
  // Flux must never try to delete a namespace Kubernetes or Flux itself depends on.
  if (ns.kind === "system" || ns.name === FLUX_NAMESPACE) annotations["kustomize.toolkit.fluxcd.io/prune"] = "disabled";
  if (ns.why) annotations["beckerkube.io/pod-security-reason"] = ns.why;
  const o: INamespace = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: ns.name,
      labels: {
        ...MANAGED_BY,
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": v,
        // audit and warn at restricted even where less is enforced, so every exception stays visible
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": v,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": v,
        ...meshNamespaceLabels(m.mesh, ns.name),
      },
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
  };
  return obj(o);
}

export function helmRepositoryName(pin: ChartPinModel): string {
  // One HelmRepository per upstream URL, named after its publisher: the GitHub Pages org
  // (metallb.github.io -> metallb), the OCI namespace (quay.io/jetstack -> jetstack), else the host's first label.
  const [host = "", ...segments] = pin.repository.replace(/^[a-z]+:\/\//, "").split("/");
  const name = host.endsWith(".github.io") ? host.slice(0, -".github.io".length) : pin.repository.startsWith("oci://") && segments[0] ? segments[0] : host.split(".")[0]!;
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

export function helmRepository(pin: ChartPinModel): KubeObject {
  const o: IHelmRepository = {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "HelmRepository",
    metadata: { name: helmRepositoryName(pin), namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    spec: {
      interval: "12h",
      url: pin.repository,
      ...(pin.repository.startsWith("oci://") ? { type: "oci" as const } : {}),
    },
  };
  return obj(o);
}

/** The GitRepository of an upstream release, named after the repository (github.com/kubernetes-sigs/gateway-api -> gateway-api). */
export function gitSourceName(pin: GitSourcePinModel): string {
  return pin.repository
    .replace(/\.git$/, "")
    .split("/")
    .pop()!
    .toLowerCase();
}

export function gitRepository(pin: GitSourcePinModel): KubeObject {
  const o: IGitRepository = {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: gitSourceName(pin), namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    spec: { interval: "12h", url: pin.repository, ref: { tag: pin.tag } },
  };
  return obj(o);
}

/**
 * The Flux Kustomization that applies a path of an upstream release. CRDs are never pruned: deleting one
 * deletes every object of its kind.
 */
export function upstreamKustomization(name: string, pin: GitSourcePinModel): KubeObject {
  const k: IKustomization = {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    spec: {
      interval: "12h",
      retryInterval: "1m",
      timeout: "5m",
      sourceRef: { kind: "GitRepository", name: gitSourceName(pin) },
      path: `./${pin.path}`,
      prune: false,
      wait: true,
    },
  };
  return obj(k);
}

export interface ReleaseOptions {
  name: string;
  namespace: string;
  pin: ChartPinModel;
  values?: Record<string, unknown>;
  /** Charts with hooks or slow starts get 10m (incident 5); others keep Helm's 5m. */
  timeout?: string;
  dependsOn?: Array<{ name: string; namespace?: string }>;
  /** Whether the chart ships CRDs Helm should create and upgrade. */
  crds?: boolean;
}

/** A HelmRelease with the house defaults: pinned version, remediation on install and upgrade. */
export function helmRelease(o: ReleaseOptions): KubeObject {
  const crdPolicy = o.crds ? { crds: "CreateReplace" as const } : {};
  const hr: IHelmRelease = {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: o.name, namespace: o.namespace, labels: { ...MANAGED_BY } },
    spec: {
      interval: "30m",
      chart: {
        spec: {
          chart: o.pin.chart,
          version: o.pin.version,
          sourceRef: { kind: "HelmRepository", name: helmRepositoryName(o.pin), namespace: FLUX_NAMESPACE },
          interval: "12h",
        },
      },
      ...(o.dependsOn?.length ? { dependsOn: o.dependsOn } : {}),
      timeout: o.timeout ?? "5m",
      install: { ...crdPolicy, remediation: { retries: 3 } },
      upgrade: { ...crdPolicy, cleanupOnFail: true, remediation: { retries: 3, strategy: "rollback" } },
      ...(o.values ? { values: o.values } : {}),
    },
  };
  return obj(hr);
}

/** Annotations that make MetalLB hand a Service exactly its pinned address (incident 1). */
export function lbAnnotations(m: Model, ep: EndpointModel): Record<string, string> {
  return { "metallb.io/loadBalancerIPs": ep.ip, "metallb.io/address-pool": m.network.loadBalancerPool.name };
}

export function loadBalancerService(m: Model, ep: EndpointModel, selector: Record<string, string>, targetPorts?: Record<string, number | string>): KubeObject {
  const svc: IService = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: ep.service, namespace: ep.namespace, labels: { ...MANAGED_BY, ...selector }, annotations: lbAnnotations(m, ep) },
    spec: {
      type: "LoadBalancer",
      selector,
      ports: ep.ports.map((p) => ({ name: p.name, port: p.port, targetPort: targetPorts?.[p.name] ?? p.port, protocol: "TCP" })),
    },
  };
  return obj(svc);
}

export interface FluxKustomizationOptions {
  name: string;
  path: string;
  dependsOn?: string[];
  wait?: boolean;
  timeout?: string;
  healthChecks?: Array<{ apiVersion: string; kind: string; name: string; namespace: string }>;
}

export function fluxKustomization(m: Model, o: FluxKustomizationOptions): KubeObject {
  const k: IKustomization = {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: o.name, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    spec: {
      interval: "1h",
      retryInterval: "1m",
      timeout: o.timeout ?? "10m",
      sourceRef: { kind: "GitRepository", name: m.gitops.repository },
      path: o.path,
      prune: true,
      wait: o.wait ?? true,
      ...(o.dependsOn?.length ? { dependsOn: o.dependsOn.map((name) => ({ name })) } : {}),
      ...(o.healthChecks?.length ? { healthChecks: o.healthChecks } : {}),
    },
  };
  return obj(k);
}

export function labelsFor(name: string, component: string, partOf: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/part-of": partOf,
    ...MANAGED_BY,
  };
}
