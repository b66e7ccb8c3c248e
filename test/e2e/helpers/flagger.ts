/**
 * The real Flagger controller for the e2e tests, run on the host against the local control plane, and what
 * stands in for its peers there: KWOK runs no containers and no Envoy, so one local HTTP server is both
 * Prometheus (it answers /api/v1/query: 100 for Flagger's built-in success-rate query, 20 for its duration query,
 * 1 for `vector(1)`) and Flagger's loadtester (`/hooks/pass` answers 200, `/hooks/fail` 500, recording each payload).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, createWriteStream, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { hasTool, toolPath } from "../../../src/adapters/tools.js";
import { chartFolderCrds } from "../../../src/schema/crd-extract.js";
import { REPO_ROOT } from "../../helpers/definition.js";
import { freePort } from "../../helpers/net.js";

export const SHARED = process.env["BK_SHARED"] ?? path.join(REPO_ROOT, "..", "shared");

export interface Recorded {
  queries: string[];
  hooks: Array<{ path: string; body: { name?: string; namespace?: string; phase?: string } }>;
}

export interface StandIn {
  /** http://127.0.0.1:<port>: the Prometheus URL, and the base of the webhook URLs. */
  url: string;
  rec: Recorded;
  /** A webhook path whose answer follows `verdict`: "/hooks/pass" or "/hooks/fail" at the moment of the call. */
  route(path: string, verdict: () => string): void;
  close(): void;
}

export async function startStandIn(): Promise<StandIn> {
  const rec: Recorded = { queries: [], hooks: [] };
  const routes = new Map<string, () => string>();
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/api/v1/query") {
      const q = url.searchParams.get("query") ?? "";
      rec.queries.push(q);
      const value = /duration/.test(q) ? "20" : q.trim() === "vector(1)" ? "1" : "100";
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [Date.now() / 1000, value] }] } }));
      return;
    }
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      rec.hooks.push({ path: url.pathname, body: body ? JSON.parse(body) : {} });
      const verdict = routes.get(url.pathname)?.() ?? url.pathname;
      res.statusCode = verdict === "/hooks/pass" ? 200 : 500;
      res.end(res.statusCode === 200 ? "ok" : "smoke test failed");
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => srv.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${port}`, rec, route: (p, verdict) => routes.set(p, verdict), close: () => srv.close() };
}

/** Flagger's CRDs (from its chart's crds/, as the tree installs them) and Istio's, in `dir`; with `all`, every CRD of the mirror too. */
export function writeCrds(dir: string, all = false): void {
  if (all) cpSync(path.join(SHARED, "crds"), dir, { recursive: true });
  else cpSync(path.join(SHARED, "crds/istio"), path.join(dir, "istio"), { recursive: true });
  for (const [i, t] of chartFolderCrds(path.join(SHARED, "charts")).entries()) writeFileSync(path.join(dir, `flagger-${i}.yaml`), t.text);
}

/** Starts Flagger (tool set "flagger") with the istio provider, metrics from the stand-in; its log goes to `logFile`. */
export async function startFlagger(kubeconfig: string, metricsUrl: string, logFile: string): Promise<ChildProcess> {
  if (!hasTool("flagger", "flagger")) throw new Error("flagger is not built: run `bash scripts/tools.sh flagger` (tools/flagger pins github.com/fluxcd/flagger v1.44.0)");
  const log = createWriteStream(logFile);
  const child = spawn(
    toolPath("flagger", "flagger"),
    [
      `-kubeconfig=${kubeconfig}`,
      "-mesh-provider=istio",
      `-metrics-server=${metricsUrl}`,
      `-port=${await freePort()}`,
      "-control-loop-interval=2s",
      "-log-level=info",
      "-zap-encoding=console",
      "-enable-leader-election=false",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}
