/**
 * Child processes of a dev cluster: each runs in its own process group (so helpers it forks die with it),
 * logs stdout+stderr to <logsDir>/<name>.log, and is remembered so stopAll() and a crashing test runner
 * both take it down.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";

export interface StartOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Set once the process has exited: its code or signal. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the process exits. */
  exited: Promise<void>;
}

// Every group ever started by any ProcessSet in this runner; killed synchronously if the runner exits first.
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killLiveGroups(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", killLiveGroups);
  // A signal's default action skips "exit" handlers, and the children sit in their own process groups, so
  // Ctrl-C on a test run would orphan a whole control plane. When nobody else handles the signal, clean up
  // and re-raise it so the runner still dies of it.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      if (process.listenerCount(sig) > 1) return;
      killLiveGroups();
      process.off(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

export class ProcessSet {
  private readonly procs: ManagedProcess[] = [];
  private readonly children = new Map<string, ChildProcess>();

  constructor(readonly logsDir: string) {
    installExitHook();
  }

  list(): readonly ManagedProcess[] {
    return this.procs;
  }

  start(name: string, command: string, args: readonly string[], opts: StartOptions = {}): ManagedProcess {
    if (this.children.has(name)) throw new Error(`devcluster: process name "${name}" already in use`);
    const logFile = path.join(this.logsDir, `${name}.log`);
    const fd = openSync(logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(command, [...args], {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        stdio: ["ignore", fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      throw new Error(`devcluster: could not start ${name} (${command}): spawn returned no pid`);
    }
    const pid = child.pid;
    liveGroups.add(pid);
    let resolveExit!: () => void;
    const exited = new Promise<void>((r) => (resolveExit = r));
    const proc: ManagedProcess = { name, pid, logFile, exit: undefined, exited };
    child.on("error", (err) => {
      proc.exit ??= { code: null, signal: null };
      liveGroups.delete(pid);
      resolveExit();
      void err;
    });
    child.on("exit", (code, signal) => {
      proc.exit = { code, signal };
      liveGroups.delete(pid);
      resolveExit();
    });
    // The runner must be able to finish while cluster processes are still up (down() is explicit).
    child.unref();
    this.children.set(name, child);
    this.procs.push(proc);
    return proc;
  }

  /** Throws, naming the process and its log, if any started process has already exited. */
  assertAlive(): void {
    for (const p of this.procs) {
      if (p.exit) {
        throw new Error(`devcluster: ${p.name} exited (${p.exit.signal ?? `code ${p.exit.code}`}); see ${p.logFile}\n` + tailFile(p.logFile, 30));
      }
    }
  }

  /** SIGTERM every group (newest first), then SIGKILL what is still there after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    const running = [...this.procs].reverse().filter((p) => !p.exit);
    for (const p of running) signalGroup(p.pid, "SIGTERM");
    await within(Promise.all(running.map((p) => p.exited)), graceMs);
    for (const p of running) {
      // The leader may be gone while children of its group linger; kill the group regardless.
      signalGroup(p.pid, "SIGKILL");
      liveGroups.delete(p.pid);
    }
    await within(Promise.all(running.map((p) => p.exited)), 2000);
  }
}

/**
 * Waits for `p` at most `ms`. The timer is deliberately ref'd (the children are not), so a caller awaiting
 * shutdown keeps the event loop alive, and it is cleared as soon as `p` settles so it never delays exit.
 */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // group already gone
  }
}

/** Last `lines` lines of a file, or a note that it is missing. */
export function tailFile(file: string, lines: number): string {
  if (!existsSync(file)) return `(no ${file})`;
  const text = readFileSync(file, "utf8");
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  return all.slice(-lines).join("\n");
}

/** The tail of every *.log in `logsDir`, each under a header, for failure reports. */
export function tailLogs(logsDir: string, lines = 40): string {
  if (!existsSync(logsDir)) return `(no log dir ${logsDir})`;
  return readdirSync(logsDir)
    .filter((f) => f.endsWith(".log"))
    .sort()
    .map((f) => `----- ${path.join(logsDir, f)} (last ${lines} lines) -----\n${tailFile(path.join(logsDir, f), lines)}`)
    .join("\n");
}
