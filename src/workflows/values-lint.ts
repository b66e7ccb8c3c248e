/**
 * The values lint over rendered releases: each release's values against the chart folder it was rendered
 * from (chart-facts.ts reads it; validate/values-lint.ts judges). Compiling a large values.schema.json and
 * scanning a large chart's templates take seconds, so results are kept like renders: by chart digest and
 * the release's values, and a warm `bk validate` lints nothing.
 */
import type { Finding } from "../core/finding.js";
import { objectRef } from "../core/object.js";
import { lintValues, type ReleaseValues } from "../validate/values-lint.js";
import { chartFacts } from "./chart-facts.js";
import type { ChartedRelease } from "./render.js";
import { ResultCache } from "./result-cache.js";

/** Bump when what the lint finds for the same chart and values changes, so old results are never read. */
const FORMAT = 1;

export interface ValuesLintOptions {
  /** Where results are kept by chart digest + values; null turns the cache off. Default: the user cache. */
  cacheDir?: string | null;
}

/** Every release's values against its chart, rendered or not (a schema violation is why helm refused to render it). */
export function lintRenderedValues(rendered: readonly ChartedRelease[], opts: ValuesLintOptions = {}): Finding[] {
  const cache = new ResultCache<Finding[]>("values-lint", FORMAT, opts.cacheDir);
  return rendered.flatMap((r) => {
    const values = (r.release.object.spec as { values?: Record<string, unknown> } | undefined)?.values ?? {};
    const release: ReleaseValues = { file: r.release.file, object: objectRef(r.release.object), values };
    const key = { digest: r.digest, ...release };
    const cached = cache.read(key);
    if (cached) return cached;
    const findings = lintValues(release, chartFacts(r.chartDir, r.digest));
    cache.write(key, findings);
    return findings;
  });
}

/** helm's own schema refusal, as a render finding: the values/schema findings for the release say the same at the key path. */
const SCHEMA_REFUSAL = "values don't meet the specifications of the schema";

/** The render findings less those a values/schema finding of the same release already explains with its path and fix. */
export function withoutSchemaRefusals(renderFindings: readonly Finding[], lint: readonly Finding[]): Finding[] {
  const explained = new Set(lint.filter((f) => f.rule === "values/schema").map((f) => `${f.file}\0${f.object}`));
  return renderFindings.filter((f) => !(f.rule === "render/helm-template" && f.message.includes(SCHEMA_REFUSAL) && explained.has(`${f.file}\0${f.object}`)));
}
