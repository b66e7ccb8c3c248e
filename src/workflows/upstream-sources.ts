/**
 * The upstream releases the tree applies from other Git repositories, read so the CRD-order check can credit
 * exactly what they install (src/validate/upstream/crds.ts).
 */
import type { PlacedObject } from "../core/object.js";
import { type GitSourceOptions, readManifests, resolveGitSource, SourceNotFoundError } from "../adapters/sources.js";
import type { Model } from "../model/model.js";
import { externalSources, type SourceArtifact } from "../validate/assumptions.js";

/** Upstream manifests stamp their release (gateway.networking.k8s.io/bundle-version): every stamp must be the pinned one. */
function otherRelease(objects: readonly PlacedObject["object"][], pinned: string): string | undefined {
  for (const o of objects) {
    for (const [k, v] of Object.entries(o.metadata.annotations ?? {})) if (k.endsWith("/bundle-version") && v !== pinned) return v;
  }
  return undefined;
}

export async function readSourceArtifacts(m: Pick<Model, "gitops">, tree: readonly PlacedObject[], opts: GitSourceOptions = {}): Promise<SourceArtifact[]> {
  const out: SourceArtifact[] = [];
  for (const s of externalSources(m, tree)) {
    const objects = readManifests(await resolveGitSource(s, opts));
    const release = otherRelease(objects, s.ref);
    if (release) throw new SourceNotFoundError(`${s.url}: the manifests found are release ${release}, the tree pins ${s.ref}`);
    out.push({ url: s.url, ref: s.ref, path: s.path, objects });
  }
  return out;
}
