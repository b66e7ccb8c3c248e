/** The one place errors become exit codes and messages: by type (BkError carries its code), never by message text. */
import { BkError, EXIT, type ExitCode } from "../core/errors.js";
import { FindingsError } from "../core/finding.js";
import { printFindings, printJson } from "./output.js";

/** A command's error as `bk <cmd>: <message>` (and `{ ok: false, error }` with --json); definition findings go on to main. */
export function reportError(cmd: string, err: unknown, json?: boolean): number {
  if (err && typeof err === "object" && "findings" in err) throw err; // definition problems: main renders them
  const message = err instanceof Error ? err.message : String(err);
  // Errors not yet typed (plain Error from a workflow or a file read) keep the code these commands always gave them.
  const code = err instanceof BkError ? err.exitCode : EXIT.failed;
  if (json) printJson({ ok: false, error: message });
  process.stderr.write(`bk ${cmd}: ${message}\n`);
  return code;
}

/** An error no command handled: findings are rendered, a BkError is shown by its message, anything else is internal (70) with its stack. */
export function reportUncaught(err: unknown): ExitCode {
  if (err instanceof FindingsError) {
    printFindings(err.findings);
    process.stderr.write(`bk: ${err.findings.length} problem(s) in the definition; nothing was written\n`);
    return err.exitCode;
  }
  if (err instanceof BkError) {
    process.stderr.write(`bk: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`bk: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.internal;
}
