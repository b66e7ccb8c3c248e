/**
 * The contract of `bk reconcile|suspend|resume` through the real `bk`, without a cluster: names are the
 * definition's (an unknown one is bad input naming the closest), --dry-run prints the patches and needs no
 * cluster, and a missing or unreachable cluster is exit 3. What the patches do is test/e2e/flux-actions.test.ts.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { runBk } from "../helpers/cli.js";
import { scratchDirs } from "../helpers/scratch.js";

const { tmp } = scratchDirs();
const home = tmp("bk-home-");
const noCluster = (args: string[], env: NodeJS.ProcessEnv = {}) => runBk(args, { env: { HOME: home, KUBECONFIG: "", ...env } });

describe("bk reconcile / suspend / resume without a cluster", () => {
  it("an unknown name is bad input (exit 2), as JSON too, with the closest valid names", () => {
    const r = noCluster(["reconcile", "ffl/backnd", "--json"]);
    assert.equal(r.status, 2, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.kind, "bad-input");
    assert.match(j.error, /^'ffl\/backnd' is not a name in the definition; closest: ffl\/backend, /);
    assert.match(r.stderr, /^bk reconcile: 'ffl\/backnd' is not a name/m);
  });

  it("--dry-run prints the patches the flux CLI would send, source first, and needs no cluster", () => {
    const r = noCluster(["reconcile", "ffl/backend", "--force", "--with-source", "--dry-run", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.dryRun, true);
    const [repo, src, hr] = j.objects;
    assert.deepEqual([repo.role, repo.kind, repo.namespace, repo.name], ["source", "HelmRepository", "flux-system", "bk-charts"]);
    assert.deepEqual([src.role, src.kind, src.namespace, src.name], ["source", "HelmChart", "flux-system", "ffl-ffl-backend"]);
    assert.deepEqual([hr.role, hr.kind, hr.namespace, hr.name], ["target", "HelmRelease", "ffl", "ffl-backend"]);
    const at = hr.requestedAt;
    assert.ok(!Number.isNaN(Date.parse(at)));
    assert.deepEqual(hr.patch, { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": at, "reconcile.fluxcd.io/forceAt": at } } });
    assert.equal(j.steps.find((s: { title: string }) => s.title === "read the objects from the cluster").status, "skipped");

    const text = noCluster(["suspend", "apps", "kube-prometheus-stack", "--dry-run"]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Kustomization flux-system\/apps \(apps\): would patch \{"spec":\{"suspend":true\}\}/);
    assert.match(text.stdout, /HelmRelease monitoring\/kube-prometheus-stack \(kube-prometheus-stack\): would patch \{"spec":\{"suspend":true\}\}/);

    const resume = JSON.parse(noCluster(["resume", "source", "--dry-run", "--json"]).stdout);
    assert.deepEqual(Object.keys(resume.objects[0].patch).sort(), ["metadata", "spec"]);
    assert.deepEqual(resume.objects[0].patch.spec, { suspend: false });
  });

  it("no kubeconfig anywhere: exit 3 naming the places looked at", () => {
    const r = noCluster(["reconcile", "apps", "--wait"]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /^bk reconcile: no cluster is configured: looked at --kubeconfig \(not given\), \$KUBECONFIG \(not set\)/m);
  });

  it("a cluster nothing answers at: exit 3, as JSON too", () => {
    const withConfig = tmp("bk-home-");
    mkdirSync(path.join(withConfig, ".kube"));
    writeFileSync(
      path.join(withConfig, ".kube/config"),
      "apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: 'https://127.0.0.1:9' } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n",
    );
    const r = runBk(["resume", "ffl", "--json"], { env: { HOME: withConfig, KUBECONFIG: "" } });
    assert.equal(r.status, 3, r.stderr);
    assert.equal(JSON.parse(r.stdout).kind, "unavailable");
  });

  it("a --timeout that is no duration is bad input (exit 2)", () => {
    const r = noCluster(["reconcile", "apps", "--wait", "--timeout", "soon"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--timeout 'soon' is not like 90s or 15m/);
  });
});
