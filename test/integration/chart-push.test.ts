/**
 * `bk chart push` against a FAKE ChartMuseum (test/helpers/fake-chartmuseum.ts): the real
 * ChartMuseum cannot be built or installed on these machines (the Go module proxy refuses
 * helm.sh/chartmuseum). Packaging and the repository index are done by the real helm.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ChartMuseum } from "../../src/adapters/chartmuseum.js";
import { startFakeChartMuseum, type FakeChartMuseum } from "../helpers/fake-chartmuseum.js";
import { runBkAsync as runBk } from "../helpers/cli.js";
import { freePort } from "../helpers/net.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../helpers/definition.js";

const CHART_VERSION = (parse(readFileSync(path.join(REPO_ROOT, "charts/app/Chart.yaml"), "utf8")) as { version: string }).version;

describe("bk chart push against ChartMuseum's HTTP API (fake server, real helm)", () => {
  let museum: FakeChartMuseum;
  let url: string;
  const auth = { BK_CHARTMUSEUM_USER: "bk", BK_CHARTMUSEUM_PASSWORD: "test-only-password" };

  before(async () => {
    museum = await startFakeChartMuseum({ username: auth.BK_CHARTMUSEUM_USER, password: auth.BK_CHARTMUSEUM_PASSWORD });
    url = museum.url;
  });
  after(() => museum?.stop());

  it("refuses without credentials", async () => {
    const r = await runBk(["chart", "push", "--url", url], { env: { BK_CHARTMUSEUM_USER: "", BK_CHARTMUSEUM_PASSWORD: "" } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /HTTP 401/);
  });

  it("uploads the chart, which is then listed and installable from the repository index helm wrote", async () => {
    const r = await runBk(["chart", "push", "--url", url, "--json"], { env: auth });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).pushed, true);
    const versions = await new ChartMuseum({ url, username: auth.BK_CHARTMUSEUM_USER, password: auth.BK_CHARTMUSEUM_PASSWORD }).versions("bk-app");
    assert.deepEqual(
      versions.map((v) => v.version),
      [CHART_VERSION],
    );
    const index = await (await fetch(`${url}/index.yaml`, { headers: { authorization: "Basic " + Buffer.from("bk:test-only-password").toString("base64") } })).text();
    assert.match(index, /bk-app:/);
    assert.ok(index.includes(`/charts/bk-app-${CHART_VERSION}.tgz`), index);
  });

  it("refuses to replace an existing version, and replaces it with --force", async () => {
    const again = await runBk(["chart", "push", "--url", url], { env: auth });
    assert.equal(again.status, 1);
    assert.ok(again.stderr.includes(`bk-app ${CHART_VERSION} is already in ChartMuseum; bump the chart version`), again.stderr);
    const dry = await runBk(["chart", "push", "--url", url, "--dry-run"], { env: auth });
    assert.equal(dry.status, 1);
    assert.match(dry.stdout, /refused: that version exists/);
    const forced = await runBk(["chart", "push", "--url", url, "--force"], { env: auth });
    assert.equal(forced.status, 0, forced.stderr);
  });

  it("--if-missing (the refill after a rebuild) uploads once, then succeeds without uploading", async () => {
    const empty = await startFakeChartMuseum({ username: auth.BK_CHARTMUSEUM_USER, password: auth.BK_CHARTMUSEUM_PASSWORD });
    try {
      const first = await runBk(["chart", "push", "--url", empty.url, "--if-missing", "--json"], { env: auth });
      assert.equal(first.status, 0, first.stderr);
      assert.equal(JSON.parse(first.stdout).pushed, true);
      const second = await runBk(["chart", "push", "--url", empty.url, "--if-missing", "--json"], { env: auth });
      assert.equal(second.status, 0, second.stderr);
      assert.deepEqual([JSON.parse(second.stdout).pushed, JSON.parse(second.stdout).exists], [false, true]);
    } finally {
      await empty.stop();
    }
  });

  it("says so when ChartMuseum cannot be reached (exit 3)", async () => {
    const r = await runBk(["chart", "push", "--url", `http://127.0.0.1:${await freePort()}`], { env: auth });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /cannot reach ChartMuseum/);
  });
});
