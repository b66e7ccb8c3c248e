/**
 * Results kept on disk as JSON, keyed by a hash of everything that decides them (chart digest, values, ...).
 * Entries are written to a temp name and renamed, so a reader never sees half a file; a damaged entry is a miss.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { userCacheDir } from "../core/cache-dir.js";

export class ResultCache<T> {
  private readonly dir: string | null;

  /**
   * `format` is bumped when what is computed for the same key changes, so old entries are never read;
   * `dir` null turns the cache off, undefined means the user cache folder `name`.
   */
  constructor(
    name: string,
    private readonly format: number,
    dir?: string | null,
  ) {
    this.dir = dir === null ? null : (dir ?? userCacheDir(name));
  }

  private file(key: unknown): string | null {
    if (this.dir === null) return null;
    const hash = createHash("sha256")
      .update(JSON.stringify({ FORMAT: this.format, ...(key as object) }))
      .digest("hex");
    return path.join(this.dir, hash.slice(0, 2), `${hash}.json`);
  }

  read(key: unknown): T | undefined {
    const file = this.file(key);
    if (!file || !existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, "utf8")) as T;
    } catch {
      return undefined;
    }
  }

  write(key: unknown, value: T): void {
    const file = this.file(key);
    if (!file) return;
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, file);
  }
}
