/**
 * `bk netpol` compares what the policies allow with what the definition declares: the real tree
 * passes; a removed allow policy shows up as a blocked path, an extra broad allow as an undeclared
 * open path, each named with the policies responsible.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { netpolCommand } from "../../src/cli/commands/netpol.js";
import type { KubeObject } from "../../src/core/object.js";
import { loadDefinition } from "../../src/model/load.js";
import { analyzeNetworkPolicies, netpolFindings, type NetpolReport } from "../../src/netpol/analyze.js";
import { compactPorts, renderReport } from "../../src/netpol/render.js";
import { synthesize } from "../../src/synth/index.js";
import { REPO_ROOT } from "../helpers/definition.js";

const { model } = loadDefinition(REPO_ROOT);
const objects = synthesize(model).map((p) => p.object);

const without = (ns: string, name: string) => {
  const out = objects.filter((o) => !(o.kind === "NetworkPolicy" && o.metadata.namespace === ns && o.metadata.name === name));
  assert.equal(out.length, objects.length - 1, `${ns}/${name} is not among the synthesized policies`);
  return out;
};
const np = (namespace: string, name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec });
const has = (list: Array<{ from: string; to: string; port: number; protocol: string }>, from: string, to: string, port: number, protocol = "TCP") =>
  list.some((x) => x.from === from && x.to === to && x.port === port && x.protocol === protocol);

describe("bk netpol on the real definition", () => {
  const report = analyzeNetworkPolicies(model, objects);

  it("finds every required path open and nothing undeclared", () => {
    assert.deepEqual(report.blocked, []);
    assert.deepEqual(report.undeclared, []);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.withoutDefaultDeny, []);
    assert.equal(report.ok, true);
  });

  it("requires the declared edges, databases, routes, metrics and DNS", () => {
    const req = report.required;
    assert.ok(has(req, "ffl/frontend", "ffl/backend", 8000));
    assert.ok(has(req, "ffl/backend#migrate", "infra/postgres", 5432));
    assert.ok(has(req, "triager/duplicate", "infra/postgres", 5432));
    assert.ok(has(req, "ccbot/bot", "internet", 443));
    assert.ok(has(req, "ingress-nginx/ingress-nginx", "midwestmtg/frontend", 8080));
    assert.ok(has(req, "monitoring/prometheus", "mtg-dev-agents/evaluator", 9090));
    assert.ok(has(req, "ccbot/bot", "kube-system/kube-dns", 53, "UDP"));
    assert.ok(!has(req, "ffl/frontend", "ffl/redis", 6379));
    assert.ok(report.required.every((p) => p.allowed));
  });

  it("has the matrix cells of the declared paths and none between apps", () => {
    const cell = (from: string, to: string) => report.open.find((c) => c.from === from && c.to === to);
    assert.equal(compactPorts(cell("ffl/frontend", "ffl/backend")!.ports), "8000");
    assert.equal(compactPorts(cell("ffl/backend", "kube-system/kube-dns")!.ports), "53/tcp+udp");
    assert.equal(cell("ffl/frontend", "ffl/redis"), undefined);
    const app = (id: string) => report.endpoints.find((e) => e.id === id)!.group;
    for (const c of report.open) {
      const a = app(c.from);
      const b = app(c.to);
      if (a.kind === "app" && b.kind === "app") assert.equal(a.app, b.app, `${c.from} -> ${c.to} crosses applications`);
    }
  });

  it("lists the external hosts NetworkPolicy cannot name", () => {
    const bot = report.externalCaveats.find((x) => x.component === "ccbot/bot")!;
    assert.deepEqual(bot.hosts, ["discord.com:443", "gateway.discord.gg:443", "oauth2.googleapis.com:443"]);
    assert.deepEqual(bot.ports, [443]);
    const text = renderReport(report);
    assert.match(text, /NetworkPolicy cannot name hosts/);
    assert.match(text, /ccbot\/bot: discord\.com:443/);
    assert.match(text, /^ {2}from \\ to +backend +frontend +redis +kube-dns +postgres$/m);
    assert.match(text, /^ {2}ffl\/frontend +8000 +· +- +53\/tcp\+udp +-$/m);
    assert.match(text, /0 blocked, 0 undeclared open/);
  });
});

describe("bk netpol catches broken policies", () => {
  it("a removed egress allow is a blocked path, blamed on the egress side", () => {
    const r = analyzeNetworkPolicies(model, without("ffl", "allow-frontend-to-backend"));
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.blocked.map((b) => [b.from, b.to, b.port, b.protocol, b.reason]),
      [["ffl/frontend", "ffl/backend", 8000, "TCP", "no policy allows egress from ffl/frontend"]],
    );
    assert.deepEqual(r.undeclared, []);
  });

  it("a removed ingress allow is a blocked path, blamed on the ingress side", () => {
    const r = analyzeNetworkPolicies(model, without("ffl", "allow-backend-from-frontend"));
    assert.deepEqual(
      r.blocked.map((b) => [b.from, b.to, b.port, b.reason]),
      [["ffl/frontend", "ffl/backend", 8000, "no policy allows ingress to ffl/backend"]],
    );
  });

  it("PostgreSQL's LAN exposure (ipBlock 0.0.0.0/0) also admits pods, so only both removals block", () => {
    const oneRemoved = analyzeNetworkPolicies(model, without("infra", "allow-postgres-from-triager-classifier"));
    assert.deepEqual(oneRemoved.blocked, [], "allow-postgres-from-lan still admits the classifier's pod address");
    const both = without("infra", "allow-postgres-from-triager-classifier").filter((o) => !(o.metadata.namespace === "infra" && o.metadata.name === "allow-postgres-from-lan"));
    const r = analyzeNetworkPolicies(model, both);
    assert.ok(has(r.blocked, "triager/classifier", "infra/postgres", 5432));
    assert.ok(has(r.blocked, "lan", "infra/postgres", 5432));
    assert.ok(!has(r.blocked, "triager/duplicate", "infra/postgres", 5432));
  });

  it("an extra broad ingress allow opens undeclared paths, naming the policy", () => {
    const r = analyzeNetworkPolicies(model, [...objects, np("ffl", "allow-everything-in", { podSelector: {}, policyTypes: ["Ingress"], ingress: [{}] })]);
    assert.equal(r.ok, false);
    assert.ok(has(r.undeclared, "internet", "ffl/redis", 6379), "the internet reaches redis");
    assert.ok(has(r.undeclared, "monitoring/prometheus", "ffl/redis", 6379), "Prometheus scrapes any port it is let into");
    assert.ok(has(r.undeclared, "lan", "ffl/frontend", 8080));
    const u = r.undeclared.find((x) => x.from === "internet" && x.to === "ffl/redis")!;
    assert.equal(u.ingress, "allowed by ffl/allow-everything-in");
    assert.equal(u.egress, "internet is outside the pod network");
    assert.deepEqual(r.blocked, []);
    assert.ok(!r.undeclared.some((x) => !x.to.startsWith("ffl/") && !x.from.startsWith("ffl/")), "only paths touching ffl are new");
  });

  it("an extra broad egress allow opens undeclared paths from the app", () => {
    const r = analyzeNetworkPolicies(model, [...objects, np("ffl", "allow-everything-out", { podSelector: { matchLabels: { "app.kubernetes.io/component": "frontend" } }, policyTypes: ["Egress"], egress: [{}] })]);
    assert.ok(has(r.undeclared, "ffl/frontend", "internet", 443));
    assert.ok(has(r.undeclared, "ffl/frontend", "lan", 5000));
    assert.ok(has(r.undeclared, "ffl/frontend", "registry/registry", 5000), "the registry accepts 0.0.0.0/0, so only the frontend's egress protected it");
    assert.ok(!has(r.undeclared, "ffl/frontend", "ffl/redis", 6379), "redis still only admits the backend");
    const u = r.undeclared.find((x) => x.from === "ffl/frontend" && x.to === "internet" && x.port === 443)!;
    assert.equal(u.egress, "allowed by ffl/allow-everything-out");
  });

  it("a missing default-deny is reported per namespace", () => {
    const r = analyzeNetworkPolicies(model, without("ccbot", "default-deny"));
    assert.deepEqual(r.withoutDefaultDeny, ["ccbot"]);
  });

  it("turns failures into findings with a fix", () => {
    const r: NetpolReport = analyzeNetworkPolicies(model, [...without("ffl", "allow-frontend-to-backend"), np("ffl", "open", { podSelector: {}, ingress: [{}] })]);
    const f = netpolFindings(r);
    assert.ok(f.some((x) => x.rule === "netpol/blocked" && x.message.startsWith("ffl/frontend cannot reach ffl/backend on 8000/TCP")));
    assert.ok(f.some((x) => x.rule === "netpol/undeclared-open" && x.message.startsWith("internet can reach ffl/redis on 6379/TCP")));
    assert.ok(f.every((x) => x.severity === "error" && x.fix.length > 0));
    const text = renderReport(r);
    assert.match(text, /Blocked paths the definition needs \(1\)/);
    assert.match(text, /Open paths nobody declared/);
  });
});

describe("netpolCommand", () => {
  it("prints the report as JSON and exits 0 on the real repository", async () => {
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string | Uint8Array) => {
      chunks.push(String(s));
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await netpolCommand(REPO_ROOT, { json: true });
    } finally {
      process.stdout.write = write;
    }
    assert.equal(code, 0);
    const data = JSON.parse(chunks.join("")) as NetpolReport;
    assert.equal(data.ok, true);
    assert.ok(data.open.some((c) => c.from === "ffl/frontend" && c.to === "ffl/backend"));
    assert.ok(data.endpoints.some((e) => e.id === "internet" && e.kind === "external"));
  });
});
