/**
 * The upstream mirror the tests read in place, never copied into the repository: $BK_SHARED, else ../shared beside
 * the checkout, holding charts/ (every upstream chart the tree installs, unpacked at its pinned version) and crds/
 * (the upstream CRD releases, one folder per project). npm test's pretest (scripts/test-preflight.sh) stops before
 * any test when it is missing; these checks only matter when a test file is run on its own.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../../src/adapters/tools.js";

/** The environment variable naming the mirror folder; scripts/test-preflight.sh applies the same default. */
export const SHARED_ENV = "BK_SHARED";

export function sharedRoot(): string {
  const given = process.env[SHARED_ENV];
  return given ? path.resolve(given) : path.resolve(repoRoot, "..", "shared");
}

function mirrorPart(part: "charts" | "crds"): string {
  const dir = path.join(sharedRoot(), part);
  if (!existsSync(path.join(dir, "SOURCES.md"))) {
    throw new Error(`the upstream mirror has no ${part}/SOURCES.md in ${sharedRoot()}: set ${SHARED_ENV} to a folder holding crds/ and charts/ (README.md, Requirements)`);
  }
  return dir;
}

/** The unpacked upstream charts (`<chart>-<version>/`). Fails loudly when missing, rather than letting a test pass on nothing. */
export function sharedCharts(): string {
  return mirrorPart("charts");
}

/** The upstream CRD artifacts (one folder per release, e.g. gateway-api). */
export function sharedCrds(): string {
  return mirrorPart("crds");
}
