/** Run the real `bk` CLI (from source, through tsx) as a child process, as a user would. */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "./definition.js";

export function runBk(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "src/cli/main.ts"), ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    input: opts.input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
}
