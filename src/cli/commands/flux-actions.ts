import { durationMs } from "../../core/duration.js";
import { BkError, EXIT } from "../../core/errors.js";
import { FindingsError } from "../../core/finding.js";
import { fluxAction, type FluxAction, type FluxActionReport } from "../../workflows/flux-actions.js";
import { printJson } from "../output.js";
import { stepRunner } from "../progress.js";
import { errorJson, failWith } from "../report-error.js";

export interface FluxActionCliOptions {
  kubeconfig?: string;
  context?: string;
  wait?: boolean;
  force?: boolean;
  withSource?: boolean;
  timeout?: string;
  dryRun?: boolean;
  json?: boolean;
}

function summary(r: FluxActionReport): string {
  const lines = r.objects.map((o) => {
    const state = r.dryRun
      ? `would patch ${JSON.stringify(o.patch)}`
      : o.ready
        ? `Ready=${o.ready.status}${o.ready.reason ? ` ${o.ready.reason}` : ""}${o.lastHandledReconcileAt ? ` (handled ${o.lastHandledReconcileAt})` : ""}`
        : o.suspended
          ? "suspended"
          : o.requestedAt
            ? `reconcile requested at ${o.requestedAt}`
            : "resumed";
    return `  ${o.role === "source" ? "source " : ""}${o.kind} ${o.namespace}/${o.name} (${o.target}): ${state}`;
  });
  return `bk ${r.action}${r.dryRun ? " (dry run: nothing was patched)" : ""}:\n${lines.join("\n")}\n`;
}

/** `bk reconcile|suspend|resume <name...>` */
export async function fluxActionCommand(root: string, action: FluxAction, names: string[], opts: FluxActionCliOptions): Promise<number> {
  const timeoutMs = opts.timeout === undefined ? undefined : durationMs(opts.timeout);
  if (opts.timeout !== undefined && timeoutMs === undefined) return failWith(action, `--timeout '${opts.timeout}' is not like 90s or 15m`, EXIT.badInput, opts.json);
  let report: FluxActionReport;
  try {
    report = await fluxAction({
      root,
      action,
      names,
      wait: Boolean(opts.wait),
      force: Boolean(opts.force),
      withSource: Boolean(opts.withSource),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      dryRun: Boolean(opts.dryRun),
      kube: { ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) },
      runSteps: stepRunner({ live: !opts.json }),
    });
  } catch (err) {
    // Definition problems and internal errors go on to main, which renders them (as JSON too).
    if (err instanceof FindingsError || !(err instanceof BkError)) throw err;
    const r = (err as { report?: FluxActionReport }).report;
    if (opts.json) printJson({ ...(r ?? {}), ...errorJson(err.message, err.exitCode) });
    process.stderr.write(`bk ${action}: ${err.message}\n`);
    if (r?.failure) process.stderr.write(`last events of ${r.failure.object}:\n  ${r.failure.events.join("\n  ") || "(none recorded)"}\n`);
    return err.exitCode;
  }
  if (opts.json) printJson(report);
  else process.stdout.write(summary(report));
  return EXIT.ok;
}
