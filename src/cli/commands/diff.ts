import { helmAvailable } from "../../adapters/helm.js";
import { EXIT } from "../../core/errors.js";
import type { Finding } from "../../core/finding.js";
import { diffRendered, formatDiff } from "../../workflows/diff.js";
import { printFindings, printJson } from "../output.js";
import { failWith, reportError } from "../report-error.js";

export interface DiffCliOptions {
  base?: string;
  charts?: string;
  exitCode?: boolean;
  json?: boolean;
}

/**
 * `bk diff`: the fully rendered manifests of the working tree against a Git ref. Like `git diff`, a difference
 * is not a failure unless --exit-code asks for it; a release that does not render is (its objects are missing).
 */
export async function diffCommand(root: string, opts: DiffCliOptions): Promise<number> {
  if (!(await helmAvailable())) {
    return failWith("diff", "helm is not available to render the charts; run `npm run tools`", EXIT.unavailable, opts.json);
  }
  let d: Awaited<ReturnType<typeof diffRendered>>;
  try {
    d = await diffRendered(root, { ...(opts.base ? { base: opts.base } : {}), ...(opts.charts ? { charts: { mirror: opts.charts } } : {}) });
  } catch (err) {
    return reportError("diff", err, opts.json);
  }
  const findings: Finding[] = [...d.findings.base.map((f) => ({ ...f, message: `(at ${d.base}) ${f.message}` })), ...d.findings.head];
  const differs = d.added.length + d.removed.length + d.changed.length > 0;
  const counts = `${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed`;
  if (opts.json) printJson({ ok: findings.length === 0, ...d, summary: { added: d.added.length, removed: d.removed.length, changed: d.changed.length } });
  else {
    printFindings(findings);
    process.stdout.write(formatDiff(d));
    const masked = d.maskedSecrets ? `; the values of ${d.maskedSecrets} Secret(s) are masked` : "";
    process.stderr.write(`bk diff: ${d.base} (${d.baseCommit.slice(0, 12)}) -> working tree, fully rendered: ${differs ? counts : "no difference"}${masked}\n`);
  }
  if (findings.length) return EXIT.failed;
  return opts.exitCode && differs ? EXIT.failed : EXIT.ok;
}
