import { loadDefinition } from "../../model/load.js";
import type { Model } from "../../model/model.js";
import { NoClusterConfigured } from "../../adapters/kubeconfig.js";
import { defaultCanary } from "../../workflows/bootstrap.js";
import { runDoctor, type DoctorCheck, type DoctorOptions } from "../../workflows/doctor.js";
import { ProcessRunner } from "../../adapters/runner.js";
import { EXIT, InputError } from "../../core/errors.js";
import { green, printJson, red, yellow } from "../output.js";
import { failWith } from "../report-error.js";

export interface DoctorCliOptions {
  ca?: string;
  keyBackup?: string;
  maxKeyBackupAge?: string;
  node?: boolean;
  pullImage?: string;
  target?: string[];
  hostRoot?: string;
  kubeconfig?: string;
  context?: string;
  canary?: string;
  json?: boolean;
}

const icon: Record<DoctorCheck["status"], string> = { ok: green("ok  "), warn: yellow("warn"), fail: red("FAIL"), skipped: "skip" };

/** `bk doctor`: exit 0 when nothing fails (skipped checks are listed, not hidden). */
export async function doctorCommand(root: string, opts: DoctorCliOptions): Promise<number> {
  const { model } = loadDefinition(root);
  const days = Number(opts.maxKeyBackupAge ?? "7");
  if (!(days > 0)) {
    return failWith("doctor", "--max-key-backup-age takes a number of days", EXIT.badInput, opts.json);
  }
  const checks = await runDoctor(model, {
    root,
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.keyBackup ? { keyBackup: opts.keyBackup } : {}),
    maxKeyBackupAgeDays: days,
    overrides: Object.fromEntries((opts.target ?? []).map((t) => t.split("=") as [string, string])),
    hostRoot: opts.hostRoot ?? "/",
    ...(opts.node ? { runner: new ProcessRunner() } : {}),
    ...(opts.pullImage ? { pullImage: opts.pullImage } : {}),
    canary: await canaryReader(model, opts),
  });
  const failed = checks.filter((c) => c.status === "fail").length;
  if (opts.json) printJson({ ok: failed === 0, checks });
  else {
    for (const c of checks) process.stdout.write(`${icon[c.status]} ${c.title}: ${c.detail}${c.fix ? `\n     fix: ${c.fix}` : ""}\n`);
    process.stdout.write(failed ? red(`${failed} check(s) failed\n`) : green("ready\n"));
  }
  return failed ? EXIT.failed : EXIT.ok;
}

/** The canary's live state through the kubeconfig every command uses; with no cluster configured the check is skipped. */
async function canaryReader(model: Model, opts: DoctorCliOptions): Promise<DoctorOptions["canary"]> {
  const component = opts.canary ? model.components.find((c) => c.id === opts.canary) : defaultCanary(model);
  if (!component) throw new InputError(`--canary ${opts.canary}: no such component; use <app>/<component>, e.g. ${defaultCanary(model).id}`);
  const [{ connect }, { readCanary }] = await Promise.all([import("../../adapters/kube.js"), import("../../workflows/canary.js")]);
  try {
    const kube = connect(opts.kubeconfig, opts.context);
    return { component, read: () => readCanary(kube, component) };
  } catch (err) {
    if (err instanceof NoClusterConfigured) return { skipped: "no cluster is configured (--kubeconfig, $KUBECONFIG or ~/.kube/config)" };
    throw err;
  }
}
