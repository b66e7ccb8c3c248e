/**
 * Profiles from one definition (issue 19): the ha profile's invariants, each broken on purpose with the exact
 * finding, and what synthesis makes of the profile (patches on the shared tree, nothing written twice).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { FindingsError, type Finding } from "../../src/core/finding.js";
import { loadDefinition } from "../../src/model/load.js";
import { applyProfile, findProfile } from "../../src/model/profiles.js";
import { generate } from "../../src/pipeline.js";
import { diffOps, profileTree } from "../../src/synth/profiles.js";
import { synthesize } from "../../src/synth/index.js";
import { REPO_ROOT, tempDefinition, type DefinitionDocs } from "../helpers/definition.js";
import { runBk } from "../helpers/cli.js";
import { checkFit } from "../../src/validate/fit.js";
import type { KubeObject } from "../../src/core/object.js";
import path from "node:path";

function failures(edit: (d: DefinitionDocs) => void): Finding[] {
  try {
    loadDefinition(tempDefinition(edit));
  } catch (err) {
    assert.ok(err instanceof FindingsError, `expected FindingsError, got ${String(err)}`);
    return err.findings;
  }
  assert.fail("the broken definition loaded without error");
}

const only = (findings: Finding[], rule: string) => findings.filter((f) => f.rule === rule).map((f) => ({ file: f.file, field: f.field, message: f.message }));

describe("ha profile invariants", () => {
  it("the real definition's ha profile passes", () => {
    const { model } = loadDefinition(REPO_ROOT);
    assert.deepEqual(
      model.profiles.map((p) => [p.name, p.kind, p.nodes, p.path]),
      [
        ["minikube", "single-node", 1, "clusters/minikube"],
        ["ha", "ha", 3, "clusters/ha"],
      ],
    );
  });

  it("a single-instance database fails, naming the field", () => {
    const f = only(
      failures((d) => d.cluster.setIn(["profiles", "ha", "postgres", "instances"], 1)),
      "profile/postgres-instances",
    );
    assert.deepEqual(f, [
      {
        file: "definition/cluster.yaml",
        field: "profiles.ha.postgres.instances",
        message: "profile 'ha' runs PostgreSQL with 1 instance(s): with fewer than three, a synchronous standby lost with a node stops every commit or leaves no copy",
      },
    ]);
  });

  it("replication without a synchronous standby fails", () => {
    const f = only(
      failures((d) => d.cluster.setIn(["profiles", "ha", "postgres", "synchronous"], 0)),
      "profile/postgres-synchronous",
    );
    assert.deepEqual(
      f.map((x) => x.field),
      ["profiles.ha.postgres.synchronous"],
    );
  });

  it("two nodes and one replica fail, each with its reason", () => {
    const fs = failures((d) => {
      d.cluster.setIn(["profiles", "ha", "nodes"], 2);
      d.cluster.setIn(["profiles", "ha", "replicas"], 1);
    });
    assert.deepEqual(
      only(fs, "profile/nodes").map((x) => x.message),
      ["profile 'ha' has 2 node(s): an ha profile needs three or more, so a node can drain while the others still hold a majority"],
    );
    assert.deepEqual(
      only(fs, "profile/replicas").map((x) => x.field),
      ["profiles.ha.replicas"],
    );
    // Three instances on two nodes cannot each have a node.
    assert.deepEqual(
      only(fs, "profile/postgres-instances").map((x) => x.message),
      ["profile 'ha' runs 3 PostgreSQL instances on 2 nodes: each instance needs a node of its own"],
    );
    // Every stateless component now runs once: each is named in its own application file.
    const single = only(fs, "profile/single-point");
    assert.ok(single.some((x) => x.file === "definition/apps/ffl.yaml" && x.field === "components.frontend"));
  });

  it("a stateful component nobody accepted is a single point of failure in its app file", () => {
    const f = only(
      failures((d) => d.cluster.deleteIn(["profiles", "ha", "accepted", "ffl/redis"])),
      "profile/single-point",
    );
    assert.deepEqual(f, [
      {
        file: "definition/apps/ffl.yaml",
        field: "components.redis",
        message: "ffl/redis would be a single point of failure on profile 'ha': it keeps its data on a ReadWriteOnce volume (persistence), so it runs once (1 replica(s), no PodDisruptionBudget, no spread over nodes)",
      },
    ]);
  });

  it("storage bound to one node without a reason fails: the registry", () => {
    const f = only(
      failures((d) => d.cluster.deleteIn(["profiles", "ha", "accepted", "registry"])),
      "profile/single-point",
    );
    assert.deepEqual(
      f.map((x) => [x.field, x.message]),
      [["profiles.ha.accepted", "registry would be a single point of failure on profile 'ha': the registry keeps every image on one ReadWriteOnce volume (registry.storage), so it runs once"]],
    );
  });

  it("a chart with no replicated values and no reason fails at its pin", () => {
    const f = only(
      failures((d) => d.cluster.deleteIn(["profiles", "ha", "accepted", "metallb"])),
      "profile/single-point",
    );
    assert.deepEqual(
      f.map((x) => [x.file, x.field]),
      [["definition/infrastructure.yaml", "charts.metallb"]],
    );
  });

  it("an accepted id that names nothing fails", () => {
    const f = only(
      failures((d) => d.cluster.setIn(["profiles", "ha", "accepted", "ffl/nothing"], "a reason long enough to be a sentence")),
      "profile/accepted-unknown",
    );
    assert.deepEqual(
      f.map((x) => x.field),
      ["profiles.ha.accepted.ffl/nothing"],
    );
  });
});

describe("ha profile synthesis", () => {
  const { model } = loadDefinition(REPO_ROOT);
  const base = synthesize(model);
  const ha = findProfile(model, "ha");
  const pt = profileTree(model, ha, base, (m) => synthesize(m));

  it("writes only clusters/ha, and the base tree is the same objects with or without the profile", () => {
    assert.ok(pt.entry.every((o) => o.file.startsWith("clusters/ha/")));
    const withoutProfiles = synthesize({ ...model, profiles: model.profiles.slice(0, 1) });
    assert.deepEqual(
      base.filter((o) => !o.file.startsWith("clusters/ha/")),
      withoutProfiles,
    );
  });

  it("stateless components get replicas, a budget and a spread; stateful ones stay as they are", () => {
    const m = applyProfile(model, ha);
    const c = (id: string) => m.components.find((x) => x.id === id)!;
    assert.deepEqual([c("ffl/backend").replicas, c("ffl/backend").pdb, c("ffl/backend").topologySpread], [2, true, true]);
    assert.deepEqual([c("ffl/frontend").replicas, c("ffl/frontend").pdb, c("ffl/frontend").topologySpread], [2, true, true]);
    assert.deepEqual([c("ffl/redis").replicas, c("ffl/redis").topologySpread], [1, undefined]);
  });

  it("the database: three instances, one synchronous standby, one instance per node", () => {
    const cluster = pt.objects.find((o) => o.object.kind === "Cluster")!.object as unknown as { spec: Record<string, unknown> };
    assert.equal(cluster.spec.instances, 3);
    assert.deepEqual((cluster.spec.postgresql as Record<string, unknown>).synchronous, { method: "any", number: 1, dataDurability: "required" });
    assert.deepEqual(cluster.spec.affinity, { enablePodAntiAffinity: true, podAntiAffinityType: "required", topologyKey: "kubernetes.io/hostname" });
  });

  it("every difference is a patch on its layer's Kustomization, and applying the patches gives the profile's objects", () => {
    const tree = generate(REPO_ROOT).tree;
    const ks = parse(tree.files.get("clusters/ha/apps.yaml")!.split("---\n")[1]!) as { spec: { path: string; patches: Patch[] } };
    assert.equal(ks.spec.path, "./apps");
    const frontend = ks.spec.patches.find((p) => p.target.name === "ffl-frontend")!;
    assert.deepEqual(parse(frontend.patch), [
      { op: "replace", path: "/spec/values/pdb/enabled", value: true },
      { op: "replace", path: "/spec/values/replicas", value: 2 },
      { op: "add", path: "/spec/values/topologySpread", value: { enabled: true } },
    ]);
    // What Flux's kustomize-controller does with them: each layer's patches on the shared tree's objects.
    const patches = ["clusters/ha/infrastructure.yaml", "clusters/ha/apps.yaml"].flatMap((f) =>
      tree.files
        .get(f)!
        .split("---\n")
        .slice(1)
        .flatMap((d) => (parse(d) as { spec: { patches?: Patch[] } }).spec.patches ?? []),
    );
    assert.ok(patches.length > 10);
    const shared = pt.objects.filter((o) => !o.file.startsWith("clusters/"));
    let patched = 0;
    for (const o of shared) {
      const before = structuredClone(base.find((b) => b.file === o.file && b.object.kind === o.object.kind && b.object.metadata.name === o.object.metadata.name)!.object) as Json;
      for (const p of patches.filter((x) => x.target.kind === o.object.kind && x.target.name === o.object.metadata.name && x.target.namespace === o.object.metadata.namespace)) {
        applyOps(before, parse(p.patch) as Op[]);
        patched++;
      }
      assert.deepEqual(before, JSON.parse(JSON.stringify(o.object)), `${o.file} ${o.object.kind}/${o.object.metadata.name}`);
    }
    assert.equal(patched, patches.length, "every patch targets an object of the shared tree");
  });

  it("diffOps: maps key by key, lists whole, escapes / and ~", () => {
    assert.deepEqual(diffOps({ a: { "x/y": 1, gone: 2 }, l: [1, 2] }, { a: { "x/y": 3 }, l: [1], n: { "t~": 1 } }), [
      { op: "remove", path: "/a/gone" },
      { op: "replace", path: "/a/x~1y", value: 3 },
      { op: "replace", path: "/l", value: [1] },
      { op: "add", path: "/n", value: { "t~": 1 } },
    ]);
  });
});

type Json = unknown;
type Op = { op: string; path: string; value?: Json };
interface Patch {
  target: { kind: string; name: string; namespace?: string };
  patch: string;
}

/** JSON 6902 add/replace/remove, enough to replay the patches: a test helper, not what Flux runs. */
function applyOps(doc: Json, ops: readonly Op[]): void {
  for (const op of ops) {
    const keys = op.path
      .split("/")
      .slice(1)
      .map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = keys.pop()!;
    let at = doc as Record<string, Json>;
    for (const k of keys) {
      assert.ok(at[k] !== undefined, `${op.path}: no ${k}`);
      at = at[k] as Record<string, Json>;
    }
    if (op.op === "remove") delete at[last];
    else {
      if (op.op === "replace") assert.ok(last in at, `${op.path}: replace of nothing`);
      at[last] = structuredClone(op.value);
    }
  }
}

describe("the profile on the command line and in the fit check", () => {
  it("bk bootstrap --profile ha --dry-run starts its own Minikube profile with --nodes and points Flux at clusters/ha", () => {
    const r = runBk(["bootstrap", "--root", REPO_ROOT, "--profile", "ha", "--new-key", "--dry-run", "--json", "--state", path.join(tempDefinition(), "state.json")]);
    assert.equal(r.status, 0, r.stderr);
    const steps = (JSON.parse(r.stdout) as { steps: Array<{ id: string; commands: string[] }> }).steps;
    const start = steps.find((s) => s.id === "minikube")!.commands[0]!;
    assert.match(start, /^minikube start -p beckerkube-ha .* --nodes=3$/);
    assert.ok(steps.find((s) => s.id === "flux-sync")!.commands[0]!.endsWith("clusters/ha/flux-system/gotk-sync.yaml"));
  });

  it("an unknown profile is bad input (exit 2), naming the ones there are", () => {
    for (const cmd of [
      ["plan", "--no-fit", "--no-kustomize"],
      ["bootstrap", "--new-key", "--dry-run"],
    ]) {
      const r = runBk([...cmd, "--root", REPO_ROOT, "--profile", "nope"]);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /no profile 'nope': the definition has minikube, ha/);
    }
  });

  const deployment = (replicas: number, cpu: string): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "ns" },
    spec: { replicas, template: { spec: { containers: [{ name: "web", resources: { requests: { cpu, memory: "1Gi" }, limits: { cpu, memory: "1Gi" } } }] } } },
  });
  const daemonSet: KubeObject = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "ns" },
    spec: { template: { spec: { containers: [{ name: "agent", resources: { requests: { cpu: "100m", memory: "100Mi" }, limits: { cpu: "100m", memory: "100Mi" } } }] } } },
  };
  const one = { capacity: { cpu: 4000, memory: 8 * 2 ** 30 }, reserve: { cpu: 1000, memory: 2 * 2 ** 30 } };

  it("fit on three nodes: capacity and reserve per node, a DaemonSet pod on each", () => {
    const r = checkFit([deployment(2, "1"), daemonSet], { ...one, nodes: 3 });
    assert.deepEqual(r.allocatable, { cpu: 9000, memory: 18 * 2 ** 30 });
    assert.equal(r.workloads.find((w) => w.kind === "DaemonSet")!.replicas, 3);
    assert.deepEqual(r.requests.cpu, 2300);
    assert.equal(r.fits, true, r.problems.join("\n"));
  });

  it("fit on three nodes fails when the workloads would not fit on the two left after losing one", () => {
    // 7 CPU requested: within 9 on three nodes, beyond the 6 two nodes offer.
    const r = checkFit([deployment(7, "1")], { ...one, nodes: 3 });
    assert.equal(r.fits, false);
    assert.deepEqual(r.problems, ["with one of the 3 nodes gone, the 2 left offer 6 CPU but the workloads request 7 CPU: its pods would stay Pending; the largest: Deployment/ns/web 7 CPU"]);
  });
});

describe("fit of an autoscaled workload", () => {
  it("counts a Deployment without spec.replicas at its HorizontalPodAutoscaler's minimum", () => {
    const d: KubeObject = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "istiod", namespace: "istio-system" },
      spec: { template: { spec: { containers: [{ name: "discovery", resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } } }] } } },
    };
    const hpa: KubeObject = {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "istiod", namespace: "istio-system" },
      spec: { minReplicas: 2, maxReplicas: 5, scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "istiod" } },
    };
    const r = checkFit([d, hpa], { capacity: { cpu: 4000, memory: 8 * 2 ** 30 }, reserve: { cpu: 0, memory: 0 } });
    assert.equal(r.workloads[0]!.replicas, 2);
    assert.equal(r.requests.cpu, 200);
  });
});
