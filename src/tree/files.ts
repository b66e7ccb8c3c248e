/**
 * Reading and writing the generated tree on disk. Writes are staged in a temporary folder and
 * swapped in with renames, so a failed run leaves the previous tree as it was.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

export const STAGING_DIR = ".bk";

/** Every file below `dir` (relative posix paths, sorted). */
export function listFiles(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const child = path.posix.join(rel, name);
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk(dir);
  return out;
}

/** The current content of the owned part of the tree. */
export function readTree(root: string, ownedDirs: readonly string[], ownedFiles: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of ownedDirs) for (const f of listFiles(root, d)) out.set(f, readFileSync(path.join(root, f), "utf8"));
  for (const f of ownedFiles) if (existsSync(path.join(root, f))) out.set(f, readFileSync(path.join(root, f), "utf8"));
  return out;
}

/**
 * Replace the owned directories and files with `files`. Everything is written to a staging folder
 * first; only when all of it is on disk are the old directories moved aside and the new ones
 * renamed into place.
 */
export function writeTreeAtomically(root: string, files: ReadonlyMap<string, string>, ownedDirs: readonly string[], ownedFiles: readonly string[]): void {
  for (const f of files.keys()) {
    const top = f.split("/")[0]!;
    if (!ownedDirs.includes(top) && !ownedFiles.includes(f)) throw new Error(`refusing to write ${f}: outside the generated tree (${[...ownedDirs, ...ownedFiles].join(", ")})`);
  }
  mkdirSync(path.join(root, STAGING_DIR), { recursive: true });
  const stage = mkdtempSync(path.join(root, STAGING_DIR, "stage-"));
  const old = mkdtempSync(path.join(root, STAGING_DIR, "old-"));
  const moved: string[] = [];
  try {
    for (const [f, content] of files) {
      const abs = path.join(stage, f);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, content);
    }
    const units = [...ownedDirs, ...ownedFiles];
    for (const u of units) {
      if (existsSync(path.join(root, u))) {
        mkdirSync(path.dirname(path.join(old, u)), { recursive: true });
        renameSync(path.join(root, u), path.join(old, u));
        moved.push(u);
      }
    }
    for (const u of units) {
      if (!existsSync(path.join(stage, u))) continue;
      mkdirSync(path.dirname(path.join(root, u)), { recursive: true });
      renameSync(path.join(stage, u), path.join(root, u));
    }
  } catch (err) {
    // Put back whatever was moved aside, so the previous tree survives a failed swap.
    for (const u of moved) {
      rmSync(path.join(root, u), { recursive: true, force: true });
      renameSync(path.join(old, u), path.join(root, u));
    }
    throw err;
  } finally {
    rmSync(stage, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}
