/**
 * Timing one child process: wall time from the parent's clock (spawn to exit, so Node's own start
 * is included), CPU time and peak RSS from GNU time (/usr/bin/time), which wraps the child and
 * reads them from wait4(): the figures are the child's own, not the parent's.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const GNU_TIME = "/usr/bin/time";

export interface Sample {
  wallMs: number;
  /** user + system CPU time of the child. */
  cpuMs: number;
  maxRssKb: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Keep stdout (for --json runs); otherwise it goes to /dev/null like a terminal user would not read it. */
  captureStdout?: boolean;
}

export function checkGnuTime(): void {
  if (!existsSync(GNU_TIME)) {
    throw new Error(`${GNU_TIME} is missing: the benchmark reads peak RSS and CPU time from GNU time; install it with \`apt-get install time\``);
  }
}

export async function timed(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), "bk-bench-time-"));
  const out = join(dir, "time.txt");
  try {
    const start = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ["-f", "%e %U %S %M", "-o", out, cmd, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", opts.captureStdout ? "pipe" : "ignore", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => stdout.push(b));
    child.stderr?.on("data", (b: Buffer) => stderr.push(b));
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? -1));
    });
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    // GNU time writes "Command exited with non-zero status N" before the format line when the child fails.
    const line = readFileSync(out, "utf8").trim().split("\n").pop() ?? "";
    const [, user, sys, rss] = line.split(" ").map(Number);
    if (user === undefined || sys === undefined || rss === undefined || [user, sys, rss].some(Number.isNaN)) {
      throw new Error(`could not read GNU time's output for ${cmd} ${args.join(" ")}: "${line}"`);
    }
    return {
      wallMs,
      cpuMs: (user + sys) * 1000,
      maxRssKb: rss,
      exitCode,
      stdout: Buffer.concat(stdout).toString("utf8"),
      stderr: Buffer.concat(stderr).toString("utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Series {
  runs: number;
  wallMedianMs: number;
  wallP90Ms: number;
  wallMinMs: number;
  cpuMedianMs: number;
  rssMaxKb: number;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error("percentile of no samples");
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function summarize(samples: readonly Sample[]): Series {
  const wall = samples.map((s) => s.wallMs).sort((a, b) => a - b);
  const cpu = samples.map((s) => s.cpuMs).sort((a, b) => a - b);
  return {
    runs: samples.length,
    wallMedianMs: percentile(wall, 50),
    wallP90Ms: percentile(wall, 90),
    wallMinMs: wall[0]!,
    cpuMedianMs: percentile(cpu, 50),
    rssMaxKb: Math.max(...samples.map((s) => s.maxRssKb)),
  };
}

/**
 * One untimed warm-up (fills the validator cache and the page cache), then `runs` timed runs.
 * Every run must exit with `expectExit`, or the figures would time an error path.
 */
export async function series(label: string, cmd: string, args: readonly string[], runs: number, opts: RunOptions & { expectExit?: number } = {}): Promise<Series> {
  const expect = opts.expectExit ?? 0;
  const check = (s: Sample) => {
    if (s.exitCode !== expect) {
      throw new Error(`${label}: \`${cmd} ${args.join(" ")}\` exited ${s.exitCode} (expected ${expect}):\n${s.stderr.slice(0, 2000)}`);
    }
  };
  check(await timed(cmd, args, opts));
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const s = await timed(cmd, args, opts);
    check(s);
    samples.push(s);
  }
  return summarize(samples);
}
