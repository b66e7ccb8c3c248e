/**
 * `bk chart push`: package the application chart at its Chart.yaml version, upload it to ChartMuseum, and
 * move the applications to that exact version with a minimal edit of the definition, a regenerated tree and
 * a commit. Every check runs before the upload, so a chart that would break the tree is neither uploaded nor
 * pinned; the commit is left for the operator to review and push (a chart upgrade is never a side effect).
 */
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { ChartMuseum } from "../adapters/chartmuseum.js";
import { sameTarGzContent } from "../adapters/targz.js";
import { Git } from "../adapters/git.js";
import { ProcessRunner, type Runner } from "../adapters/runner.js";
import { helmBinary } from "../adapters/tools.js";
import { BkError, EXIT, type ExitCode } from "../core/errors.js";
import { FindingsError, type Finding } from "../core/finding.js";
import type { Loaded } from "../model/load.js";
import { endpointById } from "../model/model.js";
import { generate, type Generated } from "../pipeline.js";
import { diffTrees, isClean } from "../tree/diff.js";
import { readTree, writeTreeAtomically } from "../tree/files.js";
import { GENERATED_FILES, OWNED_DIRS } from "../tree/tree.js";
import { setVersion } from "./bump.js";
import { checkGenerated } from "./validate.js";

export class ChartPushError extends BkError {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = "ChartPushError";
  }
}

/** One application moved to another chart version, and where that is written. */
export interface ChartPin {
  app: string;
  from: string;
  to: string;
  /** The file edited: the app's own `chartVersion`, or the platform's `chartmuseum.appChart.version`. */
  file: string;
}

/** Which applications a chart version moves: every one, the named ones, or none (upload only). */
export type AppSelection = { all: true } | { apps: string[] };

export interface ChartPinEdits {
  /** Definition files (relative to the root) -> their new text. */
  files: Map<string, string>;
  pins: ChartPin[];
}

const INFRA_VERSION_PATH = ["chartmuseum", "appChart", "version"];
const APP_VERSION_KEY = "chartVersion";

/**
 * The definition edits that put the selected applications on chart `version`. All: the platform's version,
 * and the own `chartVersion` of any app that pins a different one (all means all). Named apps: each one's own
 * `chartVersion`, added above its `components:` when it has none. Apps already on `version` are left alone.
 */
export function chartPinEdits(root: string, loaded: Loaded, version: string, which: AppSelection, base: ReadonlyMap<string, string> = new Map()): ChartPinEdits {
  const { model, sources } = loaded;
  const files = new Map(base);
  const text = (file: string) => files.get(file) ?? readFileSync(path.join(root, file), "utf8");
  const pins: ChartPin[] = [];
  const known = model.apps.map((a) => a.name);
  if ("apps" in which) {
    const unknown = which.apps.filter((a) => !known.includes(a));
    if (unknown.length) throw new ChartPushError(`no application ${unknown.map((a) => `'${a}'`).join(", ")} in the definition (known: ${known.join(", ")})`, EXIT.badInput);
  }
  if ("all" in which && model.chartmuseum.appChart.version !== version) {
    const file = sources.infra.file;
    files.set(file, setVersion(text(file), INFRA_VERSION_PATH, version, file).text);
  }
  for (const app of model.apps) {
    const selected = "all" in which || which.apps.includes(app.name);
    if (!selected || app.chartVersion === version) continue;
    const ownPin = app.chartVersionFrom === "app" || "apps" in which;
    if (ownPin) files.set(app.file, setVersion(text(app.file), [APP_VERSION_KEY], version, app.file, "components").text);
    pins.push({ app: app.name, from: app.chartVersion, to: version, file: ownPin ? app.file : sources.infra.file });
  }
  return { files, pins };
}

export interface ChartPushRequest {
  root: string;
  /** The chart folder, default charts/app. */
  chartDir?: string;
  /** ChartMuseum's URL; default: https at its LoadBalancer IP and port from the definition. */
  url?: string;
  username?: string;
  password?: string;
  /** PEM of the cluster CA, to verify ChartMuseum's certificate. */
  ca?: string;
  which: AppSelection;
  force: boolean;
  dryRun: boolean;
  /** Commit the definition edit and the regenerated tree (default); false leaves them in the working tree. */
  commit: boolean;
  runner?: Runner;
  progress?: (line: string) => void;
}

export interface ChartPushReport {
  chart: string;
  version: string;
  url: string;
  dryRun: boolean;
  forced: boolean;
  /** Whether the version was already in ChartMuseum (then with the same content, or replaced with --force). */
  exists?: boolean;
  pushed: boolean;
  pins: ChartPin[];
  /** Definition and tree, as a unified diff. */
  diff: string;
  commit?: string;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.bk-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** Chart.yaml's name and exact version. */
function readChart(chartDir: string): { name: string; version: string } {
  const file = path.join(chartDir, "Chart.yaml");
  let meta: { name?: string; version?: string };
  try {
    meta = parse(readFileSync(file, "utf8")) as typeof meta;
  } catch (err) {
    throw new ChartPushError(`cannot read ${file}: ${(err as Error).message}`, EXIT.badInput);
  }
  const version = String(meta.version ?? "");
  if (!EXACT_VERSION.test(version)) throw new ChartPushError(`${file}: version '${version}' is not an exact chart version such as 0.2.0`, EXIT.badInput);
  return { name: String(meta.name ?? ""), version };
}

interface Pin {
  edits: ChartPinEdits;
  next: Generated;
  /** Nothing in the definition or the tree changes. */
  clean: boolean;
}

/** The definition edit and the tree it gives, checked before anything leaves this host. */
async function planPin(req: ChartPushRequest, current: Generated, version: string, report: ChartPushReport, say: (line: string) => void): Promise<Pin> {
  const edits = chartPinEdits(req.root, current, version, req.which);
  report.pins = edits.pins;
  if (edits.files.size && !req.dryRun && req.commit) {
    const touched = [...edits.files.keys(), ...OWNED_DIRS, ...GENERATED_FILES];
    const dirty = (await new Git(req.root).dirty()).filter((f) => touched.some((t) => f === t || f.startsWith(`${t}/`)));
    if (dirty.length) throw new ChartPushError(`uncommitted changes where the chart push writes: ${dirty.join(", ")}. Commit or stash them first, so the commit holds only the chart bump`, EXIT.badInput);
  }
  const next = edits.files.size ? generate(req.root, edits.files) : current;
  const before = new Map([...edits.files.keys()].map((f) => [f, readFileSync(path.join(req.root, f), "utf8")]));
  const defDiff = diffTrees(before, edits.files);
  const treeDiff = diffTrees(readTree(req.root, OWNED_DIRS, GENERATED_FILES), next.tree.files);
  report.diff = defDiff.patch + treeDiff.patch;
  say(
    edits.pins.length
      ? `${edits.pins.map((p) => `${p.app} ${p.from} -> ${p.to}`).join(", ")}; ${treeDiff.changed.length + treeDiff.added.length + treeDiff.removed.length} tree file(s) change`
      : `no application moves (${"all" in req.which ? "every one is" : "the named ones are"} on ${version} already, or none was named)`,
  );
  if (edits.files.size) {
    const result = await checkGenerated(next, { kustomize: true, render: { root: req.root } });
    const errors = result.findings.filter((f: Finding) => f.severity === "error");
    if (errors.length) throw new FindingsError(errors, EXIT.failed);
    say(`${result.objects} objects; checks ${result.checks.join(", ")}: no errors`);
  }
  return { edits, next, clean: !edits.files.size || (isClean(defDiff) && isClean(treeDiff)) };
}

/** Lint and package with helm, and upload: never over an existing version unless forced, and not at all when ChartMuseum holds this very chart. */
async function packageAndUpload(req: ChartPushRequest, chartDir: string, chart: { name: string; version: string }, report: ChartPushReport, say: (line: string) => void): Promise<void> {
  const { name, version } = chart;
  const museum = new ChartMuseum({ url: report.url, ...(req.username !== undefined ? { username: req.username, password: req.password ?? "" } : {}), ...(req.ca ? { ca: req.ca } : {}) });
  const runner = req.runner ?? new ProcessRunner();
  const tmp = mkdtempSync(path.join(os.tmpdir(), "bk-chart-"));
  try {
    const lint = await runner.run(helmBinary(), ["lint", chartDir, "--set", "app=x,component=y,image.repository=r,image.tag=1.0.0"]);
    if (lint.error) throw new ChartPushError(`cannot run helm: ${lint.error}`, EXIT.unavailable);
    if (lint.code !== 0) throw new ChartPushError(`helm lint failed for ${chartDir}:\n${lint.stdout}${lint.stderr}`, EXIT.failed);
    const pkg = await runner.run(helmBinary(), ["package", chartDir, "--destination", tmp]);
    if (pkg.code !== 0) throw new ChartPushError(`helm package failed: ${pkg.stderr}`, EXIT.failed);
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"))!;
    const bytes = readFileSync(path.join(tmp, tgz));
    const exists = await museum.exists(name, version);
    // There already (uploaded for a first app, or before a rebuild): pinned without uploading when it holds exactly this chart.
    const same = exists && !req.force && sameTarGzContent(await museum.download(name, version), bytes);
    report.exists = exists;
    if (exists && !req.force && !same) {
      throw Object.assign(new ChartPushError(`${name} ${version} is already in ChartMuseum with different content; bump the chart version in Chart.yaml (or pass --force to replace it)`, EXIT.failed), { report });
    }
    if (same) say(`${name} ${version} is in ChartMuseum already, with this content: ${req.dryRun ? "nothing to upload" : "not uploaded again"}`);
    else if (req.dryRun) say(`would upload ${tgz} to ${report.url}${exists ? " (replacing the existing version)" : ""}`);
    else {
      await museum.upload(name, version, bytes, req.force);
      report.pushed = true;
      say(`uploaded ${name} ${version} to ${report.url}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function chartPush(req: ChartPushRequest): Promise<ChartPushReport> {
  const say = req.progress ?? (() => undefined);
  const chartDir = path.resolve(req.root, req.chartDir ?? "charts/app");
  const chart = readChart(chartDir);
  const current = generate(req.root);
  const { model } = current;
  if (chart.name !== model.chartmuseum.appChart.name) {
    throw new ChartPushError(`${path.join(chartDir, "Chart.yaml")} names chart '${chart.name}', but the applications install '${model.chartmuseum.appChart.name}' (chartmuseum.appChart.name)`, EXIT.badInput);
  }
  const ep = endpointById(model, "chartmuseum");
  const url = req.url ?? `https://${ep.ip}:${ep.ports[0]!.port}`;
  const report: ChartPushReport = { chart: chart.name, version: chart.version, url, dryRun: req.dryRun, forced: req.force, pushed: false, pins: [], diff: "" };

  const pin = await planPin(req, current, chart.version, report, say);
  await packageAndUpload(req, chartDir, chart, report, say);
  if (req.dryRun || pin.clean) return report;

  for (const [file, text] of pin.edits.files) writeAtomic(path.join(req.root, file), text);
  writeTreeAtomically(req.root, pin.next.tree.files, OWNED_DIRS, GENERATED_FILES);
  if (!req.commit) {
    say("wrote the definition and the tree; not committed (--no-commit)");
    return report;
  }
  const from = [...new Set(pin.edits.pins.map((p) => p.from))].join("/");
  const apps = "all" in req.which ? "every application" : pin.edits.pins.map((p) => p.app).join(", ");
  report.commit = await new Git(req.root).commit([...pin.edits.files.keys(), ...OWNED_DIRS, ...GENERATED_FILES], `chart(${chart.name}): ${from} -> ${chart.version} for ${apps}`);
  say(`commit ${report.commit.slice(0, 12)}: review it, then push (or let the next \`bk release\` push it)`);
  return report;
}
