/**
 * A chart's values.schema.json applied as Helm applies it. Helm's validator reads the schema's `$schema` and
 * takes a schema without one (or with the draft-less `http://json-schema.org/schema#`) as the latest draft,
 * 2020-12; formats are annotations there, so they are not asserted here either.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";

export interface SchemaError {
  /** The values path the error is at (for a missing or extra property, the property's own path); list indexes are numbers. */
  path: Array<string | number>;
  keyword: string;
  message: string;
  /** What the schema allows there, when it says (an enum's values). */
  allowed?: string;
}

type Draft = "07" | "2019" | "2020";

function draftOf(schema: Record<string, unknown>): Draft {
  const id = typeof schema.$schema === "string" ? schema.$schema : "";
  if (/draft-0[4-7]/.test(id)) return "07";
  if (id.includes("2019-09")) return "2019";
  return "2020";
}

function compileAs(draft: Draft, schema: Record<string, unknown>): ValidateFunction {
  const opts = { strict: false, allErrors: true, validateFormats: false, validateSchema: false } as const;
  // $schema is dropped: the class already is the draft, and ajv rejects spellings it does not know (https://, no draft).
  const { $schema: _, ...body } = schema;
  const ajv = draft === "2020" ? new Ajv2020(opts) : draft === "2019" ? new Ajv2019(opts) : new Ajv(opts);
  return ajv.compile(body);
}

const compiled = new WeakMap<Record<string, unknown>, ValidateFunction>();

function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    try {
      v = compileAs(draftOf(schema), schema);
    } catch {
      // Draft-07 idioms (tuple `items`) in a schema that names no draft: read it as draft-07, as its author did.
      v = compileAs("07", schema);
    }
    compiled.set(schema, v);
  }
  return v;
}

/** The JSON pointer as a path, with the segments that index a list as numbers. */
function pointerPath(pointer: string, values: unknown): Array<string | number> {
  let at = values;
  return pointer
    .split("/")
    .slice(1)
    .map((raw) => {
      const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      const index = Array.isArray(at);
      at = index ? (at as unknown[])[Number(seg)] : typeof at === "object" && at !== null ? (at as Record<string, unknown>)[seg] : undefined;
      return index ? Number(seg) : seg;
    });
}

function toError(e: ErrorObject, values: unknown): SchemaError {
  const path = pointerPath(e.instancePath, values);
  const p = e.params as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[] };
  if (e.keyword === "additionalProperties" && p.additionalProperty !== undefined) return { path: [...path, p.additionalProperty], keyword: e.keyword, message: "is not allowed (additionalProperties is false)" };
  if (e.keyword === "required" && p.missingProperty !== undefined) return { path: [...path, p.missingProperty], keyword: e.keyword, message: "is required" };
  const allowed = p.allowedValues ? p.allowedValues.map((v) => JSON.stringify(v)).join(", ") : undefined;
  return { path, keyword: e.keyword, message: e.message ?? e.keyword, ...(allowed ? { allowed: `one of ${allowed}` } : {}) };
}

/** The schema's errors for `values`, one per path and message. */
export function schemaErrors(schema: Record<string, unknown>, values: unknown): SchemaError[] {
  const validate = validatorFor(schema);
  if (validate(values)) return [];
  const seen = new Set<string>();
  const out: SchemaError[] = [];
  for (const e of validate.errors ?? []) {
    // A oneOf/anyOf failure repeats its branches' errors; those branch errors are what say what to fix.
    if (e.keyword === "oneOf" || e.keyword === "anyOf" || e.keyword === "if") continue;
    const err = toError(e, values);
    const key = `${err.path.join("\0")}\n${err.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(err);
    }
  }
  // A oneOf that failed because two branches passed has no branch errors: then it is the error itself.
  return out.length ? out : (validate.errors ?? []).slice(0, 1).map((e) => toError(e, values));
}
