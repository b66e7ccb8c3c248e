/**
 * Turns ajv-shaped errors (from ajv itself, from kubernetes-models' precompiled validators, or from
 * the unknown-field walk) into a field path, a sentence saying what is wrong, and a fix.
 */
import { childPath, pointerToPath, valueAt } from "./paths.js";

/** The subset of ajv's ErrorObject this module reads; every producer here emits this shape. */
export interface SchemaIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  schemaPath?: string;
  message?: string;
  /** ajv verbose mode: the keyword's value and the schema holding it. */
  schema?: unknown;
  parentSchema?: unknown;
  /** Field names allowed next to an unknown one, when the producer knows them. */
  knownProperties?: readonly string[];
}

export interface Explained {
  /** Rendered field path; "" for the object itself. */
  field: string;
  message: string;
  fix: string;
}

/** Names the schema in messages, e.g. "HelmRelease helm.toolkit.fluxcd.io/v2". */
export interface SchemaName {
  kind: string;
  apiVersion: string;
}

export function explainIssues(issues: readonly SchemaIssue[], root: unknown, name: SchemaName): Explained[] {
  const out: Explained[] = [];
  const seen = new Set<string>();
  for (const issue of relevantIssues(issues, root)) {
    const e = explain(issue, issues, root, name);
    const key = `${e.field}\u0000${e.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

/**
 * Drops errors that only restate another (or concern a field that is undefined, so never emitted): the per-branch errors of an anyOf/oneOf (summarised by
 * the combinator's own error), and enum/format/pattern errors on a value whose type is already wrong.
 */
function relevantIssues(all: readonly SchemaIssue[], root: unknown): SchemaIssue[] {
  const issues = mergeTypeAlternatives(all).filter(
    // A key holding undefined is never serialised, so it cannot reach the cluster.
    (i) => i.keyword !== "additionalProperties" || valueAt(root, `${i.instancePath}/${escapeKey(String(i.params.additionalProperty))}`) !== undefined,
  );
  const combinatorPaths = issues.filter((i) => (i.keyword === "anyOf" || i.keyword === "oneOf") && i.schemaPath).map((i) => `${i.schemaPath}/`);
  const wrongType = new Set(issues.filter((i) => i.keyword === "type").map((i) => i.instancePath));
  return issues.filter((i) => {
    if (i.schemaPath && combinatorPaths.some((p) => i.schemaPath!.startsWith(p))) return false;
    if (i.keyword !== "type" && wrongType.has(i.instancePath) && ["enum", "const", "format", "pattern"].includes(i.keyword)) {
      return false;
    }
    return true;
  });
}

/**
 * Precompiled validators (kubernetes-models) report a failed oneOf (int-or-string, quantity) as the
 * errors of every branch plus the oneOf itself, all on the same value. Say it once: if the value
 * had the right type for a branch, that branch's complaint (a format, say) is the one that matters;
 * otherwise it is one type error naming all allowed types.
 */
function mergeTypeAlternatives(issues: readonly SchemaIssue[]): readonly SchemaIssue[] {
  const combinators = issues.filter((i) => i.keyword === "anyOf" || i.keyword === "oneOf");
  if (combinators.length === 0) return issues;
  let result = [...issues];
  for (const c of combinators) {
    if (Array.isArray(c.params.passingSchemas)) continue;
    const same = result.filter((i) => i !== c && i.instancePath === c.instancePath);
    const typeErrors = same.filter((i) => i.keyword === "type");
    const others = same.filter((i) => i.keyword !== "type");
    if (typeErrors.length === 0 || (others.length === 0 && typeErrors.length < 2)) continue;
    const drop = new Set<SchemaIssue>([c, ...typeErrors]);
    result = result.filter((i) => !drop.has(i));
    if (others.length === 0) {
      result.push({
        instancePath: c.instancePath,
        keyword: "type",
        params: { type: typeErrors.map((i) => String(i.params.type)).join(",") },
      });
    }
  }
  return result;
}

function escapeKey(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** What one explainer needs to know about the issue it words. */
interface IssueContext {
  issue: SchemaIssue;
  all: readonly SchemaIssue[];
  root: unknown;
  name: SchemaName;
  path: string;
  value: unknown;
  /** The path as a reader sees it ("the object" at the root). */
  where: string;
  schemaLabel: string;
  p: SchemaIssue["params"];
}

type Explainer = (c: IssueContext) => Explained;

function explain(issue: SchemaIssue, all: readonly SchemaIssue[], root: unknown, name: SchemaName): Explained {
  const path = pointerToPath(issue.instancePath);
  const where = path === "" ? "the object" : path;
  const context: IssueContext = { issue, all, root, name, path, value: valueAt(root, issue.instancePath), where, schemaLabel: `the ${name.kind} ${name.apiVersion} schema`, p: issue.params };
  return (EXPLAINERS.get(issue.keyword) ?? explainOther)(context);
}

const explainRequired: Explainer = ({ path, p }) => {
  const field = childPath(path, String(p.missingProperty));
  return { field, message: `required field ${field} is missing`, fix: `set ${field}` };
};

const explainUnknownField: Explainer = ({ issue, path, where, schemaLabel, p }) => {
  const prop = String(p.additionalProperty);
  const field = childPath(path, prop);
  const known = issue.knownProperties ?? propertiesOf(issue.parentSchema);
  const guess = closest(prop, known);
  const hint = guess ? `; did you mean ${childPath(path, guess)}?` : "";
  const list = known.length > 0 && known.length <= 25 ? ` Fields allowed in ${where}: ${known.join(", ")}.` : "";
  return {
    field,
    message: `unknown field ${field}: not in ${schemaLabel}, so Kubernetes would drop it silently${hint}`,
    fix: guess ? `rename it to ${childPath(path, guess)}, or remove it.${list}` : `remove it or fix its spelling.${list}`,
  };
};

const explainType: Explainer = ({ path, where, value, p }) => {
  const wanted = typeNames(String(p.type));
  return { field: path, message: `${where} must be ${wanted}, got ${describe(value)}`, fix: `write ${where} as ${wanted}` };
};

const explainAllowedValues: Explainer = ({ issue, path, where, value, p }) => {
  const allowed = (issue.keyword === "enum" ? (p.allowedValues as unknown[]) : [p.allowedValue]) ?? [];
  const list = allowed.map((v) => JSON.stringify(v)).join(", ");
  return { field: path, message: `${where} must be one of ${list}; got ${describe(value)}`, fix: `set ${where} to one of ${list}` };
};

const explainPattern: Explainer = ({ path, where, value, p }) => ({
  field: path,
  message: `${where} value ${describe(value)} does not match the pattern ${String(p.pattern)}`,
  fix: `change ${where} so that it matches ${String(p.pattern)}`,
});

const explainFormat: Explainer = ({ path, where, value, p }) => {
  const example = FORMAT_EXAMPLES[String(p.format)];
  return {
    field: path,
    message: `${where} value ${describe(value)} is not a valid ${String(p.format)}${example ? ` (${example})` : ""}`,
    fix: `write ${where} as a ${String(p.format)}${example ? `, ${example}` : ""}`,
  };
};

const explainBound: Explainer = ({ path, where, value, p }) => ({
  field: path,
  message: `${where} must be ${String(p.comparison)} ${String(p.limit)}, got ${describe(value)}`,
  fix: `use a value ${String(p.comparison)} ${String(p.limit)} for ${where}`,
});

const explainSize: Explainer = ({ issue, path, where, value, p }) => {
  const unit = issue.keyword.endsWith("Length") ? "characters" : issue.keyword.endsWith("Items") ? "items" : "fields";
  const bound = issue.keyword.startsWith("min") ? "at least" : "at most";
  return {
    field: path,
    message: `${where} must have ${bound} ${String(p.limit)} ${unit}, has ${sizeOf(value)}`,
    fix: `give ${where} ${bound} ${String(p.limit)} ${unit}`,
  };
};

const explainUnique: Explainer = ({ path, where, p }) => ({
  field: path,
  message: `${where} has duplicate items at [${String(p.j)}] and [${String(p.i)}]`,
  fix: `remove one of the duplicates from ${where}`,
});

const explainAlternatives: Explainer = ({ issue, all, root, name, path, where, schemaLabel, p }) => {
  if (issue.keyword === "oneOf" && Array.isArray(p.passingSchemas)) {
    return {
      field: path,
      message: `${where} matches more than one of the mutually exclusive forms allowed by ${schemaLabel}`,
      fix: `keep only the fields of one form in ${where}`,
    };
  }
  const branches = branchSummaries(issue, all, root, name);
  return {
    field: path,
    message: `${where} matches none of the forms allowed by ${schemaLabel}${branches ? `: ${branches}` : ""}`,
    fix: `change ${where} to satisfy one of those forms`,
  };
};

const explainNot: Explainer = ({ issue, path, where, schemaLabel }) => {
  const required = isRecord(issue.schema) && Array.isArray(issue.schema.required) ? issue.schema.required : undefined;
  return {
    field: path,
    message: required ? `${where} must not set ${required.map((r) => childPath(path, String(r))).join(" together with ")}` : `${where} has a combination of fields that ${schemaLabel} forbids`,
    fix: required ? `keep only one of them` : `check ${where} against the CRD's documentation`,
  };
};

const explainOther: Explainer = ({ issue, path, where, schemaLabel }) => ({
  field: path,
  message: `${where} ${issue.message ?? `fails the "${issue.keyword}" check of ${schemaLabel}`}`,
  fix: `correct ${where}`,
});

/** JSON Schema keyword -> how its failure is worded for a person. */
const EXPLAINERS: ReadonlyMap<string, Explainer> = new Map([
  ["required", explainRequired],
  ["additionalProperties", explainUnknownField],
  ["type", explainType],
  ["enum", explainAllowedValues],
  ["const", explainAllowedValues],
  ["pattern", explainPattern],
  ["format", explainFormat],
  ["minimum", explainBound],
  ["maximum", explainBound],
  ["exclusiveMinimum", explainBound],
  ["exclusiveMaximum", explainBound],
  ["minLength", explainSize],
  ["maxLength", explainSize],
  ["minItems", explainSize],
  ["maxItems", explainSize],
  ["minProperties", explainSize],
  ["maxProperties", explainSize],
  ["uniqueItems", explainUnique],
  ["anyOf", explainAlternatives],
  ["oneOf", explainAlternatives],
  ["not", explainNot],
]);

/** "either (required field spec.a is missing) or (spec.b must be a string, ...)". */
function branchSummaries(issue: SchemaIssue, all: readonly SchemaIssue[], root: unknown, name: SchemaName): string {
  const prefix = `${issue.schemaPath}/`;
  const byBranch = new Map<string, SchemaIssue>();
  for (const other of all) {
    if (!other.schemaPath?.startsWith(prefix)) continue;
    const branch = other.schemaPath.slice(prefix.length).split("/")[0] ?? "";
    if (!byBranch.has(branch)) byBranch.set(branch, other);
  }
  const parts = [...byBranch.values()].slice(0, 4).map((b) => `(${explain(b, [], root, name).message})`);
  return parts.length > 0 ? `either ${parts.join(" or ")}` : "";
}

const FORMAT_EXAMPLES: Record<string, string> = {
  duration: "a Go duration such as 30s, 5m or 1h30m",
  "date-time": "an RFC 3339 time such as 2026-01-31T12:00:00Z",
  date: "a date such as 2026-01-31",
  int32: "an integer from -2147483648 to 2147483647",
  byte: "base64-encoded data",
  ipv4: "an IPv4 address such as 192.168.7.10",
  ipv6: "an IPv6 address",
  cidr: "a CIDR such as 192.168.7.0/24",
  quantity: "a quantity such as 500m, 128Mi or 2",
};

function typeNames(types: string): string {
  const names: Record<string, string> = {
    integer: "an integer",
    number: "a number",
    string: "a string",
    boolean: "a boolean (true or false)",
    object: "a mapping",
    array: "a list",
    null: "null",
  };
  return types
    .split(",")
    .filter((t) => t !== "null")
    .map((t) => names[t] ?? t)
    .join(" or ");
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return "a mapping";
}

function sizeOf(value: unknown): number {
  if (typeof value === "string" || Array.isArray(value)) return value.length;
  if (isRecord(value)) return Object.keys(value).length;
  return 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function propertiesOf(schema: unknown): string[] {
  return isRecord(schema) && isRecord(schema.properties) ? Object.keys(schema.properties).sort() : [];
}

/** The known name nearest to a misspelt one, if it is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
