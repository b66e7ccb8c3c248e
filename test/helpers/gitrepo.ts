/**
 * A BeckerKube repository in a temp folder, committed and pushed to a bare remote, as an
 * operator's checkout would be.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT, tempDefinition, type DefinitionDocs } from "./definition.js";
import { runBk } from "./cli.js";
import { requireProgram } from "./programs.js";

export const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "test", GIT_AUTHOR_EMAIL: "t@test", GIT_COMMITTER_NAME: "test", GIT_COMMITTER_EMAIL: "t@test" } }).trim();

export interface TestRepo {
  root: string;
  remote: string;
}

/** `remote`: where the bare repository goes (default: a temp folder), e.g. one a Git server serves. */
export function makeRepo(edit?: (d: DefinitionDocs) => void, remote = path.join(mkdtempSync(path.join(os.tmpdir(), "bk-remote-")), "beckerkube.git")): TestRepo {
  requireProgram("git", "the test repository and its remote");
  const root = tempDefinition(edit);
  cpSync(path.join(REPO_ROOT, "charts"), path.join(root, "charts"), { recursive: true });
  const synth = runBk(["synth", "--root", root]);
  if (synth.status !== 0) throw new Error(`bk synth failed: ${synth.stderr}`);
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", remote]);
  git(root, "init", "--quiet", "--initial-branch=main");
  git(root, "config", "user.email", "t@test");
  git(root, "config", "user.name", "test");
  git(root, "add", "-A");
  git(root, "commit", "--quiet", "-m", "initial");
  git(root, "remote", "add", "origin", remote);
  git(root, "push", "--quiet", "origin", "main");
  return { root, remote };
}

/** Another operator's clone of the same remote. */
export function cloneOf(remote: string): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), "bk-clone-")), "beckerkube");
  execFileSync("git", ["clone", "--quiet", remote, dir]);
  git(dir, "config", "user.email", "other@test");
  git(dir, "config", "user.name", "other");
  return dir;
}
