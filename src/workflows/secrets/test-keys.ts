/**
 * The repository's TEST sealing keys, whose private halves are public in test/fixtures/sealed-secrets.
 * Sealing with one would make a secret readable by anyone, so the certificate check refuses them. The
 * fingerprints are written here rather than read from test/ at run time: the product must not depend on
 * the test tree; test/unit/sealing-test-keys.test.ts keeps this map equal to the fixtures.
 */

/** Public-key fingerprint -> the fixture an operator would have passed (named in the refusal). */
export const TEST_KEY_FINGERPRINTS: ReadonlyMap<string, string> = new Map([
  ["SHA256:VvHMOpLsnn559SqFw77OO81pEhvw5JL5YNxkTJvl+IQ", "test/fixtures/sealed-secrets/TEST-ONLY-current-cert.pem"],
  ["SHA256:7AkGnq6xZX+J9+q6R+ak4MBAk/E0f1NXXh9EggEQ+O0", "test/fixtures/sealed-secrets/TEST-ONLY-previous-cert.pem"],
]);
