/**
 * Notifications from the definition (issue 17): the targets the operator is told through, and the Secrets
 * they need. A target's webhook URL is one operator-supplied value, sealed twice: in flux-system for the
 * Providers and in the monitoring namespace for Alertmanager, which mounts it as a file.
 */
import { FLUX_NAMESPACE } from "../core/well-known.js";
import type { ClusterDef, InfraDef } from "./schema.js";
import type { DeclaredSecret, NotificationsModel } from "./model.js";

/** The alert route value that sends nothing, chosen explicitly. */
export const DROP = "drop";

/** The Receiver that lets the Git host trigger a reconcile; also the name its webhook path is hashed with. */
export const RECEIVER_NAME = "git-push";

export const notifySecretName = (target: string) => `notify-${target}`;
export const RECEIVER_SECRET = "git-push-receiver-token";

export function notificationsOf(c: ClusterDef, infra: InfraDef): NotificationsModel | undefined {
  const n = infra.notifications;
  if (!n) return undefined;
  const targets = Object.entries(n.targets)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, t]) => ({ name, type: t.type, secret: notifySecretName(name) }));
  return {
    targets,
    alerts: n.alerts,
    flux: n.flux,
    ...(n.receiver ? { receiver: { name: RECEIVER_NAME, type: n.receiver.type, host: c.network.hostnames[n.receiver.host]?.[0] ?? "", secret: RECEIVER_SECRET } } : {}),
  };
}

export function notificationSecrets(n: NotificationsModel | undefined, monitoringNamespace: string): DeclaredSecret[] {
  if (!n) return [];
  const out: DeclaredSecret[] = [];
  for (const t of n.targets) {
    const what = t.type === "discord" ? "Discord webhook URL" : "webhook URL";
    out.push({
      namespace: FLUX_NAMESPACE,
      name: t.secret,
      description: `${what} of notification target ${t.name} (Flux Provider)`,
      keys: { address: { from: "operator" } },
      owner: `notifications:${t.name}`,
    });
    out.push({
      namespace: monitoringNamespace,
      name: t.secret,
      description: `${what} of notification target ${t.name} (Alertmanager, mounted as a file)`,
      keys: { address: { from: "same-as", namespace: FLUX_NAMESPACE, name: t.secret, key: "address" } },
      owner: `notifications:${t.name}`,
    });
  }
  if (n.receiver) {
    out.push({
      namespace: FLUX_NAMESPACE,
      name: n.receiver.secret,
      description: "Token of the Flux Receiver the Git host calls on push (its webhook secret; `bk notify receiver-url` prints both)",
      keys: { token: { from: "generate" } },
      owner: "notifications:receiver",
    });
  }
  return out;
}
