/**
 * The system programs the tests run (scripts/system-packages.txt). A helper checks for its program before starting
 * it, so a missing one fails that test at once with the command that installs it, never at a wait's timeout.
 * npm test's pretest installs or names them all first; this matters when a test file is run on its own.
 */
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../../src/adapters/tools.js";

const LIST = path.join(repoRoot, "scripts", "system-packages.txt");

/** The program's absolute path when it is an executable on PATH (or the absolute path given), else undefined. */
export function findProgram(program: string, envPath = process.env["PATH"] ?? ""): string | undefined {
  const candidates = path.isAbsolute(program)
    ? [program]
    : envPath
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, program));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** How scripts/system-packages.txt says to install `program`. */
export function installHint(program: string): string {
  for (const line of readFileSync(LIST, "utf8").split("\n")) {
    const [name, pkg, ...where] = line.trim().split(/\s+/);
    if (name !== program || !pkg) continue;
    if (pkg === "-") return `install it from ${where.join(" ")}`;
    const sudo = process.getuid?.() === 0 ? "" : "sudo ";
    return `install it with '${sudo}apt-get install -y ${pkg}' (npm test's pretest, scripts/system-packages.sh, does this when it can)`;
  }
  throw new Error(`${program} is not listed in ${LIST}: add it there so npm test's pretest installs it`);
}

/** `program`'s path; throws naming the program, what needs it and how to install it when it is missing. */
export function requireProgram(program: string, neededFor: string, envPath?: string): string {
  const found = findProgram(program, envPath);
  if (found) return found;
  throw new Error(`${program} is not installed (needed for ${neededFor}): ${installHint(program)}`);
}
