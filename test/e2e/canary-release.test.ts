/**
 * `bk release` for a component with a canary, end to end: the real Flux controllers apply the release commit
 * (Git from the harness, the application chart from its Helm repository), the real Flagger (tool set "flagger")
 * runs the analysis, and `bk release` follows the Canary to promotion, or to rollback and its revert commit.
 * Peers as in release.test.ts (a Docker Registry v2 with TLS, an HTTPS health endpoint on loopback); Prometheus
 * and the loadtester are the stand-in of test/e2e/helpers/flagger.ts.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { up, type DevCluster } from "../../src/devcluster/index.js";
import { tailFile } from "../../src/devcluster/procs.js";
import { loadDefinition } from "../../src/model/load.js";
import { runBkAsync } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { git, makeRepo } from "../helpers/gitrepo.js";
import { freePort } from "../helpers/net.js";
import { makeServerCert } from "../helpers/pki.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { startFlagger, startStandIn, writeCrds, type StandIn } from "./helpers/flagger.js";

interface CanaryReport {
  canary: string;
  ok: boolean;
  outcome: string;
  reason: string;
  steps: Array<{ phase: string; weight: number; failedChecks: number }>;
}

describe("bk release follows a canary through Flagger on the local control plane", { timeout: 1_200_000 }, () => {
  let cluster: DevCluster;
  let registry: TestRegistry;
  let standIn: StandIn;
  let flagger: ChildProcess | undefined;
  let root: string;
  let remote: string;
  let health: https.Server;
  let healthUrl: string;
  let crds = "";
  let hook = "/hooks/pass";

  before(
    async () => {
      registry = await startRegistry();
      for (const tag of ["2.1.0", "2.1.1"]) registry.push("ccbot/bot", tag);
      const { cert, key } = makeServerCert(registry.ca, "health", ["IP:127.0.0.1"]);
      health = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
        res.writeHead(req.url === "/ccbot/health" ? 200 : 404).end();
      });
      const port = await freePort();
      await new Promise<void>((r) => health.listen(port, "127.0.0.1", r));
      healthUrl = `https://127.0.0.1:${port}`;
      standIn = await startStandIn();
      // The webhook URL is the definition's loadtester; one path on the stand-in forwards to the current verdict.
      crds = await mkdtemp(path.join(tmpdir(), "bk-canary-crds-"));
      writeCrds(crds, true);
      cluster = await up({ chartRepo: true, crdsDir: crds });
      await cluster.charts!.pushChart(path.join(REPO_ROOT, "charts/app"));
      ({ root, remote } = makeRepo(
        (d) => {
          d.cluster.setIn(["network", "routes"], "gateway-api");
          d.infra.setIn(["progressiveDelivery", "loadtester"], `${standIn.url}/hooks/current`);
          d.apps.ccbot!.setIn(["components", "bot", "port"], 8080);
          d.apps.ccbot!.setIn(["components", "bot", "route"], "/ccbot");
          d.apps.ccbot!.setIn(["components", "bot", "health"], "/ccbot/health");
          d.apps.ccbot!.setIn(["components", "bot", "canary"], { interval: "5s", threshold: 1, stepWeight: 50, maxWeight: 50, smokeTest: "rollout" });
        },
        path.join(cluster.git!.root, "fleet.git"),
      ));
      standIn.route("/hooks/current", () => hook);
      // Flagger copies every Secret the pods read to a -primary twin before it initializes (config tracking), so they
      // must exist, as the unsealed SealedSecrets do on the real cluster; here plain Secrets with placeholder values.
      const bot = loadDefinition(root).model.components.find((x) => x.id === "ccbot/bot")!;
      await cluster.kubectl.applyManifest(
        [
          `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${bot.namespace} }`,
          ...bot.secretRefs.map((name) => `apiVersion: v1\nkind: Secret\nmetadata: { name: ${name}, namespace: ${bot.namespace} }\nstringData: { placeholder: "e2e" }`),
        ].join("\n---\n"),
      );
      await cluster.kubectl.applyManifest(
        [
          `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: { name: beckerkube, namespace: flux-system }\nspec: { interval: 10m, url: "${cluster.git!.url("fleet")}", ref: { branch: main } }`,
          `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: { name: bk-charts, namespace: flux-system }\nspec: { interval: 10m, url: "${cluster.charts!.url}" }`,
          `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: { name: apps, namespace: flux-system }\nspec: { interval: 10m, path: ./apps/ccbot, prune: true, wait: true, timeout: 5m, sourceRef: { kind: GitRepository, name: beckerkube } }`,
        ].join("\n---\n"),
      );
      flagger = await startFlagger(cluster.kubeconfig, standIn.url, path.join(cluster.logsDir, "flagger.log"));
      await cluster.waitReady("kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", "apps", 300_000);
      await cluster.waitReady("helmreleases.helm.toolkit.fluxcd.io", "ccbot", "ccbot-bot", 300_000);
      // Flagger initializes the Canary the tree applied: the running version moves to ccbot-bot-primary.
      for (const end = Date.now() + 180_000; ; ) {
        const c = await cluster.kubectl.getJson<{ status?: { phase?: string } }>("canaries.flagger.app", "ccbot", "ccbot-bot");
        if (c?.status?.phase === "Initialized") break;
        if (Date.now() > end) {
          const state = await cluster.kubectl.run(["get", "deploy,rs,pods", "-n", "ccbot", "-o", "wide"]).catch((e: Error) => e.message);
          throw new Error(`Canary ccbot/ccbot-bot not Initialized: ${JSON.stringify(c?.status)}\n${state}\nflagger log:\n${tailFile(path.join(cluster.logsDir, "flagger.log"), 30)}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    { timeout: 10 * 60_000 },
  );

  after(async () => {
    flagger?.kill("SIGTERM");
    standIn?.close();
    registry?.stop();
    health?.close();
    await cluster?.down();
    if (crds) await rm(crds, { recursive: true, force: true });
  });

  const release = (version: string) =>
    runBkAsync(["release", "ccbot", "bot", version, "--root", root, "--registry", registry.host, "--ca", registry.ca.caCert, "--kubeconfig", cluster.kubeconfig, "--health-url", healthUrl, "--timeout", "10m", "--json"]);
  const primaryImage = async () =>
    (await cluster.kubectl.getJson<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>("deployment", "ccbot", "ccbot-bot-primary"))?.spec.template.spec.containers[0]?.image;

  it("a release that passes the analysis is promoted: bk release reports each step and exits 0", { timeout: 600_000 }, async () => {
    hook = "/hooks/pass";
    const r = await release("2.1.0");
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout) as { canaries: CanaryReport[]; health: Array<{ status: number }> };
    const [k] = report.canaries;
    assert.equal(k?.canary, "ccbot/ccbot-bot");
    assert.equal(k?.outcome, "promoted", k?.reason);
    assert.ok(
      k?.steps.some((s) => s.phase === "Progressing" && s.weight === 50),
      JSON.stringify(k?.steps),
    );
    assert.equal(k?.steps.at(-1)?.phase, "Succeeded");
    assert.deepEqual(
      report.health.map((h) => h.status),
      [200],
    );
    assert.equal(await primaryImage(), "192.168.7.21:5000/ccbot/bot:2.1.0");
    assert.equal(git(remote, "log", "-1", "--format=%s", "main"), "release(ccbot): bot 2.0.3 -> 2.1.0");
  });

  it("a release that fails the smoke test is rolled back by Flagger; bk release exits 1 and reverts its commit", { timeout: 600_000 }, async () => {
    hook = "/hooks/fail";
    const r = await release("2.1.1");
    assert.equal(r.status, 1, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout) as { canaries: CanaryReport[]; failure: { step: string; message: string }; rolledBack: { revertCommit: string } };
    const [k] = report.canaries;
    assert.equal(k?.outcome, "rolled-back", k?.reason);
    assert.match(report.failure.message, /rolled back by Flagger after 1 failed check/);
    assert.ok(report.rolledBack.revertCommit);
    const log = git(remote, "log", "-2", "--format=%s", "main").split("\n");
    assert.match(log[0]!, /^revert: release\(ccbot\) 2\.1\.1 failed: Canary ccbot\/ccbot-bot rolled back by Flagger/);
    assert.equal(await primaryImage(), "192.168.7.21:5000/ccbot/bot:2.1.0", "the primary kept the promoted version");
    assert.ok(standIn.rec.hooks.some((h) => h.path === "/hooks/current" && h.body.name === "ccbot-bot"));
  });
});
