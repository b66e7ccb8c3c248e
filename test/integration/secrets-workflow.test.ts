/**
 * A fresh operator goes from nothing to a fully sealed tree with `bk secrets` alone, through the
 * real CLI (incident 6: every secret recoverable, every SealedSecret verified before a rebuild).
 * The keys are the TEST keys of test/fixtures/sealed-secrets, never a cluster's.
 */
import assert from "node:assert/strict";
import { mkdtempSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";
import { runBk } from "../helpers/cli.js";

const fixtures = path.join(REPO_ROOT, "test/fixtures/sealed-secrets");

describe("bk secrets: from nothing to a sealed, verified tree", () => {
  it("set every operator value, seal all, validate strictly, verify with the key backup", () => {
    const root = tempDefinition();
    assert.equal(runBk(["synth", "--root", root]).status, 0);
    const env = { BK_SECRET_VALUES: path.join(mkdtempSync(path.join(os.tmpdir(), "bk-values-")), "values.yaml") };
    const cert = path.join(fixtures, "TEST-ONLY-current-cert.pem");

    const before = runBk(["secrets", "seal", "--all", "--root", root, "--cert", cert, "--allow-test-key"], { env });
    assert.equal(before.status, 1, before.stderr);
    assert.match(before.stderr, /bk secrets set ccbot\/ccbot-discord token/);

    const list = JSON.parse(runBk(["secrets", "list", "--json", "--root", root], { env }).stdout) as { secrets: Array<{ secret: string; keys: Array<{ key: string; source: string }> }> };
    for (const s of list.secrets)
      for (const k of s.keys.filter((x) => x.source === "operator")) {
        const r = runBk(["secrets", "set", s.secret, k.key, "--value", `test-${s.secret}-${k.key}`, "--root", root], { env });
        assert.equal(r.status, 0, r.stderr);
      }
    assert.equal(statSync(env.BK_SECRET_VALUES).mode & 0o777, 0o600);

    const seal = runBk(["secrets", "seal", "--all", "--root", root, "--cert", cert, "--allow-test-key"], { env });
    assert.equal(seal.status, 0, seal.stderr);
    assert.match(seal.stderr + seal.stdout, /TEST/);

    const strict = runBk(["validate", "--strict", "--no-render", "--no-kustomize", "--root", root, "--json"]);
    assert.equal(strict.status, 0, strict.stdout);
    assert.equal(runBk(["synth", "--check", "--root", root]).status, 0);

    const ok = runBk(["secrets", "verify", "--key-backup", path.join(fixtures, "TEST-ONLY-key-backup.yaml"), "--root", root]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const wrong = runBk(["secrets", "verify", "--key-backup", path.join(fixtures, "TEST-ONLY-previous-key.pem"), "--root", root]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stdout + wrong.stderr, /no key could decrypt secret/);
  });

  it("refuses a TEST certificate unless told it is a test", () => {
    const root = tempDefinition();
    const r = runBk(["secrets", "seal", "ffl/ffl-backend", "--root", root, "--cert", path.join(fixtures, "TEST-ONLY-current-cert.pem")], {
      env: { BK_SECRET_VALUES: path.join(mkdtempSync(path.join(os.tmpdir(), "bk-values-")), "values.yaml") },
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /test/i);
  });
});
