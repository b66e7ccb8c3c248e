/**
 * Test fixtures built from the real definition: copy definition/ into a temporary repository
 * root and edit it with the same comment-preserving YAML library operators' edits go through.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument, type Document } from "yaml";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface DefinitionDocs {
  cluster: Document;
  infra: Document;
  apps: Record<string, Document>;
  exceptions: Document;
}

/** A temporary root with a copy of the real definition, edited by `edit`. */
export function tempDefinition(edit?: (d: DefinitionDocs) => void): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "bk-def-"));
  cpSync(path.join(REPO_ROOT, "definition"), path.join(root, "definition"), { recursive: true });
  if (edit) {
    const read = (rel: string) => parseDocument(readFileSync(path.join(root, "definition", rel), "utf8"));
    const appFiles = readdirSync(path.join(root, "definition/apps")).filter((f) => f.endsWith(".yaml"));
    const docs: DefinitionDocs = {
      cluster: read("cluster.yaml"),
      infra: read("infrastructure.yaml"),
      apps: Object.fromEntries(appFiles.map((f) => [f.replace(/\.yaml$/, ""), read(`apps/${f}`)])),
      exceptions: read("policy-exceptions.yaml"),
    };
    edit(docs);
    const write = (rel: string, d: Document) => writeFileSync(path.join(root, "definition", rel), d.toString());
    write("cluster.yaml", docs.cluster);
    write("infrastructure.yaml", docs.infra);
    write("policy-exceptions.yaml", docs.exceptions);
    for (const [name, d] of Object.entries(docs.apps)) write(`apps/${name}.yaml`, d);
  }
  return root;
}
