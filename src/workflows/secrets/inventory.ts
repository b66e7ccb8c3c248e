/** `bk secrets list`: every declared secret, where each key's value comes from, and what is sealed. */
import { loadDefinition } from "../../model/load.js";
import { sealedSecretFile } from "../../synth/secrets.js";
import { readSealedFiles } from "../../tree/sealed.js";
import { OWNED_DIRS } from "../../tree/tree.js";
import { sealedEntries } from "./sealed-entries.js";
import { keyOrigin, resolveValuesPath, secretRef, SecretValueStore, type ValuesLocation } from "./value-store.js";

export interface InventoryKey {
  key: string;
  /** literal, generate, operator, or "same-as <ref> <key>". */
  source: string;
  /** null: the value is in the definition, the store is not involved. */
  stored: boolean | null;
  sealed: boolean;
}

export interface InventorySecret {
  secret: string;
  owner: string;
  type: string;
  file: string;
  sealed: boolean;
  sealedFiles: string[];
  keys: InventoryKey[];
}

export interface Inventory {
  store: { path: string; from: ValuesLocation["source"]; exists: boolean };
  secrets: InventorySecret[];
  /** "<ref> <key>" the store holds that nothing declares any more. */
  undeclaredStoreEntries: string[];
  undeclaredSealedSecrets: Array<{ secret: string; file: string }>;
}

export function secretsInventory(root: string, opts: { values?: string }, ctx: { env: NodeJS.ProcessEnv }): Inventory {
  const { model } = loadDefinition(root);
  const loc = resolveValuesPath({ flag: opts.values, clusterName: model.cluster.name, root, env: ctx.env });
  const store = SecretValueStore.load(loc.path, model.cluster.name);
  const present = sealedEntries(readSealedFiles(root, OWNED_DIRS));
  const declared = new Set(model.secrets.map(secretRef));
  const rows = model.secrets.map((s) => {
    const ref = secretRef(s);
    const sealedAt = present.filter((e) => e.ref === ref);
    return {
      secret: ref,
      owner: s.owner,
      type: s.type ?? "Opaque",
      file: sealedSecretFile(model, s),
      sealed: sealedAt.length > 0,
      sealedFiles: sealedAt.map((e) => e.file),
      keys: Object.keys(s.keys)
        .sort()
        .map((key) => {
          const src = s.keys[key]!;
          const origin = keyOrigin(model.secrets, s, key);
          const stored = origin.source === "literal" ? null : store.get(origin.ref, origin.key) !== undefined;
          return {
            key,
            source: src.from === "same-as" ? `same-as ${src.namespace}/${src.name} ${src.key}` : src.from,
            stored,
            sealed: sealedAt.some((e) => e.keys.includes(key)),
          };
        }),
    };
  });
  const undeclaredStore = store.keys().flatMap(({ ref, keys }) => keys.filter((k) => !model.secrets.some((s) => secretRef(s) === ref && s.keys[k])).map((k) => `${ref} ${k}`));
  const undeclaredSealed = present.filter((e) => !declared.has(e.ref)).map((e) => ({ secret: e.ref, file: e.file }));
  return { store: { path: loc.path, from: loc.source, exists: store.existed }, secrets: rows, undeclaredStoreEntries: undeclaredStore, undeclaredSealedSecrets: undeclaredSealed };
}
