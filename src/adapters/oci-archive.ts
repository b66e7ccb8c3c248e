/**
 * What an OCI archive (a tar of an OCI image layout) or an OCI layout folder holds: the entries of its
 * index.json, each a manifest digest and, when it was saved under one, its reference name. Only the tar's
 * headers are read until index.json, so a large archive costs a few reads.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import path from "node:path";
import { UnavailableError } from "../core/errors.js";

export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

export interface OciIndexEntry {
  digest: string;
  mediaType: string;
  /** The org.opencontainers.image.ref.name annotation: the name skopeo's `oci-archive:FILE:NAME` refers to. */
  name?: string;
}

interface IndexJson {
  manifests?: Array<{ digest?: string; mediaType?: string; annotations?: Record<string, string> }>;
}

function entriesOf(text: string, where: string): OciIndexEntry[] {
  let parsed: IndexJson;
  try {
    parsed = JSON.parse(text) as IndexJson;
  } catch (err) {
    throw new UnavailableError(`${where}: index.json is not JSON (${(err as Error).message}); the archive is damaged`);
  }
  return (parsed.manifests ?? []).flatMap((m) => {
    if (!m.digest) return [];
    const name = m.annotations?.[REF_NAME_ANNOTATION];
    return [{ digest: m.digest, mediaType: m.mediaType ?? "", ...(name ? { name } : {}) }];
  });
}

/** A tar header's octal (or GNU base-256) size field. */
function tarSize(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function cString(buf: Buffer, start: number, end: number): string {
  const s = buf.subarray(start, end).toString("utf8");
  const nul = s.indexOf("\0");
  return nul < 0 ? s : s.slice(0, nul);
}

/** index.json of an OCI archive, read from the tar without unpacking it. */
function indexOfArchive(file: string): string {
  const fd = openSync(file, "r");
  try {
    const size = statSync(file).size;
    const header = Buffer.alloc(512);
    let offset = 0;
    let longName: string | undefined;
    while (offset + 512 <= size) {
      if (readSync(fd, header, 0, 512, offset) < 512) break;
      if (header.every((b) => b === 0)) break;
      const entrySize = tarSize(header.subarray(124, 136));
      const type = String.fromCharCode(header[156]!);
      const prefix = cString(header, 345, 500);
      let name = longName ?? (prefix ? `${prefix}/${cString(header, 0, 100)}` : cString(header, 0, 100));
      longName = undefined;
      const body = () => {
        const buf = Buffer.alloc(entrySize);
        readSync(fd, buf, 0, entrySize, offset + 512);
        return buf;
      };
      if (type === "L") longName = cString(body(), 0, entrySize);
      else if (type === "x") {
        const m = /\d+ path=([^\n]*)\n/.exec(body().toString("utf8"));
        if (m) longName = m[1];
      } else {
        name = name.replace(/^\.\//, "");
        if (name === "index.json" && (type === "0" || type === "\0")) return body().toString("utf8");
      }
      offset += 512 + Math.ceil(entrySize / 512) * 512;
    }
  } finally {
    closeSync(fd);
  }
  throw new UnavailableError(`${file} holds no index.json: it is not an OCI archive (make one with \`skopeo copy docker://IMAGE oci-archive:${file}:IMAGE\`)`);
}

/** The index entries of an OCI archive file or OCI layout folder. */
export function readOciIndex(where: string): OciIndexEntry[] {
  if (!existsSync(where)) throw new UnavailableError(`${where} does not exist`);
  if (statSync(where).isDirectory()) {
    const index = path.join(where, "index.json");
    if (!existsSync(index)) throw new UnavailableError(`${where} has no index.json: it is not an OCI image layout`);
    return entriesOf(readFileSync(index, "utf8"), where);
  }
  return entriesOf(indexOfArchive(where), where);
}
