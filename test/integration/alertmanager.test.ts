/**
 * The Alertmanager configuration the tree sets (kube-prometheus-stack values alertmanager.config), checked by
 * the real peers of the "alerting" tool set (Alertmanager v0.35.0 and amtool):
 *  - `amtool check-config` accepts it;
 *  - a real Alertmanager started with it, the notification targets' Secrets written where the chart mounts them
 *    (alertmanagerSpec.secrets -> /etc/alertmanager/secrets/<secret>/<key>, rewritten to a temp dir) and their
 *    URLs pointing at a local HTTP server, delivers a firing critical alert to the target in Discord's shape;
 *  - inhibition: a critical and a high alert of the same alertname and namespace deliver only the critical.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { toolPath } from "../../src/adapters/tools.js";
import { loadDefinition } from "../../src/model/load.js";
import { synthesize } from "../../src/synth/index.js";
import { ALERTMANAGER_SECRETS_DIR } from "../../src/synth/observability/values.js";
import { REPO_ROOT } from "../helpers/definition.js";

type Json = Record<string, unknown>;

const { model } = loadDefinition(REPO_ROOT);
const release = synthesize(model).find((p) => p.object.kind === "HelmRelease" && p.object.metadata.name === "kube-prometheus-stack")!.object;
const values = (release.spec as { values: { alertmanager: { config: Json; alertmanagerSpec: { secrets?: string[] } } } }).values.alertmanager;

interface Delivery {
  path: string;
  body: Json;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

function freePort(): Promise<number> {
  const s = createServer();
  return listen(s).then((p) => new Promise((resolve) => s.close(() => resolve(p))));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("Alertmanager config of the tree, with the real Alertmanager v0.35.0", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bk-am-"));
  const deliveries: Delivery[] = [];
  const hook = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      deliveries.push({ path: req.url ?? "", body: JSON.parse(text) as Json });
      // Discord answers 204 to a webhook post; Alertmanager's discord notifier accepts any 2xx.
      res.writeHead(204).end();
    });
  });
  let am: ChildProcess | undefined;
  let api = "";
  let configFile = "";

  before(async () => {
    const hookPort = await listen(hook);
    // Each mounted Secret's `address` holds the target's URL; here a local receiver, one path per target.
    const secretsDir = path.join(dir, "secrets");
    for (const secret of values.alertmanagerSpec.secrets ?? []) {
      mkdirSync(path.join(secretsDir, secret), { recursive: true });
      writeFileSync(path.join(secretsDir, secret, "address"), `http://127.0.0.1:${hookPort}/${secret}`);
    }
    const text = JSON.stringify(values.config).replaceAll(ALERTMANAGER_SECRETS_DIR, secretsDir).replaceAll("/etc/alertmanager/config/*.tmpl", path.join(dir, "*.tmpl"));
    configFile = path.join(dir, "alertmanager.yaml");
    writeFileSync(configFile, stringify(JSON.parse(text)));
  });

  after(async () => {
    am?.kill("SIGTERM");
    await new Promise((r) => hook.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("mounts a Secret for every notification target and reads each URL from its file", () => {
    assert.deepEqual(values.alertmanagerSpec.secrets, ["notify-discord"]);
    const receivers = values.config.receivers as Json[];
    assert.deepEqual(
      receivers.find((r) => r.name === "notify-discord"),
      { name: "notify-discord", discord_configs: [{ webhook_url_file: "/etc/alertmanager/secrets/notify-discord/address", send_resolved: true }] },
    );
  });

  it("amtool check-config accepts the config as the tree sets it", () => {
    const r = spawnSync(toolPath("amtool", "alerting"), ["check-config", configFile], { encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /SUCCESS/);
    assert.match(r.stdout, / - 3 inhibit rules\n - 3 receivers\n/);
  });

  it("amtool check-config refuses a receiver whose URL file setting is misspelt (the check can fail)", () => {
    const bad = path.join(dir, "bad.yaml");
    writeFileSync(bad, stringify({ route: { receiver: "x" }, receivers: [{ name: "x", discord_configs: [{ webhook_url_path: "/nope" }] }] }));
    const r = spawnSync(toolPath("amtool", "alerting"), ["check-config", bad], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(`${r.stdout}${r.stderr}`, /webhook_url_path/);
  });

  it("delivers a firing critical alert to the Discord target, and a critical inhibits the high of the same alert", async () => {
    const port = await freePort();
    const cluster = await freePort();
    api = `http://127.0.0.1:${port}`;
    am = spawn(
      toolPath("alertmanager", "alerting"),
      [`--config.file=${configFile}`, `--storage.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, `--cluster.listen-address=127.0.0.1:${cluster}`, "--log.level=warn"],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    await waitFor("Alertmanager ready", async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined));
    const labels = { alertname: "RegistryDown", namespace: "registry" };
    const post = await fetch(`${api}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        { labels: { ...labels, severity: "critical" }, annotations: { summary: "The registry is down" } },
        { labels: { ...labels, severity: "high" }, annotations: { summary: "The registry is slow" } },
      ]),
    });
    assert.equal(post.status, 200, await post.text());
    // critical: group_wait 10s
    const got = await waitFor("a delivery", async () => (deliveries.length ? deliveries : undefined), 30_000);
    assert.equal(got[0]!.path, "/notify-discord");
    const embeds = got[0]!.body.embeds as Array<{ title: string; description: string }>;
    assert.ok(Array.isArray(embeds) && embeds.length === 1, `Discord shape (embeds): ${JSON.stringify(got[0]!.body)}`);
    assert.match(embeds[0]!.title, /FIRING/);
    assert.match(embeds[0]!.title, /RegistryDown/);
    // The high one is inhibited: Alertmanager marks it suppressed by the critical, and never sends it.
    const alerts = (await (await fetch(`${api}/api/v2/alerts`)).json()) as Array<{ labels: Json; status: { state: string; inhibitedBy: string[] } }>;
    const high = alerts.find((a) => a.labels.severity === "high")!;
    const critical = alerts.find((a) => a.labels.severity === "critical")!;
    assert.equal(critical.status.state, "active");
    assert.equal(high.status.state, "suppressed");
    assert.equal(high.status.inhibitedBy.length, 1);
    // high: group_wait 30s; wait past it and check nothing else arrived.
    await new Promise((r) => setTimeout(r, 32_000));
    assert.equal(deliveries.length, 1, `only the critical is delivered: ${JSON.stringify(deliveries.map((d) => d.body))}`);
  });
});
