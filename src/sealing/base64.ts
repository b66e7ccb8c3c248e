/**
 * Strict standard base64 (RFC 4648 with padding), as Go's base64.StdEncoding accepts it.
 * Node's own decoder silently skips junk, which would turn a corrupted value into garbage
 * ciphertext and a misleading "no key could decrypt" instead of naming the real problem.
 */
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeStdBase64(value: string, where: string): Buffer {
  const compact = value.replace(/[\r\n]/g, "");
  if (!STD_BASE64.test(compact)) {
    throw new Error(`${where}: not valid standard base64 (length ${compact.length}); re-seal the value or fix the copy/paste`);
  }
  return Buffer.from(compact, "base64");
}
