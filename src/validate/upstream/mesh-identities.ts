/**
 * The mesh's AuthorizationPolicies name clients by service account (<trust domain>/ns/<namespace>/sa/<name>), and
 * those names are what the charts render, not what we typed: charts/app's ServiceAccounts for the components and
 * their migration Jobs, the gateway chart's for the Istio gateway. A principal no rendered pod runs as would deny
 * the real client while the policy reads right, so every one is checked against the renders.
 */
import type { Finding } from "../../core/finding.js";
import { objectRef, type PlacedObject } from "../../core/object.js";
import { list, rec, str } from "../../core/paths.js";
import type { Model } from "../../model/model.js";
import { locate, podsOf, type RenderedRelease } from "./objects.js";

const PRINCIPAL = /^(?<td>[^/]+)\/ns\/(?<ns>[^/]+)\/sa\/(?<sa>[^/]+)$/;

/** upstream/mesh-identity: each principal an AuthorizationPolicy allows is the service account of some rendered pod. */
export function checkMeshIdentities(m: Pick<Model, "mesh">, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Finding[] {
  if (!m.mesh) return [];
  const pods = podsOf(locate(tree, rendered));
  const accounts = new Map<string, Set<string>>();
  for (const p of pods) {
    const set = accounts.get(p.namespace) ?? new Set<string>();
    set.add(str(p.spec.serviceAccountName) ?? "default");
    accounts.set(p.namespace, set);
  }
  const out: Finding[] = [];
  for (const { object, file } of tree) {
    if (object.kind !== "AuthorizationPolicy") continue;
    const principals = list(rec(object.spec)?.rules).flatMap((r) => list(rec(r)?.from).flatMap((f) => list(rec(rec(f)?.source)?.principals).map(String)));
    for (const p of new Set(principals)) {
      const g = PRINCIPAL.exec(p)?.groups;
      if (!g) continue;
      const here = accounts.get(g.ns!);
      // A namespace nothing was rendered for (a check of some releases only) has nothing to compare with.
      if (!here) continue;
      if (g.td !== m.mesh.trustDomain || !here.has(g.sa!))
        out.push({
          rule: "upstream/mesh-identity",
          severity: "error",
          message: `${objectRef(object)} allows ${p}, but no pod the charts render in ${g.ns} runs as it${g.td !== m.mesh.trustDomain ? ` (trust domain is ${m.mesh.trustDomain})` : ""}; they run as ${[...here].sort().join(", ")}`,
          fix: "the service account names in src/model/mesh.ts (componentServiceAccounts) or the chart facts (npm run gen:facts) no longer match the charts: align them and run bk synth",
          file,
          object: objectRef(object),
        });
    }
  }
  return out;
}
