/**
 * kustomization.yaml files are derived from the files that exist, never kept by hand (incident 7):
 * each directory lists its YAML files and the subdirectories below it that hold resources.
 */
import path from "node:path";
import { GENERATED_HEADER, toYaml } from "./emit.js";

export const KUSTOMIZATION = "kustomization.yaml";

/** Files before folders, then by name: stable and easy to read. */
function compareEntries(a: string, b: string): number {
  const fa = a.endsWith(".yaml") ? 0 : 1;
  const fb = b.endsWith(".yaml") ? 0 : 1;
  return fa - fb || a.localeCompare(b);
}

/**
 * Given every file path of the tree (posix, relative) and the kustomization roots
 * (directories Flux points a Kustomization at), return path -> content of each kustomization.yaml.
 * One pass over the files: each file adds itself to its directory and each directory to its parent,
 * up to the root, so the cost grows with the number of files, not files times directories.
 */
export function deriveKustomizations(files: readonly string[], roots: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const root of roots) {
    const entries = new Map<string, Set<string>>([[root, new Set()]]);
    const add = (dir: string, entry: string) => {
      let set = entries.get(dir);
      if (!set) {
        set = new Set();
        entries.set(dir, set);
      }
      set.add(entry);
    };
    for (const f of files) {
      if (!f.startsWith(root + "/") || path.posix.basename(f) === KUSTOMIZATION) continue;
      let dir = path.posix.dirname(f);
      add(dir, path.posix.basename(f));
      while (dir !== root) {
        const parent = path.posix.dirname(dir);
        add(parent, path.posix.basename(dir));
        dir = parent;
      }
    }
    for (const dir of [...entries.keys()].sort()) {
      const doc = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: [...entries.get(dir)!].sort(compareEntries) };
      out.set(path.posix.join(dir, KUSTOMIZATION), GENERATED_HEADER + toYaml(doc));
    }
  }
  return out;
}
