/**
 * Synthesis: Model -> placed objects. Pure: no disk, no network; the same Model gives the same
 * objects in the same order every time.
 */
import type { PlacedObject } from "../core/object.js";
import type { Model } from "../model/model.js";
import { synthApps } from "./apps.js";
import { synthConfigs } from "./configs.js";
import { synthControllers } from "./controllers.js";
import { synthFlux } from "./flux.js";

export function synthesize(m: Model): PlacedObject[] {
  return [...synthFlux(m), ...synthControllers(m), ...synthConfigs(m), ...synthApps(m)];
}
