/**
 * Sealing and unsealing SealedSecrets (bitnami.com/v1alpha1) exactly as kubeseal and the controller do,
 * so values sealed here open in the cluster and values sealed by kubeseal open here (recovery, pre-flight checks).
 * Pure: no disk or network I/O.
 */
import type { KeyObject } from "node:crypto";
import { CheckFailedError } from "../core/errors.js";
import { objectRef, type KubeObject } from "../core/object.js";
import { decodeStdBase64 } from "./base64.js";
import { hybridDecrypt, hybridEncrypt, TooShortError } from "./hybrid.js";
import { certificateInfo, publicKeyFromCertificate, toPrivateKeys } from "./keys.js";
import { scopeFromAnnotations, scopeLabel, withScopeAnnotations, type SealingScope } from "./scope.js";

export const SEALED_SECRET_API_VERSION = "bitnami.com/v1alpha1";
export const SEALED_SECRET_KIND = "SealedSecret";

/** The controller's own wording, kept so operators recognise the failure from its logs. */
export const NO_KEY_COULD_DECRYPT = "no key could decrypt secret";

/** Annotations that hold a full copy of an applied object; kubeseal strips them so plaintext never leaks into Git. */
const LAST_APPLIED_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration", "kubecfg.ksonnet.io/last-applied-configuration"];

const SECRET_KEY_NAME = /^[-._a-zA-Z0-9]+$/;

export type PrivateKeyInput = readonly (KeyObject | string)[] | KeyObject | string;

function sortedRecord<T>(rec: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(rec).sort()) out[k] = rec[k] as T;
  return out;
}

/** The sealing public key, refusing an expired certificate as kubeseal does (the controller has rotated away from it). */
function sealingKey(certPem: string, now: Date): KeyObject {
  const info = certificateInfo(certPem);
  if (now.getTime() > info.notAfter.getTime()) {
    throw new Error(`sealing certificate (${info.subject}, ${info.publicKeyFingerprint}) expired on ${info.notAfter.toISOString()}; ` + "fetch the controller's current certificate with kubeseal --fetch-cert");
  }
  return publicKeyFromCertificate(certPem);
}

/** Seals one value for a scope label; returns the base64 that goes into spec.encryptedData (same as kubeseal --raw). */
export function sealValue(certPem: string, label: string, plaintext: Buffer, opts: { now?: Date } = {}): string {
  const key = sealingKey(certPem, opts.now ?? new Date());
  return hybridEncrypt(key, plaintext, label).toString("base64");
}

/** Opens one spec.encryptedData value with the first private key that fits; throws "no key could decrypt secret" otherwise. */
export function unsealValue(privateKeys: PrivateKeyInput, label: string, b64: string): Buffer {
  const keys = toPrivateKeys(privateKeys);
  const plaintext = hybridDecrypt(keys, decodeStdBase64(b64, "sealed value"), label);
  if (plaintext === undefined) {
    throw new Error(`${NO_KEY_COULD_DECRYPT} (scope label ${JSON.stringify(label)}, tried ${keys.length} private key(s))`);
  }
  return plaintext;
}

export interface SealSecretOptions {
  certPem: string;
  namespace: string;
  name: string;
  scope?: SealingScope;
  data: Record<string, string | Buffer>;
  type?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  immutable?: boolean;
  /** kubeseal refuses an empty Secret unless told (--allow-empty-data); so do we. */
  allowEmptyData?: boolean;
  /** Clock for the certificate expiry check (tests). */
  now?: Date;
}

/**
 * Builds the SealedSecret kubeseal would produce for this Secret. Maps are emitted with sorted keys so the
 * surrounding YAML is stable; the ciphertexts themselves are random on every call.
 * As with kubeseal, labels/annotations go to spec.template (the Secret the controller creates); the
 * SealedSecret's own metadata carries only the scope annotation, which is what the controller reads to derive the label.
 */
export function sealSecret(opts: SealSecretOptions): KubeObject {
  const scope = opts.scope ?? "strict";
  const where = `SealedSecret ${opts.namespace ? `${opts.namespace}/` : ""}${opts.name}`;
  if (!opts.name) throw new Error("sealSecret: name is empty; a SealedSecret needs metadata.name");
  if (!opts.namespace && scope !== "cluster-wide") {
    throw new Error(`${where}: namespace is empty; only a cluster-wide secret may omit it`);
  }
  const entries = Object.keys(opts.data).sort();
  if (entries.length === 0 && !opts.allowEmptyData) {
    throw new Error(`${where}: data is empty; pass allowEmptyData: true if an empty Secret is intended`);
  }
  for (const k of entries) {
    if (!SECRET_KEY_NAME.test(k)) {
      throw new Error(`${where}: data key ${JSON.stringify(k)} is not a valid Secret key (allowed: letters, digits, '-', '_', '.')`);
    }
  }

  const key = sealingKey(opts.certPem, opts.now ?? new Date());
  const label = scopeLabel(scope, opts.namespace, opts.name);
  const encryptedData: Record<string, string> = {};
  for (const k of entries) {
    const v = opts.data[k]!;
    encryptedData[k] = hybridEncrypt(key, typeof v === "string" ? Buffer.from(v, "utf8") : v, label).toString("base64");
  }

  const userAnnotations = { ...(opts.annotations ?? {}) };
  for (const a of LAST_APPLIED_ANNOTATIONS) delete userAnnotations[a];
  const templateAnnotations = withScopeAnnotations(userAnnotations, scope);
  const scopeOnly = withScopeAnnotations(undefined, scope);

  const templateMeta: Record<string, unknown> = { name: opts.name };
  if (opts.namespace) templateMeta.namespace = opts.namespace;
  if (Object.keys(templateAnnotations).length > 0) templateMeta.annotations = sortedRecord(templateAnnotations);
  if (opts.labels && Object.keys(opts.labels).length > 0) templateMeta.labels = sortedRecord(opts.labels);

  const template: Record<string, unknown> = { metadata: templateMeta, type: opts.type ?? "Opaque" };
  if (opts.immutable !== undefined) template.immutable = opts.immutable;

  const metadata: KubeObject["metadata"] = { name: opts.name };
  if (opts.namespace) metadata.namespace = opts.namespace;
  if (Object.keys(scopeOnly).length > 0) metadata.annotations = scopeOnly;

  return {
    apiVersion: SEALED_SECRET_API_VERSION,
    kind: SEALED_SECRET_KIND,
    metadata,
    spec: { encryptedData, template },
  };
}

/** Thrown when some values of a SealedSecret cannot be opened; names the object and every failing key. */
export class UnsealError extends CheckFailedError {
  constructor(
    readonly sealedSecret: string,
    readonly failedKeys: string[],
    readonly scope: SealingScope,
    readonly label: string,
    readonly triedKeys: number,
    readonly details: Record<string, string>,
  ) {
    super(
      `${sealedSecret}: ${NO_KEY_COULD_DECRYPT} for key(s) ${failedKeys.map((k) => JSON.stringify(k)).join(", ")} ` +
        `(scope ${scope}, label ${JSON.stringify(label)}, tried ${triedKeys} private key(s))` +
        Object.entries(details)
          .map(([k, d]) => `; ${k}: ${d}`)
          .join("") +
        ". Either it was sealed with a controller key not in this set (restore the key backup, or re-seal with the current certificate), " +
        "or it was sealed for another name/namespace/scope (re-seal it for this one).",
    );
    this.name = "UnsealError";
  }
}

export interface UnsealedSecret {
  data: Record<string, Buffer>;
  type?: string;
  /** spec.template.data keys (Go templates rendered by the controller); listed, not rendered here. */
  templatedKeys: string[];
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Opens every spec.encryptedData value the way the controller does: the scope comes from the SealedSecret's
 * own metadata annotations and the label from its own name/namespace, so a secret moved to another name fails.
 */
export function unsealSecret(sealed: KubeObject, privateKeys: PrivateKeyInput): UnsealedSecret {
  const ref = objectRef(sealed);
  if (sealed.kind !== SEALED_SECRET_KIND) throw new Error(`${ref}: expected kind ${SEALED_SECRET_KIND}`);
  const spec = asRecord(sealed.spec);
  if (!spec) throw new Error(`${ref}: has no spec`);
  if (spec.data !== undefined && spec.data !== null) {
    throw new Error(`${ref}: uses the deprecated spec.data (whole-Secret v1 format); re-seal it into spec.encryptedData`);
  }
  const encrypted = asRecord(spec.encryptedData) ?? {};
  const template = asRecord(spec.template);
  const keys = toPrivateKeys(privateKeys);
  const scope = scopeFromAnnotations(sealed.metadata.annotations);
  const label = scopeLabel(scope, sealed.metadata.namespace ?? "", sealed.metadata.name);

  const data: Record<string, Buffer> = {};
  const failed: string[] = [];
  const details: Record<string, string> = {};
  for (const k of Object.keys(encrypted).sort()) {
    const v = encrypted[k];
    try {
      if (typeof v !== "string") throw new Error(`spec.encryptedData["${k}"] is not a string`);
      const plaintext = hybridDecrypt(keys, decodeStdBase64(v, `spec.encryptedData["${k}"]`), label);
      if (plaintext === undefined) failed.push(k);
      else data[k] = plaintext;
    } catch (err) {
      failed.push(k);
      details[k] = err instanceof TooShortError ? err.message : (err as Error).message;
    }
  }
  if (failed.length > 0) throw new UnsealError(ref, failed, scope, label, keys.length, details);

  const result: UnsealedSecret = { data, templatedKeys: Object.keys(asRecord(template?.data) ?? {}).sort() };
  if (typeof template?.type === "string") result.type = template.type;
  return result;
}
