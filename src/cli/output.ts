/** Rendering shared by commands: findings for people, and one JSON shape for scripts. */
import { formatFinding, type Finding } from "../core/finding.js";

/**
 * Findings for people. Warnings of one rule that repeat (e.g. 21 secrets not sealed yet) are
 * folded into one entry listing the objects, so the errors that matter stay visible.
 */
export function printFindings(findings: readonly Finding[], stream: NodeJS.WriteStream = process.stderr): void {
  const folded = new Set<string>();
  for (const f of findings) {
    if (f.severity === "warning") {
      const same = findings.filter((x) => x.severity === "warning" && x.rule === f.rule);
      if (same.length > 3) {
        if (folded.has(f.rule)) continue;
        folded.add(f.rule);
        stream.write(`warning [${f.rule}] ${same.length} objects: ${same.map((x) => x.object ?? x.file).join(", ")}\n    e.g. ${f.message}\n    fix: ${f.fix}\n`);
        continue;
      }
    }
    stream.write(formatFinding(f) + "\n");
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export function summarize(findings: readonly Finding[]): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const f of findings) f.severity === "error" ? errors++ : warnings++;
  return { errors, warnings };
}

export const isTTY = () => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
export const bold = (s: string) => (isTTY() ? `\x1b[1m${s}\x1b[0m` : s);
export const dim = (s: string) => (isTTY() ? `\x1b[2m${s}\x1b[0m` : s);
export const red = (s: string) => (isTTY() ? `\x1b[31m${s}\x1b[0m` : s);
export const green = (s: string) => (isTTY() ? `\x1b[32m${s}\x1b[0m` : s);
export const yellow = (s: string) => (isTTY() ? `\x1b[33m${s}\x1b[0m` : s);

/** Progress lines of a long command on stderr, so stdout stays the result. */
export const progress = (cmd: string) => (line: string) => process.stderr.write(`bk ${cmd}: ${line}\n`);
