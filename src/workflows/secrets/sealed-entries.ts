/** The SealedSecrets the tree holds, matched to the secrets the definition declares. */
import { InputError } from "../../core/errors.js";
import type { KubeObject } from "../../core/object.js";
import type { DeclaredSecret, Model } from "../../model/model.js";
import type { SealedFile } from "../../tree/sealed.js";
import { keyOrigin, originId, secretRef } from "./value-store.js";

export interface SealedEntry {
  ref: string;
  file: string;
  object: KubeObject;
  /** spec.encryptedData keys. */
  keys: string[];
}

export function sealedEntries(files: readonly SealedFile[]): SealedEntry[] {
  return files.flatMap((f) =>
    f.objects
      .filter((o) => o.kind === "SealedSecret")
      .map((object) => ({
        ref: `${object.metadata.namespace ?? ""}/${object.metadata.name}`,
        file: f.file,
        object,
        keys: Object.keys(((object.spec as { encryptedData?: Record<string, unknown> } | undefined)?.encryptedData ?? {}) as object).sort(),
      })),
  );
}

/** The declared secret `ref` (<namespace>/<name>) names; a typo gets the nearest names back. */
export function findDeclared(model: Model, ref: string): DeclaredSecret {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(ref);
  if (!m) throw new InputError(`${JSON.stringify(ref)}: name a secret as <namespace>/<name>, e.g. ${model.secrets[0] ? secretRef(model.secrets[0]) : "infra/pg-app"}`);
  const s = model.secrets.find((x) => x.namespace === m[1] && x.name === m[2]);
  if (s) return s;
  const sameNs = model.secrets.filter((x) => x.namespace === m[1]).map(secretRef);
  const sameName = model.secrets.filter((x) => x.name === m[2]).map(secretRef);
  const hint = [...new Set([...sameName, ...sameNs])];
  throw new InputError(
    `${ref} is not a declared secret; ${hint.length ? `did you mean ${hint.join(", ")}?` : "`bk secrets list` shows them all"} ` +
      "(secrets are declared under secrets: of an application in definition/apps/, or by the infrastructure)",
  );
}

/** Every origin whose value is sealed somewhere in the tree already (in its own secret or a same-as copy). */
export function sealedOrigins(model: Model, present: readonly SealedEntry[]): Set<string> {
  const out = new Set<string>();
  for (const e of present) {
    const s = model.secrets.find((x) => secretRef(x) === e.ref);
    if (!s) continue;
    for (const k of e.keys) if (s.keys[k]) out.add(originId(keyOrigin(model.secrets, s, k)));
  }
  return out;
}
