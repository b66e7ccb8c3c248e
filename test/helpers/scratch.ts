/** Temporary folders a test file makes, removed after its tests (registers an `after` hook). */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after } from "node:test";

export function scratchDirs(): { tmp: (prefix: string) => string; adopt: (dir: string) => string } {
  const made: string[] = [];
  after(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  const adopt = (dir: string) => {
    made.push(dir);
    return dir;
  };
  return { tmp: (prefix) => adopt(mkdtempSync(path.join(os.tmpdir(), prefix))), adopt };
}
