import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { EXIT } from "../../core/errors.js";
import { isLoopback, startUiServer } from "../../ui/server.js";
import { failWith } from "../report-error.js";

export interface UiCliOptions {
  port?: string;
  listen?: string;
  token?: string;
  kubeconfig?: string;
  context?: string;
  ca?: string;
  healthUrl?: string;
  readOnly?: boolean;
}

export const DEFAULT_UI_PORT = 8420;

/** `bk ui`: serve the page until Ctrl-C (or SIGTERM), then stop the watch and the server and exit 0. */
export async function uiCommand(root: string, opts: UiCliOptions): Promise<number> {
  const port = opts.port === undefined ? DEFAULT_UI_PORT : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return failWith("ui", `--port '${opts.port}' is not a port number (0-65535; 0 picks a free one)`, EXIT.badInput);
  const host = opts.listen ?? "127.0.0.1";
  if (host !== "localhost" && !isIP(host)) return failWith("ui", `--listen '${host}' is not an IP address, e.g. 127.0.0.1 or 192.168.7.5 (0.0.0.0 for every interface)`, EXIT.badInput);
  // A missing cluster is a state the page shows; a kubeconfig named but absent is a mistyped flag.
  if (opts.kubeconfig && !existsSync(opts.kubeconfig)) return failWith("ui", `--kubeconfig ${opts.kubeconfig}: no such file`, EXIT.badInput);
  let ca: string | undefined;
  try {
    ca = opts.ca ? readFileSync(opts.ca, "utf8") : undefined;
  } catch (err) {
    return failWith("ui", `--ca ${opts.ca}: ${(err as Error).message}`, EXIT.badInput);
  }
  // Off loopback anyone on the network could act on Flux: a token is then required, made up here unless given.
  const given = opts.token ?? process.env.BK_UI_TOKEN;
  if (given !== undefined && given.length < 16) return failWith("ui", "the token must be at least 16 characters (or leave it out and bk ui makes one)", EXIT.badInput);
  const token = given ?? (isLoopback(host) ? undefined : randomBytes(24).toString("base64url"));
  const server = await startUiServer({
    root,
    kube: { ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) },
    host,
    port,
    ...(token ? { token } : {}),
    readOnly: Boolean(opts.readOnly),
    ...(ca ? { ca } : {}),
    ...(opts.healthUrl ? { healthBaseUrl: opts.healthUrl } : {}),
    log: (line) => process.stderr.write(`bk ui: ${line}\n`),
  });
  const c = server.connection;
  process.stderr.write(
    `bk ui: serving ${server.url}${token ? " (token required: open the URL above)" : ""}; ${c.connected ? `connected to ${c.server} (context ${c.context})` : `not connected: ${c.reason}`}${opts.readOnly ? "; read-only" : ""}. Ctrl-C stops.\n`,
  );
  // Last, so a script that reads the first line of stdout knows the server is up and has said how.
  process.stdout.write(`${server.openUrl}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  process.stderr.write("bk ui: stopping\n");
  await server.close();
  return EXIT.ok;
}
