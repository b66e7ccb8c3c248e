/**
 * kustomization.yaml files are derived from the files that exist, never kept by hand (incident 7):
 * each directory lists its YAML files and the subdirectories below it that hold resources.
 */
import path from "node:path";
import { GENERATED_HEADER, toYaml } from "./emit.js";

export const KUSTOMIZATION = "kustomization.yaml";

/**
 * Given every file path of the tree (posix, relative) and the kustomization roots
 * (directories Flux points a Kustomization at), return path -> content of each kustomization.yaml.
 */
export function deriveKustomizations(files: readonly string[], roots: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const root of roots) {
    const below = files.filter((f) => f.startsWith(root + "/") && path.posix.basename(f) !== KUSTOMIZATION);
    const dirs = new Set<string>([root]);
    for (const f of below) {
      for (let d = path.posix.dirname(f); d.length >= root.length; d = path.posix.dirname(d)) {
        dirs.add(d);
        if (d === root) break;
      }
    }
    for (const dir of [...dirs].sort()) {
      const resources = new Set<string>();
      for (const f of below) {
        const rel = path.posix.relative(dir, f);
        if (rel.startsWith("..")) continue;
        const first = rel.split("/")[0]!;
        resources.add(rel.includes("/") ? first : rel);
      }
      const sorted = [...resources].sort((a, b) => {
        // files before folders, then by name: stable and easy to read
        const fa = a.endsWith(".yaml") ? 0 : 1;
        const fb = b.endsWith(".yaml") ? 0 : 1;
        return fa - fb || a.localeCompare(b);
      });
      const doc = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: sorted };
      out.set(path.posix.join(dir, KUSTOMIZATION), GENERATED_HEADER + toYaml(doc));
    }
  }
  return out;
}
