/**
 * Values for the kube-prometheus-stack HelmRelease that observability depends on, for the
 * release's synthesizer to merge into its values:
 *  - Alertmanager routing by severity (receivers come from the definition; nothing is sent by default),
 *  - the uid of Grafana's default Prometheus datasource, pinned so dashboards can name it,
 *  - kube-state-metrics custom resource state metrics for Flux (gotk_resource_info): Flux 2.1+
 *    controllers no longer export resource readiness themselves.
 */
import { SEVERITIES, type Severity } from "./rules.js";
import { PROMETHEUS_UID } from "./panels.js";

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

/** How often a still-firing alert is sent again, by severity. */
const REPEAT: Record<Exclude<Severity, "low">, string> = { critical: "1h", high: "4h", medium: "12h" };

/**
 * kube-prometheus-stack's own rules use warning/info/none; they ride with medium and low.
 * Keyed by our severity, so every one of ours has a route.
 */
const ALSO: Record<Severity, string[]> = { critical: [], high: [], medium: ["warning"], low: ["info", "none"] };

export function alertmanagerConfig(alerting: AlertingDef = {}): Record<string, unknown> {
  const route = (s: Severity) => alerting.routes?.[s] ?? (s === "low" ? NULL_RECEIVER : DEFAULT_RECEIVER);
  const declared = alerting.receivers ?? {};
  for (const s of SEVERITIES) {
    const r = route(s);
    if (r !== NULL_RECEIVER && r !== DEFAULT_RECEIVER && !(r in declared)) {
      throw new Error(`monitoring.alerting.routes.${s}: receiver '${r}' is not declared; add it under monitoring.alerting.receivers or route ${s} to '${DEFAULT_RECEIVER}'`);
    }
  }
  const receivers = [
    { name: NULL_RECEIVER },
    { name: DEFAULT_RECEIVER, ...(declared[DEFAULT_RECEIVER] ?? {}) },
    ...Object.keys(declared)
      .filter((n) => n !== DEFAULT_RECEIVER && n !== NULL_RECEIVER)
      .sort()
      .map((name) => ({ name, ...declared[name] })),
  ];
  const severityMatcher = (s: Severity) => {
    const values = [s, ...ALSO[s]];
    return values.length === 1 ? `severity = "${s}"` : `severity =~ "${values.join("|")}"`;
  };
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: DEFAULT_RECEIVER,
      group_by: ["alertname", "namespace"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "12h",
      routes: [
        // kube-prometheus-stack's heartbeat and inhibitor helpers are not for people.
        { receiver: NULL_RECEIVER, matchers: ['alertname =~ "Watchdog|InfoInhibitor"'] },
        ...SEVERITIES.map((s) => ({
          receiver: route(s),
          matchers: [severityMatcher(s)],
          ...(s === "low" ? {} : { repeat_interval: REPEAT[s] }),
        })),
      ],
    },
    // The critical one of a same-named pair silences its lower twin (kube-prometheus-stack ships warning/critical pairs).
    inhibit_rules: [{ source_matchers: ['severity = "critical"'], target_matchers: ['severity =~ "high|medium|low|warning|info"'], equal: ["namespace", "alertname"] }],
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
export function monitoringValuesPatch(alerting?: AlertingDef): Record<string, unknown> {
  return {
    alertmanager: { config: alertmanagerConfig(alerting) },
    grafana: {
      sidecar: {
        // The chart's default uid today (88.x) is "prometheus"; pinned so a chart bump cannot break every dashboard.
        datasources: { defaultDatasourceEnabled: true, isDefaultDatasource: true, uid: PROMETHEUS_UID },
      },
    },
    "kube-state-metrics": fluxStateMetricsValues(),
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
