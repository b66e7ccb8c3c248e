/**
 * The assumptions the tree makes about its upstream charts, checked against what they render: scrape targets
 * exist and serve metrics, NetworkPolicies open ports someone listens on, every custom kind's CRD and every
 * needed Secret arrive in time. Pure: the renders and the upstream CRD artifacts are read by the workflow.
 */
import type { Finding } from "../core/finding.js";
import type { PlacedObject } from "../core/object.js";
import type { Model } from "../model/model.js";
import { checkCrdOrder, externalSources, type SourceArtifact } from "./upstream/crds.js";
import { checkMonitors } from "./upstream/monitors.js";
import { checkNetpolPorts } from "./upstream/netpol-ports.js";
import type { RenderedRelease } from "./upstream/objects.js";
import { checkSecretSources } from "./upstream/secrets.js";
import { checkWorkloadFacts } from "./upstream/workload-facts.js";
import { checkBackupVolumes } from "./upstream/backup-volumes.js";
import { checkMeshIdentities } from "./upstream/mesh-identities.js";
import { checkFlagger } from "./upstream/flagger.js";

export type { RenderedRelease } from "./upstream/objects.js";
export type { SourceArtifact } from "./upstream/crds.js";
export { checkBackupVolumes, checkMeshIdentities, checkCrdOrder, checkMonitors, checkNetpolPorts, checkSecretSources, checkWorkloadFacts, externalSources };
export { METRICS_SWITCHES } from "./upstream/monitors.js";

/** Every upstream/* check; the same finding reached twice (two endpoints on one Service) is reported once. */
export function checkAssumptions(m: Model, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[], artifacts: readonly SourceArtifact[] = []): Finding[] {
  const all = [
    ...checkMonitors(m, tree, rendered),
    ...checkNetpolPorts(m, tree, rendered),
    ...checkCrdOrder(m, tree, rendered, artifacts),
    ...checkSecretSources(m, tree, rendered),
    ...checkWorkloadFacts(m, tree, rendered),
    ...checkBackupVolumes(m, tree, rendered),
    ...checkMeshIdentities(m, tree, rendered),
    ...checkFlagger(m, tree, rendered),
  ];
  const seen = new Set<string>();
  return all.filter((f) => {
    const key = `${f.rule}|${f.file}|${f.object}|${f.field}|${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
