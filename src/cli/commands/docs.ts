import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { generate } from "../../pipeline.js";
import { diffTrees, isClean } from "../../tree/diff.js";
import { writeTreeAtomically } from "../../tree/files.js";
import { GENERATED_FILES } from "../../tree/tree.js";
import { EXIT } from "../../core/errors.js";

/** `bk docs`: regenerate docs/architecture.md (with --check: fail when it is stale). */
export async function docsCommand(root: string, opts: { check?: boolean }): Promise<number> {
  const { tree } = generate(root);
  const wanted = new Map(GENERATED_FILES.map((f) => [f, tree.files.get(f)!]));
  const current = new Map(GENERATED_FILES.filter((f) => existsSync(path.join(root, f))).map((f) => [f, readFileSync(path.join(root, f), "utf8")]));
  const diff = diffTrees(current, wanted);
  if (opts.check) {
    if (!isClean(diff)) {
      process.stdout.write(diff.patch);
      process.stderr.write("bk docs: docs/architecture.md is stale; run `bk docs` and commit it\n");
      return EXIT.failed;
    }
    process.stdout.write("bk docs: docs/architecture.md matches the definition\n");
    return EXIT.ok;
  }
  if (!isClean(diff)) writeTreeAtomically(root, wanted, [], GENERATED_FILES);
  process.stdout.write(`bk docs: ${isClean(diff) ? "up to date" : "wrote"} ${GENERATED_FILES.join(", ")}\n`);
  return EXIT.ok;
}
