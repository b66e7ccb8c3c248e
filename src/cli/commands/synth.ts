import { generate } from "../../pipeline.js";
import { diffTrees, isClean } from "../../tree/diff.js";
import { readTree, writeTreeAtomically } from "../../tree/files.js";
import { GENERATED_FILES, OWNED_DIRS } from "../../tree/tree.js";
import { EXIT } from "../../core/errors.js";
import { printJson } from "../output.js";

export interface SynthOptions {
  check?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** `bk synth`: write the tree (or, with --check, fail on any difference from the committed one). */
export async function synthCommand(root: string, opts: SynthOptions): Promise<number> {
  const { tree } = generate(root);
  const current = readTree(root, OWNED_DIRS, GENERATED_FILES);
  const diff = diffTrees(current, tree.files);
  const clean = isClean(diff);
  const summary = { files: tree.files.size, objects: tree.objects.length, added: diff.added, changed: diff.changed, removed: diff.removed, clean };
  if (opts.check || opts.dryRun) {
    if (opts.json) printJson({ ...summary, patch: diff.patch });
    else if (clean) process.stdout.write(`bk synth: the tree matches the definition (${tree.files.size} files, ${tree.objects.length} objects)\n`);
    else {
      process.stdout.write(diff.patch);
      process.stderr.write(
        `bk synth: ${opts.check ? "the committed tree differs from the definition" : "would change"}: ${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed.` +
          (opts.check ? " Run `bk synth` and commit the result.\n" : "\n"),
      );
    }
    return opts.check && !clean ? EXIT.failed : EXIT.ok;
  }
  if (!clean) writeTreeAtomically(root, tree.files, OWNED_DIRS, GENERATED_FILES);
  if (opts.json) printJson(summary);
  else
    process.stdout.write(
      clean ? `bk synth: up to date (${tree.files.size} files)\n` : `bk synth: wrote ${tree.files.size} files: ${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed\n`,
    );
  return EXIT.ok;
}
