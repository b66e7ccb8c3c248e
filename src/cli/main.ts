/** Entry point of `bk`: parse, dispatch, render errors, set the exit code. */
import { CommanderError } from "commander";
import { EXIT } from "../core/errors.js";
import { invocation, program, refuseUnknownCommand, takePending } from "./program.js";
import { printJson } from "./output.js";
import { errorJson, reportUncaught } from "./report-error.js";

export async function main(argv: string[]): Promise<number> {
  try {
    refuseUnknownCommand(argv.slice(2));
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.exitCode === 0) return EXIT.ok;
    // Commander has printed its message; a script that asked for JSON gets it as JSON too.
    if (wantsJson(argv)) printJson(errorJson(err.message.replace(/^error: /, ""), EXIT.badInput));
    return EXIT.badInput;
  }
  const pending = takePending();
  return pending ? await pending : EXIT.ok;
}

/** --json among the options, before any `--`: the command was not dispatched, so its options were never parsed. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

async function entry(): Promise<void> {
  let code: number;
  try {
    code = await main(process.argv);
  } catch (err) {
    code = reportUncaught(err, invocation());
  }
  process.exitCode = code;
}

await entry();
