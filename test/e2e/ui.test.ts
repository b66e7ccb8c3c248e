/**
 * `bk ui` against the local control plane with the real Flux controllers, in a real headless Chromium: the
 * page shows every component of the definition; a HelmRelease whose values its chart refuses fails in
 * helm-controller, and its row and box turn red with Flux's reason and the release's event, pushed by the
 * watch while the page is open; the Reconcile button, once the confirmation is accepted (and not before),
 * sets reconcile.fluxcd.io/requestedAt, read back from the API. Screenshots go to $BK_TEST_ARTIFACTS/ui.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe } from "node:test";
import type { Browser, Page } from "playwright-core";
import { parse } from "yaml";
import { up } from "../../src/devcluster/index.js";
import { loadDefinition } from "../../src/model/load.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { artifactsDir, launchChromium, startUi, type RunningUi } from "../helpers/ui.js";
import { clusterSuite } from "./helpers/suite.js";

const { model } = loadDefinition(REPO_ROOT);
const redis = model.components.find((c) => c.id === "ffl/redis")!;
const HR = "helmreleases.helm.toolkit.fluxcd.io";
const chart = parse(readFileSync(path.join(REPO_ROOT, "charts/app/Chart.yaml"), "utf8")) as { name: string; version: string };

interface LiveHr {
  metadata: { annotations?: Record<string, string> };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

describe("bk ui on the local control plane", { timeout: 900_000 }, () => {
  const suite = clusterSuite();
  const shots = artifactsDir("ui");
  let ui: RunningUi;
  let browser: Browser;
  let page: Page;
  let uiStarted = 0;
  const row = () => page.locator(`tr[data-component="${redis.id}"]`);
  const hr = async () => (await suite.cluster().kubectl.getJson<LiveHr>(HR, redis.namespace, redis.fullname))!;

  before(async () => {
    const cluster = await up({ chartRepo: true, onProgress: (l) => console.log(`# devcluster ${l}`) });
    suite.setCluster(cluster);
    await cluster.charts!.pushChart(path.join(REPO_ROOT, "charts/app"));
    await cluster.applyManifest(
      [
        `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${redis.namespace} }`,
        `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: { name: bk-charts, namespace: flux-system }\nspec: { interval: 10m, url: "${cluster.charts!.url}" }`,
      ].join("\n---\n"),
    );
    [ui, browser] = await Promise.all([startUi(["--kubeconfig", cluster.kubeconfig]), launchChromium()]);
    uiStarted = Date.now();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (e) => console.log(`# page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    if (ui) {
      const code = await ui.stop();
      console.log(`# bk ui exited ${code}; its stderr:\n${ui.stderr()}`);
    }
    await suite.teardown();
  });

  suite.step("connected: the page shows every component of the definition, live state read from the cluster", 120_000, async () => {
    await page.goto(ui.openUrl);
    await page.locator('#connection[data-connected="true"]').waitFor({ timeout: 90_000 });
    for (const c of model.components) {
      assert.equal(await page.locator(`tr[data-component="${c.id}"] th`).textContent(), c.id);
      assert.equal(await page.locator(`svg.topology g[data-component="${c.id}"]`).count(), 1, `a box for ${c.id}`);
    }
    // Nothing is deployed yet: a state in words, amber, not unknown.
    assert.equal(await row().getAttribute("data-state"), "warn");
    assert.match((await row().locator('[data-field="ready"]').textContent()) ?? "", /Not deployed/);
    await page.screenshot({ path: path.join(shots, "e2e-connected.png"), fullPage: true });
  });

  suite.step("a HelmRelease helm-controller fails to install turns red with its reason and event, pushed live", 300_000, async () => {
    // The app chart's values.schema.json refuses an unknown key: a real install failure in helm-controller.
    await suite
      .cluster()
      .applyManifest(
        `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: { name: ${redis.fullname}, namespace: ${redis.namespace} }\nspec: { interval: 10m, install: { remediation: { retries: 0 } }, chart: { spec: { chart: ${chart.name}, version: "${chart.version}", sourceRef: { kind: HelmRepository, name: bk-charts, namespace: flux-system } } }, values: { notAValue: true } }`,
      );
    await page.locator(`tr[data-component="${redis.id}"][data-state="fail"]`).waitFor({ timeout: 240_000 });
    await page
      .locator(`tr[data-component="${redis.id}"] [data-field="event"]`)
      .filter({ hasText: /notAValue/ })
      .waitFor({ timeout: 60_000 });
    // What helm-controller recorded, read from the API: the page shows that event and its reason.
    const events = JSON.parse(await suite.cluster().kubectl.run(["get", "events", "-n", redis.namespace, "--field-selector", `involvedObject.kind=HelmRelease,involvedObject.name=${redis.fullname}`, "-o", "json"])) as {
      items: Array<{ type: string; reason: string; message: string }>;
    };
    const failure = events.items.find((e) => e.message.includes("notAValue"));
    assert.ok(failure, `helm-controller recorded the failure: ${JSON.stringify(events.items.map((e) => e.reason))}`);
    assert.equal(failure.type, "Warning");
    assert.ok(((await row().locator('[data-field="event"]').textContent()) ?? "").startsWith(`Warning ${failure.reason}: `));
    // The condition may move on (helm-controller keeps working on the release): wait for the failed state, not a snapshot of it.
    const failed = page.locator(`tr[data-component="${redis.id}"][data-state="fail"] [data-field="ready"]`).filter({ hasText: /Failed/ });
    await failed.waitFor({ timeout: 60_000 });
    assert.match((await failed.textContent()) ?? "", new RegExp(failure.reason), `the row shows Flux's reason ${failure.reason}`);
    assert.equal(await page.locator(`svg.topology g[data-component="${redis.id}"][data-state="fail"] text.glyph`).textContent({ timeout: 60_000 }), "✗");
    assert.match((await page.locator("#activity").textContent()) ?? "", new RegExp(`${redis.id}: Failed`), "the change is announced in the live region");
    await page.screenshot({ path: path.join(shots, "e2e-failed.png"), fullPage: true });
    await row().screenshot({ path: path.join(shots, "e2e-failed-row.png") });
  });

  suite.step("Reconcile: dismissing the confirmation changes nothing; accepting it sets requestedAt, seen in the API", 120_000, async () => {
    const button = page.getByRole("button", { name: `Reconcile ${redis.id}` });
    const before = (await hr()).metadata.annotations?.["reconcile.fluxcd.io/requestedAt"];
    page.once("dialog", (d) => {
      assert.equal(d.type(), "confirm");
      void d.dismiss();
    });
    await button.click();
    await page
      .locator("#activity")
      .filter({ hasText: `reconcile ${redis.id}: cancelled` })
      .waitFor();
    assert.equal((await hr()).metadata.annotations?.["reconcile.fluxcd.io/requestedAt"], before, "a dismissed confirmation patches nothing");

    const clicked = Date.now();
    page.once("dialog", (d) => {
      assert.match(d.message(), new RegExp(`reconcile ${redis.id}\\?`));
      void d.accept();
    });
    await button.click();
    await page
      .locator("#activity")
      .filter({ hasText: new RegExp(`reconcile ${redis.id}: requested at`) })
      .waitFor({ timeout: 60_000 });
    const requested = (await hr()).metadata.annotations?.["reconcile.fluxcd.io/requestedAt"];
    assert.ok(requested && requested !== before, "the HelmRelease carries a new reconcile request");
    assert.ok(Date.parse(requested) >= clicked - 1000, `requestedAt ${requested} is from the click`);
    assert.match((await page.locator("#activity").textContent()) ?? "", new RegExp(requested.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), "the page names the request it made");
    await page.screenshot({ path: path.join(shots, "e2e-reconciled.png"), fullPage: true });
  });

  suite.step("past its restarts (the server ends each watch after 25 s) the watch still pushes: Suspend, then Resume, show live", 180_000, async () => {
    await new Promise((res) => setTimeout(res, Math.max(0, uiStarted + 40_000 - Date.now())));
    const act = async (action: "Suspend" | "Resume", suspended: boolean, label: RegExp) => {
      page.once("dialog", (d) => void d.accept());
      await page.getByRole("button", { name: `${action} ${redis.id}` }).click();
      for (const end = Date.now() + 30_000; ((await hr()) as LiveHr & { spec: { suspend?: boolean } }).spec.suspend !== suspended; ) {
        assert.ok(Date.now() < end, `spec.suspend became ${suspended}`);
        await new Promise((res) => setTimeout(res, 500));
      }
      await row().locator('[data-field="ready"]').filter({ hasText: label }).waitFor({ timeout: 30_000 });
    };
    await act("Suspend", true, /Suspended/);
    await page.screenshot({ path: path.join(shots, "e2e-suspended.png"), fullPage: true });
    // The pushed change puts Resume in place of Suspend.
    await page.getByRole("button", { name: `Resume ${redis.id}` }).waitFor({ timeout: 30_000 });
    await act("Resume", false, /Failed/);
    assert.doesNotMatch(ui.stderr(), /watching \w+: .*retrying/, "no watch failed while the page was open");
  });
});
