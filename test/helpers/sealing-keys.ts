/**
 * Sealing key pairs for tests. node:crypto cannot create X.509 certificates, so this shells out to the
 * openssl CLI; the product never does, which is why it lives here and not in src/sealing.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireProgram } from "./programs.js";

export interface TestKeyPair {
  privateKeyPem: string;
  certPem: string;
  privateKey: KeyObject;
}

/** A self-signed RSA key pair like the controller's (CN "sealed-secret", 10-year validity). */
export function generateTestKeyPair(opts: { bits?: number; days?: number; cn?: string } = {}): TestKeyPair {
  requireProgram("openssl", "test sealing key pairs");
  const dir = mkdtempSync(join(tmpdir(), "bk-sealing-testkey-"));
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", `rsa:${opts.bits ?? 2048}`, "-nodes", "-keyout", keyPath, "-out", certPath, "-days", String(opts.days ?? 3650), "-subj", `/CN=${opts.cn ?? "sealed-secret"}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const privateKey = createPrivateKey(readFileSync(keyPath, "utf8"));
    return {
      privateKeyPem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      certPem: readFileSync(certPath, "utf8"),
      privateKey,
    };
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`generateTestKeyPair: openssl failed${stderr ? `: ${stderr}` : `: ${(err as Error).message}`}; is the openssl CLI installed?`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
