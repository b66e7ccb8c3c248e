/**
 * `bk ui` for the tests: the real CLI as a child process (stopped with Ctrl-C, as a user stops it), Debian's
 * Chromium driven headless by playwright-core, and the folder screenshots are kept in.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { REPO_ROOT } from "./definition.js";
import { requireProgram } from "./programs.js";

export interface RunningUi {
  /** What bk ui printed on stdout: the URL to open (with ?token= when one is required). */
  openUrl: string;
  /** The server's base URL, without the token. */
  base: string;
  child: ChildProcess;
  stderr(): string;
  /** Ctrl-C; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function startUi(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<RunningUi> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "src/cli/main.ts"), "ui", "--port", "0", "--root", REPO_ROOT, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`bk ui printed no URL within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bk ui exited (${code}) before printing its URL; stderr:\n${stderr}`));
    });
    child.stdout!.on("data", (d) => {
      stdout += d;
      const line = stdout.split("\n")[0];
      if (!stdout.includes("\n") || !line) return;
      clearTimeout(timer);
      const u = new URL(line);
      resolve({
        openUrl: line,
        base: `${u.protocol}//${u.host}`,
        child,
        stderr: () => stderr,
        stop: () => {
          if (child.exitCode === null) child.kill("SIGINT");
          return exited;
        },
      });
    });
  });
}

export function launchChromium(): Promise<Browser> {
  const executablePath = requireProgram("/usr/bin/chromium", "bk ui's browser tests");
  // The sandbox needs user namespaces that containers and root sessions often lack.
  return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
}

/** $BK_TEST_ARTIFACTS/<name>, or test-artifacts/<name> in the repository (git-ignored). */
export function artifactsDir(name: string): string {
  const dir = path.join(process.env.BK_TEST_ARTIFACTS || path.join(REPO_ROOT, "test-artifacts"), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
