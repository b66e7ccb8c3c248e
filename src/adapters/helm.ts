/**
 * Thin adapter over the helm binary: render a chart to objects, lint a chart with values.
 * Values travel as a JSON file (JSON is YAML), so no shell quoting is involved.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { indentFlowScalarContinuations } from "../core/flow-scalar-indent.js";
import { BkError, EXIT, type ExitCode } from "../core/errors.js";
import type { KubeObject } from "../core/object.js";
import { ProcessRunner, type RunResult, type Runner } from "./runner.js";
import { helmBinary } from "./tools.js";

export interface HelmRunOptions {
  /** Path of the helm binary. Default: $BK_HELM, else the pinned build (npm run tools), else `helm` on PATH. */
  helm?: string;
  /** Kill helm after this long. Default 120 s. */
  timeoutMs?: number;
  /** Runs helm; tests pass a recorder. */
  runner?: Runner;
}

export interface HelmTemplateOptions extends HelmRunOptions {
  releaseName: string;
  namespace: string;
  /** The cluster's Kubernetes version, for charts that gate on .Capabilities.KubeVersion. */
  kubeVersion?: string;
  /** API versions the cluster serves beyond the built-ins (CRDs), for charts that gate on .Capabilities.APIVersions. */
  apiVersions?: readonly string[];
  /** Include the chart's crds/ folder, as Flux does unless the release says `crds: Skip`. */
  includeCrds?: boolean;
}

export interface HelmLintResult {
  ok: boolean;
  /** Lines helm marked [ERROR]. */
  errors: string[];
  /** Lines helm marked [WARNING]. */
  warnings: string[];
  /** Everything helm printed, for messages. */
  output: string;
}

/** helm ran but failed (exit 1), `stderr` holding helm's own explanation; or helm could not be run at all (exit 3). */
export class HelmError extends BkError {
  readonly exitCode: ExitCode;
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly stderr: string,
    ran = true,
  ) {
    super(message);
    this.exitCode = ran ? EXIT.failed : EXIT.unavailable;
    this.name = "HelmError";
  }
}

/** Whether helm can be run: a configured or pinned binary is taken as is; `helm` from PATH is asked for its version. */
export async function helmAvailable(runner: Runner = new ProcessRunner()): Promise<boolean> {
  const bin = helmBinary();
  if (bin !== "helm") return true;
  return (await runner.run(bin, ["version", "--short"])).code === 0;
}

async function run(args: string[], opts: HelmRunOptions | undefined): Promise<RunResult> {
  const bin = opts?.helm || helmBinary();
  const res = await (opts?.runner ?? new ProcessRunner()).run(bin, args, { timeoutMs: opts?.timeoutMs ?? 120_000 });
  // Not started, or killed at the timeout: helm never gave an answer.
  if (res.error) throw new HelmError(`could not run ${bin} ${args[0] ?? ""}: ${res.error}; set BK_HELM or pass the helm path`, args, res.stderr, false);
  return res;
}

/** Writes values to a private temp file for the duration of `fn`. */
async function withValuesFile<T>(values: unknown, fn: (file: string | undefined) => Promise<T>): Promise<T> {
  if (values === undefined) return fn(undefined);
  const dir = await mkdtemp(path.join(tmpdir(), "bk-helm-"));
  try {
    const file = path.join(dir, "values.json");
    await writeFile(file, JSON.stringify(values), { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Splits helm's multi-document output into objects; empty documents (disabled templates) are dropped. */
export function parseManifests(text: string, source = "helm output"): KubeObject[] {
  const objects: KubeObject[] = [];
  let docs = parseAllDocuments(text);
  // Charts may carry CRDs that only Go's lenient YAML reader takes (Flagger's); the repaired text means the same.
  if (docs.some((d) => d.errors.length > 0)) docs = parseAllDocuments(indentFlowScalarContinuations(text));
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      throw new Error(`${source}: document ${i + 1} is not valid YAML: ${doc.errors[0]?.message}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isKubeObject(value)) {
      throw new Error(`${source}: document ${i + 1} is not a Kubernetes object (needs apiVersion, kind, metadata.name)`);
    }
    objects.push(value);
  }
  return objects;
}

function isKubeObject(v: unknown): v is KubeObject {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  const meta = o["metadata"] as Record<string, unknown> | undefined;
  return typeof o["apiVersion"] === "string" && typeof o["kind"] === "string" && typeof meta?.["name"] === "string";
}

/**
 * `helm template` with the given values; hooks (e.g. migration Jobs) are included.
 * Throws HelmError carrying helm's message when rendering fails (schema or template checks).
 */
export async function helmTemplate(chartDir: string, values: Record<string, unknown>, opts: HelmTemplateOptions): Promise<KubeObject[]> {
  return withValuesFile(values, async (file) => {
    const args = ["template", opts.releaseName, chartDir, "--namespace", opts.namespace, "--values", file!];
    if (opts.kubeVersion) args.push("--kube-version", opts.kubeVersion);
    for (const v of opts.apiVersions ?? []) args.push("--api-versions", v);
    if (opts.includeCrds) args.push("--include-crds");
    const res = await run(args, opts);
    if (res.code !== 0) {
      throw new HelmError(`helm template ${opts.releaseName} (chart ${chartDir}, namespace ${opts.namespace}) failed: ${res.stderr.trim()}`, args, res.stderr);
    }
    return parseManifests(res.stdout, `helm template ${opts.releaseName}`);
  });
}

/** `helm lint` of a chart, with values merged over its values.yaml when given. Never throws for lint failures. */
export async function helmLint(chartDir: string, values?: Record<string, unknown>, opts?: HelmRunOptions & { strict?: boolean }): Promise<HelmLintResult> {
  return withValuesFile(values, async (file) => {
    const args = ["lint", chartDir];
    if (file) args.push("--values", file);
    if (opts?.strict) args.push("--strict");
    const res = await run(args, opts);
    const output = `${res.stdout}${res.stderr}`;
    const lines = output.split("\n");
    return {
      ok: res.code === 0,
      errors: lines.filter((l) => l.includes("[ERROR]")).map((l) => l.trim()),
      warnings: lines.filter((l) => l.includes("[WARNING]")).map((l) => l.trim()),
      output,
    };
  });
}
