/**
 * infrastructure/configs: custom resources that need the controllers' CRDs, and the
 * infrastructure services built on them: address pool, PKI, registry, ChartMuseum, PostgreSQL,
 * the Gateway, logging.
 */
import type { ICertificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate";
import type { IClusterIssuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer";
import type { IHelmRepository } from "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/HelmRepository";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IPersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import type { KubeObject, PlacedObject } from "../core/object.js";
import { endpointById, type CertificateModel, type Model } from "../model/model.js";
import { MANAGED_BY, helmRelease, labelsFor, lbAnnotations, loadBalancerService, obj, place } from "./builders.js";
import { CONFIGS } from "../model/layout.js";
import { size } from "./resources.js";
import { synthPostgres } from "./postgres.js";
import { APP_CHART_REPOSITORY, CLUSTER_CA_TRUST_SECRET, FLUX_NAMESPACE, LOKI_PORT, REGISTRY_METRICS_PORT } from "../core/well-known.js";

export const CA_ISSUER = "beckerkube-ca";
export const CA_SECRET = "beckerkube-ca";

export function synthConfigs(m: Model): PlacedObject[] {
  return [...synthMetallbConfig(m), ...synthPki(m), ...synthRegistry(m), ...synthChartmuseum(m), ...synthPostgres(m), ...synthGateway(m), ...synthLogging(m)];
}

function synthMetallbConfig(m: Model): PlacedObject[] {
  const pool = m.network.loadBalancerPool;
  const ns = m.metallb.namespace;
  return place(
    `${CONFIGS}/metallb/pool.yaml`,
    {
      apiVersion: "metallb.io/v1beta1",
      kind: "IPAddressPool",
      metadata: { name: pool.name, namespace: ns, labels: { ...MANAGED_BY } },
      // autoAssign off: a Service gets an address only by pinning it, so a rebuild can never reshuffle IPs (incident 1).
      spec: { addresses: [`${pool.start}-${pool.end}`], autoAssign: false, avoidBuggyIPs: false },
    },
    {
      apiVersion: "metallb.io/v1beta1",
      kind: "L2Advertisement",
      metadata: { name: pool.name, namespace: ns, labels: { ...MANAGED_BY } },
      spec: { ipAddressPools: [pool.name] },
    },
  );
}

/** A self-signed root, a CA ClusterIssuer on it, and one served certificate per endpoint. */
function synthPki(m: Model): PlacedObject[] {
  const cm = m.certManager;
  const selfSigned: IClusterIssuer = {
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: { name: "selfsigned-bootstrap", labels: { ...MANAGED_BY } },
    spec: { selfSigned: {} },
  };
  const caCert: ICertificate = {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: CA_SECRET, namespace: cm.namespace, labels: { ...MANAGED_BY } },
    spec: {
      isCA: true,
      commonName: cm.ca.commonName,
      secretName: CA_SECRET,
      duration: cm.ca.duration,
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Never" },
      issuerRef: { name: "selfsigned-bootstrap", kind: "ClusterIssuer", group: "cert-manager.io" },
    },
  };
  const caIssuer: IClusterIssuer = {
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: { name: CA_ISSUER, labels: { ...MANAGED_BY } },
    spec: { ca: { secretName: CA_SECRET } },
  };
  const out = place(`${CONFIGS}/pki/issuers.yaml`, obj(selfSigned), obj(caCert), obj(caIssuer));
  for (const c of m.certificates) out.push(...place(`${CONFIGS}/pki/${c.name}.yaml`, servedCertificate(m, c)));
  for (const ns of caTrustNamespaces(m)) out.push(...place(`${CONFIGS}/pki/${CLUSTER_CA_TRUST_SECRET}-${ns}.yaml`, caTrustCertificate(m, ns)));
  return out;
}

export function servedCertificate(m: Model, c: CertificateModel): KubeObject {
  const cert: ICertificate = {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: c.name, namespace: c.namespace, labels: { ...MANAGED_BY } },
    spec: {
      secretName: c.secretName,
      commonName: c.commonName,
      dnsNames: c.dnsNames,
      ipAddresses: c.ipAddresses,
      duration: m.certManager.certificateDuration,
      renewBefore: m.certManager.renewBefore,
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
      usages: ["server auth", "digital signature", "key encipherment"],
      issuerRef: { name: CA_ISSUER, kind: "ClusterIssuer", group: "cert-manager.io" },
    },
  };
  return obj(cert);
}

function synthRegistry(m: Model): PlacedObject[] {
  const r = m.registryServer;
  const e = endpointById(m, "registry");
  const labels = labelsFor("registry", "registry", "beckerkube");
  const selector = { "app.kubernetes.io/name": "registry" };
  const port = e.ports[0]!.port;
  const pvc: IPersistentVolumeClaim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "registry-data", namespace: r.namespace, labels },
    spec: { accessModes: ["ReadWriteOnce"], storageClassName: m.storageClass, resources: { requests: { storage: r.storage } } },
  };
  const deploy: IDeployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "registry", namespace: r.namespace, labels },
    spec: {
      replicas: 1,
      // One writer on a ReadWriteOnce volume: replace, never overlap.
      strategy: { type: "Recreate" },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...labels, ...selector } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "registry",
              image: r.image,
              ports: [
                { name: "registry", containerPort: port },
                { name: "metrics", containerPort: REGISTRY_METRICS_PORT },
              ],
              env: [
                { name: "REGISTRY_HTTP_ADDR", value: `:${port}` },
                { name: "REGISTRY_HTTP_TLS_CERTIFICATE", value: "/certs/tls.crt" },
                { name: "REGISTRY_HTTP_TLS_KEY", value: "/certs/tls.key" },
                { name: "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", value: "/var/lib/registry" },
                { name: "REGISTRY_STORAGE_DELETE_ENABLED", value: "true" },
                { name: "REGISTRY_HTTP_DEBUG_ADDR", value: `:${REGISTRY_METRICS_PORT}` },
                { name: "REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED", value: "true" },
              ],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              resources: r.resources,
              livenessProbe: { httpGet: { path: "/", port: "registry", scheme: "HTTPS" }, periodSeconds: 20 },
              readinessProbe: { httpGet: { path: "/v2/", port: "registry", scheme: "HTTPS" }, periodSeconds: 10 },
              volumeMounts: [
                { name: "data", mountPath: "/var/lib/registry" },
                { name: "certs", mountPath: "/certs", readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "data", persistentVolumeClaim: { claimName: "registry-data" } },
            { name: "certs", secret: { secretName: m.certificates.find((c) => c.endpoint === "registry")!.secretName } },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
  const svc = loadBalancerService(m, e, selector);
  const metrics = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "registry-metrics", namespace: r.namespace, labels: { ...labels, "beckerkube.io/metrics": "true" } },
    spec: { selector, ports: [{ name: "metrics", port: REGISTRY_METRICS_PORT, targetPort: "metrics" }] },
  };
  return place(`${CONFIGS}/registry/registry.yaml`, obj(pvc), obj(deploy), svc, metrics);
}

/** Where the ChartMuseum container reads the certificate cert-manager issues for it. */
const CHARTMUSEUM_CERT_DIR = "/certs";

/**
 * ChartMuseum serves TLS itself with the certificate cert-manager issues for it (TLS_CERT/TLS_KEY, read at
 * start), so basic auth never crosses the LAN or the cluster network in the clear; the probes speak HTTPS too.
 */
function synthChartmuseum(m: Model): PlacedObject[] {
  const c = m.chartmuseum;
  const e = endpointById(m, "chartmuseum");
  const port = e.ports[0]!.port;
  const cert = m.certificates.find((x) => x.endpoint === "chartmuseum")!;
  const https = { scheme: "HTTPS" };
  const release = helmRelease({
    name: "chartmuseum",
    namespace: c.namespace,
    pin: c.chart,
    values: {
      fullnameOverride: "chartmuseum",
      // the chart (3.10.4) still defaults to app v0.16.3; v0.16.5 carries the 2026 fixes
      image: { tag: "v0.16.5" },
      env: {
        open: {
          STORAGE: "local",
          DISABLE_API: false,
          ALLOW_OVERWRITE: false,
          AUTH_ANONYMOUS_GET: false,
          DEPTH: 0,
          ENABLE_METRICS: true,
          TLS_CERT: `${CHARTMUSEUM_CERT_DIR}/tls.crt`,
          TLS_KEY: `${CHARTMUSEUM_CERT_DIR}/tls.key`,
        },
        existingSecret: "chartmuseum-auth",
        existingSecretMappings: { BASIC_AUTH_USER: "BASIC_AUTH_USER", BASIC_AUTH_PASS: "BASIC_AUTH_PASS" },
      },
      deployment: {
        extraVolumes: [{ name: "tls", secret: { secretName: cert.secretName } }],
        extraVolumeMounts: [{ name: "tls", mountPath: CHARTMUSEUM_CERT_DIR, readOnly: true }],
      },
      probes: { livenessHttpGetConfig: https, readinessHttpGetConfig: https },
      persistence: { enabled: true, accessMode: "ReadWriteOnce", size: c.storage, storageClass: m.storageClass },
      service: { type: "LoadBalancer", externalPort: port, annotations: lbAnnotations(m, e) },
      securityContext: { enabled: true, fsGroup: 1000 },
      containerSecurityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      },
      resources: size(m, "chartmuseum"),
    },
  });
  // Flux reads our application chart from ChartMuseum inside the cluster, over TLS verified against the cluster CA.
  const repo: IHelmRepository = {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "HelmRepository",
    metadata: { name: APP_CHART_REPOSITORY, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    spec: { interval: "1m", url: `https://${e.clusterDns[1]}:${port}`, secretRef: { name: "chartmuseum-auth" }, certSecretRef: { name: CLUSTER_CA_TRUST_SECRET } },
  };
  return [...place(`${CONFIGS}/chartmuseum/helmrelease.yaml`, release), ...place(`${CONFIGS}/chartmuseum/helmrepository.yaml`, obj(repo))];
}

/** The namespaces whose clients verify our TLS servers: Flux's source-controller (ChartMuseum) and Prometheus (its /metrics). */
export function caTrustNamespaces(m: Model): string[] {
  return [FLUX_NAMESPACE, m.monitoring.namespace];
}

/**
 * The cluster CA carried into a namespace. cert-manager's CA issuer writes `ca.crt` beside every certificate it
 * signs, so a client certificate issued there brings the CA along and follows it when the CA is reissued; there
 * is no other in-cluster way to copy the CA (trust-manager is not installed) and nothing to seal, since the CA is
 * made in the cluster. Flux would present the leaf only to a server asking for client certificates (none does).
 */
function caTrustCertificate(m: Model, namespace: string): KubeObject {
  const cert: ICertificate = {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: CLUSTER_CA_TRUST_SECRET, namespace, labels: { ...MANAGED_BY } },
    spec: {
      secretName: CLUSTER_CA_TRUST_SECRET,
      commonName: `${namespace} clients of the cluster CA`,
      duration: m.certManager.certificateDuration,
      renewBefore: m.certManager.renewBefore,
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
      usages: ["client auth", "digital signature"],
      issuerRef: { name: CA_ISSUER, kind: "ClusterIssuer", group: "cert-manager.io" },
    },
  };
  return obj(cert);
}

/** Gateway API Gateway bound to the gateway Deployment the istio/gateway chart runs (manual deployment). */
function synthGateway(m: Model): PlacedObject[] {
  const g = endpointById(m, "gateway");
  const cert = m.certificates.find((c) => c.endpoint === "gateway")!;
  const allRoutes = { namespaces: { from: "All" } };
  return place(`${CONFIGS}/gateway/gateway.yaml`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: m.istio.gatewayName, namespace: g.namespace, labels: { ...MANAGED_BY } },
    spec: {
      gatewayClassName: "istio",
      addresses: [{ type: "Hostname", value: g.clusterDns[1] }],
      listeners: [
        { name: "http", port: 80, protocol: "HTTP", allowedRoutes: allRoutes },
        { name: "https", port: 443, protocol: "HTTPS", tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: cert.secretName }] }, allowedRoutes: allRoutes },
      ],
    },
  });
}

function synthLogging(m: Model): PlacedObject[] {
  const l = m.logging;
  const loki = helmRelease({
    name: "loki",
    namespace: l.namespace,
    pin: l.charts.store,
    timeout: "10m",
    values: {
      fullnameOverride: "loki",
      deploymentMode: "Monolithic",
      loki: {
        auth_enabled: false,
        commonConfig: { replication_factor: 1 },
        storage: { type: "filesystem" },
        schemaConfig: {
          configs: [{ from: "2025-01-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } }],
        },
        limits_config: { retention_period: l.retention },
        compactor: { retention_enabled: true, delete_request_store: "filesystem", working_directory: "/var/loki/compactor" },
      },
      singleBinary: { replicas: 1, persistence: { enabled: true, size: l.storage, storageClass: m.storageClass }, resources: size(m, "loki") },
      sidecar: { resources: size(m, "lokiSidecar") },
      backend: { replicas: 0 },
      read: { replicas: 0 },
      write: { replicas: 0 },
      // Object storage would mean MinIO, which is no longer maintained: filesystem storage on one node.
      minio: { enabled: false },
      gateway: { enabled: false },
      chunksCache: { enabled: false },
      resultsCache: { enabled: false },
      lokiCanary: { enabled: false },
      test: { enabled: false },
    },
  });
  const fluentBit = helmRelease({
    name: "fluent-bit",
    namespace: l.namespace,
    pin: l.charts.shipper,
    dependsOn: [{ name: "loki" }],
    values: {
      config: {
        outputs: [
          "[OUTPUT]",
          "    Name        loki",
          "    Match       kube.*",
          `    Host        ${l.lokiHost}`,
          `    Port        ${LOKI_PORT}`,
          "    Labels      job=fluent-bit",
          "    Label_keys  $kubernetes['namespace_name'],$kubernetes['pod_name'],$kubernetes['container_name']",
          "    Auto_Kubernetes_Labels off",
          "",
        ].join("\n"),
      },
      serviceMonitor: { enabled: false },
      resources: size(m, "fluentBit"),
    },
  });
  return place(`${CONFIGS}/logging/helmrelease.yaml`, loki, fluentBit);
}
