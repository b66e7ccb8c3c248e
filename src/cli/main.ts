/** Entry point of `bk`: parse, dispatch, render errors, set the exit code. */
import { CommanderError } from "commander";
import { EXIT } from "../core/errors.js";
import { program, takePending } from "./program.js";

export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    throw err;
  }
  const pending = takePending();
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
