/**
 * kubeconform as the peer: the same generated YAML, the same CRD schemas.
 *
 * kubeconform fills its schema path template with the kind lower-cased ({{.ResourceKind}}), while
 * schemas/crds names files <group>/<Kind>_<version>.json; a folder of symlinks bridges the two.
 * Core kinds have no local schema and no network is available for the upstream Kubernetes
 * schemas, so they are skipped with -ignore-missing-schemas.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { CrdIndex } from "../src/schema/crd-extract.js";

/** Waits for the flag file the tool-building helper writes, polling; false after `timeoutMs`. */
export async function waitForFile(file: string, timeoutMs: number, onWait: () => void): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  while (!existsSync(file)) {
    if (Date.now() >= deadline) return false;
    if (!told) {
      onWait();
      told = true;
    }
    await new Promise((r) => setTimeout(r, 10_000));
  }
  return true;
}

/** Symlinks <out>/<group>/<kind lower-case>_<version>.json -> schemas/crds/<group>/<Kind>_<version>.json; returns the template. */
export function kubeconformSchemaDir(schemasDir: string, out: string): string {
  const index = JSON.parse(readFileSync(join(schemasDir, "index.json"), "utf8")) as CrdIndex;
  for (const [key, entry] of Object.entries(index)) {
    const [group, version, kind] = key.split("/");
    if (!group || !version || !kind) throw new Error(`schemas/crds/index.json: unexpected key ${key}`);
    mkdirSync(join(out, group), { recursive: true });
    const link = join(out, group, `${kind.toLowerCase()}_${version}.json`);
    if (!existsSync(link)) symlinkSync(join(schemasDir, entry.file), link);
  }
  return `${out}/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json`;
}

export function kubeconformArgs(template: string, root: string, dirs: readonly string[]): string[] {
  return ["-schema-location", template, "-ignore-missing-schemas", "-strict", "-summary", "-output", "json", ...dirs.map((d) => join(root, d))];
}

export interface KubeconformSummary {
  valid: number;
  invalid: number;
  errors: number;
  skipped: number;
}

export function parseKubeconformSummary(stdout: string): KubeconformSummary {
  const parsed = JSON.parse(stdout) as { summary?: Partial<KubeconformSummary> };
  const s = parsed.summary;
  if (!s) throw new Error("kubeconform printed no summary");
  return { valid: s.valid ?? 0, invalid: s.invalid ?? 0, errors: s.errors ?? 0, skipped: s.skipped ?? 0 };
}

export function kubeconformVersion(bin: string): string {
  const r = spawnSync(bin, ["-v"], { encoding: "utf8" });
  return (r.stdout || r.stderr).trim() || "unknown";
}
