/**
 * Errors are values with a location until the CLI renders them.
 * A Finding says what is wrong, where (file, object, field) and how to fix it.
 */
import { BkError, EXIT, type ExitCode } from "./errors.js";

export type Severity = "error" | "warning";

export interface Finding {
  /** Stable rule id, e.g. "psa-restricted/run-as-non-root" or "definition/ip-outside-pool". */
  rule: string;
  severity: Severity;
  message: string;
  /** How to fix it, phrased as an instruction. */
  fix: string;
  /** File the problem is in: a definition file or a tree file, relative to the repository root. */
  file?: string;
  /** Line in that file (1-based) when known. */
  line?: number;
  /** The object, as objectRef() renders it. */
  object?: string;
  /** Dotted/bracketed path of the field inside the object or definition entry, e.g. spec.template.spec.containers[0].image. */
  field?: string;
  /**
   * The generated object a finding was first made on, when it has been traced back to the definition value
   * it comes from (file, line and field then name that value): the context, not the place to edit.
   */
  generated?: { file?: string; object?: string; field?: string };
  /** The HelmRelease (as objectRef renders it) whose chart rendered the object, for a finding on a rendered object. */
  renderedBy?: string;
}

export function formatFinding(f: Finding): string {
  const where = [f.file && (f.line ? `${f.file}:${f.line}` : f.file), f.object, f.field].filter(Boolean).join(" ");
  const g = f.generated;
  const from = g ? `\n    generated: ${[g.file, g.object, g.field].filter(Boolean).join(" ")}` : "";
  return `${f.severity === "error" ? "error" : "warning"} [${f.rule}] ${where ? where + ": " : ""}${f.message}\n    fix: ${f.fix}${from}`;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === "error");
}

/** Thrown when a command must stop on findings; the CLI renders them and exits with the given code. */
export class FindingsError extends BkError {
  constructor(
    readonly findings: Finding[],
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(findings.map(formatFinding).join("\n"));
    this.name = "FindingsError";
  }
}
