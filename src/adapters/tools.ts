// Locates the pinned peer tools (helm, kubeseal, ...) that scripts/tools.sh builds into a cache outside
// the repo. The cache key must match scripts/tools.sh exactly: see tools/README.md.
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root: this file lives in src/adapters/ (or dist/adapters/ once compiled). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Folder holding the pins of one tool set (go.mod, go.sum, tools.txt, optional extra.sh). */
export function toolSetDir(set = "base"): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(set)) {
    throw new Error(`bad tool set name "${set}": use lowercase letters, digits, "-" or "_"`);
  }
  return join(repoRoot, "tools", set);
}

/** Root of the tools cache: $BK_TOOLS_CACHE, else $HOME/.cache/beckerkube/tools. */
export function toolsCacheRoot(): string {
  const fromEnv = process.env["BK_TOOLS_CACHE"];
  if (fromEnv) return resolve(fromEnv);
  return join(process.env["HOME"] || homedir(), ".cache", "beckerkube", "tools");
}

/** First 16 hex chars of sha256(go.mod ‖ go.sum ‖ tools.txt [‖ extra.sh]) of the set. */
export function toolSetKey(set = "base"): string {
  const dir = toolSetDir(set);
  const hash = createHash("sha256");
  for (const file of ["go.mod", "go.sum", "tools.txt"]) {
    const path = join(dir, file);
    if (!existsSync(path)) {
      throw new Error(`tool set "${set}": missing ${path}; every set needs go.mod, go.sum and tools.txt (see tools/README.md)`);
    }
    hash.update(readFileSync(path));
  }
  const extra = join(dir, "extra.sh");
  if (existsSync(extra)) hash.update(readFileSync(extra));
  return hash.digest("hex").slice(0, 16);
}

// go.sum runs to ~100 KB; hash it once per process and cache root rather than on every toolPath call.
const binDirCache = new Map<string, string>();

/** Absolute bin dir where scripts/tools.sh puts (or would put) the binaries of `set`. */
export function toolsBinDir(set = "base"): string {
  const cacheKey = `${toolsCacheRoot()}\0${set}`;
  let dir = binDirCache.get(cacheKey);
  if (dir === undefined) {
    dir = join(toolsCacheRoot(), `${set}-${toolSetKey(set)}`, "bin");
    binDirCache.set(cacheKey, dir);
  }
  return dir;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when the binary `name` of `set` has been built. */
export function hasTool(name: string, set = "base"): boolean {
  return isExecutable(join(toolsBinDir(set), name));
}

/** Absolute path of the built binary `name` of `set`; throws an Error saying how to build it when absent. */
export function toolPath(name: string, set = "base"): string {
  const path = join(toolsBinDir(set), name);
  if (isExecutable(path)) return path;
  const listed = listedTools(set);
  if (!listed.includes(name)) {
    throw new Error(
      `tool "${name}" is not part of tool set "${set}" (tools/${set}/tools.txt lists: ${listed.join(", ") || "nothing"}); ` +
        `add it there and to tools/${set}/go.mod, then run \`npm run tools${set === "base" ? "" : ` -- ${set}`}\``,
    );
  }
  throw new Error(
    `tool "${name}" of set "${set}" is not built: ${path} is missing; run \`npm run tools${set === "base" ? "" : ` -- ${set}`}\` ` + `(builds the pinned versions from tools/${set}/ into ${toolsCacheRoot()})`,
  );
}

/** Tool names listed in tools/<set>/tools.txt, in build order. */
export function listedTools(set = "base"): string[] {
  const file = join(toolSetDir(set), "tools.txt");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(/\s+/)[0] ?? "");
}

/** The helm binary: $BK_HELM, else the pinned build (npm run tools), else `helm` on PATH. The one place helm is looked for. */
export function helmBinary(): string {
  const fromEnv = process.env["BK_HELM"];
  if (fromEnv) return fromEnv;
  try {
    if (hasTool("helm")) return toolPath("helm");
  } catch {
    // No tools/ pins (e.g. an installed package): fall back to PATH.
  }
  return "helm";
}
