/**
 * `bk ui` without a cluster, through the real CLI and a real headless Chromium: the page shows the definition
 * and says plainly that nothing live is connected; the data endpoint returns what the CLI's --json returns;
 * bound off loopback, every request needs the token; bad flags and a taken port exit as the README says.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { loadDefinition } from "../../src/model/load.js";
import { runBkAsync } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { artifactsDir, launchChromium, startUi, type RunningUi } from "../helpers/ui.js";

const { model } = loadDefinition(REPO_ROOT);
// A HOME without ~/.kube and no $KUBECONFIG: bk finds no cluster at all.
const home = mkdtempSync(path.join(os.tmpdir(), "bk-ui-home-"));
const NO_CLUSTER = { HOME: home, KUBECONFIG: "" };

describe("bk ui without a cluster", { timeout: 180_000 }, () => {
  let ui: RunningUi;
  let browser: Browser;
  before(async () => {
    [ui, browser] = await Promise.all([startUi([], NO_CLUSTER), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    if (ui) assert.equal(await ui.stop(), 0, `Ctrl-C stops bk ui with exit 0; stderr:\n${ui.stderr()}`);
    rmSync(home, { recursive: true, force: true });
  });

  it("serves on loopback, says it is not connected and why", () => {
    assert.match(ui.openUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(ui.stderr(), /not connected: no cluster is configured/);
  });

  it("the page shows every component, the topology and the 'not connected' state, in accessible markup", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(ui.openUrl);
    const banner = page.locator("#connection");
    await banner.waitFor();
    assert.equal(await banner.getAttribute("data-connected"), "false");
    assert.match((await banner.textContent()) ?? "", /Not connected to a cluster: no cluster is configured.*definition only/s);
    // Landmarks and one h1; every section is named by its heading.
    assert.equal(await page.getByRole("banner").count(), 1);
    assert.equal(await page.getByRole("main").count(), 1);
    assert.equal(await page.getByRole("navigation").count(), 1);
    assert.equal(await page.getByRole("heading", { level: 1 }).count(), 1);
    for (const name of ["Topology", "Components", "Certificates", "Newest backups", "Reachability (NetworkPolicies)", "Pending changes"]) {
      assert.equal(await page.getByRole("region", { name }).count(), 1, `a region named ${name}`);
    }
    // Each component: a row headed by its id in the components table, and a node in the picture.
    const table = page.getByRole("table", { name: /Every component of the definition/ });
    for (const c of model.components) {
      const row = table.getByRole("row", { name: new RegExp(`^${c.id.replace("/", "\\/")}\\b`) });
      assert.equal(await row.count(), 1, `a row for ${c.id}`);
      assert.match((await row.textContent()) ?? "", new RegExp(c.image.ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      assert.match((await row.textContent()) ?? "", /Unknown/, `${c.id}: its state is a word, not only a colour`);
      assert.equal(await page.locator(`svg.topology g[data-component="${c.id}"]`).count(), 1, `a node for ${c.id}`);
    }
    assert.equal(await table.getByRole("columnheader").count(), 8);
    // Every LoadBalancer address of the definition is in the picture.
    const svg = await page.locator("svg.topology").innerHTML();
    for (const e of model.endpoints) assert.ok(svg.includes(e.ip), `${e.title} ${e.ip} in the topology`);
    // No cluster, no actions: there is nothing to act on.
    assert.equal(await page.getByRole("button", { name: /^Reconcile / }).count(), 0);
    assert.equal(await page.locator("#activity").getAttribute("aria-live"), "polite");
    await page.screenshot({ path: path.join(artifactsDir("ui"), "offline.png"), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("GET /api/snapshot: netpol, the pending changes and the certificates are what `bk netpol --json`, `bk plan --json` and `bk certs --json` print", async () => {
    const [snap, netpol, plan] = await Promise.all([
      fetch(`${ui.base}/api/snapshot`).then((r) => r.json() as Promise<Record<string, unknown>>),
      runBkAsync(["--root", REPO_ROOT, "netpol", "--json"]),
      runBkAsync(["--root", REPO_ROOT, "plan", "--json", "--no-fit", "--no-kustomize"]),
    ]);
    assert.deepEqual(snap.netpol, JSON.parse(netpol.stdout));
    assert.deepEqual(snap.changes, JSON.parse(plan.stdout).changes);
    assert.deepEqual((snap.connection as { connected: boolean }).connected, false);
    assert.deepEqual(
      (snap.components as Array<{ id: string; ready: string }>).map((c) => `${c.id} ${c.ready}`),
      model.components.map((c) => `${c.id} unknown`),
    );
    const certs = snap.certificates as { certificates: Array<{ certificate: string }> };
    assert.deepEqual(
      certs.certificates.map((c) => c.certificate),
      model.certificates.map((c) => c.name),
    );
    // The LAN endpoints are read without a cluster, as `bk certs` reads them (whatever answers there, or nothing).
    const cli = await runBkAsync(["--root", REPO_ROOT, "certs", "--json"]);
    assert.deepEqual(snap.certificates, JSON.parse(cli.stdout));
  });

  it("refuses a page asked for under another host name (DNS rebinding) and an action from elsewhere", async () => {
    const { status } = await new Promise<{ status: number }>((resolve, reject) => {
      const u = new URL(ui.base);
      const s = net.connect(Number(u.port), u.hostname, () => s.write(`GET / HTTP/1.1\r\nHost: attacker.example:${u.port}\r\nConnection: close\r\n\r\n`));
      let data = "";
      s.on("data", (d) => (data += d));
      s.on("end", () => resolve({ status: Number(data.split(" ")[1]) }));
      s.on("error", reject);
    });
    assert.equal(status, 403);
    const form = await fetch(`${ui.base}/api/actions/reconcile`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "name=ffl/backend" });
    assert.equal(form.status, 415);
    const cross = await fetch(`${ui.base}/api/actions/reconcile`, { method: "POST", headers: { "content-type": "application/json", origin: "http://attacker.example" }, body: JSON.stringify({ name: "ffl/backend" }) });
    assert.equal(cross.status, 403);
  });

  it("an action without a cluster answers 503 with the reason; an unknown name 400 with the closest names", async () => {
    const post = (name: string) => fetch(`${ui.base}/api/actions/reconcile`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });
    const none = await post("ffl/backend");
    assert.equal(none.status, 503);
    assert.match(((await none.json()) as { error: string }).error, /no cluster is configured/);
    const typo = await post("ffl/backnd");
    assert.equal(typo.status, 400);
    assert.match(((await typo.json()) as { error: string }).error, /closest: ffl\/backend/);
  });
});

describe("bk ui off loopback: the token", { timeout: 120_000 }, () => {
  let ui: RunningUi;
  before(async () => {
    ui = await startUi(["--listen", "0.0.0.0"], NO_CLUSTER);
  });
  after(async () => {
    if (ui) assert.equal(await ui.stop(), 0);
  });

  it("makes one up and prints the URL with it; every request without it is 401, incl. the event stream and actions", async () => {
    const u = new URL(ui.openUrl);
    const token = u.searchParams.get("token");
    assert.ok(token && token.length >= 32, ui.openUrl);
    assert.match(ui.stderr(), /token required/);
    const at = `http://127.0.0.1:${u.port}`;
    for (const p of ["/", "/api/snapshot", "/api/events", "/static/ui.js"]) assert.equal((await fetch(`${at}${p}`)).status, 401, p);
    assert.equal((await fetch(`${at}/api/actions/reconcile`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"ffl/backend"}' })).status, 401);
    assert.equal((await fetch(`${at}/`, { headers: { authorization: "Bearer wrong-token-wrong-token-wrong" } })).status, 401);
    assert.equal((await fetch(`${at}/api/snapshot`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    // Opening the printed URL trades the token for a cookie and drops it from the address.
    const open = await fetch(`${at}/?token=${encodeURIComponent(token)}`, { redirect: "manual" });
    assert.equal(open.status, 303);
    assert.equal(open.headers.get("location"), "/");
    const cookie = open.headers.get("set-cookie") ?? "";
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    const page = await fetch(`${at}/`, { headers: { cookie: cookie.split(";")[0]! } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Not connected/);
  });
});

describe("bk ui flags and exit codes", { timeout: 60_000 }, () => {
  it("a bad --port, --listen, --token or --kubeconfig is bad input (2); a port in use is unavailable (3)", async () => {
    const port = await runBkAsync(["--root", REPO_ROOT, "ui", "--port", "http"], { env: NO_CLUSTER });
    assert.equal(port.status, 2, port.stderr);
    assert.match(port.stderr, /--port 'http' is not a port number/);
    const listen = await runBkAsync(["--root", REPO_ROOT, "ui", "--listen", "my-laptop"], { env: NO_CLUSTER });
    assert.equal(listen.status, 2, listen.stderr);
    const kc = await runBkAsync(["--root", REPO_ROOT, "ui", "--kubeconfig", "/nonexistent/kubeconfig"], { env: NO_CLUSTER });
    assert.equal(kc.status, 2, kc.stderr);
    assert.match(kc.stderr, /--kubeconfig \/nonexistent\/kubeconfig: no such file/);
    const short = await runBkAsync(["--root", REPO_ROOT, "ui", "--token", "short"], { env: NO_CLUSTER });
    assert.equal(short.status, 2, short.stderr);
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const busy = await runBkAsync(["--root", REPO_ROOT, "ui", "--port", String((taken.address() as net.AddressInfo).port)], { env: NO_CLUSTER });
    taken.close();
    assert.equal(busy.status, 3, busy.stderr);
    assert.match(busy.stderr, /the port is in use \(pass --port\)/);
  });
});
