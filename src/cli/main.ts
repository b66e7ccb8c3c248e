/**
 * `bk`: command wiring only. Each action imports its command module lazily, so `bk --help`
 * loads commander and nothing else.
 */
import { Command, CommanderError } from "commander";
import { EXIT } from "./output.js";
import { findRoot } from "./root.js";

type Action = (root: string) => Promise<number>;

const program = new Command();
program
  .name("bk")
  .description("Operate BeckerKube: one definition, the Flux tree generated from it, and the operations around it.")
  .option("--root <dir>", "repository root (default: the nearest folder with definition/cluster.yaml)")
  .showHelpAfterError()
  .exitOverride();

let pending: Promise<number> | undefined;
const run = (action: Action) => {
  pending = action(findRoot(program.opts<{ root?: string }>().root));
};

program
  .command("plan")
  .description("load, synthesize and validate; print what the cluster is and what would change (needs no cluster)")
  .option("--json", "machine-readable output")
  .option("--no-kustomize", "skip the kustomize build check")
  .action((opts) => run(async (root) => (await import("./commands/plan.js")).planCommand(root, opts)));

program
  .command("synth")
  .description("write the GitOps tree (clusters/, infrastructure/, apps/) and docs/architecture.md from the definition")
  .option("--check", "write nothing; exit 1 and print the diff when the committed tree differs")
  .option("--dry-run", "write nothing; print what would change")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/synth.js")).synthCommand(root, opts)));

program
  .command("validate")
  .description("schema, policy, references and a real kustomize build of the generated tree")
  .option("--json", "machine-readable output")
  .option("--strict", "treat warnings (e.g. secrets not sealed yet) as errors: the pre-flight for a rebuild or release")
  .option("--no-kustomize", "skip the kustomize build check")
  .option("--no-render", "skip rendering the application chart with helm")
  .option("--rules", "list the policy rules and exit")
  .action((opts) => run(async (root) => (await import("./commands/validate.js")).validateCommand(root, opts)));

program
  .command("docs")
  .description("regenerate docs/architecture.md from the definition")
  .option("--check", "write nothing; exit 1 when the file is stale")
  .action((opts) => run(async (root) => (await import("./commands/docs.js")).docsCommand(root, opts)));

export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    throw err;
  }
  return pending ? await pending : EXIT.ok;
}

async function entry(): Promise<void> {
  let code: number;
  try {
    code = await main(process.argv);
  } catch (err) {
    const { FindingsError } = await import("../core/finding.js");
    if (err instanceof FindingsError) {
      const { printFindings } = await import("./output.js");
      printFindings(err.findings);
      process.stderr.write(`bk: ${err.findings.length} problem(s) in the definition; nothing was written\n`);
      code = err.exitCode;
    } else {
      process.stderr.write(`bk: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      code = EXIT.internal;
    }
  }
  process.exitCode = code;
}

await entry();
