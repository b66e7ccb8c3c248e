/** A throwaway CA and server certificates made with the real openssl, for TLS tests. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { requireProgram } from "./programs.js";

export interface TestCa {
  dir: string;
  caCert: string;
  caKey: string;
}

export function makeCa(cn = "BeckerKube TEST CA"): TestCa {
  requireProgram("openssl", "the test PKI");
  const dir = mkdtempSync(path.join(os.tmpdir(), "bk-pki-"));
  const caKey = path.join(dir, "ca.key");
  const caCert = path.join(dir, "ca.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", caKey, "-out", caCert, "-days", "2", "-subj", `/CN=${cn}`], { stdio: "ignore" });
  return { dir, caCert, caKey };
}

/** A server certificate for the given SANs ("IP:127.0.0.1", "DNS:localhost"), valid for `days`. */
export function makeServerCert(ca: TestCa, name: string, sans: string[], days = 2): { cert: string; key: string } {
  requireProgram("openssl", "the test PKI");
  const key = path.join(ca.dir, `${name}.key`);
  const csr = path.join(ca.dir, `${name}.csr`);
  const cert = path.join(ca.dir, `${name}.crt`);
  const ext = path.join(ca.dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth\n`);
  execFileSync("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${name}`], { stdio: "ignore" });
  execFileSync("openssl", ["x509", "-req", "-in", csr, "-CA", ca.caCert, "-CAkey", ca.caKey, "-CAcreateserial", "-out", cert, "-days", String(days), "-extfile", ext], { stdio: "ignore" });
  return { cert, key };
}
