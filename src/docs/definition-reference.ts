/**
 * docs/definition.md: every field of every definition file, generated from the zod schemas the loader checks
 * with (through the same JSON Schemas the editor gets), so the reference an error's fix points to can never
 * disagree with what is accepted. Checked for drift together with the tree.
 */
import { z } from "zod";
import { AppFile, ClusterFile, ExceptionsFile, InfraFile } from "../model/schema.js";

export const DEFINITION_REFERENCE = "docs/definition.md";

/** The definition files, in the order an operator meets them; `anchor` is the heading's GitHub anchor. */
export const DEFINITION_FILES: ReadonlyArray<{ file: string; anchor: string; schema: z.ZodType; what: string }> = [
  { file: "definition/cluster.yaml", anchor: "definitionclusteryaml", schema: ClusterFile, what: "the cluster: Minikube profile, GitOps source, network, namespaces" },
  { file: "definition/infrastructure.yaml", anchor: "definitioninfrastructureyaml", schema: InfraFile, what: "the platform services: charts, registry, ChartMuseum, PostgreSQL, monitoring, logging" },
  { file: "definition/apps/<app>.yaml", anchor: "definitionappsappyaml", schema: AppFile, what: "one application: its components, who they talk to, its secrets" },
  { file: "definition/policy-exceptions.yaml", anchor: "definitionpolicy-exceptionsyaml", schema: ExceptionsFile, what: "reasoned exceptions to policy rules (optional file)" },
];

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  default?: unknown;
  description?: string;
}

interface Row {
  field: string;
  type: string;
  required: boolean;
  default?: unknown;
  rule: string;
  description?: string;
}

const alternatives = (s: JsonSchema): JsonSchema[] => s.anyOf ?? s.oneOf ?? [s];

function typeName(s: JsonSchema): string {
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return [...new Set(alts.map(typeName))].join(" or ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === "array") return `list of ${s.items ? typeName(s.items) : "anything"}`;
  if (s.type === "object") return s.properties ? "mapping" : "mapping of name to " + (typeof s.additionalProperties === "object" ? typeName(s.additionalProperties) : "anything");
  if (Array.isArray(s.type)) return s.type.join(" or ");
  return s.type ?? "anything";
}

/** JavaScript's safe-integer bounds are zod's way of saying "an integer"; they are no rule an operator needs. */
const bound = (n: number | undefined) => n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER;

/** The patterns the schema uses over and over, in words (the regular expression of any other is shown as it is). */
const PATTERN_WORDS: Record<string, string> = {
  "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": "a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit",
  // An address from the documentation range (RFC 5737): the platform's own addresses must appear only where they are used (incident 1).
  "^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}$": "an IPv4 address such as 192.0.2.10",
  "^(\\d+(ms|s|m|h))+$": "a duration such as 30s, 10m or 1h30m",
  "^\\d+(\\.\\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$": "a Kubernetes quantity such as 512Mi or 10Gi",
};

function ruleOf(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.enum) parts.push(`one of ${s.enum.map((v) => `\`${String(v)}\``).join(", ")}`);
  if (s.propertyNames?.enum) parts.push(`each name one of ${s.propertyNames.enum.map((v) => `\`${String(v)}\``).join(", ")}`);
  const prefix = s.format === "starts_with" ? /^\^(.*)\.\*$/.exec(s.pattern ?? "")?.[1]?.replace(/\\(.)/g, "$1") : undefined;
  if (prefix !== undefined) parts.push(`starts with \`${prefix}\``);
  else if (s.pattern) parts.push(PATTERN_WORDS[s.pattern] ?? `matches \`${s.pattern}\``);
  if (s.format && prefix === undefined) parts.push(`a ${s.format}`);
  if (s.minLength !== undefined && s.minLength > 0) parts.push(`at least ${s.minLength} character${s.minLength > 1 ? "s" : ""}`);
  if (s.maxLength !== undefined) parts.push(`at most ${s.maxLength} characters`);
  if (bound(s.minimum)) parts.push(`at least ${s.minimum}`);
  if (bound(s.maximum)) parts.push(`at most ${s.maximum}`);
  if (s.minItems) parts.push(`at least ${s.minItems} item${s.minItems > 1 ? "s" : ""}`);
  if (s.items && !s.items.properties && !s.items.anyOf) parts.push(...(ruleOf(s.items) ? [`each ${ruleOf(s.items)}`] : []));
  return parts.join("; ");
}

/** Every field under `s`, depth first, as the dotted paths errors name them (`<name>` for a key you choose, `[]` for a list item). */
function walk(s: JsonSchema, at: string, required: boolean, out: Row[]): void {
  if (at) out.push({ field: at, type: typeName(s), required, ...(s.default !== undefined ? { default: s.default } : {}), rule: ruleOf(s), ...(s.description ? { description: s.description } : {}) });
  for (const alt of alternatives(s)) {
    for (const [key, child] of Object.entries(alt.properties ?? {})) walk(child, at ? `${at}.${key}` : key, (alt.required ?? []).includes(key), out);
    if (alt.type === "object" && !alt.properties && typeof alt.additionalProperties === "object") walk(alt.additionalProperties, `${at}.<name>`, true, out);
    if (alt.type === "array" && alt.items && (alt.items.properties || alt.items.anyOf?.some((x) => x.properties))) walk(alt.items, `${at}[]`, true, out);
  }
}

const cell = (v: string) => v.replace(/\|/g, "\\|").replace(/\n/g, " ");

function fileSection({ file, schema, what }: (typeof DEFINITION_FILES)[number]): string[] {
  const rows: Row[] = [];
  walk(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema, "", true, rows);
  const seen = new Set<string>();
  const unique = rows.filter((r) => !seen.has(r.field) && seen.add(r.field));
  return [
    `## ${file}`,
    "",
    `${what[0]!.toUpperCase()}${what.slice(1)}.`,
    "",
    "| field | type | required | default | rule |",
    "| --- | --- | --- | --- | --- |",
    ...unique
      .map((r) =>
        [`\`${r.field}\``, r.type, r.required && r.default === undefined ? "yes" : "", r.default === undefined ? "" : `\`${JSON.stringify(r.default)}\``, [r.rule, r.description].filter(Boolean).join(". ")]
          .map(cell)
          .join(" | "),
      )
      .map((line) => `| ${line} |`),
    "",
  ];
}

export function renderDefinitionReference(): string {
  return [
    "<!-- Generated by `bk docs` from the definition's schemas (src/model/schema.ts). Do not edit: run `bk docs`. -->",
    "# The definition: every file and field",
    "",
    "The definition is the cluster as data (see the [README](../README.md)); `bk` checks each file against the schema below,",
    "then the rules that relate entries to each other (addresses inside the pool, references that resolve; see",
    "[design.md](design.md)). Errors name the file, line and field, e.g. `components.backend.tag`: find that field here.",
    "Editors that speak yaml-language-server check and complete the same fields from `definition/.schema/`.",
    "",
    "A field path reads like the error messages: `a.b` is field `b` inside `a`, `<name>` a key you choose, `[]` an item of a list",
    "(`[0]` the first, in a message). _Required_ means required inside its parent, when the parent is given at all.",
    "",
    ...DEFINITION_FILES.map((f) => `- [${f.file}](#${f.anchor}): ${f.what}`),
    "",
    ...DEFINITION_FILES.flatMap(fileSection),
  ].join("\n");
}
