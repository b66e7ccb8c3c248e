/**
 * Synthesis of the real definition: the shape of the key objects, byte-for-byte determinism,
 * golden files for representative objects, and atomic writes.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import type { KubeObject } from "../../src/core/object.js";
import { loadDefinition } from "../../src/model/load.js";
import { generate } from "../../src/pipeline.js";
import { synthesize } from "../../src/synth/index.js";
import { renderFile } from "../../src/tree/emit.js";
import { writeTreeAtomically } from "../../src/tree/files.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";
import { runBk } from "../helpers/cli.js";

const { model } = loadDefinition(REPO_ROOT);
const objects = synthesize(model);
const find = (kind: string, name: string, ns?: string): KubeObject => {
  const o = objects.find((p) => p.object.kind === kind && p.object.metadata.name === name && (ns === undefined || p.object.metadata.namespace === ns));
  assert.ok(o, `${kind}/${ns ?? "*"}/${name} not synthesized`);
  return o.object;
};
// biome-ignore lint/suspicious/noExplicitAny: each test reads a different kind's spec several levels deep; declaring every kind's spec here would only restate the CRDs
const spec = (o: KubeObject) => o.spec as Record<string, any>;

describe("flux layout", () => {
  it("syncs the beckerkube repository every minute", () => {
    const git = find("GitRepository", "beckerkube", "flux-system");
    assert.equal(spec(git).interval, "1m");
    assert.deepEqual(spec(git).ref, { branch: "main" });
  });

  it("orders infra-controllers -> infra-configs -> apps with waits, prune, retries and timeouts", () => {
    const ks = (n: string) => spec(find("Kustomization", n, "flux-system"));
    assert.equal(ks("infra-controllers").dependsOn, undefined);
    assert.deepEqual(ks("infra-configs").dependsOn, [{ name: "infra-controllers" }]);
    assert.deepEqual(ks("apps").dependsOn, [{ name: "infra-configs" }]);
    for (const n of ["infra-controllers", "infra-configs", "apps"]) {
      assert.equal(ks(n).wait, true, n);
      assert.equal(ks(n).prune, true, n);
      assert.ok(ks(n).retryInterval && ks(n).timeout, n);
      assert.equal(ks(n).sourceRef.name, "beckerkube");
    }
    assert.equal(ks("infra-configs").path, "./infrastructure/configs");
  });

  it("pins every upstream chart to its exact version and remediates installs and upgrades", () => {
    const releases = objects.filter((p) => p.object.kind === "HelmRelease").map((p) => p.object);
    assert.ok(releases.length >= 30);
    for (const r of releases) {
      const s = spec(r);
      assert.equal(r.apiVersion, "helm.toolkit.fluxcd.io/v2");
      assert.ok(s.install.remediation.retries >= 1, r.metadata.name);
      assert.equal(s.upgrade.remediation.strategy, "rollback", r.metadata.name);
      if (s.chart.spec.sourceRef.name !== "bk-charts") assert.match(s.chart.spec.version, /^v?\d+\.\d+\.\d+$/, r.metadata.name);
    }
    assert.equal(spec(find("HelmRelease", "cert-manager")).chart.spec.version, model.charts["cert-manager"]!.version);
  });
});

describe("addresses and certificates derive from the definition", () => {
  it("pins each LoadBalancer to its IP in a pool that never auto-assigns", () => {
    const pool = spec(find("IPAddressPool", "beckerkube-pool"));
    assert.deepEqual(pool.addresses, ["192.168.7.17-192.168.7.21"]);
    assert.equal(pool.autoAssign, false);
    const registry = find("Service", "registry", "registry");
    assert.equal(registry.metadata.annotations?.["metallb.io/loadBalancerIPs"], "192.168.7.21");
    assert.equal(spec(registry).ports[0].port, 5000);
    const ingressValues = spec(find("HelmRelease", "ingress-nginx")).values;
    assert.equal(ingressValues.controller.service.annotations["metallb.io/loadBalancerIPs"], "192.168.7.20");
    const gw = spec(find("HelmRelease", "bk-gateway")).values;
    assert.equal(gw.service.annotations["metallb.io/loadBalancerIPs"], "192.168.7.19");
    const pg = spec(find("Cluster", "postgres", "infra")).managed.services.additional[0].serviceTemplate;
    assert.equal(pg.metadata.annotations["metallb.io/loadBalancerIPs"], "192.168.7.17");
    const cm = spec(find("HelmRelease", "chartmuseum")).values.service;
    assert.equal(cm.annotations["metallb.io/loadBalancerIPs"], "192.168.7.18");
    assert.equal(cm.externalPort, 8080);
  });

  it("issues the registry certificate for its IP and every name it is reached by (incident 3)", () => {
    const cert = spec(find("Certificate", "registry-tls", "registry"));
    assert.deepEqual(cert.ipAddresses, ["192.168.7.21"]);
    assert.deepEqual(cert.dnsNames, ["registry.beckerkube.lan", "registry.registry.svc", "registry.registry.svc.cluster.local"]);
    assert.equal(cert.issuerRef.name, "beckerkube-ca");
  });

  it("moves every consumer when an IP changes in the definition", () => {
    const root = tempDefinition((d) => {
      d.cluster.setIn(["network", "loadBalancerPool", "end"], "192.168.7.30");
      d.infra.setIn(["registry", "loadBalancer", "ip"], "192.168.7.30");
    });
    const { tree } = generate(root);
    const all = [...tree.files.values()].join("\n");
    assert.ok(!all.includes("192.168.7.21"), "the old registry address survived somewhere");
    assert.match(all, /192\.168\.7\.30:5000\/ffl\/backend/);
    assert.match(tree.files.get("docs/architecture.md")!, /\| Registry \| 192\.168\.7\.30 \| 5000 \|/);
  });
});

describe("applications", () => {
  it("deploys every component of the five apps from ChartMuseum with explicit image tags", () => {
    const hrs = objects.filter((p) => p.file.startsWith("apps/") && p.object.kind === "HelmRelease").map((p) => p.object);
    assert.equal(hrs.length, model.components.length);
    for (const c of model.components) {
      const hr = find("HelmRelease", c.fullname, c.namespace);
      assert.equal(spec(hr).chart.spec.sourceRef.name, "bk-charts");
      assert.equal(spec(hr).values.image.repository, `192.168.7.21:5000/${c.app}/${c.name}`);
      assert.equal(spec(hr).values.image.tag, c.image.tag);
    }
  });

  it("starts a frontend after its backend, and a migrating backend waits longer than its migration (incidents 5, 8)", () => {
    const fe = spec(find("HelmRelease", "ffl-frontend", "ffl"));
    assert.deepEqual(fe.dependsOn, [{ name: "ffl-backend" }]);
    const be = spec(find("HelmRelease", "ffl-backend", "ffl"));
    assert.equal(be.values.migration.activeDeadlineSeconds, 1800);
    assert.equal(be.timeout, "35m");
    assert.equal(be.values.env.DATABASE_HOST, "postgres-rw.infra.svc.cluster.local");
    assert.deepEqual(
      be.values.secretEnv.find((e: { name: string }) => e.name === "DATABASE_PASSWORD"),
      { name: "DATABASE_PASSWORD", secret: "ffl-db", key: "password" },
    );
    assert.equal(fe.values.env.BACKEND_HOST, "ffl-backend.ffl.svc.cluster.local");
  });

  it("renders routes for ingress-nginx, or as Gateway API routes by one setting", () => {
    assert.equal(spec(find("HelmRelease", "ffl-backend", "ffl")).values.route.kind, "ingress");
    const root = tempDefinition((d) => d.cluster.setIn(["network", "routes"], "gateway-api"));
    const { tree } = generate(root);
    const be = parse(tree.files.get("apps/ffl/backend.yaml")!.split("---\n")[1]!);
    assert.equal(be.spec.values.route.kind, "httproute");
    assert.deepEqual(be.spec.values.route.gateway, { name: "bk-gateway", namespace: "istio-ingress" });
  });

  it("labels every namespace with a pinned Pod Security version", () => {
    for (const ns of objects.filter((p) => p.object.kind === "Namespace").map((p) => p.object)) {
      const l = ns.metadata.labels!;
      assert.ok(["privileged", "baseline", "restricted"].includes(l["pod-security.kubernetes.io/enforce"]!), ns.metadata.name);
      assert.equal(l["pod-security.kubernetes.io/enforce-version"], "v1.34");
    }
    assert.equal(find("Namespace", "ffl").metadata.labels!["pod-security.kubernetes.io/enforce"], "restricted");
  });
});

describe("determinism and golden files", () => {
  it("produces identical bytes on every run", () => {
    const a = generate(REPO_ROOT).tree.files;
    const b = generate(REPO_ROOT).tree.files;
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [f, content] of a) assert.equal(b.get(f), content, f);
  });

  const goldenDir = path.join(REPO_ROOT, "test/fixtures/golden");
  const golden: Array<[string, string, string | undefined]> = [
    ["GitRepository", "beckerkube", "flux-system"],
    ["Kustomization", "infra-configs", "flux-system"],
    ["HelmRelease", "ffl-backend", "ffl"],
    ["Certificate", "registry-tls", "registry"],
    ["IPAddressPool", "beckerkube-pool", "metallb-system"],
    ["Cluster", "postgres", "infra"],
  ];
  for (const [kind, name, ns] of golden) {
    it(`matches the golden ${kind} ${name}`, () => {
      const file = path.join(goldenDir, `${kind}-${name}.yaml`);
      const actual = renderFile([find(kind, name, ns)]);
      if (process.env.BK_UPDATE_GOLDEN) {
        mkdirSync(goldenDir, { recursive: true });
        writeFileSync(file, actual);
      }
      assert.ok(existsSync(file), `golden file ${file} missing: run with BK_UPDATE_GOLDEN=1 and review it`);
      assert.equal(actual, readFileSync(file, "utf8"));
    });
  }
});

describe("writing the tree", () => {
  it("bk synth --check fails and shows the diff when the committed tree drifted", () => {
    const root = tempDefinition();
    assert.equal(runBk(["synth", "--root", root]).status, 0);
    assert.equal(runBk(["synth", "--check", "--root", root]).status, 0);
    const f = path.join(root, "apps/ffl/backend.yaml");
    writeFileSync(f, readFileSync(f, "utf8").replace("tag: 1.4.2", "tag: 1.4.3"));
    const r = runBk(["synth", "--check", "--root", root]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /-\s+tag: 1\.4\.3\n\+\s+tag: 1\.4\.2/);
    assert.match(r.stderr, /1 changed/);
  });

  it("leaves the previous tree untouched when writing fails", () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "bk-tree-"));
    mkdirSync(path.join(root, "apps/x"), { recursive: true });
    writeFileSync(path.join(root, "apps/x/old.yaml"), "old\n");
    const files = new Map([
      ["apps/x/new.yaml", "new\n"],
      ["elsewhere/y.yaml", "y\n"],
    ]);
    assert.throws(() => writeTreeAtomically(root, files, ["apps"], []), /refusing to write elsewhere\/y\.yaml/);
    assert.deepEqual(readdirSync(path.join(root, "apps/x")), ["old.yaml"]);
    writeTreeAtomically(root, new Map([["apps/x/new.yaml", "new\n"]]), ["apps"], []);
    assert.deepEqual(readdirSync(path.join(root, "apps/x")), ["new.yaml"]);
    assert.deepEqual(readdirSync(path.join(root, ".bk")), [], "staging folders were left behind");
  });

  it("derives every kustomization.yaml from the files present, SealedSecrets included (incident 7)", () => {
    const root = tempDefinition();
    mkdirSync(path.join(root, "apps/ffl/secrets"), { recursive: true });
    writeFileSync(
      path.join(root, "apps/ffl/secrets/ffl-backend.sealed.yaml"),
      "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: ffl-backend\n  namespace: ffl\nspec:\n  encryptedData:\n    secret-key: AgB=\n  template:\n    metadata:\n      name: ffl-backend\n      namespace: ffl\n",
    );
    const { tree } = generate(root);
    assert.match(tree.files.get("apps/ffl/kustomization.yaml")!, /- secrets\n/);
    assert.match(tree.files.get("apps/ffl/secrets/kustomization.yaml")!, /- ffl-backend\.sealed\.yaml\n/);
  });
});

describe("secret rotation", () => {
  it("rolls a component's pods when a SealedSecret it reads changes, and only those", () => {
    const sealedFile = (data: string) =>
      `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: ffl-backend\n  namespace: ffl\nspec:\n  encryptedData:\n    secret-key: ${data}\n  template:\n    metadata:\n      name: ffl-backend\n      namespace: ffl\n`;
    const root = tempDefinition();
    mkdirSync(path.join(root, "apps/ffl/secrets"), { recursive: true });
    const f = path.join(root, "apps/ffl/secrets/ffl-backend.sealed.yaml");
    const digestOf = (file: string) => {
      const { tree } = generate(root);
      return (parse(tree.files.get(file)!.split("---\n")[1]!) as { spec: { values: { podAnnotations?: Record<string, string> } } }).spec.values.podAnnotations?.["beckerkube.io/secrets-digest"];
    };
    writeFileSync(f, sealedFile("AgAAAA=="));
    const first = digestOf("apps/ffl/backend.yaml");
    assert.match(first ?? "", /^[0-9a-f]{16}$/);
    writeFileSync(f, sealedFile("AgBBBB=="));
    const second = digestOf("apps/ffl/backend.yaml");
    assert.ok(second && second !== first);
    assert.equal(digestOf("apps/ffl/frontend.yaml"), undefined);
  });
});
