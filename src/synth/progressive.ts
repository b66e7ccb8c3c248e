/**
 * Progressive delivery (issue 19, item 3): Flagger's HelmRelease in infra-controllers (its CRDs from the chart's
 * crds/), and beside each component that declares a canary a Canary object that hands the component's route to
 * Flagger.
 *
 * Routing: with Gateway API routes (the Istio gateway) Flagger's istio provider writes the VirtualService itself,
 * bound to an Istio Gateway on the same gateway pods as the tree's Gateway API Gateway; the application chart then
 * renders no HTTPRoute for that component (apps.ts asks routeHandedToFlagger), so one path is never routed twice.
 * With ingress-nginx the chart keeps rendering the Ingress, which is Flagger's ingressRef: the nginx provider copies
 * it into a `-canary` Ingress and moves the weight there by annotation.
 */
import type { KubeObject, PlacedObject } from "../core/object.js";
import { PROMETHEUS_PORT } from "../core/well-known.js";
import { APPS, CONFIGS, CONTROLLERS } from "../model/layout.js";
import type { ComponentModel, Model } from "../model/model.js";
import { FLAGGER_API, FLAGGER_RELEASE } from "../model/progressive.js";
import { MANAGED_BY, helmRelease, obj, place } from "./builders.js";
import { size } from "./resources.js";

/** The Istio Gateway Flagger's VirtualServices bind to: an Istio VirtualService cannot name a Gateway API Gateway. */
export const canaryGatewayName = (m: Model) => `${m.istio.gatewayName}-canary`;
/** The kube-prometheus-stack release is named after its chart, so its Prometheus Service is <release>-prometheus. */
export const prometheusUrl = (m: Model) => `http://kube-prometheus-stack-prometheus.${m.monitoring.namespace}:${PROMETHEUS_PORT}`;
/** Flagger gives up on a canary whose Deployment is not ready by then (Flagger's own default). */
const PROGRESS_DEADLINE_SECONDS = 600;

export type CanaryProvider = "istio" | "nginx";

/** Which Flagger provider routes a component: the tree's routing decides. */
export function canaryProvider(m: Model): CanaryProvider {
  return m.network.routes === "gateway-api" ? "istio" : "nginx";
}

/** True when Flagger writes the component's route (its VirtualService), so the chart must not render an HTTPRoute. */
export function routeHandedToFlagger(m: Model, c: ComponentModel): boolean {
  return !!c.canary && !!c.route && canaryProvider(m) === "istio";
}

export function synthProgressive(m: Model): PlacedObject[] {
  const pd = m.progressiveDelivery;
  if (!pd) return [];
  const release = helmRelease({
    name: FLAGGER_RELEASE,
    namespace: pd.namespace,
    pin: pd.chart,
    // The CRDs are in the chart's crds/ folder (crd.create stays false so they are not rendered twice).
    crds: true,
    // Flagger's built-in Istio metrics run against Prometheus; istiod must exist before Flagger writes VirtualServices.
    dependsOn: [
      { name: "istiod", namespace: m.istio.namespace },
      { name: "kube-prometheus-stack", namespace: m.monitoring.namespace },
    ],
    values: {
      meshProvider: "istio",
      metricsServer: prometheusUrl(m),
      crd: { create: false },
      prometheus: { install: false },
      resources: size(m, "flagger"),
      // The chart's container context (its user and read-only root) completed to what "restricted" requires.
      securityContext: {
        enabled: true,
        context: {
          readOnlyRootFilesystem: true,
          runAsUser: 10001,
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        },
      },
    },
  });
  const canaries = m.components.filter((c) => c.canary && c.route && c.port);
  const gateway = canaryProvider(m) === "istio" && canaries.length ? place(`${CONFIGS}/gateway/canary-gateway.yaml`, canaryGateway(m)) : [];
  return [...place(`${CONTROLLERS}/flagger/helmrelease.yaml`, release), ...gateway, ...canaries.flatMap((c) => place(`${APPS}/${c.app}/${c.name}-canary.yaml`, canaryObject(m, c)))];
}

/** An Istio Gateway on the gateway pods the istio/gateway chart runs (its `istio` selector label), HTTP and HTTPS. */
export function canaryGateway(m: Model): KubeObject {
  return obj({
    apiVersion: "networking.istio.io/v1",
    kind: "Gateway",
    metadata: { name: canaryGatewayName(m), namespace: m.istio.gatewayNamespace, labels: { ...MANAGED_BY } },
    spec: {
      selector: { istio: m.istio.gatewayName },
      servers: [
        { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] },
        // The same certificate as the Gateway API listener (configs/gateway).
        { port: { number: 443, name: "https", protocol: "HTTPS" }, hosts: ["*"], tls: { mode: "SIMPLE", credentialName: "gateway-tls" } },
      ],
    },
  });
}

/** The Canary for one component (it must have a canary, a route and a port). */
export function canaryObject(m: Model, c: ComponentModel): KubeObject {
  const k = c.canary;
  if (!k || !c.route || !c.port) throw new Error(`${c.id} has no canary with a route and a port`);
  const provider = canaryProvider(m);
  const canaryHost = `${c.fullname}-canary.${c.namespace}`;
  const metrics = [
    { name: "request-success-rate", thresholdRange: { min: k.metrics.requestSuccessRate }, interval: k.metrics.interval },
    { name: "request-duration", thresholdRange: { max: k.metrics.requestDurationMs }, interval: k.metrics.interval },
  ];
  const webhooks =
    k.smokeTest !== "none" && c.health && m.progressiveDelivery?.loadtester
      ? [
          {
            name: "smoke-test",
            type: k.smokeTest,
            url: m.progressiveDelivery.loadtester,
            timeout: "30s",
            // The loadtester runs the command; curl -f fails on any status of 400 or more.
            metadata: { type: "cmd", cmd: `curl -sf --max-time 10 http://${canaryHost}:${c.servicePort}${c.health}` },
          },
        ]
      : [];
  const service =
    provider === "istio"
      ? {
          port: c.servicePort,
          targetPort: c.port,
          gateways: [`${m.istio.gatewayNamespace}/${canaryGatewayName(m)}`],
          hosts: ["*"],
          match: [{ uri: { prefix: c.route } }],
        }
      : { port: c.servicePort, targetPort: c.port };
  return obj({
    apiVersion: FLAGGER_API,
    kind: "Canary",
    metadata: { name: c.fullname, namespace: c.namespace, labels: { ...MANAGED_BY, "app.kubernetes.io/part-of": c.app, "app.kubernetes.io/component": c.name } },
    spec: {
      provider,
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: c.fullname },
      ...(provider === "nginx" ? { ingressRef: { apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: c.fullname } } : {}),
      progressDeadlineSeconds: PROGRESS_DEADLINE_SECONDS,
      service,
      analysis: {
        interval: k.interval,
        threshold: k.threshold,
        ...(k.stepWeights ? { stepWeights: k.stepWeights } : { stepWeight: k.stepWeight, maxWeight: k.maxWeight }),
        metrics,
        ...(webhooks.length ? { webhooks } : {}),
      },
    },
  });
}
