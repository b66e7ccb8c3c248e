/**
 * Rendered charts kept by everything that decides the output: chart digest, values, release name and
 * namespace, Kubernetes version, API versions and CRD inclusion. A warm `bk validate` then renders nothing.
 * Entries are written to a temp name and renamed, so a reader never sees half a file.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type { KubeObject } from "../core/object.js";

export interface RenderInputs {
  digest: string;
  values: unknown;
  releaseName: string;
  namespace: string;
  kubeVersion: string;
  apiVersions: readonly string[];
  includeCrds: boolean;
}

/** Bump when the cached shape or what helm is asked changes, so old entries are never read. */
const FORMAT = 1;

const defaultDir = () => path.join(process.env["XDG_CACHE_HOME"] ?? path.join(homedir(), ".cache"), "beckerkube", "renders");

function entryFile(inputs: RenderInputs, dir: string | undefined): string {
  const key = createHash("sha256")
    .update(JSON.stringify({ FORMAT, ...inputs }))
    .digest("hex");
  return path.join(dir ?? defaultDir(), key.slice(0, 2), `${key}.json`);
}

export function readRenderCache(inputs: RenderInputs, dir?: string): KubeObject[] | undefined {
  const file = entryFile(inputs, dir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as KubeObject[];
  } catch {
    return undefined; // a damaged entry is rendered again
  }
}

export function writeRenderCache(inputs: RenderInputs, objects: readonly KubeObject[], dir?: string): void {
  const file = entryFile(inputs, dir);
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(objects));
  renameSync(tmp, file);
}
