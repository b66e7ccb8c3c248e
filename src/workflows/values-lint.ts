/**
 * The values lint over rendered releases: each release's values against the chart folder it was rendered
 * from (chart-facts.ts reads it; validate/values-lint.ts judges).
 */
import type { Finding } from "../core/finding.js";
import { objectRef } from "../core/object.js";
import { lintValues } from "../validate/values-lint.js";
import { chartFacts } from "./chart-facts.js";
import type { Rendered } from "./render.js";

export function lintRenderedValues(rendered: readonly Rendered[]): Finding[] {
  return rendered.flatMap((r) => {
    const values = (r.release.object.spec as { values?: Record<string, unknown> } | undefined)?.values ?? {};
    return lintValues({ file: r.release.file, object: objectRef(r.release.object), values }, chartFacts(r.chartDir));
  });
}
