/**
 * The upstream/* checks on small object sets: each one broken the way the real tree was, with the exact
 * finding, and the same set fixed with none.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Finding } from "../../src/core/finding.js";
import type { KubeObject, PlacedObject } from "../../src/core/object.js";
import { infraWorkloads } from "../../src/model/infra-workloads.js";
import { loadDefinition } from "../../src/model/load.js";
import type { Model } from "../../src/model/model.js";
import { checkAssumptions, checkCrdOrder, checkMonitors, checkNetpolPorts, checkSecretSources, checkWorkloadFacts, type RenderedRelease, type SourceArtifact } from "../../src/validate/assumptions.js";
import { UPSTREAM_FACTS } from "../../src/model/upstream-facts.generated.js";
import { factsModule, renderedPodFacts } from "../../src/validate/upstream/pod-facts.js";
import { REPO_ROOT } from "../helpers/definition.js";

const model: Model = loadDefinition(REPO_ROOT).model;

type Port = { name?: string; containerPort: number };
const meta = (namespace: string, name: string, labels?: Record<string, string>) => ({ name, namespace, ...(labels ? { labels } : {}) });
const container = (ports: Port[], extra: Record<string, unknown> = {}) => ({ name: "main", image: "example.org/main:1", ports, ...extra });
function deployment(namespace: string, name: string, labels: Record<string, string>, ports: Port[], extra: Record<string, unknown> = {}, serviceAccount?: string): KubeObject {
  const spec = { ...(serviceAccount ? { serviceAccountName: serviceAccount } : {}), containers: [container(ports, extra)] };
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: meta(namespace, name), spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec } } };
}
function service(namespace: string, name: string, labels: Record<string, string>, selector: Record<string, string>, ports: Array<{ name: string; port: number; targetPort?: number | string }>): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: meta(namespace, name, labels), spec: { selector, ports } };
}
function serviceMonitor(name: string, namespace: string, matchLabels: Record<string, string>, port: string): KubeObject {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: meta("monitoring", name),
    spec: { selector: { matchLabels }, namespaceSelector: { matchNames: [namespace] }, endpoints: [{ port, path: "/metrics" }] },
  };
}
function release(dir: string, name: string, namespace: string, objects: KubeObject[]): RenderedRelease {
  return { release: { file: `${dir}/${name}/helmrelease.yaml`, object: { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", metadata: meta(namespace, name) } }, objects };
}
const controllers = (name: string, namespace: string, objects: KubeObject[]) => release("infrastructure/controllers", name, namespace, objects);
const configs = (name: string, namespace: string, objects: KubeObject[]) => release("infrastructure/configs", name, namespace, objects);
const rules = (fs: Finding[]) => fs.map((f) => f.rule);

describe("upstream/servicemonitor-port", () => {
  const labels = { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller" };
  const chart = controllers("cert-manager", "cert-manager", [
    deployment("cert-manager", "cert-manager", labels, [{ name: "http-metrics", containerPort: 9402 }]),
    service("cert-manager", "cert-manager", labels, labels, [{ name: "http-metrics", port: 9402 }]),
  ]);
  const scrape = (port: string): PlacedObject[] => [{ file: "infrastructure/configs/monitoring/scrape/cert-manager.yaml", object: serviceMonitor("cert-manager", "cert-manager", labels, port) }];

  it("names the Service's ports when the endpoint asks for one it does not have", () => {
    assert.deepEqual(checkMonitors(model, scrape("tcp-prometheus-servicemonitor"), [chart]), [
      {
        rule: "upstream/servicemonitor-port",
        severity: "error",
        message: "no selected Service (Service/cert-manager/cert-manager) has a port tcp-prometheus-servicemonitor; they have: http-metrics",
        fix: "name a port the Service has (http-metrics) in the scrape target (src/synth/observability/scraping.ts)",
        file: "infrastructure/configs/monitoring/scrape/cert-manager.yaml",
        object: "ServiceMonitor/monitoring/cert-manager",
        field: "spec.endpoints[0].port",
      },
    ]);
  });

  it("passes on the port the chart renders", () => {
    assert.deepEqual(checkMonitors(model, scrape("http-metrics"), [chart]), []);
  });

  it("reports a selector that matches no Service, in the namespaces it looks in", () => {
    const other = [{ ...scrape("http-metrics")[0]!, object: serviceMonitor("cert-manager", "elsewhere", labels, "http-metrics") }];
    const [f] = checkMonitors(model, other, [chart]);
    assert.equal(f?.rule, "upstream/servicemonitor-port");
    assert.equal(f?.field, "spec.selector");
    assert.match(f!.message, /selects no Service .* in elsewhere/);
  });

  it("credits the kubelet Service prometheus-operator creates from --kubelet-service", () => {
    const op = controllers("kps", "monitoring", [deployment("monitoring", "operator", { app: "operator" }, [], { args: ["--kubelet-service=kube-system/kps-kubelet"] })]);
    const kubelet = serviceMonitor("kubelet", "kube-system", { "k8s-app": "kubelet" }, "https-metrics");
    assert.deepEqual(checkMonitors(model, [], [{ ...op, objects: [...op.objects, kubelet] }]), []);
    assert.deepEqual(rules(checkMonitors(model, [], [{ ...op, objects: [kubelet] }])), ["upstream/servicemonitor-port"]);
  });
});

describe("upstream/podmonitor-port", () => {
  const labels = { "app.kubernetes.io/name": "sealed-secrets" };
  const podMonitor = (port: string): PlacedObject => ({
    file: "infrastructure/configs/monitoring/scrape/sealed-secrets.yaml",
    object: {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: meta("monitoring", "sealed-secrets"),
      spec: { selector: { matchLabels: labels }, namespaceSelector: { matchNames: ["kube-system"] }, podMetricsEndpoints: [{ port }] },
    },
  });
  const chart = controllers("sealed-secrets", "kube-system", [
    deployment("kube-system", "sealed-secrets", labels, [
      { name: "http", containerPort: 8080 },
      { name: "metrics", containerPort: 8081 },
    ]),
  ]);

  it("finds a port name no selected pod declares", () => {
    assert.deepEqual(checkMonitors(model, [podMonitor("prom")], [chart]), [
      {
        rule: "upstream/podmonitor-port",
        severity: "error",
        message: "no selected pod (Deployment/kube-system/sealed-secrets) declares a container port named prom; they declare: http (8080/TCP), metrics (8081/TCP)",
        fix: "name a container port the pods declare, as rendered",
        file: "infrastructure/configs/monitoring/scrape/sealed-secrets.yaml",
        object: "PodMonitor/monitoring/sealed-secrets",
        field: "spec.podMetricsEndpoints[0].port",
      },
    ]);
    assert.deepEqual(checkMonitors(model, [podMonitor("metrics")], [chart]), []);
  });
});

describe("upstream/metrics-enabled", () => {
  const labels = { "app.kubernetes.io/name": "chartmuseum" };
  const sm: PlacedObject = { file: "infrastructure/configs/monitoring/scrape/chartmuseum.yaml", object: serviceMonitor("chartmuseum", "infra", labels, "http") };
  const museum = (env: Array<{ name: string; value: string }>) =>
    configs("chartmuseum", "infra", [
      deployment("infra", "chartmuseum", labels, [{ name: "http", containerPort: 8080 }], { name: "chartmuseum", image: "ghcr.io/helm/chartmuseum:v0.16.5", env }),
      service("infra", "chartmuseum", labels, labels, [{ name: "http", port: 8080, targetPort: "http" }]),
    ]);

  it("ChartMuseum: DISABLE_METRICS=false does not turn metrics on", () => {
    assert.deepEqual(checkMonitors(model, [sm], [museum([{ name: "DISABLE_METRICS", value: "false" }])]), [
      {
        rule: "upstream/metrics-enabled",
        severity: "error",
        message:
          'ServiceMonitor/monitoring/chartmuseum scrapes ChartMuseum, but its container "chartmuseum" does not set ENABLE_METRICS=true: ChartMuseum 0.16 serves /metrics only when ENABLE_METRICS is true (the default is false; DISABLE_METRICS is no longer read)',
        fix: "set env.open.ENABLE_METRICS: true in the chartmuseum release values (src/synth/configs.ts); the chart drops falsy env.open values, so false cannot be spelled",
        file: "infrastructure/configs/chartmuseum/helmrelease.yaml (rendered by HelmRelease/infra/chartmuseum)",
        object: "Deployment/infra/chartmuseum",
        field: "spec.template.spec.containers[0].env",
      },
    ]);
    assert.deepEqual(checkMonitors(model, [sm], [museum([{ name: "ENABLE_METRICS", value: "true" }])]), []);
  });

  it("any component: the Service port targets a port no container declares", () => {
    const l = { app: "x" };
    const chart = configs("x", "infra", [deployment("infra", "x", l, [{ name: "http", containerPort: 8080 }]), service("infra", "x-metrics", l, l, [{ name: "metrics", port: 9100, targetPort: 9100 }])]);
    const f = checkMonitors(model, [{ file: "infrastructure/configs/monitoring/scrape/x.yaml", object: serviceMonitor("x", "infra", l, "metrics") }], [chart]);
    assert.deepEqual(rules(f), ["upstream/metrics-enabled"]);
    assert.equal(f[0]!.message, "Service/infra/x-metrics port metrics targets 9100, which no container of its pods declares (they declare: http (8080/TCP)); the component does not serve metrics there");
  });
});

describe("upstream/netpol-port", () => {
  const labels = { "app.kubernetes.io/name": "metallb", "app.kubernetes.io/component": "controller" };
  const chart = controllers("metallb", "metallb-system", [
    deployment("metallb-system", "metallb-controller", labels, [
      { name: "metricshttps", containerPort: 9120 },
      { name: "webhook-server", containerPort: 9443 },
    ]),
  ]);
  const policy = (port: number): PlacedObject => ({
    file: "infrastructure/configs/netpol/metallb-system.yaml",
    object: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("metallb-system", "allow-metallb-controller-from-prometheus"),
      spec: { podSelector: { matchLabels: labels }, policyTypes: ["Ingress"], ingress: [{ ports: [{ protocol: "TCP", port }] }] },
    },
  });

  it("finds a port the selected pods do not listen on", () => {
    assert.deepEqual(checkNetpolPorts(model, [policy(7472)], [chart]), [
      {
        rule: "upstream/netpol-port",
        severity: "error",
        message: "opens 7472/TCP, which the selected pods (Deployment/metallb-system/metallb-controller) do not listen on; they declare: metricshttps (9120/TCP), webhook-server (9443/TCP)",
        fix: "open the port the pods declare as rendered; the policies' ports come from the workloads in src/model/infra-workloads.ts and the definition",
        file: "infrastructure/configs/netpol/metallb-system.yaml",
        object: "NetworkPolicy/metallb-system/allow-metallb-controller-from-prometheus",
        field: "spec.ingress[0].ports[0].port",
      },
    ]);
    assert.deepEqual(checkNetpolPorts(model, [policy(9120)], [chart]), []);
  });

  it("accepts a Service targetPort in front of the pods, and checks egress to named pods", () => {
    const svc = service("metallb-system", "m", labels, labels, [{ name: "x", port: 80, targetPort: 7472 }]);
    assert.deepEqual(checkNetpolPorts(model, [policy(7472)], [{ ...chart, objects: [...chart.objects, svc] }]), []);
    const egress: PlacedObject = {
      file: "infrastructure/configs/netpol/monitoring.yaml",
      object: {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: meta("monitoring", "to-metallb"),
        spec: { podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "metallb-system" } }, podSelector: { matchLabels: labels } }], ports: [{ port: 7472 }] }] },
      },
    };
    const [f] = checkNetpolPorts(model, [egress], [chart]);
    assert.equal(f?.field, "spec.egress[0].ports[0].port");
  });
});

describe("upstream/crd-order", () => {
  const gateway: PlacedObject = { file: "infrastructure/configs/gateway/gateway.yaml", object: { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: meta("istio-ingress", "bk-gateway") } };
  const crd: KubeObject = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "gateways.gateway.networking.k8s.io" },
    spec: { group: "gateway.networking.k8s.io", names: { kind: "Gateway" }, versions: [{ name: "v1", served: true }] },
  };
  const source: PlacedObject[] = [
    {
      file: "infrastructure/controllers/sources/gateway-api.yaml",
      object: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: meta("flux-system", "gateway-api"), spec: { url: "https://github.com/kubernetes-sigs/gateway-api", ref: { tag: "v1.6.1" } } },
    },
    {
      file: "infrastructure/controllers/gateway-api/crds.yaml",
      object: {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: meta("flux-system", "gateway-api-crds"),
        spec: { sourceRef: { kind: "GitRepository", name: "gateway-api" }, path: "./config/crd/standard" },
      },
    },
  ];
  const artifact: SourceArtifact = { url: "https://github.com/kubernetes-sigs/gateway-api", ref: "v1.6.1", path: "config/crd/standard", objects: [crd] };

  it("finds a kind nothing installs", () => {
    assert.deepEqual(checkCrdOrder(model, [gateway], []), [
      {
        rule: "upstream/crd-order",
        severity: "error",
        message: "Gateway needs the CRD for gateway.networking.k8s.io/v1/Gateway: nothing in the tree or its charts installs it",
        fix: "install the CRD in infra-configs or an earlier layer: a chart that ships it, or a Flux source for its upstream release pinned in definition/infrastructure.yaml",
        file: "infrastructure/configs/gateway/gateway.yaml",
        object: "Gateway/istio-ingress/bk-gateway",
        field: "apiVersion",
      },
    ]);
  });

  it("credits a Flux source in an earlier layer by what its release holds", () => {
    assert.deepEqual(checkCrdOrder(model, [gateway, ...source], [], [artifact]), []);
    // a release that does not hold the CRD is not credited
    assert.deepEqual(rules(checkCrdOrder(model, [gateway, ...source], [], [{ ...artifact, objects: [] }])), ["upstream/crd-order"]);
    // nor is a source whose release was not read
    assert.deepEqual(rules(checkCrdOrder(model, [gateway, ...source], [])), ["upstream/crd-source", "upstream/crd-order"]);
  });

  it("a CRD from a later layer, or the same layer for the tree's own objects, is too late", () => {
    const late = checkCrdOrder(model, [gateway], [release("apps", "gw", "apps", [crd])]);
    assert.match(late[0]!.message, /only HelmRelease\/apps\/gw, in apps, installs it, and Flux applies that after infra-configs/);
    const same = checkCrdOrder(model, [gateway], [configs("gw", "x", [crd])]);
    assert.match(same[0]!.message, /in the same layer, installs it, and Flux dry-runs/);
    // a chart's own objects may use the CRDs its layer's charts install
    assert.deepEqual(checkCrdOrder(model, [], [configs("gw", "x", [crd, gateway.object])]), []);
  });
});

describe("upstream/secret-source", () => {
  const needs = (secret: string): KubeObject => deployment("infra", "app", { app: "app" }, [], { env: [{ name: "PASSWORD", valueFrom: { secretKeyRef: { name: secret, key: "password" } } }] });

  it("finds a Secret nothing provides", () => {
    assert.deepEqual(checkSecretSources(model, [], [configs("app", "infra", [needs("nowhere")])]), [
      {
        rule: "upstream/secret-source",
        severity: "error",
        message: "needs Secret infra/nowhere, which nothing declares, generates or creates",
        fix: "declare the secret in the definition (secrets of the app or infrastructure), or let the chart create it",
        file: "infrastructure/configs/app/helmrelease.yaml (rendered by HelmRelease/infra/app)",
        object: "Deployment/infra/app",
        field: "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name",
      },
    ]);
  });

  it("finds a declared Secret that is sealed into a later layer than the pod that needs it", () => {
    const [f] = checkSecretSources(model, [], [controllers("app", "infra", [needs("chartmuseum-auth")])]);
    assert.equal(
      f?.message,
      "needs Secret infra/chartmuseum-auth, which only the declared secret sealed at infrastructure/configs/secrets/infra/chartmuseum-auth.sealed.yaml provides, in infra-configs: Flux applies that after infra-controllers, which waits for this pod, so neither becomes Ready",
    );
    assert.deepEqual(checkSecretSources(model, [], [configs("app", "infra", [needs("chartmuseum-auth")])]), []);
  });

  it("credits the chart's own Secrets, cert-manager Certificates, webhook-certgen Jobs and CloudNativePG clusters", () => {
    const secret: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: meta("infra", "own") };
    const cert: KubeObject = { apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: meta("infra", "tls"), spec: { secretName: "tls-secret" } };
    const job: KubeObject = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: meta("infra", "admission-create"),
      spec: { template: { spec: { containers: [{ name: "create", image: "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.0", args: ["create", "--namespace=$(POD_NAMESPACE)", "--secret-name=admission"] }] } } },
    };
    const pg: KubeObject = { apiVersion: "postgresql.cnpg.io/v1", kind: "Cluster", metadata: meta("infra", "postgres"), spec: { enableSuperuserAccess: true } };
    const objs = [secret, cert, job, pg, ...["own", "tls-secret", "admission", "postgres-superuser", "postgres-app"].map((s) => ({ ...needs(s), metadata: meta("infra", `uses-${s}`) }))];
    assert.deepEqual(checkSecretSources(model, [], [configs("app", "infra", objs)]), []);
    // without enableSuperuserAccess the operator creates no superuser Secret
    const noSuper = { ...pg, spec: {} };
    assert.deepEqual(rules(checkSecretSources(model, [], [configs("app", "infra", [noSuper, needs("postgres-superuser")])])), ["upstream/secret-source"]);
  });

  it("ignores optional references", () => {
    const opt = deployment("infra", "app", { app: "app" }, [], { envFrom: [{ secretRef: { name: "maybe", optional: true } }] });
    assert.deepEqual(checkSecretSources(model, [], [configs("app", "infra", [opt])]), []);
  });
});

describe("upstream/workload-facts", () => {
  const w = model.workloads.metallbController;
  const chart = controllers("metallb", w.namespace, [
    deployment(
      w.namespace,
      "metallb-controller",
      { ...w.labels },
      [
        { name: "metricshttps", containerPort: 9120 },
        { name: "webhook-server", containerPort: 9443 },
      ],
      {},
      w.serviceAccount,
    ),
  ]);

  it("holds for the Model's MetalLB controller as the chart renders it", () => {
    assert.deepEqual(checkWorkloadFacts(model, [], [chart]), []);
  });

  it("finds the rendered pods differing from the generated facts, naming the row and each difference", () => {
    const f = UPSTREAM_FACTS.metallbController!;
    const tampered = { ...UPSTREAM_FACTS, metallbController: { ...f, labels: { ...f.labels, "app.kubernetes.io/instance": "other" }, ports: [...f.ports, { name: "monitoring", port: 7472, protocol: "TCP" as const }] } };
    const stale = { ...model, workloads: infraWorkloads(model, tampered) };
    assert.deepEqual(checkWorkloadFacts(stale, [], [chart], tampered), [
      {
        rule: "upstream/workload-facts",
        severity: "error",
        message:
          "MetalLB controller: Deployment/metallb-system/metallb-controller as rendered differs from src/model/upstream-facts.generated.ts (metallbController; + rendered only, - generated only): labels app.kubernetes.io/instance=other -> metallb; ports -monitoring 7472/TCP",
        fix: "run npm run gen:facts and commit src/model/upstream-facts.generated.ts",
        file: "src/model/upstream-facts.generated.ts",
        object: "metallbController",
      },
    ]);
  });

  it("finds a chart bump the facts were not regenerated for, and a row with no facts", () => {
    const bumped = structuredClone(chart);
    bumped.release.object.spec = { chart: { spec: { chart: "metallb", version: "0.16.2" } } };
    assert.deepEqual(
      checkWorkloadFacts(model, [], [bumped]).map((x) => x.message),
      [
        "MetalLB controller: Deployment/metallb-system/metallb-controller as rendered differs from src/model/upstream-facts.generated.ts (metallbController; + rendered only, - generated only): generated from metallb 0.16.1, rendered by metallb 0.16.2",
      ],
    );
    const { metallbController: _, ...without } = UPSTREAM_FACTS;
    const bare = { ...model, workloads: infraWorkloads(model, without) };
    assert.deepEqual(bare.workloads.metallbController.ports, []);
    assert.deepEqual(
      checkWorkloadFacts(bare, [], [chart], without).map((x) => `${x.message} | ${x.fix}`),
      ["MetalLB controller: src/model/upstream-facts.generated.ts holds no facts for metallbController | run npm run gen:facts and commit src/model/upstream-facts.generated.ts"],
    );
  });

  it("checks a hand-kept row whose pods the tree renders against them (the registry)", () => {
    const r = model.workloads.registry;
    const placed = {
      file: "infrastructure/configs/registry/registry.yaml",
      object: deployment(
        r.namespace,
        "registry",
        { ...r.labels },
        r.ports.map((p) => ({ name: p.name, containerPort: p.port })),
      ),
    };
    assert.deepEqual(checkWorkloadFacts(model, [placed], []), []);
    const stale = { ...model, workloads: { ...model.workloads, registry: { ...r, ports: [...r.ports, { name: "debug", port: 5002, protocol: "TCP" as const }] } } };
    assert.deepEqual(checkWorkloadFacts(stale, [placed], []), [
      {
        rule: "upstream/workload-facts",
        severity: "error",
        message: "Registry: Deployment/registry/registry neither declares nor is the target of a Service on 5002/TCP (debug); it declares: registry (5000/TCP), metrics (5001/TCP)",
        fix: "list the ports the pods declare as rendered (src/model/infra-workloads.ts)",
        file: "src/model/infra-workloads.ts",
        object: "registry",
        field: "ports[2]",
      },
    ]);
  });

  it("counts the ports Istio's injector adds to a gateway rendered with image auto", () => {
    const g = model.workloads.gateway;
    const gw = controllers("gw", g.namespace, [
      deployment(g.namespace, "gw", { ...g.labels }, [], { image: "auto" }, g.serviceAccount),
      service(g.namespace, "gw", {}, g.selector, [
        { name: "http", port: 80, targetPort: 80 },
        { name: "https", port: 443, targetPort: 443 },
      ]),
    ]);
    assert.deepEqual(checkWorkloadFacts(model, [], [gw]), []);
  });
});

describe("renderedPodFacts (npm run gen:facts)", () => {
  const w = model.workloads.gateway;
  const labels = { app: "bk-gateway", istio: "bk-gateway", "helm.sh/chart": "gateway-1.30.3", "app.kubernetes.io/version": "1.30.3" };
  const gw = (extra: KubeObject[] = []) =>
    controllers("bk-gateway", w.namespace, [
      deployment(w.namespace, "bk-gateway", labels, [{ name: "status-port", containerPort: 15021 }], { image: "auto" }, "bk-gateway"),
      service(w.namespace, "bk-gateway", {}, { istio: "bk-gateway" }, [
        { name: "https", port: 443, targetPort: 443 },
        { name: "status", port: 15021, targetPort: "status-port" },
      ]),
      ...extra,
    ]);

  it("reads labels without the volatile ones and the ports the pod listens on, the same bytes every time", () => {
    const facts = renderedPodFacts(model, ["gateway"], [], [gw()]);
    assert.deepEqual(facts, {
      gateway: {
        chart: "",
        version: "",
        release: "bk-gateway",
        labels: { app: "bk-gateway", istio: "bk-gateway" },
        ports: [
          { name: "https", port: 443, protocol: "TCP" },
          { name: "status-port", port: 15021, protocol: "TCP" },
          { name: "http-envoy-prom", port: 15090, protocol: "TCP" },
        ],
        serviceAccount: "bk-gateway",
      },
    });
    const text = factsModule(facts);
    assert.match(text, /\n {4}serviceAccount: "bk-gateway",\n {2}\},\n/);
    assert.equal(text, factsModule(renderedPodFacts(model, ["gateway"], [], [gw()])));
    assert.match(text, /\n {2}gateway: \{\n {4}chart: "",\n {4}version: "",\n {4}release: "bk-gateway",\n {4}labels: \{ app: "bk-gateway", istio: "bk-gateway" \},\n/);
  });

  it("refuses a selector that picks no pod or two pod templates, naming the row", () => {
    const twin = deployment(w.namespace, "bk-gateway-canary", labels, []);
    assert.throws(() => renderedPodFacts(model, ["gateway"], [], [gw([twin])]), {
      message: `cannot read the facts of 1 workload(s) from the renders:\n  gateway: 2 pod templates are pods in ${w.namespace} labelled {"istio":"bk-gateway"}: the selector must pick one`,
    });
    assert.throws(() => renderedPodFacts(model, ["gateway", "loki"], [], [gw()]), /\n {2}loki: no rendered pods in logging labelled \{"app.kubernetes.io\/name":"loki"\}$/);
  });
});

describe("checkAssumptions", () => {
  it("reports a finding reached twice once", () => {
    const labels = { app: "x" };
    const chart = configs("x", "infra", [
      deployment("infra", "x", labels, [{ name: "http", containerPort: 8080 }], { name: "chartmuseum", image: "ghcr.io/helm/chartmuseum:v0.16.5" }),
      service("infra", "x", labels, labels, [{ name: "http", port: 8080, targetPort: "http" }]),
    ]);
    const sm = serviceMonitor("x", "infra", labels, "http");
    (sm.spec as { endpoints: unknown[] }).endpoints.push({ port: "http", path: "/other" });
    const found = rules(checkAssumptions(model, [{ file: "infrastructure/configs/monitoring/x.yaml", object: sm }], [chart]));
    // (and the ServiceMonitor CRD is nowhere in this object set)
    assert.deepEqual(found, ["upstream/metrics-enabled", "upstream/crd-order"]);
  });
});
