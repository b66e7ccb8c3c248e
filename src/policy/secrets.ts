/**
 * Secrets never reach Git in plaintext: no Secret objects in the tree (they are sealed instead), and no
 * credential written as a literal into any other object, HelmRelease values included.
 */
import type { KubeObject } from "../core/object.js";
import { hitField, scanForCredentials } from "./credential-scan.js";
import { apiGroup } from "../core/pod-spec.js";
import type { PolicyRule } from "./rule.js";

function isSecret(obj: KubeObject): boolean {
  return obj.kind === "Secret" && apiGroup(obj) === "";
}

function isSealedSecret(obj: KubeObject): boolean {
  return obj.kind === "SealedSecret" && apiGroup(obj) === "bitnami.com";
}

const plaintextSecret: PolicyRule = {
  id: "secrets/plaintext-secret",
  description: "No Secret object in the tree: secrets are committed only as SealedSecrets.",
  check(obj) {
    if (!isSecret(obj)) return [];
    return [
      {
        severity: "error",
        message: "a Secret would be committed to Git in plaintext (base64 is an encoding, not encryption)",
        fix: "seal it with `bk secrets seal` and commit the resulting SealedSecret instead",
      },
    ];
  },
};

const credentialLiteral: PolicyRule = {
  id: "secrets/credential-literal",
  description: "No credential-looking literal (keys, tokens, passwords) in any string of any object, HelmRelease values included.",
  check(obj) {
    // A Secret is reported whole by secrets/plaintext-secret; its fields would only repeat that.
    if (isSecret(obj)) return [];
    const sealed = isSealedSecret(obj);
    // SealedSecret payloads are ciphertext (spec.encryptedData, and spec.data in the old single-blob format).
    const skip = (path: ReadonlyArray<string | number>): boolean => sealed && path.length === 2 && path[0] === "spec" && (path[1] === "encryptedData" || path[1] === "data");
    return scanForCredentials(obj, skip).map((hit) => ({
      severity: "error" as const,
      field: hitField(hit),
      // Never echo the value: the finding itself ends up in logs and CI output.
      message: `holds what looks like ${hit.kind}${hit.line !== undefined ? ` (line ${hit.line} of the value)` : ""}, written in plaintext`,
      fix: "move the value into a secret sealed with `bk secrets seal` and reference it (env valueFrom.secretKeyRef, a secret volume, or HelmRelease valuesFrom)",
    }));
  },
};

export const secretRules: readonly PolicyRule[] = [plaintextSecret, credentialLiteral];
