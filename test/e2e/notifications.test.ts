/**
 * End-to-end proof of issue 17's Flux side against the real notification-controller (src/devcluster):
 *
 *  1. the tree's clusters/minikube/notifications.yaml, applied as generated, is accepted; the Receiver
 *     `git-push` turns Ready and its status.webhookPath is the path `bk notify receiver-url` prints;
 *  2. a push delivery signed as GitHub signs it, POSTed to the Receiver, makes source-controller fetch the
 *     new commit within seconds, with the GitRepository's poll interval at 10m so polling cannot explain it;
 *     a delivery with a wrong signature is refused and requests nothing;
 *  3. a successful install is delivered to the Provider's webhook as the `flux-releases` Alert declares (and
 *     nothing else at info severity is);
 *  4. a HelmRelease with values its chart's schema refuses is delivered as a failure naming the release and
 *     the cause, through the `flux-failures` Alert.
 *
 * Stand-ins (also in docs/e2e.md): the Discord webhook is a loopback HTTP server (the Provider keeps its type,
 * discord; only the sealed address points here); the Secrets the Sealed Secrets controller would unseal are
 * created directly; the GitRepository, the chart repository and the `apps` Kustomization (one application) are
 * the ones test/e2e/helpers/tree.ts describes. Needs `npm run tools -- base e2e`.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe } from "node:test";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/core/object.js";
import { APP_CHART_REPOSITORY, FLUX_NAMESPACE } from "../../src/core/well-known.js";
import { up } from "../../src/devcluster/index.js";
import { generate, type Generated } from "../../src/pipeline.js";
import { FAILURES_ALERT, RELEASE_SUCCEEDED, RELEASES_ALERT, providerName } from "../../src/synth/notifications.js";
import { APP_CHART_DIR, renderAppReleases } from "../../src/workflows/render.js";
import { runBkAsync } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { clusterSuite } from "./helpers/suite.js";
import { GIT_REPOSITORY, GITREPO, GOTK_SYNC, HR, appsKustomization, describeCond, list, secs, standInChartRepository, volumeFor, waitFor, writeTree, yamlDocs, type FluxObj } from "./helpers/tree.js";
import { githubPushBody, githubSignature, postGithubPush, startWebhookSink, type Delivery, type WebhookSink } from "./helpers/webhooks.js";

const APP = "ccbot";
const APPS_KS = "apps";
const RECEIVER_KIND = "receivers.notification.toolkit.fluxcd.io";
/** Long enough that a fetch within seconds of a push can only come from the Receiver. */
const POLL_INTERVAL = "10m";
/** Where the sink pretends Discord's webhook lives; the discord notifier appends /slack (Slack-compatible format). */
const HOOK_PATH = "/api/webhooks/1234/e2e-token";
const RECEIVER_BUDGET_MS = 15_000;
const REQUESTED_AT = "reconcile.fluxcd.io/requestedAt";

const suite = clusterSuite();
const c = suite.cluster;
const step = suite.step;
let gen: Generated | undefined;
let sink: WebhookSink | undefined;
let treeDir = "";
let firstSha = "";
const token = randomBytes(32).toString("base64url");
let webhookPath = "";

function g(): Generated {
  if (!gen) throw new Error("the tree was not generated (see the before() failure above)");
  return gen;
}
function s(): WebhookSink {
  if (!sink) throw new Error("the webhook sink did not start (see the before() failure above)");
  return sink;
}

/** The Slack-compatible message the discord notifier posts: one attachment per event. */
interface DiscordMessage {
  username?: string;
  attachments?: Array<{ color?: string; author_name?: string; text?: string; fields?: Array<{ title?: string; value?: string }> }>;
}
const attachment = (d: Delivery) => (d.json as DiscordMessage | undefined)?.attachments?.[0];

function notificationDocs(): KubeObject[] {
  const text = g().tree.files.get("clusters/minikube/notifications.yaml");
  if (!text) throw new Error("the generated tree has no clusters/minikube/notifications.yaml (is notifications: declared in definition/infrastructure.yaml?)");
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
}

async function gitRepository(): Promise<FluxObj & { metadata: { annotations?: Record<string, string> } }> {
  const r = await c().kubectl.getJson<FluxObj & { metadata: { annotations?: Record<string, string> } }>(GITREPO, FLUX_NAMESPACE, GIT_REPOSITORY);
  if (!r) throw new Error(`GitRepository ${FLUX_NAMESPACE}/${GIT_REPOSITORY} does not exist`);
  return r;
}
const revisionOf = (r: FluxObj) => (r.status?.["artifact"] as { revision?: string } | undefined)?.revision;

describe("Flux notifications and the push Receiver on the local control plane", () => {
  before(
    async () => {
      sink = await startWebhookSink();
      gen = generate(REPO_ROOT);
      const n = g().model.notifications;
      assert.ok(n?.receiver, "the definition declares notifications with a receiver");
      const cluster = await up({ chartRepo: true, onProgress: (l) => console.log(`# devcluster ${l}`) });
      suite.setCluster(cluster);
      console.log(`# devcluster workdir ${cluster.workdir}`);
      await cluster.charts!.pushChart(path.join(REPO_ROOT, APP_CHART_DIR));
      treeDir = await suite.tempDir("bk-e2e-ntf-tree-");
      const gitUrl = cluster.git!.url("fleet");
      await writeTree(g().tree.files, treeDir, gitUrl);
      firstSha = await cluster.pushRepo(treeDir, { message: "generated tree" });

      // What the Sealed Secrets controller would unseal from the tree's SealedSecrets: the Provider's webhook URL
      // (here the sink) and the Receiver's token.
      const target = n.targets.find((t) => t.name === n.flux)!;
      await cluster.applyManifest(
        yamlDocs(
          { apiVersion: "v1", kind: "Secret", metadata: { name: target.secret, namespace: FLUX_NAMESPACE }, stringData: { address: `${s().url}${HOOK_PATH}` } },
          { apiVersion: "v1", kind: "Secret", metadata: { name: n.receiver.secret, namespace: FLUX_NAMESPACE }, stringData: { token } },
        ),
      );
      // The tree's notification objects byte for byte, first, so that the install below is reported.
      await cluster.applyManifest(yamlDocs(...notificationDocs()));

      const repo = parseAllDocuments(g().tree.files.get(GOTK_SYNC)!)
        .map((d) => d.toJS() as KubeObject & { spec: Record<string, unknown> })
        .find((d) => d.kind === "GitRepository" && d.metadata.name === GIT_REPOSITORY)!;
      repo.spec["url"] = gitUrl;
      delete repo.spec["secretRef"];
      repo.spec["interval"] = POLL_INTERVAL;
      const app = g().model.apps.find((a) => a.name === APP)!;
      const { rendered } = await renderAppReleases(
        REPO_ROOT,
        g().tree.objects.filter((p) => p.object.metadata.namespace === app.components[0]!.namespace),
      );
      const pvcs = rendered.flatMap((r) =>
        r.objects.filter((o) => o.kind === "PersistentVolumeClaim").map((o) => ({ ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? r.release.object.metadata.namespace } })),
      );
      await cluster.applyManifest(yamlDocs(repo, standInChartRepository(APP_CHART_REPOSITORY, cluster.charts!.url), appsKustomization(APPS_KS, `./apps/${APP}`), ...pvcs.map(volumeFor)));
    },
    { timeout: 6 * 60_000 },
  );

  after(async () => {
    await sink?.close();
    await suite.teardown(async () => {
      const hrs = await list(c().kubectl, HR);
      const recv = await c().kubectl.getJson<FluxObj>(RECEIVER_KIND, FLUX_NAMESPACE, g().model.notifications!.receiver!.name);
      return [
        `# Receiver: ${describeCond(recv)}`,
        ...hrs.map((h) => `# HelmRelease ${h.metadata.namespace}/${h.metadata.name}: ${describeCond(h)}`),
        `# ${s().deliveries.length} webhook deliveries:`,
        ...s().deliveries.map((d) => `#   ${d.method} ${d.path} ${d.body.slice(0, 400)}`),
      ].join("\n");
    });
  });

  step("the tree's Provider, Alerts and Receiver are accepted as generated; the Receiver turns Ready", 120_000, async () => {
    const n = g().model.notifications!;
    const docs = notificationDocs();
    assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort(), [`Alert/${FAILURES_ALERT}`, `Alert/${RELEASES_ALERT}`, `Provider/${providerName(n.flux)}`, `Receiver/${n.receiver!.name}`].sort());
    // Provider and Alert (v1beta3) carry no status: notification-controller reads them when an event arrives,
    // so their proof is the deliveries below. The live objects are the generated ones.
    const provider = await c().kubectl.getJson<{ spec: { type: string; secretRef: { name: string } } }>("providers.notification.toolkit.fluxcd.io", FLUX_NAMESPACE, providerName(n.flux));
    assert.equal(provider?.spec.type, "discord");
    const recv = await c().waitReady(RECEIVER_KIND, FLUX_NAMESPACE, n.receiver!.name, 60_000);
    webhookPath = String((recv["status"] as { webhookPath?: string }).webhookPath ?? "");
    assert.match(webhookPath, /^\/hook\/[0-9a-f]{64}$/);
  });

  step("`bk notify receiver-url` prints the Receiver's webhook path and the token it was given", 60_000, async () => {
    assert.ok(webhookPath, "the Receiver step ran");
    const n = g().model.notifications!;
    const dir = await suite.tempDir("bk-e2e-ntf-values-");
    const values = path.join(dir, "secret-values.yaml");
    await mkdir(dir, { recursive: true });
    await writeFile(values, `${FLUX_NAMESPACE}/${n.receiver!.secret}:\n  token: "${token}"\n`, { mode: 0o600 });
    const r = await runBkAsync(["notify", "receiver-url", "--root", REPO_ROOT, "--values", values, "--json"]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const hook = JSON.parse(r.stdout) as { url: string; secret: string; events: string[]; gitRepository: string };
    const url = new URL(hook.url);
    assert.equal(url.protocol, "https:");
    assert.equal(url.host, n.receiver!.host);
    assert.equal(url.pathname, webhookPath, "bk computes the path notification-controller serves");
    assert.equal(hook.secret, token);
    assert.deepEqual(hook.events, ["push"]);
    assert.equal(hook.gitRepository, `${FLUX_NAMESPACE}/${GIT_REPOSITORY}`);
  });

  step(`a signed push delivery to the Receiver fetches the new commit within seconds (poll interval ${POLL_INTERVAL})`, 240_000, async () => {
    assert.ok(webhookPath, "the Receiver step ran");
    await c().waitReady(GITREPO, FLUX_NAMESPACE, GIT_REPOSITORY, 120_000);
    const first = await gitRepository();
    assert.equal(revisionOf(first), `main@sha1:${firstSha}`);
    assert.equal(first.spec?.["interval"], POLL_INTERVAL);

    await writeFile(path.join(treeDir, "README.e2e.md"), `pushed by the notifications e2e at ${new Date().toISOString()}\n`);
    const sha = await c().pushRepo(treeDir, { message: "a push the Git host reports" });
    const hookUrl = `${c().flux!.receiverUrl}${webhookPath}`;
    const body = githubPushBody("main", sha);

    const before = (await gitRepository()).metadata.annotations?.[REQUESTED_AT];
    const forged = await postGithubPush(hookUrl, token, body, githubSignature("not-the-token", body));
    assert.ok(forged.status >= 400 && forged.status < 500, `a delivery with a wrong signature is refused, got HTTP ${forged.status} ${forged.body}`);
    assert.equal((await gitRepository()).metadata.annotations?.[REQUESTED_AT], before, "a refused delivery requests no reconcile");

    const t0 = Date.now();
    const res = await postGithubPush(hookUrl, token, body);
    assert.equal(res.status, 200, `the signed delivery is accepted: HTTP ${res.status} ${res.body}`);
    const fetched = await waitFor(
      `GitRepository to fetch ${sha}`,
      RECEIVER_BUDGET_MS,
      async () => {
        const r = await gitRepository();
        const rev = revisionOf(r);
        return { value: rev === `main@sha1:${sha}` ? r : undefined, detail: `revision ${rev}; ${describeCond(r)}` };
      },
      () => c().assertAlive(),
      100,
    );
    const took = Date.now() - t0;
    assert.notEqual(fetched.metadata.annotations?.[REQUESTED_AT], before, "the Receiver asked source-controller for a reconcile");
    console.log(`# push delivery -> new revision fetched in ${secs(took)} s (poll interval ${POLL_INTERVAL})`);
  });

  step("a successful install is delivered to the Provider's webhook as flux-releases declares", 6 * 60_000, async () => {
    const comp = g().model.apps.find((a) => a.name === APP)!.components[0]!;
    const ok = await s().waitFor(
      `the install of ${comp.namespace}/${comp.fullname} at the webhook`,
      (d) => attachment(d)?.author_name === `helmrelease/${comp.fullname}.${comp.namespace}` && /^Helm install succeeded/.test(attachment(d)?.text ?? ""),
      6 * 60_000,
    );
    assert.equal(ok.method, "POST");
    assert.equal(ok.path, `${HOOK_PATH}/slack`, "the discord notifier posts Slack-compatible messages to <webhook>/slack");
    assert.match(String(ok.headers["content-type"]), /^application\/json/);
    assert.equal(attachment(ok)?.color, "good");
    assert.match(attachment(ok)?.text ?? "", new RegExp(`release ${comp.namespace}/${comp.fullname}\\b`));
    // Info events other than a finished release are progress noise the Alert leaves out.
    const inclusion = RELEASE_SUCCEEDED.map((p) => new RegExp(p));
    for (const d of s().deliveries.filter((x) => attachment(x)?.color === "good")) {
      assert.ok(
        inclusion.some((re) => re.test(attachment(d)?.text ?? "")),
        `an info event outside flux-releases' inclusionList was delivered: ${d.body}`,
      );
    }
  });

  step("a HelmRelease whose values the chart refuses is delivered as a failure naming the release and the cause", 4 * 60_000, async () => {
    const comp = g().model.apps.find((a) => a.name === APP)!.components[0]!;
    const live = await c().kubectl.getJson<{ spec: { chart: unknown } }>(HR, comp.namespace, comp.fullname);
    assert.ok(live, `HelmRelease ${comp.namespace}/${comp.fullname} exists`);
    const name = "e2e-bad-values";
    // The same chart as the application's release, with a key the chart's values.schema.json does not allow.
    await c().applyManifest(
      yamlDocs({
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: { name, namespace: comp.namespace },
        spec: { interval: "10m", chart: live.spec.chart, install: { remediation: { retries: 0 } }, values: { notAValue: true } },
      }),
    );
    const failed = await s().waitFor(`the failure of ${comp.namespace}/${name} at the webhook`, (d) => attachment(d)?.author_name === `helmrelease/${name}.${comp.namespace}`, 4 * 60_000);
    const a = attachment(failed)!;
    assert.equal(failed.path, `${HOOK_PATH}/slack`);
    assert.equal(a.color, "danger", "a failure is sent at error severity");
    assert.match(a.text ?? "", /install failed/i, `the message says what failed: ${a.text}`);
    assert.match(a.text ?? "", /notAValue/, `the message carries the cause (the refused value): ${a.text}`);
    const hr = await c().kubectl.getJson<FluxObj>(HR, comp.namespace, name);
    assert.equal(hr?.status?.conditions?.find((x) => x.type === "Ready")?.status, "False", describeCond(hr));
    console.log(`# failure delivered: ${a.author_name}: ${(a.text ?? "").split("\n")[0]}`);
  });
});
