/** Run a short-lived command to completion; failures carry the command line and its stderr. */
import { execFile } from "node:child_process";
import { BkError, EXIT, type ExitCode } from "../core/errors.js";

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** A program that is not installed is unavailable (exit 3); one that ran and failed is a failure (exit 1). */
export class CommandError extends BkError {
  readonly exitCode: ExitCode;
  constructor(
    message: string,
    readonly command: string,
    readonly args: readonly string[],
    readonly code: number | string | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.exitCode = code === "ENOENT" ? EXIT.unavailable : EXIT.failed;
  }
}

export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [...args],
      {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          const shown = [command, ...args].join(" ");
          reject(
            new CommandError(
              `${shown.length > 300 ? shown.slice(0, 300) + "…" : shown} failed (${err.killed ? "killed: timeout" : `exit ${code}`}):\n${stderr.trim() || stdout.trim()}`,
              command,
              args,
              code,
              stdout,
              stderr,
            ),
          );
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
