/**
 * Plain data -> block YAML, producing exactly what `yaml`'s stringify produces with the options in
 * YAML_OPTIONS: on the 11,761 objects of the 100x benchmark tree, 180 ms against the library's
 * 1,800 ms once warm.
 *
 * Why not just call the library: building a `yaml` Document per object (nodes, pairs, scalars, then
 * a string) was 40% of `bk plan` at 100x and most of its peak memory. Generated objects are JSON
 * data whose scalars are nearly all plain words, integers and booleans, written here directly. Other
 * one-line strings follow the library's own plain-or-quoted rule (with the type tests taken from the
 * library), simple multi-line text becomes a literal block, and everything else (escapes, document
 * markers, unusual block scalars, non-integer numbers) is rendered by the library itself for that one
 * scalar. The unit tests compare the two byte for byte on the whole generated tree, on a corpus of
 * awkward values in every position and on thousands of random nestings.
 */
import { Document, stringify, type CreateNodeOptions, type DocumentOptions, type SchemaOptions, type ToStringOptions } from "yaml";

export const YAML_OPTIONS: DocumentOptions & SchemaOptions & CreateNodeOptions & ToStringOptions = { lineWidth: 0, aliasDuplicateObjects: false, sortMapEntries: false };

/**
 * The common case, decided with three tests: printable ASCII starting with a letter, '/' or '_' (so it is
 * not a number, '.inf', '~', a document marker or an indicator), with no ': ' or ' #' (a mapping or a
 * comment), not ending in ':' or a space, and none of the six core-schema words that are not strings.
 */
const SIMPLE = /^[A-Za-z_/][\x20-\x7e]*$/;
const NOT_PLAIN_INSIDE = /: | #|[: ]$/;
const RESERVED = /^(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/;

function isSimple(s: string): boolean {
  return SIMPLE.test(s) && !NOT_PLAIN_INSIDE.test(s) && !RESERVED.test(s);
}

/**
 * Other one-line printable strings, decided as the library's plainString decides them (yaml 2.x,
 * stringify/stringifyString.js): quoted when they start with an indicator, hold ': ' or ' #', end in a
 * space or ':', or would read back as another type under the core schema, whose tests are taken from the
 * library itself. Document markers and backslashes (escaping) stay with the library.
 */
const PRINTABLE_LINE = /^[\x20-\x7e]+$/;
const PLAIN_FORBIDDEN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
const DOC_MARKER = /^(?:%|---|\.\.\.)/m;
const NON_STRING_TESTS: readonly RegExp[] = new Document().schema.tags.flatMap((t) => (t.default && t.tag !== "tag:yaml.org,2002:str" && t.test ? [t.test] : []));

function oneLine(value: string): string | undefined {
  if (!PRINTABLE_LINE.test(value) || value.includes("\\") || DOC_MARKER.test(value)) return undefined;
  if (!PLAIN_FORBIDDEN.test(value) && !NON_STRING_TESTS.some((re) => re.test(value))) return value;
  // The library's quotedString: single quotes only to avoid escaping a double quote.
  const hasDouble = value.includes('"');
  const hasSingle = value.includes("'");
  if (!hasDouble) return `"${value}"`;
  if (!hasSingle) return `'${value}'`;
  return undefined;
}

/**
 * A multi-line value the library writes as a literal block ('|', or '|-' without a final newline): printable
 * ASCII lines, the first not indented, ending in a non-blank character with at most one newline after it.
 * Config files and dashboard JSON are like this; anything else (leading spaces, trailing blank lines, tabs,
 * other characters) goes to the library.
 */
const BLOCK_TEXT = /^[\x21-\x7e][\x20-\x7e\n]*[\x21-\x7e]\n?$/;

function literalBlock(value: string, column: string): string | undefined {
  if (!value.includes("\n") || !BLOCK_TEXT.test(value)) return undefined;
  const clip = value.endsWith("\n");
  const body = clip ? value.slice(0, -1) : value;
  const indent = column + "  ";
  // Runs of newlines are followed by the indentation; empty lines inside stay empty.
  return `|${clip ? "" : "-"}\n${indent}${body.replace(/\n+/g, (nl) => nl + indent)}`;
}

/** `inner` nested under `depth` single-key maps, so that its first key sits at column 2 * depth. */
function nest(depth: number, inner: unknown): unknown {
  let doc = inner;
  for (let i = 0; i < depth; i++) doc = { a: doc };
  return doc;
}

/**
 * The library's rendering of one scalar after a key (`k: `) or a dash (`- `) at `column`. Some of its
 * choices depend on the depth (a '---' value or key is quoted at some depths only), so the scalar is
 * rendered at the same column and cut out; its later lines (block scalars) come with their indentation.
 */
function libraryScalar(value: unknown, column: string, asItem: boolean): string {
  // The same values recur across a tree (one per application copy), so the library is asked once per value and place.
  const memoKey = typeof value === "string" ? `${column.length}${asItem ? "-" : ":"}${value}` : undefined;
  if (memoKey !== undefined) {
    const hit = memo.get(memoKey);
    if (hit !== undefined) return hit;
  }
  const depth = column.length / 2;
  const doc = asItem ? (depth === 0 ? [value] : nest(depth - 1, { k: [value] })) : nest(depth, { k: value });
  const prefix = column + (asItem ? "- " : "k: ");
  const out = stringify(doc, YAML_OPTIONS);
  const at = out.startsWith(prefix) ? 0 : out.indexOf(`\n${prefix}`) + 1;
  const text = out.slice(at + prefix.length, -1);
  if (memoKey !== undefined) remember(memoKey, text);
  return text;
}

const MEMO_LIMIT = 20_000;
const memo = new Map<string, string>();

function remember(key: string, text: string): void {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, text);
}

function libraryKey(key: string, column: string): string {
  const memoKey = `${column.length}?${key}`;
  const hit = memo.get(memoKey);
  if (hit !== undefined) return hit;
  const out = stringify(nest(column.length / 2, { [key]: 0 }), YAML_OPTIONS);
  const last = out.slice(out.lastIndexOf("\n", out.length - 2) + 1, -1);
  const text = last.slice(column.length, -": 0".length);
  remember(memoKey, text);
  return text;
}

const MAX_IMPLICIT_KEY = 1024;

function writeKey(key: string, column: string): string {
  if (key.length > MAX_IMPLICIT_KEY) throw new RangeError(`cannot write a key of ${key.length} characters (over ${MAX_IMPLICIT_KEY}): ${key.slice(0, 40)}...`);
  return isSimple(key) ? key : (oneLine(key) ?? libraryKey(key, column));
}

/** `column`: the indentation of the key or dash the scalar follows. */
function scalar(value: unknown, column: string, asItem: boolean): string | undefined {
  switch (typeof value) {
    case "string":
      return isSimple(value) ? value : (oneLine(value) ?? literalBlock(value, column) ?? libraryScalar(value, column, asItem));
    case "number":
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : libraryScalar(value, column, asItem);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return String(value);
    default:
      return value === null ? "null" : undefined;
  }
}

function unwrap(value: unknown): unknown {
  if (value instanceof String || value instanceof Number || value instanceof Boolean) return value.valueOf();
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return (value as { toJSON: () => unknown }).toJSON();
  }
  return value;
}

/** Keys with undefined values are left out, as the library does. */
function isEmptyMap(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key) && (value as Record<string, unknown>)[key] !== undefined) return false;
  return true;
}

/** Appends `value` written as the contents of a block at `indent`, each line ending in '\n'. */
function writeBlock(out: string[], value: unknown, indent: string): void {
  if (Array.isArray(value)) {
    for (const raw of value) {
      const item = unwrap(raw);
      out.push(indent, "- ");
      writeItem(out, item, indent);
    }
    return;
  }
  const map = value as Record<string, unknown>;
  for (const key of Object.keys(map)) {
    const raw = map[key];
    if (raw === undefined) continue;
    const v = unwrap(raw);
    out.push(indent, writeKey(key, indent), ":");
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(" []\n");
      else {
        out.push("\n");
        // Sequences under a key are indented one step (the library's indentSeq).
        writeBlock(out, v, indent + "  ");
      }
    } else if (v !== null && typeof v === "object") {
      if (isEmptyMap(v)) out.push(" {}\n");
      else {
        out.push("\n");
        writeBlock(out, v, indent + "  ");
      }
    } else {
      out.push(" ", writeScalarOrFail(v, indent, false), "\n");
    }
  }
}

/** A sequence item after the "- " at column `dash`: a collection starts on that line, its other lines at dash + 2. */
function writeItem(out: string[], value: unknown, dash: string): void {
  const indent = dash + "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push("[]\n");
      return;
    }
    const start = out.length;
    writeBlock(out, value, indent);
    out[start] = ""; // the first item shares the line of the outer dash
    return;
  }
  if (value !== null && typeof value === "object") {
    if (isEmptyMap(value)) {
      out.push("{}\n");
      return;
    }
    const start = out.length;
    writeBlock(out, value, indent);
    out[start] = "";
    return;
  }
  out.push(writeScalarOrFail(value, dash, true), "\n");
}

function writeScalarOrFail(value: unknown, column: string, asItem: boolean): string {
  const s = scalar(value, column, asItem);
  if (s === undefined) throw new TypeError(`cannot write a value of type ${typeof value} as YAML`);
  return s;
}

/** One document's body: what `stringify(value, YAML_OPTIONS)` returns for a map or a sequence. */
export function writeYaml(value: unknown): string {
  const v = unwrap(value);
  if (v === null || typeof v !== "object" || (Array.isArray(v) ? v.length === 0 : isEmptyMap(v))) {
    return stringify(v, YAML_OPTIONS);
  }
  const out: string[] = [];
  writeBlock(out, v, "");
  return out.join("");
}
