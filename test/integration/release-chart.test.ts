/**
 * `bk release <app> ... --chart <version>`: a chart bump carried in the release commit, checked in ChartMuseum
 * first. Real Docker Registry v2 (TLS, skopeo-pushed images), real git with a bare remote, real helm packaging;
 * ChartMuseum is the FAKE of test/helpers/fake-chartmuseum.ts (the real one cannot be had here) over real TLS.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { ChartMuseum } from "../../src/adapters/chartmuseum.js";
import { toolPath } from "../../src/adapters/tools.js";
import { runBkAsync as runBk } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { startFakeChartMuseum, type FakeChartMuseum } from "../helpers/fake-chartmuseum.js";
import { git, makeRepo } from "../helpers/gitrepo.js";
import { makeServerCert } from "../helpers/pki.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const auth = { BK_CHARTMUSEUM_USER: "bk", BK_CHARTMUSEUM_PASSWORD: "test-only-password" };

describe("bk release --chart", () => {
  let registry: TestRegistry;
  let museum: FakeChartMuseum;
  before(async () => {
    registry = await startRegistry();
    registry.push("ffl/backend", "1.4.3");
    // One CA for the registry and ChartMuseum, as the cluster CA issues both.
    museum = await startFakeChartMuseum({ username: auth.BK_CHARTMUSEUM_USER, password: auth.BK_CHARTMUSEUM_PASSWORD, tls: makeServerCert(registry.ca, "chartmuseum", ["IP:127.0.0.1"]) });
    // bk-app 0.2.0 in ChartMuseum, packaged by the real helm from charts/app.
    const out = mkdtempSync(path.join(os.tmpdir(), "bk-chart-"));
    execFileSync(toolPath("helm"), ["package", path.join(REPO_ROOT, "charts/app"), "--version", "0.2.0", "--destination", out], { stdio: "ignore" });
    const tgz = readdirSync(out).find((f) => f.endsWith(".tgz"))!;
    await new ChartMuseum({ url: museum.url, username: auth.BK_CHARTMUSEUM_USER, password: auth.BK_CHARTMUSEUM_PASSWORD, ca: readFileSync(registry.ca.caCert, "utf8") }).upload(
      "bk-app",
      "0.2.0",
      readFileSync(path.join(out, tgz)),
    );
  });
  after(async () => {
    registry?.stop();
    await museum?.stop();
  });
  const flags = (root: string) => ["--root", root, "--registry", registry.host, "--ca", registry.ca.caCert, "--chartmuseum-url", museum.url];

  it("refuses a chart version ChartMuseum does not have, committing nothing", async () => {
    const repo = makeRepo();
    const r = await runBk(["release", "ffl", "backend", "1.4.3", "--chart", "0.9.0", ...flags(repo.root)], { env: auth });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /bk-app 0\.9\.0 is not in ChartMuseum: upload it first/);
    assert.equal(git(repo.root, "status", "--porcelain"), "");
    assert.equal(git(repo.remote, "log", "-1", "--format=%s", "main"), "initial");
  });

  it("refuses a chart version range before any network call (exit 2)", async () => {
    const repo = makeRepo();
    const r = await runBk(["release", "ffl", "backend", "1.4.3", "--chart", ">=0.2.0", ...flags(repo.root)], { env: auth });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--chart '>=0\.2\.0' is not an exact chart version/);
  });

  it("carries the chart bump in the release commit: the app's own chartVersion, its HelmReleases only", async () => {
    const repo = makeRepo();
    const before = readFileSync(path.join(repo.root, "definition/apps/ffl.yaml"), "utf8");
    const platform = (parse(readFileSync(path.join(repo.root, "charts/app/Chart.yaml"), "utf8")) as { version: string }).version;
    const r = await runBk(["release", "ffl", "backend", "1.4.3", "--chart", "0.2.0", "--json", ...flags(repo.root)], { env: auth });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).chart, { from: platform, to: "0.2.0" });
    const after = readFileSync(path.join(repo.root, "definition/apps/ffl.yaml"), "utf8");
    const backendTag = /(backend:[\s\S]*?tag: )1\.4\.2/;
    assert.equal(after, before.replace(backendTag, "$11.4.3").replace(/^components:/m, "chartVersion: 0.2.0\ncomponents:"));
    const version = (rel: string) => (parse(readFileSync(path.join(repo.root, rel), "utf8")) as { spec: { chart: { spec: { version: string } } } }).spec.chart.spec.version;
    assert.equal(version("apps/ffl/backend.yaml"), "0.2.0");
    assert.equal(version("apps/ffl/frontend.yaml"), "0.2.0");
    assert.equal(version("apps/midwestmtg/backend.yaml"), platform);
    assert.equal(git(repo.remote, "log", "-1", "--format=%s", "main"), `release(ffl): backend 1.4.2 -> 1.4.3, chart ${platform} -> 0.2.0`);
  });
});
