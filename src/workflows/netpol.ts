/**
 * `bk netpol` as a workflow: the two policy layers (NetworkPolicy, and the mesh's AuthorizationPolicies and
 * PeerAuthentications) evaluated against the definition's declared paths. By default the objects are the ones
 * synthesized from the definition; `committed` reads the tree as committed instead (what Flux applies), so a layer
 * edited by hand or left stale is judged too.
 */
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../core/object.js";
import { InputError } from "../core/errors.js";
import { analyzeNetworkPolicies, type NetpolReport } from "../netpol/analyze.js";
import { generate } from "../pipeline.js";
import { readTree } from "../tree/files.js";
import { OWNED_DIRS } from "../tree/tree.js";

export interface NetpolOptions {
  /** Evaluate the committed tree's files rather than what the definition synthesizes. */
  committed?: boolean;
}

/** Every Kubernetes object in the committed tree's YAML files. */
export function committedObjects(root: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const [file, text] of readTree(root, OWNED_DIRS, [])) {
    if (!file.endsWith(".yaml")) continue;
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) throw new InputError(`${file}: not valid YAML: ${doc.errors[0]!.message}`);
      const o = doc.toJS() as KubeObject | null;
      if (o && typeof o.kind === "string" && typeof o.apiVersion === "string") out.push(o);
    }
  }
  return out;
}

export function netpolReport(root: string, opts: NetpolOptions = {}): NetpolReport {
  const { model, tree } = generate(root);
  const objects = opts.committed ? committedObjects(root) : tree.objects.map((p) => p.object);
  return analyzeNetworkPolicies(model, objects);
}
