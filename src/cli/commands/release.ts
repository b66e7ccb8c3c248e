import { readFileSync } from "node:fs";
import { durationMs } from "../../core/duration.js";
import { BkError, EXIT } from "../../core/errors.js";
import { FindingsError } from "../../core/finding.js";
import { release, type Builder, type ReleaseReport } from "../../workflows/release.js";
import { printFindings, printJson } from "../output.js";
import { stepRunner } from "../progress.js";
import { errorJson, failWith } from "../report-error.js";

export interface ReleaseCliOptions {
  chart?: string;
  chartmuseumUrl?: string;
  build?: string;
  builder?: Builder;
  platform?: string;
  registry?: string;
  ca?: string;
  registryHttp?: boolean;
  remote?: string;
  push?: boolean;
  kubeconfig?: string;
  context?: string;
  wait?: boolean;
  timeout?: string;
  health?: boolean;
  healthUrl?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** `bk release <app> [component...] <version>` */
export async function releaseCommand(root: string, app: string, rest: string[], opts: ReleaseCliOptions): Promise<number> {
  const version = rest[rest.length - 1];
  if (!version) {
    return failWith("release", "give the version last, e.g. `bk release ffl backend 1.4.3`", EXIT.badInput, opts.json);
  }
  const components = rest.slice(0, -1);
  const timeoutMs = opts.timeout === undefined ? undefined : durationMs(opts.timeout);
  if (opts.timeout !== undefined && timeoutMs === undefined) {
    return failWith("release", `--timeout '${opts.timeout}' is not like 90s or 15m`, EXIT.badInput, opts.json);
  }
  let caPem: string | undefined;
  try {
    caPem = opts.ca ? readFileSync(opts.ca, "utf8") : undefined;
  } catch (err) {
    return failWith("release", `--ca ${opts.ca}: ${(err as Error).message}`, EXIT.badInput, opts.json);
  }
  let report: ReleaseReport;
  try {
    report = await release({
      root,
      app,
      components,
      version,
      ...(opts.chart !== undefined
        ? {
            chart: opts.chart,
            chartmuseum: {
              ...(opts.chartmuseumUrl ? { url: opts.chartmuseumUrl } : {}),
              ...(process.env.BK_CHARTMUSEUM_USER !== undefined ? { username: process.env.BK_CHARTMUSEUM_USER, password: process.env.BK_CHARTMUSEUM_PASSWORD ?? "" } : {}),
              ...(caPem ? { ca: caPem } : {}),
            },
          }
        : {}),
      ...(opts.build ? { build: { path: opts.build, builder: opts.builder ?? "docker", platforms: opts.platform ? opts.platform.split(",") : [] } } : {}),
      registry: { ...(opts.registry ? { host: opts.registry } : {}), ...(opts.ca ? { caFile: opts.ca } : {}), ...(opts.registryHttp ? { insecureHttp: true } : {}) },
      remote: opts.remote ?? "origin",
      push: opts.push !== false,
      ...(opts.kubeconfig || process.env.KUBECONFIG ? { kube: { ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) } } : {}),
      wait: opts.wait !== false,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      health: { ...(opts.healthUrl ? { baseUrl: opts.healthUrl } : {}), ...(opts.ca ? { caFile: opts.ca } : {}), skip: opts.health === false },
      dryRun: Boolean(opts.dryRun),
      runSteps: stepRunner({ live: !opts.json }),
    });
  } catch (err) {
    const r = (err as { report?: ReleaseReport }).report;
    if (opts.json && r) printJson(r);
    // Internal errors go on to main, which prints them (as JSON too).
    else if (opts.json && err instanceof BkError)
      printJson(err instanceof FindingsError ? errorJson(`${err.findings.length} problem(s); nothing was released`, EXIT.failed, err.findings) : errorJson(err.message, err.exitCode));
    if (err instanceof FindingsError) printFindings(err.findings);
    else process.stderr.write(`bk release: ${(err as Error).message}\n`);
    for (const k of r?.canaries ?? []) process.stderr.write(`bk release: canary ${k.canary}: ${k.outcome} after ${k.steps.length} step(s): ${k.reason}\n`);
    if (r?.rolledBack) process.stderr.write(`bk release: rolled back: ${r.rolledBack.detail}\n`);
    if (r?.failure?.events.length) process.stderr.write(`events:\n  ${r.failure.events.join("\n  ")}\n`);
    // Findings stop the release as a failed check (1), the definition's own problems included.
    if (err instanceof FindingsError) return EXIT.failed;
    if (err instanceof BkError) return err.exitCode;
    throw err;
  }
  if (opts.json) printJson(report);
  else if (report.dryRun) process.stdout.write(`${report.diff ?? ""}bk release: dry run: ${report.app} ${report.components.map((c) => c.name).join(", ")} -> ${report.version} passes every check; nothing was written\n`);
  else
    process.stdout.write(
      `bk release: ${report.app} ${report.components.map((c) => `${c.name} ${c.from} -> ${report.version}`).join(", ")}${report.chart ? `, chart ${report.chart.from} -> ${report.chart.to}` : ""}${report.commit ? ` (commit ${report.commit.slice(0, 12)})` : ""}\n${(report.canaries ?? []).map((k) => `bk release: canary ${k.canary}: ${k.outcome} after ${k.steps.length} step(s)\n`).join("")}`,
    );
  return EXIT.ok;
}
