/**
 * The manifests of a Flux GitRepository outside this repository (the Gateway API release), resolved like the
 * charts are: from a local mirror (`<mirror>/<repository name>/` holding the files of the applied path, as
 * ../shared/crds does), else the cache, else a shallow clone of the pinned tag. Missing: exit 3, named.
 */
import { userCacheDir } from "../core/cache-dir.js";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { UnavailableError } from "../core/errors.js";
import type { KubeObject } from "../core/object.js";
import { ProcessRunner, type Runner } from "./runner.js";

export const SOURCES_MIRROR_ENV = "BK_CRDS";

export interface GitSourceRef {
  url: string;
  /** A tag (or branch/commit) of the repository. */
  ref: string;
  /** The folder inside the repository, without "./". */
  path: string;
}

export interface GitSourceOptions {
  /** A folder holding one folder per repository name with the files of the applied path. Default: $BK_CRDS. */
  mirror?: string;
  /** Where cloned sources are kept. Default: ~/.cache/beckerkube/sources. */
  cacheDir?: string;
  /** Clone sources missing from the mirror and the cache (needs the network). Default true. */
  fetch?: boolean;
  runner?: Runner;
}

export class SourceNotFoundError extends UnavailableError {}

export const repositoryName = (url: string) =>
  url
    .replace(/\.git$/, "")
    .replace(/\/$/, "")
    .split("/")
    .pop() ?? url;

const defaultCacheDir = () => userCacheDir("sources");

function describe(s: GitSourceRef): string {
  return `${s.url} at ${s.ref} (path ${s.path})`;
}

async function clone(s: GitSourceRef, slot: string, runner: Runner): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), "bk-source-"));
  try {
    const r = await runner.run("git", ["clone", "--quiet", "--depth", "1", "--branch", s.ref, s.url, path.join(scratch, "repo")], { timeoutMs: 300_000, env: { GIT_TERMINAL_PROMPT: "0" } });
    if (r.code !== 0)
      throw new SourceNotFoundError(`${describe(s)} could not be cloned: ${(r.error ?? r.stderr).trim()}; on a host without internet set ${SOURCES_MIRROR_ENV} to a folder holding ${repositoryName(s.url)}/`);
    mkdirSync(path.dirname(slot), { recursive: true });
    rmSync(slot, { recursive: true, force: true });
    renameSync(path.join(scratch, "repo"), slot);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The folder holding the source's path: the mirror's, the cache's, or a fresh clone's (unless `fetch: false`). */
export async function resolveGitSource(s: GitSourceRef, opts: GitSourceOptions = {}): Promise<string> {
  const mirror = opts.mirror ?? process.env[SOURCES_MIRROR_ENV];
  if (mirror) {
    const dir = path.join(path.resolve(mirror), repositoryName(s.url));
    if (existsSync(dir)) return dir;
  }
  const slot = path.join(opts.cacheDir ?? defaultCacheDir(), `${repositoryName(s.url)}-${s.ref}`);
  if (!existsSync(slot)) {
    if (opts.fetch === false)
      throw new SourceNotFoundError(`${describe(s)} is not in ${mirror ? `the mirror ${mirror}` : "any mirror"} nor in the cache; set ${SOURCES_MIRROR_ENV} to a folder holding ${repositoryName(s.url)}/`);
    await clone(s, slot, opts.runner ?? new ProcessRunner());
  }
  const dir = path.join(slot, s.path);
  if (!existsSync(dir)) throw new SourceNotFoundError(`${describe(s)}: the release has no folder ${s.path}`);
  return dir;
}

/** Every object in the YAML files of a folder: what Flux applies from it when it holds no kustomization.yaml. */
export function readManifests(dir: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(f)) continue;
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, f), "utf8"))) {
      const o = doc.toJS() as KubeObject | null;
      if (o && typeof o === "object" && o.kind) out.push(o);
    }
  }
  return out;
}
