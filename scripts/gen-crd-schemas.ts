/**
 * Regenerates schemas/crds from the CRDs in the upstream mirror: $BK_SHARED/crds, else ../shared/crds (relative to
 * the repository root), the folder the tests read (README.md, Requirements).
 *
 *   tsx scripts/gen-crd-schemas.ts [--crds DIR] [--charts DIR] [--out DIR]
 *
 * CRDs that a chart ships only as templates (CHART_TEMPLATE_CRDS: VolSync) are read from the mirror's charts/.
 *
 * The CRD folder can also be given as BK_CRDS_DIR. The output folder is replaced as a whole, so a
 * CRD that was removed also loses its schema.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chartTemplateCrds, extractCrdSchemas } from "../src/schema/crd-extract.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`${name} needs a folder argument`);
  return value;
}

function main(args: string[]): void {
  const crdsDir = resolve(option(args, "--crds") ?? process.env.BK_CRDS_DIR ?? join(process.env.BK_SHARED ? resolve(process.env.BK_SHARED) : join(repoRoot, "..", "shared"), "crds"));
  const outDir = resolve(option(args, "--out") ?? join(repoRoot, "schemas", "crds"));
  // VolSync's CRDs exist only as templates of its chart: read from the mirror's charts/ beside crds/.
  const chartsDir = resolve(option(args, "--charts") ?? join(crdsDir, "..", "charts"));
  const files = extractCrdSchemas(crdsDir, chartTemplateCrds(chartsDir));
  rmSync(outDir, { recursive: true, force: true });
  for (const [rel, content] of files) {
    const target = join(outDir, rel);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  const bytes = [...files.values()].reduce((n, c) => n + Buffer.byteLength(c), 0);
  console.log(`wrote ${files.size - 1} schemas (${(bytes / 1024).toFixed(0)} KiB) from ${crdsDir} to ${outDir}`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  console.error(`gen:schemas: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
