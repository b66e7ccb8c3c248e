/**
 * The two ends of notification-controller that live outside the cluster, for test/e2e/notifications.test.ts
 * and bench/reconcile.ts:
 *
 * - a webhook sink: a loopback HTTP server standing where Discord's (or any) webhook endpoint would be; it
 *   records every request so a test can wait for the one it expects;
 * - the Git host's side of a push webhook: a delivery signed the way GitHub signs it (HMAC-SHA256 of the body
 *   with the webhook secret, header X-Hub-Signature-256), sent to a Receiver's URL.
 */
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Delivery {
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface WebhookSink {
  /** http://127.0.0.1:<port> */
  url: string;
  deliveries: Delivery[];
  /** Resolves with the first delivery (already received or still to come) that `match` accepts. */
  waitFor(what: string, match: (d: Delivery) => boolean, timeoutMs: number): Promise<Delivery>;
  close(): Promise<void>;
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const deliveries: Delivery[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      deliveries.push({ at: Date.now(), method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, json });
      // Discord answers 204 to a message it accepted.
      res.writeHead(204).end();
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    waitFor(what, match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const d = deliveries.find(match);
          if (!d) return false;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(d);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = deliveries.map((d) => `  ${d.method} ${d.path} ${d.body.slice(0, 300)}`).join("\n");
          reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; ${deliveries.length} deliveries:\n${seen}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** GitHub's signature of a delivery: "sha256=" + hex HMAC-SHA256 of the raw body keyed with the webhook secret. */
export function githubSignature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** A push delivery as GitHub sends it (the fields a receiver may read), for branch `branch` at `sha`. */
export function githubPushBody(branch: string, sha: string): string {
  return JSON.stringify({ ref: `refs/heads/${branch}`, after: sha, repository: { full_name: "beckerkube/beckerkube" }, head_commit: { id: sha } });
}

/** Sends a signed GitHub push delivery to `url`; resolves with the status code and body of the answer. */
export async function postGithubPush(url: string, secret: string, body: string, signature = githubSignature(secret, body)): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": crypto.randomUUID(), "X-Hub-Signature-256": signature },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
}
