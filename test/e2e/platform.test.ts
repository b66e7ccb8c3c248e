/**
 * End-to-end: the whole platform as committed, from nothing, on the local control plane with the real Flux
 * controllers. Nothing but Flux's own CRDs is installed first: every other CRD must come from the tree (the
 * charts, the Gateway API release), in the order its layers apply.
 *
 * The tree is the one `bk synth` writes. What stands in for the outside world is served by the harness
 * (test/e2e/helpers/upstream.ts): the upstream charts from the chart mirror as the HelmRepositories the tree
 * names, cert-manager's from a real OCI registry, the Gateway API release as its Git source at the pinned tag.
 * The bootstrap points the tree's own GitRepository at the harness git server, as `flux bootstrap` does, and
 * carries the source patches. KWOK runs the pods: they are Running without a container, so nothing a pod would
 * serve (admission webhooks, cert-manager issuing, CloudNativePG's instances) exists; each layer's end state is
 * asserted with what it needs, and what cannot be Ready here is named with why.
 *
 * Needs `npm run tools -- base e2e`, docker-registry and skopeo, and the mirrors in ../shared.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe } from "node:test";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/core/object.js";
import { FLUX_NAMESPACE } from "../../src/core/well-known.js";
import { up } from "../../src/devcluster/index.js";
import { type Generated, generate } from "../../src/pipeline.js";
import type { StatusReport } from "../../src/workflows/status.js";
import { sharedCrds } from "../helpers/charts.js";
import { runBkAsync } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { clusterSuite } from "./helpers/suite.js";
import { cond, describeCond, type FluxObj, GITREPO, GOTK_SYNC, HR, KS, list, secs, waitFor, writeTree, yamlDocs } from "./helpers/tree.js";
import { minikubeStorage, type StandIn, webhookRelaxer } from "./helpers/stand-ins.js";
import { type ServedUpstream, serveUpstream } from "./helpers/upstream.js";

const suite = clusterSuite();
const c = suite.cluster;
const step = suite.step;
const report: string[] = [];
let gen: Generated | undefined;
let registry: TestRegistry | undefined;
let served: ServedUpstream | undefined;
let treeDir = "";
const standIns: Record<string, StandIn> = {};

const g = (): Generated => {
  if (!gen) throw new Error("the tree was not generated (see the before() failure above)");
  return gen;
};
const note = (line: string) => {
  report.push(line);
  console.log(`# ${line}`);
};

/** Every HelmRelease and Kustomization with its Ready condition, for failure messages and the report. */
async function fluxSummary(): Promise<string> {
  const lines: string[] = [];
  for (const kind of [KS, HR]) {
    for (const o of await list(c().kubectl, kind)) lines.push(`  ${kind.split(".")[0]} ${o.metadata.namespace}/${o.metadata.name}: ${describeCond(o)}`);
  }
  return lines.join("\n");
}

/** The bootstrap file as `flux bootstrap` would write it for this cluster, with the source patches on the root. */
async function bootstrap(): Promise<string> {
  const text = await readFile(path.join(treeDir, GOTK_SYNC), "utf8");
  const docs = parseAllDocuments(text).map((d) => d.toJS() as KubeObject & { spec?: Record<string, unknown> });
  const root = docs.find((d) => d.kind === "Kustomization" && d.metadata.name === g().model.gitops.repository);
  if (!root?.spec) throw new Error(`${GOTK_SYNC}: no root Kustomization`);
  root.spec["patches"] = served!.rootPatches;
  return yamlDocs(...docs);
}

async function waitLayer(name: string, timeoutMs: number): Promise<FluxObj> {
  try {
    return await waitFor(
      `Kustomization ${name} to become Ready`,
      timeoutMs,
      async () => {
        const ks = await c().kubectl.getJson<FluxObj>(KS, FLUX_NAMESPACE, name);
        const r = cond(ks);
        return { value: r?.status === "True" && r.observedGeneration === ks?.metadata.generation ? ks : undefined, detail: describeCond(ks) };
      },
      () => c().assertAlive(),
      3000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await fluxSummary()}`, { cause: err });
  }
}

describe("the whole platform from nothing, as committed", () => {
  before(
    async () => {
      gen = generate(REPO_ROOT);
      registry = await startRegistry();
      const cluster = await up({ chartRepo: true, crdsDir: path.join(sharedCrds(), "flux"), onProgress: (l) => console.log(`# devcluster ${l}`) });
      suite.setCluster(cluster);
      treeDir = await tempDirOf("bk-e2e-platform-");
      served = await serveUpstream(cluster, g().model, g().tree.objects, registry, await tempDirOf("bk-e2e-upstream-"));
      for (const l of served.lines) note(`served: ${l}`);
    },
    { timeout: 8 * 60_000 },
  );

  after(async () => {
    for (const [name, s] of Object.entries(standIns)) {
      await s.stop();
      for (const l of s.lines) report.push(`stand-in ${name}: ${l}`);
    }
    if (report.length) console.log(`# --- platform e2e report ---\n${report.map((l) => `# ${l}`).join("\n")}`);
    registry?.stop();
    await suite.teardown(fluxSummary);
  });

  step("only Flux's own CRDs exist before the tree is applied", 60_000, async () => {
    const crds = await list<KubeObject>(c().kubectl, "customresourcedefinitions");
    const foreign = crds.map((x) => x.metadata.name).filter((n) => !n.endsWith(".toolkit.fluxcd.io"));
    assert.deepEqual(foreign, []);
    note(`before: ${crds.length} CRDs, all Flux's own`);
  });

  step("infra-controllers: every upstream chart installs through Flux and brings its CRDs", 16 * 60_000, async () => {
    await writeTree(g().tree.files, treeDir, c().git!.url("fleet"));
    const sha = await c().pushRepo(treeDir, { message: "the tree as committed" });
    await c().applyManifest(yamlDocs(...served!.prerequisites));
    standIns["storage"] = await minikubeStorage(c().kubectl, (m) => c().applyManifest(m));
    standIns["webhooks"] = webhookRelaxer(c().kubectl);
    await c().applyManifest(await bootstrap());
    await c().waitReady(GITREPO, FLUX_NAMESPACE, g().model.gitops.repository, 120_000);
    const t0 = Date.now();
    await waitLayer("infra-controllers", 15 * 60_000);
    note(`infra-controllers Ready ${secs(Date.now() - t0)} s after the push of ${sha.slice(0, 12)}`);
    const crds = await list<KubeObject & { spec: { group: string } }>(c().kubectl, "customresourcedefinitions");
    const groups = new Map<string, number>();
    for (const x of crds) groups.set(x.spec.group, (groups.get(x.spec.group) ?? 0) + 1);
    for (const group of ["gateway.networking.k8s.io", "cert-manager.io", "postgresql.cnpg.io", "monitoring.coreos.com", "metallb.io", "bitnami.com", "networking.istio.io"]) {
      assert.ok(groups.has(group), `no CRD of ${group} was installed by the tree (groups: ${[...groups.keys()].join(", ")})`);
    }
    note(`after infra-controllers: ${crds.length} CRDs in ${groups.size} groups: ${[...groups].map(([k, n]) => `${k} ${n}`).join(", ")}`);
  });

  step("infra-configs applies on the CRDs the controllers brought", 16 * 60_000, async () => {
    const t0 = Date.now();
    await waitLayer("infra-configs", 15 * 60_000);
    note(`infra-configs Ready after ${secs(Date.now() - t0)} s`);
    // kstatus, which Flux's health checks use, counts a custom resource without status as Current: with no
    // operator running, these are applied but not acted on. Named so the Ready above is not over-read.
    for (const kind of ["certificates.cert-manager.io", "clusterissuers.cert-manager.io", "clusters.postgresql.cnpg.io", "ipaddresspools.metallb.io", "gateways.gateway.networking.k8s.io"]) {
      for (const o of await list(c().kubectl, kind))
        note(`applied, not acted on here: ${kind.split(".")[0]} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}: ${cond(o) ? describeCond(o) : "no status (its controller is a KWOK pod)"}`);
    }
  });

  step("apps: every application release installs from the chart repository", 41 * 60_000, async () => {
    const t0 = Date.now();
    await waitLayer("apps", 40 * 60_000);
    note(`apps Ready after ${secs(Date.now() - t0)} s`);
    const inTree = g()
      .tree.objects.filter((p) => p.object.kind === "HelmRelease")
      .map((p) => `${p.object.metadata.namespace}/${p.object.metadata.name}`);
    const live = await list(c().kubectl, HR);
    const ready = live.filter((h) => cond(h)?.status === "True").map((h) => `${h.metadata.namespace}/${h.metadata.name}`);
    assert.deepEqual(ready.sort(), [...inTree].sort(), "every HelmRelease of the tree, and only those, is Ready");
    note(`${ready.length} HelmReleases Ready (${inTree.length} in the tree)`);
  });

  step("bk status: Flux, pods and images green; what only a real node and LAN provide is named", 3 * 60_000, async () => {
    const r = await runBkAsync(["status", "--json", "--kubeconfig", c().kubeconfig]);
    const status = JSON.parse(r.stdout) as StatusReport;
    const byArea = (area: string) => status.checks.filter((x) => x.area === area);
    for (const area of ["flux", "pods", "images"]) {
      const bad = byArea(area).filter((x) => x.health !== "ok");
      assert.deepEqual(bad, [], `bk status ${area}`);
    }
    const kinds = new Set(byArea("flux").map((x) => x.subject.split(" ")[0]));
    note(`bk status: ${byArea("flux").length} Flux objects ok (${[...kinds].join(", ")}), ${byArea("pods").length} pod checks ok, ${byArea("images").length} image checks ok`);
    // MetalLB's speaker, the registry, ChartMuseum and PostgreSQL are KWOK pods: no LoadBalancer address is
    // announced and nothing listens at the definition's addresses, which are not on this host's network. No Job
    // runs on a KWOK node either, so neither the pg_dump CronJob nor a VolSync mover ever records a backup.
    const failing = status.checks.filter((x) => x.health === "fail");
    const allowed = new Set(["ips", "reachability", "certificates", "backups"]);
    assert.deepEqual(
      failing.filter((x) => !allowed.has(x.area)),
      [],
      "only the checks that need a real node and LAN fail",
    );
    for (const f of failing) note(`bk status (needs a real node): ${f.area} ${f.subject}: ${f.detail}`);
    assert.equal(r.status, status.healthy ? 0 : 1, `exit code ${r.status} for healthy=${status.healthy}`);
  });

  step("bk doctor's canary check reads the canary's HelmRelease and pod from the cluster", 2 * 60_000, async () => {
    const r = await runBkAsync(["doctor", "--json", "--kubeconfig", c().kubeconfig]);
    const checks = (JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; detail: string }> }).checks;
    const canary = checks.find((x) => x.id === "canary");
    assert.equal(canary?.status, "ok", JSON.stringify(canary));
    assert.match(canary!.detail, /^ffl\/redis: HelmRelease ffl\/ffl-redis Ready, pod ffl-redis-\S+ runs 192\.168\.7\.21:5000\/ffl\/redis:\S+ pulled from 192\.168\.7\.21:5000$/);
    note(`bk doctor canary: ${canary!.detail}`);
  });
});

async function tempDirOf(prefix: string): Promise<string> {
  return suite.tempDir(prefix);
}
