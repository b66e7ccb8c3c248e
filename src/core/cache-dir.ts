import { homedir } from "node:os";
import path from "node:path";

/** `${XDG_CACHE_HOME:-~/.cache}/beckerkube/<name>`: where every cache of bk lives, one folder per kind. */
export function userCacheDir(name: string): string {
  const base = process.env["XDG_CACHE_HOME"] || path.join(process.env["HOME"] || homedir(), ".cache");
  return path.join(base, "beckerkube", name);
}
