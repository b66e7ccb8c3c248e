/**
 * Real kustomize: `kubectl kustomize` on every Kustomization root of a tree written to a
 * scratch folder, so the tree is proven to build before it is committed.
 */
import { userCacheDir } from "../core/cache-dir.js";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Finding } from "../core/finding.js";
import { ProcessRunner, type Runner } from "./runner.js";

/** kubectl is on PATH (found without running it: this is on the start-up path of `bk plan`). */
export function kubectlAvailable(): boolean {
  return kubectlIdentity() !== undefined;
}

export async function kustomizeBuild(files: ReadonlyMap<string, string>, roots: readonly string[], runner: Runner = new ProcessRunner()): Promise<{ findings: Finding[]; built: Map<string, string> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bk-kustomize-"));
  const findings: Finding[] = [];
  const built = new Map<string, string>();
  try {
    for (const [f, content] of files) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), content);
    }
    for (const root of roots) {
      const r = await runner.run("kubectl", ["kustomize", path.join(dir, root)]);
      if (r.error) {
        findings.push({
          rule: "kustomize/unavailable",
          severity: "error",
          message: `could not run kubectl: ${r.error}`,
          fix: "install kubectl (it bundles kustomize) and put it on PATH",
          file: `${root}/kustomization.yaml`,
        });
        break;
      }
      if (r.code !== 0) {
        findings.push({
          rule: "kustomize/build",
          severity: "error",
          message: `kustomize build failed: ${r.stderr
            .trim()
            .split(dir + "/")
            .join("")}`,
          fix: "run `bk synth` and fix what the message names",
          file: `${root}/kustomization.yaml`,
        });
      } else built.set(root, r.stdout);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { findings, built };
}

/** The kubectl on PATH, identified by path, size and modification time (cheaper than running it). */
export function kubectlIdentity(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, "kubectl");
    if (existsSync(p)) {
      const st = statSync(p);
      return `${p}:${st.size}:${st.mtimeMs}`;
    }
  }
  return undefined;
}

/**
 * The same check, remembered: a tree whose every byte, and the kubectl that built it, are those of
 * an earlier successful build needs no new build. Only successes are remembered, so a failure is
 * always reported afresh. The cache folder is always safe to delete.
 */
export async function kustomizeCheck(
  files: ReadonlyMap<string, string>,
  roots: readonly string[],
  cacheDir = userCacheDir("kustomize"),
  runner: Runner = new ProcessRunner(),
): Promise<{ findings: Finding[]; cached: boolean }> {
  const id = kubectlIdentity();
  const h = createHash("sha256")
    .update(id ?? "none")
    .update(roots.join("\0"));
  for (const [f, content] of files) h.update(f).update("\0").update(content).update("\0");
  const marker = path.join(cacheDir, h.digest("hex"));
  if (id && existsSync(marker)) return { findings: [], cached: true };
  const { findings } = await kustomizeBuild(files, roots, runner);
  if (id && findings.length === 0) {
    try {
      mkdirSync(cacheDir, { recursive: true });
      writeFileSync(marker, new Date().toISOString() + "\n");
    } catch {
      // A read-only home only costs the next run a rebuild.
    }
  }
  return { findings, cached: false };
}
