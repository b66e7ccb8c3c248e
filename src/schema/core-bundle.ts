/**
 * kubernetes-models ships one ES module per API type, each ajv's standalone output for that type.
 * A Deployment's validator pulls in about 150 of them, and importing them one by one costs about
 * 100 ms of every run. Their shape is uniform: imports of other types' `validate`, at most one
 * import of `formats`, exactly one `export const validate=validateN;`, and no import cycles. So the
 * modules a kind needs are joined here into one function expression, which script-cache.ts keeps
 * on disk with V8's code cache. Every module is checked for that shape first; anything else makes
 * bundleSchemaModules() return undefined, and the caller imports the modules as before.
 *
 * The `formats` those modules import come from @kubernetes-models/validate, whose module pulls in
 * two dozen more (ajv-formats-draft2019, uri-js, is-cidr, ...) for formats the schemas hardly use.
 * A bundle takes each format it uses from where that module got it: the very object of ajv-formats
 * when it is one (int32, date-time, ...), a copy of a plain regular-expression format (quantity),
 * and anything else from the real module, loaded on first use (byte). Which is which is decided
 * when the bundle is generated, by comparing with the real module.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

/** This module's own file: its text is part of the bundle cache key (core.ts). */
export const CORE_BUNDLE_MODULE_URL = import.meta.url;

const IMPORT_VALIDATE = /import\{validate as (validate\d+)\}from"([^"]+)";?/g;
const IMPORT_FORMATS = /import\{formats\}from"@kubernetes-models\/validate";?/g;
const EXPORT_VALIDATE = /export const validate=(validate\d+);/g;
const APIMACHINERY_SCHEMAS = "@kubernetes-models/apimachinery/_schemas/";
const RESERVED = /__bk[A-Z]/;
const FORMAT_USE = /\bformats(?:\.([A-Za-z_$][\w$]*)|\["([^"\\]+)"\])/g;

/** Where a bundle gets its formats at run time (see the header). */
export interface FormatAccess {
  /** ajv-formats' fullFormats entry, as @kubernetes-models/validate spreads it into its formats. */
  ajv(name: string): unknown;
  /** A format of the real module, which is loaded when the format is first applied. */
  lazy(name: string, type: unknown): object;
  /** The real module's formats, loaded now. */
  all(): Record<string, unknown>;
  /** True once the real module has been loaded. */
  loadedReal(): boolean;
}

/** Formats as the schema modules see them, taken from `formatsFile` (@kubernetes-models/validate's dist/formats.js). */
export function formatAccess(formatsFile: string): FormatAccess {
  const req = createRequire(formatsFile);
  let real: Record<string, unknown> | undefined;
  let ajv: Record<string, unknown> | undefined;
  // require() of this ES module is synchronous (Node >= 20.19/22.12); it has no top-level await.
  const all = () => {
    real ??= (req(formatsFile) as { formats: Record<string, unknown> }).formats;
    return real;
  };
  return {
    ajv: (name) => {
      ajv ??= (req("ajv-formats/dist/formats.js") as { fullFormats: Record<string, unknown> }).fullFormats;
      return ajv[name];
    },
    lazy: (name, type) => ({
      type,
      get validate() {
        return (all()[name] as { validate: unknown }).validate;
      },
    }),
    all,
    loadedReal: () => real !== undefined,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof RegExp);
}

/**
 * The expression a bundle evaluates for one format, checked against the real formats now. The
 * generated validators only ever read `.validate` of a format object (and call it, or .test() it).
 */
function formatExpression(name: string, access: FormatAccess): string {
  const real = access.all()[name];
  const key = JSON.stringify(name);
  if (real !== undefined && real === access.ajv(name)) return `__bkFormatAccess.ajv(${key})`;
  if (!isRecord(real) || !("validate" in real)) return `__bkFormatAccess.all()[${key}]`;
  const keys = Object.keys(real).sort().join(",");
  const v = real.validate;
  if (keys === "type,validate" && typeof real.type === "string" && v instanceof RegExp && !/[gy]/.test(v.flags)) {
    return `{type:${JSON.stringify(real.type)},validate:new RegExp(${JSON.stringify(v.source)},${JSON.stringify(v.flags)})}`;
  }
  return `__bkFormatAccess.lazy(${key},${JSON.stringify(real.type ?? null)})`;
}

/** What a generated kind class of kubernetes-models says about itself. */
export interface ModelClass {
  apiVersion: string;
  kind: string;
  /** Absolute path of the kind's schema module (<package>/_schemas/...). */
  schemaFile: string;
}

const MODEL_CLASS =
  /^import\{createTypeMetaGuard,Model,setValidateFunc\}from"@kubernetes-models\/base";import\{validate\}from"(\.[^"]+\.js)";export class (\w+) extends Model\{static\{this\.apiVersion="([^"]+)"\}static\{this\.kind="([^"]+)"\}/;

/** Reads a kind's class module without importing it; undefined when it is not a plain generated kind class. */
export function readModelClass(file: string): ModelClass | undefined {
  const m = MODEL_CLASS.exec(readFileSync(file, "utf8"));
  if (!m || m[2] !== m[4]) return undefined;
  return { apiVersion: m[3]!, kind: m[4]!, schemaFile: resolve(dirname(file), m[1]!) };
}

interface ModuleText {
  file: string;
  deps: Array<{ local: string; file: string }>;
  usesFormats: boolean;
  /** Format names read as formats.x or formats["x"]; undefined when `formats` is used some other way. */
  formatNames: string[] | undefined;
  exported: string;
  /** The module's code with its import and export statements taken out. */
  body: string;
}

function count(re: RegExp, text: string): number {
  return text.match(re)?.length ?? 0;
}

function parseModule(file: string, apimachinerySchemas: string): ModuleText | undefined {
  const text = readFileSync(file, "utf8");
  if (RESERVED.test(text)) return undefined;
  const deps: ModuleText["deps"] = [];
  for (const m of text.matchAll(IMPORT_VALIDATE)) {
    const spec = m[2]!;
    let target: string;
    if (spec.startsWith("./") || spec.startsWith("../")) target = resolve(dirname(file), spec);
    else if (spec.startsWith(APIMACHINERY_SCHEMAS) && /^[A-Za-z0-9]+$/.test(spec.slice(APIMACHINERY_SCHEMAS.length))) {
      target = join(apimachinerySchemas, `${spec.slice(APIMACHINERY_SCHEMAS.length)}.js`);
    } else return undefined;
    if (!existsSync(target)) return undefined;
    deps.push({ local: m[1]!, file: target });
  }
  const formatImports = count(IMPORT_FORMATS, text);
  const exports = [...text.matchAll(EXPORT_VALIDATE)];
  // Every import/export statement must be one of the shapes above, or the text is not what this module understands.
  if (count(/\bimport\b/g, text) !== deps.length + formatImports || formatImports > 1) return undefined;
  if (count(/\bexport\b/g, text) !== 1 || exports.length !== 1) return undefined;
  const exported = exports[0]![1]!;
  // The exported name is a hoisted function declaration, so it may be referenced before its definition.
  if (!text.includes(`function ${exported}(`)) return undefined;
  const body = text.replace(IMPORT_VALIDATE, "").replace(IMPORT_FORMATS, "").replace(EXPORT_VALIDATE, `const __bkExports={validate:${exported}};`);
  const uses = [...body.matchAll(FORMAT_USE)].map((m) => m[1] ?? m[2]!);
  const formatNames = uses.length === count(/\bformats\b/g, body) ? uses : undefined;
  return { file, deps, usesFormats: formatImports === 1, formatNames, exported, body };
}

/**
 * One function expression `(function (__bkFormatAccess) { ... })`, to be called with a
 * formatAccess(), that evaluates the schema module `entryFile` and everything it imports, in
 * dependency order, and returns its `validate`.
 */
export function bundleSchemaModules(entryFile: string, apimachinerySchemas: string, access: FormatAccess): string | undefined {
  const order: ModuleText[] = [];
  const index = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (file: string): boolean => {
    if (index.has(file)) return true;
    if (visiting.has(file)) return false; // a cycle: ES modules allow it, this bundle does not
    visiting.add(file);
    const mod = parseModule(file, apimachinerySchemas);
    if (!mod) return false;
    for (const dep of mod.deps) if (!visit(dep.file)) return false;
    visiting.delete(file);
    index.set(file, order.length);
    order.push(mod);
    return true;
  };
  if (!visit(entryFile)) return undefined;

  const root = dirname(dirname(entryFile));
  const parts = ["(function (__bkFormatAccess) {", '"use strict";'];
  const users = order.filter((m) => m.usesFormats);
  if (users.some((m) => m.formatNames === undefined)) parts.push("const __bkFormats = __bkFormatAccess.all();");
  else {
    const names = [...new Set(users.flatMap((m) => m.formatNames!))].sort();
    parts.push(`const __bkFormats = {${names.map((n) => `${JSON.stringify(n)}:${formatExpression(n, access)}`).join(",")}};`);
  }
  parts.push("const __bkM = [];");
  for (const [i, mod] of order.entries()) {
    // ES module imports are hoisted; so are these bindings, ahead of the module's own code.
    const bindings = mod.deps.map((d) => `const ${d.local}=__bkM[${index.get(d.file)!}].validate;`);
    if (mod.usesFormats) bindings.push("const formats=__bkFormats;");
    parts.push(`// ${relative(root, mod.file)}`, `__bkM[${i}] = (() => {`, ...bindings, mod.body, "return __bkExports;", "})();");
  }
  parts.push(`return __bkM[${order.length - 1}].validate;`, "})");
  return `// Generated by beckerkube from kubernetes-models' schema modules; safe to delete.\n${parts.join("\n")}\n`;
}
