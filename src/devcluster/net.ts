/** Loopback ports and HTTP(S) probes used while bringing processes up. */
import { createServer } from "node:net";
import http from "node:http";
import https from "node:https";

/**
 * A port that was free on 127.0.0.1 a moment ago. The kernel hands out ephemeral ports round-robin, so a
 * port just released is unlikely to be reused before the child binds it.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("devcluster: could not read the address of a probe socket"));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export interface ProbeTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** GET `url`; resolves with status and body, never rejects on HTTP errors (only on connection errors). */
export function httpGet(url: string, tls?: ProbeTls, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.get(u, { timeout: timeoutMs, ...(u.protocol === "https:" ? { ca: tls?.ca, cert: tls?.cert, key: tls?.key } : {}) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}
