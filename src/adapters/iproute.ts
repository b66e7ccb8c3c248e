/**
 * The host's routing decision for an address, from iproute2 (`ip -j route get`, `ip -j route show
 * default`): JSON in, parsed records out. Linux only; elsewhere `ip` is missing and the caller says so.
 */
import type { Runner } from "./runner.js";

/** One record of `ip -j route get ADDR` or `ip -j route show`. */
export interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
}

export type RouteLookup = { ok: true; routes: IpRoute[] } | { ok: false; error: string; missing: boolean };

async function ipJson(runner: Runner, args: string[]): Promise<RouteLookup> {
  const r = await runner.run("ip", ["-j", ...args], { timeoutMs: 10_000 });
  if (r.code !== 0) return { ok: false, error: (r.stderr || r.error || `ip exited ${r.code}`).trim(), missing: r.code === 127 };
  try {
    const parsed: unknown = JSON.parse(r.stdout || "[]");
    if (!Array.isArray(parsed)) return { ok: false, error: `ip -j ${args.join(" ")}: not a JSON list`, missing: false };
    return { ok: true, routes: parsed as IpRoute[] };
  } catch (err) {
    return { ok: false, error: `ip -j ${args.join(" ")}: ${(err as Error).message}`, missing: false };
  }
}

/** Where the kernel would send a packet for `address` (exit 2 with "Network is unreachable" when nowhere). */
export function routeGet(runner: Runner, address: string): Promise<RouteLookup> {
  return ipJson(runner, ["route", "get", address]);
}

/** The default routes of the main table. */
export function defaultRoutes(runner: Runner): Promise<RouteLookup> {
  return ipJson(runner, ["route", "show", "default"]);
}
