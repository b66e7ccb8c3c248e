/**
 * kubectl bound to one kubeconfig, plus the GitOps helpers the e2e tests (and later `bk dev`) need:
 * server-side apply / dry-run, waiting for readiness, and asking Flux to reconcile now.
 */
import { CommandError, run } from "./exec.js";
import { poll } from "./wait.js";
import { readiness, type ReadinessOptions } from "./readiness.js";

export interface WaitReadyOptions extends ReadinessOptions {
  /** Called before each poll; throw to abort the wait (e.g. a cluster process died). */
  abort?: () => void;
  intervalMs?: number;
}

export class Kubectl {
  constructor(
    readonly binary: string,
    readonly kubeconfig: string,
  ) {}

  /** Runs kubectl with the cluster's kubeconfig; rejects with CommandError (carrying stderr) on failure. */
  async run(args: readonly string[], input?: string, timeoutMs = 120_000): Promise<string> {
    const { stdout } = await run(this.binary, ["--kubeconfig", this.kubeconfig, ...args], { input, timeoutMs });
    return stdout;
  }

  /** `kubectl get -o json`, or undefined when the object does not exist. */
  async getJson<T = Record<string, unknown>>(kind: string, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      const out = await this.run(["get", kind, name, ...(namespace ? ["-n", namespace] : []), "-o", "json"]);
      return JSON.parse(out) as T;
    } catch (err) {
      if (err instanceof CommandError && /NotFound|not found/.test(err.stderr)) return undefined;
      throw err;
    }
  }

  /** Server-side apply of files/dirs (recursively) as field manager `beckerkube`. */
  async apply(files: readonly string[], opts: { dryRun?: boolean; namespace?: string } = {}): Promise<string> {
    if (files.length === 0) throw new Error("kubectl apply: no files given");
    const args = ["apply", "--server-side", "--force-conflicts", "--field-manager=beckerkube", "--recursive"];
    if (opts.dryRun) args.push("--dry-run=server");
    if (opts.namespace) args.push("-n", opts.namespace);
    for (const f of files) args.push("-f", f);
    return this.run(args);
  }

  /** Server-side apply of manifest text (one or more YAML/JSON documents). */
  async applyManifest(manifest: string, opts: { dryRun?: boolean } = {}): Promise<string> {
    const args = ["apply", "--server-side", "--force-conflicts", "--field-manager=beckerkube", "-f", "-"];
    if (opts.dryRun) args.push("--dry-run=server");
    return this.run(args, manifest);
  }

  /**
   * Sends files through the apiserver's full admission chain (schema, CRD validation, Pod Security,
   * webhooks) without persisting anything. Rejects with the apiserver's messages when any object is refused.
   */
  applyServerSideDryRun(files: readonly string[]): Promise<string> {
    return this.apply(files, { dryRun: true });
  }

  /**
   * Waits until the object is ready (see readiness.ts). Fails fast when Flux reports Stalled=True,
   * and on timeout says what was last seen.
   */
  async waitReady(kind: string, namespace: string | undefined, name: string, timeoutMs: number, opts: WaitReadyOptions = {}): Promise<Record<string, unknown>> {
    const where = `${kind} ${namespace ? `${namespace}/` : ""}${name}`;
    return poll(
      `${where} to become ready`,
      timeoutMs,
      async () => {
        const obj = await this.getJson(kind, namespace, name);
        if (!obj) return { done: false, detail: "not found" };
        const r = readiness(obj, opts);
        if (r.failed) throw new Error(`${where} cannot become ready: ${r.failed}`);
        return { done: r.ready, value: obj, detail: r.detail };
      },
      { intervalMs: opts.intervalMs ?? 1000, abort: opts.abort },
    );
  }

  /**
   * Asks a Flux object to reconcile now by setting reconcile.fluxcd.io/requestedAt; returns the token, which
   * `waitReady(..., { requestedAt })` uses to wait until that request was handled.
   */
  async reconcileNow(kind: string, namespace: string, name: string): Promise<string> {
    const token = new Date().toISOString();
    await this.run(["annotate", "--overwrite", kind, name, "-n", namespace, `reconcile.fluxcd.io/requestedAt=${token}`]);
    return token;
  }
}
