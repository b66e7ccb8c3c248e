/**
 * Regenerates src/model/upstream-facts.generated.ts: the labels and ports of each chart-rendered infrastructure pod,
 * read off every HelmRelease of the tree rendered through its pinned chart in the upstream mirror: $BK_SHARED/charts,
 * else ../shared/charts (relative to the repository root), the folder the tests read (README.md, Requirements).
 *
 *   tsx scripts/gen-upstream-facts.ts [--charts DIR] [--check]
 *
 * --check writes nothing and exits 1 when the committed module differs from what the charts render.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FACTS_FILE } from "../src/validate/upstream/pod-facts.js";
import { generateUpstreamFacts } from "../src/workflows/upstream-facts.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`${name} needs a folder argument`);
  return value;
}

async function main(args: string[]): Promise<number> {
  const mirror = resolve(option(args, "--charts") ?? join(process.env.BK_SHARED ? resolve(process.env.BK_SHARED) : join(repoRoot, "..", "shared"), "charts"));
  const { facts, text } = await generateUpstreamFacts(repoRoot, { mirror });
  const target = join(repoRoot, FACTS_FILE);
  const rows = Object.keys(facts).length;
  if (args.includes("--check")) {
    const same = readFileSync(target, "utf8") === text;
    console.log(same ? `${FACTS_FILE} holds the facts of ${rows} workloads as ${mirror} renders them` : `${FACTS_FILE} differs from what ${mirror} renders: run npm run gen:facts`);
    return same ? 0 : 1;
  }
  writeFileSync(target, text);
  console.log(`wrote the facts of ${rows} workloads rendered from ${mirror} to ${FACTS_FILE}`);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`gen:facts: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
