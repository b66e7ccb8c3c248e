/**
 * `bk ips`: the verdict on this host's route to the LoadBalancer pool, from `ip -j` output of hosts
 * in each situation (test/fixtures/ip-route/), and the command's exit code with a recorded host.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { ipsCommand } from "../../src/cli/commands/ips.js";
import type { IpRoute, RouteLookup } from "../../src/adapters/iproute.js";
import { formatCommand, RecordingRunner, type RecordedCall, type RunResult } from "../../src/adapters/runner.js";
import { loadDefinition } from "../../src/model/load.js";
import { checkPoolRoutes, poolRouteFindings, routeVerdict } from "../../src/workflows/pool-route.js";
import type { LiveService } from "../../src/workflows/ips.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { capture } from "../helpers/capture.js";

const model = loadDefinition(REPO_ROOT).model;
const FIX = path.join(REPO_ROOT, "test/fixtures/ip-route");
const text = (name: string) => readFileSync(path.join(FIX, name), "utf8");
const routes = (name: string) => JSON.parse(text(name)) as IpRoute[];
const got = (name: string): RouteLookup => ({ ok: true, routes: routes(name) });
const UNREACHABLE: RouteLookup = { ok: false, error: "RTNETLINK answers: Network is unreachable", missing: false };

describe("route verdict from ip -j output", () => {
  it("on the node's bridge: on-link", () => {
    assert.deepEqual(routeVerdict("192.168.7.21", "Registry", got("get-on-bridge.json"), routes("default.json")), { address: "192.168.7.21", owner: "Registry", kind: "on-link", dev: "beckerkube" });
  });

  it("only through the default route (incident 1: the node on 192.168.49.0/24)", () => {
    assert.deepEqual(routeVerdict("192.168.7.21", "Registry", got("get-via-default.json"), routes("default.json")), {
      address: "192.168.7.21",
      owner: "Registry",
      kind: "default-route",
      dev: "enp3s0",
      gateway: "192.168.1.1",
    });
  });

  it("this machine's own recording: an address only the default route leads to", () => {
    const v = routeVerdict("203.0.113.77", "x", got("this-host-get-offlink.json"), routes("this-host-default.json"));
    assert.equal(v.kind, "default-route");
  });

  it("a LAN client with a route to the Minikube host: via-route, reachable", () => {
    const v = routeVerdict("192.168.7.21", "Registry", got("get-lan-client.json"), routes("default-lan-client.json"));
    assert.deepEqual(v, { address: "192.168.7.21", owner: "Registry", kind: "via-route", dev: "wlp2s0", gateway: "192.168.1.50" });
  });

  it("a blackhole route and no route at all: unreachable", () => {
    assert.equal(routeVerdict("192.168.7.21", "Registry", got("get-blackhole.json"), routes("default.json")).kind, "unreachable");
    assert.deepEqual(routeVerdict("192.168.7.21", "Registry", UNREACHABLE, []), { address: "192.168.7.21", owner: "Registry", kind: "unreachable", error: "RTNETLINK answers: Network is unreachable" });
  });

  it("the host's own address: local", () => {
    assert.equal(routeVerdict("192.168.7.1", "gateway", got("get-local.json"), routes("default.json")).kind, "local");
  });
});

describe("pool route findings", () => {
  const verdicts = (lookup: RouteLookup, defaults: IpRoute[]) => model.endpoints.map((e) => routeVerdict(e.ip, e.title, lookup, defaults));

  it("none when every pinned address is on-link", () => {
    assert.deepEqual(poolRouteFindings(model, verdicts(got("get-on-bridge.json"), routes("default.json"))), []);
  });

  it("one error naming every address that leaves by the default route, and how to fix it", () => {
    const f = poolRouteFindings(model, verdicts(got("get-via-default.json"), routes("default.json")));
    assert.equal(f.length, 1);
    assert.equal(f[0]!.rule, "ips/pool-unrouted");
    assert.equal(f[0]!.severity, "error");
    assert.equal(
      f[0]!.message,
      "this host has no route to the LoadBalancer pool 192.168.7.17-192.168.7.21: 192.168.7.21 (Registry), 192.168.7.18 (ChartMuseum), 192.168.7.17 (PostgreSQL), 192.168.7.20 (ingress-nginx), 192.168.7.19 (Istio Gateway) would leave by the default route (via 192.168.1.1 dev enp3s0), where nothing answers for them",
    );
    assert.match(f[0]!.fix, /`bk bootstrap` makes beckerkube with 192\.168\.7\.0\/24 and starts the node at 192\.168\.7\.2/);
    assert.match(f[0]!.fix, /route 192\.168\.7\.0\/24 to the Minikube host \(docs\/runbooks\/lan-access\.md\)/);
  });

  it("an error for addresses with no route at all", () => {
    const f = poolRouteFindings(model, verdicts(UNREACHABLE, []));
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /^this host cannot route to 192\.168\.7\.21 \(Registry\), .* of the LoadBalancer pool 192\.168\.7\.17-192\.168\.7\.21 \(RTNETLINK answers: Network is unreachable\)$/);
  });
});

/** A host answering `ip -j` from the fixtures: `get` for every route get, `defaults` for route show default. */
function host(get: string | RunResult, defaults = "default.json"): RecordingRunner {
  return new RecordingRunner((c: RecordedCall): RunResult | undefined => {
    const line = formatCommand(c.cmd, c.args);
    if (line === "ip -j route show default") return { code: 0, stdout: text(defaults), stderr: "" };
    if (line.startsWith("ip -j route get ")) return typeof get === "string" ? { code: 0, stdout: text(get), stderr: "" } : get;
    return { code: 1, stdout: "", stderr: `unexpected ${line}` };
  });
}

const healthy = (): LiveService[] => model.endpoints.map((e) => ({ namespace: e.namespace, name: e.service, ips: [e.ip] }));

describe("bk ips with the route check", () => {
  it("asks the kernel once for the default routes and once per pinned address", async () => {
    const runner = host("get-on-bridge.json");
    await checkPoolRoutes(model, runner);
    assert.deepEqual(runner.lines(), ["ip -j route show default", ...model.endpoints.map((e) => `ip -j route get ${e.ip}`)]);
  });

  it("exits 0 on a host where the pool is on the bridge, 1 where it is not, even with every Service right", async () => {
    const ok = await capture(() => ipsCommand(REPO_ROOT, { json: true }, { listLoadBalancers: async () => healthy() }, host("get-on-bridge.json")));
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const okJson = JSON.parse(ok.stdout);
    assert.deepEqual(
      okJson.routes.map((r: { address: string; kind: string }) => `${r.address} ${r.kind}`),
      model.endpoints.map((e) => `${e.ip} on-link`),
    );
    const bad = await capture(() => ipsCommand(REPO_ROOT, {}, { listLoadBalancers: async () => healthy() }, host("get-via-default.json")));
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /NOROUTE Registry +192\.168\.7\.21 +default-route via 192\.168\.1\.1 dev enp3s0/);
    assert.match(bad.stderr, /ips\/pool-unrouted/);
  });

  it("reports the missing route even when the cluster cannot be reached", async () => {
    const down = await capture(() => ipsCommand(REPO_ROOT, {}, { listLoadBalancers: async () => Promise.reject(new Error("connect ECONNREFUSED")) }, host("get-via-default.json")));
    assert.equal(down.code, 3);
    assert.match(down.stderr, /this host has no route to the LoadBalancer pool/);
    assert.match(down.stderr, /ECONNREFUSED/);
  });

  it("without iproute2 it warns and judges the Services alone", async () => {
    const missing = new RecordingRunner(() => ({ code: 127, stdout: "", stderr: "spawn ip ENOENT", error: "spawn ip ENOENT" }));
    const r = await capture(() => ipsCommand(REPO_ROOT, { json: true }, { listLoadBalancers: async () => healthy() }, missing));
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(
      out.findings.map((f: { rule: string; severity: string }) => `${f.rule} ${f.severity}`),
      ["ips/route-unknown warning"],
    );
    assert.match(out.findings[0].fix, /install iproute2/);
  });
});
