/** TEST_KEY_FINGERPRINTS is written out in src; this keeps it equal to the fixture keys it stands for. */
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { parseKeyBackup, publicKeyFingerprint, publicKeyFromCertificate } from "../../src/sealing/keys.js";
import { TEST_KEY_FINGERPRINTS } from "../../src/workflows/secrets/test-keys.js";
import { REPO_ROOT } from "../helpers/definition.js";

const FIXTURES = "test/fixtures/sealed-secrets";

/** Every public key among the fixture files, named after the first file holding it (certificates first). */
function fixtureFingerprints(): Map<string, string> {
  const names = readdirSync(path.join(REPO_ROOT, FIXTURES))
    .filter((n) => /^TEST-ONLY-.*\.(pem|ya?ml)$/.test(n))
    .sort();
  const ordered = [...names.filter((n) => n.endsWith("-cert.pem")), ...names.filter((n) => !n.endsWith("-cert.pem"))];
  const out = new Map<string, string>();
  for (const name of ordered) {
    const text = readFileSync(path.join(REPO_ROOT, FIXTURES, name), "utf8");
    const isCert = text.includes("CERTIFICATE-----") && !text.includes("PRIVATE KEY");
    const pubs = isCert ? [publicKeyFromCertificate(text)] : parseKeyBackup(text).privateKeys.map((k) => createPublicKey(k));
    for (const p of pubs) {
      const fp = publicKeyFingerprint(p);
      if (!out.has(fp)) out.set(fp, `${FIXTURES}/${name}`);
    }
  }
  return out;
}

describe("TEST sealing keys", () => {
  it("TEST_KEY_FINGERPRINTS lists exactly the fixture keys, each named by its certificate", () => {
    const real = fixtureFingerprints();
    assert.ok(real.size >= 2, "the fixtures hold the current and previous TEST keys");
    assert.deepEqual(new Map(TEST_KEY_FINGERPRINTS), real, "regenerated the fixtures? update src/workflows/secrets/test-keys.ts");
    for (const file of TEST_KEY_FINGERPRINTS.values()) assert.match(file, /-cert\.pem$/);
  });
});
