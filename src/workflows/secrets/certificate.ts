/**
 * The controller certificate to seal for: from --cert, from the cluster (--kubeconfig) or from
 * BK_SEALING_CERT, refused when expired or when it is one of the repository's TEST keys.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { InputError, UnavailableError } from "../../core/errors.js";
import { currentSealingKey, openCluster, type KeySecretSource } from "../../adapters/sealed-secrets-cluster.js";
import { certificateInfo, type CertificateInfo } from "../../sealing/keys.js";
import { TEST_KEY_FINGERPRINTS } from "./test-keys.js";

export const SEALING_CERT_ENV = "BK_SEALING_CERT";

export type OpenCluster = (kubeconfig: string) => KeySecretSource | Promise<KeySecretSource>;

export interface CertificateChoice {
  cert?: string;
  kubeconfig?: string;
  /** Accept a TEST certificate from test/fixtures (tests only). */
  allowTestKey?: boolean;
}

export interface CertificateContext {
  /** Where the controller keeps its key Secrets. */
  namespace: string;
  env: NodeJS.ProcessEnv;
  now: Date;
  cluster?: OpenCluster;
  /** Told what the caller should see but need not stop on: a TEST key allowed, an expiry close. */
  warn: (message: string) => void;
}

export interface SealingCert {
  pem: string;
  info: CertificateInfo;
  source: string;
  /** Set when the certificate is one of the repository's TEST keys. */
  testKey?: string;
}

function readCertFile(file: string, from: string): string {
  if (!existsSync(file)) throw new UnavailableError(`${from} ${file} does not exist; fetch the controller certificate with \`kubeseal --fetch-cert > ${path.basename(file)}\` or pass --kubeconfig`);
  const text = readFileSync(file, "utf8");
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new InputError(`${from} ${file} holds no PEM CERTIFICATE; pass the controller certificate (kubeseal --fetch-cert)`);
  return text;
}

async function certificatePem(opts: CertificateChoice, ctx: CertificateContext): Promise<{ pem: string; source: string }> {
  const fromEnv = ctx.env[SEALING_CERT_ENV];
  // Explicit flags first, then the environment: a flag typed now must never lose to a variable set long ago.
  if (opts.cert) return { pem: readCertFile(path.resolve(opts.cert), "--cert"), source: `--cert ${opts.cert}` };
  if (opts.kubeconfig) {
    const cluster = await (ctx.cluster ?? openCluster)(opts.kubeconfig);
    const ns = ctx.namespace;
    const key = currentSealingKey(await cluster.listKeySecrets(ns));
    if (!key?.certPem) {
      throw new UnavailableError(
        `no active Sealed Secrets key (Secret labelled sealedsecrets.bitnami.com/sealed-secrets-key=active with tls.crt) in namespace ${ns} at ${cluster.describe()}; ` +
          "is the controller installed and running there? It creates its key on first start.",
      );
    }
    return { pem: key.certPem, source: `Secret ${ns}/${key.name} via ${cluster.describe()}` };
  }
  if (fromEnv) return { pem: fromEnv.trimStart().startsWith("-----BEGIN") ? fromEnv : readCertFile(path.resolve(fromEnv), SEALING_CERT_ENV), source: SEALING_CERT_ENV };
  throw new InputError(`which controller key? pass --cert <file> (from \`kubeseal --fetch-cert\`), --kubeconfig <file> to read it from the cluster, or set ${SEALING_CERT_ENV}=<file>`);
}

export async function sealingCertificate(opts: CertificateChoice, ctx: CertificateContext): Promise<SealingCert> {
  const { pem, source } = await certificatePem(opts, ctx);
  let info: CertificateInfo;
  try {
    info = certificateInfo(pem);
  } catch (err) {
    throw new InputError(`sealing certificate from ${source}: ${(err as Error).message}`);
  }
  const now = ctx.now;
  if (now.getTime() > info.notAfter.getTime()) {
    throw new InputError(
      `sealing certificate from ${source} (${info.publicKeyFingerprint}) expired on ${info.notAfter.toISOString()}; ` +
        "the controller has rotated away from it: fetch its current certificate (kubeseal --fetch-cert, or --kubeconfig)",
    );
  }
  const cert: SealingCert = { pem, info, source };
  const test = TEST_KEY_FINGERPRINTS.get(info.publicKeyFingerprint);
  if (test) {
    if (!opts.allowTestKey) {
      throw new InputError(
        `the certificate from ${source} is a TEST key (${test}): its private key is public in the repository, so anything sealed with it is readable by anyone. ` +
          "Seal with the cluster controller's certificate (kubeseal --fetch-cert, or --kubeconfig); only tests pass --allow-test-key.",
      );
    }
    cert.testKey = test;
    ctx.warn(`WARNING: sealing with a TEST key (${test}); never commit or apply the result to a real cluster`);
  }
  const days = Math.floor((info.notAfter.getTime() - now.getTime()) / 86_400_000);
  if (days < 30) ctx.warn(`warning: the sealing certificate expires in ${days} day(s) (${info.notAfter.toISOString()})`);
  return cert;
}

/** What the certificate is, for reports: never the key material. */
export const certificateSummary = (c: SealingCert) => ({
  source: c.source,
  subject: c.info.subject,
  publicKeyFingerprint: c.info.publicKeyFingerprint,
  notAfter: c.info.notAfter.toISOString(),
  ...(c.testKey ? { testKey: c.testKey } : {}),
});
