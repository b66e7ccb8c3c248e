/**
 * Rewrites a Kubernetes structural schema (a CRD's openAPIV3Schema) into plain JSON Schema whose
 * verdicts match what the API server keeps, so ajv can check it:
 *
 * - Objects are closed (additionalProperties: false) unless they declare additionalProperties or
 *   x-kubernetes-preserve-unknown-fields. The API server prunes unknown fields silently; a typo
 *   such as spec.intervall would vanish on apply, so here it is an error.
 * - x-kubernetes-int-or-string becomes type [integer, string].
 * - nullable adds null to the type (and to enum).
 * - x-kubernetes-embedded-resource objects implicitly allow apiVersion, kind and metadata.
 * - The root implicitly allows apiVersion, kind and metadata; metadata is left open here because
 *   it is checked against ObjectMeta separately.
 * - x-kubernetes-validations (CEL rules) are ignored: evaluating CEL needs a CEL runtime, and the
 *   API server enforces them on apply anyway. x-kubernetes-list-type/map-keys are not checked either.
 * - Formats this module does not know are removed (the API server ignores unknown formats too).
 *
 * Closing only applies to nodes reached through properties/items/additionalProperties. Branches of
 * allOf/anyOf/oneOf/not only add value checks in a structural schema (often just `required`), so
 * closing them would reject valid objects.
 */

type Schema = Record<string, unknown>;

/** This module's own file: its text is part of the compiled-validator cache key (standalone.ts). */
export const STRUCTURAL_MODULE_URL = import.meta.url;

function isSchema(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const IMPLICIT_RESOURCE_FIELDS: Record<string, Schema> = {
  apiVersion: { type: "string" },
  kind: { type: "string" },
  metadata: { type: "object" },
};

export function toAjvSchema(root: Schema, knownFormats: ReadonlySet<string>): Schema {
  return convert(root, true, knownFormats, true);
}

/** apiVersion/kind keep their declared constraints when present; metadata is always open. */
function withResourceFields(properties: unknown): Schema {
  return { ...IMPLICIT_RESOURCE_FIELDS, ...(isSchema(properties) ? properties : {}), metadata: { type: "object" } };
}

function convert(node: Schema, structural: boolean, formats: ReadonlySet<string>, isRoot = false): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("x-kubernetes-") || key === "nullable" || key === "description") continue;
    if (key === "format" && typeof value === "string" && !formats.has(value)) continue;
    if (key === "properties" && isSchema(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSchema(v) ? convert(v, structural, formats) : v]));
    } else if ((key === "items" || key === "additionalProperties") && isSchema(value)) {
      out[key] = convert(value, structural, formats);
    } else if ((key === "allOf" || key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
      out[key] = value.map((v) => (isSchema(v) ? convert(v, false, formats) : v));
    } else if (key === "not" && isSchema(value)) {
      out.not = convert(value, false, formats);
    } else {
      out[key] = value;
    }
  }

  if (node["x-kubernetes-int-or-string"] === true) {
    out.type = ["integer", "string"];
    // The generated CRDs spell int-or-string also as anyOf [integer, string]; the type says it already.
    if (Array.isArray(out.anyOf) && out.anyOf.every((b) => isSchema(b) && Object.keys(b).every((k) => k === "type"))) {
      delete out.anyOf;
    }
  }

  if (node.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    else if (Array.isArray(out.type)) out.type = [...out.type, "null"];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }

  const isObject = out.type === "object" || (out.type === undefined && isSchema(out.properties));
  if (structural && isObject) {
    if (isRoot || node["x-kubernetes-embedded-resource"] === true) out.properties = withResourceFields(out.properties);
    if (node["x-kubernetes-preserve-unknown-fields"] !== true && out.additionalProperties === undefined) {
      out.additionalProperties = false;
    }
  }
  return out;
}
