/**
 * ChartMuseum over its HTTP API: list, check, upload. HTTPS verified against the cluster CA, basic auth;
 * an existing version is never replaced unless the caller forces it (a chart version is a promise to every
 * release that pins it).
 */
import http from "node:http";
import https from "node:https";
import { BkError, EXIT, type ExitCode } from "../core/errors.js";

export interface ChartMuseumOptions {
  url: string;
  username?: string;
  password?: string;
  /** PEM of the CA that signed ChartMuseum's certificate (the cluster CA); default: the system's trust store. */
  ca?: string;
  /** Abort a request after this long. */
  timeoutMs?: number;
}

interface Answer {
  status: number;
  ok: boolean;
  body(): Promise<Uint8Array>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

const TLS_ERROR = /certificate|self.signed|unable to verify|ERR_TLS|altname|CERT_/i;

export interface ChartVersion {
  name: string;
  version: string;
  digest?: string;
  created?: string;
}

/** No HTTP status means ChartMuseum was never reached (exit 3); an answer refusing the request is a failure (exit 1). */
export class ChartMuseumError extends BkError {
  readonly exitCode: ExitCode;
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.exitCode = status === undefined ? EXIT.unavailable : EXIT.failed;
    this.name = "ChartMuseumError";
  }
}

export class ChartMuseum {
  private readonly base: string;
  constructor(private readonly opts: ChartMuseumOptions) {
    this.base = opts.url.replace(/\/+$/, "");
  }

  private request(method: string, path: string, body?: Uint8Array): Promise<Answer> {
    const headers: Record<string, string | number> = {};
    if (this.opts.username !== undefined) headers.authorization = "Basic " + Buffer.from(`${this.opts.username}:${this.opts.password ?? ""}`).toString("base64");
    if (body) Object.assign(headers, { "content-type": "application/gzip", "content-length": body.byteLength });
    const url = new URL(this.base + path);
    const secure = url.protocol === "https:";
    const timeout = this.opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(url, { method, headers, timeout, ...(secure && this.opts.ca ? { ca: this.opts.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          const text = bytes.toString("utf8");
          const status = res.statusCode ?? 0;
          resolve({ status, ok: status >= 200 && status < 300, body: async () => bytes, text: async () => text, json: async () => JSON.parse(text) as unknown });
        });
      });
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeout} ms`)));
      req.on("error", (err: NodeJS.ErrnoException) => {
        const tls = secure && TLS_ERROR.test(`${err.code ?? ""} ${err.message}`);
        reject(
          new ChartMuseumError(
            tls
              ? `TLS to ChartMuseum at ${this.base} failed: ${err.message}. Pass the cluster CA (--ca, \`bk trust --print\` shows where it comes from) and check ChartMuseum's certificate (\`bk certs --only chartmuseum\`)`
              : `cannot reach ChartMuseum at ${this.base}: ${err.message}`,
          ),
        );
      });
      req.end(body);
    });
  }

  private async fail(res: Answer, what: string): Promise<never> {
    const text = await res.text().catch(() => "");
    const hint = res.status === 401 ? " (wrong or missing credentials: set BK_CHARTMUSEUM_USER and BK_CHARTMUSEUM_PASSWORD)" : "";
    throw new ChartMuseumError(`${what}: HTTP ${res.status}${hint}${text ? `: ${text.trim()}` : ""}`, res.status);
  }

  async versions(name: string): Promise<ChartVersion[]> {
    const res = await this.request("GET", `/api/charts/${encodeURIComponent(name)}`);
    if (res.status === 404) return [];
    if (!res.ok) return this.fail(res, `listing ${name}`);
    return (await res.json()) as ChartVersion[];
  }

  async exists(name: string, version: string): Promise<boolean> {
    const res = await this.request("GET", `/api/charts/${encodeURIComponent(name)}/${encodeURIComponent(version)}`);
    if (res.status === 404) return false;
    if (!res.ok) return this.fail(res, `checking ${name} ${version}`);
    return true;
  }

  /** The packaged chart as ChartMuseum serves it to Helm (`/charts/<name>-<version>.tgz`). */
  async download(name: string, version: string): Promise<Uint8Array> {
    const res = await this.request("GET", `/charts/${encodeURIComponent(`${name}-${version}.tgz`)}`);
    if (!res.ok) return this.fail(res, `downloading ${name} ${version}`);
    return res.body();
  }

  /** Upload a packaged chart. Refuses an existing version unless `force`. */
  async upload(name: string, version: string, tgz: Uint8Array, force = false): Promise<void> {
    if (!force && (await this.exists(name, version))) {
      throw new ChartMuseumError(`${name} ${version} is already in ChartMuseum; bump the chart version in Chart.yaml (or pass --force to replace it)`, 409);
    }
    const res = await this.request("POST", `/api/charts${force ? "?force" : ""}`, tgz);
    if (res.status === 409) throw new ChartMuseumError(`${name} ${version} is already in ChartMuseum; bump the chart version in Chart.yaml (or pass --force to replace it)`, 409);
    if (!res.ok) return this.fail(res, `uploading ${name} ${version}`);
  }
}
