/**
 * Git through the git CLI: the same program the operator uses, so hooks, credentials and
 * config behave as they expect. A rejected push is fetched, rebased and retried; never forced.
 */
import { ProcessRunner, type RunResult, type Runner } from "./runner.js";
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
  constructor(
    readonly cwd: string,
    private readonly runner: Runner = new ProcessRunner(),
  ) {}

  async run(args: string[], allowFail = false): Promise<RunResult> {
    const r = await this.runner.run("git", args, { cwd: this.cwd, env: { GIT_TERMINAL_PROMPT: "0" } });
    if (r.error) throw new GitError(`cannot run git: ${r.error}`, "", false);
    // stdout stays untrimmed: `status --porcelain` lines start with a meaningful space.
    const res = { code: r.code, stdout: r.stdout, stderr: r.stderr.trim() };
    if (res.code !== 0 && !allowFail) throw new GitError(`git ${args.join(" ")} failed: ${res.stderr || res.stdout}`, res.stderr);
    return res;
  }

  async head(): Promise<string> {
    return (await this.run(["rev-parse", "HEAD"])).stdout.trim();
  }

  async branch(): Promise<string> {
    return (await this.run(["rev-parse", "--abbrev-ref", "HEAD"])).stdout.trim();
  }

  /** Paths with uncommitted changes (staged or not), untracked included. */
  async dirty(): Promise<string[]> {
    return (await this.run(["status", "--porcelain"])).stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => l.slice(3));
  }

  async commit(paths: readonly string[], message: string): Promise<string> {
    await this.run(["add", "--all", "--", ...paths]);
    await this.run(["commit", "--quiet", "-m", message, "--", ...paths]);
    return this.head();
  }

  /**
   * Push the current branch. When the remote moved on, fetch, rebase our commits onto it and try
   * again, up to `attempts` times. Never forces.
   */
  async push(remote = "origin", attempts = 3, onRetry?: (attempt: number, why: string) => void): Promise<{ attempts: number; head: string }> {
    const branch = await this.branch();
    for (let attempt = 1; ; attempt++) {
      const r = await this.run(["push", "--porcelain", remote, `HEAD:refs/heads/${branch}`], true);
      if (r.code === 0) return { attempts: attempt, head: await this.head() };
      const rejected = /rejected|non-fast-forward|fetch first|stale info/i.test(r.stderr + r.stdout);
      if (!rejected || attempt >= attempts) throw new GitError(`git push ${remote} ${branch} failed after ${attempt} attempt(s): ${r.stderr || r.stdout.trim()}`, r.stderr);
      onRetry?.(attempt, "the remote has new commits: fetching and rebasing");
      await this.run(["fetch", "--quiet", remote, branch]);
      const rebase = await this.run(["rebase", "--quiet", `${remote}/${branch}`], true);
      if (rebase.code !== 0) {
        await this.run(["rebase", "--abort"], true);
        throw new GitError(`our commit does not rebase cleanly onto ${remote}/${branch}: ${rebase.stderr}. Resolve by hand; nothing was forced`, rebase.stderr);
      }
    }
  }

  async revert(commit: string, message?: string): Promise<string> {
    await this.run(["revert", "--no-edit", commit]);
    if (message) await this.run(["commit", "--amend", "--quiet", "-m", message]);
    return this.head();
  }
}
