import { kubectlAvailable } from "../../adapters/kustomize.js";
import { generate } from "../../pipeline.js";
import { diffTrees, isClean } from "../../tree/diff.js";
import { readTree, writeTreeAtomically } from "../../tree/files.js";
import { GENERATED_FILES, OWNED_DIRS } from "../../tree/tree.js";
import { checkGenerated } from "../../workflows/validate.js";
import { EXIT } from "../../core/errors.js";
import { printFindings, printJson, summarize } from "../output.js";

export interface SynthOptions {
  check?: boolean;
  dryRun?: boolean;
  json?: boolean;
  kustomize?: boolean;
}

/**
 * `bk synth`: write the tree (or, with --check, fail on any difference from the committed one). It runs the
 * gate `bk plan` runs first: a tree that plan would refuse (an unpinned image, a credential in plain values)
 * is never written, and --check fails on it too.
 */
export async function synthCommand(root: string, opts: SynthOptions): Promise<number> {
  const g = generate(root);
  const { tree } = g;
  const validation = await checkGenerated(g, { kustomize: opts.kustomize !== false && kubectlAvailable() });
  const { errors, warnings } = summarize(validation.findings);
  const current = readTree(root, OWNED_DIRS, GENERATED_FILES);
  const diff = diffTrees(current, tree.files);
  const clean = isClean(diff);
  const summary = { files: tree.files.size, objects: tree.objects.length, added: diff.added, changed: diff.changed, removed: diff.removed, clean };
  if (errors) {
    if (opts.json) printJson({ ok: false, ...summary, written: false, errors, warnings, findings: validation.findings });
    else {
      printFindings(validation.findings.filter((f) => f.severity === "error"));
      process.stderr.write(`bk synth: ${errors} error(s) in the generated tree (the checks of \`bk plan\`); nothing was written\n`);
    }
    return EXIT.failed;
  }
  if (opts.check || opts.dryRun) {
    if (opts.json) printJson({ ok: !(opts.check && !clean), ...summary, patch: diff.patch });
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
  if (opts.json) printJson({ ok: true, ...summary });
  else
    process.stdout.write(
      clean ? `bk synth: up to date (${tree.files.size} files)\n` : `bk synth: wrote ${tree.files.size} files: ${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed\n`,
    );
  return EXIT.ok;
}
