/**
 * `bk ips`: live drift (pure comparison), `bk ips scan` and `bk ips sync` on temporary copies of the
 * definition and of the fixture application repositories (test/fixtures/app-repos).
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { parseDocument } from "yaml";
import { ipsCommand, ipsScanCommand, ipsSyncCommand } from "../../src/cli/commands/ips.js";
import { loadDefinition } from "../../src/model/load.js";
import { RecordingRunner } from "../../src/adapters/runner.js";
import { compareLive, replaceAddress, rewriteYamlText, scanContext, scanText, verifyYamlRewrite, type LiveService } from "../../src/workflows/ips.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { capture, type Captured } from "../helpers/capture.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures/app-repos");
const model = loadDefinition(REPO_ROOT).model;
const temps: string[] = [];
after(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** ws/beckerkube (a copy of the definition) beside ws/ffl and ws/midwestmtg, as sourceRepository ../ffl expects. */
function workspace(): { ws: string; root: string } {
  const ws = mkdtempSync(path.join(os.tmpdir(), "bk-ips-"));
  temps.push(ws);
  const root = path.join(ws, "beckerkube");
  mkdirSync(root);
  cpSync(path.join(REPO_ROOT, "definition"), path.join(root, "definition"), { recursive: true });
  for (const app of ["ffl", "midwestmtg"]) cpSync(path.join(FIXTURES, app), path.join(ws, app), { recursive: true });
  return { ws, root };
}

const live = (over: Partial<Record<string, string[]>> = {}): LiveService[] => model.endpoints.map((e) => ({ namespace: e.namespace, name: e.service, ips: over[e.id] ?? [e.ip], requested: e.ip }));

describe("bk ips (live) comparison", () => {
  it("is clean when every Service holds its definition address", () => {
    const { rows, findings } = compareLive(model, live());
    assert.deepEqual(findings, []);
    assert.deepEqual(
      rows.map((r) => `${r.endpoint} ${r.status}`),
      ["registry ok", "chartmuseum ok", "postgres ok", "ingress ok", "gateway ok"],
    );
  });

  it("reports drift, pending and missing Services, and an address held by a stranger", () => {
    const services = live({ registry: ["192.168.7.30"], gateway: [] }).filter((s) => s.name !== "chartmuseum");
    services.push({ namespace: "default", name: "rogue", ips: ["192.168.7.18"] });
    const { rows, findings } = compareLive(model, services);
    assert.deepEqual(
      rows.map((r) => `${r.endpoint} ${r.status}`),
      ["registry drift", "chartmuseum missing", "postgres ok", "ingress ok", "gateway pending"],
    );
    const rules = findings.map((f) => `${f.rule} ${f.object}`);
    assert.deepEqual(rules, ["ips/drift Service/registry/registry", "ips/service-missing Service/infra/chartmuseum", "ips/pending Service/istio-ingress/bk-gateway", "ips/taken Service/default/rogue"]);
    assert.match(findings[0]!.message, /Registry is at 192\.168\.7\.30, the definition says 192\.168\.7\.21/);
    assert.match(findings[0]!.fix, /bk ips sync --from 192\.168\.7\.21 --to 192\.168\.7\.30/);
  });

  it("the command maps the lister's answer to an exit code", async () => {
    // A host where the pool is on the node's bridge (the route check itself: pool-route.test.ts).
    const onBridge = () =>
      new RecordingRunner((c) =>
        c.args.includes("get") ? { code: 0, stdout: `[{"dst":"${c.args.at(-1)}","dev":"beckerkube","prefsrc":"192.168.7.1","flags":[],"uid":0,"cache":[]}]`, stderr: "" } : { code: 0, stdout: "[]", stderr: "" },
      );
    const ok = await capture(() => ipsCommand(REPO_ROOT, { json: true }, { listLoadBalancers: async () => live() }, onBridge()));
    assert.equal(ok.code, 0);
    assert.equal(JSON.parse(ok.stdout).ok, true);
    const bad = await capture(() => ipsCommand(REPO_ROOT, {}, { listLoadBalancers: async () => live({ postgres: ["192.168.1.18"] }) }, onBridge()));
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /drift +PostgreSQL/);
    const down = await capture(() => ipsCommand(REPO_ROOT, {}, { listLoadBalancers: async () => Promise.reject(new Error("connect ECONNREFUSED")) }, onBridge()));
    assert.equal(down.code, 3);
    assert.match(down.stderr, /ECONNREFUSED/);
  });
});

describe("address scanning", () => {
  const ctx = scanContext(model);

  it("matches whole addresses only and says whose each one is now", () => {
    const text = [
      "REGISTRY_URL=192.168.1.18:5000", // incident 1: the old registry address
      "mirror 192.168.7.19:5000", // the Istio gateway's now: nothing serves :5000 there
      "db 192.168.7.17:5432 and 192.168.7.21", // current
      "version 2.192.168.1.18.7 and 10.0.0.1 and 192.168.7.99", // inside a longer number; not ours; in the /24 but unassigned
      "end of sentence at 192.168.7.20.",
    ].join("\n");
    const got = scanText(text, "f", ctx).map((o) => `${o.line}:${o.column} ${o.address}${o.port ? ":" + o.port : ""} ${o.status}`);
    assert.deepEqual(got, ["1:14 192.168.1.18:5000 stale", "2:8 192.168.7.19:5000 wrong-port", "3:4 192.168.7.17:5432 current", "3:26 192.168.7.21 current", "4:43 192.168.7.99 stale", "5:20 192.168.7.20 current"]);
    const [old, wrongPort] = scanText(text, "f", ctx);
    assert.equal(old!.note, "not assigned: stale; the definition serves :5000 at 192.168.7.21 (Registry)");
    assert.match(wrongPort!.note, /192\.168\.7\.19 is Istio Gateway now, which serves 80, 443, not :5000: stale; the definition serves :5000 at 192\.168\.7\.21 \(Registry\)/);
  });

  it("takes extra stale addresses from --stale", () => {
    assert.deepEqual(scanText("a 10.1.2.3 b", "f", ctx), []);
    assert.equal(scanText("a 10.1.2.3 b", "f", scanContext(model, ["10.1.2.3"]))[0]?.note, "not assigned: stale");
  });

  it("bk ips scan reports every occurrence in the fixture repositories with file:line", async () => {
    const { ws } = workspace();
    writeFileSync(path.join(ws, "ffl", "logo.png"), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0]), Buffer.from("192.168.1.18")]));
    mkdirSync(path.join(ws, "ffl", ".git"));
    writeFileSync(path.join(ws, "ffl", ".git", "config"), "url = 192.168.1.18\n");
    const r = await capture(() => ipsScanCommand(REPO_ROOT, [path.join(ws, "ffl"), path.join(ws, "midwestmtg")], { json: true }));
    assert.equal(r.code, 1, r.stderr);
    const occ = JSON.parse(r.stdout).occurrences.map(
      (o: { file: string; line: number; address: string; port?: number; status: string }) => `${path.relative(ws, o.file)}:${o.line} ${o.address}:${o.port ?? ""} ${o.status}`,
    );
    assert.deepEqual(occ, [
      "ffl/.env.build:2 192.168.1.18:5000 stale",
      "ffl/README.md:3 192.168.1.18:5000 stale",
      "ffl/README.md:5 192.168.7.20: current",
      "ffl/docker-compose.yml:4 192.168.1.18:5000 stale",
      "ffl/docker-compose.yml:6 192.168.7.17:5432 current",
      "ffl/scripts/build.sh:6 192.168.1.18:5000 stale",
      "ffl/scripts/build.sh:8 192.168.7.19:5000 wrong-port",
      "midwestmtg/.env:1 192.168.7.21:5000 current",
      "midwestmtg/deploy/compose.yaml:3 192.168.7.19:5000 wrong-port",
    ]);
    const clean = await capture(() => ipsScanCommand(REPO_ROOT, [path.join(ws, "midwestmtg", ".env")], {}));
    assert.equal(clean.code, 0);
    assert.match(clean.stdout, /1 address occurrence\(s\), 0 stale/);
  });
});

describe("bk ips sync", () => {
  it("replaceAddress and the YAML check touch whole addresses in string values only", () => {
    assert.deepEqual(replaceAddress("a 192.168.1.18:5000 b 192.168.1.180 c 1.192.168.1.18", "192.168.1.18", "192.168.7.21"), { text: "a 192.168.7.21:5000 b 192.168.1.180 c 1.192.168.1.18", count: 1 });
    assert.equal(verifyYamlRewrite("ip: 192.168.1.18 # old\n", "ip: 192.168.7.21 # old\n", "192.168.1.18", "192.168.7.21", "x.yaml"), undefined);
    assert.match(verifyYamlRewrite("192.168.1.18: registry\n", "192.168.7.21: registry\n", "192.168.1.18", "192.168.7.21", "x.yaml") ?? "", /x\.yaml: the rewrite would change more than string values/);
  });

  it("rewriteYamlText edits values and comments, never keys or the pool's bounds, and keeps the layout", () => {
    const src = [
      "network:",
      "  loadBalancerPool: { start: 192.168.7.17, end: 192.168.7.21 }   # the pool",
      "# the registry lives at 192.168.7.21:5000",
      "registry:",
      '  ip: "192.168.7.21"',
      "  notes: |",
      "    push to 192.168.7.21:5000",
      "  192.168.7.21: a key stays",
      "  port: 5000",
      "",
    ].join("\n");
    const r = rewriteYamlText(src, "192.168.7.21", "192.168.7.22");
    assert.equal(r.count, 3);
    assert.equal(r.text, src.replace("lives at 192.168.7.21", "lives at 192.168.7.22").replace('ip: "192.168.7.21"', 'ip: "192.168.7.22"').replace("push to 192.168.7.21", "push to 192.168.7.22"));
    assert.equal(verifyYamlRewrite(src, r.text, "192.168.7.21", "192.168.7.22", "x.yaml"), undefined);
  });

  it("--dry-run prints a unified diff of every application file and writes nothing", async () => {
    const { ws, root } = workspace();
    const before = readFileSync(path.join(ws, "ffl/.env.build"), "utf8");
    const r = await capture(() => ipsSyncCommand(root, { from: "192.168.1.18", to: "192.168.7.21", dryRun: true }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /--- a\/ffl\/\.env\.build\n\+\+\+ b\/ffl\/\.env\.build\n@@ -1,3 \+1,3 @@\n # Build settings for \.\/scripts\/build\.sh\n-REGISTRY_URL=192\.168\.1\.18:5000\n\+REGISTRY_URL=192\.168\.7\.21:5000\n/,
    );
    assert.match(r.stdout, /4 file\(s\), 4 replacement\(s\) of 192\.168\.1\.18 by 192\.168\.7\.21/);
    assert.match(r.stderr, /ccbot: repository .*ccbot not found/);
    assert.equal(readFileSync(path.join(ws, "ffl/.env.build"), "utf8"), before);
  });

  it("refuses to write without --yes when there is no terminal to ask", async () => {
    const { ws, root } = workspace();
    const tty = process.stdin.isTTY;
    process.stdin.isTTY = false; // as under CI or a pipe, even when the tests run from a terminal
    let r: Captured;
    try {
      r = await capture(() => ipsSyncCommand(root, { from: "192.168.1.18", to: "192.168.7.21" }));
    } finally {
      process.stdin.isTTY = tty;
    }
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pass --yes/);
    assert.match(readFileSync(path.join(ws, "ffl/.env.build"), "utf8"), /192\.168\.1\.18/);
  });

  it("--yes rewrites env files, scripts (keeping the executable bit), compose files and docs atomically", async () => {
    const { ws, root } = workspace();
    const r = await capture(() => ipsSyncCommand(root, { from: "192.168.1.18", to: "192.168.7.21", yes: true }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(path.join(ws, "ffl/.env.build"), "utf8"), "# Build settings for ./scripts/build.sh\nREGISTRY_URL=192.168.7.21:5000\nIMAGE_PREFIX=ffl\n");
    assert.match(readFileSync(path.join(ws, "ffl/docker-compose.yml"), "utf8"), /image: 192\.168\.7\.21:5000\/ffl\/backend:1\.4\.2/);
    assert.match(readFileSync(path.join(ws, "ffl/README.md"), "utf8"), /registry at 192\.168\.7\.21:5000\.[\s\S]*build 2\.192\.168\.1\.18\.7/);
    const script = path.join(ws, "ffl/scripts/build.sh");
    assert.match(readFileSync(script, "utf8"), /REGISTRY_URL:-192\.168\.7\.21:5000/);
    assert.equal(statSync(script).mode & 0o777, 0o755);
    // No temporary files left behind, and the definition (which never had the old address) is unchanged.
    const leftovers = readdirSync(path.join(ws, "ffl/scripts"));
    assert.deepEqual(leftovers, ["build.sh"]);
    assert.equal(readFileSync(path.join(root, "definition/infrastructure.yaml"), "utf8"), readFileSync(path.join(REPO_ROOT, "definition/infrastructure.yaml"), "utf8"));
    // The stale 192.168.7.19:5000 is a different address: scan still flags it.
    const scan = await capture(() => ipsScanCommand(root, [path.join(ws, "ffl")], { json: true }));
    const stale = JSON.parse(scan.stdout)
      .occurrences.filter((o: { status: string }) => o.status !== "current")
      .map((o: { address: string }) => o.address);
    assert.deepEqual(stale, ["192.168.7.19"]);
  });

  it("moves the registry in the definition (comments kept) and in the repositories; --repos limits the repositories", async () => {
    const { ws, root } = workspace();
    // Make room in the pool for a new registry address.
    const infraFile = path.join(root, "definition/cluster.yaml");
    const doc = parseDocument(readFileSync(infraFile, "utf8"));
    doc.setIn(["network", "loadBalancerPool", "end"], "192.168.7.22");
    writeFileSync(infraFile, doc.toString());
    const defBefore = readFileSync(path.join(root, "definition/infrastructure.yaml"), "utf8");
    const fflAppBefore = readFileSync(path.join(root, "definition/apps/ffl.yaml"), "utf8");

    const r = await capture(() => ipsSyncCommand(root, { from: "192.168.7.21", to: "192.168.7.22", yes: true, repos: [path.join(ws, "midwestmtg")] }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /bk certs renew registry/);
    assert.match(r.stdout, /bk synth/);
    const defAfter = readFileSync(path.join(root, "definition/infrastructure.yaml"), "utf8");
    // Exactly the registry's address changed; every other byte (comments, layout) is the same.
    assert.equal(defAfter, defBefore.replace("ip: 192.168.7.21", "ip: 192.168.7.22"));
    // The comment in apps/ffl.yaml names the registry address: updated too, nothing else.
    assert.equal(readFileSync(path.join(root, "definition/apps/ffl.yaml"), "utf8"), fflAppBefore.replace("# Images: 192.168.7.21:5000", "# Images: 192.168.7.22:5000"));
    assert.equal(loadDefinition(root).model.registry, "192.168.7.22:5000");
    assert.equal(readFileSync(path.join(ws, "midwestmtg/.env"), "utf8"), "REGISTRY_URL=192.168.7.22:5000\n");
    // ffl was not in --repos.
    assert.match(readFileSync(path.join(ws, "ffl/.env.build"), "utf8"), /192\.168\.1\.18/);
  });

  it("refuses a move the definition rejects (outside the pool), writing nothing", async () => {
    const { ws, root } = workspace();
    const before = readFileSync(path.join(root, "definition/infrastructure.yaml"), "utf8");
    await assert.rejects(
      capture(() => ipsSyncCommand(root, { from: "192.168.7.21", to: "192.168.9.9", yes: true })),
      (err: Error & { findings?: Array<{ message: string }> }) => Boolean(err.findings?.some((f) => /after 192\.168\.7\.21 -> 192\.168\.9\.9/.test(f.message))),
    );
    assert.equal(readFileSync(path.join(root, "definition/infrastructure.yaml"), "utf8"), before);
    assert.equal(readFileSync(path.join(root, "definition/cluster.yaml"), "utf8"), readFileSync(path.join(REPO_ROOT, "definition/cluster.yaml"), "utf8"));
    assert.equal(readFileSync(path.join(ws, "midwestmtg/.env"), "utf8"), "REGISTRY_URL=192.168.7.21:5000\n");
    assert.ok(existsSync(path.join(ws, "ffl")));
  });

  it("rejects bad addresses", async () => {
    const r = await capture(() => ipsSyncCommand(REPO_ROOT, { from: "192.168.1.18", to: "192.168.1.256" }));
    assert.equal(r.code, 2);
  });
});
