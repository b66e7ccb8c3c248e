/**
 * The dev-cluster harness pieces that need no control plane: readiness rules, the git server (smart HTTP via
 * git http-backend) and the Helm chart repository. Fast; they run before controlplane.test.ts.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { startChartRepo } from "../../src/devcluster/chartrepo.js";
import { startGitServer } from "../../src/devcluster/gitserver.js";
import { freePort, httpGet } from "../../src/devcluster/net.js";
import { readiness } from "../../src/devcluster/readiness.js";
import { toolPath } from "../../src/adapters/tools.js";

const exec = promisify(execFile);
const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("readiness", () => {
  const flux = (status: string, extra: Record<string, unknown> = {}) => ({
    kind: "Kustomization",
    metadata: { generation: 2 },
    status: { observedGeneration: 2, conditions: [{ type: "Ready", status, reason: "R", message: "m", observedGeneration: 2 }], ...extra },
  });

  test("Flux object: Ready=True at the current generation", () => {
    assert.equal(readiness(flux("True")).ready, true);
    assert.equal(readiness(flux("False")).ready, false);
    assert.match(readiness(flux("False")).detail, /Ready=False \(R\): m/);
  });

  test("an old observedGeneration is not ready even when Ready=True", () => {
    const o = flux("True");
    o.metadata.generation = 3;
    const r = readiness(o);
    assert.equal(r.ready, false);
    assert.match(r.detail, /observedGeneration 2 < metadata.generation 3/);
  });

  test("Stalled=True fails instead of waiting", () => {
    const o = flux("False");
    o.status.conditions.push({ type: "Stalled", status: "True", reason: "InvalidPath", message: "no such dir", observedGeneration: 2 });
    assert.match(readiness(o).failed ?? "", /Stalled=True \(InvalidPath\): no such dir/);
  });

  test("reconcile request must have been handled", () => {
    const o = flux("True", { lastHandledReconcileAt: "t1" });
    assert.equal(readiness(o, { requestedAt: "t1" }).ready, true);
    assert.equal(readiness(o, { requestedAt: "t2" }).ready, false);
  });

  test("Deployment by replica counts", () => {
    const d = (available: number) => ({
      kind: "Deployment",
      metadata: { generation: 1 },
      spec: { replicas: 2 },
      status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: available, availableReplicas: available },
    });
    assert.equal(readiness(d(2)).ready, true);
    assert.equal(readiness(d(1)).ready, false);
    assert.equal(readiness({ kind: "Deployment", metadata: { generation: 1 }, spec: { replicas: 1 }, status: {} }).ready, false);
  });
});

describe("git server", () => {
  test("pushRepo commits a directory; git clones it over smart HTTP; a second push is a child commit", async () => {
    const root = await tempDir("bk-git-root-");
    const server = await startGitServer(root, await freePort());
    try {
      const src = await tempDir("bk-git-src-");
      await mkdir(path.join(src, "apps"), { recursive: true });
      await writeFile(path.join(src, "apps", "a.yaml"), "a: 1\n");
      const first = await server.pushRepo(src, { repo: "fleet" });
      assert.match(first, /^[0-9a-f]{40}$/);
      await writeFile(path.join(src, "apps", "a.yaml"), "a: 2\n");
      const second = await server.pushRepo(src, { repo: "fleet" });

      const clone = path.join(await tempDir("bk-git-clone-"), "c");
      const env = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_TERMINAL_PROMPT: "0" };
      await exec("git", ["-c", "protocol.version=2", "clone", "--branch", "main", server.url("fleet"), clone], { env });
      assert.equal((await exec("git", ["-C", clone, "rev-parse", "HEAD"])).stdout.trim(), second);
      assert.equal((await exec("git", ["-C", clone, "rev-parse", "HEAD~1"])).stdout.trim(), first);
      assert.equal(await readFile(path.join(clone, "apps", "a.yaml"), "utf8"), "a: 2\n");

      const missing = await httpGet(`${server.baseUrl}/nope.git/info/refs?service=git-upload-pack`);
      assert.equal(missing.status, 404);
    } finally {
      await server.close();
    }
  });
});

describe("chart repository", () => {
  test("pushChart packages with helm and serves index.yaml and the archive", async () => {
    const helm = toolPath("helm");
    const chart = await tempDir("bk-chart-");
    await mkdir(path.join(chart, "templates"), { recursive: true });
    await writeFile(path.join(chart, "Chart.yaml"), "apiVersion: v2\nname: tiny\nversion: 0.2.0\n");
    await writeFile(path.join(chart, "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tiny\n");
    const repo = await startChartRepo(await tempDir("bk-charts-"), await freePort(), helm);
    try {
      await repo.pushChart(chart);
      const index = await httpGet(`${repo.url}/index.yaml`);
      assert.equal(index.status, 200);
      const parsed = parse(index.body) as { entries: Record<string, { version: string; urls: string[] }[]> };
      const entry = parsed.entries["tiny"]?.[0];
      assert.equal(entry?.version, "0.2.0");
      assert.equal(entry?.urls[0], `${repo.url}/tiny-0.2.0.tgz`);
      assert.equal((await httpGet(entry.urls[0]!)).status, 200);
      assert.equal((await httpGet(`${repo.url}/../etc/passwd`)).status, 404);

      // A named repository beside the default one, as one upstream HelmRepository each: its own index.
      await repo.pushChart(chart, "jetstack");
      const named = parse((await httpGet(`${repo.repoUrl("jetstack")}/index.yaml`)).body) as { entries: Record<string, { urls: string[] }[]> };
      assert.equal(named.entries["tiny"]?.[0]?.urls[0], `${repo.url}/jetstack/tiny-0.2.0.tgz`);
      assert.equal((await httpGet(`${repo.url}/jetstack/tiny-0.2.0.tgz`)).status, 200);
      assert.equal((await httpGet(`${repo.url}/jetstack/sub/tiny-0.2.0.tgz`)).status, 404);
      await assert.rejects(repo.pushChart(chart, "../up"), /bad repository name/);
    } finally {
      await repo.close();
    }
  });
});
