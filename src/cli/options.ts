/** Flag handling shared by commands: the PostgreSQL connection flags of `bk backup` and `bk restore`, --keep, the lazily loaded model. */
import { readFileSync } from "node:fs";
import { InputError } from "../core/errors.js";
import { loadDefinition } from "../model/load.js";
import type { Model } from "../model/model.js";
import { resolveConnection, type PgConnection } from "../adapters/postgres.js";

/** Connection flags shared by `bk backup` and `bk restore`. */
export interface PgCliOptions {
  host?: string;
  port?: string;
  user?: string;
  passwordFile?: string;
  pgBin?: string;
}

/** The model, loaded only when a default is actually needed (explicit flags work without a definition). */
export function lazyModel(root: string): () => Model {
  let m: Model | undefined;
  return () => (m ??= loadDefinition(root).model);
}

export function pgConnection(opts: PgCliOptions, model: () => Model): PgConnection {
  const password = opts.passwordFile ? readFileSync(opts.passwordFile, "utf8").replace(/\r?\n$/, "") : undefined;
  try {
    return resolveConnection({ ...opts, ...(password !== undefined ? { password } : {}) }, process.env, () => {
      const ep = model().endpoints.find((e) => e.id === "postgres");
      if (!ep) throw new InputError("the definition has no postgres endpoint; pass --host and --port");
      return { host: ep.ip, port: ep.ports[0]!.port };
    });
  } catch (err) {
    if (err instanceof Error && !("findings" in err) && !(err instanceof InputError)) throw new InputError(err.message);
    throw err;
  }
}

export function parseKeep(keep: string | undefined): number | undefined {
  if (keep === undefined) return undefined;
  const n = Number(keep);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`--keep ${keep}: give a whole number of backups to keep, at least 1`);
  return n;
}
