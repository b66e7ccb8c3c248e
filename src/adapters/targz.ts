/**
 * The files of a gzipped tar (a packaged Helm chart), by path: enough to compare two packages by content,
 * since helm writes fresh timestamps into every package it makes.
 */
import { gunzipSync } from "node:zlib";

export function tarGzFiles(tgz: Uint8Array): Map<string, Buffer> {
  const tar = gunzipSync(tgz);
  const files = new Map<string, Buffer>();
  let longName: string | undefined;
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1) || "0";
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const body = tar.subarray(off + 512, off + 512 + size);
    longName = undefined;
    if (type === "L") longName = body.toString("utf8").replace(/\0.*$/s, "");
    else if (type === "0") files.set(name, Buffer.from(body));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Whether two packages hold the same files with the same contents. */
export function sameTarGzContent(a: Uint8Array, b: Uint8Array): boolean {
  const fa = tarGzFiles(a);
  const fb = tarGzFiles(b);
  return fa.size === fb.size && [...fa].every(([name, body]) => fb.get(name)?.equals(body) === true);
}
