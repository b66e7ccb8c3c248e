/**
 * Objects reach the policy engine as loosely typed trees (model classes or plain objects);
 * these accessors read them without trusting their shape, and build the field paths findings report.
 */
export type Rec = Record<string, unknown>;

export function rec(v: unknown): Rec | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Rec) : undefined;
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Reads a nested record, e.g. at(spec, "securityContext", "capabilities"). */
export function at(v: unknown, ...keys: string[]): Rec | undefined {
  let cur: Rec | undefined = rec(v);
  for (const k of keys) {
    if (!cur) return undefined;
    cur = rec(cur[k]);
  }
  return cur;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Appends segments to a dotted path; keys that are not plain identifiers are bracket-quoted (annotations, data keys). */
export function fieldPath(base: string, ...segments: Array<string | number>): string {
  let out = base;
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (IDENT.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** The segments of a path fieldPath wrote: `a.b[0]["x.y"]` -> ["a", "b", 0, "x.y"]; undefined when it is not one. */
export function parseFieldPath(field: string): Array<string | number> | undefined {
  const out: Array<string | number> = [];
  const token = /\.?([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  while (token.lastIndex < field.length) {
    const at = token.lastIndex;
    const m = token.exec(field);
    if (!m || (at === 0 && field.startsWith("."))) return undefined;
    out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]!) as string)));
  }
  return out;
}

/** Compares strings with digit runs by value, so containers[2] sorts before containers[10]. */
export function naturalCompare(a: string, b: string): number {
  const ta = a.match(/\d+|\D+/g) ?? [];
  const tb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}
