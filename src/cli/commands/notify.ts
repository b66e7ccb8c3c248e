import { EXIT } from "../../core/errors.js";
import { receiverHook } from "../../workflows/notify.js";
import { printJson } from "../output.js";

/** `bk notify receiver-url`: the webhook to add on the Git host (URL, secret, content type, events). */
export async function notifyReceiverUrlCommand(root: string, opts: { values?: string; json?: boolean }): Promise<number> {
  const h = receiverHook(root, opts);
  if (opts.json) {
    printJson(h);
    return EXIT.ok;
  }
  process.stdout.write(
    `Add a webhook to the Git repository (reconciles GitRepository ${h.gitRepository} on push):\n` +
      `  Payload URL:   ${h.url}\n` +
      `  Content type:  ${h.contentType}\n` +
      `  Secret:        ${h.secret}\n` +
      (h.events.length ? `  Events:        ${h.events.join(", ")}\n` : ""),
  );
  return EXIT.ok;
}
