/**
 * Which values a chart's templates read, found in the template text itself, so the values lint knows keys a
 * chart reads without a default. A path is "wholesale" when the template hands the whole subtree on (toYaml,
 * tpl, range, include, dict, merge...): every key under it is then read by something we cannot see, so it is
 * free-form. Only what is written literally is recognised; a path built at run time (printf, index with a
 * variable) is not, and the lint then errs on the side of calling the key unknown only where nothing reads
 * its parent wholesale.
 */

export interface Reads {
  /** Values paths read by name, e.g. ["image", "tag"]. */
  read: string[][];
  /** Values paths whose whole subtree is handed on: every key below them is read. */
  wholesale: string[][];
  /** `include`/`template` calls whose argument carries values: what the named template reads of it is read. */
  calls: Call[];
}

export interface TemplateReads extends Reads {
  /** Paths merged under the root values (istio's `mustMergeOverwrite $defaults $.Values`): their keys are root keys too. */
  overlays: string[][];
  /** What each `define` reads of its own `.` (paths starting with DOT), by template name. */
  defines: Map<string, Reads>;
}

/** The first segment of a path relative to a define's `.`: the argument it is called with. */
export const DOT = "\u0000.";

type Path = string[] | null;
export interface Call {
  name: string;
  /** `include "n" <values>` or `include "n" (dict "k" <values> ...)`: the values path(s) handed over. */
  arg: { path: Path } | { dict: Record<string, Path> };
}

const emptyReads = (): Reads => ({ read: [], wholesale: [], calls: [] });

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
  /** The define this block is in, if any: reads relative to its `.` are its own. */
  define?: string;
}

/** The values path a chain names, or null when it is not the values. */
function chainPath(chain: string, dot: string[] | null, vars: ReadonlyMap<string, string[]>): string[] | null {
  const parts = chain.split(".");
  const head = parts[0]!;
  const fields = parts.slice(1);
  const at = fields.indexOf("Values");
  if (at >= 0 && (head === "$" || head === "" || head.startsWith("$"))) return fields.slice(at + 1);
  // A variable bound to values; `$` itself is bound only inside a define, where it is the define's argument.
  if (head.startsWith("$")) {
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
  const result: TemplateReads = { ...emptyReads(), overlays: [], defines: new Map() };
  const vars = new Map<string, string[]>();
  const stack: Scope[] = [{ dot: null }];
  for (const action of actions(text)) {
    const tokens = tokenize(action);
    const kind = blockKind(tokens);
    const scope = stack[stack.length - 1]!;
    if (kind === "end") {
      if (stack.length > 1 && stack.pop()?.dot?.[0] === DOT && stack[stack.length - 1]!.define === undefined) vars.delete("$");
      continue;
    }
    const own = scope.define === undefined ? undefined : result.defines.get(scope.define);
    const paths = readsOf(tokens, scope.dot, vars, kind === "range", { global: result, own });
    bindVariable(tokens, paths, vars, kind);
    const inDefine = scope.define === undefined ? {} : { define: scope.define };
    const name = tokens[1]?.t === "str" ? tokens[1].v : undefined;
    if ((kind === "define" || kind === "block") && name !== undefined) {
      result.defines.set(name, result.defines.get(name) ?? emptyReads());
      vars.set("$", [DOT]);
      stack.push({ dot: [DOT], define: name });
    } else if (kind === "with") stack.push({ dot: paths.get(1) ?? null, ...inDefine });
    else if (kind === "range" || kind === "define" || kind === "block") stack.push({ dot: null, ...inDefine });
    else if (kind === "if") stack.push({ dot: scope.dot, ...inDefine });
    else if (kind === "else" && tokens[1]?.t === "ident" && tokens[1].v === "with") scope.dot = paths.get(2) ?? null;
    else if (kind === "else") scope.dot = stack[stack.length - 2]?.dot ?? null;
  }
  return result;
}

const isRelative = (p: Path) => p?.[0] === DOT;

/** Where reads go: a path relative to a define's `.` is the define's own, any other the chart's. */
interface Sinks {
  global: TemplateReads;
  own: Reads | undefined;
}
const sinkFor = (sinks: Sinks, relative: boolean): Reads | undefined => (relative ? sinks.own : sinks.global);

/** `include "name" <arg>`: the argument's token indexes (handed to the template, not wholesale) and the call. */
function callsIn(tokens: readonly Token[], paths: ReadonlyMap<number, string[]>): { args: Set<number>; calls: Call[] } {
  const args = new Set<number>();
  const calls: Call[] = [];
  tokens.forEach((tk, j) => {
    const name = tokens[j + 1];
    if (tk.t !== "ident" || (tk.v !== "include" && tk.v !== "template") || name?.t !== "str") return;
    const first = tokens[j + 2];
    if (first?.t === "chain") {
      args.add(j + 2);
      calls.push({ name: name.v, arg: { path: paths.get(j + 2) ?? null } });
      return;
    }
    const fn = tokens[j + 3];
    if (first?.t !== "op" || first.v !== "(" || fn?.t !== "ident" || fn.v !== "dict") return;
    const dict: Record<string, Path> = {};
    for (let k = j + 4; k + 1 < tokens.length; k += 2) {
      const key = tokens[k]!;
      const value = tokens[k + 1]!;
      if (key.t !== "str") break;
      dict[key.v] = value.t === "chain" ? (paths.get(k + 1) ?? null) : null;
      if (value.t === "chain") args.add(k + 1);
      if (value.t !== "chain" && value.t !== "str") break;
    }
    calls.push({ name: name.v, arg: { dict } });
  });
  return { args, calls };
}

/** Records the reads of one action; returns the values path of each chain token by index. */
/** `dig "a" "b" <default> .Values.x` reads x.a.b: the keys, or undefined when the call is not that plain shape. */
function digKeys(tokens: readonly Token[], i: number): string[] | undefined {
  let j = i - 1;
  while (j >= 0 && (tokens[j]!.t === "str" || (tokens[j]!.t === "ident" && tokens[j]!.v !== "dig"))) j--;
  const fn = tokens[j];
  if (fn?.t !== "ident" || fn.v !== "dig" || j >= i - 1) return undefined;
  const keys = tokens.slice(j + 1, i - 1).map((t) => (t.t === "str" ? t.v : null));
  return keys.every((k) => k !== null) ? (keys as string[]) : undefined;
}

function readsOf(tokens: readonly Token[], dot: string[] | null, vars: ReadonlyMap<string, string[]>, isRange: boolean, sinks: Sinks): Map<number, string[]> {
  const paths = new Map<number, string[]>();
  const plain = new Set<number>();
  const dynamic = new Set<number>();
  tokens.forEach((tk, i) => {
    if (tk.t !== "chain") return;
    const base = chainPath(tk.v, dot, vars);
    if (!base) return;
    const prev = tokens[i - 1];
    // `index .Values "a" "b"` reads a.b: the keys are the string arguments that follow; a key from a variable reads anything.
    const keys: string[] = [];
    let k = i + 1;
    for (; prev?.t === "ident" && prev.v === "index" && tokens[k]?.t === "str"; k++) keys.push((tokens[k] as { v: string }).v);
    if (prev?.t === "ident" && prev.v === "index" && tokens[k]?.t === "chain") dynamic.add(i);
    const dug = digKeys(tokens, i);
    if (dug) plain.add(i);
    paths.set(i, [...base, ...keys, ...(dug ?? [])]);
  });
  const { args, calls } = callsIn(tokens, paths);
  for (const i of plain) args.add(i);
  for (const i of dynamic) {
    const p = paths.get(i)!;
    if (p.length) sinkFor(sinks, isRelative(p))?.wholesale.push(p);
  }
  for (const [i, p] of paths) {
    const sink = sinkFor(sinks, isRelative(p));
    if (!p.length || !sink) continue;
    sink.read.push(p);
    if (!args.has(i) && handedOn(tokens, i, isRange)) sink.wholesale.push(p);
  }
  for (const c of calls) {
    const values = "path" in c.arg ? [c.arg.path] : Object.values(c.arg.dict);
    sinkFor(sinks, values.some(isRelative))?.calls.push(c);
  }
  const out = sinks.global;
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

/** The values paths a path relative to a define's `.` stands for, given the call's argument. */
function bindArg(rel: readonly string[], arg: Call["arg"]): string[][] {
  const rest = rel.slice(1);
  if ("path" in arg) return arg.path ? [[...arg.path, ...rest]] : [];
  const entries = Object.values(arg.dict).filter((p): p is string[] => p !== null);
  if (!rest.length) return entries;
  const bound = arg.dict[rest[0]!];
  return bound ? [[...bound, ...rest.slice(1)]] : [];
}

/** A call's argument with its relative paths (inside a define) replaced by what the caller handed over. */
function substitute(arg: Call["arg"], outer: Call["arg"] | undefined): Call["arg"] {
  const sub = (p: Path): Path => (p && isRelative(p) ? (outer ? (bindArg(p, outer)[0] ?? null) : null) : p);
  if ("path" in arg) return { path: sub(arg.path) };
  return { dict: Object.fromEntries(Object.entries(arg.dict).map(([k, p]) => [k, sub(p)])) };
}

/**
 * What a whole chart's templates read: each template's own reads, plus what every `include`d define reads of
 * the values it is handed, followed through nested includes. A call to a template the chart does not define
 * hands its values on whole, as nothing here can say what it reads.
 */
export function chartReads(texts: readonly string[]): Omit<TemplateReads, "calls" | "defines"> {
  const parsed = texts.map(templateReads);
  const defines = new Map(parsed.flatMap((r) => [...r.defines]));
  const out = { read: parsed.flatMap((r) => r.read), wholesale: parsed.flatMap((r) => r.wholesale), overlays: parsed.flatMap((r) => r.overlays) };
  const seen = new Set<string>();
  const expand = (call: Call, outer: Call["arg"] | undefined, depth: number) => {
    const arg = substitute(call.arg, outer);
    const key = `${call.name}\0${JSON.stringify(arg)}`;
    if (depth > 8 || seen.has(key)) return;
    seen.add(key);
    const def = defines.get(call.name);
    if (!def) {
      out.wholesale.push(...bindArg([DOT], arg));
      return;
    }
    for (const r of def.read) out.read.push(...bindArg(r, arg));
    for (const w of def.wholesale) out.wholesale.push(...bindArg(w, arg));
    for (const inner of def.calls) expand(inner, arg, depth + 1);
  };
  for (const call of parsed.flatMap((r) => r.calls)) expand(call, undefined, 0);
  return out;
}
