/**
 * Sealing keys: the controller's public certificate (for sealing) and its private keys (for unsealing,
 * e.g. from a key backup during disaster recovery). The file loaders at the bottom are the only disk I/O.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../core/object.js";
import { KUBE_SYSTEM } from "../core/well-known.js";
import { decodeStdBase64 } from "./base64.js";

/** Label the controller puts on its key Secrets in kube-system ("active" on current keys). */
export const SEALED_SECRETS_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key";

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function pemBlocks(text: string, types: readonly string[]): string[] {
  return [...text.matchAll(PEM_BLOCK)].filter((m) => types.includes(m[1] ?? "")).map((m) => `${m[0]}\n`);
}

const PRIVATE_KEY_TYPES = ["RSA PRIVATE KEY", "PRIVATE KEY"];

function rsaPrivateKey(pem: string | KeyObject, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = typeof pem === "string" ? createPrivateKey(pem) : pem;
  } catch (err) {
    throw new Error(`${where}: cannot parse private key (${(err as Error).message}); expected an unencrypted PEM RSA key`);
  }
  if (key.type !== "private" || key.asymmetricKeyType !== "rsa") {
    throw new Error(`${where}: expected an RSA private key, got ${key.type} ${key.asymmetricKeyType ?? "key"}`);
  }
  return key;
}

/** Normalises what callers hand us (KeyObjects or PEM strings) into RSA private KeyObjects. */
export function toPrivateKeys(keys: readonly (KeyObject | string)[] | KeyObject | string): KeyObject[] {
  const list = Array.isArray(keys) ? keys : [keys as KeyObject | string];
  return list.map((k, i) => rsaPrivateKey(k, `private key #${i + 1}`));
}

function firstCertificate(certPem: string): X509Certificate {
  const [first] = pemBlocks(certPem, ["CERTIFICATE"]);
  if (!first) throw new Error("no PEM CERTIFICATE block found; pass the controller certificate (kubeseal --fetch-cert)");
  return new X509Certificate(first);
}

/** The RSA public key of the first certificate in `certPem`, as kubeseal uses it. */
export function publicKeyFromCertificate(certPem: string): KeyObject {
  const key = firstCertificate(certPem).publicKey;
  if (key.asymmetricKeyType !== "rsa") {
    throw new Error(`sealing certificate holds a ${key.asymmetricKeyType ?? "non-RSA"} key; Sealed Secrets needs RSA`);
  }
  return key;
}

/**
 * The fingerprint the controller logs and uses as its key-map index: OpenSSH "SHA256:<base64>"
 * over the ssh-rsa wire encoding of the public key.
 */
export function publicKeyFingerprint(key: KeyObject): string {
  const jwk = key.export({ format: "jwk" });
  if (!jwk.n || !jwk.e) throw new Error("publicKeyFingerprint: not an RSA key");
  const sshString = (b: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length, 0);
    return Buffer.concat([len, b]);
  };
  const mpint = (b64url: string): Buffer => {
    let b = Buffer.from(b64url, "base64url");
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    b = b.subarray(i);
    // A set high bit would read as negative, so mpint needs a leading zero byte then.
    return sshString((b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
  };
  const wire = Buffer.concat([sshString(Buffer.from("ssh-rsa")), mpint(jwk.e), mpint(jwk.n)]);
  return `SHA256:${createHash("sha256").update(wire).digest("base64").replace(/=+$/, "")}`;
}

export interface CertificateInfo {
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 over the certificate DER, colon-separated hex (as openssl x509 -fingerprint -sha256 prints it). */
  fingerprint: string;
  /** OpenSSH-style SHA-256 of the public key; matches the controller's key fingerprint. */
  publicKeyFingerprint: string;
}

export function certificateInfo(certPem: string): CertificateInfo {
  const cert = firstCertificate(certPem);
  return {
    subject: cert.subject,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint: cert.fingerprint256,
    publicKeyFingerprint: publicKeyFingerprint(cert.publicKey),
  };
}

export interface BackupKey {
  /** Where the key came from: "Secret kube-system/sealed-secrets-keyabcde" or "PEM block #1". */
  source: string;
  privateKey: KeyObject;
  certificates: string[];
}

export interface KeyBackup {
  privateKeys: KeyObject[];
  certificates: string[];
  keys: BackupKey[];
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function secretField(secret: Record<string, unknown>, field: string, where: string): string | undefined {
  const data = asRecord(secret.data);
  const raw = data?.[field];
  if (typeof raw === "string") return decodeStdBase64(raw, `${where} data["${field}"]`).toString("utf8");
  const stringData = asRecord(secret.stringData)?.[field];
  return typeof stringData === "string" ? stringData : undefined;
}

function keyFromSecret(secret: Record<string, unknown>, where: string): BackupKey {
  const meta = asRecord(secret.metadata);
  const name = typeof meta?.name === "string" ? meta.name : undefined;
  const ns = typeof meta?.namespace === "string" ? meta.namespace : undefined;
  const source = name ? `Secret ${ns ? `${ns}/` : ""}${name}` : where;
  const keyPem = secretField(secret, "tls.key", source);
  if (keyPem === undefined) {
    throw new Error(`${source}: has no data["tls.key"]; a sealed-secrets key backup holds kubernetes.io/tls Secrets with tls.key and tls.crt`);
  }
  const certPem = secretField(secret, "tls.crt", source);
  return {
    source,
    privateKey: rsaPrivateKey(keyPem, `${source} data["tls.key"]`),
    certificates: certPem ? pemBlocks(certPem, ["CERTIFICATE"]) : [],
  };
}

/**
 * Reads a key backup in any form recovery meets it: the v1 List that
 * `kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml` prints,
 * a single Secret (or several YAML documents of them), JSON of the same, or plain PEM
 * (private keys, optionally followed by certificates).
 */
export function parseKeyBackup(text: string): KeyBackup {
  let keys: BackupKey[];
  if (text.trimStart().startsWith("-----BEGIN")) {
    const pems = pemBlocks(text, PRIVATE_KEY_TYPES);
    if (pems.length === 0) throw new Error("key backup: PEM input holds no PRIVATE KEY block");
    const certs = pemBlocks(text, ["CERTIFICATE"]);
    keys = pems.map((pem, i) => ({
      source: `PEM block #${i + 1}`,
      privateKey: rsaPrivateKey(pem, `key backup PEM block #${i + 1}`),
      certificates: pems.length === 1 ? certs : [],
    }));
    if (pems.length > 1 && certs.length > 0) keys[0] = { ...keys[0]!, certificates: certs };
  } else {
    keys = [];
    const docs = parseAllDocuments(text);
    docs.forEach((doc, d) => {
      if (doc.errors.length > 0) throw new Error(`key backup document #${d + 1}: invalid YAML: ${doc.errors[0]!.message}`);
      const obj = asRecord(doc.toJS());
      if (!obj) return;
      const kind = obj.kind;
      if (kind === "List" || kind === "SecretList") {
        const items = Array.isArray(obj.items) ? obj.items : [];
        items.forEach((item, i) => {
          const secret = asRecord(item);
          if (!secret || (secret.kind !== undefined && secret.kind !== "Secret")) {
            throw new Error(`key backup ${kind} item #${i + 1}: expected a Secret, got ${String(secret?.kind ?? typeof item)}`);
          }
          keys.push(keyFromSecret(secret, `${kind} item #${i + 1}`));
        });
      } else if (kind === "Secret") {
        keys.push(keyFromSecret(obj, `Secret in document #${d + 1}`));
      } else {
        throw new Error(`key backup document #${d + 1}: expected a v1 List of Secrets, a Secret, or PEM, got kind ${String(kind)}`);
      }
    });
    if (keys.length === 0) {
      throw new Error("key backup holds no key Secrets; was the label selector sealedsecrets.bitnami.com/sealed-secrets-key used?");
    }
  }
  return {
    privateKeys: keys.map((k) => k.privateKey),
    certificates: keys.flatMap((k) => k.certificates),
    keys,
  };
}

/**
 * A key Secret shaped as the controller writes it, for restoring a backed-up key into a rebuilt cluster
 * (and for building test backups). The key is stored as PKCS#1 like the controller does.
 */
export function keySecretManifest(opts: { name: string; namespace?: string; privateKeyPem: string; certPem: string }): KubeObject {
  const pkcs1 = rsaPrivateKey(opts.privateKeyPem, `key Secret ${opts.name}`).export({ type: "pkcs1", format: "pem" }).toString();
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: opts.name,
      namespace: opts.namespace ?? KUBE_SYSTEM,
      labels: { [SEALED_SECRETS_KEY_LABEL]: "active" },
    },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": Buffer.from(opts.certPem, "utf8").toString("base64"),
      "tls.key": Buffer.from(pkcs1, "utf8").toString("base64"),
    },
  };
}

// ---- file loaders (the only disk I/O of src/secrets) ----

export function loadKeyBackupFile(path: string): KeyBackup {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read sealed-secrets key backup ${path}: ${(err as Error).message}`);
  }
  try {
    return parseKeyBackup(text);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

export function loadCertificateFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read sealing certificate ${path}: ${(err as Error).message}; fetch it with kubeseal --fetch-cert`);
  }
  if (pemBlocks(text, ["CERTIFICATE"]).length === 0) {
    throw new Error(`${path}: no PEM CERTIFICATE block; fetch the controller certificate with kubeseal --fetch-cert`);
  }
  return text;
}
