/**
 * Git through the git CLI: the same program the operator uses, so hooks, credentials and
 * config behave as they expect. A rejected push is fetched, rebased and retried; never forced.
 */
import { spawnSync } from "node:child_process";
import { BkError, EXIT, type ExitCode } from "../core/errors.js";

/** git that cannot be run is unavailable (exit 3); a git command that fails is a failure (exit 1). */
export class GitError extends BkError {
  readonly exitCode: ExitCode;
  constructor(
    message: string,
    readonly stderr: string,
    ran = true,
  ) {
    super(message);
    this.exitCode = ran ? EXIT.failed : EXIT.unavailable;
    this.name = "GitError";
  }
}

export class Git {
  constructor(readonly cwd: string) {}

  run(args: string[], allowFail = false): { code: number; stdout: string; stderr: string } {
    const r = spawnSync("git", args, { cwd: this.cwd, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
    if (r.error) throw new GitError(`cannot run git: ${r.error.message}`, "", false);
    // stdout stays untrimmed: `status --porcelain` lines start with a meaningful space.
    const res = { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr.trim() };
    if (res.code !== 0 && !allowFail) throw new GitError(`git ${args.join(" ")} failed: ${res.stderr || res.stdout}`, res.stderr);
    return res;
  }

  head(): string {
    return this.run(["rev-parse", "HEAD"]).stdout.trim();
  }

  branch(): string {
    return this.run(["rev-parse", "--abbrev-ref", "HEAD"]).stdout.trim();
  }

  /** Paths with uncommitted changes (staged or not), untracked included. */
  dirty(): string[] {
    return this.run(["status", "--porcelain"]).stdout.split("\n").filter(Boolean).map((l) => l.slice(3));
  }

  commit(paths: readonly string[], message: string): string {
    this.run(["add", "--all", "--", ...paths]);
    this.run(["commit", "--quiet", "-m", message, "--", ...paths]);
    return this.head();
  }

  /**
   * Push the current branch. When the remote moved on, fetch, rebase our commits onto it and try
   * again, up to `attempts` times. Never forces.
   */
  push(remote = "origin", attempts = 3, onRetry?: (attempt: number, why: string) => void): { attempts: number; head: string } {
    const branch = this.branch();
    for (let attempt = 1; ; attempt++) {
      const r = this.run(["push", "--porcelain", remote, `HEAD:refs/heads/${branch}`], true);
      if (r.code === 0) return { attempts: attempt, head: this.head() };
      const rejected = /rejected|non-fast-forward|fetch first|stale info/i.test(r.stderr + r.stdout);
      if (!rejected || attempt >= attempts) throw new GitError(`git push ${remote} ${branch} failed after ${attempt} attempt(s): ${r.stderr || r.stdout.trim()}`, r.stderr);
      onRetry?.(attempt, "the remote has new commits: fetching and rebasing");
      this.run(["fetch", "--quiet", remote, branch]);
      const rebase = this.run(["rebase", "--quiet", `${remote}/${branch}`], true);
      if (rebase.code !== 0) {
        this.run(["rebase", "--abort"], true);
        throw new GitError(`our commit does not rebase cleanly onto ${remote}/${branch}: ${rebase.stderr}. Resolve by hand; nothing was forced`, rebase.stderr);
      }
    }
  }

  revert(commit: string, message?: string): string {
    this.run(["revert", "--no-edit", commit]);
    if (message) this.run(["commit", "--amend", "--quiet", "-m", message]);
    return this.head();
  }
}
