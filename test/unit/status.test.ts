/** What "healthy" means for `bk status`, decided from a snapshot of the live system. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadDefinition } from "../../src/model/load.js";
import { ageHours, evaluateStatus, scopeReport, type Snapshot } from "../../src/workflows/status.js";
import { REPO_ROOT } from "../helpers/definition.js";

const { model: m } = loadDefinition(REPO_ROOT);

function healthySnapshot(): Snapshot {
  return {
    flux: ["infra-controllers", "infra-configs", "apps"].map((name) => ({ kind: "Kustomization", namespace: "flux-system", name, ready: "True" as const, revision: "main@sha1:abc" })),
    services: m.endpoints.map((e) => ({ namespace: e.namespace, name: e.service, ip: e.ip })),
    pods: [],
    images: m.components.map((c) => ({ namespace: c.namespace, deployment: c.fullname, images: [c.image.ref] })),
    reachability: [{ name: "Registry", address: "192.168.7.21:5000", ok: true }],
    certificates: [],
    backup: { dir: "/b", newest: "20261126T031500Z", ageHours: 5 },
  };
}

describe("bk status evaluation", () => {
  it("--only judges the named areas alone: a moved IP fails the whole report, not one scoped to Flux and pods", () => {
    const s = healthySnapshot();
    s.services.find((x) => x.name === "registry")!.ip = "192.168.7.19";
    const full = evaluateStatus(m, s);
    assert.equal(full.healthy, false);
    const scoped = scopeReport(full, ["flux", "pods"]);
    assert.equal(scoped.healthy, true);
    assert.deepEqual([...new Set(scoped.checks.map((c) => c.area))].sort(), ["flux"]);
    assert.equal(scopeReport(full, ["ips"]).healthy, false);
  });

  it("is healthy when everything matches the definition", () => {
    const r = evaluateStatus(m, healthySnapshot());
    assert.equal(r.healthy, true, JSON.stringify(r.checks.filter((c) => c.health !== "ok")));
  });

  it("fails on a LoadBalancer IP that moved (incident 1)", () => {
    const s = healthySnapshot();
    s.services.find((x) => x.name === "registry")!.ip = "192.168.7.19";
    const r = evaluateStatus(m, s);
    assert.equal(r.healthy, false);
    assert.match(r.checks.find((c) => c.area === "ips" && c.health === "fail")!.detail, /serves at 192\.168\.7\.19, the definition pins 192\.168\.7\.21/);
  });

  it("fails on a pod in ImagePullBackOff and on a running image that is not the tree's (incident 2)", () => {
    const s = healthySnapshot();
    s.pods.push({ namespace: "ffl", name: "ffl-backend-1", phase: "Pending", reason: "ImagePullBackOff: Back-off pulling image" });
    s.images.find((x) => x.deployment === "ffl-backend")!.images = ["192.168.7.21:5000/ffl/backend:0.12.0"];
    const r = evaluateStatus(m, s);
    assert.equal(r.healthy, false);
    assert.ok(r.checks.some((c) => c.area === "pods" && /ImagePullBackOff/.test(c.detail)));
    assert.match(r.checks.find((c) => c.area === "images" && c.health === "fail")!.detail, /runs .*0\.12\.0; the tree says .*ffl\/backend:1\.4\.2/);
  });

  it("fails when a Flux layer is missing or not Ready, warns when suspended", () => {
    const s = healthySnapshot();
    s.flux = s.flux.filter((f) => f.name !== "apps");
    s.flux.push({ kind: "HelmRelease", namespace: "ffl", name: "ffl-backend", ready: "False", reason: "UpgradeFailed", message: "pre-upgrade hooks failed" });
    s.flux.push({ kind: "HelmRelease", namespace: "ccbot", name: "ccbot-bot", ready: "True", suspended: true });
    s.flux.push({ kind: "HelmRelease", namespace: "triager", name: "triager-redis", ready: "Unknown", reason: "Progressing" });
    const r = evaluateStatus(m, s);
    assert.match(r.checks.find((c) => c.subject === "Kustomization flux-system/apps")!.detail, /missing/);
    assert.match(r.checks.find((c) => c.subject === "HelmRelease ffl/ffl-backend")!.detail, /UpgradeFailed: pre-upgrade hooks failed/);
    assert.equal(r.checks.find((c) => c.subject === "HelmRelease ccbot/ccbot-bot")!.health, "warn");
    assert.equal(r.checks.find((c) => c.subject === "HelmRelease triager/triager-redis")!.health, "warn");
  });

  it("counts an OCI HelmRepository, which source-controller never gives a Ready condition, as ok", () => {
    const s = healthySnapshot();
    s.flux.push({ kind: "HelmRepository", namespace: "flux-system", name: "jetstack", ready: "Unknown", static: true });
    s.flux.push({ kind: "HelmRepository", namespace: "flux-system", name: "kubernetes", ready: "Unknown" });
    const r = evaluateStatus(m, s);
    const oci = r.checks.find((c) => c.subject === "HelmRepository flux-system/jetstack")!;
    assert.deepEqual([oci.health, oci.detail], ["ok", "OCI repository: Flux keeps no status for it; its charts show in their HelmReleases"]);
    assert.equal(r.checks.find((c) => c.subject === "HelmRepository flux-system/kubernetes")!.health, "warn", "a classic repository without Ready is still in progress");
  });

  it("fails when the newest backup is too old, or there is none", () => {
    const s = healthySnapshot();
    s.backup = { dir: "/b", newest: "20261120T031500Z", ageHours: 150 };
    assert.equal(evaluateStatus(m, s).healthy, false);
    s.backup = { dir: "/b" };
    assert.match(evaluateStatus(m, s).checks.find((c) => c.area === "backups")!.detail, /no backup yet/);
  });

  it("reports an unreadable API as a failure, not as an empty healthy cluster", () => {
    const r = evaluateStatus(m, { ...healthySnapshot(), apiError: "connect ECONNREFUSED 127.0.0.1:6443" });
    assert.equal(r.healthy, false);
    assert.ok(!r.checks.some((c) => c.area === "images"));
  });

  it("reads a backup folder's age from its name", () => {
    assert.equal(ageHours("20261126T031500Z", new Date("2026-11-26T15:15:00Z")), 12);
    assert.equal(ageHours("not-a-backup", new Date()), undefined);
  });
});
