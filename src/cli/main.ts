/** Entry point of `bk`: parse, dispatch, render errors, set the exit code. */
import { CommanderError } from "commander";
import { EXIT } from "../core/errors.js";
import { program, takePending } from "./program.js";
import { reportUncaught } from "./report-error.js";

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
    code = reportUncaught(err);
  }
  process.exitCode = code;
}

await entry();
