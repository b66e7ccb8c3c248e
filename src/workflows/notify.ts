/**
 * `bk notify receiver-url`: what to configure on the Git host so a push triggers a reconcile at once: the
 * Receiver's URL (computed as notification-controller computes status.webhookPath) and its secret, the token
 * from the local value store (the same value `bk secrets seal` seals).
 */
import { InputError } from "../core/errors.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";
import { loadDefinition } from "../model/load.js";
import { receiverUrl } from "../synth/notifications.js";
import { resolveValuesPath, SecretValueStore } from "./secrets/value-store.js";

export interface ReceiverHook {
  url: string;
  /** The webhook secret (GitHub signs each delivery with it); the Receiver's token. */
  secret: string;
  type: "github" | "generic";
  contentType: "application/json";
  events: string[];
  gitRepository: string;
  valueStore: string;
}

export function receiverHook(root: string, opts: { values?: string }): ReceiverHook {
  const { model } = loadDefinition(root);
  const r = model.notifications?.receiver;
  if (!r) throw new InputError("the definition declares no push Receiver; add notifications.receiver (type and host) to definition/infrastructure.yaml and run `bk synth`");
  const where = resolveValuesPath({ flag: opts.values, clusterName: model.cluster.name, root });
  const ref = `${FLUX_NAMESPACE}/${r.secret}`;
  const token = SecretValueStore.load(where.path, model.cluster.name).get(ref, "token");
  if (!token) throw new InputError(`${where.path} (from ${where.source}) has no value for ${ref} key token; run \`bk secrets seal ${ref}\` (it generates the token) and commit the SealedSecret`);
  return {
    url: receiverUrl(r.host, token, r.name),
    secret: token,
    type: r.type,
    contentType: "application/json",
    events: r.type === "github" ? ["push"] : [],
    gitRepository: `${FLUX_NAMESPACE}/${model.gitops.repository}`,
    valueStore: where.path,
  };
}
