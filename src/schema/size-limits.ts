/**
 * Size limits the API server enforces and no schema states: the data of a ConfigMap or a Secret
 * (1 MiB, keys included) and an object's annotations (256 KiB in total). A definition that grows
 * (more applications, a larger dashboard) can cross them silently; Flux would then fail to apply the
 * whole layer. Checked here, before a commit.
 */
import type { Finding } from "../core/finding.js";
import { objectRef, type PlacedObject } from "../core/object.js";
import { rec } from "../core/paths.js";

/** k8s.io/api/core/v1 MaxSecretSize, which also bounds ConfigMaps (validation.go). */
export const MAX_DATA_BYTES = 1024 * 1024;
/** apimachinery TotalAnnotationSizeLimitB. */
export const MAX_ANNOTATION_BYTES = 256 * 1024;

const utf8Bytes = (s: string): number => Buffer.byteLength(s, "utf8");

/** Bytes of a data map as the API server counts them: key plus value, base64 values decoded. */
function dataBytes(data: Record<string, unknown> | undefined, base64: boolean): number {
  let total = 0;
  for (const [k, v] of Object.entries(data ?? {})) {
    if (typeof v !== "string") continue;
    total += utf8Bytes(k) + (base64 ? Buffer.from(v, "base64").length : utf8Bytes(v));
  }
  return total;
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

export function checkSizeLimits(objects: readonly PlacedObject[]): Finding[] {
  const out: Finding[] = [];
  for (const placed of objects) {
    const o = placed.object as unknown as Record<string, unknown>;
    const where = { file: placed.file, object: objectRef(placed.object) };
    if (o.apiVersion === "v1" && (o.kind === "ConfigMap" || o.kind === "Secret")) {
      const size = dataBytes(rec(o.data), o.kind === "Secret") + dataBytes(rec(o.binaryData), true) + dataBytes(rec(o.stringData), false);
      if (size > MAX_DATA_BYTES) {
        out.push({
          rule: "schema/too-large",
          severity: "error",
          message: `${o.kind} data is ${kib(size)}; the API server refuses more than ${kib(MAX_DATA_BYTES)}`,
          fix: "split the data over several objects (for dashboards: one per application), or keep large content out of the cluster object",
          ...where,
          field: "data",
        });
      }
    }
    const annotations = rec(rec(o.metadata)?.annotations);
    if (annotations) {
      let size = 0;
      for (const [k, v] of Object.entries(annotations)) size += utf8Bytes(k) + (typeof v === "string" ? utf8Bytes(v) : 0);
      if (size > MAX_ANNOTATION_BYTES) {
        out.push({
          rule: "schema/too-large",
          severity: "error",
          message: `annotations total ${kib(size)}; the API server refuses more than ${kib(MAX_ANNOTATION_BYTES)}`,
          fix: "shorten the annotations or move their content elsewhere",
          ...where,
          field: "metadata.annotations",
        });
      }
    }
  }
  return out;
}
