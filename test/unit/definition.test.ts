/**
 * Every invariant of the definition, each broken on purpose: the exact rule, file, line and field
 * are reported, and nothing is written.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { FindingsError, type Finding } from "../../src/core/finding.js";
import { loadDefinition } from "../../src/model/load.js";
import { REPO_ROOT, tempDefinition, type DefinitionDocs } from "../helpers/definition.js";
import { runBk } from "../helpers/cli.js";

function failures(edit: (d: DefinitionDocs) => void): { root: string; findings: Finding[] } {
  const root = tempDefinition(edit);
  try {
    loadDefinition(root);
  } catch (err) {
    assert.ok(err instanceof FindingsError, `expected FindingsError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    return { root, findings: err.findings };
  }
  assert.fail("the broken definition loaded without error");
}

function lineOf(root: string, rel: string, needle: string): number {
  const lines = readFileSync(path.join(root, rel), "utf8").split("\n");
  const i = lines.findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in ${rel}`);
  return i + 1;
}

function expectOne(findings: Finding[], rule: string): Finding {
  const hits = findings.filter((f) => f.rule === rule);
  assert.equal(hits.length, 1, `expected exactly one ${rule}, got: ${JSON.stringify(findings, null, 1)}`);
  return hits[0]!;
}

describe("the real definition", () => {
  it("loads, with the seed's IPs and ports", () => {
    const { model } = loadDefinition(REPO_ROOT);
    const table = Object.fromEntries(model.endpoints.map((e) => [e.id, `${e.ip}:${e.ports.map((p) => p.port).join(",")}`]));
    assert.deepEqual(table, {
      registry: "192.168.7.21:5000",
      chartmuseum: "192.168.7.18:8080",
      postgres: "192.168.7.17:5432",
      ingress: "192.168.7.20:80,443",
      gateway: "192.168.7.19:80,443",
    });
    assert.equal(model.registry, "192.168.7.21:5000");
    assert.deepEqual(
      model.apps.map((a) => a.name),
      ["ccbot", "ffl", "midwestmtg", "mtg-dev-agents", "triager"],
    );
    assert.ok(model.postgres.databases.some((d) => d.name === "stenographer"));
    assert.ok(model.postgres.databases.some((d) => d.name === "triager" && d.owner === "triager_user"));
  });
});

describe("invariants", () => {
  it("rejects an IP outside the pool, naming file, line and field", () => {
    const { root, findings } = failures((d) => d.infra.setIn(["registry", "loadBalancer", "ip"], "192.168.7.30"));
    const f = expectOne(findings, "definition/ip-outside-pool");
    assert.equal(f.file, "definition/infrastructure.yaml");
    assert.equal(f.field, "registry.loadBalancer.ip");
    assert.equal(f.line, lineOf(root, "definition/infrastructure.yaml", "192.168.7.30"));
    assert.match(f.message, /Registry IP 192\.168\.7\.30 is outside the LoadBalancer pool 192\.168\.7\.17-192\.168\.7\.21/);
    assert.match(f.fix, /free address inside/);
  });

  it("rejects two services on one IP", () => {
    const { findings } = failures((d) => d.infra.setIn(["chartmuseum", "loadBalancer", "ip"], "192.168.7.21"));
    const f = expectOne(findings, "definition/ip-duplicate");
    assert.equal(f.field, "chartmuseum.loadBalancer.ip");
    assert.match(f.message, /ChartMuseum IP 192\.168\.7\.21 is already pinned to Registry/);
  });

  it("rejects an invalid port with the schema's message", () => {
    const { findings } = failures((d) => d.infra.setIn(["postgres", "loadBalancer", "ports", 0, "port"], 70000));
    const f = expectOne(findings, "definition/schema");
    assert.equal(f.field, "postgres.loadBalancer.ports[0].port");
    assert.match(f.message, /1\.\.65535/);
  });

  it("rejects a name that is not DNS-1123", () => {
    const { findings } = failures((d) => d.apps.ffl!.set("namespace", "FFL_App"));
    const f = expectOne(findings, "definition/schema");
    assert.equal(f.file, "definition/apps/ffl.yaml");
    assert.equal(f.field, "namespace");
    assert.match(f.message, /DNS-1123/);
  });

  it("rejects an unknown field (a typo is never silently ignored)", () => {
    const { root, findings } = failures((d) => d.cluster.setIn(["gitops", "intervall"], "1m"));
    const f = expectOne(findings, "definition/schema");
    // The field and line are the misspelt key's own, not its parent's.
    assert.equal(f.field, "gitops.intervall");
    assert.equal(f.line, lineOf(root, "definition/cluster.yaml", "intervall:"));
    assert.match(f.message, /unknown field 'intervall'/);
  });

  it("rejects a database whose owner role does not exist", () => {
    const { findings } = failures((d) => d.infra.setIn(["postgres", "databases", 0, "owner"], "nobody"));
    const f = expectOne(findings, "definition/database-owner-missing");
    assert.equal(f.field, "postgres.databases[0].owner");
    assert.match(f.fix, /add '- name: nobody' under postgres.roles/);
  });

  it("rejects a service in a namespace nobody declared", () => {
    const { findings } = failures((d) => d.infra.setIn(["registry", "namespace"], "images"));
    const f = expectOne(findings, "definition/namespace-missing");
    assert.equal(f.field, "registry.namespace");
    assert.match(f.message, /namespace 'images', which cluster.yaml does not declare/);
  });

  it("rejects a namespace below restricted without a reason", () => {
    const { findings } = failures((d) => {
      const idx = (d.cluster.toJS().namespaces as Array<{ name: string }>).findIndex((n) => n.name === "logging");
      d.cluster.deleteIn(["namespaces", idx, "why"]);
    });
    expectOne(findings, "definition/psa-exception-reason");
  });

  it("rejects a component that uses an undeclared database", () => {
    const { findings } = failures((d) => d.apps.ffl!.setIn(["components", "backend", "database"], "fantasy"));
    const f = expectOne(findings, "definition/database-missing");
    assert.equal(f.field, "components.backend.database");
  });

  it("rejects a missing secret reference", () => {
    const { findings } = failures((d) => d.apps.ffl!.setIn(["components", "backend", "secretEnv", "SECRET_KEY"], "ffl-missing/secret-key"));
    const f = expectOne(findings, "definition/secret-missing");
    assert.equal(f.field, "components.backend.secretEnv.SECRET_KEY");
    assert.match(f.message, /reads secret 'ffl-missing', which is not declared in namespace ffl/);
  });

  it("rejects 'latest' and unpinned tags", () => {
    const { findings } = failures((d) => d.apps.ccbot!.setIn(["components", "bot", "tag"], "latest"));
    const f = expectOne(findings, "definition/image-tag");
    assert.equal(f.field, "components.bot.tag");
    const { findings: f2 } = failures((d) => d.apps.ccbot!.setIn(["components", "bot", "tag"], "1.0:oops"));
    expectOne(f2, "definition/image-tag");
  });

  it("rejects a frontend without its backend", () => {
    const { findings } = failures((d) => d.apps.ffl!.setIn(["components", "frontend", "talksTo"], []));
    const f = expectOne(findings, "definition/frontend-without-backend");
    assert.equal(f.field, "components.frontend.talksTo");
  });

  it("rejects a talksTo entry that resolves to nothing", () => {
    const { findings } = failures((d) => d.apps.ffl!.setIn(["components", "frontend", "talksTo"], ["backend", "bakend"]));
    const f = expectOne(findings, "definition/edge-unresolved");
    assert.equal(f.field, "components.frontend.talksTo[1]");
  });

  it("rejects talking to a component that has no port", () => {
    const { findings } = failures((d) => d.apps.triager!.setIn(["components", "orchestrator", "talksTo"], ["redis", "classifier"]));
    const f = expectOne(findings, "definition/edge-to-portless");
    assert.equal(f.field, "components.orchestrator.talksTo[1]");
  });

  it("rejects a start-order cycle", () => {
    const { findings } = failures((d) => d.apps.ffl!.setIn(["components", "redis", "talksTo"], ["backend"]));
    const f = findings.find((x) => x.rule === "definition/dependency-cycle");
    assert.ok(f, JSON.stringify(findings));
    assert.match(f.message, /ffl\/backend -> ffl\/redis -> ffl\/backend|ffl\/redis -> ffl\/backend -> ffl\/redis/);
  });

  it("rejects two components on one route", () => {
    const { findings } = failures((d) => d.apps.midwestmtg!.setIn(["components", "frontend", "route"], "/ffl"));
    // midwestmtg loads after ffl, so the second claimant is reported
    const f = expectOne(findings, "definition/route-duplicate");
    assert.equal(f.file, "definition/apps/midwestmtg.yaml");
  });

  it("rejects a disruption budget on a single replica", () => {
    const { findings } = failures((d) => d.apps.ffl!.setIn(["components", "backend", "replicas"], 1));
    const f = expectOne(findings, "definition/pdb-single-replica");
    assert.equal(f.field, "components.backend.pdb");
  });

  it("rejects an alert route to a receiver nobody declared", () => {
    const { findings } = failures((d) => d.infra.setIn(["monitoring", "alerting"], { routes: { critical: "pager" } }));
    const f = expectOne(findings, "definition/receiver-missing");
    assert.equal(f.field, "monitoring.alerting.routes.critical");
  });

  it("rejects a chart reference that is not pinned", () => {
    const { findings } = failures((d) => d.infra.setIn(["metallb", "chart"], "metal"));
    expectOne(findings, "definition/chart-missing");
  });

  it("reports YAML syntax errors with their line", () => {
    const root = tempDefinition();
    const file = path.join(root, "definition/apps/ccbot.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("role: bot", "role: [bot"));
    try {
      loadDefinition(root);
      assert.fail("loaded");
    } catch (err) {
      assert.ok(err instanceof FindingsError);
      const f = expectOne(err.findings, "definition/yaml");
      assert.equal(f.file, "definition/apps/ccbot.yaml");
      assert.ok(f.line && f.line >= lineOf(root, "definition/apps/ccbot.yaml", "role: [bot"));
    }
  });

  it("writes nothing when the definition is broken (bk synth exits 2)", () => {
    const root = tempDefinition((d) => d.infra.setIn(["registry", "loadBalancer", "ip"], "10.0.0.1"));
    const r = runBk(["synth", "--root", root]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /definition\/infrastructure\.yaml:\d+ registry\.loadBalancer\.ip: Registry IP 10\.0\.0\.1 is outside/);
    assert.match(r.stderr, /nothing was written/);
    for (const dir of ["clusters", "infrastructure", "apps", "docs"]) assert.equal(existsSync(path.join(root, dir)), false, `${dir} was written`);
  });
});
