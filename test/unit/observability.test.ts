/**
 * Observability synthesis from the real definition: alert rules (severities, runbooks, per-app
 * rules), scrape monitors (and that they match what the other synthesizers create), dashboards
 * (datasources, one row per component, one logs panel per namespace), the values the
 * kube-prometheus-stack release needs, and how all of it follows the definition.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { program } from "../../src/cli/program.js";
import { Document } from "yaml";
import type { KubeObject, PlacedObject } from "../../src/core/object.js";
import { loadDefinition } from "../../src/model/load.js";
import type { Model } from "../../src/model/model.js";
import { synthesize } from "../../src/synth/index.js";
import { appDashboardUid } from "../../src/synth/observability/dashboards.js";
import { dashboardQueries, type Json } from "../../src/synth/observability/panels.js";
import { repoBrowseUrl, runbookPath, SEVERITIES, THRESHOLDS } from "../../src/synth/observability/rules.js";
import { JOBS, scrapeTargets } from "../../src/synth/observability/scraping.js";
import { alertmanagerConfig, fluxStateMetricsValues, mergeValues, monitoringValuesPatch } from "../../src/synth/observability/values.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";

// biome-ignore lint/suspicious/noExplicitAny: synthesized values and rules are walked many levels deep across shapes no source type declares; a loose type keeps the assertions readable
type Any = Record<string, any>;

const { model } = loadDefinition(REPO_ROOT);
const objects = synthesize(model);
const MON = model.monitoring.namespace;

const ofKind = (objs: readonly PlacedObject[], kind: string) => objs.filter((p) => p.object.kind === kind);
const find = (kind: string, name: string, ns?: string): KubeObject => {
  const o = objects.find((p) => p.object.kind === kind && p.object.metadata.name === name && (ns === undefined || p.object.metadata.namespace === ns));
  assert.ok(o, `${kind}/${ns ?? "*"}/${name} not synthesized`);
  return o.object;
};
const spec = (o: KubeObject) => o.spec as Any;

interface RenderedRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function rulesOf(objs: readonly PlacedObject[]): RenderedRule[] {
  return ofKind(objs, "PrometheusRule").flatMap((p) => (spec(p.object).groups as Any[]).flatMap((g) => g.rules as RenderedRule[]));
}

function dashboardsOf(objs: readonly PlacedObject[]): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const p of ofKind(objs, "ConfigMap")) {
    if (p.object.metadata.labels?.["grafana_dashboard"] !== "1") continue;
    for (const [key, text] of Object.entries(p.object.data as Record<string, string>)) out.set(key, JSON.parse(text) as Json);
  }
  return out;
}

const rules = rulesOf(objects);
const dashboards = dashboardsOf(objects);
const kps = spec(find("HelmRelease", "kube-prometheus-stack", MON)).values as Any;

describe("alert rules", () => {
  it("are PrometheusRules in the monitoring namespace under infrastructure/configs/monitoring/", () => {
    const prs = ofKind(objects, "PrometheusRule");
    assert.ok(prs.length >= 5);
    for (const p of prs) {
      assert.equal(p.object.apiVersion, "monitoring.coreos.com/v1");
      assert.equal(p.object.metadata.namespace, MON);
      assert.match(p.file, /^infrastructure\/configs\/monitoring\//);
    }
  });

  it("use the four severities of the seed, each at least once", () => {
    for (const r of rules) assert.ok((SEVERITIES as readonly string[]).includes(r.labels.severity!), `${r.alert}: severity ${r.labels.severity}`);
    for (const s of SEVERITIES)
      assert.ok(
        rules.some((r) => r.labels.severity === s),
        `no ${s} alert`,
      );
  });

  it("cover what the task and the incidents require, at the right severity", () => {
    const required: Record<string, string> = {
      KubeAPIServerDown: "critical",
      IngressControllerDown: "critical",
      RegistryDown: "critical",
      ChartMuseumDown: "critical",
      PostgreSQLDown: "critical",
      ApplicationComponentDown: "critical",
      NodeMemoryPressure: "high",
      NodeDiskPressure: "high",
      PersistentVolumeClaimAlmostFull: "high",
      ContainerRestartingRepeatedly: "high",
      PodCrashLooping: "high",
      ImagePullFailing: "high",
      KubeJobFailed: "high",
      FluxKustomizationNotReady: "high",
      FluxHelmReleaseNotReady: "high",
      SealedSecretUnsealFailed: "high",
      CertificateExpiringSoon: "high",
      ApplicationHighLatency: "medium",
      ApplicationHighErrorRate: "medium",
      ContainerCPUThrottled: "medium",
      FluxReconciliationSlow: "medium",
      ContainerRestarted: "low",
      FluxResourceSuspended: "low",
    };
    for (const [alert, severity] of Object.entries(required)) {
      const found = rules.filter((r) => r.alert === alert);
      assert.ok(found.length > 0, `alert ${alert} missing`);
      for (const r of found) assert.equal(r.labels.severity, severity, alert);
    }
  });

  it("every alert has a summary, a description and a runbook that exists and is about it", () => {
    for (const r of rules) {
      const a = r.annotations;
      assert.ok(a.summary && a.description, `${r.alert}: summary/description`);
      assert.match(a.runbook ?? "", /^docs\/runbooks\/[a-z0-9-]+\.md$/, `${r.alert}: runbook annotation`);
      const file = path.join(REPO_ROOT, a.runbook!);
      assert.ok(existsSync(file), `${r.alert}: runbook ${a.runbook} does not exist`);
      const text = readFileSync(file, "utf8");
      assert.ok(text.split("\n")[0]!.includes(r.alert), `${a.runbook}: its title does not name ${r.alert}`);
      assert.equal(a.runbook_url, `https://github.com/beckerkube/beckerkube/blob/main/${a.runbook}`, r.alert);
    }
  });

  it("runbooks name only bk commands that exist", () => {
    // Every command and subcommand the CLI really has, read from its command tree: a table here would drift.
    const known = new Set<string>();
    const walk = (cmd: typeof program, prefix: string) => {
      for (const sub of cmd.commands) {
        known.add(`${prefix} ${sub.name()}`);
        walk(sub, `${prefix} ${sub.name()}`);
      }
    };
    walk(program, "bk");
    assert.ok(known.has("bk secrets reseal") && known.has("bk reconcile"), [...known].join(", "));
    for (const name of new Set(rules.map((r) => r.annotations.runbook!))) {
      const text = readFileSync(path.join(REPO_ROOT, name), "utf8");
      for (const m of text.matchAll(/`(bk [a-z]+(?: [a-z]+)?)[^`]*`/g)) {
        const cmd = m[1]!;
        const ok = known.has(cmd) || known.has(cmd.split(" ").slice(0, 2).join(" "));
        assert.ok(ok, `${name}: unknown command \`${m[0]}\``);
      }
    }
  });

  it("annotations interpolate labels only, never $value or other template logic", () => {
    for (const r of rules) {
      for (const [k, v] of Object.entries(r.annotations)) {
        const templates = v.match(/\{\{[^}]*\}\}/g) ?? [];
        for (const t of templates) assert.match(t, /^\{\{ \$labels\.[a-z_]+ \}\}$/, `${r.alert}.${k}: ${t}`);
      }
    }
  });

  it("has one ApplicationComponentDown rule per application, over exactly its running components", () => {
    for (const app of model.apps) {
      const required = app.components.filter((c) => !c.optional && c.replicas > 0);
      const r = rules.filter((x) => x.alert === "ApplicationComponentDown" && x.labels.app === app.name);
      assert.equal(r.length, required.length ? 1 : 0, app.name);
      if (!required.length) continue;
      const regex = /deployment=~"([^"]+)"/.exec(r[0]!.expr)?.[1];
      assert.deepEqual(regex?.split("|").sort(), required.map((c) => c.fullname).sort(), app.name);
      assert.ok(r[0]!.expr.includes(`namespace="${app.namespace}"`), app.name);
    }
    const optional = model.apps.find((a) => a.components.some((c) => c.optional))!;
    const opt = rules.find((x) => x.alert === "ApplicationOptionalComponentDown" && x.labels.app === optional.name);
    assert.ok(opt, `no optional-component rule for ${optional.name}`);
    assert.equal(opt.labels.severity, "high");
  });

  it("select on jobs that a scrape target actually produces", () => {
    const produced = new Set<string>([JOBS.apiserver]); // kube-prometheus-stack's own ServiceMonitor
    for (const t of scrapeTargets(model)) if (typeof t.job === "string") produced.add(t.job);
    for (const r of rules) {
      for (const m of r.expr.matchAll(/up\{job="([^"]+)"\}/g)) assert.ok(produced.has(m[1]!), `${r.alert}: job ${m[1]} is scraped by nothing`);
    }
  });

  it("watch the backup CronJob that synthesis creates", () => {
    const r = rules.find((x) => x.alert === "PostgresBackupMissed")!;
    const cronjob = /cronjob="([^"]+)"/.exec(r.expr)![1]!;
    find("CronJob", cronjob, model.postgres.namespace);
  });

  it("alert on certificates well before they expire but after cert-manager should have renewed them", () => {
    const hours = (d: string) => Number(/^(\d+)h$/.exec(d)![1]);
    assert.ok(THRESHOLDS.certificateDays * 24 < hours(model.certManager.renewBefore), "the alert would fire before renewal is due");
  });
});

describe("scrape targets", () => {
  const monitors = [...ofKind(objects, "ServiceMonitor"), ...ofKind(objects, "PodMonitor")].filter((p) => p.object.metadata.namespace === MON);
  const monitor = (name: string) => monitors.find((p) => p.object.metadata.name === name)?.object;

  it("one monitor per target, each in the monitoring namespace selecting a declared namespace", () => {
    const declared = new Set(model.namespaces.map((n) => n.name));
    assert.deepEqual(
      monitors.map((p) => p.object.metadata.name).sort(),
      scrapeTargets(model)
        .map((t) => t.id)
        .sort(),
    );
    for (const p of monitors) {
      for (const ns of spec(p.object).namespaceSelector.matchNames as string[]) assert.ok(declared.has(ns), `${p.object.metadata.name}: namespace ${ns}`);
      const eps = (spec(p.object).endpoints ?? spec(p.object).podMetricsEndpoints) as Any[];
      assert.equal(eps.length, 1);
      assert.ok(
        eps[0]!.relabelings.some((r: Any) => r.targetLabel === "job"),
        `${p.object.metadata.name}: no explicit job label`,
      );
    }
  });

  it("PostgreSQL: a PodMonitor on the CNPG cluster's pods, port metrics", () => {
    const pm = monitor("postgres")!;
    assert.equal(pm.kind, "PodMonitor");
    assert.deepEqual(spec(pm).selector.matchLabels, { "cnpg.io/cluster": model.postgres.clusterName });
    assert.equal(spec(pm).podMetricsEndpoints[0].port, "metrics");
    assert.deepEqual(spec(pm).namespaceSelector.matchNames, [model.postgres.namespace]);
  });

  it("registry: selects the synthesized registry-metrics Service by its labels and port", () => {
    const sm = monitor("registry")!;
    const svc = find("Service", "registry-metrics", model.registryServer.namespace);
    for (const [k, v] of Object.entries(spec(sm).selector.matchLabels as Record<string, string>)) assert.equal(svc.metadata.labels?.[k], v, k);
    assert.ok((spec(svc).ports as Any[]).some((p) => p.name === spec(sm).endpoints[0].port));
    // the LoadBalancer Service must not match: it has no metrics port, but it must not carry the metrics label either
    assert.equal(find("Service", "registry", model.registryServer.namespace).metadata.labels?.["beckerkube.io/metrics"], undefined);
  });

  it("ChartMuseum, ingress-nginx, cert-manager, Sealed Secrets: match what their releases render", () => {
    const cm = spec(find("HelmRelease", "chartmuseum", model.chartmuseum.namespace)).values;
    assert.equal(cm.fullnameOverride, "chartmuseum");
    // ChartMuseum 0.16 reads ENABLE_METRICS (default false) and ignores DISABLE_METRICS
    assert.equal(cm.env.open.ENABLE_METRICS, true);
    assert.equal(cm.env.open.DISABLE_METRICS, undefined);
    assert.equal(spec(monitor("chartmuseum")!).endpoints[0].path, "/metrics");

    const ing = spec(find("HelmRelease", "ingress-nginx", model.ingressNginx.namespace)).values;
    assert.equal(ing.controller.metrics.enabled, true);
    assert.equal(spec(monitor("ingress-nginx")!).selector.matchLabels["app.kubernetes.io/instance"], "ingress-nginx");

    const certm = spec(find("HelmRelease", "cert-manager", model.certManager.namespace)).values;
    assert.equal(certm.prometheus.enabled, true);

    const ss = find("HelmRelease", model.sealedSecrets.controllerName, model.sealedSecrets.namespace);
    assert.equal(spec(monitor("sealed-secrets")!).selector.matchLabels["app.kubernetes.io/instance"], ss.metadata.name);
    assert.equal(spec(monitor("sealed-secrets")!).podMetricsEndpoints[0].port, "metrics");
  });

  it("network policies of the tree let Prometheus reach every target on its metrics port", () => {
    const prometheusPod = { "app.kubernetes.io/name": "prometheus" };
    const selects = (sel: Any | undefined, labels: Record<string, string>) =>
      Object.entries((sel?.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v) &&
      ((sel?.matchExpressions ?? []) as Any[]).every((e) => (e.operator === "In" ? e.values.includes(labels[e.key]) : e.operator === "Exists" ? e.key in labels : false));
    const fromPrometheus = (peer: Any) =>
      (peer.namespaceSelector === undefined ? false : selects(peer.namespaceSelector, { "kubernetes.io/metadata.name": MON })) && (peer.podSelector === undefined || selects(peer.podSelector, prometheusPod));
    const blocked: string[] = [];
    for (const t of scrapeTargets(model)) {
      const policies = ofKind(objects, "NetworkPolicy")
        .map((p) => p.object)
        .filter((o) => o.metadata.namespace === t.namespace && (spec(o).policyTypes ?? ["Ingress"]).includes("Ingress"));
      for (const pod of t.podLabels) {
        const isolating = policies.filter((o) => selects(spec(o).podSelector, pod));
        if (!isolating.length) continue; // no policy selects the pod: nothing isolates it
        const allowed = isolating.some((o) =>
          ((spec(o).ingress ?? []) as Any[]).some(
            (rule) =>
              (rule.from === undefined || (rule.from as Any[]).some(fromPrometheus)) &&
              (rule.ports === undefined || (rule.ports as Any[]).some((p) => (p.protocol ?? "TCP") === "TCP" && (p.port === t.containerPort || p.port === t.port))),
          ),
        );
        if (!allowed) blocked.push(`${t.namespace} ${JSON.stringify(pod)} port ${t.containerPort}`);
      }
    }
    assert.deepEqual(blocked, [], `NetworkPolicies block Prometheus from: ${blocked.join("; ")}`);
  });

  it("Flux: one PodMonitor for the four controllers on http-prom, job from the app label", () => {
    const pm = monitor("flux")!;
    assert.equal(spec(pm).namespaceSelector.matchNames[0], "flux-system");
    assert.deepEqual(spec(pm).selector.matchExpressions[0].values, ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"]);
    const ep = spec(pm).podMetricsEndpoints[0];
    assert.equal(ep.port, "http-prom");
    assert.deepEqual(ep.relabelings[0].sourceLabels, ["__meta_kubernetes_pod_label_app"]);
  });
});

describe("dashboards", () => {
  const allPanels = (d: Json) => (d.panels as Any[]).flatMap((p) => [p, ...((p.panels as Any[]) ?? [])]);

  it("are ConfigMaps the Grafana sidecar picks up", () => {
    const cms = ofKind(objects, "ConfigMap").filter((p) => p.object.metadata.labels?.["grafana_dashboard"]);
    // cluster, flux, postgresql, logs, and one per application.
    assert.equal(cms.length, 4 + model.apps.length);
    const sidecar = kps.grafana.sidecar.dashboards;
    for (const p of cms) {
      assert.equal(p.object.metadata.namespace, MON);
      assert.equal(p.object.metadata.labels?.[sidecar.label], sidecar.labelValue);
      assert.match(p.file, /^infrastructure\/configs\/monitoring\/dashboards\//);
    }
    const uids = [...dashboards.values()].map((d) => d.uid);
    assert.equal(new Set(uids).size, uids.length, "dashboard uids collide");
  });

  it("name datasources by uid only, and every uid exists in the kube-prometheus-stack values", () => {
    const extra = (kps.grafana.additionalDataSources as Any[]).map((d) => d.uid as string);
    // The default Prometheus datasource: pinned in the values once monitoringValuesPatch is merged;
    // until then the chart's own default, which is "prometheus" in kube-prometheus-stack 88.5.3.
    const pinned = kps.grafana.sidecar.datasources?.uid as string | undefined;
    if (pinned === undefined) assert.equal(model.monitoring.chart.version, "88.5.3", "chart bumped: re-check its default Prometheus datasource uid, or merge monitoringValuesPatch");
    const known = new Set([...extra, pinned ?? "prometheus"]);
    for (const [file, d] of dashboards) {
      for (const p of allPanels(d)) {
        if (p.type === "row") continue;
        assert.deepEqual(Object.keys(p.datasource), ["type", "uid"], `${file}/${p.title}: datasource by name?`);
        assert.ok(known.has(p.datasource.uid), `${file}/${p.title}: datasource uid ${p.datasource.uid} is not defined`);
        for (const t of p.targets as Any[]) assert.ok(known.has(t.datasource.uid), `${file}/${p.title}: target datasource ${t.datasource.uid}`);
      }
    }
  });

  it("applications: one dashboard each, one row per component with requests, errors, latency and restarts where it has metrics", () => {
    for (const app of model.apps) {
      const d = dashboards.get(`beckerkube-app-${app.name}.json`);
      assert.ok(d, `no dashboard for ${app.name}`);
      assert.equal(d.uid, `bk-app-${app.name}`);
      assert.deepEqual(d.tags, ["beckerkube", "applications"]);
      const rows = (d.panels as Any[]).filter((p) => p.type === "row").map((p) => p.title);
      assert.deepEqual(
        rows,
        app.components.map((c) => c.name),
      );
    }
    for (const c of model.components) {
      const panels = dashboards.get(`beckerkube-app-${c.app}.json`)!.panels as Any[];
      const i = panels.findIndex((p) => p.type === "row" && p.title === c.name);
      const next = panels.slice(i + 1).findIndex((p) => p.type === "row");
      const inRow = panels.slice(i + 1, next === -1 ? undefined : i + 1 + next);
      const titles = inRow.map((p) => p.title);
      assert.ok(titles.includes("Restarts (1h)"), c.id);
      if (c.metrics) {
        assert.deepEqual(titles, ["Requests", "Errors (5xx ratio)", "Latency", "Restarts (1h)"], c.id);
        assert.ok(inRow[0]!.targets[0].expr.includes(`job="${c.fullname}"`), c.id);
      }
      for (const p of inRow) for (const t of p.targets) assert.ok(t.expr.includes(`namespace="${c.namespace}"`), `${c.id}/${p.title}`);
    }
  });

  it("keep dashboard uids within Grafana's 40 characters, whatever the application's name", () => {
    assert.equal(appDashboardUid("ffl"), "bk-app-ffl");
    const long = appDashboardUid("a-very-long-application-name-of-sixty-three-characters-at-most");
    assert.ok(long.length <= 40, long);
    assert.match(long, /^bk-app-a-very-long-application-[0-9a-f]{8}$/);
    assert.notEqual(long, appDashboardUid("a-very-long-application-name-of-sixty-three-characters-at-mosT"));
  });

  it("logs: one Loki panel per application namespace, on the labels Fluent Bit sets", () => {
    const d = dashboards.get("beckerkube-logs.json")!;
    const logs = allPanels(d).filter((p) => p.type === "logs");
    for (const app of model.apps) {
      const p = logs.filter((x) => x.targets[0].expr === `{job="fluent-bit", namespace_name="${app.namespace}"}`);
      assert.equal(p.length, 1, app.namespace);
      assert.equal(p[0]!.datasource.uid, "loki");
    }
    const fb = spec(find("HelmRelease", "fluent-bit", model.logging.namespace)).values.config.outputs as string;
    assert.match(fb, /Labels\s+job=fluent-bit/);
    assert.ok(fb.includes("$kubernetes['namespace_name']"), "Fluent Bit no longer sets namespace_name");
  });

  it("lay panels out on the 24-column grid without overlaps", () => {
    for (const [file, d] of dashboards) {
      const boxes = (d.panels as Any[]).map((p) => ({ t: p.title as string, ...(p.gridPos as { x: number; y: number; w: number; h: number }) }));
      for (const b of boxes) assert.ok(b.x >= 0 && b.x + b.w <= 24, `${file}/${b.t}`);
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i]!;
          const b = boxes[j]!;
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          assert.ok(!overlap, `${file}: "${a.t}" overlaps "${b.t}"`);
        }
    }
  });

  it("have panel ids unique within a dashboard and queries that are not empty", () => {
    for (const [file, d] of dashboards) {
      const ids = allPanels(d).map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, file);
      for (const q of dashboardQueries(d)) assert.ok(q.expr.trim().length > 0, `${file}/${q.panel}`);
    }
  });
});

describe("kube-prometheus-stack values", () => {
  it("route each severity; low and the stack's heartbeat go nowhere; nothing is sent by default", () => {
    const c = alertmanagerConfig() as Any;
    const names = (c.receivers as Any[]).map((r) => r.name);
    assert.equal(new Set(names).size, names.length);
    for (const r of c.receivers as Any[]) assert.deepEqual(Object.keys(r), ["name"], `receiver ${r.name} would send something`);
    const routes = c.route.routes as Any[];
    for (const s of SEVERITIES) {
      const r = routes.find((x) => (x.matchers as string[]).some((m) => m.includes(`"${s}"`) || new RegExp(`"([^"]*\\|)?${s}(\\|[^"]*)?"`).test(m)));
      assert.ok(r, `no route for ${s}`);
      assert.ok(names.includes(r.receiver), `route ${s} -> undeclared ${r.receiver}`);
      if (s === "low") assert.equal(r.receiver, "null");
    }
    assert.equal(routes[0]!.receiver, "null");
    assert.ok(names.includes(c.route.receiver));
  });

  it("take receivers from the definition, and refuse a route to an undeclared one", () => {
    const c = alertmanagerConfig({ receivers: { pager: { webhook_configs: [{ url_file: "/etc/alertmanager/secrets/pager/url" }] } }, routes: { critical: "pager" } }) as Any;
    const crit = (c.route.routes as Any[]).find((r) => r.matchers[0] === 'severity = "critical"')!;
    assert.equal(crit.receiver, "pager");
    assert.ok((c.receivers as Any[]).some((r) => r.name === "pager" && r.webhook_configs));
    assert.throws(() => alertmanagerConfig({ routes: { high: "nobody" } }), /routes\.high: receiver 'nobody' is not declared/);
  });

  it("merge into the release values without losing what is already there", () => {
    const merged = mergeValues(kps, monitoringValuesPatch()) as Any;
    assert.equal(merged.grafana.sidecar.dashboards.label, "grafana_dashboard");
    assert.equal(merged.grafana.sidecar.datasources.uid, "prometheus");
    assert.deepEqual(merged.grafana.additionalDataSources, kps.grafana.additionalDataSources);
    assert.equal(merged.prometheus.prometheusSpec.retention, kps.prometheus.prometheusSpec.retention);
    assert.ok(merged.alertmanager.alertmanagerSpec, "alertmanagerSpec lost");
    assert.ok(merged.alertmanager.config.route);
  });

  it("export Flux readiness through kube-state-metrics with RBAC for every kind it reads", () => {
    const v = fluxStateMetricsValues() as Any;
    const resources = v.customResourceState.config.spec.resources as Any[];
    const kinds = resources.map((r) => r.groupVersionKind.kind);
    for (const k of ["Kustomization", "HelmRelease", "GitRepository", "HelmRepository"]) assert.ok(kinds.includes(k), k);
    for (const r of resources) {
      const rule = (v.rbac.extraRules as Any[]).find((x) => x.apiGroups[0] === r.groupVersionKind.group);
      const plural = r.groupVersionKind.kind.toLowerCase().replace(/y$/, "ie") + "s";
      assert.ok(rule?.resources.includes(plural), `${r.groupVersionKind.kind}: RBAC lacks ${plural}`);
      assert.equal(r.metricNamePrefix + "_" + r.metrics[0].name, "gotk_resource_info");
      assert.deepEqual(Object.keys(r.metrics[0].labelsFromPath).slice(0, 3), ["exported_namespace", "ready", "suspended"]);
    }
  });
});

describe("follows the definition", () => {
  function withApp(): Model {
    const root = tempDefinition((d) => {
      (d.cluster.get("namespaces") as { add: (v: unknown) => void }).add(d.cluster.createNode({ name: "demo", podSecurity: "restricted" }));
      d.apps["demo"] = new Document({
        name: "demo",
        namespace: "demo",
        description: "A demo application",
        components: {
          api: { role: "backend", tag: "1.0.0", port: 8080, metrics: { port: 9090, path: "/metrics" }, probes: { liveness: { path: "/healthz" }, readiness: { path: "/healthz" } } },
        },
      });
    });
    return loadDefinition(root).model;
  }

  it("adding an application adds its alert rule, its dashboard and its logs panel", () => {
    const m2 = withApp();
    const objs2 = synthesize(m2);
    const rules2 = rulesOf(objs2);
    const demo = rules2.find((r) => r.alert === "ApplicationComponentDown" && r.labels.app === "demo");
    assert.ok(demo, "no rule for the new app");
    assert.ok(demo.expr.includes(`deployment=~"demo-api"`));
    assert.ok(!rules.some((r) => r.labels.app === "demo"));
    assert.ok(rules2.find((r) => r.alert === "ApplicationHighLatency")!.expr.includes("demo-api"));
    assert.ok(!rules.find((r) => r.alert === "ApplicationHighLatency")!.expr.includes("demo-api"));

    const d2 = dashboardsOf(objs2);
    const rowsOf = (d: Json) => (d.panels as Any[]).filter((p) => p.type === "row").map((p) => p.title);
    assert.deepEqual(rowsOf(d2.get("beckerkube-app-demo.json")!), ["api"]);
    assert.equal(dashboards.get("beckerkube-app-demo.json"), undefined);
    assert.equal(d2.size, dashboards.size + 1);
    const logs2 = JSON.stringify(d2.get("beckerkube-logs.json"));
    assert.ok(logs2.includes(`namespace_name=\\"demo\\"`));
    assert.ok(!JSON.stringify(dashboards.get("beckerkube-logs.json")).includes(`namespace_name=\\"demo\\"`));
  });

  it("is deterministic", () => {
    const again = synthesize(model).filter((p) => p.file.startsWith("infrastructure/configs/monitoring/"));
    const first = objects.filter((p) => p.file.startsWith("infrastructure/configs/monitoring/"));
    assert.equal(JSON.stringify(again), JSON.stringify(first));
  });
});

describe("runbook links", () => {
  it("turn the GitOps URL into a browsable link, or nothing when it cannot", () => {
    assert.equal(repoBrowseUrl("ssh://git@github.com/beckerkube/beckerkube", "main", "docs/runbooks/x.md"), "https://github.com/beckerkube/beckerkube/blob/main/docs/runbooks/x.md");
    assert.equal(repoBrowseUrl("https://github.com/o/r.git", "dev", "a.md"), "https://github.com/o/r/blob/dev/a.md");
    assert.equal(repoBrowseUrl("https://example.com/just-one-segment", "main", "a.md"), undefined);
    assert.equal(repoBrowseUrl("not a url", "main", "a.md"), undefined);
    assert.equal(runbookPath("registry-down"), "docs/runbooks/registry-down.md");
  });
});
