/** The canary's verdict from its live state (src/workflows/canary.ts judgeCanary), for bk doctor and bootstrap. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadDefinition } from "../../src/model/load.js";
import { defaultCanary } from "../../src/workflows/bootstrap.js";
import { judgeCanary } from "../../src/workflows/canary.js";
import { REPO_ROOT } from "../helpers/definition.js";

const { model } = loadDefinition(REPO_ROOT);
const c = defaultCanary(model);
const image = `${c.image.repository}:${c.image.tag}`;
const ready = { status: "True", type: "Ready", reason: "UpgradeSucceeded", message: "ok" };

describe("judgeCanary", () => {
  it("passes when the HelmRelease is Ready and a Ready pod runs the definition's image from the private registry", () => {
    assert.ok(image.startsWith(`${model.registry}/`), image);
    const v = judgeCanary(model, c, { release: { ready }, pods: [{ name: "ffl-redis-0", ready: true, images: [image] }] });
    assert.deepEqual(v, { ok: true, detail: `${c.id}: HelmRelease ${c.namespace}/${c.fullname} Ready, pod ffl-redis-0 runs ${image} pulled from ${model.registry}` });
  });

  it("fails naming what is missing: the release, its readiness, a pod on the image", () => {
    const none = judgeCanary(model, c, { pods: [] });
    assert.equal(none.ok, false);
    assert.match(none.detail, /HelmRelease ffl\/ffl-redis does not exist/);
    const failed = judgeCanary(model, c, { release: { ready: { type: "Ready", status: "False", reason: "InstallFailed", message: "chart not found" } }, pods: [] });
    assert.match(failed.detail, /is not Ready: InstallFailed: chart not found/);
    assert.match(failed.fix!, /bk chart push --apps none/);
    const old = judgeCanary(model, c, { release: { ready }, pods: [{ name: "p", ready: true, images: ["docker.io/library/redis:7"] }] });
    assert.match(old.detail, /no Ready pod runs .*\(pods run docker\.io\/library\/redis:7\)/);
    const notReady = judgeCanary(model, c, { release: { ready }, pods: [{ name: "p", ready: false, images: [image] }] });
    assert.equal(notReady.ok, false);
  });

  it("refuses a canary whose image is not in the private registry: it would prove nothing", () => {
    const outside = { ...c, image: { ...c.image, repository: "docker.io/library/redis" } };
    const v = judgeCanary(model, outside, { release: { ready }, pods: [{ name: "p", ready: true, images: [`docker.io/library/redis:${c.image.tag}`] }] });
    assert.equal(v.ok, false);
    assert.match(v.detail, /not from the private registry/);
  });
});
