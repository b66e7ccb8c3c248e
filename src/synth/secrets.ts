/**
 * Where each declared secret's SealedSecret lives in the tree. The files themselves are written
 * by `bk secrets seal` (their ciphertext is random, so synthesis cannot produce them); synthesis
 * only lists the ones that exist in the kustomizations, so the lists can never drift (incident 7).
 */
import type { DeclaredSecret, Model } from "../model/model.js";
import { APPS, CONFIGS, SEALED_SUFFIX } from "../model/layout.js";

export function sealedSecretFile(m: Model, s: Pick<DeclaredSecret, "namespace" | "name">): string {
  const app = m.apps.find((a) => a.namespace === s.namespace);
  return app ? `${APPS}/${app.name}/secrets/${s.name}${SEALED_SUFFIX}` : `${CONFIGS}/secrets/${s.namespace}/${s.name}${SEALED_SUFFIX}`;
}
