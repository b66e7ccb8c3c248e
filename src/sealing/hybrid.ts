/**
 * The Sealed Secrets hybrid cipher, byte-compatible with kubeseal and the controller:
 *
 *   uint16 big-endian length of the RSA part || RSA-OAEP(SHA-256, label)(session key) || AES-256-GCM(session key) ciphertext+tag
 *
 * The AES nonce is all zeros; that is safe only because every value gets a fresh random session key.
 */
import { CheckFailedError } from "../core/errors.js";
import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from "node:crypto";

const SESSION_KEY_BYTES = 32;
const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;

export class TooShortError extends CheckFailedError {
  constructor(detail: string) {
    super(`SealedSecret data is too short: ${detail}`);
    this.name = "TooShortError";
  }
}

export function hybridEncrypt(publicKey: KeyObject, plaintext: Buffer, label: string): Buffer {
  const sessionKey = randomBytes(SESSION_KEY_BYTES);
  const rsaPart = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: Buffer.from(label, "utf8") }, sessionKey);
  if (rsaPart.length > 0xffff) throw new Error(`RSA ciphertext of ${rsaPart.length} bytes does not fit the 2-byte length prefix`);
  const cipher = createCipheriv("aes-256-gcm", sessionKey, Buffer.alloc(GCM_NONCE_BYTES));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(rsaPart.length, 0);
  return Buffer.concat([prefix, rsaPart, body, cipher.getAuthTag()]);
}

/** Decrypts with one private key; throws on any mismatch (wrong key, wrong label, tampered data). */
export function hybridDecryptWith(privateKey: KeyObject, ciphertext: Buffer, label: string): Buffer {
  if (ciphertext.length < 2) throw new TooShortError(`${ciphertext.length} byte(s), no length prefix`);
  const rsaLength = ciphertext.readUInt16BE(0);
  if (ciphertext.length < 2 + rsaLength) {
    throw new TooShortError(`prefix announces ${rsaLength} RSA bytes but only ${ciphertext.length - 2} follow`);
  }
  const rsaPart = ciphertext.subarray(2, 2 + rsaLength);
  const aesPart = ciphertext.subarray(2 + rsaLength);
  if (aesPart.length < GCM_TAG_BYTES) throw new TooShortError(`AES-GCM part has ${aesPart.length} byte(s), less than its tag`);
  const sessionKey = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: Buffer.from(label, "utf8") }, rsaPart);
  if (sessionKey.length !== SESSION_KEY_BYTES) throw new Error(`session key has ${sessionKey.length} bytes, expected ${SESSION_KEY_BYTES}`);
  const decipher = createDecipheriv("aes-256-gcm", sessionKey, Buffer.alloc(GCM_NONCE_BYTES));
  decipher.setAuthTag(aesPart.subarray(aesPart.length - GCM_TAG_BYTES));
  return Buffer.concat([decipher.update(aesPart.subarray(0, aesPart.length - GCM_TAG_BYTES)), decipher.final()]);
}

/**
 * Tries every key in order and returns the first plaintext, as the controller does after a key rotation
 * (old keys stay around to open older secrets). Returns undefined when none opens it.
 */
export function hybridDecrypt(privateKeys: readonly KeyObject[], ciphertext: Buffer, label: string): Buffer | undefined {
  for (const key of privateKeys) {
    try {
      return hybridDecryptWith(key, ciphertext, label);
    } catch (err) {
      // Structural damage is the same for every key; no point trying the rest.
      if (err instanceof TooShortError) throw err;
    }
  }
  return undefined;
}
