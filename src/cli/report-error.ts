/** The one place errors become exit codes and messages: by type (BkError carries its code), never by message text. */
import { BkError, EXIT, type ExitCode } from "../core/errors.js";
import { FindingsError, type Finding } from "../core/finding.js";
import { printFindings, printJson } from "./output.js";

/** What each exit code means, as --json reports it next to the code. */
const KIND: Record<number, string> = { [EXIT.failed]: "check-failed", [EXIT.badInput]: "bad-input", [EXIT.unavailable]: "unavailable", [EXIT.internal]: "internal" };

/** The one JSON shape of an error, on stdout with --json: scripts read `exitCode` and `kind`, people `error`. */
export function errorJson(message: string, exitCode: number, findings?: readonly Finding[]) {
  return { ok: false, error: message, kind: KIND[exitCode] ?? "internal", exitCode, ...(findings ? { findings } : {}) };
}

/** Stop a command with a message and an exit code: `bk <cmd>: <message>` on stderr, and the error as JSON with --json. */
export function failWith(cmd: string, message: string, code: ExitCode, json?: boolean): number {
  if (json) printJson(errorJson(message, code));
  process.stderr.write(`bk ${cmd}: ${message}\n`);
  return code;
}

/** A command's error as `bk <cmd>: <message>` (and the error JSON with --json); definition findings go on to main. */
export function reportError(cmd: string, err: unknown, json?: boolean): number {
  if (err && typeof err === "object" && "findings" in err) throw err; // definition problems: main renders them
  const message = err instanceof Error ? err.message : String(err);
  // Errors not yet typed (plain Error from a workflow or a file read) keep the code these commands always gave them.
  return failWith(cmd, message, err instanceof BkError ? err.exitCode : EXIT.failed, json);
}

/** The command that ran, as `bk <name>` names it, and whether it was asked for --json. */
export interface Invocation {
  name: string;
  json: boolean;
}

/**
 * An error no command handled: findings are rendered, a BkError is shown by its message, anything else is
 * internal (70) with its stack. With --json the same error is also printed as JSON on stdout.
 */
export function reportUncaught(err: unknown, inv?: Invocation): ExitCode {
  const prefix = inv ? `bk ${inv.name}` : "bk";
  if (err instanceof FindingsError) {
    const errors = err.findings.filter((f) => f.severity === "error").length;
    const message = `${errors} problem(s)${err.exitCode === EXIT.badInput ? " in the definition" : ""}; nothing was written`;
    if (inv?.json) printJson(errorJson(message, err.exitCode, err.findings));
    printFindings(err.findings);
    process.stderr.write(`${prefix}: ${message}\n`);
    return err.exitCode;
  }
  const code = err instanceof BkError ? err.exitCode : EXIT.internal;
  const message = err instanceof Error ? err.message : String(err);
  if (inv?.json) printJson(errorJson(code === EXIT.internal ? `internal error: ${message}` : message, code));
  if (err instanceof BkError) process.stderr.write(`${prefix}: ${message}\n`);
  else process.stderr.write(`${prefix}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return code;
}
