/**
 * Validation of built-in Kubernetes kinds.
 *
 * Types, enums, required fields and formats come from kubernetes-models' precompiled validators.
 * Those accept any extra field, so unknown fields are found separately by walking the object
 * along the field/type tables that @kubernetes/client-node generates for every API type.
 *
 * Both packages are ESM and large, so modules are loaded on demand: load*() loads what a kind
 * needs (once, cached), after which the get/validate functions here are synchronous. require() of
 * ESM is avoided on purpose: under tsx it resolves the packages' import-only exports as CommonJS and fails.
 *
 * Loading the hundreds of small modules a kind needs costs more than validating: so a kind's
 * validator modules are joined into one cached script (core-bundle.ts), and the field tables a
 * kind needs are cached as JSON, both beside the CRD validators (script-cache.ts). Without a
 * usable cache, or for modules of an unexpected shape, they are imported one by one as before.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleSchemaModules, CORE_BUNDLE_MODULE_URL, formatAccess, readModelClass, type FormatAccess } from "./core-bundle.js";
import type { SchemaIssue } from "./messages.js";
import { groupOf, type Scope } from "./metadata.js";
import { defaultValidatorCacheDir, loadCachedScript, readCacheFile, writeCacheFile, type CachedScript } from "./script-cache.js";

async function importFile<T>(file: string): Promise<T> {
  return (await import(pathToFileURL(file).href)) as T;
}

function packageDir(specifier: string): string {
  return dirname(fileURLToPath(import.meta.resolve(specifier)));
}

let modelsRoot: string | undefined;
let clientModelsDir: string | undefined;

// ---- the on-disk cache of bundled validators and field tables ----

let cacheDir: string | null | undefined;

/**
 * Where bundled validators and field tables are cached (null: nowhere). Module-wide, like the
 * validators loaded here: it applies to kinds loaded after the call.
 */
export function setCoreCacheDir(dir: string | null): void {
  cacheDir = dir;
}

function coreCacheDir(): string | null {
  cacheDir ??= defaultValidatorCacheDir();
  return cacheDir;
}

/** The package.json of an installed package: its version is part of the cache keys. */
function packageJsonText(specifier: string): string {
  for (let dir = packageDir(specifier); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const text = readFileSync(file, "utf8");
      if ((JSON.parse(text) as { name?: string }).name === specifier) return text;
    }
  }
  throw new Error(`package.json of ${specifier} not found`);
}

const fingerprints = new Map<string, string | null>();

/** Hash of the inputs that decide a cached artifact; null (no caching) when one cannot be read. */
function fingerprint(kind: string, parts: () => Array<string | Buffer>): string | null {
  let fp = fingerprints.get(kind);
  if (fp === undefined) {
    try {
      const hash = createHash("sha256").update(`${kind}\0`);
      for (const part of parts()) hash.update(part).update("\0");
      fp = hash.digest("hex");
    } catch {
      fp = null;
    }
    fingerprints.set(kind, fp);
  }
  return fp;
}

function cacheKey(fp: string | null, what: string): string | null {
  return fp === null ? null : createHash("sha256").update(fp).update(what).digest("hex").slice(0, 24);
}

type SchemaValidate = ((data: unknown, ctx?: { instancePath: string }) => boolean) & { errors?: unknown };

const bundles: Array<CachedScript<SchemaValidate>> = [];
let apimachinerySchemas: string | undefined;
let formats: { file: string; access: FormatAccess } | undefined;

/** The formats of @kubernetes-models/validate, which the schema modules import (its index re-exports this file). */
function kubernetesModelsFormats(): { file: string; access: FormatAccess } {
  if (!formats) {
    const file = join(packageDir("@kubernetes-models/validate"), "formats.js");
    formats = { file, access: formatAccess(file) };
  }
  return formats;
}

/** The package.json above a resolved file. */
function packageJsonAbove(file: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) return readFileSync(candidate, "utf8");
  }
  throw new Error(`no package.json above ${file}`);
}

/** The `validate` of schema module entryFile and its imports, as one cached script; undefined when they cannot be bundled. */
function loadBundled(entryFile: string, name: string): SchemaValidate | undefined {
  try {
    const { file: formatsFile, access } = kubernetesModelsFormats();
    apimachinerySchemas ??= join(packageDir("@kubernetes-models/apimachinery"), "_schemas");
    const schemasDir = apimachinerySchemas;
    const fp = fingerprint("bundle", () => {
      // Which format comes from where is decided at generation time against these packages.
      const req = createRequire(formatsFile);
      return [
        packageJsonText("kubernetes-models"),
        packageJsonText("@kubernetes-models/apimachinery"),
        packageJsonAbove(formatsFile),
        packageJsonAbove(req.resolve("ajv-formats/dist/formats.js")),
        packageJsonAbove(req.resolve("ajv-formats-draft2019/formats/index.js")),
        // The bundler writes the script and this module calls it: both decide what a cached bundle must be.
        readFileSync(fileURLToPath(CORE_BUNDLE_MODULE_URL)),
        readFileSync(fileURLToPath(import.meta.url)),
      ];
    });
    const script = loadCachedScript({
      cacheDir: coreCacheDir(),
      name,
      key: cacheKey(fp, entryFile),
      generate: () => {
        const source = bundleSchemaModules(entryFile, schemasDir, access);
        if (source === undefined) throw new Error(`${entryFile}: modules of an unexpected shape`);
        return source;
      },
      instantiate: (fn) => {
        const validate = (fn as (access: FormatAccess) => unknown)(access);
        if (typeof validate !== "function") throw new Error(`bundle of ${entryFile} did not produce a function`);
        return validate as SchemaValidate;
      },
    });
    bundles.push(script);
    return script.value;
  } catch {
    return undefined;
  }
}

/** Stores V8's code cache of the bundles this run loaded without one; call after validating. */
export function persistCoreValidators(): void {
  for (const b of bundles) b.persist();
}

let localize: ((errors: unknown) => void) | undefined;

/**
 * ajv-i18n's English messages, which Model.prototype.validate writes onto the errors before it
 * throws them; loaded from where @kubernetes-models/validate loads it, on the first invalid object.
 */
function localizeEn(errors: unknown): void {
  localize ??= createRequire(join(packageDir("@kubernetes-models/validate"), "validate.js"))("ajv-i18n/localize/en/index.js") as (errors: unknown) => void;
  localize(errors);
}

const APIVERSION_RE = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND_RE = /^[A-Z][A-Za-z0-9]*$/;

export type Validator = (obj: unknown) => SchemaIssue[];

interface ModelClass {
  apiVersion?: string;
  kind?: string;
  prototype: { validate(this: unknown): void };
}

const coreCache = new Map<string, Promise<Validator | null>>();
const coreReady = new Map<string, Validator | null>();

/** Imports the validator of a built-in kind; resolves to null when kubernetes-models has no such kind. */
export function loadCoreValidator(apiVersion: string, kind: string): Promise<Validator | null> {
  const key = `${apiVersion}/${kind}`;
  let p = coreCache.get(key);
  if (!p) {
    p = importCoreValidator(apiVersion, kind).then((v) => {
      coreReady.set(key, v);
      return v;
    });
    coreCache.set(key, p);
  }
  return p;
}

/**
 * The validator of a built-in kind after loadCoreValidator() resolved: a function, null when there
 * is no such kind, undefined when it was never loaded.
 */
export function coreValidator(apiVersion: string, kind: string): Validator | null | undefined {
  return coreReady.get(`${apiVersion}/${kind}`);
}

async function importCoreValidator(apiVersion: string, kind: string): Promise<Validator | null> {
  if (!APIVERSION_RE.test(apiVersion) || !KIND_RE.test(kind)) return null;
  modelsRoot ??= packageDir("kubernetes-models");
  const file = join(modelsRoot, ...apiVersion.split("/"), `${kind}.js`);
  if (!existsSync(file)) return null;
  const model = readModelClass(file);
  if (model && model.apiVersion === apiVersion && model.kind === kind) {
    const bundled = loadBundled(model.schemaFile, `core_${apiVersion.replace("/", "_")}_${kind}`);
    if (bundled) {
      const fields = await loadTopLevelFields(apiVersion, kind);
      return (obj: unknown) => {
        const issues: SchemaIssue[] = [];
        // What Model.prototype.validate does, without throwing: run the schema, give the errors English messages.
        if (!bundled(obj) && bundled.errors) {
          localizeEn(bundled.errors);
          if (!Array.isArray(bundled.errors)) throw new Error(`${apiVersion} ${kind}: validator reported errors that are not a list`);
          issues.push(...(bundled.errors as SchemaIssue[]));
        }
        if (fields) unknownFields(obj, fields, "", issues);
        return issues;
      };
    }
  }
  const cls = (await importFile<Record<string, ModelClass | undefined>>(file))[kind];
  // Helper types (e.g. v1/Container) live beside the kinds; only real kinds carry apiVersion/kind.
  if (!cls || cls.apiVersion !== apiVersion || cls.kind !== kind) return null;
  const validate = cls.prototype.validate;
  const fields = await loadTopLevelFields(apiVersion, kind);
  return (obj: unknown) => {
    const issues: SchemaIssue[] = [];
    try {
      // The prototype's validate runs the schema on `this` without copying the object into a model.
      validate.call(obj);
    } catch (err) {
      const errors = (err as { errors?: unknown }).errors;
      if (!Array.isArray(errors)) throw err;
      issues.push(...(errors as SchemaIssue[]));
    }
    if (fields) unknownFields(obj, fields, "", issues);
    return issues;
  };
}

// ---- unknown fields, from @kubernetes/client-node's generated type tables ----

type TypeRef = { t: "leaf" } | { t: "array"; of: TypeRef } | { t: "map"; of: TypeRef } | { t: "model"; name: string };
type FieldTable = Map<string, TypeRef>;

const LEAF: TypeRef = { t: "leaf" };
const tableCache = new Map<string, FieldTable | null>();

function parseType(type: string): TypeRef {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return { t: "array", of: parseType(array[1]!) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { t: "map", of: parseType(map[1]!) };
  if (/^[A-Z][A-Za-z0-9]*$/.test(type) && type !== "Date" && type !== "IntOrString") return { t: "model", name: type };
  return LEAF;
}

const tableLoads = new Map<string, Promise<FieldTable | null>>();

/** Loads the field tables of client-node model types and of every type their fields use, so that the synchronous walk finds them all. */
async function loadFieldTables(roots: readonly string[]): Promise<void> {
  for (const root of roots) await loadFieldClosure(root);
}

/** The field tables reachable from one type: from the JSON cache when present, else imported (and cached). */
async function loadFieldClosure(root: string): Promise<void> {
  if (tableCache.has(root)) return;
  const dir = coreCacheDir();
  const key = cacheKey(
    fingerprint("fields", () => [packageJsonText("@kubernetes/client-node"), "attributeTypeMap v1"]),
    root,
  );
  const file = dir !== null && key !== null ? join(dir, `fields_${root}-${key}.json`) : undefined;
  const cached = file ? readCacheFile(file) : undefined;
  if (cached) {
    try {
      const raw = JSON.parse(cached.toString("utf8")) as Record<string, RawTable | null>;
      for (const [name, attrs] of Object.entries(raw)) installTable(name, attrs);
      if (tableCache.has(root)) return;
    } catch {
      // A damaged file: import below, and write it again.
    }
  }
  await importFieldTables([root]);
  if (file) writeCacheFile(file, JSON.stringify(Object.fromEntries(closureOf(root))));
}

/** [baseName, type] pairs, as in client-node's attributeTypeMap. */
type RawTable = Array<[string, string]>;
const rawTables = new Map<string, RawTable | null>();

function installTable(name: string, attrs: RawTable | null): void {
  if (tableCache.has(name)) return;
  rawTables.set(name, attrs);
  tableCache.set(name, attrs && new Map(attrs.map(([field, type]) => [field, parseType(type)])));
}

function closureOf(root: string): Map<string, RawTable | null> {
  const out = new Map<string, RawTable | null>();
  const queue = [root];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (out.has(name) || !rawTables.has(name)) continue;
    out.set(name, rawTables.get(name)!);
    for (const ref of tableCache.get(name)?.values() ?? []) queue.push(...modelNames(ref));
  }
  return out;
}

/**
 * Imports client-node model types and, transitively, every type their fields use. Breadth-first,
 * because the type graph has cycles (JSONSchemaProps). Types without a model file are leaves.
 */
async function importFieldTables(roots: readonly string[]): Promise<void> {
  let frontier = roots.filter((n) => !tableCache.has(n));
  while (frontier.length > 0) {
    const tables = await Promise.all(frontier.map(importFieldTable));
    const next = new Set<string>();
    for (const table of tables) {
      for (const ref of table?.values() ?? []) for (const n of modelNames(ref)) if (!tableCache.has(n)) next.add(n);
    }
    frontier = [...next];
  }
}

function importFieldTable(name: string): Promise<FieldTable | null> {
  let p = tableLoads.get(name);
  if (!p) {
    p = (async () => {
      clientModelsDir ??= join(packageDir("@kubernetes/client-node"), "gen", "models");
      const file = join(clientModelsDir, `${name}.js`);
      let attrs: RawTable | null = null;
      if (KIND_RE.test(name) && existsSync(file)) {
        type Mod = Record<string, { attributeTypeMap?: { baseName: string; type: string }[] } | undefined>;
        const map = (await importFile<Mod>(file))[name]?.attributeTypeMap;
        if (map) attrs = map.map((a) => [a.baseName, a.type]);
      }
      installTable(name, attrs);
      return tableCache.get(name) ?? null;
    })();
    tableLoads.set(name, p);
  }
  return p;
}

function modelNames(ref: TypeRef): string[] {
  if (ref.t === "model") return [ref.name];
  if (ref.t === "array" || ref.t === "map") return modelNames(ref.of);
  return [];
}

function fieldTable(name: string): FieldTable | null {
  return tableCache.get(name) ?? null;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * client-node names top-level types "<Version><Kind>" (V1Deployment), prefixed with the group
 * where two groups share a kind (CoreV1Event, EventsV1Event).
 */
async function loadTopLevelFields(apiVersion: string, kind: string): Promise<FieldTable | null> {
  const version = capitalize(apiVersion.slice(apiVersion.indexOf("/") + 1));
  const group = groupOf(apiVersion);
  const groupPrefix = group === "" ? "Core" : capitalize(group.split(".")[0]!);
  for (const name of [`${groupPrefix}${version}${kind}`, `${version}${kind}`]) {
    await loadFieldTables([name]);
    const table = fieldTable(name);
    if (table?.has("kind")) return table;
  }
  return null;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Appends an additionalProperties issue for every field of `value` that its API type does not have. */
export function unknownFields(value: unknown, table: FieldTable, pointer: string, issues: SchemaIssue[]): void {
  if (!isRecord(value)) return;
  for (const key in value) {
    const ref = table.get(key);
    if (ref === undefined) {
      // Keys holding undefined are dropped when the object is written out.
      if (value[key] === undefined) continue;
      issues.push({
        instancePath: pointer,
        keyword: "additionalProperties",
        params: { additionalProperty: key },
        knownProperties: [...table.keys()].sort(),
      });
    } else if (ref.t !== "leaf") {
      walk(value[key], ref, `${pointer}/${escapePointer(key)}`, issues);
    }
  }
}

function walk(value: unknown, ref: TypeRef, pointer: string, issues: SchemaIssue[]): void {
  if (ref.t === "model") {
    const table = fieldTable(ref.name);
    if (table) unknownFields(value, table, pointer, issues);
  } else if (ref.t === "array") {
    if (Array.isArray(value) && ref.of.t !== "leaf") {
      for (let i = 0; i < value.length; i++) walk(value[i], ref.of, `${pointer}/${i}`, issues);
    }
  } else if (ref.t === "map") {
    if (isRecord(value) && ref.of.t !== "leaf") {
      for (const key in value) walk(value[key], ref.of, `${pointer}/${escapePointer(key)}`, issues);
    }
  }
}

// ---- ObjectMeta, shared with custom resources ----

type CompiledValidate = ((data: unknown, ctx: { instancePath: string }) => boolean) & { errors?: unknown };
let objectMetaValidate: CompiledValidate | undefined;
let objectMetaLoad: Promise<void> | undefined;

export function loadObjectMetaValidator(): Promise<void> {
  objectMetaLoad ??= (async () => {
    const file = join(packageDir("@kubernetes-models/apimachinery"), "_schemas", "IoK8sApimachineryPkgApisMetaV1ObjectMeta.js");
    objectMetaValidate = (loadBundled(file, "core_ObjectMeta") as CompiledValidate | undefined) ?? (await importFile<{ validate: CompiledValidate }>(file)).validate;
    await loadFieldTables(["V1ObjectMeta"]);
  })();
  return objectMetaLoad;
}

/**
 * Checks metadata against ObjectMeta (types and unknown fields), for custom resources whose
 * schemas leave metadata open. Needs loadObjectMetaValidator() first.
 */
export function validateObjectMeta(metadata: unknown): SchemaIssue[] {
  if (!objectMetaValidate) throw new Error("validateObjectMeta called before loadObjectMetaValidator()");
  const issues: SchemaIssue[] = [];
  if (!objectMetaValidate(metadata, { instancePath: "/metadata" }) && Array.isArray(objectMetaValidate.errors)) {
    issues.push(...(objectMetaValidate.errors as SchemaIssue[]));
  }
  const table = fieldTable("V1ObjectMeta");
  if (table) unknownFields(metadata, table, "/metadata", issues);
  return issues;
}

// ---- scope of built-in kinds ----

const CLUSTER_SCOPED = new Set([
  "/Namespace",
  "/Node",
  "/PersistentVolume",
  "/ComponentStatus",
  "rbac.authorization.k8s.io/ClusterRole",
  "rbac.authorization.k8s.io/ClusterRoleBinding",
  "storage.k8s.io/StorageClass",
  "storage.k8s.io/CSIDriver",
  "storage.k8s.io/CSINode",
  "storage.k8s.io/VolumeAttachment",
  "storage.k8s.io/VolumeAttributesClass",
  "scheduling.k8s.io/PriorityClass",
  "node.k8s.io/RuntimeClass",
  "networking.k8s.io/IngressClass",
  "networking.k8s.io/IPAddress",
  "networking.k8s.io/ServiceCIDR",
  "apiextensions.k8s.io/CustomResourceDefinition",
  "apiregistration.k8s.io/APIService",
  "admissionregistration.k8s.io/MutatingWebhookConfiguration",
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
  "admissionregistration.k8s.io/ValidatingAdmissionPolicy",
  "admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding",
  "admissionregistration.k8s.io/MutatingAdmissionPolicy",
  "admissionregistration.k8s.io/MutatingAdmissionPolicyBinding",
  "certificates.k8s.io/CertificateSigningRequest",
  "certificates.k8s.io/ClusterTrustBundle",
  "flowcontrol.apiserver.k8s.io/FlowSchema",
  "flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration",
  "authentication.k8s.io/TokenReview",
  "authentication.k8s.io/SelfSubjectReview",
  "authorization.k8s.io/SelfSubjectAccessReview",
  "authorization.k8s.io/SelfSubjectRulesReview",
  "authorization.k8s.io/SubjectAccessReview",
  "resource.k8s.io/DeviceClass",
  "resource.k8s.io/ResourceSlice",
  "internal.apiserver.k8s.io/StorageVersion",
  "storagemigration.k8s.io/StorageVersionMigration",
]);

export function coreScope(apiVersion: string, kind: string): Scope {
  return CLUSTER_SCOPED.has(`${groupOf(apiVersion)}/${kind}`) ? "Cluster" : "Namespaced";
}
