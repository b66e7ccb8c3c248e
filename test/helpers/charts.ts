/**
 * The offline chart mirror beside the checkout (../shared/charts): every upstream chart the tree installs, at
 * its pinned version. Tests read it in place; it is never copied into the repository.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../../src/adapters/tools.js";

export const SHARED_CHARTS = path.resolve(repoRoot, "..", "shared", "charts");

/** Fails loudly when the mirror is missing, rather than letting a test pass on nothing. */
export function sharedCharts(): string {
  if (!existsSync(path.join(SHARED_CHARTS, "SOURCES.md"))) throw new Error(`the chart mirror ${SHARED_CHARTS} is missing: tests need ../shared/charts beside the checkout`);
  return SHARED_CHARTS;
}

export const SHARED_CRDS = path.resolve(repoRoot, "..", "shared", "crds");

/** The upstream CRD artifacts beside the checkout (../shared/crds: one folder per release, e.g. gateway-api). */
export function sharedCrds(): string {
  if (!existsSync(path.join(SHARED_CRDS, "SOURCES.md"))) throw new Error(`the CRD mirror ${SHARED_CRDS} is missing: tests need ../shared/crds beside the checkout`);
  return SHARED_CRDS;
}
