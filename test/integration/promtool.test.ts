/**
 * The synthesized alerting rules and dashboard queries, checked by a real promtool:
 *  - `promtool check rules` on every PrometheusRule's spec written as a rule file;
 *  - `promtool test rules` with, for every alert, input series that fire it (with the expected
 *    labels and rendered annotations) and input series that must not;
 *  - every Prometheus query of every dashboard as a recording rule through `promtool check rules`.
 * The cases come from the table below; an alert without a case fails the test. Missing promtool
 * is a failure.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import type { PlacedObject } from "../../src/core/object.js";
import { loadDefinition } from "../../src/model/load.js";
import type { ComponentModel, Model } from "../../src/model/model.js";
import { toolPath } from "../../src/adapters/tools.js";
import { synthesize } from "../../src/synth/index.js";
import { dashboardQueries, type Json } from "../../src/synth/observability/panels.js";
import { REPO_ROOT } from "../helpers/definition.js";

type Labels = Record<string, string>;

function resolvePromtool(): string | undefined {
  try {
    return toolPath("promtool");
  } catch {
    // not built into the tools cache; the explicit locations below may still have it
  }
  const fromEnv = process.env["BK_PROMTOOL"];
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  if (existsSync("/tmp/bk-tool-promtool")) {
    const p = readFileSync("/tmp/bk-tool-promtool", "utf8").trim();
    if (p && existsSync(p)) return p;
  }
  return undefined;
}

const PROMTOOL = resolvePromtool();

function promtool(args: string[], cwd: string): { status: number | null; out: string } {
  if (!PROMTOOL) {
    assert.fail("promtool not found: tried toolPath('promtool') (src/adapters/tools.ts), $BK_PROMTOOL and /tmp/bk-tool-promtool. " + "Build it with `npm run tools` or set BK_PROMTOOL=/path/to/promtool.");
  }
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

// ---------------------------------------------------------------------------------------------
// The table: alert name -> scenarios. `expect: []` means the alert must not fire.

interface Series {
  series: string;
  values: string;
}

interface Scenario {
  name: string;
  series: Series[];
  expect: Labels[];
  /** Default 20m. */
  evalTime?: string;
}

const s = (metric: string, labels: Labels, values: string): Series => ({
  series: `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ")}}`,
  values,
});

/** The common shape: one input that fires with these labels, one close to it that does not. */
function firesAndNot(firing: Series[], quiet: Series[], labels: Labels[], evalTime?: string): Scenario[] {
  const t = evalTime ? { evalTime } : {};
  return [
    { name: "fires", series: firing, expect: labels, ...t },
    { name: "quiet", series: quiet, expect: [], ...t },
  ];
}

function serviceDown(job: string, target: Labels): Scenario[] {
  const up = (v: string) => [s("up", { job, ...target }, v)];
  return [...firesAndNot(up("0x30"), up("1x30"), [{ job, severity: "critical" }]), { name: "no target at all", series: [s("up", { job: "something-else" }, "1x30")], expect: [{ job, severity: "critical" }] }];
}

function deploymentDown(m: Model, optional: boolean): Scenario[] {
  const out: Scenario[] = [];
  const severity = optional ? "high" : "critical";
  for (const app of m.apps) {
    const live = app.components.filter((c) => c.replicas > 0);
    const mine = live.filter((c) => c.optional === optional);
    const other = live.filter((c) => c.optional !== optional);
    if (!mine.length) continue;
    const c = mine[0]!;
    const dep = (name: string, available: string, desired: string) => [
      s("kube_deployment_status_replicas_available", { namespace: app.namespace, deployment: name, job: "kube-state-metrics" }, available),
      s("kube_deployment_spec_replicas", { namespace: app.namespace, deployment: name, job: "kube-state-metrics" }, desired),
    ];
    out.push(
      { name: `${app.name}: fires`, series: dep(c.fullname, "0x30", "1x30"), expect: [{ namespace: app.namespace, deployment: c.fullname, app: app.name, severity }] },
      { name: `${app.name}: available`, series: dep(c.fullname, "1x30", "1x30"), expect: [] },
      { name: `${app.name}: scaled to zero on purpose`, series: dep(c.fullname, "0x30", "0x30"), expect: [] },
      { name: `${app.name}: not a deployment of the definition`, series: dep(`${app.name}-not-defined`, "0x30", "1x30"), expect: [] },
    );
    if (other[0]) out.push({ name: `${app.name}: the other kind of component`, series: dep(other[0].fullname, "0x30", "1x30"), expect: [] });
  }
  return out;
}

const POD = { namespace: "ffl", pod: "ffl-backend-7d9f8c6b5-abcde", container: "backend" };

function metricsComponent(m: Model): ComponentModel {
  const c = m.components.find((x) => x.metrics);
  assert.ok(c, "the definition has no component with metrics");
  return c;
}

function buckets(metric: string, labels: Labels, values: Record<string, string>): Series[] {
  return Object.entries(values).map(([le, v]) => s(metric, { ...labels, le }, v));
}

function gotk(kind: string, ns: string, name: string, ready: string, suspended: string, values = "1x30"): Series {
  return s("gotk_resource_info", { customresource_group: "x.toolkit.fluxcd.io", customresource_kind: kind, exported_namespace: ns, name, ready, suspended, job: "kube-state-metrics" }, values);
}

const TABLE: Record<string, (m: Model) => Scenario[]> = {
  KubeAPIServerDown: () => serviceDown("apiserver", { instance: "192.168.49.2:8443", namespace: "default", service: "kubernetes" }),
  IngressControllerDown: (m) => serviceDown("ingress-nginx", { namespace: m.ingressNginx.namespace, pod: "ingress-nginx-controller-abc-xyz" }),
  RegistryDown: (m) => serviceDown("registry", { namespace: m.registryServer.namespace, pod: "registry-abc-xyz" }),
  ChartMuseumDown: (m) => serviceDown("chartmuseum", { namespace: m.chartmuseum.namespace, pod: "chartmuseum-abc-xyz" }),
  PostgreSQLDown: (m) => {
    const cluster = m.postgres.clusterName;
    const up = (v: string) => [s("cnpg_collector_up", { cluster, job: "postgres", namespace: m.postgres.namespace, pod: `${cluster}-1` }, v)];
    return [...firesAndNot(up("0x30"), up("1x30"), [{ cluster, severity: "critical" }]), { name: "not scraped", series: [s("up", { job: "postgres" }, "0x30")], expect: [{ cluster, severity: "critical" }] }];
  },
  ApplicationComponentDown: (m) => deploymentDown(m, false),
  ApplicationOptionalComponentDown: (m) => deploymentDown(m, true),
  NodeMemoryPressure: () =>
    firesAndNot(
      [s("kube_node_status_condition", { node: "beckerbox", condition: "MemoryPressure", status: "true" }, "1x30")],
      [
        s("kube_node_status_condition", { node: "beckerbox", condition: "MemoryPressure", status: "true" }, "0x30"),
        s("kube_node_status_condition", { node: "beckerbox", condition: "DiskPressure", status: "true" }, "1x30"),
      ],
      [{ node: "beckerbox", severity: "high" }],
    ),
  NodeDiskPressure: () =>
    firesAndNot(
      [s("kube_node_status_condition", { node: "beckerbox", condition: "DiskPressure", status: "true" }, "1x30")],
      [s("kube_node_status_condition", { node: "beckerbox", condition: "DiskPressure", status: "false" }, "1x30")],
      [{ node: "beckerbox", severity: "high" }],
    ),
  NodeMemoryAlmostFull: () => {
    const mem = (avail: string) => [
      s("node_memory_MemAvailable_bytes", { instance: "192.168.49.2:9100", job: "node-exporter" }, avail),
      s("node_memory_MemTotal_bytes", { instance: "192.168.49.2:9100", job: "node-exporter" }, "100x30"),
    ];
    return firesAndNot(mem("5x30"), mem("50x30"), [{ instance: "192.168.49.2:9100", severity: "high" }]);
  },
  NodeFilesystemAlmostFull: () => {
    const fs = (mountpoint: string, fstype: string, avail: string) => {
      const l = { instance: "192.168.49.2:9100", mountpoint, fstype, device: "/dev/vda1" };
      return [s("node_filesystem_avail_bytes", l, avail), s("node_filesystem_size_bytes", l, "100x30")];
    };
    return firesAndNot(fs("/", "ext4", "10x30"), [...fs("/", "ext4", "50x30"), ...fs("/run", "tmpfs", "1x30")], [{ instance: "192.168.49.2:9100", mountpoint: "/", severity: "high" }]);
  },
  PersistentVolumeClaimAlmostFull: () => {
    const pvc = (used: string) => {
      const l = { namespace: "infra", persistentvolumeclaim: "postgres-1", node: "beckerbox" };
      return [s("kubelet_volume_stats_used_bytes", l, used), s("kubelet_volume_stats_capacity_bytes", l, "100x30")];
    };
    return firesAndNot(pvc("90x30"), pvc("50x30"), [{ namespace: "infra", persistentvolumeclaim: "postgres-1", severity: "high" }]);
  },
  ContainerRestartingRepeatedly: () => {
    const r = (v: string) => [s("kube_pod_container_status_restarts_total", { ...POD, job: "kube-state-metrics" }, v)];
    return [...firesAndNot(r("0+1x30"), r("2x30"), [{ ...POD, severity: "high" }]), { name: "restarted once", series: r("0x10 1x20"), expect: [] }];
  },
  ContainerRestarted: () => {
    const r = (v: string) => [s("kube_pod_container_status_restarts_total", { ...POD, job: "kube-state-metrics" }, v)];
    return [...firesAndNot(r("0x10 1x20"), r("2x30"), [{ ...POD, severity: "low" }]), { name: "restarting repeatedly is high, not low", series: r("0+1x30"), expect: [] }];
  },
  PodCrashLooping: () =>
    firesAndNot(
      [s("kube_pod_container_status_waiting_reason", { ...POD, reason: "CrashLoopBackOff" }, "1x30")],
      [s("kube_pod_container_status_waiting_reason", { ...POD, reason: "ContainerCreating" }, "1x30")],
      [{ ...POD, severity: "high" }],
    ),
  ImagePullFailing: () => [
    ...firesAndNot(
      [s("kube_pod_container_status_waiting_reason", { ...POD, reason: "ImagePullBackOff" }, "1x30")],
      [s("kube_pod_container_status_waiting_reason", { ...POD, reason: "CrashLoopBackOff" }, "1x30")],
      [{ ...POD, severity: "high" }],
    ),
    { name: "ErrImagePull", series: [s("kube_pod_container_status_waiting_reason", { ...POD, reason: "ErrImagePull" }, "1x30")], expect: [{ ...POD, severity: "high" }] },
  ],
  KubeJobFailed: () =>
    firesAndNot(
      [s("kube_job_failed", { namespace: "ffl", job_name: "ffl-backend-migrate", condition: "true" }, "1x30")],
      [s("kube_job_failed", { namespace: "ffl", job_name: "ffl-backend-migrate", condition: "true" }, "0x30"), s("kube_job_failed", { namespace: "ffl", job_name: "ffl-backend-migrate", condition: "false" }, "1x30")],
      [{ namespace: "ffl", job_name: "ffl-backend-migrate", severity: "high" }],
    ),
  PostgresBackupMissed: (m) => {
    const ns = m.postgres.namespace;
    const last = (cronjob: string, v: string) => [s("kube_cronjob_status_last_successful_time", { namespace: ns, cronjob }, v)];
    // evaluated at t=20m (time() = 1200): a last success 100000 s before the start is 28 hours old, 88800 s before it 25 hours
    return [
      ...firesAndNot(last("postgres-backup", "-100000x30"), last("postgres-backup", "-88800x30"), [{ namespace: ns, cronjob: "postgres-backup", severity: "high" }]),
      { name: "another CronJob", series: last("something-else", "-100000x30"), expect: [] },
    ];
  },
  FluxKustomizationNotReady: () => [
    ...firesAndNot(
      [gotk("Kustomization", "flux-system", "apps", "False", "false")],
      [gotk("Kustomization", "flux-system", "apps", "True", "false")],
      [{ exported_namespace: "flux-system", name: "apps", severity: "high" }],
    ),
    { name: "suspended", series: [gotk("Kustomization", "flux-system", "apps", "False", "true")], expect: [] },
    { name: "a HelmRelease", series: [gotk("HelmRelease", "ffl", "ffl-backend", "False", "false")], expect: [] },
  ],
  FluxHelmReleaseNotReady: () => [
    ...firesAndNot([gotk("HelmRelease", "ffl", "ffl-backend", "False", "")], [gotk("HelmRelease", "ffl", "ffl-backend", "Unknown", "")], [{ exported_namespace: "ffl", name: "ffl-backend", severity: "high" }]),
    { name: "suspended", series: [gotk("HelmRelease", "ffl", "ffl-backend", "False", "true")], expect: [] },
  ],
  FluxSourceNotReady: () =>
    firesAndNot(
      [gotk("HelmRepository", "flux-system", "bk-charts", "False", "false")],
      [gotk("HelmRepository", "flux-system", "bk-charts", "True", "false"), gotk("Kustomization", "flux-system", "apps", "False", "false")],
      [{ customresource_kind: "HelmRepository", exported_namespace: "flux-system", name: "bk-charts", severity: "high" }],
    ),
  FluxStateMetricsMissing: () =>
    firesAndNot([s("up", { job: "kube-state-metrics" }, "1x60")], [gotk("Kustomization", "flux-system", "apps", "True", "false", "1x60")], [{ customresource_kind: "Kustomization", severity: "medium" }], "40m"),
  FluxReconciliationSlow: () => {
    const l = { kind: "HelmRelease", name: "ffl-backend", namespace: "ffl", job: "helm-controller" };
    const slow = { "10": "0x60", "60": "0x60", "300": "0x60", "600": "0+1x60", "+Inf": "0+1x60" };
    const fast = { "10": "0+1x60", "60": "0+1x60", "300": "0+1x60", "600": "0+1x60", "+Inf": "0+1x60" };
    return firesAndNot(
      buckets("gotk_reconcile_duration_seconds_bucket", l, slow),
      buckets("gotk_reconcile_duration_seconds_bucket", l, fast),
      [{ kind: "HelmRelease", name: "ffl-backend", namespace: "ffl", severity: "medium" }],
      "50m",
    );
  },
  FluxResourceSuspended: () =>
    firesAndNot(
      [gotk("HelmRelease", "ffl", "ffl-backend", "True", "true", "1x100")],
      [gotk("HelmRelease", "ffl", "ffl-backend", "True", "false", "1x100")],
      [{ customresource_kind: "HelmRelease", exported_namespace: "ffl", name: "ffl-backend", severity: "low" }],
      "90m",
    ),
  SealedSecretUnsealFailed: () => {
    const e = (v: string) => [s("sealed_secrets_controller_unseal_errors_total", { namespace: "ffl", reason: "unseal", job: "sealed-secrets" }, v)];
    return firesAndNot(e("0+1x30"), e("3x30"), [{ namespace: "ffl", reason: "unseal", severity: "high" }]);
  },
  SealedSecretNotSynced: () => {
    const c = (condition: string, v: string) => [s("sealed_secrets_controller_condition_info", { namespace: "ffl", name: "ffl-backend", condition, job: "sealed-secrets" }, v)];
    return firesAndNot(c("Synced", "-1x30"), [...c("Synced", "1x30"), ...c("Other", "-1x30")], [{ namespace: "ffl", name: "ffl-backend", severity: "high" }]);
  },
  CertificateExpiringSoon: () => {
    const l = { namespace: "registry", name: "registry-tls", issuer_name: "beckerkube-ca", issuer_kind: "ClusterIssuer", issuer_group: "cert-manager.io", job: "cert-manager" };
    // evaluated at t=20m (time() = 1200): expiring in 10 days fires, in 20 days does not
    return firesAndNot(
      [s("certmanager_certificate_expiration_timestamp_seconds", l, `${1200 + 10 * 86400}x30`)],
      [s("certmanager_certificate_expiration_timestamp_seconds", l, `${1200 + 20 * 86400}x30`)],
      [{ namespace: "registry", name: "registry-tls", severity: "high" }],
    );
  },
  CertificateNotReady: () => {
    const c = (condition: string, v: string) => s("certmanager_certificate_ready_status", { namespace: "registry", name: "registry-tls", condition, job: "cert-manager" }, v);
    return firesAndNot([c("False", "1x30"), c("True", "0x30")], [c("False", "0x30"), c("True", "1x30")], [{ namespace: "registry", name: "registry-tls", severity: "high" }]);
  },
  ApplicationHighLatency: (m) => {
    const c = metricsComponent(m);
    const l = { namespace: c.namespace, job: c.fullname, handler: "/api" };
    const slow = { "0.5": "0+1x40", "1": "0+2x40", "5": "0+100x40", "+Inf": "0+100x40" };
    const fast = { "0.5": "0+100x40", "1": "0+100x40", "5": "0+100x40", "+Inf": "0+100x40" };
    const b = (labels: Labels, v: Record<string, string>) => buckets("http_request_duration_seconds_bucket", labels, v);
    return [
      ...firesAndNot(b(l, slow), b(l, fast), [{ namespace: c.namespace, job: c.fullname, severity: "medium" }], "30m"),
      { name: "a job that is not a component of the definition", series: b({ ...l, job: `${c.app}-not-defined` }, slow), expect: [], evalTime: "30m" },
    ];
  },
  ApplicationHighErrorRate: (m) => {
    const c = metricsComponent(m);
    const req = (code: string, v: string) => s("http_requests_total", { namespace: c.namespace, job: c.fullname, code, method: "GET" }, v);
    return firesAndNot([req("500", "0+10x40"), req("200", "0+90x40")], [req("500", "0+1x40"), req("200", "0+99x40")], [{ namespace: c.namespace, job: c.fullname, severity: "medium" }], "30m");
  },
  ContainerCPUThrottled: () => {
    const cpu = (throttled: string) => [s("container_cpu_cfs_throttled_periods_total", { ...POD, job: "kubelet" }, throttled), s("container_cpu_cfs_periods_total", { ...POD, job: "kubelet" }, "0+100x40")];
    return firesAndNot(cpu("0+50x40"), cpu("0+10x40"), [{ ...POD, severity: "medium" }], "30m");
  },
  SealedSecretsKeyNotBackedUp: (m) => {
    const ns = m.sealedSecrets.namespace;
    const ksm = { namespace: ns, job: "kube-state-metrics" };
    const key = (secret: string) => s("kube_secret_created", { ...ksm, secret }, "600x30");
    const marked = (secret: string, when: string) => s("kube_secret_annotations", { ...ksm, secret, annotation_beckerkube_io_key_backed_up: when }, "1x30");
    // kube-state-metrics exports the allowlisted annotation as an empty label on Secrets that lack it.
    return [
      ...firesAndNot(
        [key("sealed-secrets-keyabcde"), marked("sealed-secrets-keyabcde", "")],
        [key("sealed-secrets-keyabcde"), marked("sealed-secrets-keyabcde", "2026-12-04T19:00:00Z")],
        [{ namespace: ns, secret: "sealed-secrets-keyabcde", severity: "high" }],
        "20m",
      ),
      {
        name: "one of two keys backed up",
        series: [key("sealed-secrets-keyaaaaa"), marked("sealed-secrets-keyaaaaa", "2026-12-04T19:00:00Z"), key("sealed-secrets-keybbbbb")],
        expect: [{ namespace: ns, secret: "sealed-secrets-keybbbbb", severity: "high" }],
        evalTime: "20m",
      },
      { name: "another secret", series: [s("kube_secret_created", { ...ksm, secret: "grafana-admin" }, "600x30")], expect: [], evalTime: "20m" },
    ];
  },
  VolumeBackupOutOfSync: () => {
    // volsync_volume_out_of_sync as the VolSync controller exports it (internal/controller/metrics.go labels).
    const vs = (role: string, v: string, name = "registry") =>
      s("volsync_volume_out_of_sync", { obj_name: name, obj_namespace: "registry", role, method: "restic", job: "volsync-metrics", namespace: "volsync-system" }, v);
    return [
      ...firesAndNot([vs("source", "1x480")], [vs("source", "0x480")], [{ obj_name: "registry", obj_namespace: "registry", severity: "high" }], "7h"),
      { name: "overdue for less than the grace (a long run)", series: [vs("source", "0x120 1x360")], expect: [], evalTime: "7h" },
      { name: "a restore destination is no backup", series: [vs("destination", "1x480")], expect: [], evalTime: "7h" },
    ];
  },
  VolSyncMetricsAbsent: (m) => {
    const up = (v: string) => [s("up", { job: "volsync-metrics", namespace: m.volumeBackups!.namespace, service: "volsync-metrics", endpoint: "https" }, v)];
    return [...firesAndNot(up("0x60"), up("1x60"), [{ severity: "high" }], "40m"), { name: "no target at all", series: [s("up", { job: "something-else" }, "1x60")], expect: [{ severity: "high" }], evalTime: "40m" }];
  },
  SealedSecretsKeyCreated: (m) => {
    const ns = m.sealedSecrets.namespace;
    const key = (secret: string, v: string) => [s("kube_secret_created", { namespace: ns, secret, job: "kube-state-metrics" }, v)];
    // evaluated at t=20m (time() = 1200): created at t=10m fires; created days before does not
    return [
      ...firesAndNot(key("sealed-secrets-keyabcde", "600x30"), key("sealed-secrets-keyabcde", "-200000x30"), [{ namespace: ns, secret: "sealed-secrets-keyabcde", severity: "low" }]),
      { name: "another secret", series: key("grafana-admin", "600x30"), expect: [] },
    ];
  },
};

// ---------------------------------------------------------------------------------------------

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string; labels?: Labels; annotations?: Labels }> }>;
}

const { model } = loadDefinition(REPO_ROOT);
const objects = synthesize(model);
const ruleObjects = objects.filter((p) => p.object.kind === "PrometheusRule");
const ruleFiles = new Map<string, RuleFile>(ruleObjects.map((p: PlacedObject) => [`${p.object.metadata.name}.rules.yaml`, p.object.spec as RuleFile]));
const alertRules = [...ruleFiles.values()].flatMap((f) => f.groups.flatMap((g) => g.rules)).filter((r) => r.alert);

/** What promtool renders for `{{ $labels.x }}` given the alert's labels; any other template is a test error. */
function render(template: string, labels: Labels, where: string): string {
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, inner: string) => {
    const m = /^\$labels\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
    if (!m) throw new Error(`${where}: template {{ ${inner} }} cannot be checked by this test`);
    const v = labels[m[1]!];
    if (v === undefined) assert.fail(`${where}: annotation uses label '${m[1]}', which the alert does not carry (labels: ${JSON.stringify(labels)})`);
    return v;
  });
}

function expectedAlert(alert: string, labels: Labels, where: string) {
  // Several rules may share an alert name (one per application): take the one whose static labels these are.
  const rule = alertRules.find((r) => r.alert === alert && Object.entries(r.labels ?? {}).every(([k, v]) => labels[k] === v));
  assert.ok(rule, `${where}: no ${alert} rule has the static labels of ${JSON.stringify(labels)}`);
  const annotations = Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, render(v, labels, `${where} ${k}`)]));
  return { exp_labels: labels, exp_annotations: annotations };
}

function unitTests(table: Record<string, (m: Model) => Scenario[]>): Json {
  const tests: Json[] = [];
  for (const [alert, cases] of Object.entries(table)) {
    for (const sc of cases(model)) {
      const where = `${alert} / ${sc.name}`;
      const evalTime = sc.evalTime ?? "20m";
      tests.push({
        name: where,
        interval: "1m",
        input_series: sc.series,
        alert_rule_test: [{ eval_time: evalTime, alertname: alert, exp_alerts: sc.expect.map((l) => expectedAlert(alert, l, where)) }],
      });
    }
  }
  return { rule_files: [...ruleFiles.keys()], evaluation_interval: "1m", tests };
}

function workdir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bk-promtool-"));
  for (const [name, f] of ruleFiles) writeFileSync(path.join(dir, name), stringify(f, { lineWidth: 0 }));
  return dir;
}

describe("alerting rules under promtool", () => {
  it("every alert has a case in the table, and every case an alert", () => {
    const names = new Set(alertRules.map((r) => r.alert!));
    const missing = [...names].filter((n) => !(n in TABLE));
    assert.deepEqual(missing, [], `alerts without a promtool case: ${missing.join(", ")}`);
    const stale = Object.keys(TABLE).filter((n) => !names.has(n));
    assert.deepEqual(stale, [], `cases for alerts that no longer exist: ${stale.join(", ")}`);
  });

  it("promtool check rules accepts every PrometheusRule", () => {
    assert.ok(ruleFiles.size >= 5);
    const dir = workdir();
    const r = promtool(["check", "rules", ...ruleFiles.keys()], dir);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
    rmSync(dir, { recursive: true });
  });

  it("promtool test rules: each alert fires on its input with its labels and annotations, and stays quiet otherwise", () => {
    const dir = workdir();
    writeFileSync(path.join(dir, "tests.yaml"), stringify(unitTests(TABLE), { lineWidth: 0 }));
    const r = promtool(["test", "rules", "tests.yaml"], dir);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
    rmSync(dir, { recursive: true });
  });

  it("the harness can fail: a wrong expected severity makes promtool test rules fail", () => {
    const dir = workdir();
    const one = { RegistryDown: TABLE["RegistryDown"]! };
    writeFileSync(path.join(dir, "tests.yaml"), stringify(unitTests(one), { lineWidth: 0 }));
    assert.equal(promtool(["test", "rules", "tests.yaml"], dir).status, 0, "control run failed");
    const broken = unitTests(one) as { tests: Array<{ alert_rule_test: Array<{ exp_alerts: Array<{ exp_labels: Labels }> }> }> };
    broken.tests[0]!.alert_rule_test[0]!.exp_alerts[0]!.exp_labels.severity = "low";
    writeFileSync(path.join(dir, "tests.yaml"), stringify(broken, { lineWidth: 0 }));
    const r = promtool(["test", "rules", "tests.yaml"], dir);
    assert.notEqual(r.status, 0, "promtool accepted a wrong expectation");
    rmSync(dir, { recursive: true });
  });
});

describe("dashboard queries under promtool", () => {
  it("every Prometheus panel query is valid PromQL (checked as a recording rule)", () => {
    const groups: RuleFile["groups"] = [];
    let count = 0;
    for (const p of objects.filter((o) => o.object.kind === "ConfigMap" && o.object.metadata.labels?.["grafana_dashboard"] === "1")) {
      for (const [file, text] of Object.entries(p.object.data as Record<string, string>)) {
        const queries = dashboardQueries(JSON.parse(text) as Json).filter((q) => q.datasource.type === "prometheus");
        const id = file.replace(/\.json$/, "").replace(/[^a-zA-Z0-9_]/g, "_");
        groups.push({ name: file, rules: queries.map((q, i) => ({ record: `bk_dashboard:${id}:${i}`, expr: q.expr, labels: { panel: q.panel } })) });
        count += queries.length;
      }
    }
    assert.ok(count > 50, `only ${count} queries found`);
    const dir = mkdtempSync(path.join(os.tmpdir(), "bk-promtool-dash-"));
    writeFileSync(path.join(dir, "dashboards.rules.yaml"), stringify({ groups }, { lineWidth: 0 }));
    const r = promtool(["check", "rules", "dashboards.rules.yaml"], dir);
    assert.equal(r.status, 0, r.out);
    rmSync(dir, { recursive: true });
  });
});
