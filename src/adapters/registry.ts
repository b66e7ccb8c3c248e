/**
 * The private registry through the Registry v2 API, trusting the cluster CA: does the exact tag
 * exist (incident 2: an image built but never pushed, a tag typo'd 0.12.0 for 0.1.12)?
 */
import { readFileSync } from "node:fs";
import https from "node:https";
import http from "node:http";
import { BkError, EXIT, type ExitCode } from "../core/errors.js";

export interface RegistryOptions {
  /** host:port, as image references carry it. */
  host: string;
  /** PEM of the CA that signed the registry's certificate. */
  caFile?: string;
  /** Plain HTTP (only for a registry on loopback in tests). */
  insecureHttp?: boolean;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

/** Unreachable, untrusted or asking for credentials: the registry cannot be used (exit 3); any other HTTP answer is a failure (exit 1). */
export class RegistryError extends BkError {
  readonly exitCode: ExitCode;
  constructor(
    message: string,
    readonly kind: "unreachable" | "tls" | "auth" | "http",
  ) {
    super(message);
    this.exitCode = kind === "http" ? EXIT.failed : EXIT.unavailable;
    this.name = "RegistryError";
  }
}

function get(opts: RegistryOptions, path: string): Promise<{ status: number; body: string }> {
  const [hostname, port] = opts.host.split(":");
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.username !== undefined) headers.authorization = "Basic " + Buffer.from(`${opts.username}:${opts.password ?? ""}`).toString("base64");
  const mod = opts.insecureHttp ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        hostname,
        port: port ? Number(port) : opts.insecureHttp ? 80 : 443,
        path,
        method: "GET",
        headers,
        timeout: opts.timeoutMs ?? 15_000,
        ...(opts.insecureHttp ? {} : { ca: opts.caFile ? readFileSync(opts.caFile) : undefined, servername: /^\d+\.\d+\.\d+\.\d+$/.test(hostname!) ? undefined : hostname }),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 15_000} ms`)));
    req.on("error", (err: NodeJS.ErrnoException) => {
      const tls = /certificate|self.signed|unable to verify|ERR_TLS|altname/i.test(`${err.code} ${err.message}`);
      reject(
        new RegistryError(
          tls
            ? `TLS to the registry ${opts.host} failed: ${err.message}. Trust the cluster CA (\`bk trust\`, or pass --ca) and check the registry certificate's SANs (\`bk certs\`)`
            : `cannot reach the registry ${opts.host}: ${err.message}`,
          tls ? "tls" : "unreachable",
        ),
      );
    });
    req.end();
  });
}

/** Every tag of a repository (path without host, e.g. ffl/backend); [] when the repository does not exist. */
export async function listTags(opts: RegistryOptions, repository: string): Promise<string[]> {
  const res = await get(opts, `/v2/${repository}/tags/list`);
  if (res.status === 404) return [];
  if (res.status === 401) throw new RegistryError(`the registry ${opts.host} asks for credentials`, "auth");
  if (res.status !== 200) throw new RegistryError(`GET /v2/${repository}/tags/list on ${opts.host}: HTTP ${res.status}`, "http");
  const tags = (JSON.parse(res.body) as { tags?: string[] | null }).tags ?? [];
  return [...tags].sort(compareVersions);
}

/** Numeric-aware ordering so 0.1.12 sorts after 0.1.9. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/**
 * Tags an operator probably meant: the same characters in another order, or the same digits but
 * for two edits once the dots are dropped (0.12.0 typed for 0.1.12, incident 2).
 */
export function likelyMeant(wanted: string, tags: readonly string[]): string[] {
  const sorted = (s: string) => [...s].sort().join("");
  const digits = (s: string) => s.replace(/\./g, "");
  return tags.filter((t) => t !== wanted && (sorted(t) === sorted(wanted) || editDistance(digits(t), digits(wanted)) <= 2));
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

export interface TagCheck {
  image: string;
  exists: boolean;
  tags: string[];
  suggestions: string[];
}

export async function checkTag(opts: RegistryOptions, repository: string, tag: string): Promise<TagCheck> {
  const tags = await listTags(opts, repository);
  return { image: `${opts.host}/${repository}:${tag}`, exists: tags.includes(tag), tags, suggestions: likelyMeant(tag, tags) };
}

export function describeMissing(c: TagCheck): string {
  if (c.tags.length === 0) return `${c.image} does not exist: the registry has no tags for this repository at all (was the image built but never pushed?)`;
  const recent = c.tags.slice(-8).join(", ");
  return `${c.image} does not exist in the registry; existing tags: ${recent}${c.suggestions.length ? `. Did you mean ${c.suggestions.join(" or ")}?` : ""}`;
}
