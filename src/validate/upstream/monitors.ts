/**
 * Every ServiceMonitor and PodMonitor, in the tree or rendered by a chart, must reach something that serves
 * metrics: a Service with that label set and port name (or pods declaring that port), whose target port a
 * container of the selected pods declares, and whose component has its metrics switched on.
 */
import type { Finding } from "../../core/finding.js";
import { objectRef, type KubeObject, type PlacedObject } from "../../core/object.js";
import { containersOf, podTemplateOf } from "../../core/pod-spec.js";
import { list, rec, str } from "../../core/paths.js";
import type { Model } from "../../model/model.js";
import { declaresPort, describePorts, locate, podsOf, podsOfService, selects, servicePorts, type LabelSelector, type Located, type Pods, type RenderedRelease } from "./objects.js";

/**
 * Components whose metrics are off unless a setting turns them on, and the setting. Each entry is checked
 * against the rendered chart in test/integration/assumptions.test.ts, so a chart that renders the switch
 * differently fails there rather than silently here.
 */
export const METRICS_SWITCHES = [
  {
    component: "ChartMuseum",
    image: /(^|\/)chartmuseum:/,
    env: "ENABLE_METRICS",
    value: "true",
    why: "ChartMuseum 0.16 serves /metrics only when ENABLE_METRICS is true (the default is false; DISABLE_METRICS is no longer read)",
    fix: "set env.open.ENABLE_METRICS: true in the chartmuseum release values (src/synth/configs.ts); the chart drops falsy env.open values, so false cannot be spelled",
  },
] as const;

type Monitor = { object: KubeObject; file: string };

/** The namespaces a monitor looks in: namespaceSelector.any, matchNames, or its own. Null means every namespace. */
function monitorNamespaces(o: KubeObject): Set<string> | null {
  const ns = rec(rec(o.spec)?.namespaceSelector);
  if (ns?.any === true) return null;
  const names = list(ns?.matchNames).map(String);
  return new Set(names.length ? names : [o.metadata.namespace ?? "default"]);
}

const inNamespaces = (set: Set<string> | null, ns: string | undefined) => set === null || set.has(ns ?? "default");

/**
 * Services the cluster or an operator creates without any manifest: the API server's `default/kubernetes`,
 * and the kubelet Service prometheus-operator maintains when started with --kubelet-service (its ports and
 * labels are fixed in the operator's code).
 */
function implicitServices(all: readonly Located[]): KubeObject[] {
  const out: KubeObject[] = [
    { apiVersion: "v1", kind: "Service", metadata: { name: "kubernetes", namespace: "default", labels: { component: "apiserver", provider: "kubernetes" } }, spec: { ports: [{ name: "https", port: 443 }] } },
  ];
  for (const pods of podsOf(all)) {
    for (const c of containersOf(podTemplateOf(pods.owner.object)!, ["containers"])) {
      for (const arg of list(c.container.args).map(String)) {
        const m = /^--kubelet-service=([^/]+)\/(.+)$/.exec(arg);
        if (!m) continue;
        const ports = [
          { name: "https-metrics", port: 10250 },
          { name: "http-metrics", port: 10255 },
          { name: "cadvisor", port: 4194 },
        ];
        out.push({ apiVersion: "v1", kind: "Service", metadata: { name: m[2]!, namespace: m[1]!, labels: { "app.kubernetes.io/name": "kubelet", "k8s-app": "kubelet" } }, spec: { ports } });
      }
    }
  }
  return out;
}

function finding(rule: string, mon: Monitor, field: string, message: string, fix: string): Finding {
  return { rule, severity: "error", message, fix, file: mon.file, object: objectRef(mon.object), field };
}

/** The env value a container sets for `name`, if set as a plain value. */
function envValue(container: Record<string, unknown>, name: string): string | undefined {
  for (const e of list(container.env)) if (rec(e)?.name === name) return str(rec(e)?.value);
  return undefined;
}

/** Findings for scraped pods whose component keeps its metrics off (METRICS_SWITCHES). */
function switchFindings(mon: Monitor, pods: readonly Pods[]): Finding[] {
  const out: Finding[] = [];
  for (const p of pods) {
    for (const c of containersOf(podTemplateOf(p.owner.object)!, ["containers"])) {
      const image = str(c.container.image) ?? "";
      for (const s of METRICS_SWITCHES) {
        if (!s.image.test(image) || envValue(c.container, s.env) === s.value) continue;
        out.push({
          rule: "upstream/metrics-enabled",
          severity: "error",
          message: `${objectRef(mon.object)} scrapes ${s.component}, but its container "${c.name}" does not set ${s.env}=${s.value}: ${s.why}`,
          fix: s.fix,
          file: p.owner.file,
          object: objectRef(p.owner.object),
          field: `${c.path}.env`,
        });
      }
    }
  }
  return out;
}

/** The pods behind a ServiceMonitor endpoint's Service port must declare its target port: otherwise nothing serves there. */
function targetFindings(mon: Monitor, field: string, svc: KubeObject, port: { name?: string; port: number; targetPort?: number | string }, pods: readonly Pods[]): Finding[] {
  const target = port.targetPort ?? port.port;
  if (pods.length === 0 || pods.some((p) => declaresPort(p, target))) return [];
  return [
    finding(
      "upstream/metrics-enabled",
      mon,
      field,
      `${objectRef(svc)} port ${port.name ?? port.port} targets ${target}, which no container of its pods declares (they declare: ${describePorts(pods)}); the component does not serve metrics there`,
      "enable the component's metrics in its chart values, or point the endpoint at the port its containers declare",
    ),
  ];
}

function serviceMonitorFindings(mon: Monitor, services: readonly KubeObject[], pods: readonly Pods[]): Finding[] {
  const spec = rec(mon.object.spec) ?? {};
  const namespaces = monitorNamespaces(mon.object);
  const selected = services.filter((s) => inNamespaces(namespaces, s.metadata.namespace) && selects(spec.selector as LabelSelector | undefined, s.metadata.labels));
  if (selected.length === 0) {
    return [
      finding(
        "upstream/servicemonitor-port",
        mon,
        "spec.selector",
        `selects no Service (label set ${JSON.stringify(spec.selector ?? {})} in ${namespaces ? [...namespaces].join(", ") : "any namespace"})`,
        "select the labels the chart's metrics Service carries, as rendered",
      ),
    ];
  }
  const out: Finding[] = [];
  list(spec.endpoints).forEach((e, i) => {
    const ep = rec(e) ?? {};
    const field = `spec.endpoints[${i}].${ep.port !== undefined ? "port" : "targetPort"}`;
    const want = ep.port ?? ep.targetPort;
    const hits = selected.flatMap((svc) =>
      servicePorts(svc)
        .filter((p) => (ep.port !== undefined ? p.name === ep.port : String(p.targetPort ?? p.port) === String(ep.targetPort)))
        .map((p) => ({ svc, p })),
    );
    if (hits.length === 0) {
      const names = [...new Set(selected.flatMap((s) => servicePorts(s).map((p) => p.name ?? String(p.port))))].join(", ");
      out.push(
        finding(
          "upstream/servicemonitor-port",
          mon,
          field,
          `no selected Service (${selected.map(objectRef).join(", ")}) has a port ${String(want)}; they have: ${names || "none"}`,
          `name a port the Service has (${names || "none"}) in the scrape target (src/synth/observability/scraping.ts)`,
        ),
      );
      return;
    }
    for (const { svc, p } of hits) {
      const behind = podsOfService(svc, pods);
      out.push(...targetFindings(mon, field, svc, p, behind), ...switchFindings(mon, behind));
    }
  });
  return out;
}

function podMonitorFindings(mon: Monitor, pods: readonly Pods[]): Finding[] {
  const spec = rec(mon.object.spec) ?? {};
  const namespaces = monitorNamespaces(mon.object);
  const selected = pods.filter((p) => inNamespaces(namespaces, p.namespace) && selects(spec.selector as LabelSelector | undefined, p.labels));
  // Pods an operator or `flux bootstrap` creates (CloudNativePG instances, the Flux controllers) have no manifest here to check.
  if (selected.length === 0) return [];
  const out: Finding[] = [];
  list(spec.podMetricsEndpoints).forEach((e, i) => {
    const ep = rec(e) ?? {};
    const port = str(ep.port);
    if (port !== undefined && !selected.some((p) => declaresPort(p, port))) {
      out.push(
        finding(
          "upstream/podmonitor-port",
          mon,
          `spec.podMetricsEndpoints[${i}].port`,
          `no selected pod (${selected.map((p) => objectRef(p.owner.object)).join(", ")}) declares a container port named ${port}; they declare: ${describePorts(selected)}`,
          "name a container port the pods declare, as rendered",
        ),
      );
    }
  });
  return [...out, ...switchFindings(mon, selected)];
}

/** upstream/servicemonitor-port, upstream/podmonitor-port and upstream/metrics-enabled over the tree and its renders. */
export function checkMonitors(_m: Pick<Model, "secrets">, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Finding[] {
  const all = locate(tree, rendered);
  const pods = podsOf(all);
  const services = [...all.filter(({ object: o }) => o.kind === "Service" && o.apiVersion === "v1").map((l) => l.object), ...implicitServices(all)];
  const out: Finding[] = [];
  for (const { object, file } of all) {
    if (!object.apiVersion.startsWith("monitoring.coreos.com/")) continue;
    if (object.kind === "ServiceMonitor") out.push(...serviceMonitorFindings({ object, file }, services, pods));
    else if (object.kind === "PodMonitor") out.push(...podMonitorFindings({ object, file }, pods));
  }
  return out;
}
