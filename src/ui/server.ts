/**
 * The web server of `bk ui` (Hono on Node's http server): the page, its two static files, the snapshot as
 * JSON, a Server-Sent Events stream fed by a watch on the Flux objects, and the reconcile, suspend and resume
 * actions. Bound to loopback unless told otherwise; anywhere else every request needs the token.
 */
import { timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createAdaptorServer } from "@hono/node-server";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { streamSSE } from "hono/streaming";
import { BkError, EXIT, UnavailableError } from "../core/errors.js";
import type { KubeOptions } from "../adapters/kube.js";
import { fluxAction, type FluxAction } from "../workflows/flux-actions.js";
import type { StepRunner } from "../workflows/steps.js";
import { connectCluster, type UiConnection } from "../workflows/ui-snapshot.js";
import { UiLive } from "./live.js";
import { renderPage } from "./page.js";

export interface UiServerOptions {
  root: string;
  kube: KubeOptions;
  host: string;
  port: number;
  /** Required on every request when set. */
  token?: string;
  readOnly: boolean;
  ca?: string;
  healthBaseUrl?: string;
  /** How often the parts no watch covers (certificates, backups, health URLs) are read again. */
  refreshMs?: number;
  log?: (line: string) => void;
}

export interface UiServer {
  url: string;
  /** The URL to open: with the token, when one is required. */
  openUrl: string;
  connection: UiConnection;
  close(): Promise<void>;
}

const COOKIE = "bk_ui_token";
const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const STATIC_FILES: Record<string, string> = { "ui.js": "text/javascript; charset=utf-8", "ui.css": "text/css; charset=utf-8" };

export const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);

/** The page's script and styles, served as they are in src/ui/static (from src/ or from the built dist/ alike). */
function staticDir(): string {
  for (const rel of ["./static/", "../../src/ui/static/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}ui.js`)) return dir;
  }
  throw new UnavailableError("bk ui: its static files (src/ui/static) are missing from this installation");
}

const sameToken = (a: string | undefined, b: string) => {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The steps of an action run quietly: the page shows the report, not progress lines. */
const quietSteps: StepRunner = async (steps, ctx, outcomes) => {
  for (const s of steps) {
    const skip = s.skip?.(ctx);
    if (skip) {
      outcomes.push({ title: s.title, status: "skipped", ms: 0, detail: skip });
      continue;
    }
    const t0 = Date.now();
    try {
      await s.run(ctx, () => {});
    } catch (err) {
      outcomes.push({ title: s.title, status: "failed", ms: Date.now() - t0, detail: (err as Error).message });
      throw err;
    }
    outcomes.push({ title: s.title, status: "done", ms: Date.now() - t0 });
  }
  return outcomes;
};

const HTTP_FOR_EXIT: Record<number, 400 | 409 | 503 | 500> = { [EXIT.badInput]: 400, [EXIT.failed]: 409, [EXIT.unavailable]: 503, [EXIT.internal]: 500 };

/** Headers for every answer, the loopback host check (DNS rebinding) and the token. */
function guard(o: UiServerOptions): MiddlewareHandler {
  return async (c, next) => {
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    // On loopback a page elsewhere could still reach us through a name that resolves to 127.0.0.1 (DNS rebinding).
    const host = (c.req.header("host") ?? "").replace(/:\d+$/, "");
    if (isLoopback(o.host) && !LOOPBACK_NAMES.has(host)) return c.text("bk ui: this server answers only on its loopback address\n", 403);
    if (o.token) {
      const given = c.req.query("token") ?? c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? getCookie(c, COOKIE);
      if (!sameToken(given, o.token)) return c.text("bk ui: a token is required: open the URL `bk ui` printed (it ends in ?token=...)\n", 401);
      if (c.req.query("token") && c.req.method === "GET") {
        setCookie(c, COOKIE, o.token, { httpOnly: true, sameSite: "Strict", path: "/" });
        // The token leaves the address bar and history: the cookie carries it from here on.
        const u = new URL(c.req.url);
        u.searchParams.delete("token");
        return c.redirect(u.pathname + u.search, 303);
      }
    }
    await next();
  };
}

/** POST /api/actions/:action {"name": "ffl/backend"}: what `bk reconcile|suspend|resume <name>` does, without waiting. */
function actionRoute(o: UiServerOptions, live: UiLive) {
  return async (c: Context) => {
    const action = c.req.param("action") as FluxAction;
    if (!["reconcile", "suspend", "resume"].includes(action)) return c.json({ ok: false, error: `no action ${action}: reconcile, suspend or resume` }, 404);
    if (o.readOnly) return c.json({ ok: false, error: "bk ui runs with --read-only" }, 403);
    // A form elsewhere cannot send JSON without a preflight this server never grants; a script elsewhere names its origin.
    if (!(c.req.header("content-type") ?? "").startsWith("application/json")) return c.json({ ok: false, error: "send the request as application/json" }, 415);
    const from = c.req.header("origin");
    if (from && from !== `http://${c.req.header("host")}`) return c.json({ ok: false, error: `requests from ${from} are refused` }, 403);
    const body = (await c.req.json().catch(() => ({}))) as { name?: unknown };
    if (typeof body.name !== "string" || !body.name) return c.json({ ok: false, error: 'name what to act on: {"name": "ffl/backend"}' }, 400);
    live.broadcast("activity", { text: `${action} ${body.name}: requested` });
    try {
      const report = await fluxAction({ root: o.root, action, names: [body.name], wait: false, dryRun: false, kube: o.kube, runSteps: quietSteps });
      const done = report.objects.map((x) => `${x.kind} ${x.namespace}/${x.name}`).join(", ");
      live.broadcast("activity", { text: `${action} ${body.name}: done (${done})` });
      o.log?.(`${action} ${body.name}: ${done}`);
      return c.json(report);
    } catch (err) {
      const code = err instanceof BkError ? err.exitCode : EXIT.internal;
      live.broadcast("activity", { text: `${action} ${body.name} failed: ${(err as Error).message}` });
      return c.json({ ok: false, error: (err as Error).message, exitCode: code }, HTTP_FOR_EXIT[code] ?? 500);
    }
  };
}

function buildApp(o: UiServerOptions, live: UiLive): Hono {
  const dir = staticDir();
  const app = new Hono();
  app.use("*", guard(o));
  app.get("/", (c) => c.html(renderPage(live.snapshot, { actions: !o.readOnly, pending: live.pending })));
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/static/:file", (c) => {
    const f = c.req.param("file");
    const type = STATIC_FILES[f];
    if (!type) return c.notFound();
    return c.body(readFileSync(`${dir}${f}`, "utf8"), 200, { "Content-Type": type });
  });
  app.get("/api/snapshot", async (c) => {
    if (live.pending || c.req.query("fresh") !== undefined) await live.refresh();
    return c.json(live.snapshot);
  });
  app.get("/api/events", (c) =>
    streamSSE(c, async (stream) => {
      live.listen(stream);
      await stream.writeSSE({ event: "hello", data: JSON.stringify({ connected: live.snapshot.connection.connected, pending: live.pending }) });
      while (!stream.aborted && !stream.closed) {
        await stream.sleep(20_000);
        if (!stream.aborted) await stream.write(": keep-alive\n\n");
      }
    }),
  );
  app.post("/api/actions/:action", actionRoute(o, live));
  return app;
}

/** Listen, turning the usual refusals into exit 3 with what to do. */
function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const known = err.code === "EADDRINUSE" || err.code === "EADDRNOTAVAIL" || err.code === "EACCES";
      reject(known ? new UnavailableError(`cannot listen on ${host}:${port}: ${err.code === "EADDRINUSE" ? "the port is in use (pass --port)" : err.message}`) : err);
    });
    server.listen(port, host, () => resolve());
  });
}

export async function startUiServer(o: UiServerOptions): Promise<UiServer> {
  const log = o.log ?? (() => {});
  const { kube, connection } = await connectCluster(o.kube);
  const live = new UiLive({
    root: o.root,
    ...(kube ? { kube } : {}),
    connection,
    ...(o.ca ? { ca: o.ca } : {}),
    ...(o.healthBaseUrl ? { healthBaseUrl: o.healthBaseUrl } : {}),
    ...(o.refreshMs ? { refreshMs: o.refreshMs } : {}),
    log,
  });
  const server = createAdaptorServer({ fetch: buildApp(o, live).fetch, hostname: o.host, port: o.port }) as Server;
  await listen(server, o.host, o.port);
  live.start();
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}/`;
  return {
    url,
    openUrl: o.token ? `${url}?token=${encodeURIComponent(o.token)}` : url,
    connection,
    close: async () => {
      live.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
