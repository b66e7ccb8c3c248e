/**
 * Progress of a long operation: a live task list (listr2) on a terminal, one line per step
 * otherwise (CI logs, pipes, --json runs where it goes to stderr).
 */
import type { Step, StepOutcome, StepRunner } from "../workflows/steps.js";

/** The step runner a workflow is given: live on a terminal unless `live` is false (e.g. --json). */
export function stepRunner(opts: { live?: boolean }): StepRunner {
  return (steps, ctx, outcomes) => runSteps(steps, ctx, { ...opts, outcomes });
}

/** Runs the steps in order; `opts.outcomes` (if given) is filled as they go, so a caller still has them after a failure. */
export async function runSteps<C>(steps: readonly Step<C>[], ctx: C, opts: { live?: boolean; outcomes?: StepOutcome[] } = {}): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = opts.outcomes ?? [];
  if (opts.live && process.stderr.isTTY) {
    const { Listr } = await import("listr2");
    const list = new Listr(
      steps.map((s) => ({
        title: s.title,
        skip: () => s.skip?.(ctx) || false,
        task: async (_: unknown, task: { output: string }) => {
          const t0 = Date.now();
          try {
            await s.run(ctx, (line) => (task.output = line));
            outcomes.push({ title: s.title, status: "done", ms: Date.now() - t0 });
          } catch (err) {
            outcomes.push({ title: s.title, status: "failed", ms: Date.now() - t0, detail: (err as Error).message });
            throw err;
          }
        },
      })),
      { exitOnError: true, rendererOptions: { collapseErrors: false } },
    );
    await list.run();
    return outcomes;
  }
  for (const [i, s] of steps.entries()) {
    const n = `[${i + 1}/${steps.length}]`;
    const skip = s.skip?.(ctx);
    if (skip) {
      process.stderr.write(`${n} ${s.title}: skipped (${skip})\n`);
      outcomes.push({ title: s.title, status: "skipped", ms: 0, detail: skip });
      continue;
    }
    process.stderr.write(`${n} ${s.title} ...\n`);
    const t0 = Date.now();
    try {
      await s.run(ctx, (line) => process.stderr.write(`${" ".repeat(n.length)}   ${line}\n`));
    } catch (err) {
      outcomes.push({ title: s.title, status: "failed", ms: Date.now() - t0, detail: (err as Error).message });
      process.stderr.write(`${n} ${s.title}: FAILED\n`);
      throw err;
    }
    const ms = Date.now() - t0;
    outcomes.push({ title: s.title, status: "done", ms });
    process.stderr.write(`${n} ${s.title}: ok (${(ms / 1000).toFixed(1)} s)\n`);
  }
  return outcomes;
}
