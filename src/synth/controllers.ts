/**
 * infrastructure/controllers: namespaces, the upstream HelmRepositories, and the HelmReleases of
 * the operators and controllers everything else builds on.
 */
import type { PlacedObject } from "../core/object.js";
import { endpointById, type Model } from "../model/model.js";
import { gitRepository, gitSourceName, helmRelease, helmRepository, helmRepositoryName, lbAnnotations, namespace, place, upstreamKustomization } from "./builders.js";
import { CONTROLLERS } from "../model/layout.js";
import { mergeValues, monitoringValuesPatch } from "./observability/index.js";
import { LOKI_PORT } from "../core/well-known.js";
import { size } from "./resources.js";
import { meshCniReleases, meshIstiodValues } from "./mesh.js";

const TEN_MINUTES = "10m";

type Release = ReturnType<typeof helmRelease>;

/** The whole controllers layer, in the order the tree has always listed it. */
export function synthControllers(m: Model): PlacedObject[] {
  return [
    ...infraNamespaces(m),
    ...helmRepositories(m),
    ...releaseFile("metallb", metallbRelease(m)),
    ...releaseFile("cert-manager", certManagerRelease(m)),
    ...releaseFile("sealed-secrets", sealedSecretsRelease(m)),
    ...releaseFile("ingress-nginx", ingressNginxRelease(m)),
    ...releaseFile("istio", ...istioReleases(m), ...meshCniReleases(m)),
    ...releaseFile("cloudnative-pg", cloudnativePgRelease(m)),
    ...releaseFile("kube-prometheus-stack", monitoringRelease(m)),
    ...gatewayApiCrds(m),
  ];
}

/** The Gateway API CRDs from their release: infra-configs' Gateway needs them, and no chart ships them. */
function gatewayApiCrds(m: Model): PlacedObject[] {
  return [...place(`${CONTROLLERS}/sources/${gitSourceName(m.gatewayApi)}.yaml`, gitRepository(m.gatewayApi)), ...place(`${CONTROLLERS}/gateway-api/crds.yaml`, upstreamKustomization("gateway-api-crds", m.gatewayApi))];
}

/** Namespaces of the infrastructure (application namespaces live with their apps). */
function infraNamespaces(m: Model): PlacedObject[] {
  return m.namespaces.filter((n) => n.kind !== "application").flatMap((ns) => place(`${CONTROLLERS}/namespaces/${ns.name}.yaml`, namespace(m, ns)));
}

/** One HelmRepository per upstream chart repository, shared by the charts it serves. */
function helmRepositories(m: Model): PlacedObject[] {
  const repos = new Map<string, string>();
  for (const p of Object.values(m.charts)) repos.set(helmRepositoryName(p), p.repository);
  return [...repos.keys()].sort().flatMap((name) => {
    const p = Object.values(m.charts).find((c) => helmRepositoryName(c) === name)!;
    return place(`${CONTROLLERS}/sources/${name}.yaml`, helmRepository(p));
  });
}

/** A controller's directory holds its HelmRelease(s) in one file. */
function releaseFile(dir: string, ...objs: Release[]): PlacedObject[] {
  return place(`${CONTROLLERS}/${dir}/helmrelease.yaml`, ...objs);
}

function metallbRelease(m: Model): Release {
  return helmRelease({
    name: "metallb",
    namespace: m.metallb.namespace,
    pin: m.metallb.chart,
    crds: true,
    values: {
      crds: { enabled: true },
      // L2 mode only: no BGP, so neither frr-k8s (on by default since 0.16) nor the deprecated FRR speaker mode
      frrk8s: { enabled: false },
      speaker: { frr: { enabled: false }, resources: size(m, "metallbSpeaker") },
      controller: { resources: size(m, "metallbController") },
      prometheus: { serviceMonitor: { enabled: false } },
    },
  });
}

function certManagerRelease(m: Model): Release {
  return helmRelease({
    name: "cert-manager",
    namespace: m.certManager.namespace,
    pin: m.certManager.chart,
    crds: true,
    timeout: TEN_MINUTES,
    values: {
      crds: { enabled: true, keep: true },
      prometheus: { enabled: true, servicemonitor: { enabled: false } },
      // cert-manager's startupapicheck is a post-install hook that waits for the webhook
      startupapicheck: { timeout: "5m", resources: size(m, "certManagerStartupapicheck") },
      resources: size(m, "certManager"),
      webhook: { resources: size(m, "certManagerWebhook") },
      cainjector: { resources: size(m, "certManagerCainjector") },
    },
  });
}

function sealedSecretsRelease(m: Model): Release {
  return helmRelease({
    name: m.sealedSecrets.controllerName,
    namespace: m.sealedSecrets.namespace,
    pin: m.sealedSecrets.chart,
    crds: true,
    values: {
      fullnameOverride: m.sealedSecrets.controllerName,
      keyrenewperiod: m.sealedSecrets.keyRenewPeriod,
      metrics: { serviceMonitor: { enabled: false } },
      resources: size(m, "sealedSecrets"),
    },
  });
}

function ingressNginxRelease(m: Model): Release {
  const ingress = endpointById(m, "ingress");
  return helmRelease({
    name: "ingress-nginx",
    namespace: m.ingressNginx.namespace,
    pin: m.ingressNginx.chart,
    timeout: TEN_MINUTES, // the admission webhook's certgen Jobs are hooks
    values: {
      fullnameOverride: "ingress-nginx",
      controller: {
        ingressClassResource: { name: m.ingressNginx.className, default: true },
        ingressClass: m.ingressNginx.className,
        service: {
          type: "LoadBalancer",
          annotations: lbAnnotations(m, ingress),
          ports: Object.fromEntries(ingress.ports.map((p) => [p.name, p.port])),
        },
        extraArgs: { "default-ssl-certificate": `${ingress.namespace}/ingress-tls` },
        metrics: { enabled: true, serviceMonitor: { enabled: false } },
        resources: size(m, "ingressNginx"),
        admissionWebhooks: { createSecretJob: { resources: size(m, "ingressNginxAdmission") }, patchWebhookJob: { resources: size(m, "ingressNginxAdmission") } },
      },
    },
  });
}

/** Istio's three charts share one file: base (CRDs), then istiod, then the ingress gateway, each waiting on the previous. */
const RUNTIME_DEFAULT_SECCOMP = { type: "RuntimeDefault" };

function istioReleases(m: Model): Release[] {
  const gateway = endpointById(m, "gateway");
  const istioBase = helmRelease({ name: "istio-base", namespace: m.istio.namespace, pin: m.istio.charts.base, crds: true, values: { defaultRevision: "default" } });
  const istiod = helmRelease({
    name: "istiod",
    namespace: m.istio.namespace,
    pin: m.istio.charts.istiod,
    timeout: TEN_MINUTES,
    dependsOn: [{ name: "istio-base" }],
    values: mergeValues(
      {
        pilot: { resources: size(m, "istiod") },
        meshConfig: { accessLogFile: "/dev/stdout" },
        // istio-system and the gateway's namespace enforce "restricted", which requires a seccomp profile.
        seccompProfile: RUNTIME_DEFAULT_SECCOMP,
        global: { proxy: { seccompProfile: RUNTIME_DEFAULT_SECCOMP } },
      },
      meshIstiodValues(m),
    ),
  });
  const istioGateway = helmRelease({
    name: m.istio.gatewayName,
    namespace: m.istio.gatewayNamespace,
    pin: m.istio.charts.gateway,
    timeout: TEN_MINUTES,
    dependsOn: [{ name: "istiod", namespace: m.istio.namespace }],
    values: {
      name: m.istio.gatewayName,
      resources: size(m, "istioGateway"),
      // Setting the pod securityContext replaces the chart's default, so its unprivileged-port sysctl is kept.
      securityContext: { seccompProfile: RUNTIME_DEFAULT_SECCOMP, sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] },
      service: {
        type: "LoadBalancer",
        annotations: lbAnnotations(m, gateway),
        ports: gateway.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port === 80 ? 80 : 443, protocol: "TCP" })),
      },
    },
  });
  return [istioBase, istiod, istioGateway];
}

function cloudnativePgRelease(m: Model): Release {
  return helmRelease({
    name: "cloudnative-pg",
    namespace: m.cloudnativePg.namespace,
    pin: m.cloudnativePg.chart,
    crds: true,
    values: { crds: { create: true }, monitoring: { podMonitorEnabled: false }, resources: size(m, "cnpgOperator") },
  });
}

function monitoringRelease(m: Model): Release {
  return helmRelease({
    name: "kube-prometheus-stack",
    namespace: m.monitoring.namespace,
    pin: m.monitoring.chart,
    crds: true,
    timeout: TEN_MINUTES,
    values: mergeValues(monitoringValues(m), monitoringValuesPatch(m.monitoring.alerting, m.notifications)),
  });
}

function monitoringValues(m: Model): Record<string, unknown> {
  const mon = m.monitoring;
  const log = m.logging;
  const pvc = (size: string) => ({
    volumeClaimTemplate: { spec: { storageClassName: m.storageClass, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } } },
  });
  return {
    crds: { enabled: true },
    // Pick up every ServiceMonitor and rule in the cluster, not only those labelled for this release.
    prometheus: {
      prometheusSpec: {
        retention: mon.retention,
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        storageSpec: pvc(mon.prometheusStorage),
        resources: size(m, "prometheus"),
      },
    },
    alertmanager: { alertmanagerSpec: { storage: pvc(mon.alertmanagerStorage), resources: size(m, "alertmanager") } },
    prometheusOperator: {
      resources: size(m, "prometheusOperator"),
      prometheusConfigReloader: { resources: size(m, "configReloader") },
      admissionWebhooks: { patch: { resources: size(m, "prometheusOperatorWebhookPatch") } },
    },
    "kube-state-metrics": { resources: size(m, "kubeStateMetrics") },
    "prometheus-node-exporter": { resources: size(m, "nodeExporter") },
    grafana: {
      resources: size(m, "grafana"),
      initChownData: { resources: size(m, "grafanaInit") },
      // The chart creates the admin login (a random password, kept across upgrades by its lookup). A declared
      // SealedSecret could only arrive with infra-configs, after this layer that waits for Grafana (upstream/secret-source).
      persistence: { enabled: true, size: mon.grafanaStorage, storageClassName: m.storageClass },
      sidecar: { dashboards: { enabled: true, label: "grafana_dashboard", labelValue: "1", searchNamespace: "ALL" }, resources: size(m, "grafanaSidecar") },
      additionalDataSources: [
        {
          name: "Loki",
          uid: "loki",
          type: "loki",
          access: "proxy",
          url: `http://${log.lokiHost}:${LOKI_PORT}`,
        },
      ],
    },
  };
}
