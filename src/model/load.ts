/**
 * Load the definition folder: parse each file, check its shape, build the Model, check the
 * invariants. Any finding stops here: nothing downstream ever sees a half-valid definition.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { FindingsError, type Finding } from "../core/finding.js";
import { buildModel, type ParsedDefinition } from "./build.js";
import { checkInvariants, type Sources } from "./invariants.js";
import type { Model } from "./model.js";
import { AppFile, ClusterFile, ExceptionsFile, InfraFile } from "./schema.js";
import { DEFINITION_DOC, lineOf, listAppFiles, parseWith, readSource, type Overrides, type SourceFile } from "./source.js";

export const DEFINITION_DIR = "definition";

export interface Loaded {
  model: Model;
  sources: Sources;
}

/** Load `<root>/definition`. Throws FindingsError (exit code 2: bad input) on any problem. */
export function loadDefinition(root: string, dir = DEFINITION_DIR, overrides?: Overrides): Loaded {
  // Most often bk was run outside the repository: one finding that says so, not one per missing file.
  if (!overrides?.size && !existsSync(path.join(root, dir))) {
    const fix = `run bk inside the repository (or a folder below it), or pass --root <dir>; the files and their fields are in ${DEFINITION_DOC}`;
    throw new FindingsError([{ rule: "definition/file-missing", severity: "error", message: `no ${dir}/ folder in ${root} (nor in a folder above it)`, fix, file: `${dir}/` }], 2);
  }
  const findings: Finding[] = [];
  const need = (rel: string): SourceFile | undefined => {
    if (!overrides?.has(rel) && !existsSync(path.join(root, rel))) {
      findings.push({ rule: "definition/file-missing", severity: "error", message: `${rel} does not exist`, fix: `create ${rel} (see ${DEFINITION_DOC})`, file: rel });
      return undefined;
    }
    const s = readSource(root, rel, overrides);
    if ("rule" in s) {
      findings.push(s);
      return undefined;
    }
    return s;
  };
  const clusterSrc = need(`${dir}/cluster.yaml`);
  const infraSrc = need(`${dir}/infrastructure.yaml`);
  const exSrc = existsSync(path.join(root, dir, "policy-exceptions.yaml")) ? need(`${dir}/policy-exceptions.yaml`) : undefined;
  const appSrcs = listAppFiles(root, `${dir}/apps`).map(need);

  const cluster = clusterSrc && collect(parseWith(clusterSrc, ClusterFile), findings);
  const infra = infraSrc && collect(parseWith(infraSrc, InfraFile), findings);
  const exceptions = exSrc ? collect(parseWith(exSrc, ExceptionsFile), findings)?.exceptions : [];
  const apps: ParsedDefinition["apps"] = [];
  const appSources = new Map<string, SourceFile>();
  for (const s of appSrcs) {
    if (!s) continue;
    const def = collect(parseWith(s, AppFile), findings);
    if (!def) continue;
    if (appSources.has(def.name)) {
      findings.push({
        rule: "definition/app-duplicate",
        severity: "error",
        message: `application ${def.name} is defined in ${appSources.get(def.name)!.file} and again here`,
        fix: "rename one of them or remove the duplicate file",
        file: s.file,
        line: lineOf(s, ["name"]),
        field: "name",
      });
      continue;
    }
    appSources.set(def.name, s);
    apps.push({ file: s.file, def });
  }
  if (findings.length || !cluster || !infra || !exceptions || !clusterSrc || !infraSrc) throw new FindingsError(findings, 2);

  const parsed: ParsedDefinition = { cluster, infra, apps, exceptions };
  const model = buildModel(parsed);
  const sources: Sources = { cluster: clusterSrc, infra: infraSrc, apps: appSources };
  const invariantFindings = checkInvariants(model, parsed, sources);
  if (invariantFindings.length) throw new FindingsError(invariantFindings, 2);
  return { model, sources };
}

function collect<T>(r: { value?: T; findings: Finding[] }, into: Finding[]): T | undefined {
  into.push(...r.findings);
  return r.value;
}
