/**
 * Schema validation of synthesized objects for `bk validate`: every object is checked against the
 * schema of its apiVersion/kind (built-in kinds via kubernetes-models, custom kinds via the CRDs
 * in schemas/crds) and against the metadata rules of the API server.
 *
 * The validators of a kind are imported and compiled on first use, hence the async entry points;
 * after prepare() the *Sync methods validate without awaiting (for hot loops and benchmarks).
 */
import type { Finding } from "../core/finding.js";
import type { KubeObject, PlacedObject } from "../core/object.js";
import { coreScope, coreValidator, loadCoreValidator, loadObjectMetaValidator, persistCoreValidators, setCoreCacheDir, validateObjectMeta } from "./core.js";
import { CrdSchemas } from "./crd.js";
import { checkMetadata, type Scope } from "./metadata.js";
import { explainIssues, type Explained, type SchemaIssue } from "./messages.js";

export type { Scope } from "./metadata.js";

export interface SchemaValidatorOptions {
  /** Folder holding index.json and the per-kind CRD schemas; defaults to <package root>/schemas/crds. */
  schemasDir?: string;
  /**
   * Where compiled validators are cached between runs; null disables the cache. Default:
   * ${XDG_CACHE_HOME:-~/.cache}/beckerkube/validators. Built-in kinds are loaded once per process,
   * so for them the setting is process-wide and applies to kinds not loaded yet.
   */
  validatorCacheDir?: string | null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** objectRef() for objects that may be malformed: never throws. */
function safeRef(obj: Record<string, unknown>): string {
  const kind = typeof obj.kind === "string" ? obj.kind : "<no kind>";
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === "string" ? meta.name : "<no name>";
  return typeof meta.namespace === "string" && meta.namespace !== "" ? `${kind}/${meta.namespace}/${name}` : `${kind}/${name}`;
}

export class SchemaValidator {
  private readonly crds: CrdSchemas;

  constructor(options: SchemaValidatorOptions = {}) {
    this.crds = new CrdSchemas(options.schemasDir, options.validatorCacheDir === undefined ? {} : { cacheDir: options.validatorCacheDir });
    if (options.validatorCacheDir !== undefined) setCoreCacheDir(options.validatorCacheDir);
  }

  /** Scope of a kind, or undefined when no schema knows it. */
  async scopeOf(apiVersion: string, kind: string): Promise<Scope | undefined> {
    const entry = this.crds.entry(apiVersion, kind);
    if (entry) return entry.scope;
    return (await loadCoreValidator(apiVersion, kind)) ? coreScope(apiVersion, kind) : undefined;
  }

  /** Imports/compiles everything needed to validate these objects synchronously. */
  async prepare(objects: Iterable<KubeObject>): Promise<void> {
    const loads = new Map<string, Promise<unknown>>();
    for (const obj of objects) {
      const { apiVersion, kind } = obj as { apiVersion: unknown; kind: unknown };
      if (typeof apiVersion !== "string" || typeof kind !== "string") continue;
      const key = `${apiVersion}/${kind}`;
      if (loads.has(key)) continue;
      const entry = this.crds.entry(apiVersion, kind);
      if (entry) {
        this.crds.validator(entry);
        loads.set(key, loadObjectMetaValidator());
      } else {
        loads.set(key, loadCoreValidator(apiVersion, kind));
      }
    }
    await Promise.all(loads.values());
  }

  async validateObject(obj: KubeObject): Promise<Finding[]> {
    await this.prepare([obj]);
    const findings = this.validateObjectSync(obj);
    this.persistCompiled();
    return findings;
  }

  async validateObjects(objects: readonly PlacedObject[]): Promise<Finding[]> {
    await this.prepare(objects.map((p) => p.object));
    const findings = this.validateObjectsSync(objects);
    this.persistCompiled();
    return findings;
  }

  /**
   * Keeps the validators compiled so far for the next run (see standalone.ts). The async methods
   * call it; callers of the *Sync methods may call it once they are done validating.
   */
  persistCompiled(): void {
    this.crds.persistCompiled();
    persistCoreValidators();
  }

  validateObjectsSync(objects: readonly PlacedObject[]): Finding[] {
    const findings: Finding[] = [];
    for (const { object, file } of objects) {
      for (const f of this.validateObjectSync(object)) findings.push({ ...f, file });
    }
    return findings;
  }

  /** Findings for one object, `file` left unset; its kind must have been through prepare(). */
  validateObjectSync(obj: KubeObject): Finding[] {
    const o = obj as unknown as Record<string, unknown>;
    const object = safeRef(o);
    const apiVersion = o.apiVersion;
    const kind = o.kind;
    if (typeof apiVersion !== "string" || apiVersion === "" || typeof kind !== "string" || kind === "") {
      return [
        {
          rule: "schema/unknown-kind",
          severity: "error",
          message: "object has no apiVersion or kind",
          fix: "set apiVersion and kind on the object",
          object,
        },
      ];
    }

    let scope: Scope;
    let issues: SchemaIssue[];
    const entry = this.crds.entry(apiVersion, kind);
    if (entry) {
      scope = entry.scope;
      issues = this.crds.validate(entry, obj);
      if (isRecord(o.metadata)) issues.push(...validateObjectMeta(o.metadata));
    } else {
      const core = coreValidator(apiVersion, kind);
      if (core === undefined) throw new Error(`${apiVersion} ${kind}: validator not loaded; call prepare() first`);
      if (core === null) {
        return [
          {
            rule: "schema/unknown-kind",
            severity: "error",
            message: `no schema for ${apiVersion} ${kind}: add its CRD to ../shared/crds and run gen:schemas`,
            fix: `check apiVersion/kind for typos; if ${kind} is a custom resource, put its CustomResourceDefinition under ../shared/crds and run "npm run gen:schemas"`,
            object,
          },
        ];
      }
      scope = coreScope(apiVersion, kind);
      issues = core(obj);
    }

    const explained: Explained[] = [];
    if (isRecord(o.metadata)) {
      explained.push(...checkMetadata(apiVersion, kind, o.metadata, scope));
    } else {
      explained.push({ field: "metadata", message: "metadata is missing or not a mapping", fix: "set metadata.name (and metadata.namespace for namespaced kinds)" });
    }
    // A metadata field already reported by the metadata rules needs no second, schema-worded finding.
    const reported = new Set(explained.map((e) => e.field));
    for (const e of explainIssues(issues, obj, { kind, apiVersion })) {
      if (!reported.has(e.field) || !e.field.startsWith("metadata")) explained.push(e);
    }

    const rule = `schema/${kind}`;
    return explained.map((e) => {
      const f: Finding = { rule, severity: "error", message: e.message, fix: e.fix, object };
      if (e.field !== "") f.field = e.field;
      return f;
    });
  }
}

let defaultValidator: SchemaValidator | undefined;

function shared(): SchemaValidator {
  defaultValidator ??= new SchemaValidator();
  return defaultValidator;
}

/** Findings (all severity error, rule "schema/<Kind>" or "schema/unknown-kind") for every object. */
export function validateObjects(objects: readonly PlacedObject[]): Promise<Finding[]> {
  return shared().validateObjects(objects);
}

/** Findings for one object, without `file`. */
export function validateObject(obj: KubeObject): Promise<Finding[]> {
  return shared().validateObject(obj);
}

/** Scope of a kind per the schemas ("Namespaced"/"Cluster"), or undefined for an unknown kind. */
export function schemaScope(apiVersion: string, kind: string): Promise<Scope | undefined> {
  return shared().scopeOf(apiVersion, kind);
}
