/**
 * Real kustomize: `kubectl kustomize` on every Kustomization root of a tree written to a
 * scratch folder, so the tree is proven to build before it is committed.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Finding } from "../core/finding.js";

export function kubectlAvailable(): boolean {
  return spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0;
}

export function kustomizeBuild(files: ReadonlyMap<string, string>, roots: readonly string[]): { findings: Finding[]; built: Map<string, string> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bk-kustomize-"));
  const findings: Finding[] = [];
  const built = new Map<string, string>();
  try {
    for (const [f, content] of files) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), content);
    }
    for (const root of roots) {
      const r = spawnSync("kubectl", ["kustomize", path.join(dir, root)], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
      if (r.error) {
        findings.push({ rule: "kustomize/unavailable", severity: "error", message: `could not run kubectl: ${r.error.message}`, fix: "install kubectl (it bundles kustomize) and put it on PATH", file: `${root}/kustomization.yaml` });
        break;
      }
      if (r.status !== 0) {
        findings.push({ rule: "kustomize/build", severity: "error", message: `kustomize build failed: ${r.stderr.trim().split(dir + "/").join("")}`, fix: "run `bk synth` and fix what the message names", file: `${root}/kustomization.yaml` });
      } else built.set(root, r.stdout);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { findings, built };
}
