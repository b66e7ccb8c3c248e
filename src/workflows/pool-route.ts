/**
 * Can this host reach the LoadBalancer pool? (incident 1: the node sat on 192.168.49.0/24 while the
 * pool was 192.168.7.17-21, on no network the host had.) The kernel's route for each pinned address
 * tells: on a link of this host (the node's bridge), via a route someone set up for it, or only
 * through the default route, where nothing answers for a private address. The verdict is pure, read
 * from `ip -j` records, so it is tested on recorded output as well as on this machine's own.
 */
import type { Finding } from "../core/finding.js";
import type { IpRoute, RouteLookup } from "../adapters/iproute.js";
import { defaultRoutes, routeGet } from "../adapters/iproute.js";
import type { Runner } from "../adapters/runner.js";
import type { Model } from "../model/model.js";

export const LAN_RUNBOOK = "docs/runbooks/lan-access.md";

export type RouteKind = "on-link" | "via-route" | "default-route" | "local" | "unreachable";

export interface RouteVerdict {
  address: string;
  /** Who uses the address (an endpoint's title, or "node"). */
  owner: string;
  kind: RouteKind;
  dev?: string;
  gateway?: string;
  /** What the host said, for unreachable ones. */
  error?: string;
}

const NO_ROUTE_TYPES = new Set(["unreachable", "blackhole", "prohibit", "throw"]);

/** The verdict for one address from `ip -j route get` and `ip -j route show default`. */
export function routeVerdict(address: string, owner: string, get: RouteLookup, defaults: readonly IpRoute[]): RouteVerdict {
  if (!get.ok) return { address, owner, kind: "unreachable", error: get.error };
  const r = get.routes[0];
  if (!r || (r.type && NO_ROUTE_TYPES.has(r.type))) return { address, owner, kind: "unreachable", error: r?.type ?? "no route" };
  const where = { ...(r.dev ? { dev: r.dev } : {}), ...(r.gateway ? { gateway: r.gateway } : {}) };
  if (r.type === "local") return { address, owner, kind: "local", ...where };
  if (!r.gateway) return { address, owner, kind: "on-link", ...where };
  // The kernel does not say which prefix matched: a next hop equal to a default route's is the default route.
  const viaDefault = defaults.some((d) => d.gateway === r.gateway && (!d.dev || d.dev === r.dev));
  return { address, owner, kind: viaDefault ? "default-route" : "via-route", ...where };
}

export const routeReachable = (v: RouteVerdict): boolean => v.kind === "on-link" || v.kind === "via-route" || v.kind === "local";

/** One finding for every pinned address the host cannot reach, grouped by why. */
export function poolRouteFindings(m: Model, verdicts: readonly RouteVerdict[]): Finding[] {
  const pool = `${m.network.loadBalancerPool.start}-${m.network.loadBalancerPool.end}`;
  const n = m.network.node;
  const fix =
    `on the Minikube host, start the node on its network (\`bk bootstrap\` makes ${n.network} with ${n.subnet} and starts the node at ${n.ip}; \`ip route get ${n.ip}\` then says dev ${n.network}); ` +
    `on another machine of the LAN, route ${n.subnet} to the Minikube host (${LAN_RUNBOOK})`;
  const out: Finding[] = [];
  const list = (vs: readonly RouteVerdict[]) => vs.map((v) => `${v.address} (${v.owner})`).join(", ");
  const viaDefault = verdicts.filter((v) => v.kind === "default-route");
  if (viaDefault.length) {
    const hop = viaDefault[0]!;
    out.push({
      rule: "ips/pool-unrouted",
      severity: "error",
      object: `pool ${m.network.loadBalancerPool.name}`,
      message: `this host has no route to the LoadBalancer pool ${pool}: ${list(viaDefault)} would leave by the default route (via ${hop.gateway} dev ${hop.dev}), where nothing answers for them`,
      fix,
    });
  }
  const none = verdicts.filter((v) => v.kind === "unreachable");
  if (none.length) {
    out.push({
      rule: "ips/pool-unrouted",
      severity: "error",
      object: `pool ${m.network.loadBalancerPool.name}`,
      message: `this host cannot route to ${list(none)} of the LoadBalancer pool ${pool} (${none[0]!.error})`,
      fix,
    });
  }
  return out;
}

export interface PoolRouteCheck {
  verdicts: RouteVerdict[];
  findings: Finding[];
}

/** Asks the host's kernel about every pinned address; `ip` missing is a warning, not a verdict. */
export async function checkPoolRoutes(m: Model, runner: Runner): Promise<PoolRouteCheck> {
  const defaults = await defaultRoutes(runner);
  if (!defaults.ok) {
    return {
      verdicts: [],
      findings: [
        {
          rule: "ips/route-unknown",
          severity: "warning",
          message: `cannot read this host's routes: ${defaults.error}`,
          fix: defaults.missing ? "install iproute2 (the `ip` command; Linux) to have bk ips check the route to the pool" : "run `ip -j route show default` to see why",
        },
      ],
    };
  }
  const verdicts: RouteVerdict[] = [];
  for (const e of m.endpoints) verdicts.push(routeVerdict(e.ip, e.title, await routeGet(runner, e.ip), defaults.routes));
  return { verdicts, findings: poolRouteFindings(m, verdicts) };
}
