/** The object-level comparison behind `bk diff`: keys, sorting, patches, and Secret values never shown. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { diffKey, diffObjects, formatDiff } from "../../src/workflows/diff.js";

const secret = (data: Record<string, string>, stringData?: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "db", namespace: "infra" },
  type: "Opaque",
  data,
  ...(stringData ? { stringData } : {}),
});
const cm = (name: string, v: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "a" }, data: { v } });
const side = (...objects: KubeObject[]) => new Map(objects.map((o) => [diffKey(o), { object: o, source: "f.yaml" }]));

describe("diffObjects", () => {
  it("keys by group, kind, namespace and name, leaving out empty parts and the version", () => {
    assert.equal(diffKey({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x", namespace: "n" } }), "apps/Deployment/n/x");
    assert.equal(diffKey({ apiVersion: "v1", kind: "Namespace", metadata: { name: "n" } }), "Namespace/n");
    assert.equal(diffKey({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "r" } }), "rbac.authorization.k8s.io/ClusterRole/r");
  });

  it("sorts added, removed and changed objects, each with a patch naming it", () => {
    const d = diffObjects(side(cm("b", "1"), cm("c", "1")), side(cm("a", "1"), cm("b", "2")));
    assert.deepEqual([d.added.map((x) => x.object), d.removed.map((x) => x.object), d.changed.map((x) => x.object)], [["ConfigMap/a/a"], ["ConfigMap/a/c"], ["ConfigMap/a/b"]]);
    assert.equal(d.changed[0]!.patch, '--- a/ConfigMap/a/b\n+++ b/ConfigMap/a/b\n@@ -4,4 +4,4 @@\n   name: b\n   namespace: a\n data:\n-  v: "1"\n+  v: "2"\n');
    assert.match(d.added[0]!.patch, /^--- \/dev\/null\n\+\+\+ b\/ConfigMap\/a\/a\n/);
    assert.deepEqual(
      formatDiff(d)
        .split("\n")
        .filter((l) => l.startsWith("# ")),
      ["# added ConfigMap/a/a  (f.yaml)", "# changed ConfigMap/a/b  (f.yaml)", "# removed ConfigMap/a/c  (f.yaml)"],
    );
  });

  it("never shows a Secret's values: a changed value is a changed marker, an unchanged one a plain marker", () => {
    const d = diffObjects(side(secret({ password: "b2xk", user: "YWRtaW4=" })), side(secret({ password: "bmV3", user: "YWRtaW4=" }, { token: "plain-secret" })));
    assert.equal(d.maskedSecrets, 1);
    const patch = d.changed[0]!.patch;
    for (const v of ["b2xk", "bmV3", "YWRtaW4=", "plain-secret"]) assert.ok(!patch.includes(v), `${v} is in the patch:\n${patch}`);
    assert.ok(patch.includes("-  password: <masked, old value>\n+  password: <masked, new value>"), patch);
    assert.ok(patch.includes("   user: <masked>\n"), patch);
    assert.ok(patch.includes("+  token: <masked>\n"), patch);
  });

  it("an unchanged Secret is not in the diff, and a removed one shows no values", () => {
    assert.deepEqual(diffObjects(side(secret({ k: "djE=" })), side(secret({ k: "djE=" }))).changed, []);
    const d = diffObjects(side(secret({ k: "djE=" })), side());
    assert.equal(d.removed.length, 1);
    assert.ok(!d.removed[0]!.patch.includes("djE="));
  });
});
