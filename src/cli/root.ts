import { existsSync } from "node:fs";
import path from "node:path";

/** The repository root: --root, else the nearest folder above the working directory that has definition/cluster.yaml. */
export function findRoot(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "definition", "cluster.yaml"))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}
