import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { ChartMuseum, ChartMuseumError } from "../../adapters/chartmuseum.js";
import { loadDefinition } from "../../model/load.js";
import { helmBinary } from "../../adapters/tools.js";
import { ProcessRunner } from "../../adapters/runner.js";
import { EXIT } from "../../core/errors.js";
import { printJson } from "../output.js";
import { errorJson, failWith } from "../report-error.js";

export interface ChartPushOptions {
  chart?: string;
  url?: string;
  username?: string;
  force?: boolean;
  /** Upload only when ChartMuseum lacks the version, else succeed doing nothing: a refill after a rebuild. */
  ifMissing?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** `bk chart push`: package the application chart with helm and upload it to ChartMuseum. */
export async function chartPushCommand(root: string, opts: ChartPushOptions): Promise<number> {
  const chartDir = path.resolve(root, opts.chart ?? "charts/app");
  const meta = parse(readFileSync(path.join(chartDir, "Chart.yaml"), "utf8")) as { name: string; version: string };
  let url = opts.url;
  if (!url) {
    const { model } = loadDefinition(root);
    const ep = model.endpoints.find((e) => e.id === "chartmuseum")!;
    url = `http://${ep.ip}:${ep.ports[0]!.port}`;
  }
  const username = opts.username ?? process.env.BK_CHARTMUSEUM_USER;
  const password = process.env.BK_CHARTMUSEUM_PASSWORD;
  const result = { chart: meta.name, version: meta.version, url, pushed: false, dryRun: Boolean(opts.dryRun), forced: Boolean(opts.force) };
  const museum = new ChartMuseum({ url, ...(username !== undefined ? { username, password: password ?? "" } : {}) });
  const tmp = mkdtempSync(path.join(os.tmpdir(), "bk-chart-"));
  try {
    const runner = new ProcessRunner();
    const lint = await runner.run(helmBinary(), ["lint", chartDir, "--set", "app=x,component=y,image.repository=r,image.tag=1.0.0"]);
    if (lint.error || lint.code !== 0) {
      process.stderr.write(`bk chart push: helm lint failed for ${chartDir}:\n${lint.stdout}${lint.stderr}\n`);
      return lint.error ? EXIT.unavailable : EXIT.failed;
    }
    const pkg = await runner.run(helmBinary(), ["package", chartDir, "--destination", tmp]);
    if (pkg.code !== 0) {
      return failWith("chart push", `helm package failed: ${pkg.stderr}`, EXIT.failed, opts.json);
    }
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"))!;
    if (opts.ifMissing && !opts.force && (await museum.exists(meta.name, meta.version))) {
      if (opts.json) printJson({ ...result, exists: true });
      else process.stdout.write(`bk chart push: ${meta.name} ${meta.version} is already in ${url}; nothing to upload\n`);
      return EXIT.ok;
    }
    if (opts.dryRun) {
      const exists = await museum.exists(meta.name, meta.version);
      if (opts.json) printJson({ ...result, exists });
      else process.stdout.write(`bk chart push: would upload ${tgz} to ${url}${exists ? (opts.force ? " (replacing the existing version)" : " — refused: that version exists") : ""}\n`);
      return exists && !opts.force ? EXIT.failed : EXIT.ok;
    }
    await museum.upload(meta.name, meta.version, readFileSync(path.join(tmp, tgz)), opts.force);
    result.pushed = true;
    if (opts.json) printJson(result);
    else process.stdout.write(`bk chart push: uploaded ${meta.name} ${meta.version} to ${url}\n`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof ChartMuseumError) {
      if (opts.json) printJson({ ...result, ...errorJson(err.message, err.exitCode) });
      process.stderr.write(`bk chart push: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
