/**
 * The steps of a multi-step workflow and the runner that executes them. The caller supplies the runner
 * (the CLI: a live task list or one line per step), so a workflow reports progress without printing.
 */
export interface Step<C> {
  title: string;
  /** Skip the step when this returns a reason. */
  skip?: (ctx: C) => string | false;
  run: (ctx: C, report: (line: string) => void) => Promise<void>;
}

export interface StepOutcome {
  title: string;
  status: "done" | "skipped" | "failed";
  ms: number;
  detail?: string;
}

/** Runs the steps in order, filling `outcomes` as they go (so a caller still has them after a failure), and rethrows a step's error. */
export type StepRunner = <C>(steps: readonly Step<C>[], ctx: C, outcomes: StepOutcome[]) => Promise<StepOutcome[]>;
