/**
 * Reading definition files: YAML documents that remember where each value came from, so that
 * an error can name the file and line an operator has to edit.
 *
 * Two readers: js-yaml reads the values (fast-read.ts), and the `yaml` Document with its positions is
 * built only when a message needs a line, or when fast-read.ts leaves the file to `yaml`.
 */
import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import path from "node:path";
import { LineCounter, parseDocument, isMap, isNode, isScalar, visit, type Document } from "yaml";
import type { z } from "zod";
import { InputError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import { fastRead } from "./fast-read.js";

/** Where the reference of every definition file and field is (generated from the schemas by `bk docs`). */
export const DEFINITION_DOC = "docs/definition.md";

export interface SourceFile {
  /** Path relative to the repository root, for messages. */
  file: string;
  /** The file's data. */
  value(): unknown;
  /** The document with positions, parsed on first use. */
  located(): Located;
}

interface Located {
  doc: Document.Parsed;
  lines: LineCounter;
}

function parseLocated(text: string): Located {
  const lines = new LineCounter();
  return { doc: parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true }), lines };
}

export type Path = ReadonlyArray<string | number>;

/** The 1-based line of the value at `p` (or of its closest existing parent; line 1 for an empty file). */
export function lineOf(src: SourceFile, p: Path): number {
  const { doc, lines } = src.located();
  for (let n = p.length; n >= 0; n--) {
    const node = doc.getIn(p.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return 1;
}

/** The line of the key `key` in the mapping at `p`, where a misspelt field is to be corrected. */
function keyLineOf(src: SourceFile, p: Path, key: string): number {
  const { doc, lines } = src.located();
  const map = p.length ? doc.getIn(p, true) : doc.contents;
  if (isMap(map)) {
    const pair = map.items.find((it) => isScalar(it.key) && String(it.key.value) === key);
    if (pair && isNode(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]).line;
  }
  return lineOf(src, p);
}

export function renderPath(p: Path): string {
  let out = "";
  for (const seg of p) out += typeof seg === "number" ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

/** Definition texts that replace files on disk: how a release checks an edit before writing it. */
export type Overrides = ReadonlyMap<string, string>;

/** The text of a definition file, or a finding naming the path when it is no readable file (a folder, no permission). */
function readText(root: string, rel: string, overrides?: Overrides): string | Finding {
  const given = overrides?.get(rel);
  if (given !== undefined) return given;
  const abs = path.join(root, rel);
  const unreadable = (message: string, fix: string): Finding => ({ rule: "definition/unreadable", severity: "error", message, fix, file: rel });
  if (statSync(abs, { throwIfNoEntry: false })?.isDirectory()) return unreadable(`${rel} is a folder, not a YAML file`, `replace the folder ${abs} with the YAML file (see ${DEFINITION_DOC})`);
  try {
    return readFileSync(abs, "utf8");
  } catch (err) {
    return unreadable(`${rel} cannot be read: ${(err as Error).message}`, `make ${abs} a readable file`);
  }
}

export function readSource(root: string, rel: string, overrides?: Overrides): SourceFile | Finding {
  const text = readText(root, rel, overrides);
  if (typeof text !== "string") return text;
  const fast = fastRead(text);
  if (fast) {
    let located: Located | undefined;
    return { file: rel, value: () => fast.value, located: () => (located ??= parseLocated(text)) };
  }
  const located = parseLocated(text);
  const { doc, lines } = located;
  const err = doc.errors[0];
  if (err) {
    return {
      rule: "definition/yaml",
      severity: "error",
      message: `not valid YAML: ${err.message.split("\n")[0]}`,
      fix: "correct the YAML syntax at that line",
      file: rel,
      line: lines.linePos(err.pos[0]).line,
    };
  }
  try {
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    return { file: rel, value: () => value, located: () => located };
  } catch (e) {
    // An alias to no anchor, or one expanded too often (a "billion laughs" document).
    return {
      rule: "definition/yaml",
      severity: "error",
      message: `not valid YAML: ${(e as Error).message.split("\n")[0]}`,
      fix: "correct the anchors and aliases (&name, *name) in this file",
      file: rel,
      line: aliasLine(located),
    };
  }
}

/** The line of the first alias that resolves to no anchor, else of the first alias: where toJS gave up. */
function aliasLine({ doc, lines }: Located): number {
  let unresolved: number | undefined;
  let first: number | undefined;
  visit(doc, {
    Alias(_, node) {
      const line = node.range ? lines.linePos(node.range[0]).line : undefined;
      first ??= line;
      if (unresolved === undefined && node.resolve(doc) === undefined) unresolved = line;
    },
  });
  return unresolved ?? first ?? 1;
}

/**
 * A file whose top level is no mapping of fields: empty (or only comments), a plain text, a list. Reported
 * as that, not as zod's first missing field at the root, whose fix would have nowhere to point.
 */
function notAMapping(src: SourceFile): Finding | undefined {
  const value = src.value();
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return undefined;
  const base = { rule: "definition/not-a-mapping", severity: "error" as const, file: src.file };
  if (value === null || value === undefined) return { ...base, message: "the file is empty", fix: `write the definition's fields here as \`field: value\` lines (see ${DEFINITION_DOC}), or delete the file`, line: 1 };
  const what = Array.isArray(value) ? "a list" : typeof value === "string" ? "plain text" : `a single ${typeof value}`;
  return {
    ...base,
    message: `the file holds ${what}, where a mapping of fields (\`field: value\` lines) belongs`,
    fix: `write the definition's fields as \`field: value\` lines (see ${DEFINITION_DOC})`,
    line: lineOf(src, []) ?? 1,
  };
}

/** Parse a source with a zod schema; every issue becomes a Finding at its file and line. */
export function parseWith<S extends z.ZodType>(src: SourceFile, schema: S): { value?: z.infer<S>; findings: Finding[] } {
  const shape = notAMapping(src);
  if (shape) return { findings: [shape] };
  const result = schema.safeParse(src.value());
  if (result.success) return { value: result.data, findings: [] };
  const findings = result.error.issues.map(innermost).flatMap((issue): Finding[] => {
    const p = issue.path.filter((s): s is string | number => typeof s !== "symbol");
    // One finding per unknown key, at the key itself: the line to edit and the field to rename.
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((key) => ({
        rule: "definition/schema",
        severity: "error",
        message: `unknown field '${key}'`,
        fix: issueFix(issue, renderPath([...p, key])),
        file: src.file,
        line: keyLineOf(src, p, key),
        field: renderPath([...p, key]),
      }));
    const field = renderPath(p);
    return [{ rule: "definition/schema", severity: "error", message: issueMessage(issue, src.value()), fix: issueFix(issue, field), file: src.file, line: lineOf(src, p), ...(field ? { field } : {}) }];
  });
  return { findings };
}

/**
 * The issue an operator can act on. A union that matched no form (a talksTo entry, a probe) says only
 * "Invalid input"; the form whose shape the value has says what is wrong inside it. A record key's
 * issue carries the key rule's own message.
 */
function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code === "invalid_key" && issue.issues[0]) return { ...issue.issues[0], path: issue.path };
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  const shapeMatched = issue.errors.find((branch) => branch.length > 0 && !branch.some((i) => i.code === "invalid_type" && i.path.length === 0));
  const inner = shapeMatched?.[0];
  return inner ? innermost({ ...inner, path: [...issue.path, ...inner.path] }) : issue;
}

function issueMessage(issue: z.core.$ZodIssue, data: unknown): string {
  if (issue.code === "invalid_type" && issue.path.length === 0) return `the file holds ${describe(data)}, not the mapping of fields a definition file is`;
  if (issue.code === "invalid_type" && issue.input === undefined) return `required field is missing (expected ${issue.expected})`;
  if (issue.code === "invalid_union") return "is none of the forms this field takes";
  return issue.message;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value}`;
}

function issueFix(issue: z.core.$ZodIssue, field: string): string {
  if (issue.code === "invalid_type" && issue.path.length === 0) return `write the file's fields as \`key: value\` lines (see ${DEFINITION_DOC} and the other files in definition/)`;
  if (issue.code === "unrecognized_keys") return `remove the field or correct its spelling (see ${DEFINITION_DOC} for the fields each entry takes)`;
  if (issue.code === "invalid_type" && issue.input === undefined) return `add '${field.split(".").pop()}' here`;
  if (issue.code === "custom" && typeof issue.params?.fix === "string") return issue.params.fix;
  if (issue.code === "invalid_union") return `write ${field} in one of its forms (definition/.schema/ has them for editors)`;
  if (issue.code === "invalid_value") return `use one of: ${issue.values.map(String).join(", ")}`;
  return `change the value of ${field || "this entry"} as the message says`;
}

/** The application files, sorted so that loading order (and so every output) is stable. */
export function listAppFiles(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) throw new InputError(`${dir} is a file, where the folder of application files (one <app>.yaml each) belongs; see ${DEFINITION_DOC}`);
  return readdirSync(abs)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => path.posix.join(dir, f));
}
