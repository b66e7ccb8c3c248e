/**
 * The route check against this machine's real kernel, through the real `ip` (iproute2): an address
 * inside one of its own links is on-link, an address only the default route leads to is judged so.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { defaultRoutes, routeGet, type IpRoute } from "../../src/adapters/iproute.js";
import { ProcessRunner } from "../../src/adapters/runner.js";
import { formatIPv4, parseCidr, parseIPv4 } from "../../src/core/ipv4.js";
import { routeVerdict } from "../../src/workflows/pool-route.js";

const runner = new ProcessRunner();
const table = JSON.parse(execFileSync("ip", ["-j", "route", "show"], { encoding: "utf8" })) as Array<IpRoute & { scope?: string }>;
// TEST-NET-3 (RFC 5737): never on a link of a test machine, so only a default route leads there.
const OFF_LINK = "203.0.113.77";

describe("route verdict with the real ip", () => {
  it("an address inside a link of this machine is on-link, on that link's device", async () => {
    const link = table.find((r) => r.scope === "link" && parseCidr(r.dst) && (parseCidr(r.dst)?.prefix ?? 32) <= 30);
    assert.ok(link, `this machine has no IPv4 link route to test with: ${JSON.stringify(table)}`);
    const net = parseCidr(link.dst)!;
    // An address of the link that is not this machine's own (that one is 'local').
    const own = parseIPv4(link.prefsrc ?? "") ?? -1;
    const address = formatIPv4(net.network + 1 === own ? net.network + 2 : net.network + 1);
    const defaults = await defaultRoutes(runner);
    assert.ok(defaults.ok);
    const v = routeVerdict(address, "test", await routeGet(runner, address), defaults.routes);
    assert.equal(v.kind, "on-link");
    assert.equal(v.dev, link.dev);
  });

  it("an address no link holds leaves by the default route (or has no route when there is none)", async () => {
    const defaults = await defaultRoutes(runner);
    assert.ok(defaults.ok);
    const v = routeVerdict(OFF_LINK, "test", await routeGet(runner, OFF_LINK), defaults.routes);
    if (defaults.routes.length) {
      assert.equal(v.kind, "default-route");
      assert.equal(v.gateway, defaults.routes[0]!.gateway);
      assert.equal(v.dev, defaults.routes[0]!.dev);
    } else {
      assert.equal(v.kind, "unreachable");
      assert.match(v.error ?? "", /unreachable/i);
    }
  });
});
