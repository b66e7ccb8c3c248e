/**
 * `bk release` end to end, steps 2 to 8, against real peers: a Docker Registry v2 with TLS (images
 * pushed with skopeo), the local control plane with the real Flux controllers (Git over HTTP from
 * the harness; the chart from the harness's Helm repository, the stand-in for ChartMuseum), and an
 * HTTPS health endpoint on loopback standing where the ingress would be (no container runs here,
 * so no ingress can serve). A release reaches Ready; a release whose health check fails is
 * reverted, pushed, and the previous version is Ready again.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { up, type DevCluster } from "../../src/devcluster/index.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { runBkAsync } from "../helpers/cli.js";
import { git, makeRepo } from "../helpers/gitrepo.js";
import { freePort } from "../helpers/net.js";
import { makeServerCert } from "../helpers/pki.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

describe("bk release on the local control plane", { timeout: 900_000 }, () => {
  let cluster: DevCluster;
  let registry: TestRegistry;
  let root: string;
  let remote: string;
  let health: https.Server;
  let healthStatus = 200;
  let healthUrl: string;

  before(async () => {
    registry = await startRegistry();
    for (const tag of ["2.1.0", "2.1.1"]) registry.push("ccbot/bot", tag);
    const { cert, key } = makeServerCert(registry.ca, "health", ["IP:127.0.0.1"]);
    health = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
      res.writeHead(req.url === "/ccbot/health" ? healthStatus : 404).end();
    });
    const port = await freePort();
    await new Promise<void>((r) => health.listen(port, "127.0.0.1", r));
    healthUrl = `https://127.0.0.1:${port}`;

    cluster = await up({ chartRepo: true });
    await cluster.charts!.pushChart(path.join(REPO_ROOT, "charts/app"));
    // The bot gets an HTTP port and a health URL in this test's definition, so the health step runs.
    ({ root, remote } = makeRepo(
      (d) => {
        d.apps.ccbot!.setIn(["components", "bot", "port"], 8080);
        d.apps.ccbot!.setIn(["components", "bot", "route"], "/ccbot");
        d.apps.ccbot!.setIn(["components", "bot", "health"], "/ccbot/health");
      },
      path.join(cluster.git!.root, "fleet.git"),
    ));

    // What bootstrap would set up for the apps layer: the source bk release asks to reconcile, the
    // chart repository, and a Kustomization named "apps" (scoped to one application to keep this quick).
    await cluster.kubectl.applyManifest(
      [
        `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: { name: beckerkube, namespace: flux-system }\nspec: { interval: 10m, url: "${cluster.git!.url("fleet")}", ref: { branch: main } }`,
        `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: { name: bk-charts, namespace: flux-system }\nspec: { interval: 10m, url: "${cluster.charts!.url}" }`,
        `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: { name: apps, namespace: flux-system }\nspec: { interval: 10m, path: ./apps/ccbot, prune: true, wait: true, timeout: 5m, sourceRef: { kind: GitRepository, name: beckerkube } }`,
      ].join("\n---\n"),
    );
    await cluster.waitReady("kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", "apps", 300_000);
    await cluster.waitReady("helmreleases.helm.toolkit.fluxcd.io", "ccbot", "ccbot-bot", 300_000);
  });

  after(async () => {
    registry?.stop();
    health?.close();
    await cluster?.down();
  });

  const release = (version: string) =>
    runBkAsync(["release", "ccbot", "bot", version, "--root", root, "--registry", registry.host, "--ca", registry.ca.caCert, "--kubeconfig", cluster.kubeconfig, "--health-url", healthUrl, "--timeout", "10m", "--json"]);

  const runningImages = async () => {
    const pods = JSON.parse(await cluster.kubectl.run(["get", "pods", "-n", "ccbot", "-l", "app.kubernetes.io/instance=ccbot-bot", "-o", "json"])) as {
      items: Array<{ spec: { containers: Array<{ image: string }>; nodeName?: string }; metadata: { deletionTimestamp?: string } }>;
    };
    return pods.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => `${p.spec.nodeName}:${p.spec.containers[0]!.image}`);
  };

  it("releases a pushed image: commit pushed, reconciled at once, Ready on the new image, healthy", async () => {
    healthStatus = 200;
    const r = await release("2.1.0");
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout);
    assert.ok(report.reconcileRequestedAt);
    assert.deepEqual(
      report.health.map((h: { status: number }) => h.status),
      [200],
    );
    assert.equal(git(remote, "log", "-1", "--format=%s", "main"), "release(ccbot): bot 2.0.3 -> 2.1.0");
    assert.deepEqual(await runningImages(), ["beckerbox:192.168.7.21:5000/ccbot/bot:2.1.0"]);
  });

  it("bk status reads the live cluster: the released component runs the tree's image; what is not deployed is named", async () => {
    const r = await runBkAsync(["status", "--root", root, "--kubeconfig", cluster.kubeconfig, "--json"]);
    assert.equal(r.status, 1, "only one application is deployed here, so the cluster is not healthy");
    const report = JSON.parse(r.stdout) as { checks: Array<{ area: string; subject: string; health: string; detail: string }> };
    const check = (area: string, subject: string) => report.checks.find((c) => c.area === area && c.subject === subject);
    assert.equal(check("flux", "HelmRelease ccbot/ccbot-bot")?.health, "ok");
    assert.notEqual(check("flux", "Kustomization flux-system/apps")?.health, "fail", JSON.stringify(check("flux", "Kustomization flux-system/apps")));
    assert.equal(check("flux", "Kustomization flux-system/infra-configs")?.health, "fail");
    assert.equal(check("images", "ccbot/bot")?.health, "ok");
    assert.match(check("images", "ffl/backend")?.detail ?? "", /no Deployment ffl\/ffl-backend/);
  });

  it("reverts a release whose health check fails, and the previous version is Ready again", async () => {
    healthStatus = 503;
    const r = await release("2.1.1");
    assert.equal(r.status, 1, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout);
    assert.equal(report.failure.step, "check the health endpoints through the ingress");
    assert.match(report.failure.message, /answered 503/);
    assert.equal(report.rolledBack.previousReady, true, report.rolledBack.detail);
    const log = git(remote, "log", "-2", "--format=%s", "main").split("\n");
    assert.match(log[0]!, /^revert: release\(ccbot\) 2\.1\.1 failed: health check .* answered 503/);
    assert.equal(log[1], "release(ccbot): bot 2.1.0 -> 2.1.1");
    assert.match(readFileSync(path.join(root, "definition/apps/ccbot.yaml"), "utf8"), /tag: 2\.1\.0/);
    assert.deepEqual(await runningImages(), ["beckerbox:192.168.7.21:5000/ccbot/bot:2.1.0"]);
  });
});
