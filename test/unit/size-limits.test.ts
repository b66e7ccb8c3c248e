/**
 * The API server's size limits on ConfigMap/Secret data and on annotations, checked before a commit.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject, PlacedObject } from "../../src/core/object.js";
import { loadDefinition } from "../../src/model/load.js";
import { MAX_ANNOTATION_BYTES, MAX_DATA_BYTES, checkSizeLimits } from "../../src/schema/size-limits.js";
import { synthesize } from "../../src/synth/index.js";
import { REPO_ROOT } from "../helpers/definition.js";

const placed = (object: Record<string, unknown>): PlacedObject => ({ file: "infrastructure/configs/x.yaml", object: object as unknown as KubeObject });
const configMap = (data: Record<string, string>, annotations?: Record<string, string>) =>
  placed({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "big", namespace: "monitoring", ...(annotations ? { annotations } : {}) }, data });

describe("size limits", () => {
  it("accepts ConfigMap data of exactly 1 MiB, keys included, and refuses one byte more", () => {
    const key = "dashboard.json";
    assert.deepEqual(checkSizeLimits([configMap({ [key]: "x".repeat(MAX_DATA_BYTES - key.length) })]), []);
    const [f, ...rest] = checkSizeLimits([configMap({ [key]: "x".repeat(MAX_DATA_BYTES - key.length + 1) })]);
    assert.equal(rest.length, 0);
    assert.equal(f!.rule, "schema/too-large");
    assert.equal(f!.file, "infrastructure/configs/x.yaml");
    assert.equal(f!.object, "ConfigMap/monitoring/big");
    assert.equal(f!.field, "data");
    assert.match(f!.message, /ConfigMap data is 1024\.0 KiB; the API server refuses more than 1024\.0 KiB/);
  });

  it("counts multi-byte characters as bytes, and Secret data decoded from base64", () => {
    const half = MAX_DATA_BYTES / 2;
    assert.equal(checkSizeLimits([configMap({ k: "é".repeat(half) })]).length, 1, "2 bytes per é");
    const secret = (bytes: number) => placed({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "a" }, data: { k: Buffer.alloc(bytes).toString("base64") } });
    assert.deepEqual(checkSizeLimits([secret(MAX_DATA_BYTES - 1)]), []);
    assert.equal(checkSizeLimits([secret(MAX_DATA_BYTES)]).length, 1);
  });

  it("refuses annotations over 256 KiB in total on any object", () => {
    const annotations = { "beckerkube.io/purpose": "x".repeat(MAX_ANNOTATION_BYTES) };
    const [f] = checkSizeLimits([configMap({}, annotations)]);
    assert.equal(f!.field, "metadata.annotations");
    assert.deepEqual(checkSizeLimits([configMap({}, { a: "x".repeat(MAX_ANNOTATION_BYTES - 1) })]), []);
  });

  it("finds nothing in the real tree", () => {
    const objects = synthesize(loadDefinition(REPO_ROOT).model);
    assert.deepEqual(checkSizeLimits(objects), []);
  });
});
