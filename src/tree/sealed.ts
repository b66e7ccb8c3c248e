/** The SealedSecret files present in the tree: written by `bk secrets`, carried over by `bk synth`. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../core/object.js";
import { SEALED_SUFFIX } from "../model/layout.js";
import { listFiles } from "./files.js";

export interface SealedFile {
  file: string;
  content: string;
  objects: KubeObject[];
}

export function readSealedFiles(root: string, dirs: readonly string[]): SealedFile[] {
  const out: SealedFile[] = [];
  for (const d of dirs) {
    for (const f of listFiles(root, d)) {
      if (!f.endsWith(SEALED_SUFFIX)) continue;
      const content = readFileSync(path.join(root, f), "utf8");
      const objects = parseAllDocuments(content)
        .map((doc) => doc.toJS() as KubeObject | null)
        .filter((o): o is KubeObject => o !== null && typeof o === "object");
      out.push({ file: f, content, objects });
    }
  }
  return out;
}
