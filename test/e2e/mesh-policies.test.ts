/**
 * End-to-end: the mesh layer of the tree (apps/<app>/mesh.yaml: PeerAuthentications, AuthorizationPolicies) applied
 * to a real kube-apiserver with Istio's CRDs from the upstream mirror installed, so the API server's own schema and
 * CEL validation judge them. No Istio control plane runs here: what is proven is that the objects are accepted as
 * written, not how istiod enforces them (test/unit/mesh-policies.test.ts evaluates that from the objects).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe } from "node:test";
import { parseAllDocuments } from "yaml";
import { CommandError } from "../../src/devcluster/exec.js";
import { up } from "../../src/devcluster/index.js";
import { clusterSuite } from "./helpers/suite.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CRDS = path.join(process.env.BK_SHARED ? path.resolve(process.env.BK_SHARED) : path.join(ROOT, "..", "shared"), "crds", "istio");
const suite = clusterSuite();
const c = suite.cluster;

/** The committed tree's mesh files and the namespaces they live in. */
function treeFiles(name: string): string[] {
  return readdirSync(path.join(ROOT, "apps"))
    .map((app) => path.join(ROOT, "apps", app, name))
    .filter((f) => {
      try {
        return readFileSync(f).length > 0;
      } catch {
        return false;
      }
    });
}

const kindsIn = (files: string[]) => files.flatMap((f) => parseAllDocuments(readFileSync(f, "utf8")).flatMap((d) => (d.toJS() ? [d.toJS() as { kind: string; metadata: { namespace: string; name: string } }] : [])));

describe("the mesh policies on a real API server with Istio's CRDs", () => {
  before(
    async () => {
      suite.setCluster(await up({ flux: false, gitServer: false, crdsDir: CRDS, onProgress: (l) => console.log(`# devcluster ${l}`) }));
    },
    { timeout: 4 * 60_000 },
  );
  after(() => suite.teardown());

  suite.step("every PeerAuthentication and AuthorizationPolicy of the tree is accepted: dry-run, then applied and read back", 120_000, async () => {
    const meshFiles = treeFiles("mesh.yaml");
    assert.ok(meshFiles.length >= 5, `a mesh.yaml per application, found ${meshFiles.length}`);
    await c().kubectl.apply(treeFiles("namespace.yaml"));
    await c().kubectl.apply(meshFiles, { dryRun: true });
    await c().kubectl.apply(meshFiles);
    const objects = kindsIn(meshFiles);
    for (const [kind, resource] of [
      ["AuthorizationPolicy", "authorizationpolicies.security.istio.io"],
      ["PeerAuthentication", "peerauthentications.security.istio.io"],
    ]) {
      const want = objects
        .filter((o) => o.kind === kind)
        .map((o) => `${o.metadata.namespace}/${o.metadata.name}`)
        .sort();
      const got = JSON.parse(await c().kubectl.run(["get", resource!, "-A", "-o", "json"])) as { items: Array<{ metadata: { namespace: string; name: string } }> };
      assert.deepEqual(got.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort(), want, `${kind}s stored`);
      assert.ok(want.length > 0);
    }
  });

  suite.step("the CRDs' validation is live: an unknown action and port-level mTLS without a selector are refused", 60_000, async () => {
    const bad = (spec: unknown, kind: string) => JSON.stringify({ apiVersion: "security.istio.io/v1", kind, metadata: { name: "bad", namespace: "ffl" }, spec });
    for (const [manifest, expected] of [
      [bad({ action: "PERMIT" }, "AuthorizationPolicy"), /spec\.action: Unsupported value: "PERMIT"/],
      [bad({ mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "PERMISSIVE" } } }, "PeerAuthentication"), /portLevelMtls requires selector/],
    ] as const) {
      await assert.rejects(c().kubectl.run(["apply", "--server-side", "--dry-run=server", "-f", "-"], manifest), (err: unknown) => {
        assert.ok(err instanceof CommandError, String(err));
        assert.match(err.stderr, expected);
        return true;
      });
    }
  });
});
