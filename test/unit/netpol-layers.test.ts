/**
 * `bk netpol --committed` judges the tree's files, both layers: on a copy of the repository where one layer was
 * edited by hand, it names each connection the layers disagree on (which layer allows, which denies, and why) and
 * exits 1; the untouched copy passes.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { netpolCommand } from "../../src/cli/commands/netpol.js";
import type { NetpolReport } from "../../src/netpol/analyze.js";
import { capture } from "../helpers/capture.js";
import { REPO_ROOT } from "../helpers/definition.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A copy of the definition and the committed tree, with `drop` (kind/namespace/name) removed from `file`. */
function brokenCopy(file: string, drop?: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "bk-layers-"));
  roots.push(root);
  for (const d of ["definition", "clusters", "infrastructure", "apps"]) cpSync(path.join(REPO_ROOT, d), path.join(root, d), { recursive: true });
  if (drop) {
    const target = path.join(root, file);
    const docs = parseAllDocuments(readFileSync(target, "utf8"));
    const keep = docs.filter((d) => {
      const o = d.toJS() as { kind: string; metadata: { namespace: string; name: string } } | null;
      return !o || `${o.kind}/${o.metadata.namespace}/${o.metadata.name}` !== drop;
    });
    assert.equal(keep.length, docs.length - 1, `${drop} is in ${file}`);
    writeFileSync(target, keep.map((d) => d.toString()).join("---\n"));
  }
  return root;
}

async function netpol(root: string): Promise<{ code: number; report: NetpolReport }> {
  const r = await capture(() => netpolCommand(root, { json: true, committed: true }));
  return { code: r.code, report: JSON.parse(r.stdout) as NetpolReport };
}

describe("bk netpol --committed, both layers", () => {
  it("passes on the committed tree as generated", async () => {
    const { code, report } = await netpol(brokenCopy(""));
    assert.equal(code, 0);
    assert.deepEqual(report.mesh?.disagreements, []);
    assert.ok((report.mesh?.required.length ?? 0) > 30);
  });

  it("the mesh layer broken (an AuthorizationPolicy deleted): the edge NetworkPolicy allows and the mesh denies is named", async () => {
    const { code, report } = await netpol(brokenCopy("apps/ffl/mesh.yaml", "AuthorizationPolicy/ffl/allow-backend-from-frontend"));
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    assert.deepEqual(report.blocked, [], "NetworkPolicy still allows it");
    const d = report.mesh!.disagreements;
    assert.deepEqual(
      d.map((x) => [x.from, x.to, x.port, x.networkPolicy, x.mesh]),
      [["ffl/frontend", "ffl/backend", 8000, "allow", "deny"]],
    );
    assert.match(d[0]!.meshWhy, /cluster\.local\/ns\/ffl\/sa\/ffl-frontend: no ALLOW rule/);
    assert.match(d[0]!.networkPolicyWhy, /allow-backend-from-frontend/);
    assert.deepEqual(
      report.mesh!.blocked.map((b) => [b.from, b.to, b.port, b.why]),
      [["ffl/frontend", "ffl/backend", 8000, "talksTo ffl/backend"]],
    );
  });

  it("the NetworkPolicy layer broken (an ingress policy deleted): the edge the mesh allows and NetworkPolicy denies is named", async () => {
    const { code, report } = await netpol(brokenCopy("apps/ffl/networkpolicies.yaml", "NetworkPolicy/ffl/allow-redis-from-backend"));
    assert.equal(code, 1);
    const d = report.mesh!.disagreements.map((x) => [x.from, x.to, x.port, x.networkPolicy, x.mesh]);
    assert.deepEqual(d, [
      ["ffl/backend", "ffl/redis", 6379, "deny", "allow"],
      ["ffl/backend#migrate", "ffl/redis", 6379, "deny", "allow"],
    ]);
    assert.match(report.mesh!.disagreements[0]!.networkPolicyWhy, /no policy allows ingress to ffl\/redis/);
    assert.match(report.mesh!.disagreements[0]!.meshWhy, /allowed by allow-redis-from-backend/);
    assert.deepEqual(report.mesh!.blocked, [], "the mesh still allows it");
  });
});
