import { helmAvailable } from "../../adapters/helm.js";
import { kubectlAvailable } from "../../adapters/kustomize.js";
import { generate } from "../../pipeline.js";
import { checkGenerated } from "../../workflows/validate.js";
import { EXIT } from "../../core/errors.js";
import { printFindings, printJson, summarize } from "../output.js";
import { failWith } from "../report-error.js";

export interface ValidateCliOptions {
  json?: boolean;
  strict?: boolean;
  kustomize?: boolean;
  render?: boolean;
  upstream?: boolean;
  charts?: string;
  sources?: string;
  rules?: boolean;
}

/** `bk validate`: schema, policy, references, every HelmRelease rendered through its chart, and a real kustomize build. */
export async function validateCommand(root: string, opts: ValidateCliOptions): Promise<number> {
  if (opts.rules) {
    const { allRules } = await import("../../policy/engine.js");
    if (opts.json) printJson(allRules.map((r) => ({ id: r.id, description: r.description })));
    else for (const r of allRules) process.stdout.write(`${r.id.padEnd(44)} ${r.description}\n`);
    return EXIT.ok;
  }
  const g = generate(root);
  const kustomize = opts.kustomize !== false;
  if (kustomize && !kubectlAvailable()) {
    return failWith("validate", "kubectl is not on PATH; it is needed for the kustomize build check (or pass --no-kustomize)", EXIT.unavailable, opts.json);
  }
  const render = opts.render !== false;
  if (render && !(await helmAvailable())) {
    return failWith("validate", "helm is not available to render the HelmReleases; run `npm run tools` (or pass --no-render)", EXIT.unavailable, opts.json);
  }
  const scope = opts.upstream === false ? ("app" as const) : ("all" as const);
  const charts = opts.charts ? { mirror: opts.charts } : undefined;
  const sources = opts.sources ? { mirror: opts.sources } : undefined;
  const result = await checkGenerated(g, { kustomize, ...(render ? { render: { root, scope, ...(charts ? { charts } : {}), ...(sources ? { sources } : {}) } } : {}) });
  // --strict: warnings count too (pre-flight before a rebuild or a release).
  const findings = opts.strict ? result.findings.map((f) => ({ ...f, severity: "error" as const })) : result.findings;
  const { errors, warnings } = summarize(findings);
  if (opts.json) printJson({ ok: errors === 0, errors, warnings, objects: result.objects, files: result.files, checks: result.checks, findings, excepted: result.excepted });
  else {
    printFindings(findings);
    process.stdout.write(
      `bk validate: ${result.objects} objects in ${result.files} files; checks: ${result.checks.join(", ")}; ${errors} error(s), ${warnings} warning(s), ${result.excepted.length} excepted by policy-exceptions.yaml\n`,
    );
  }
  return errors ? EXIT.failed : EXIT.ok;
}
