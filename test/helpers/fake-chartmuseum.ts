/**
 * FAKE ChartMuseum. The real one cannot be had on these machines: the Go module proxy answers
 * 403 for helm.sh/chartmuseum (and its old path), and neither Debian nor npm package it. This
 * fake implements only the part of ChartMuseum's HTTP API that `bk chart push` and Flux use,
 * as documented upstream: basic auth, GET /health, POST /api/charts[?force] (409 when the
 * version exists), GET /api/charts/<name>[/<version>], and the Helm repository itself
 * (GET /index.yaml, GET /charts/<file>.tgz). Chart metadata and index.yaml come from the REAL
 * helm binary (`helm show chart`, `helm repo index`), so what Flux reads is what helm wrote.
 * Given a certificate it serves HTTPS, as the real one does with TLS_CERT/TLS_KEY (node:https, a real TLS stack).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { toolPath } from "../../src/adapters/tools.js";
import { freePort } from "./net.js";

export interface FakeChartMuseum {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startFakeChartMuseum(opts: { username?: string; password?: string; host?: string; tls?: { cert: string; key: string } } = {}): Promise<FakeChartMuseum> {
  const helm = toolPath("helm");
  const dir = mkdtempSync(path.join(os.tmpdir(), "bk-fake-chartmuseum-"));
  const port = await freePort();
  const host = opts.host ?? "127.0.0.1";
  const url = `${opts.tls ? "https" : "http"}://${host}:${port}`;
  const index = () =>
    existsSync(path.join(dir, "index.yaml"))
      ? (parse(readFileSync(path.join(dir, "index.yaml"), "utf8")) as { entries?: Record<string, Array<{ name: string; version: string; digest: string; created: string }>> })
      : { entries: {} };
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? "/", url);
    if (u.pathname === "/health") return json(res, 200, { healthy: true });
    if (opts.username !== undefined) {
      const want = "Basic " + Buffer.from(`${opts.username}:${opts.password ?? ""}`).toString("base64");
      if (req.headers.authorization !== want) return json(res, 401, { error: "unauthorized" });
    }
    if (req.method === "POST" && u.pathname === "/api/charts") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const tmp = path.join(dir, `.upload-${Date.now()}.tgz`);
        writeFileSync(tmp, Buffer.concat(chunks));
        try {
          const meta = parse(execFileSync(helm, ["show", "chart", tmp], { encoding: "utf8" })) as { name: string; version: string };
          const file = path.join(dir, `${meta.name}-${meta.version}.tgz`);
          if (existsSync(file) && !u.searchParams.has("force")) {
            rmSync(tmp);
            return json(res, 409, { error: "file already exists" });
          }
          execFileSync("mv", [tmp, file]);
          execFileSync(helm, ["repo", "index", dir, "--url", `${url}/charts`]);
          return json(res, 201, { saved: true });
        } catch (err) {
          rmSync(tmp, { force: true });
          return json(res, 500, { error: String(err) });
        }
      });
      return;
    }
    const api = /^\/api\/charts\/([^/]+)(?:\/([^/]+))?$/.exec(u.pathname);
    if (req.method === "GET" && api) {
      const versions = index().entries?.[decodeURIComponent(api[1]!)] ?? [];
      if (api[2]) {
        const v = versions.find((x) => x.version === decodeURIComponent(api[2]!));
        return v ? json(res, 200, v) : json(res, 404, { error: "improper constraint" });
      }
      return versions.length ? json(res, 200, versions) : json(res, 404, { error: "chart not found" });
    }
    if (req.method === "GET" && u.pathname === "/index.yaml") {
      res.writeHead(200, { "content-type": "application/x-yaml" });
      return res.end(existsSync(path.join(dir, "index.yaml")) ? readFileSync(path.join(dir, "index.yaml")) : "apiVersion: v1\nentries: {}\n");
    }
    const chart = /^\/charts\/([^/]+\.tgz)$/.exec(u.pathname);
    if (req.method === "GET" && chart && existsSync(path.join(dir, chart[1]!))) {
      res.writeHead(200, { "content-type": "application/gzip" });
      return res.end(readFileSync(path.join(dir, chart[1]!)));
    }
    json(res, 404, { error: "not found" });
  };
  const server = opts.tls ? https.createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    url,
    dir,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        rmSync(dir, { recursive: true, force: true });
      }),
  };
}
