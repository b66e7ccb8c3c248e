import { readFileSync } from "node:fs";
import path from "node:path";
import { ChartMuseumError } from "../../adapters/chartmuseum.js";
import { EXIT } from "../../core/errors.js";
import { chartPush, ChartPushError, type AppSelection, type ChartPushReport } from "../../workflows/chart-push.js";
import { printJson } from "../output.js";
import { errorJson, failWith } from "../report-error.js";

export interface ChartPushOptions {
  chart?: string;
  url?: string;
  username?: string;
  ca?: string;
  apps?: string;
  commit?: boolean;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** `--apps a,b`, `--apps all` (the default) or `--apps none` (upload only). */
function selection(apps: string | undefined): AppSelection | string {
  const v = (apps ?? "all").trim();
  if (v === "all") return { all: true };
  if (v === "none") return { apps: [] };
  const list = v.split(",").map((a) => a.trim());
  if (list.some((a) => !a)) return `--apps '${apps}': give application names separated by commas, or all, or none`;
  return { apps: list };
}

/** `bk chart push`: upload the application chart and move the applications to its exact version in a commit. */
export async function chartPushCommand(root: string, opts: ChartPushOptions): Promise<number> {
  const which = selection(opts.apps);
  if (typeof which === "string") return failWith("chart push", which, EXIT.badInput, opts.json);
  let ca: string | undefined;
  if (opts.ca) {
    try {
      ca = readFileSync(path.resolve(opts.ca), "utf8");
    } catch (err) {
      return failWith("chart push", `--ca ${opts.ca}: ${(err as Error).message}`, EXIT.badInput, opts.json);
    }
  }
  const username = opts.username ?? process.env.BK_CHARTMUSEUM_USER;
  let report: ChartPushReport;
  try {
    report = await chartPush({
      root,
      ...(opts.chart ? { chartDir: opts.chart } : {}),
      ...(opts.url ? { url: opts.url } : {}),
      ...(username !== undefined ? { username, password: process.env.BK_CHARTMUSEUM_PASSWORD ?? "" } : {}),
      ...(ca ? { ca } : {}),
      which,
      force: Boolean(opts.force),
      dryRun: Boolean(opts.dryRun),
      commit: opts.commit !== false,
      progress: (line) => {
        if (!opts.json) process.stderr.write(`  ${line}\n`);
      },
    });
  } catch (err) {
    if (err instanceof ChartMuseumError || err instanceof ChartPushError) {
      const r = (err as { report?: ChartPushReport }).report;
      if (opts.json) printJson({ ...(r ?? {}), ...errorJson(err.message, err.exitCode) });
      else if (r?.diff) process.stdout.write(r.diff);
      process.stderr.write(`bk chart push: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (opts.json) printJson(report);
  else {
    if (report.dryRun) process.stdout.write(report.diff);
    const moved = report.pins.length ? report.pins.map((p) => `${p.app} ${p.from} -> ${p.to}`).join(", ") : "no application moved";
    const what = report.dryRun ? "dry run, nothing uploaded or written" : report.commit ? `commit ${report.commit.slice(0, 12)}` : "not committed";
    const upload = report.pushed ? ` uploaded to ${report.url}` : report.exists ? " already in ChartMuseum" : "";
    process.stdout.write(`bk chart push: ${report.chart} ${report.version}${upload}; ${moved} (${what})\n`);
  }
  return EXIT.ok;
}
