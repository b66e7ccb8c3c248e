/**
 * Flux notifications (issue 17): a Provider per notification target (its URL from the sealed Secret's
 * `address`), Alerts for every failure of the Flux objects the tree defines and for successful releases,
 * and a Receiver the Git host calls on push so a commit is applied at once instead of at the next poll,
 * published under /hook/ on the entry point the definition renders routes with.
 *
 * Providers, Alerts and the Receiver live beside the GitRepository in the root Kustomization: it is applied
 * first and needs nothing but Flux, so a failure of any later layer is reported. The route to the Receiver
 * is in infra-configs, after the entry point's controller (and for Gateway API its CRDs) exist.
 */
import { createHash } from "node:crypto";
import type { IAlert } from "@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1beta3/Alert";
import type { IProvider } from "@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1beta3/Provider";
import type { IReceiver } from "@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1/Receiver";
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import type { KubeObject, PlacedObject } from "../core/object.js";
import type { Model, NotificationsModel } from "../model/model.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";
import { CONFIGS } from "../model/layout.js";
import { MANAGED_BY, obj, place } from "./builders.js";

/** notification-controller's Service for incoming webhooks (port 80 -> the pod's 9292), as Flux installs it. */
export const WEBHOOK_RECEIVER_SERVICE = "webhook-receiver";
export const WEBHOOK_RECEIVER_SERVICE_PORT = 80;
/** Every Receiver's path starts here; the rest is sha256(token + name + namespace), hex. */
export const HOOK_PATH_PREFIX = "/hook/";

/** The Flux kinds whose failures the operator must hear about (what the tree creates: sources, Kustomizations, releases). */
export const WATCHED_KINDS = ["GitRepository", "HelmRepository", "Kustomization", "HelmRelease"] as const;

/** helm-controller's event messages for a release that went through; everything else at info is progress noise. */
export const RELEASE_SUCCEEDED = ["^Helm (install|upgrade) succeeded"];

export const FAILURES_ALERT = "flux-failures";
export const RELEASES_ALERT = "flux-releases";

export function providerName(target: string): string {
  return `notify-${target}`;
}

type WatchedKind = (typeof WATCHED_KINDS)[number];
type Source = { kind: WatchedKind; name: string; namespace: string };

/**
 * One event source per (kind, namespace) that holds such objects in the tree: an Alert watches its own
 * namespace unless told otherwise, and the releases live in every application namespace.
 */
export function eventSources(objects: readonly PlacedObject[], kinds: readonly WatchedKind[]): Source[] {
  const seen = new Map<string, Source>();
  for (const { object: o } of objects) {
    const kind = kinds.find((k) => k === o.kind);
    if (!kind || !o.apiVersion.includes(".toolkit.fluxcd.io/")) continue;
    const namespace = o.metadata.namespace ?? FLUX_NAMESPACE;
    seen.set(`${kind}/${namespace}`, { kind, name: "*", namespace });
  }
  return [...seen.values()].sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind) || a.namespace.localeCompare(b.namespace));
}

function provider(n: NotificationsModel, target: string): KubeObject {
  const t = n.targets.find((x) => x.name === target)!;
  const p: IProvider = {
    apiVersion: "notification.toolkit.fluxcd.io/v1beta3",
    kind: "Provider",
    metadata: { name: providerName(t.name), namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    // The address is the Secret's only: a webhook URL carries its credential in the path.
    spec: { type: t.type, secretRef: { name: t.secret } },
  };
  return obj(p);
}

function alert(name: string, target: string, severity: "error" | "info", sources: Source[], inclusionList?: string[]): KubeObject {
  const a: IAlert = {
    apiVersion: "notification.toolkit.fluxcd.io/v1beta3",
    kind: "Alert",
    metadata: { name, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    spec: {
      providerRef: { name: providerName(target) },
      eventSeverity: severity,
      eventSources: sources,
      ...(inclusionList ? { inclusionList } : {}),
    },
  };
  return obj(a);
}

function receiver(m: Model, r: NonNullable<NotificationsModel["receiver"]>): KubeObject {
  const o: IReceiver = {
    apiVersion: "notification.toolkit.fluxcd.io/v1",
    kind: "Receiver",
    metadata: { name: r.name, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    spec: {
      type: r.type,
      // GitHub signs each delivery with the token (X-Hub-Signature); ping is what it sends when the hook is added.
      ...(r.type === "github" ? { events: ["ping", "push"] } : {}),
      secretRef: { name: r.secret },
      resources: [{ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", name: m.gitops.repository, namespace: FLUX_NAMESPACE }],
    },
  };
  return obj(o);
}

/** The LAN entry point's route to the Receiver: only /hook/, so nothing else of notification-controller is published. */
function receiverRoute(m: Model, host: string): KubeObject {
  if (m.network.routes === "gateway-api") {
    return {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: WEBHOOK_RECEIVER_SERVICE, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
      spec: {
        parentRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: m.istio.gatewayName, namespace: m.istio.gatewayNamespace }],
        hostnames: [host],
        rules: [{ matches: [{ path: { type: "PathPrefix", value: HOOK_PATH_PREFIX } }], backendRefs: [{ name: WEBHOOK_RECEIVER_SERVICE, port: WEBHOOK_RECEIVER_SERVICE_PORT }] }],
      },
    };
  }
  const ing: IIngress = {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: WEBHOOK_RECEIVER_SERVICE, namespace: FLUX_NAMESPACE, labels: { ...MANAGED_BY } },
    spec: {
      ingressClassName: m.ingressNginx.className,
      rules: [
        {
          host,
          http: {
            paths: [{ path: HOOK_PATH_PREFIX, pathType: "Prefix", backend: { service: { name: WEBHOOK_RECEIVER_SERVICE, port: { number: WEBHOOK_RECEIVER_SERVICE_PORT } } } }],
          },
        },
      ],
    },
  };
  return obj(ing);
}

/** `others`: every other object of the tree, whose Flux objects the Alerts watch. */
export function synthNotifications(m: Model, others: readonly PlacedObject[]): PlacedObject[] {
  const n = m.notifications;
  if (!n) return [];
  const out = place(
    `${m.gitops.path}/notifications.yaml`,
    provider(n, n.flux),
    alert(FAILURES_ALERT, n.flux, "error", eventSources(others, WATCHED_KINDS)),
    alert(RELEASES_ALERT, n.flux, "info", eventSources(others, ["HelmRelease"]), RELEASE_SUCCEEDED),
    ...(n.receiver ? [receiver(m, n.receiver)] : []),
  );
  if (n.receiver) out.push(...place(`${CONFIGS}/notifications/${WEBHOOK_RECEIVER_SERVICE}.yaml`, receiverRoute(m, n.receiver.host)));
  return out;
}

/** The Receiver's URL as notification-controller serves it: status.webhookPath is /hook/ + hex sha256(token + name + namespace). */
export function receiverUrl(host: string, token: string, name: string, namespace: string = FLUX_NAMESPACE): string {
  return `https://${host}${HOOK_PATH_PREFIX}${createHash("sha256")
    .update(token + name + namespace)
    .digest("hex")}`;
}
