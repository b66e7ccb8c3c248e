/**
 * `bk chart push` against a FAKE ChartMuseum (test/helpers/fake-chartmuseum.ts) served over real TLS with a
 * certificate from a test CA (openssl): the real ChartMuseum cannot be built or installed on these machines (the
 * Go module proxy refuses helm.sh/chartmuseum). Packaging, linting and the repository index are the real helm;
 * the definition edit, the regenerated tree and the commit happen in a real git repository.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { ChartMuseum } from "../../src/adapters/chartmuseum.js";
import { startFakeChartMuseum, type FakeChartMuseum } from "../helpers/fake-chartmuseum.js";
import { runBkAsync as runBk } from "../helpers/cli.js";
import { git, makeRepo, type TestRepo } from "../helpers/gitrepo.js";
import { freePort } from "../helpers/net.js";
import { makeCa, makeServerCert, type TestCa } from "../helpers/pki.js";

const auth = { BK_CHARTMUSEUM_USER: "bk", BK_CHARTMUSEUM_PASSWORD: "test-only-password" };

/** Give charts/app a new version (and optionally a template) and commit it, as a chart change would be. */
function bumpChart(repo: TestRepo, version: string, extraTemplate?: string): void {
  const file = path.join(repo.root, "charts/app/Chart.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace(/^version: .*$/m, `version: ${version}`));
  if (extraTemplate) writeFileSync(path.join(repo.root, "charts/app/templates/zz-test.yaml"), extraTemplate);
  git(repo.root, "add", "-A");
  git(repo.root, "commit", "--quiet", "-m", `chart ${version}`);
}

const read = (repo: TestRepo, rel: string) => readFileSync(path.join(repo.root, rel), "utf8");
const hrVersion = (repo: TestRepo, rel: string) => (parse(read(repo, rel)) as { spec: { chart: { spec: { version: string } } } }).spec.chart.spec.version;

describe("bk chart push over TLS: upload, then pin the applications to the exact version in a commit", () => {
  let museum: FakeChartMuseum;
  let ca: TestCa;
  let repo: TestRepo;
  let pinned: string;
  const flags = () => ["--root", repo.root, "--url", museum.url, "--ca", ca.caCert];
  const versions = async () =>
    (await new ChartMuseum({ url: museum.url, username: auth.BK_CHARTMUSEUM_USER, password: auth.BK_CHARTMUSEUM_PASSWORD, ca: readFileSync(ca.caCert, "utf8") }).versions("bk-app")).map((v) => v.version).sort();

  before(async () => {
    ca = makeCa();
    const cert = makeServerCert(ca, "chartmuseum", ["IP:127.0.0.1"]);
    museum = await startFakeChartMuseum({ ...{ username: auth.BK_CHARTMUSEUM_USER, password: auth.BK_CHARTMUSEUM_PASSWORD }, tls: cert });
    repo = makeRepo();
    pinned = (parse(read(repo, "charts/app/Chart.yaml")) as { version: string }).version;
  });
  after(() => museum?.stop());

  it("refuses without credentials (exit 1), and without the CA says TLS failed and how to trust it (exit 3)", async () => {
    const r = await runBk(["chart", "push", ...flags()], { env: { BK_CHARTMUSEUM_USER: "", BK_CHARTMUSEUM_PASSWORD: "" } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /HTTP 401/);
    const untrusted = await runBk(["chart", "push", "--root", repo.root, "--url", museum.url], { env: auth });
    assert.equal(untrusted.status, 3, untrusted.stderr);
    assert.match(untrusted.stderr, /TLS to ChartMuseum at https:\/\/127\.0\.0\.1:\d+ failed: .*Pass the cluster CA \(--ca/);
    assert.deepEqual(await versions(), []);
  });

  it("uploads the version the definition already pins (a refill after a rebuild): nothing to edit, nothing committed", async () => {
    const head = git(repo.root, "rev-parse", "HEAD");
    const r = await runBk(["chart", "push", ...flags(), "--json"], { env: auth });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.pushed, true);
    assert.deepEqual(report.pins, []);
    assert.equal(report.commit, undefined);
    assert.deepEqual(await versions(), [pinned]);
    assert.equal(git(repo.root, "rev-parse", "HEAD"), head);
    // Again with the same chart: idempotent, nothing uploaded (the refill case, run twice).
    const again = await runBk(["chart", "push", ...flags(), "--json"], { env: auth });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).pushed, false);
    assert.equal(JSON.parse(again.stdout).exists, true);
    // A different chart under the same version is refused, unless --force replaces it.
    const notes = path.join(repo.root, "charts/app/templates/NOTES.txt");
    writeFileSync(notes, "changed without a version bump\n");
    const changed = await runBk(["chart", "push", ...flags()], { env: auth });
    assert.equal(changed.status, 1, changed.stderr);
    assert.ok(changed.stderr.includes(`bk-app ${pinned} is already in ChartMuseum with different content; bump the chart version`), changed.stderr);
    const dry = await runBk(["chart", "push", ...flags(), "--dry-run"], { env: auth });
    assert.equal(dry.status, 1);
    const forced = await runBk(["chart", "push", ...flags(), "--force", "--json"], { env: auth });
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(JSON.parse(forced.stdout).pushed, true);
    git(repo.root, "checkout", "--", "charts/app");
    git(repo.root, "clean", "-fdq", "charts/app");
  });

  it("a new chart version: --dry-run shows the one-line pin and the tree diff and writes nothing; the real run uploads, pins every app and commits", async () => {
    bumpChart(repo, "0.2.0");
    const head = git(repo.root, "rev-parse", "HEAD");
    const infraBefore = read(repo, "definition/infrastructure.yaml");
    const dry = await runBk(["chart", "push", ...flags(), "--dry-run"], { env: auth });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`-    version: ${pinned.replaceAll(".", "\\.")}\\n\\+    version: 0\\.2\\.0`));
    assert.match(dry.stdout, /apps\/ffl\/backend\.yaml/);
    assert.match(dry.stdout, /dry run, nothing uploaded or written/);
    assert.equal(git(repo.root, "status", "--porcelain"), "");
    assert.deepEqual(await versions(), [pinned]);

    const r = await runBk(["chart", "push", ...flags(), "--json"], { env: auth });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.pushed, true);
    assert.deepEqual(await versions(), [pinned, "0.2.0"]);
    // The minimal edit: that one value, every comment and other byte of the file kept.
    assert.equal(read(repo, "definition/infrastructure.yaml"), infraBefore.replace(new RegExp(`^    version: ${pinned.replaceAll(".", "\\.")}$`, "m"), "    version: 0.2.0"));
    assert.equal(hrVersion(repo, "apps/ffl/backend.yaml"), "0.2.0");
    assert.equal(hrVersion(repo, "apps/ccbot/bot.yaml"), "0.2.0");
    assert.equal(git(repo.root, "status", "--porcelain"), "");
    assert.equal(git(repo.root, "rev-parse", "HEAD~1"), head);
    assert.equal(git(repo.root, "log", "-1", "--format=%s"), `chart(bk-app): ${pinned} -> 0.2.0 for every application`);
    const files = git(repo.root, "show", "--name-only", "--format=", "HEAD").split("\n");
    assert.ok(files.includes("definition/infrastructure.yaml") && files.every((f) => f.startsWith("apps/") || f.startsWith("definition/") || f.startsWith("docs/")), files.join(", "));
    // Not pushed: the operator reviews the commit first.
    assert.notEqual(git(repo.remote, "rev-parse", "main"), git(repo.root, "rev-parse", "HEAD"));
    assert.equal((await runBk(["synth", "--check", "--root", repo.root])).status, 0);
  });

  it("--apps ffl moves ffl alone, through its own chartVersion added above its components", async () => {
    bumpChart(repo, "0.3.0");
    const fflBefore = read(repo, "definition/apps/ffl.yaml");
    const r = await runBk(["chart", "push", ...flags(), "--apps", "ffl", "--json"], { env: auth });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).pins.map((p: { app: string; from: string; to: string }) => `${p.app} ${p.from}->${p.to}`),
      ["ffl 0.2.0->0.3.0"],
    );
    assert.equal(read(repo, "definition/apps/ffl.yaml"), fflBefore.replace(/^components:/m, "chartVersion: 0.3.0\ncomponents:"));
    assert.equal(hrVersion(repo, "apps/ffl/frontend.yaml"), "0.3.0");
    assert.equal(hrVersion(repo, "apps/midwestmtg/backend.yaml"), "0.2.0");
    assert.equal(git(repo.root, "log", "-1", "--format=%s"), "chart(bk-app): 0.2.0 -> 0.3.0 for ffl");
    const files = git(repo.root, "show", "--name-only", "--format=", "HEAD").split("\n");
    assert.ok(!files.includes("definition/infrastructure.yaml") && files.every((f) => !f.startsWith("apps/") || f.startsWith("apps/ffl/")), files.join(", "));
  });

  it("then every app to the version ffl tried: pinned without uploading it again", async () => {
    const r = await runBk(["chart", "push", ...flags(), "--json"], { env: auth });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.pushed, false);
    assert.deepEqual(report.pins.map((p: { app: string }) => p.app).sort(), ["ccbot", "midwestmtg", "mtg-dev-agents", "triager"]);
    assert.equal(hrVersion(repo, "apps/midwestmtg/backend.yaml"), "0.3.0");
    assert.match(read(repo, "definition/infrastructure.yaml"), /^ {4}version: 0\.3\.0$/m);
    assert.equal(git(repo.root, "status", "--porcelain"), "");
  });

  it("a chart that breaks the tree is neither uploaded nor pinned (exit 1)", async () => {
    bumpChart(repo, "0.4.0", '{{ fail "this chart cannot render" }}\n');
    const head = git(repo.root, "rev-parse", "HEAD");
    const r = await runBk(["chart", "push", ...flags()], { env: auth });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /this chart cannot render/);
    assert.ok(!(await versions()).includes("0.4.0"));
    assert.equal(git(repo.root, "rev-parse", "HEAD"), head);
    assert.equal(git(repo.root, "status", "--porcelain"), "");
  });

  it("bad input is exit 2, an unreachable ChartMuseum exit 3", async () => {
    const unknown = await runBk(["chart", "push", ...flags(), "--apps", "ffl,nosuch"], { env: auth });
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /no application 'nosuch' in the definition/);
    const empty = await runBk(["chart", "push", ...flags(), "--apps", "ffl,"], { env: auth });
    assert.equal(empty.status, 2, empty.stderr);
    const down = await runBk(["chart", "push", "--root", repo.root, "--apps", "none", "--url", `https://127.0.0.1:${await freePort()}`], { env: auth });
    assert.equal(down.status, 3, down.stderr);
    assert.match(down.stderr, /cannot reach ChartMuseum/);
  });
});
