/**
 * Requests and limits of the infrastructure containers, as the definition gives them: each release's synthesizer
 * writes them at the chart value that sizes that container (rendering the real charts proves every container
 * gets them: test/integration/fit.test.ts).
 */
import type { InfraContainer } from "../model/infra-resources.js";
import type { Model, ResourcesModel } from "../model/model.js";

/** The container's own requests and limits from the definition, else the definition's default. */
export function size(m: Pick<Model, "resources">, c: InfraContainer): ResourcesModel {
  return m.resources.components[c];
}
