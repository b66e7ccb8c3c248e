import path from "node:path";
import { fileURLToPath } from "node:url";
import { Listr } from "listr2";
import { loadDefinition } from "../../model/load.js";
import type { Model } from "../../model/model.js";
import { applyProfile, findProfile } from "../../model/profiles.js";
import {
  type BootstrapTarget,
  bootstrapPlan,
  BootstrapRun,
  checkKeyBackup,
  defaultCanary,
  readState,
  renderCommand,
  StepFailed,
  type BootstrapStep,
  type StepCommand,
  type StepOutcome,
} from "../../workflows/bootstrap.js";
import { ProcessRunner, type Runner } from "../../adapters/runner.js";
import { CA_NAME } from "../../workflows/trust.js";
import { EXIT } from "../../core/errors.js";
import { bold, dim, green, isTTY, printJson, red, yellow } from "../output.js";
import { failWith } from "../report-error.js";

export interface BootstrapCliOptions {
  sealedSecretsKey?: string;
  newKey?: boolean;
  gitKey?: string;
  fluxVersion?: string;
  canary?: string;
  images?: string;
  imagesFromOciDir?: string;
  target?: string;
  kubeconfig?: string;
  context?: string;
  registry?: string;
  chartmuseumUrl?: string;
  state?: string;
  fresh?: boolean;
  dryRun?: boolean;
  json?: boolean;
  /** The profile to bring up (definition/cluster.yaml `profiles`); default the base one. */
  profile?: string;
}

export interface BootstrapDeps {
  runner?: Runner;
  /** Force the plain line output (tests); by default listr2 is used when stdout is a terminal. */
  plain?: boolean;
}

export const STATE_FILE = path.join(".bk", "bootstrap-state.json");

const loud = (s: string) => process.stderr.write(red(bold(`\n!!! ${s}\n\n`)));

const OUTCOME_TEXT: Record<StepOutcome, string> = {
  "done-before": "done in an earlier run",
  "already-done": "already done",
  ran: "done",
};

type Completed = { completed: Record<string, string> };
type Outcomes = Array<{ id: string; outcome: StepOutcome }>;

/** `bk bootstrap`: rebuild the cluster from the definition, step by step, resumable. */
export async function bootstrapCommand(root: string, opts: BootstrapCliOptions, deps: BootstrapDeps = {}): Promise<number> {
  const loaded = loadDefinition(root);
  let model: Model;
  try {
    model = applyProfile(loaded.model, findProfile(loaded.model, opts.profile));
  } catch (err) {
    return failWith("bootstrap", (err as Error).message, EXIT.badInput, opts.json);
  }
  const stateFile = path.resolve(root, opts.state ?? STATE_FILE);
  const profile = model.cluster.profile.name;
  let steps: BootstrapStep[];
  try {
    steps = planSteps(model, root, opts);
  } catch (err) {
    return failWith("bootstrap", (err as Error).message, EXIT.badInput, opts.json);
  }
  const state: Completed = opts.fresh ? { completed: {} as Record<string, string> } : readState(stateFile, profile);

  // Before --dry-run: a dry run must refuse exactly what the real run refuses.
  if (refusesWithoutKey(opts, state)) return opts.json ? failWith("bootstrap", NO_KEY, EXIT.badInput, true) : EXIT.badInput;
  if (opts.dryRun) return printDryRun(root, profile, stateFile, steps, state, opts);

  if (opts.newKey) loud(steps.find((s) => s.id === "sealed-secrets-key")!.warning!);

  const run = new BootstrapRun(deps.runner ?? new ProcessRunner(), stateFile, profile, opts.fresh);
  const outcomes: Outcomes = [];
  const useListr = !deps.plain && !opts.json && isTTY();
  const failure = useListr ? await runStepsWithListr(run, steps, outcomes) : await runStepsPlain(run, steps, outcomes, opts.json);
  return reportRun(model, profile, stateFile, outcomes, failure, opts);
}

/** The CLI's options turned into the workflow's; a conflict or an unreadable key backup throws (bad input). */
function planSteps(model: Model, root: string, opts: BootstrapCliOptions): BootstrapStep[] {
  if (opts.newKey && opts.sealedSecretsKey) throw new Error("--new-key and --sealed-secrets-key exclude each other: restore the backup, or start with a new key");
  const target = targetOf(opts);
  const keyNames = opts.sealedSecretsKey ? checkKeyBackup(opts.sealedSecretsKey) : undefined;
  return bootstrapPlan(model, {
    target,
    ...(keyNames ? { sealedSecretsKeyNames: keyNames } : {}),
    root,
    canary: opts.canary ?? defaultCanary(model).id,
    refill: refillCommands(root, opts),
    caFile: path.join(root, ".bk", CA_NAME),
    ...(opts.sealedSecretsKey ? { sealedSecretsKey: path.resolve(opts.sealedSecretsKey) } : {}),
    ...(opts.newKey ? { newKey: true } : {}),
    ...(opts.gitKey ? { gitKey: path.resolve(opts.gitKey) } : {}),
    ...(opts.fluxVersion ? { fluxVersion: opts.fluxVersion } : {}),
  });
}

const TARGETS = ["minikube", "existing"] as const;

/** `--target` and the cluster access that goes with it; a combination that cannot mean anything throws. */
function targetOf(opts: BootstrapCliOptions): BootstrapTarget {
  const kind = opts.target ?? "minikube";
  if (!(TARGETS as readonly string[]).includes(kind)) throw new Error(`--target ${kind}: use one of ${TARGETS.join(", ")}`);
  if (kind === "minikube") {
    const given = [opts.kubeconfig && "--kubeconfig", opts.context && "--context"].filter(Boolean);
    if (given.length) throw new Error(`${given.join(" and ")} ${given.length > 1 ? "apply" : "applies"} to --target existing; on Minikube bk uses the profile's own context`);
    return { kind };
  }
  return { kind: "existing", ...(opts.kubeconfig ? { kubeconfig: path.resolve(opts.kubeconfig) } : {}), ...(opts.context ? { context: opts.context } : {}) };
}

/**
 * What puts back what a rebuild empties, through bk's own commands and the CA the trust-node step saved: the
 * chart (uploaded only; the definition already pins its version), the application images from an export, and
 * the third-party images the definition mirrors (the default canary is one: its pull proves the path works).
 */
export function refillCommands(root: string, opts: Pick<BootstrapCliOptions, "images" | "imagesFromOciDir" | "registry" | "chartmuseumUrl">): StepCommand[] {
  const ca = ["--ca", path.join(root, ".bk", CA_NAME)];
  const registry = opts.registry ? ["--registry", opts.registry] : [];
  return [
    bkItself(root, "chart", "push", "--apps", "none", ...ca, ...(opts.chartmuseumUrl ? ["--url", opts.chartmuseumUrl] : [])),
    ...(opts.images ? [bkItself(root, "images", "import", path.resolve(opts.images), ...ca, ...registry)] : []),
    bkItself(root, "images", "mirror", ...ca, ...registry, ...(opts.imagesFromOciDir ? ["--from-oci-dir", path.resolve(opts.imagesFromOciDir)] : [])),
  ];
}

/**
 * This bk, as a command a step runs: node and the package's launcher, whichever way this process was started
 * (bin/bk.js sits three levels above this file both in src/ and in dist/).
 */
export function bkItself(root: string, ...args: string[]): StepCommand {
  const launcher = fileURLToPath(new URL("../../../bin/bk.js", import.meta.url));
  return { cmd: process.execPath, args: [launcher, ...args, "--root", root], timeoutMs: 15 * 60_000 };
}

function printDryRun(root: string, profile: string, stateFile: string, steps: BootstrapStep[], state: Completed, opts: BootstrapCliOptions): number {
  if (opts.json) {
    printJson({
      profile,
      stateFile,
      steps: steps.map((s) => ({
        id: s.id,
        title: s.title,
        doneAt: state.completed[s.id] ?? null,
        commands: s.commands.map(renderCommand),
        ...(s.check ? { check: renderCommand(s.check.command), checkMeans: s.check.means } : {}),
        ...(s.warning ? { warning: s.warning } : {}),
      })),
    });
    return EXIT.ok;
  }
  const where = opts.target === "existing" ? "the existing cluster" : `Minikube profile ${profile}`;
  const out = [bold(`bk bootstrap --dry-run: ${steps.length} steps for ${where} (state: ${path.relative(root, stateFile) || stateFile})`)];
  for (const [i, s] of steps.entries()) {
    const done = state.completed[s.id];
    out.push(`${String(i + 1).padStart(2)}. ${s.id}: ${s.title}${done ? green(`  [done ${done}, skipped on rerun]`) : ""}`);
    if (s.check) out.push(dim(`      skip if: ${renderCommand(s.check.command)}  (${s.check.means})`));
    for (const c of s.commands) out.push(`      $ ${renderCommand(c)}`);
    if (s.warning) out.push(red(`      !!! ${s.warning}`));
  }
  process.stdout.write(out.join("\n") + "\n");
  if (opts.newKey) loud(steps.find((s) => s.id === "sealed-secrets-key")!.warning!);
  return EXIT.ok;
}

const NO_KEY =
  "REFUSING TO BOOTSTRAP WITHOUT THE SEALED SECRETS KEY. Without it, no SealedSecret in the tree decrypts after the rebuild (incident 6). " +
  "Pass --sealed-secrets-key <backup.yaml> (from `bk secrets backup` or `kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`), " +
  "or --new-key to start over with a new key and reseal every secret.";

/** Incident 6: never let the cluster start without the key unless the operator says so, loudly. */
function refusesWithoutKey(opts: BootstrapCliOptions, state: Completed): boolean {
  if (opts.newKey || state.completed["sealed-secrets-key"] || opts.sealedSecretsKey) return false;
  if (!opts.json) loud(NO_KEY);
  return true;
}

/** On a terminal: listr2 shows each step's live output and collapses it when done. Returns the step failure, if any. */
async function runStepsWithListr(run: BootstrapRun, steps: BootstrapStep[], outcomes: Outcomes): Promise<StepFailed | undefined> {
  const list = new Listr(
    steps.map((s) => ({
      title: s.title,
      task: async (_ctx: unknown, task: { output: string; skip: (m?: string) => void; title: string }) => {
        const outcome = await run.step(s, (line) => (task.output = line));
        outcomes.push({ id: s.id, outcome });
        if (outcome !== "ran") task.skip(`${s.title} (${OUTCOME_TEXT[outcome]})`);
      },
    })),
    { concurrent: false, exitOnError: true, rendererOptions: { collapseSkips: false } },
  );
  try {
    await list.run();
  } catch (err) {
    if (!(err instanceof StepFailed)) throw err;
    return err;
  }
  return undefined;
}

/** Plain lines (logs, tests, --json, which prints nothing until the end). Returns the step failure, if any. */
async function runStepsPlain(run: BootstrapRun, steps: BootstrapStep[], outcomes: Outcomes, json: boolean | undefined): Promise<StepFailed | undefined> {
  for (const [i, s] of steps.entries()) {
    if (!json) process.stdout.write(`[${i + 1}/${steps.length}] ${s.title}\n`);
    try {
      const outcome = await run.step(s, (line) => !json && process.stdout.write(dim(`      $ ${line}\n`)));
      outcomes.push({ id: s.id, outcome });
      if (!json) process.stdout.write(`      ${outcome === "ran" ? green("done") : yellow(OUTCOME_TEXT[outcome])}\n`);
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      return err;
    }
  }
  return undefined;
}

/** The run's summary: JSON, or where to resume after a failure, or what to check next after success. */
function reportRun(model: Model, profile: string, stateFile: string, outcomes: Outcomes, failure: StepFailed | undefined, opts: BootstrapCliOptions): number {
  if (opts.json) {
    printJson({ ok: !failure, profile, stateFile, steps: outcomes, ...(failure ? { failedAt: failure.step.id, error: failure.message } : {}) });
  }
  if (failure) {
    if (!opts.json) {
      process.stderr.write(red(`bk bootstrap: step ${failure.step.id} failed: ${failure.message}\n`));
      process.stderr.write(`  finished steps are recorded in ${stateFile}; fix the cause and rerun \`bk bootstrap\`: it resumes at ${failure.step.id}\n`);
    }
    return failure.exitCode;
  }
  if (!opts.json) {
    process.stdout.write(
      [
        green(bold(`bk bootstrap: cluster ${model.cluster.name} is up`)),
        "next:",
        `  bk certs --ca ${path.join(".bk", CA_NAME)}     served certificates name the right addresses and chain to the new CA`,
        "  bk trust                      on every build host: a rebuilt cluster has a new CA",
        "  bk ips                        LoadBalancer addresses match the definition",
        opts.newKey ? red("  bk secrets seal --all, then bk secrets backup --out <file>   (a NEW key is in use)") : "",
      ]
        .filter(Boolean)
        .join("\n") + "\n",
    );
  }
  return EXIT.ok;
}
