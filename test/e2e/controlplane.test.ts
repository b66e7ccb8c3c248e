/**
 * End-to-end: a real kube-apiserver + controllers + KWOK node + the four Flux controllers, all local.
 * Proves the test bed does what BeckerKube's GitOps tree relies on: scheduling onto the node, Pod Security
 * admission, GitRepository -> Kustomization, HelmRepository -> HelmRelease.
 * Needs `npm run tools -- base e2e` and Debian's etcd-server; a missing piece fails up() with how to fix it.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe } from "node:test";
import { stringify } from "yaml";
import { CommandError } from "../../src/devcluster/exec.js";
import { httpGet } from "../../src/devcluster/net.js";
import { FLUX_NAMESPACE } from "../../src/core/well-known.js";
import { up } from "../../src/devcluster/index.js";
import { clusterSuite } from "./helpers/suite.js";

const READY_TIMEOUT = 120_000;
const NODE = "beckerbox";

const suite = clusterSuite();
const c = suite.cluster;
const tempDir = suite.tempDir;
/** Every step may wait for several objects to become Ready. */
const step = (name: string, fn: () => Promise<void>): void => suite.step(name, 4 * READY_TIMEOUT, fn);

const yamlDocs = (...objs: unknown[]) => objs.map((o) => stringify(o)).join("---\n");

async function waitServiceAccount(ns: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT;
  while (!(await c().kubectl.getJson("serviceaccount", ns, "default"))) {
    if (Date.now() > deadline) throw new Error(`serviceaccount ${ns}/default never appeared (kube-controller-manager down?)`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

interface PodList {
  items: { metadata: { name: string }; spec: { nodeName?: string }; status: { phase?: string; conditions?: { type: string; status: string }[] } }[];
}

async function assertPodsRunningOnNode(ns: string, selector: string, count: number): Promise<void> {
  const pods = JSON.parse(await c().kubectl.run(["get", "pods", "-n", ns, "-l", selector, "-o", "json"])) as PodList;
  const live = pods.items;
  assert.equal(live.length, count, `expected ${count} pods for ${selector} in ${ns}, got ${live.map((p) => p.metadata.name).join(", ")}`);
  for (const p of live) {
    assert.equal(p.spec.nodeName, NODE, `pod ${ns}/${p.metadata.name} is bound to ${p.spec.nodeName ?? "no node"}`);
    assert.equal(p.status.phase, "Running", `pod ${ns}/${p.metadata.name} phase`);
    assert.equal(p.status.conditions?.find((x) => x.type === "Ready")?.status, "True", `pod ${ns}/${p.metadata.name} Ready`);
  }
}

function deployment(ns: string, name: string, replicas: number): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: "registry.k8s.io/pause:3.10" }] },
      },
    },
  };
}

function pod(ns: string, name: string, securityContext: "privileged" | "restricted"): Record<string, unknown> {
  const container =
    securityContext === "privileged"
      ? { name: "app", image: "registry.k8s.io/pause:3.10", securityContext: { privileged: true } }
      : {
          name: "app",
          image: "registry.k8s.io/pause:3.10",
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, runAsNonRoot: true, runAsUser: 65532 },
        };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      ...(securityContext === "restricted" ? { securityContext: { seccompProfile: { type: "RuntimeDefault" } } } : {}),
      containers: [container],
    },
  };
}

describe("local control plane with Flux", () => {
  before(
    async () => {
      const cluster = await up({ chartRepo: true, onProgress: (l) => console.log(`# devcluster ${l}`) });
      suite.setCluster(cluster);
      console.log(`# devcluster workdir ${cluster.workdir}`);
    },
    { timeout: 6 * 60_000 },
  );

  after(() => suite.teardown());

  step("the KWOK node is Ready", async () => {
    const node = await c().waitReady("node", undefined, NODE, READY_TIMEOUT);
    const labels = (node["metadata"] as { labels?: Record<string, string> }).labels ?? {};
    assert.equal(labels["kubernetes.io/hostname"], NODE);
    const version = JSON.parse(await c().kubectl.run(["version", "-o", "json"])) as { serverVersion?: { gitVersion?: string } };
    assert.match(version.serverVersion?.gitVersion ?? "", /^v1\.\d+\.\d+$/, "apiserver reports a release version");
  });

  step("a Deployment's pods are scheduled onto the KWOK node and Running", async () => {
    const ns = "e2e-deploy";
    await c().applyManifest(yamlDocs({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }));
    await waitServiceAccount(ns);
    await c().applyManifest(yamlDocs(deployment(ns, "hello", 2)));
    await c().waitReady("deployment", ns, "hello", READY_TIMEOUT);
    await assertPodsRunningOnNode(ns, "app=hello", 2);
  });

  step("Pod Security admission enforces the restricted profile", async () => {
    const restricted = "e2e-psa-restricted";
    const open = "e2e-psa-open";
    await c().applyManifest(
      yamlDocs({ apiVersion: "v1", kind: "Namespace", metadata: { name: restricted, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } }, { apiVersion: "v1", kind: "Namespace", metadata: { name: open } }),
    );
    await waitServiceAccount(restricted);
    await waitServiceAccount(open);

    await assert.rejects(c().kubectl.run(["create", "-f", "-"], yamlDocs(pod(restricted, "priv", "privileged"))), (err: unknown) => {
      assert.ok(err instanceof CommandError, String(err));
      assert.match(err.stderr, /violates PodSecurity "restricted:latest"/);
      assert.match(err.stderr, /privileged/);
      return true;
    });
    // The same pod is accepted where no profile is enforced: the refusal above came from Pod Security, not
    // from the apiserver's --allow-privileged check.
    await c().kubectl.run(["create", "-f", "-"], yamlDocs(pod(open, "priv", "privileged")));
    await c().kubectl.run(["create", "-f", "-"], yamlDocs(pod(restricted, "compliant", "restricted")));
    await c().waitReady("pod", restricted, "compliant", READY_TIMEOUT);
    await assertPodsRunningOnNode(restricted, "app=compliant", 1);
  });

  step("GitRepository from the local git server becomes Ready with an artifact; a Kustomization applies it", async () => {
    const repo = await tempDir("bk-e2e-fleet-");
    const appDir = path.join(repo, "apps", "demo");
    await mkdir(appDir, { recursive: true });
    const ns = "e2e-kustomize";
    const configMap = (greeting: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "greeting", namespace: ns },
      data: { greeting },
    });
    await writeFile(path.join(appDir, "namespace.yaml"), yamlDocs({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }));
    await writeFile(path.join(appDir, "configmap.yaml"), yamlDocs(configMap("hello")));
    const first = await c().pushRepo(repo, { message: "demo app" });

    // syncGit = GitRepository + Kustomization (both "demo") on the local git server, waited to Ready.
    const applied = await c().syncGit({ name: "demo", path: "./apps/demo", repo: "fleet" });
    assert.equal(applied, `main@sha1:${first}`);
    const gitRepo = await c().kubectl.getJson("gitrepositories.source.toolkit.fluxcd.io", FLUX_NAMESPACE, "demo");
    assert.equal((gitRepo?.["spec"] as { url?: string } | undefined)?.url, c().git?.url("fleet"));
    const artifact = (gitRepo?.["status"] as { artifact?: { revision?: string; url?: string } } | undefined)?.artifact;
    assert.equal(artifact?.revision, `main@sha1:${first}`);
    assert.ok(artifact?.url, "GitRepository status.artifact.url is set");
    const served = await httpGet(artifact.url);
    assert.equal(served.status, 200, `source-controller serves the artifact at ${artifact.url}`);

    const cm = await c().kubectl.getJson<{ data?: Record<string, string> }>("configmap", ns, "greeting");
    assert.equal(cm?.data?.["greeting"], "hello");

    // A new commit reaches the cluster on demand, without waiting for the 10m interval.
    await writeFile(path.join(appDir, "configmap.yaml"), yamlDocs(configMap("hello again")));
    const second = await c().pushRepo(repo, { message: "change greeting" });
    const srcToken = await c().reconcileNow("gitrepositories.source.toolkit.fluxcd.io", FLUX_NAMESPACE, "demo");
    const updated = await c().waitReady("gitrepositories.source.toolkit.fluxcd.io", FLUX_NAMESPACE, "demo", READY_TIMEOUT, { requestedAt: srcToken });
    assert.equal((updated["status"] as { artifact?: { revision?: string } }).artifact?.revision, `main@sha1:${second}`);
    const ksToken = await c().reconcileNow("kustomizations.kustomize.toolkit.fluxcd.io", FLUX_NAMESPACE, "demo");
    const ks = await c().waitReady("kustomizations.kustomize.toolkit.fluxcd.io", FLUX_NAMESPACE, "demo", READY_TIMEOUT, { requestedAt: ksToken });
    assert.equal((ks["status"] as { lastAppliedRevision?: string }).lastAppliedRevision, `main@sha1:${second}`);
    const cm2 = await c().kubectl.getJson<{ data?: Record<string, string> }>("configmap", ns, "greeting");
    assert.equal(cm2?.data?.["greeting"], "hello again");
  });

  step("HelmRelease from a HelmRepository on the local chart repo installs and its pods run", async () => {
    const charts = c().charts;
    assert.ok(charts);
    const chart = await tempDir("bk-e2e-chart-");
    await mkdir(path.join(chart, "templates"), { recursive: true });
    await writeFile(path.join(chart, "Chart.yaml"), stringify({ apiVersion: "v2", name: "hello", version: "0.1.0", appVersion: "1.0.0", type: "application" }));
    await writeFile(path.join(chart, "values.yaml"), stringify({ replicas: 1 }));
    await writeFile(
      path.join(chart, "templates", "deployment.yaml"),
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: {{ .Release.Name }}",
        "  namespace: {{ .Release.Namespace }}",
        "spec:",
        "  replicas: {{ .Values.replicas }}",
        "  selector:",
        "    matchLabels:",
        "      app.kubernetes.io/instance: {{ .Release.Name }}",
        "  template:",
        "    metadata:",
        "      labels:",
        "        app.kubernetes.io/instance: {{ .Release.Name }}",
        "    spec:",
        "      containers:",
        "        - name: app",
        "          image: registry.k8s.io/pause:3.10",
        "",
      ].join("\n"),
    );
    await charts.pushChart(chart);

    const ns = "e2e-helm";
    await c().applyManifest(
      yamlDocs(
        {
          apiVersion: "source.toolkit.fluxcd.io/v1",
          kind: "HelmRepository",
          metadata: { name: "local", namespace: FLUX_NAMESPACE },
          spec: { url: charts.url, interval: "10m" },
        },
        {
          apiVersion: "helm.toolkit.fluxcd.io/v2",
          kind: "HelmRelease",
          metadata: { name: "hello", namespace: FLUX_NAMESPACE },
          spec: {
            interval: "10m",
            timeout: "2m",
            targetNamespace: ns,
            releaseName: "hello",
            install: { createNamespace: true },
            chart: { spec: { chart: "hello", version: "0.1.0", sourceRef: { kind: "HelmRepository", name: "local" } } },
            values: { replicas: 2 },
          },
        },
      ),
    );
    await c().waitReady("helmrepositories.source.toolkit.fluxcd.io", FLUX_NAMESPACE, "local", READY_TIMEOUT);
    await c().waitReady("helmreleases.helm.toolkit.fluxcd.io", FLUX_NAMESPACE, "hello", READY_TIMEOUT);
    await c().waitReady("deployment", ns, "hello", READY_TIMEOUT);
    await assertPodsRunningOnNode(ns, "app.kubernetes.io/instance=hello", 2);
  });

  step("server-side dry-run goes through admission without persisting", async () => {
    const dir = await tempDir("bk-e2e-dryrun-");
    const good = path.join(dir, "good.yaml");
    const bad = path.join(dir, "bad.yaml");
    await writeFile(good, yamlDocs({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "dry", namespace: "default" }, data: { a: "b" } }));
    await writeFile(bad, yamlDocs(pod("e2e-psa-restricted", "dry-priv", "privileged")));
    await c().applyServerSideDryRun([good]);
    assert.equal(await c().kubectl.getJson("configmap", "default", "dry"), undefined, "dry-run must not create the ConfigMap");
    await assert.rejects(c().applyServerSideDryRun([bad]), /violates PodSecurity/);
  });
});
