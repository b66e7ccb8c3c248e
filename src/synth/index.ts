/**
 * Synthesis: Model -> placed objects. Pure: no disk, no network; the same Model gives the same
 * objects in the same order every time.
 */
import type { KubeObject, PlacedObject } from "../core/object.js";
import type { Model } from "../model/model.js";
import { synthApps } from "./apps.js";
import { synthConfigs } from "./configs.js";
import { synthControllers } from "./controllers.js";
import { synthFlux } from "./flux.js";
import { synthNetworkPolicies } from "./netpol.js";
import { synthMesh } from "./mesh.js";
import { synthNotifications } from "./notifications.js";
import { synthObservability } from "./observability/index.js";
import { synthProfiles } from "./profiles.js";
import { synthProgressive } from "./progressive.js";
import { synthVolumeBackups } from "./volume-backups.js";

/** `sealed`: the SealedSecrets already in the tree, so pods can roll when a secret they read is resealed. */
export function synthesize(m: Model, sealed: readonly KubeObject[] = []): PlacedObject[] {
  const objects = [
    ...synthFlux(m),
    ...synthControllers(m),
    ...synthConfigs(m),
    ...synthApps(m, sealed),
    ...synthNetworkPolicies(m),
    ...synthMesh(m),
    ...synthObservability(m),
    ...synthVolumeBackups(m),
    ...synthProgressive(m),
  ];
  const tree = [...objects, ...synthNotifications(m, objects)];
  return [...tree, ...synthProfiles(m, tree, (pm) => synthesize(pm, sealed))];
}
