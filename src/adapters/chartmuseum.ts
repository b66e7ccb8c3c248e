/**
 * ChartMuseum over its HTTP API: list, check, upload. Basic auth; an existing version is never
 * replaced unless the caller forces it (a chart version is a promise to every release that pins it).
 */
import { BkError, EXIT, type ExitCode } from "../core/errors.js";

export interface ChartMuseumOptions {
  url: string;
  username?: string;
  password?: string;
  /** Abort a request after this long. */
  timeoutMs?: number;
}

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

  private async request(method: string, path: string, body?: Uint8Array): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.opts.username !== undefined) headers.authorization = "Basic " + Buffer.from(`${this.opts.username}:${this.opts.password ?? ""}`).toString("base64");
    if (body) headers["content-type"] = "application/gzip";
    try {
      return await fetch(this.base + path, { method, headers, ...(body ? { body } : {}), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (err) {
      throw new ChartMuseumError(`cannot reach ChartMuseum at ${this.base}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
  }

  private async fail(res: Response, what: string): Promise<never> {
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
