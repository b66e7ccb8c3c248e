/**
 * JSON Schemas of the definition files, generated from the same zod schemas the loader uses,
 * so an operator's editor (yaml-language-server) checks and completes fields as they type.
 */
import { z } from "zod";
import { AppFile, ClusterFile, ExceptionsFile, InfraFile } from "../model/schema.js";

export const DEFINITION_SCHEMAS: ReadonlyArray<[string, z.ZodType]> = [
  ["definition/.schema/cluster.json", ClusterFile],
  ["definition/.schema/infrastructure.json", InfraFile],
  ["definition/.schema/app.json", AppFile],
  ["definition/.schema/policy-exceptions.json", ExceptionsFile],
];

export function renderDefinitionSchemas(): Map<string, string> {
  return new Map(DEFINITION_SCHEMAS.map(([file, schema]) => [file, JSON.stringify(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }), null, 1) + "\n"]));
}
