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
