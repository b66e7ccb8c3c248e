/**
 * The one door to external programs (helm, git, kubectl, builders, backup tools, ...): a command line in,
 * exit code and output back. Never throws on a non-zero exit, so callers decide what a failure means;
 * a missing program comes back as code 127 with a readable stderr.
 */
import { spawn } from "node:child_process";

export interface RunOptions {
  cwd?: string;
  /** Added to (not replacing) the current environment. */
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /**
   * Set when the program gave no exit status of its own, saying why: it could not be started
   * (code 127; the spawn error), it ran past timeoutMs ("timed out after N ms") or a signal killed it.
   * Adapters that must tell "the tool said no" from "the tool did not answer" test this.
   */
  error?: string;
}

export interface Runner {
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** The real thing: child_process.spawn without a shell, so arguments are never re-split or expanded. */
export class ProcessRunner implements Runner {
  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve) => {
      const child = spawn(cmd, [...args], {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      // Our own timer rather than spawn's `timeout`, so a timeout is told apart from any other kill.
      let timedOut = false;
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              child.kill("SIGTERM");
            }, opts.timeoutMs);
      let settled = false;
      const done = (r: RunResult) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          resolve(r);
        }
      };
      child.on("error", (e: NodeJS.ErrnoException) => {
        const why = e.code === "ENOENT" ? `${cmd}: command not found (install it or put it on PATH)` : `${cmd}: ${e.message}`;
        done({ code: 127, stdout: "", stderr: why, error: e.message });
      });
      child.on("close", (code, signal) => {
        const stderr = Buffer.concat(err).toString("utf8");
        const stdout = Buffer.concat(out).toString("utf8");
        if (!signal) {
          done({ code: code ?? 128, stdout, stderr });
          return;
        }
        done({
          code: code ?? 128,
          stdout,
          stderr: `${stderr}${stderr.endsWith("\n") || !stderr ? "" : "\n"}${cmd}: killed by ${signal}${opts.timeoutMs ? ` (timeout ${opts.timeoutMs} ms)` : ""}`,
          error: timedOut ? `timed out after ${opts.timeoutMs} ms` : `killed by ${signal}`,
        });
      });
      child.stdin.on("error", () => undefined); // the program may exit before reading its input
      child.stdin.end(opts.input ?? "");
    });
  }
}

export interface RecordedCall {
  cmd: string;
  args: string[];
  opts: RunOptions;
}

export type Responder = (call: RecordedCall, index: number) => RunResult | undefined;

/**
 * TEST DOUBLE. Records every call and answers from a responder instead of running anything.
 * Calls the responder does not answer succeed with empty output.
 */
export class RecordingRunner implements Runner {
  readonly calls: RecordedCall[] = [];
  constructor(private readonly responder: Responder = () => undefined) {}

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const call = { cmd, args: [...args], opts };
    this.calls.push(call);
    return this.responder(call, this.calls.length - 1) ?? { code: 0, stdout: "", stderr: "" };
  }

  /** The calls as shell-like lines, which is what tests usually compare. */
  lines(): string[] {
    return this.calls.map((c) => formatCommand(c.cmd, c.args));
  }
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX-shell quoting, for commands shown to people (--print, --dry-run, error messages). */
export function shellQuote(arg: string): string {
  if (arg !== "" && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(shellQuote).join(" ");
}

/** A failed command as one readable message: the command line, exit code, and the last lines of stderr. */
export function describeFailure(cmd: string, args: readonly string[], r: RunResult): string {
  const tail = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-15).join("\n");
  return `${formatCommand(cmd, args)} exited with ${r.code}${tail ? `:\n${tail}` : ""}`;
}
