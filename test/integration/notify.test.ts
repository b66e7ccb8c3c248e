/** `bk notify receiver-url`: the Git host's webhook from the definition and the value store. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { receiverHook } from "../../src/workflows/notify.js";
import { REPO_ROOT } from "../helpers/definition.js";

describe("bk notify receiver-url", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bk-notify-"));

  it("prints https://<ingress host>/hook/<sha256(token+name+namespace)> and the token as the secret", () => {
    const values = path.join(dir, "values.yaml");
    writeFileSync(values, "flux-system/git-push-receiver-token:\n  token: s3cret\n", { mode: 0o600 });
    const h = receiverHook(REPO_ROOT, { values });
    const digest = createHash("sha256")
      .update("s3cret" + "git-push" + "flux-system")
      .digest("hex");
    assert.equal(h.url, `https://beckerkube.lan/hook/${digest}`);
    assert.deepEqual([h.secret, h.type, h.events, h.gitRepository], ["s3cret", "github", ["push"], "flux-system/beckerkube"]);
  });

  it("says how to create the token when the value store lacks it (exit 2)", () => {
    assert.throws(
      () => receiverHook(REPO_ROOT, { values: path.join(dir, "empty.yaml") }),
      (e: Error & { exitCode?: number }) => /has no value for flux-system\/git-push-receiver-token key token; run `bk secrets seal flux-system\/git-push-receiver-token`/.test(e.message),
    );
  });
});
