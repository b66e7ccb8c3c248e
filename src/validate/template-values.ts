/**
 * Which values a chart's templates read, found in the template text itself, so the values lint knows keys a
 * chart reads without a default. A path is "wholesale" when the template hands the whole subtree on (toYaml,
 * tpl, range, include, dict, merge...): every key under it is then read by something we cannot see, so it is
 * free-form. Only what is written literally is recognised; a path built at run time (printf, index with a
 * variable) is not, and the lint then errs on the side of calling the key unknown only where nothing reads
 * its parent wholesale.
 */

export interface TemplateReads {
  /** Values paths read by name, e.g. ["image", "tag"]. */
  read: string[][];
  /** Values paths whose whole subtree is handed on: every key below them is read. */
  wholesale: string[][];
  /** Paths merged under the root values (istio's `mustMergeOverwrite $defaults $.Values`): their keys are root keys too. */
  overlays: string[][];
}

type Token = { t: "str"; v: string } | { t: "ident"; v: string } | { t: "chain"; v: string } | { t: "op"; v: string };

/** Functions that take a whole subtree and read keys we cannot see. */
const WHOLESALE = new Set([
  "toYaml",
  "toYamlPretty",
  "toJson",
  "toPrettyJson",
  "toRawJson",
  "tpl",
  "range",
  "include",
  "template",
  "merge",
  "mustMerge",
  "mergeOverwrite",
  "mustMergeOverwrite",
  "deepCopy",
  "mustDeepCopy",
  "keys",
  "pick",
  "omit",
  "values",
  "dig",
]);
/** Functions whose string arguments name keys and whose values arguments are handed on. */
const HANDS_ON = new Set(["include", "template", "dict", "set", "tpl", "list"]);
const MERGES = new Set(["merge", "mustMerge", "mergeOverwrite", "mustMergeOverwrite"]);

function tokenize(action: string): Token[] {
  const out: Token[] = [];
  const re = /"(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)*'|:=|[=|(),]|\$?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*|\$(?:\.[A-Za-z_]\w*)*|(?:\.[A-Za-z_]\w*)+|\.|\S/g;
  for (const m of action.matchAll(re)) {
    const s = m[0];
    if (s[0] === '"' || s[0] === "`" || s[0] === "'") out.push({ t: "str", v: s.slice(1, -1) });
    else if (s === ":=" || s === "=" || s === "|" || s === "(" || s === ")" || s === ",") out.push({ t: "op", v: s });
    else if (s[0] === "$" || s[0] === ".") out.push({ t: "chain", v: s });
    else if (/^[A-Za-z_]\w*$/.test(s)) out.push({ t: "ident", v: s });
    // `foo.bar` after an identifier is a method-like chain (e.g. `.Capabilities`) we do not follow.
  }
  return out;
}

interface Scope {
  /** The values path `.` stands for, or null when `.` is not (a part of) the values. */
  dot: string[] | null;
}

/** The values path a chain names, or null when it is not the values. */
function chainPath(chain: string, dot: string[] | null, vars: ReadonlyMap<string, string[]>): string[] | null {
  const parts = chain.split(".");
  const head = parts[0]!;
  const fields = parts.slice(1);
  const at = fields.indexOf("Values");
  if (at >= 0 && (head === "$" || head === "" || head.startsWith("$"))) return fields.slice(at + 1);
  if (head.startsWith("$") && head !== "$") {
    const bound = vars.get(head);
    return bound ? [...bound, ...fields] : null;
  }
  if (head === "" && dot) return chain === "." ? [...dot] : [...dot, ...fields];
  return null;
}

/** Whether the chain at `i` is handed on whole: an argument of a WHOLESALE/HANDS_ON function, or piped into one. */
function handedOn(tokens: readonly Token[], i: number, isRange: boolean): boolean {
  let j = i - 1;
  while (j >= 0 && tokens[j]!.t === "op" && (tokens[j] as { v: string }).v === "(") j--;
  const prev = tokens[j];
  if (prev?.t === "ident" && WHOLESALE.has(prev.v)) return true;
  if (prev?.t === "op" && (prev.v === ":=" || prev.v === "=") && isRange) return true;
  if (prev?.t === "str" || prev?.t === "chain") {
    for (let k = j; k >= 0; k--) {
      const tk = tokens[k]!;
      if (tk.t === "op" && tk.v !== ",") break;
      if (tk.t === "ident") {
        if (HANDS_ON.has(tk.v) || WHOLESALE.has(tk.v)) return true;
        break;
      }
    }
  }
  let depth = 0;
  for (let k = i + 1; k < tokens.length; k++) {
    const tk = tokens[k]!;
    if (tk.t === "op" && tk.v === "(") depth++;
    else if (tk.t === "op" && tk.v === ")") {
      if (depth-- === 0) break;
    } else if (depth === 0 && tk.t === "op" && tk.v === "|") {
      const fn = tokens[k + 1];
      if (fn?.t === "ident" && WHOLESALE.has(fn.v)) return true;
    }
  }
  return false;
}

/** Every `{{ ... }}` action of a template, comments dropped. */
function actions(text: string): string[] {
  return [...text.matchAll(/\{\{-?([\s\S]*?)-?\}\}/g)].map((m) => m[1]!.trim()).filter((a) => !a.startsWith("/*"));
}

function blockKind(tokens: readonly Token[]): string | undefined {
  const first = tokens[0];
  return first?.t === "ident" ? first.v : undefined;
}

/** The values a template reads, following `with` blocks and variables bound to values within the file. */
export function templateReads(text: string): TemplateReads {
  const result: TemplateReads = { read: [], wholesale: [], overlays: [] };
  const vars = new Map<string, string[]>();
  const stack: Scope[] = [{ dot: null }];
  for (const action of actions(text)) {
    const tokens = tokenize(action);
    const kind = blockKind(tokens);
    const scope = stack[stack.length - 1]!;
    if (kind === "end") {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const paths = readsOf(tokens, scope.dot, vars, kind === "range", result);
    bindVariable(tokens, paths, vars, kind);
    if (kind === "with") stack.push({ dot: paths.get(1) ?? null });
    else if (kind === "range" || kind === "define" || kind === "block") stack.push({ dot: null });
    else if (kind === "if") stack.push({ dot: scope.dot });
    else if (kind === "else" && tokens[1]?.t === "ident" && tokens[1].v === "with") scope.dot = paths.get(2) ?? null;
    else if (kind === "else") scope.dot = stack[stack.length - 2]?.dot ?? null;
  }
  return result;
}

/** Records the reads of one action; returns the values path of each chain token by index. */
function readsOf(tokens: readonly Token[], dot: string[] | null, vars: ReadonlyMap<string, string[]>, isRange: boolean, out: TemplateReads): Map<number, string[]> {
  const paths = new Map<number, string[]>();
  tokens.forEach((tk, i) => {
    if (tk.t !== "chain") return;
    const base = chainPath(tk.v, dot, vars);
    if (!base) return;
    const prev = tokens[i - 1];
    // `index .Values "a" "b"` reads a.b: the keys are the string arguments that follow.
    const keys: string[] = [];
    for (let k = i + 1; prev?.t === "ident" && prev.v === "index" && tokens[k]?.t === "str"; k++) keys.push((tokens[k] as { v: string }).v);
    const p = [...base, ...keys];
    paths.set(i, p);
    if (p.length) out.read.push(p);
    if (p.length && handedOn(tokens, i, isRange)) out.wholesale.push(p);
  });
  const merge = tokens.findIndex((tk) => tk.t === "ident" && MERGES.has(tk.v));
  if (merge >= 0) {
    const merged = [...paths.entries()].filter(([i]) => i > merge).map(([, p]) => p);
    if (merged.some((p) => p.length === 0)) out.overlays.push(...merged.filter((p) => p.length > 0));
  }
  return paths;
}

/** `$x := .Values.a` (not in range, where `$x` is an item): later `$x.b` reads a.b. */
function bindVariable(tokens: readonly Token[], paths: ReadonlyMap<number, string[]>, vars: Map<string, string[]>, kind: string | undefined): void {
  if (kind === "range") return;
  const start = kind === "with" || kind === "if" ? 1 : 0;
  const name = tokens[start];
  const op = tokens[start + 1];
  if (name?.t !== "chain" || !/^\$\w+$/.test(name.v) || op?.t !== "op" || (op.v !== ":=" && op.v !== "=")) return;
  const bound = paths.get(start + 2);
  if (bound && (tokens.length === start + 3 || tokens[start + 3]?.t === "op")) vars.set(name.v, bound);
  else vars.delete(name.v);
}
