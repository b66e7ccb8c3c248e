/**
 * Sealing scopes and the RSA-OAEP label each one binds a ciphertext to.
 * The label is what stops a ciphertext from being replayed under another name or namespace:
 * decryption only succeeds with the exact label used when sealing.
 */

export type SealingScope = "strict" | "namespace-wide" | "cluster-wide";

export const SEALING_SCOPES: readonly SealingScope[] = ["strict", "namespace-wide", "cluster-wide"];

export const NAMESPACE_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/namespace-wide";
export const CLUSTER_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/cluster-wide";

/** strict: "<namespace>/<name>", namespace-wide: "<namespace>", cluster-wide: "" (as the controller derives it). */
export function scopeLabel(scope: SealingScope, namespace: string, name: string): string {
  switch (scope) {
    case "cluster-wide":
      return "";
    case "namespace-wide":
      return namespace;
    case "strict":
      return `${namespace}/${name}`;
  }
}

/**
 * The scope an object declares through its annotations. Cluster-wide wins over namespace-wide,
 * and only the literal string "true" counts, matching the controller.
 */
export function scopeFromAnnotations(annotations: Record<string, string> | undefined): SealingScope {
  if (annotations?.[CLUSTER_WIDE_ANNOTATION] === "true") return "cluster-wide";
  if (annotations?.[NAMESPACE_WIDE_ANNOTATION] === "true") return "namespace-wide";
  return "strict";
}

/** A copy of `annotations` whose scope annotations express exactly `scope` (strict carries none). */
export function withScopeAnnotations(annotations: Record<string, string> | undefined, scope: SealingScope): Record<string, string> {
  const out: Record<string, string> = { ...(annotations ?? {}) };
  delete out[NAMESPACE_WIDE_ANNOTATION];
  delete out[CLUSTER_WIDE_ANNOTATION];
  if (scope === "namespace-wide") out[NAMESPACE_WIDE_ANNOTATION] = "true";
  if (scope === "cluster-wide") out[CLUSTER_WIDE_ANNOTATION] = "true";
  return out;
}

export function isSealingScope(value: string): value is SealingScope {
  return (SEALING_SCOPES as readonly string[]).includes(value);
}
