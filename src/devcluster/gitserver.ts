/**
 * Git over HTTP (smart protocol) on loopback: a small node server that runs `git http-backend` as a CGI per
 * request, serving the bare repositories under `root`. Flux's GitRepository clones from it like from any
 * forge. Pushes go straight into the bare repo on disk (pushRepo), so the server itself is read-only.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { run } from "./exec.js";

export interface GitServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  baseUrl: string;
  root: string;
  /** Clone URL of repository `name` (served from <root>/<name>.git). */
  url(name: string): string;
  /**
   * Commits the whole content of `dir` (as `git add -A` sees it, .gitignore honoured) as the new tip of
   * `branch` in repository `repo` (created when missing), on top of the previous tip. Returns the commit SHA.
   */
  pushRepo(dir: string, opts?: PushOptions): Promise<string>;
  close(): Promise<void>;
}

export interface PushOptions {
  repo?: string;
  branch?: string;
  message?: string;
  /** Also point this lightweight tag at the new commit (a release a Flux GitRepository pins by `ref.tag`). */
  tag?: string;
}

// Git must not read the user's or system config (signing, hooks, templates) when run by the harness.
function gitEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "BeckerKube e2e",
    GIT_AUTHOR_EMAIL: "e2e@beckerkube.invalid",
    GIT_COMMITTER_NAME: "BeckerKube e2e",
    GIT_COMMITTER_EMAIL: "e2e@beckerkube.invalid",
  };
}

const REPO_NAME = /^[A-Za-z0-9._-]+$/;

/** Smart-HTTP git through `git http-backend` as CGI: the protocol Flux's source-controller speaks. */
function gitHttpBackend(root: string, env: Record<string, string>): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        ...env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: decodeURIComponent(url.pathname),
        REQUEST_METHOD: req.method ?? "GET",
        QUERY_STRING: url.search.replace(/^\?/, ""),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        ...(req.headers["content-length"] ? { CONTENT_LENGTH: req.headers["content-length"] } : {}),
        ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] } : {}),
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
        REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
        SERVER_PROTOCOL: "HTTP/1.1",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      // CGI headers end at the first blank line; http-backend uses CRLF but accept bare LF too.
      let end = head.indexOf("\r\n\r\n");
      let sepLen = 4;
      if (end < 0) {
        end = head.indexOf("\n\n");
        sepLen = 2;
      }
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = Number.parseInt(v, 10) || 500;
        else res.setHeader(k, v);
      }
      res.statusCode = status;
      res.write(head.subarray(end + sepLen));
    });
    child.on("close", (code) => {
      if (!headersDone) {
        res.statusCode = 500;
        res.end(`git http-backend exited ${code} without a response: ${stderr}`);
        return;
      }
      res.end();
    });
    child.on("error", (err) => {
      if (!res.headersSent) res.statusCode = 500;
      res.end(`git http-backend failed: ${err.message}`);
    });
  };
}

export async function startGitServer(root: string, port: number): Promise<GitServer> {
  await mkdir(root, { recursive: true });
  const env = gitEnv(root);

  const server = http.createServer(gitHttpBackend(root, env));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  server.unref();
  const baseUrl = `http://127.0.0.1:${port}`;

  async function ensureRepo(name: string, branch: string): Promise<string> {
    if (!REPO_NAME.test(name)) throw new Error(`git server: bad repository name "${name}" (use letters, digits, . _ -)`);
    const dir = path.join(root, `${name}.git`);
    if (!existsSync(dir)) {
      await run("git", ["init", "--bare", "--quiet", `--initial-branch=${branch}`, dir], { env });
    }
    return dir;
  }

  return {
    baseUrl,
    root,
    url: (name) => `${baseUrl}/${name}.git`,
    pushRepo: async (dir, opts = {}) => pushTree(root, env, await ensureRepo(opts.repo ?? "fleet", opts.branch ?? "main"), dir, opts),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Commit `dir` as the next commit of `branch` in a bare repository without touching a work tree. */
async function pushTree(root: string, env: Record<string, string>, gitDir: string, dir: string, opts: Omit<PushOptions, "repo">): Promise<string> {
  const branch = opts.branch ?? "main";
  // A private index keeps the bare repo untouched until update-ref moves the branch in one step.
  const tmp = await mkdtemp(path.join(root, ".index-"));
  try {
    const e = { ...env, GIT_DIR: gitDir, GIT_WORK_TREE: path.resolve(dir), GIT_INDEX_FILE: path.join(tmp, "index") };
    await run("git", ["add", "-A", "."], { env: e, cwd: dir });
    const tree = (await run("git", ["write-tree"], { env: e })).stdout.trim();
    const parent = await run("git", ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`], { env: e }).then(
      (r) => r.stdout.trim(),
      () => "",
    );
    const args = ["commit-tree", tree, "-m", opts.message ?? `update from ${path.basename(path.resolve(dir))}`];
    if (parent) args.push("-p", parent);
    const commit = (await run("git", args, { env: e })).stdout.trim();
    await run("git", ["update-ref", `refs/heads/${branch}`, commit, ...(parent ? [parent] : [])], { env: e });
    if (opts.tag) await run("git", ["update-ref", `refs/tags/${opts.tag}`, commit], { env: e });
    return commit;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
