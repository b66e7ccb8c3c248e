/**
 * Synthetic definitions for the benchmark: the real definition/ with every application repeated
 * `factor` times. Copy k (2..factor) of app A is A-c<k> in namespace <ns>-c<k> (declared in
 * cluster.yaml as restricted), with its routes and health URLs under /c<k>/ so they stay unique.
 * Secrets keep their names (they are per namespace), databases and cross-app edges are shared:
 * the infrastructure stays one.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMap, parseDocument, type Document } from "yaml";

export interface ScaledDefinition {
  root: string;
  factor: number;
  apps: number;
}

function renameApp(doc: Document.Parsed, copy: number): void {
  const suffix = `-c${copy}`;
  doc.set("name", `${String(doc.get("name"))}${suffix}`);
  doc.set("namespace", `${String(doc.get("namespace"))}${suffix}`);
  const components = doc.get("components");
  if (!isMap(components)) return;
  for (const pair of components.items) {
    const comp = pair.value;
    if (!isMap(comp)) continue;
    for (const key of ["route", "health"]) {
      const v = comp.get(key);
      if (typeof v === "string") comp.set(key, `/c${copy}${v}`);
    }
  }
}

/** Writes a copy of <repo>/definition scaled by `factor` into a new temp folder and returns its root. */
export function scaleDefinition(repoRoot: string, factor: number, parent = tmpdir()): ScaledDefinition {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`scale factor must be a positive integer, got ${factor}`);
  const root = mkdtempSync(join(parent, `bk-bench-x${factor}-`));
  cpSync(join(repoRoot, "definition"), join(root, "definition"), { recursive: true });
  // The application chart, so that checks which render it (bk validate without --no-render) find it.
  if (existsSync(join(repoRoot, "charts"))) cpSync(join(repoRoot, "charts"), join(root, "charts"), { recursive: true });
  const appsDir = join(root, "definition", "apps");
  const originals = readdirSync(appsDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const namespaces: string[] = [];
  for (const file of originals) {
    const text = readFileSync(join(appsDir, file), "utf8");
    for (let copy = 2; copy <= factor; copy++) {
      const doc = parseDocument(text);
      if (doc.errors.length) throw new Error(`definition/apps/${file}: ${doc.errors[0]?.message}`);
      renameApp(doc, copy);
      namespaces.push(String(doc.get("namespace")));
      writeFileSync(join(appsDir, file.replace(/\.ya?ml$/, `-c${copy}.yaml`)), String(doc));
    }
  }
  const clusterFile = join(root, "definition", "cluster.yaml");
  const cluster = parseDocument(readFileSync(clusterFile, "utf8"));
  const list = cluster.get("namespaces");
  if (!list || typeof list !== "object" || !("add" in list)) throw new Error("definition/cluster.yaml has no namespaces list");
  for (const name of namespaces) (list as { add(v: unknown): void }).add(cluster.createNode({ name, podSecurity: "restricted" }));
  writeFileSync(clusterFile, String(cluster));
  return { root, factor, apps: originals.length * factor };
}
