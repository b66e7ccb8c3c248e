/**
 * The other profiles of the definition (issue 19), checked like the base tree: the objects a profile patches, with
 * the entry point that patches them, go through schema, policy and (with rendering) the real charts, and what the
 * charts render must leave no single point of failure (validate/profile-checks.ts). Only what the profile changes is
 * checked again: the rest is the base tree's, already checked.
 */
import type { Finding } from "../core/finding.js";
import type { PlacedObject } from "../core/object.js";
import { SEALED_SUFFIX } from "../model/layout.js";
import type { Generated } from "../pipeline.js";
import { profileTreeOf } from "./profile-tree.js";
import { checkRenderedProfile, type RenderedRelease } from "../validate/profile-checks.js";
import type { GeneratedTree } from "../tree/tree.js";
import type { Model } from "../model/model.js";

/** The base tree's validation, run on a profile's part of the tree with one more check of what the charts render. */
export type RunValidation = (m: Model, tree: GeneratedTree, renderedChecks: (rendered: readonly RenderedRelease[]) => Finding[]) => Promise<{ findings: Finding[] }>;

const SOURCES = new Set(["HelmRepository", "GitRepository", "OCIRepository"]);
// Cross-object checks that only the whole tree answers, and the SealedSecrets every profile shares: the base tree's run has them.
const WHOLE_TREE_ONLY = /^(refs\/|secrets\/|policy\/unused-exception$|upstream\/crd-order$)/;

export async function validateProfiles(g: Generated, baseFindings: readonly Finding[], run: RunValidation): Promise<{ findings: Finding[]; checks: string[] }> {
  const others = g.model.profiles.slice(1);
  if (!others.length) return { findings: [], checks: [] };
  const base = g.tree.objects.filter((o) => !o.file.endsWith(SEALED_SUFFIX));
  const seen = new Set(baseFindings.map(sameness));
  const findings: Finding[] = [];
  for (const p of others) {
    const pt = profileTreeOf(g, p);
    const objects: PlacedObject[] = [...pt.entry, ...pt.changed, ...base.filter((o) => SOURCES.has(o.object.kind) && !o.file.startsWith("clusters/"))];
    const files = new Map([...g.tree.files].filter(([f]) => f.startsWith(`${p.path}/`)));
    const r = await run(pt.model, { files, objects, kustomizationRoots: [p.path] }, (rendered) => checkRenderedProfile(pt.model, p, rendered));
    for (const f of r.findings) if (!WHOLE_TREE_ONLY.test(f.rule) && !seen.has(sameness(f))) findings.push({ ...f, message: `[profile ${p.name}] ${f.message}` });
  }
  return { findings, checks: ["profiles"] };
}

const sameness = (f: Finding) => `${f.rule}|${f.object ?? ""}|${f.field ?? ""}|${f.message}`;
