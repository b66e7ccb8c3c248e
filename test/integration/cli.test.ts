/** The CLI as a user meets it: help everywhere, JSON output, meaningful exit codes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runBk } from "../helpers/cli.js";

describe("bk", () => {
  it("--help lists the commands", () => {
    const r = runBk(["--help"]);
    assert.equal(r.status, 0);
    for (const c of ["plan", "synth", "validate", "docs"]) assert.match(r.stdout, new RegExp(`\\n  ${c}\\b`));
  });

  it("every command and subcommand has --help", () => {
    const commandsOf = (help: string) => {
      const section = help.split(/^Commands:$/m)[1] ?? "";
      return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((c) => c !== "help");
    };
    const visit = (path: string[]): number => {
      const r = runBk([...path, "--help"]);
      assert.equal(r.status, 0, `${path.join(" ")} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`Usage: bk ${path.join(" ")}`.trim()));
      return 1 + commandsOf(r.stdout).reduce((n, c) => n + visit([...path, c]), 0);
    };
    assert.ok(visit([]) >= 15);
  });

  it("an unknown command or flag is bad input (exit 2)", () => {
    assert.equal(runBk(["deploy"]).status, 2);
    assert.equal(runBk(["plan", "--frobnicate"]).status, 2);
  });

  it("status --only with an area that does not exist is bad input (exit 2) listing the areas, before any cluster is asked", () => {
    const r = runBk(["status", "--only", "flux,nodes", "--json", "--kubeconfig", "/nonexistent"]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(JSON.parse(r.stdout).error, "--only flux,nodes: no area nodes; the areas are api, flux, ips, reachability, certificates, pods, images, backups");
  });

  it("plan --json describes the cluster from the definition", () => {
    const r = runBk(["plan", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const p = JSON.parse(r.stdout);
    assert.equal(p.cni.plugin, "calico");
    assert.equal(p.cni.enforcesNetworkPolicy, true);
    assert.deepEqual(
      p.services.map((s: { name: string; ip: string }) => `${s.name}=${s.ip}`),
      ["Registry=192.168.7.21", "ChartMuseum=192.168.7.18", "PostgreSQL=192.168.7.17", "ingress-nginx=192.168.7.20", "Istio Gateway=192.168.7.19"],
    );
    assert.match(p.services.find((s: { name: string }) => s.name === "ingress-nginx").caveat, /retired upstream/);
    assert.ok(p.namespaces.filter((n: { podSecurity: string; why?: string }) => n.podSecurity !== "restricted").every((n: { why?: string }) => n.why));
    assert.equal(p.validation.ok, true);
    assert.deepEqual(p.changes, { added: [], changed: [], removed: [] });
    const ffl = p.applications.find((a: { name: string }) => a.name === "ffl");
    assert.deepEqual(ffl.components.find((c: { name: string }) => c.name === "frontend").startsAfter, ["ffl/backend"]);
    const apps = p.namespaces.filter((n: { kind: string }) => n.kind === "application").map((n: { name: string }) => n.name);
    assert.deepEqual(p.mesh, { mode: "sidecar", namespaces: [...apps].sort(), injection: false, cni: null });
  });

  it("plan prints the human summary", () => {
    const r = runBk(["plan"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Registry\s+192\.168\.7\.21\s+5000/);
    assert.match(r.stdout, /CNI calico: enforces NetworkPolicy/);
    assert.match(r.stdout, /privileged: metallb-system/);
    assert.match(r.stdout, /mesh \(sidecar, mTLS STRICT, deny by default\): ccbot, ffl, .*\(policies only: no CNI agent pinned/);
    assert.match(r.stdout, /Changes against the committed tree\n {2}none/);
  });

  it("docs --check passes on the committed docs", () => {
    const r = runBk(["docs", "--check"]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
