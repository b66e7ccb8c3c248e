/**
 * Values for the kube-prometheus-stack HelmRelease that observability depends on, for the
 * release's synthesizer to merge into its values:
 *  - Alertmanager routing by severity to the definition's notification targets (their URLs mounted from
 *    sealed Secrets), with inhibition so one outage is told once,
 *  - the uid of Grafana's default Prometheus datasource, pinned so dashboards can name it,
 *  - kube-state-metrics: the key-backup annotation of Secrets (SealedSecretsKeyNotBackedUp reads it) and
 *    custom resource state metrics for Flux (gotk_resource_info): Flux 2.1+
 *    controllers no longer export resource readiness themselves.
 */
import { SEVERITIES, type Severity } from "./rules.js";
import { PROMETHEUS_UID } from "./panels.js";
import { DROP } from "../../model/notifications.js";
import { KEY_BACKED_UP_ANNOTATION } from "../../core/well-known.js";
import type { NotificationsModel, NotifyTargetModel } from "../../model/model.js";

/** Receiver that drops what it gets (Alertmanager needs a receiver on every route). */
export const NULL_RECEIVER = "null";
export const DEFAULT_RECEIVER = "default";

/**
 * Alerting settings from the definition (proposed field `monitoring.alerting`).
 * Receiver bodies are Alertmanager receiver configs without the name (webhook_configs,
 * email_configs, ...). Keep secrets out of Git: use the *_file fields (url_file,
 * auth_password_file, ...) pointing at a Secret mounted through alertmanagerSpec.secrets.
 */
export interface AlertingDef {
  receivers?: Record<string, Record<string, unknown>>;
  /** Receiver per severity; default: critical, high and medium to "default", low to "null". */
  routes?: Partial<Record<Severity, string>>;
}

/**
 * How each severity is told: critical and high at once, medium batched, low as a daily digest (all low
 * alerts in one group, at most one message a day). A still-firing alert is sent again after repeat.
 */
const TIMING: Record<Severity, { group_wait: string; group_interval: string; repeat_interval: string; group_by?: string[] }> = {
  critical: { group_wait: "10s", group_interval: "1m", repeat_interval: "1h" },
  high: { group_wait: "30s", group_interval: "5m", repeat_interval: "4h" },
  medium: { group_wait: "5m", group_interval: "30m", repeat_interval: "12h" },
  low: { group_wait: "1h", group_interval: "24h", repeat_interval: "24h", group_by: ["severity"] },
};

/**
 * kube-prometheus-stack's own rules use warning/info/none; they ride with medium and low.
 * Keyed by our severity, so every one of ours has a route.
 */
const ALSO: Record<Severity, string[]> = { critical: [], high: [], medium: ["warning"], low: ["info", "none"] };

/** Where the chart's Alertmanager mounts alertmanagerSpec.secrets: /etc/alertmanager/secrets/<secret>/<key>. */
export const ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets";

export function notifyReceiverName(target: string): string {
  return `notify-${target}`;
}

/** The Alertmanager receiver of a notification target: its URL read from the mounted Secret, never inline. */
export function notifyReceiver(t: NotifyTargetModel): Record<string, unknown> {
  const file = `${ALERTMANAGER_SECRETS_DIR}/${t.secret}/address`;
  return t.type === "discord"
    ? { name: notifyReceiverName(t.name), discord_configs: [{ webhook_url_file: file, send_resolved: true }] }
    : { name: notifyReceiverName(t.name), webhook_configs: [{ url_file: file, send_resolved: true }] };
}

/**
 * One outage pages once: a firing alert silences the lower severities of the same alert in the same namespace
 * (kube-prometheus-stack ships warning/critical pairs; ours escalate the same way).
 */
export const INHIBIT_RULES = [
  { source_matchers: ['severity = "critical"'], target_matchers: ['severity =~ "high|medium|low|warning|info"'], equal: ["namespace", "alertname"] },
  { source_matchers: ['severity = "high"'], target_matchers: ['severity =~ "medium|low|warning|info"'], equal: ["namespace", "alertname"] },
  { source_matchers: ['severity = "medium"'], target_matchers: ['severity =~ "low|info"'], equal: ["namespace", "alertname"] },
];

/** The receiver of a severity: monitoring.alerting's own route first, then the notification target, else the old default. */
function routeOf(alerting: AlertingDef, notifications: NotificationsModel | undefined, s: Severity): string {
  const own = alerting.routes?.[s];
  if (own) return own;
  if (notifications) return notifications.alerts[s] === DROP ? NULL_RECEIVER : notifyReceiverName(notifications.alerts[s]);
  return s === "low" ? NULL_RECEIVER : DEFAULT_RECEIVER;
}

export function alertmanagerConfig(alerting: AlertingDef = {}, notifications?: NotificationsModel): Record<string, unknown> {
  const route = (s: Severity) => routeOf(alerting, notifications, s);
  const declared = alerting.receivers ?? {};
  const targets = (notifications?.targets ?? []).map(notifyReceiver);
  const known = new Set([NULL_RECEIVER, DEFAULT_RECEIVER, ...Object.keys(declared), ...targets.map((t) => t.name as string)]);
  for (const s of SEVERITIES) {
    const r = route(s);
    if (!known.has(r)) {
      throw new Error(`monitoring.alerting.routes.${s}: receiver '${r}' is not declared; add it under monitoring.alerting.receivers or route ${s} to '${DEFAULT_RECEIVER}'`);
    }
  }
  const receivers = [
    { name: NULL_RECEIVER },
    { name: DEFAULT_RECEIVER, ...(declared[DEFAULT_RECEIVER] ?? {}) },
    ...[
      ...Object.keys(declared)
        .filter((n) => n !== DEFAULT_RECEIVER && n !== NULL_RECEIVER)
        .map((name) => ({ name, ...declared[name] })),
      ...targets,
    ].sort((a, b) => String(a.name).localeCompare(String(b.name))),
  ];
  const severityMatcher = (s: Severity) => {
    const values = [s, ...ALSO[s]];
    return values.length === 1 ? `severity = "${s}"` : `severity =~ "${values.join("|")}"`;
  };
  // An alert without a known severity is told like a critical one: unrouted must never mean unseen.
  const fallback = notifications && route("critical") !== NULL_RECEIVER ? route("critical") : DEFAULT_RECEIVER;
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: fallback,
      group_by: ["alertname", "namespace"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "12h",
      routes: [
        // kube-prometheus-stack's heartbeat and inhibitor helpers are not for people.
        { receiver: NULL_RECEIVER, matchers: ['alertname =~ "Watchdog|InfoInhibitor"'] },
        // A dropped severity needs no timing: nothing is sent.
        ...SEVERITIES.map((s) => ({ receiver: route(s), matchers: [severityMatcher(s)], ...(route(s) === NULL_RECEIVER ? {} : TIMING[s]) })),
      ],
    },
    inhibit_rules: INHIBIT_RULES,
    receivers,
    templates: ["/etc/alertmanager/config/*.tmpl"],
  };
}

const FLUX_RESOURCES = [
  { group: "kustomize.toolkit.fluxcd.io", version: "v1", kind: "Kustomization", plural: "kustomizations", revision: ["status", "lastAppliedRevision"] },
  { group: "helm.toolkit.fluxcd.io", version: "v2", kind: "HelmRelease", plural: "helmreleases", revision: ["status", "lastAttemptedRevision"] },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "GitRepository", plural: "gitrepositories", revision: ["status", "artifact", "revision"] },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "HelmRepository", plural: "helmrepositories", revision: ["status", "artifact", "revision"] },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "HelmChart", plural: "helmcharts", revision: ["status", "artifact", "revision"] },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "OCIRepository", plural: "ocirepositories", revision: ["status", "artifact", "revision"] },
] as const;

/**
 * kube-state-metrics values that export gotk_resource_info{customresource_kind, exported_namespace,
 * name, ready, suspended, revision} for the Flux kinds, and the RBAC to list them.
 */
export function fluxStateMetricsValues(): Record<string, unknown> {
  const groups = [...new Set(FLUX_RESOURCES.map((r) => r.group))];
  return {
    rbac: {
      extraRules: groups.map((g) => ({ apiGroups: [g], resources: FLUX_RESOURCES.filter((r) => r.group === g).map((r) => r.plural), verbs: ["list", "watch"] })),
    },
    customResourceState: {
      enabled: true,
      config: {
        kind: "CustomResourceStateMetrics",
        spec: {
          resources: FLUX_RESOURCES.map((r) => ({
            groupVersionKind: { group: r.group, version: r.version, kind: r.kind },
            metricNamePrefix: "gotk",
            metrics: [
              {
                name: "resource_info",
                help: "The current state of a Flux resource.",
                each: { type: "Info", info: { labelsFromPath: { name: ["metadata", "name"] } } },
                labelsFromPath: {
                  exported_namespace: ["metadata", "namespace"],
                  ready: ["status", "conditions", "[type=Ready]", "status"],
                  suspended: ["spec", "suspend"],
                  revision: [...r.revision],
                },
              },
            ],
          })),
        },
      },
    },
  };
}

/** Everything observability needs in the kube-prometheus-stack values; deep-merge it into them. */
export function monitoringValuesPatch(alerting?: AlertingDef, notifications?: NotificationsModel): Record<string, unknown> {
  const secrets = (notifications?.targets ?? []).map((t) => t.secret);
  return {
    alertmanager: { config: alertmanagerConfig(alerting, notifications), ...(secrets.length ? { alertmanagerSpec: { secrets } } : {}) },
    grafana: {
      sidecar: {
        // The chart's default uid today (88.x) is "prometheus"; pinned so a chart bump cannot break every dashboard.
        datasources: { defaultDatasourceEnabled: true, isDefaultDatasource: true, uid: PROMETHEUS_UID },
      },
    },
    "kube-state-metrics": { ...fluxStateMetricsValues(), metricAnnotationsAllowList: [`secrets=[${KEY_BACKED_UP_ANNOTATION}]`] },
  };
}

/** Deep merge of Helm values: maps merge key by key, everything else (lists too) is replaced by `over`. */
export function mergeValues(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(b) && isMap(v) ? mergeValues(b, v) : v;
  }
  return out;
}
