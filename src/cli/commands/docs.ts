import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { generate } from "../../pipeline.js";
import { diffTrees, isClean } from "../../tree/diff.js";
import { writeTreeAtomically } from "../../tree/files.js";
import { GENERATED_FILES } from "../../tree/tree.js";
import { EXIT } from "../../core/errors.js";
import { printJson } from "../output.js";

export interface DocsOptions {
  check?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** `bk docs`: regenerate the generated docs (with --check: fail when one is stale; with --dry-run: say what would be written). */
export async function docsCommand(root: string, opts: DocsOptions): Promise<number> {
  const { tree } = generate(root);
  const wanted = new Map(GENERATED_FILES.map((f) => [f, tree.files.get(f)!]));
  const current = new Map(GENERATED_FILES.filter((f) => existsSync(path.join(root, f))).map((f) => [f, readFileSync(path.join(root, f), "utf8")]));
  const diff = diffTrees(current, wanted);
  const clean = isClean(diff);
  const stale = [...diff.added, ...diff.changed];
  if (opts.check || opts.dryRun) {
    const failed = Boolean(opts.check) && !clean;
    if (opts.json) printJson({ ok: !failed, files: GENERATED_FILES, stale, written: [], patch: diff.patch });
    else if (clean) process.stdout.write(`bk docs: up to date: ${GENERATED_FILES.join(", ")}\n`);
    else {
      process.stdout.write(diff.patch);
      process.stderr.write(opts.check ? `bk docs: stale: ${stale.join(", ")}; run \`bk docs\` and commit them\n` : `bk docs: would write ${stale.join(", ")}; nothing was written (dry run)\n`);
    }
    return failed ? EXIT.failed : EXIT.ok;
  }
  if (!clean) writeTreeAtomically(root, wanted, [], GENERATED_FILES);
  if (opts.json) printJson({ ok: true, files: GENERATED_FILES, stale: [], written: stale });
  else process.stdout.write(clean ? `bk docs: up to date: ${GENERATED_FILES.join(", ")}\n` : `bk docs: wrote ${stale.join(", ")}\n`);
  return EXIT.ok;
}
