// Size limits of docs/design.md ("Enforced"): no function in src/ longer than 80 lines, no command file longer than
// 400. Long functions and command files are where layers leak (a command that also does the workflow's work), so
// the limit is checked, not reviewed. `npm run lint:size`; exits 1 naming every offender.
//
//   node --import tsx scripts/check-size.ts [--root <dir>]   (checks <dir>/src; default: this repository)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const FUNCTION_LIMIT = 80;
export const COMMAND_FILE_LIMIT = 400;
const COMMANDS_DIR = "src/cli/commands/";

/**
 * Deliberate exceptions: file (relative to the root, with /), the name as reported, and why splitting would make the
 * code worse. Keep it empty; an entry that no longer matches an offender fails the check so the list stays true.
 */
const EXCEPTIONS: readonly { file: string; name: string; reason: string }[] = [];

export interface Offender {
  file: string;
  line: number;
  name: string;
  lines: number;
  limit: number;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

function propertyName(name: ts.PropertyName | ts.BindingName, sf: ts.SourceFile): string {
  return ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) ? name.text : name.getText(sf);
}

/** The name a reader would search for: the declaration's own name, else what it is assigned to or passed to. */
function functionName(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  const owner = (n: ts.Node): string => {
    const cls = n.parent;
    return (ts.isClassDeclaration(cls) || ts.isClassExpression(cls)) && cls.name ? `${cls.name.text}.` : "";
  };
  if (ts.isConstructorDeclaration(node)) return `${owner(node)}constructor`;
  if ((ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) && node.name) return `${owner(node)}${propertyName(node.name, sf)}`;
  if (node.name) return propertyName(node.name, sf);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return propertyName(parent.name, sf);
  if (ts.isCallExpression(parent)) return `<callback of ${parent.expression.getText(sf).slice(0, 40)}>`;
  return "<anonymous>";
}

const lineOf = (sf: ts.SourceFile, pos: number): number => sf.getLineAndCharacterOfPosition(pos).line + 1;

function longFunctions(file: string, text: string, rel: string): Offender[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Offender[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration & { body: ts.Node };
      const first = lineOf(sf, fn.body.getStart(sf));
      const lines = lineOf(sf, fn.body.getEnd()) - first + 1;
      if (lines > FUNCTION_LIMIT) out.push({ file: rel, line: lineOf(sf, fn.getStart(sf)), name: functionName(fn, sf), lines, limit: FUNCTION_LIMIT });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every function body over FUNCTION_LIMIT lines in <root>/src and every command file over COMMAND_FILE_LIMIT. */
export function measure(root: string): Offender[] {
  const offenders: Offender[] = [];
  for (const file of sourceFiles(join(root, "src"))) {
    const rel = relative(root, file).split(sep).join("/");
    const text = readFileSync(file, "utf8");
    offenders.push(...longFunctions(file, text, rel));
    const lines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
    if (rel.startsWith(COMMANDS_DIR) && lines > COMMAND_FILE_LIMIT) offenders.push({ file: rel, line: 1, name: "(command file)", lines, limit: COMMAND_FILE_LIMIT });
  }
  return offenders;
}

function main(argv: string[]): number {
  const given = argv[argv.indexOf("--root") + 1];
  const root = argv.includes("--root") && given ? resolve(given) : resolve(dirname(fileURLToPath(import.meta.url)), "..");
  if (!existsSync(join(root, "src"))) {
    console.error(`check-size: no src/ under ${root}`);
    return 2;
  }
  const offenders = measure(root);
  const excepted = (o: Offender) => EXCEPTIONS.some((e) => e.file === o.file && e.name === o.name);
  const failing = offenders.filter((o) => !excepted(o));
  const stale = EXCEPTIONS.filter((e) => !offenders.some((o) => e.file === o.file && e.name === o.name));
  for (const o of offenders.filter(excepted)) console.log(`excepted: ${o.file}:${o.line} ${o.name}: ${o.lines} lines (limit ${o.limit})`);
  for (const o of failing) console.error(`${o.file}:${o.line} ${o.name}: ${o.lines} lines (limit ${o.limit})`);
  for (const e of stale) console.error(`stale exception in scripts/check-size.ts: ${e.file} ${e.name} is within its limit now; remove the entry`);
  if (failing.length > 0 || stale.length > 0) {
    console.error(`check-size: ${failing.length} over the limit (functions ${FUNCTION_LIMIT} lines, ${COMMANDS_DIR} files ${COMMAND_FILE_LIMIT} lines); split them.`);
    return 1;
  }
  console.log(`check-size: every function within ${FUNCTION_LIMIT} lines, every command file within ${COMMAND_FILE_LIMIT}.`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
