/**
 * charts/app (bk-app) rendered and linted by a real helm binary. Missing helm is a failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Job } from "kubernetes-models/batch/v1/Job";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";
import { HelmError, helmLint, helmTemplate } from "../../src/adapters/helm.js";
import { toolPath } from "../../src/adapters/tools.js";
import type { KubeObject } from "../../src/core/object.js";

const CHART = fileURLToPath(new URL("../../charts/app", import.meta.url));

// Rendered manifests are walked structurally; a loose type keeps the assertions readable.
// biome-ignore lint/suspicious/noExplicitAny: see above; rendered manifests have no declared type
type Obj = Record<string, any>;

function resolveHelm(): string | undefined {
  try {
    return toolPath("helm");
  } catch {
    // Not built into the tools cache: the explicit locations below may still have it.
  }
  const fromEnv = process.env["BK_HELM"];
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  if (existsSync("/tmp/bk-tool-helm")) {
    const p = readFileSync("/tmp/bk-tool-helm", "utf8").trim();
    if (p && existsSync(p)) return p;
  }
  return undefined;
}

const HELM = resolveHelm();

function helm(): string {
  if (!HELM) {
    assert.fail("helm binary not found: tried toolPath('helm') (src/adapters/tools.ts), $BK_HELM and /tmp/bk-tool-helm. " + "Build it with `npm run tools` or set BK_HELM=/path/to/helm.");
  }
  return HELM;
}

const REGISTRY = "192.168.7.21:5000";

function baseValues(app: string, component: string, extra: Obj = {}): Obj {
  return { app, component, image: { repository: `${REGISTRY}/${app}/${component}`, tag: "1.4.2" }, ...extra };
}

async function render(values: Obj, releaseName: string, namespace: string): Promise<KubeObject[]> {
  return helmTemplate(CHART, values, { releaseName, namespace, helm: helm() });
}

async function renderError(values: Obj): Promise<string> {
  try {
    await render(values, "x-y", "x");
  } catch (e) {
    assert.ok(e instanceof HelmError, `expected a HelmError, got ${String(e)}`);
    return e.message;
  }
  assert.fail("helm template succeeded but should have rejected the values");
}

function find(objs: KubeObject[], kind: string, name?: string): Obj {
  const hit = objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.ok(hit, `no ${kind}${name ? ` ${name}` : ""} among: ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return hit as Obj;
}

function kinds(objs: KubeObject[]): string[] {
  return objs.map((o) => o.kind).sort();
}

/** Every pod spec inside an object, with a label for messages. */
function podSpecs(objs: KubeObject[]): Array<{ where: string; spec: Obj; podLabels: Obj }> {
  const out: Array<{ where: string; spec: Obj; podLabels: Obj }> = [];
  for (const o of objs as Obj[]) {
    const where = `${o.kind}/${o.metadata.name}`;
    if (o.kind === "Deployment" || o.kind === "Job") {
      out.push({ where, spec: o.spec.template.spec, podLabels: o.spec.template.metadata.labels });
    } else if (o.kind === "CronJob") {
      out.push({ where, spec: o.spec.jobTemplate.spec.template.spec, podLabels: o.spec.jobTemplate.spec.template.metadata.labels });
    }
  }
  return out;
}

/** Pod Security "restricted" and the chart's resource rule, for every pod the chart renders. */
function assertRestrictedPods(objs: KubeObject[], uid = 10001): void {
  const pods = podSpecs(objs);
  assert.ok(pods.length > 0, "no pod specs rendered");
  for (const { where, spec } of pods) {
    const psc = spec.securityContext;
    assert.equal(psc?.runAsNonRoot, true, `${where}: pod runAsNonRoot`);
    assert.equal(psc?.runAsUser, uid, `${where}: pod runAsUser`);
    assert.equal(psc?.runAsGroup, uid, `${where}: pod runAsGroup`);
    assert.equal(psc?.fsGroup, uid, `${where}: pod fsGroup`);
    assert.equal(psc?.seccompProfile?.type, "RuntimeDefault", `${where}: seccompProfile`);
    assert.equal(spec.automountServiceAccountToken, false, `${where}: automountServiceAccountToken`);
    for (const forbidden of ["hostNetwork", "hostPID", "hostIPC"]) assert.ok(!spec[forbidden], `${where}: ${forbidden}`);
    const tmp = (spec.volumes as Obj[]).find((v) => v.name === "tmp");
    assert.deepEqual(tmp?.emptyDir, {}, `${where}: /tmp volume must be an emptyDir`);
    for (const v of spec.volumes as Obj[]) assert.ok(!v.hostPath, `${where}: hostPath volume ${v.name}`);
    const containers = [...(spec.containers as Obj[]), ...((spec.initContainers as Obj[] | undefined) ?? [])];
    for (const c of containers) {
      const at = `${where} container ${c.name}`;
      const sc = c.securityContext;
      assert.equal(sc?.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation`);
      assert.deepEqual(sc?.capabilities?.drop, ["ALL"], `${at}: capabilities.drop`);
      assert.equal(sc?.readOnlyRootFilesystem, true, `${at}: readOnlyRootFilesystem`);
      assert.ok(!sc?.privileged, `${at}: privileged`);
      assert.ok(!sc?.capabilities?.add, `${at}: capabilities.add`);
      assert.ok(
        (c.volumeMounts as Obj[]).some((m) => m.mountPath === "/tmp" && m.name === "tmp"),
        `${at}: /tmp must be mounted from the emptyDir`,
      );
      for (const part of ["requests", "limits"]) {
        for (const res of ["cpu", "memory"]) {
          assert.ok(c.resources?.[part]?.[res], `${at}: resources.${part}.${res} missing`);
        }
      }
    }
  }
}

const MODELS: Record<string, (o: KubeObject) => { validate(): void }> = {
  "apps/v1/Deployment": (o) => new Deployment(o as never),
  "v1/Service": (o) => new Service(o as never),
  "v1/ServiceAccount": (o) => new ServiceAccount(o as never),
  "v1/PersistentVolumeClaim": (o) => new PersistentVolumeClaim(o as never),
  "batch/v1/Job": (o) => new Job(o as never),
  "batch/v1/CronJob": (o) => new CronJob(o as never),
  "networking.k8s.io/v1/Ingress": (o) => new Ingress(o as never),
  "policy/v1/PodDisruptionBudget": (o) => new PodDisruptionBudget(o as never),
  "monitoring.coreos.com/v1/ServiceMonitor": (o) => new ServiceMonitor(o as never),
  "gateway.networking.k8s.io/v1/HTTPRoute": (o) => new HTTPRoute(o as never),
};

/** Schema-validates every object a model exists for; returns the kinds that had none. */
function validateModels(objs: KubeObject[]): string[] {
  const uncovered: string[] = [];
  for (const o of objs) {
    const model = MODELS[`${o.apiVersion}/${o.kind}`];
    if (!model) {
      uncovered.push(`${o.apiVersion}/${o.kind}`);
      continue;
    }
    assert.doesNotThrow(() => model(o).validate(), `${o.kind}/${o.metadata.name} fails its schema`);
  }
  return uncovered;
}

/** Labels every object carries, and the version label following the image tag. */
function assertStandardLabels(objs: KubeObject[], release: string, app: string, component: string, tag: string): void {
  for (const o of objs) {
    const l = o.metadata.labels ?? {};
    const at = `${o.kind}/${o.metadata.name}`;
    assert.ok(l["app.kubernetes.io/name"], `${at}: name label`);
    assert.equal(l["app.kubernetes.io/instance"], release, `${at}: instance label`);
    assert.equal(l["app.kubernetes.io/component"], component, `${at}: component label`);
    assert.equal(l["app.kubernetes.io/part-of"], app, `${at}: part-of label`);
    assert.equal(l["app.kubernetes.io/managed-by"], "Helm", `${at}: managed-by label`);
    assert.equal(l["app.kubernetes.io/version"], tag, `${at}: version label`);
  }
}

function container(podSpec: Obj): Obj {
  return (podSpec.containers as Obj[])[0]!;
}

test("helm binary is available", () => {
  assert.ok(existsSync(helm()), `helm path ${HELM} does not exist`);
});

test("helm lint passes with the default values plus an image", async () => {
  const res = await helmLint(CHART, { image: { repository: `${REGISTRY}/ffl/backend`, tag: "1.4.2" } }, { helm: helm(), strict: true });
  assert.ok(res.ok, `lint failed:\n${res.output}`);
  assert.deepEqual(res.errors, []);
});

test("helm lint fails without image.tag", async () => {
  const res = await helmLint(CHART, { image: { repository: `${REGISTRY}/ffl/backend` } }, { helm: helm() });
  assert.equal(res.ok, false, `lint passed without a tag:\n${res.output}`);
  assert.match(res.output, /tag/, "the error should name the missing tag");
});

test("helm lint fails when image.tag is latest (any case)", async () => {
  for (const tag of ["latest", "Latest"]) {
    const res = await helmLint(CHART, { image: { repository: `${REGISTRY}/ffl/backend`, tag } }, { helm: helm() });
    assert.equal(res.ok, false, `lint accepted tag ${tag}:\n${res.output}`);
    assert.match(res.output, /tag/);
  }
});

test("the schema rejects bad values that would otherwise deploy wrongly", async () => {
  const base = baseValues("ffl", "backend");
  // A numeric tag is a YAML float: 1.10 would silently become 1.1.
  assert.match(await renderError({ ...base, image: { ...base["image"], tag: 1.1 } }), /tag/);
  assert.match(await renderError({ ...base, replica: 2 }), /replica/, "a typo'd key must be rejected");
  assert.match(await renderError({ ...base, securityContext: { runAsUser: 0, runAsGroup: 0, fsGroup: 0 } }), /runAsUser/);
  assert.match(await renderError({ ...base, image: { repository: `${REGISTRY}/ffl/backend:1.4.2`, tag: "1.4.2" } }), /repository/);
  assert.match(await renderError({ ...base, env: { PORT: 8080 } }), /env/);
  // Helm merges resources into the defaults, so limits can only go missing by nulling them.
  assert.match(await renderError({ ...base, resources: { limits: null } }), /limits/);
  assert.match(await renderError({ ...base, resources: { limits: { memory: "256MB" } } }), /memory/);
  assert.match(await renderError({ ...base, migration: { enabled: true, command: [] } }), /command/);
  assert.match(await renderError({ ...base, route: { enabled: true, path: "ffl", kind: "ingress" } }), /path/);
  assert.match(await renderError({ ...base, route: { enabled: true, path: "/ffl", kind: "nodeport" } }), /kind/);
});

test("HTTP backend with an Ingress route", async () => {
  const values = baseValues("ffl", "backend", {
    env: { LOG_LEVEL: "info", DATABASE_HOST: "postgres-rw.infra.svc.cluster.local" },
    secretEnv: [{ name: "DATABASE_PASSWORD", secret: "ffl-db", key: "password" }],
    route: { enabled: true, kind: "ingress", path: "/ffl/api", ingress: { className: "nginx", tls: { secretName: "ffl-tls" } } },
  });
  const objs = await render(values, "ffl-backend", "ffl");
  assert.deepEqual(kinds(objs), ["Deployment", "Ingress", "Service", "ServiceAccount"]);
  assertStandardLabels(objs, "ffl-backend", "ffl", "backend", "1.4.2");
  assertRestrictedPods(objs);
  assert.deepEqual(validateModels(objs), []);
  for (const o of objs) assert.equal(o.metadata.namespace, "ffl", `${o.kind} namespace`);

  const deploy = find(objs, "Deployment", "ffl-backend");
  assert.equal(deploy.spec.strategy.type, "RollingUpdate");
  assert.equal(deploy.spec.template.spec.serviceAccountName, "ffl-backend");
  const c = container(deploy.spec.template.spec);
  assert.equal(c.image, `${REGISTRY}/ffl/backend:1.4.2`);
  assert.deepEqual(c.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
  assert.deepEqual(c.livenessProbe.httpGet, { path: "/health", port: "http" });
  assert.deepEqual(c.readinessProbe.httpGet, { path: "/health", port: "http" });
  assert.equal(c.startupProbe, undefined);
  assert.deepEqual(c.env, [
    { name: "DATABASE_HOST", value: "postgres-rw.infra.svc.cluster.local" },
    { name: "LOG_LEVEL", value: "info" },
    { name: "DATABASE_PASSWORD", valueFrom: { secretKeyRef: { name: "ffl-db", key: "password" } } },
  ]);

  const svc = find(objs, "Service", "ffl-backend");
  assert.deepEqual(svc.spec.selector, deploy.spec.selector.matchLabels, "Service must select the Deployment's pods");
  for (const [k, v] of Object.entries(deploy.spec.selector.matchLabels)) {
    assert.equal(deploy.spec.template.metadata.labels[k], v, `pod template carries selector label ${k}`);
  }
  const httpPort = (svc.spec.ports as Obj[]).find((p) => p.name === "http");
  assert.deepEqual(httpPort, { name: "http", port: 80, targetPort: "http", protocol: "TCP" });

  const ing = find(objs, "Ingress", "ffl-backend");
  assert.equal(ing.spec.ingressClassName, "nginx");
  assert.deepEqual(ing.spec.tls, [{ secretName: "ffl-tls" }]);
  const path = ing.spec.rules[0].http.paths[0];
  assert.equal(path.path, "/ffl/api");
  assert.equal(path.pathType, "Prefix");
  assert.equal(path.backend.service.name, svc.metadata.name);
  assert.equal(path.backend.service.port.number, httpPort.port);
});

test("selector stays stable and config changes roll the pods", async () => {
  const a = await render(baseValues("ffl", "backend"), "ffl-backend", "ffl");
  const b = await render(baseValues("ffl", "backend", { image: { repository: `${REGISTRY}/ffl/backend`, tag: "1.5.0" } }), "ffl-backend", "ffl");
  const c = await render(baseValues("ffl", "backend", { env: { FEATURE_X: "on" } }), "ffl-backend", "ffl");
  const d = await render(baseValues("ffl", "backend", { secretEnv: [{ name: "TOKEN", secret: "ffl-token", key: "token" }] }), "ffl-backend", "ffl");
  const [da, db, dc, dd] = [a, b, c, d].map((o) => find(o, "Deployment"));
  assert.deepEqual(da!.spec.selector, db!.spec.selector, "selector must not change with the image tag");
  assert.notEqual(da!.metadata.labels["app.kubernetes.io/version"], db!.metadata.labels["app.kubernetes.io/version"]);
  const sum = (o: Obj): string => o.spec.template.metadata.annotations["checksum/config"];
  assert.match(sum(da!), /^[0-9a-f]{64}$/);
  assert.notEqual(sum(da!), sum(dc!), "env change must change the pod checksum");
  assert.notEqual(sum(da!), sum(dd!), "secretEnv change must change the pod checksum");
  assert.equal(sum(da!), sum(db!), "a tag change alone does not touch config");
});

test("frontend with an HTTPRoute on the shared gateway", async () => {
  const values = baseValues("midwestmtg", "frontend", {
    port: 8080,
    service: { port: 8080 },
    writablePaths: ["/var/cache/nginx"],
    route: { enabled: true, kind: "httproute", path: "/midwestmtg", host: "mtg.beckerkube.lan", gateway: { name: "bk-gateway", namespace: "istio-ingress" } },
  });
  const objs = await render(values, "midwestmtg-frontend", "midwestmtg");
  assert.deepEqual(kinds(objs), ["Deployment", "HTTPRoute", "Service", "ServiceAccount"]);
  assertRestrictedPods(objs);
  assert.deepEqual(validateModels(objs), []);

  const route = find(objs, "HTTPRoute", "midwestmtg-frontend");
  assert.equal(route.apiVersion, "gateway.networking.k8s.io/v1");
  assert.deepEqual(route.spec.parentRefs, [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "bk-gateway", namespace: "istio-ingress" }]);
  assert.deepEqual(route.spec.hostnames, ["mtg.beckerkube.lan"]);
  const rule = route.spec.rules[0];
  assert.deepEqual(rule.matches, [{ path: { type: "PathPrefix", value: "/midwestmtg" } }]);
  const svc = find(objs, "Service", "midwestmtg-frontend");
  const httpPort = (svc.spec.ports as Obj[]).find((p) => p.name === "http");
  assert.ok(httpPort, "Service has an http port");
  assert.deepEqual(rule.backendRefs, [{ name: svc.metadata.name, port: httpPort.port }]);

  const pod = find(objs, "Deployment").spec.template.spec;
  const mount = (container(pod).volumeMounts as Obj[]).find((m) => m.mountPath === "/var/cache/nginx");
  assert.ok(mount, "writable path mounted");
  assert.deepEqual((pod.volumes as Obj[]).find((v) => v.name === mount.name)?.emptyDir, {});
});

test("the same route as an Istio VirtualService", async () => {
  const values = baseValues("ffl", "frontend", {
    route: { enabled: true, kind: "virtualservice", path: "/ffl", gateway: { name: "bk-gateway", namespace: "istio-ingress" } },
  });
  const objs = await render(values, "ffl-frontend", "ffl");
  assert.deepEqual(validateModels(objs), ["networking.istio.io/v1/VirtualService"]);
  const vs = find(objs, "VirtualService", "ffl-frontend");
  assert.equal(vs.apiVersion, "networking.istio.io/v1");
  assert.deepEqual(vs.spec.gateways, ["istio-ingress/bk-gateway"]);
  assert.deepEqual(vs.spec.hosts, ["*"]);
  const http = vs.spec.http[0];
  assert.deepEqual(http.match, [{ uri: { prefix: "/ffl" } }]);
  assert.deepEqual(http.route, [{ destination: { host: "ffl-frontend.ffl.svc.cluster.local", port: { number: 80 } } }]);
});

test("worker without a port: no Service, exec probes", async () => {
  const values = baseValues("triager", "classifier", {
    port: null,
    command: ["python", "-m", "triager.worker"],
    args: ["--queue", "classify"],
    probes: { liveness: { exec: ["python", "-m", "triager.healthcheck"], periodSeconds: 30 }, readiness: null },
  });
  const objs = await render(values, "triager-classifier", "triager");
  assert.deepEqual(kinds(objs), ["Deployment", "ServiceAccount"]);
  assertRestrictedPods(objs);
  assert.deepEqual(validateModels(objs), []);
  const c = container(find(objs, "Deployment").spec.template.spec);
  assert.equal(c.ports, undefined);
  assert.deepEqual(c.command, ["python", "-m", "triager.worker"]);
  assert.deepEqual(c.args, ["--queue", "classify"]);
  // exec wins over the default path the probe was merged with.
  assert.deepEqual(c.livenessProbe, { exec: { command: ["python", "-m", "triager.healthcheck"] }, periodSeconds: 30 });
  assert.equal(c.readinessProbe, undefined);

  // port 0 means the same as null.
  const zero = await render({ ...values, port: 0 }, "triager-classifier", "triager");
  assert.deepEqual(kinds(zero), ["Deployment", "ServiceAccount"]);
});

test("a worker is refused HTTP probes and routes it cannot serve", async () => {
  const worker = baseValues("triager", "duplicate", { port: 0 });
  const probeErr = await renderError(worker);
  assert.match(probeErr, /probes\.liveness/);
  assert.match(probeErr, /exec/);
  const routeErr = await renderError({
    ...worker,
    probes: { liveness: null, readiness: null },
    route: { enabled: true, kind: "ingress", path: "/triager" },
  });
  assert.match(routeErr, /route/);
});

test("bot with an OAuth credentials file from a Secret", async () => {
  const values = baseValues("ccbot", "bot", {
    port: null,
    probes: { liveness: { exec: ["/app/healthcheck"] }, readiness: null },
    secretEnv: [{ name: "DISCORD_TOKEN", secret: "ccbot-discord", key: "token" }],
    secretFiles: [{ secret: "ccbot-oauth", mountPath: "/var/run/secrets/ccbot", readOnly: true }],
  });
  const objs = await render(values, "ccbot-bot", "ccbot");
  assert.deepEqual(kinds(objs), ["Deployment", "ServiceAccount"]);
  assertRestrictedPods(objs);
  assert.deepEqual(validateModels(objs), []);
  const pod = find(objs, "Deployment").spec.template.spec;
  const mount = (container(pod).volumeMounts as Obj[]).find((m) => m.mountPath === "/var/run/secrets/ccbot");
  assert.ok(mount, "credentials directory mounted");
  assert.equal(mount.readOnly, true);
  const vol = (pod.volumes as Obj[]).find((v) => v.name === mount.name);
  assert.equal(vol?.secret?.secretName, "ccbot-oauth");
  assert.equal(vol?.secret?.defaultMode, 0o440, "credentials readable by the pod's group only");
  assert.deepEqual(container(pod).env, [{ name: "DISCORD_TOKEN", valueFrom: { secretKeyRef: { name: "ccbot-discord", key: "token" } } }]);
});

test("component with migration, cron job, metrics and PDB", async () => {
  const values = baseValues("ffl", "backend", {
    replicas: 2,
    env: { DATABASE_HOST: "postgres-rw.infra.svc.cluster.local" },
    secretEnv: [{ name: "DATABASE_PASSWORD", secret: "ffl-db", key: "password" }],
    migration: { enabled: true, command: ["alembic", "upgrade", "head"] },
    cronJobs: [{ name: "cleanup", schedule: "0 3 * * *", command: ["python", "-m", "ffl.cleanup"], activeDeadlineSeconds: 600 }],
    metrics: { enabled: true, port: 9090, path: "/metrics", interval: "30s" },
    pdb: { enabled: true, minAvailable: 1 },
    persistence: { enabled: true, size: "2Gi" },
  });
  const objs = await render(values, "ffl-backend", "ffl");
  assert.deepEqual(kinds(objs), ["CronJob", "Deployment", "Job", "PersistentVolumeClaim", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceAccount", "ServiceMonitor"]);
  assertStandardLabels(objs, "ffl-backend", "ffl", "backend", "1.4.2");
  assertRestrictedPods(objs);
  assert.deepEqual(validateModels(objs), []);

  const deploy = find(objs, "Deployment", "ffl-backend");
  const main = container(deploy.spec.template.spec);
  const selector = deploy.spec.selector.matchLabels as Obj;
  const matchesSelector = (labels: Obj): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

  // Migration hook: own deadline (incident 5), same image/env/secrets as the app, before install and upgrade.
  const job = find(objs, "Job", "ffl-backend-migrate");
  const ann = job.metadata.annotations;
  assert.equal(ann["helm.sh/hook"], "pre-install,pre-upgrade");
  assert.equal(ann["helm.sh/hook-delete-policy"], "before-hook-creation,hook-succeeded");
  assert.equal(job.spec.activeDeadlineSeconds, 1800);
  assert.equal(job.spec.backoffLimit, 1);
  const jobPod = job.spec.template.spec;
  assert.equal(jobPod.restartPolicy, "Never");
  const jc = container(jobPod);
  assert.deepEqual(jc.command, ["alembic", "upgrade", "head"]);
  assert.equal(jc.image, main.image);
  assert.deepEqual(jc.env, main.env);
  assert.equal(jc.livenessProbe, undefined, "a Job gets no probes");
  assert.ok(!matchesSelector(job.spec.template.metadata.labels), "migration pods must not join the Deployment's Service/PDB");
  assert.ok(!(jobPod.volumes as Obj[]).some((v) => v.persistentVolumeClaim), "migration does not mount the app's data volume");

  // Its ServiceAccount has to exist before the Job, during pre-install too.
  const hookSa = find(objs, "ServiceAccount", jobPod.serviceAccountName);
  assert.equal(hookSa.metadata.annotations?.["helm.sh/hook"], "pre-install,pre-upgrade");
  assert.ok(Number(hookSa.metadata.annotations["helm.sh/hook-weight"]) < Number(ann["helm.sh/hook-weight"]), "hook ServiceAccount must be created before the migration Job");
  assert.equal(hookSa.automountServiceAccountToken, false);
  const appSa = find(objs, "ServiceAccount", "ffl-backend");
  assert.equal(appSa.metadata.annotations?.["helm.sh/hook"], undefined, "the app's ServiceAccount is a normal release object");

  const cron = find(objs, "CronJob", "ffl-backend-cleanup");
  assert.equal(cron.spec.schedule, "0 3 * * *");
  assert.equal(cron.spec.concurrencyPolicy, "Forbid");
  assert.equal(cron.spec.jobTemplate.spec.activeDeadlineSeconds, 600);
  const cc = container(cron.spec.jobTemplate.spec.template.spec);
  assert.deepEqual(cc.command, ["python", "-m", "ffl.cleanup"]);
  assert.equal(cc.image, main.image);
  assert.deepEqual(cc.env, main.env);
  assert.ok(!matchesSelector(cron.spec.jobTemplate.spec.template.metadata.labels));

  // Metrics: the ServiceMonitor scrapes the Service port that reaches the container's metrics port.
  const svc = find(objs, "Service", "ffl-backend");
  const metricsPort = (svc.spec.ports as Obj[]).find((p) => p.name === "metrics");
  assert.deepEqual(metricsPort, { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" });
  assert.ok((main.ports as Obj[]).some((p) => p.name === metricsPort.targetPort && p.containerPort === 9090));
  const sm = find(objs, "ServiceMonitor", "ffl-backend");
  assert.deepEqual(sm.spec.endpoints, [{ port: metricsPort.name, path: "/metrics", interval: "30s" }]);
  assert.ok(
    Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels[k] === v),
    "ServiceMonitor selects the Service",
  );

  const pdb = find(objs, "PodDisruptionBudget", "ffl-backend");
  assert.equal(pdb.spec.minAvailable, 1);
  assert.deepEqual(pdb.spec.selector.matchLabels, selector);

  const pvc = find(objs, "PersistentVolumeClaim", "ffl-backend-data");
  assert.equal(pvc.spec.storageClassName, "standard");
  assert.equal(pvc.spec.resources.requests.storage, "2Gi");
  assert.equal(pvc.metadata.annotations["helm.sh/resource-policy"], "keep");
  const dataVol = (deploy.spec.template.spec.volumes as Obj[]).find((v) => v.persistentVolumeClaim);
  assert.equal(dataVol?.persistentVolumeClaim.claimName, "ffl-backend-data");
  assert.ok((main.volumeMounts as Obj[]).some((m) => m.name === dataVol.name && m.mountPath === "/data"));
});

test("metrics served on the HTTP port reuse it, and the ServiceMonitor carries the selector labels Prometheus needs", async () => {
  const objs = await render(
    baseValues("mtg-dev-agents", "orchestrator", {
      metrics: { enabled: true, port: 8080, serviceMonitorLabels: { release: "kube-prometheus-stack" } },
    }),
    "mtg-dev-agents-orchestrator",
    "mtg-dev-agents",
  );
  assert.deepEqual(validateModels(objs), []);
  const c = container(find(objs, "Deployment").spec.template.spec);
  assert.deepEqual(c.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }], "no duplicate container port");
  const svc = find(objs, "Service");
  // One Service port: a second with the same number is refused by the API server (duplicate key).
  assert.deepEqual(
    (svc.spec.ports as Obj[]).map((p) => p.name),
    ["http"],
  );
  const sm = find(objs, "ServiceMonitor");
  assert.equal(sm.metadata.labels.release, "kube-prometheus-stack");
  assert.equal(sm.metadata.labels["app.kubernetes.io/part-of"], "mtg-dev-agents");
  assert.equal(sm.spec.endpoints[0].port, "http");

  // As BeckerKube's synthesis renders it: the Service listens on the container's port.
  const same = await render(baseValues("ffl", "backend", { port: 8000, service: { port: 8000 }, metrics: { enabled: true, port: 8000 } }), "ffl-backend", "ffl");
  const ports = (find(same, "Service").spec.ports as Obj[]).map((p) => p.port);
  assert.deepEqual(ports, [...new Set(ports)], "duplicate Service port numbers");
  assert.equal(find(same, "ServiceMonitor").spec.endpoints[0].port, "http");
});

test("jobs can set their own resources; the pod identity can change but never to root", async () => {
  const custom = { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } };
  const objs = await render(
    baseValues("mtg-dev-agents", "stenographer", {
      securityContext: { runAsUser: 2000, runAsGroup: 2000, fsGroup: 2000 },
      migration: { enabled: true, command: ["migrate"], resources: custom, activeDeadlineSeconds: 900 },
    }),
    "mtg-dev-agents-stenographer",
    "mtg-dev-agents",
  );
  assertRestrictedPods(objs, 2000);
  const job = find(objs, "Job");
  assert.equal(job.spec.activeDeadlineSeconds, 900);
  assert.deepEqual(container(job.spec.template.spec).resources, custom);
  assert.deepEqual(container(find(objs, "Deployment").spec.template.spec).resources, {
    requests: { cpu: "50m", memory: "64Mi" },
    limits: { cpu: "500m", memory: "256Mi" },
  });
});

test("cross-field mistakes fail with a message naming the value", async () => {
  const base = baseValues("ffl", "backend");
  assert.match(await renderError({ ...base, pdb: { enabled: true, minAvailable: 1 } }), /pdb\.minAvailable.*replicas/);
  assert.match(await renderError({ ...base, env: { TOKEN: "x" }, secretEnv: [{ name: "TOKEN", secret: "s", key: "k" }] }), /secretEnv\[0\].*TOKEN/);
  assert.match(
    await renderError({
      ...base,
      cronJobs: [
        { name: "a", schedule: "@daily", command: ["x"] },
        { name: "a", schedule: "@daily", command: ["y"] },
      ],
    }),
    /cronJobs\[1\]/,
  );
  assert.match(await renderError({ ...base, secretFiles: [{ secret: "s", mountPath: "/tmp" }] }), /secretFiles\[0\]\.mountPath/);
});
