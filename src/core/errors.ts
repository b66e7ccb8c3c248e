/**
 * The one error base of bk. Every error a command can stop on carries the exit code the README
 * promises, so the CLI maps errors by type and never by their message text.
 */

/** Exit codes of `bk`, as the README states them. */
export const EXIT = {
  ok: 0,
  /** Checks ran and something failed: validation errors, drift, an unhealthy cluster. */
  failed: 1,
  /** The input is wrong: the definition, a flag, an argument. */
  badInput: 2,
  /** Something the command needs is missing or unreachable: a tool, a server, a file. */
  unavailable: 3,
  internal: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export abstract class BkError extends Error {
  abstract readonly exitCode: ExitCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller asked for something that cannot be: a bad flag, argument or definition value (exit 2). */
export class InputError extends BkError {
  readonly exitCode = EXIT.badInput;
}

/** A tool, server, cluster or file the command needs is missing or unreachable (exit 3). */
export class UnavailableError extends BkError {
  readonly exitCode = EXIT.unavailable;
}

/** The work ran and a check it makes failed (exit 1). */
export class CheckFailedError extends BkError {
  readonly exitCode = EXIT.failed;
}

/** The exit code an error stands for: its own for a BkError, internal (70) for anything unexpected. */
export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof BkError ? err.exitCode : EXIT.internal;
}
