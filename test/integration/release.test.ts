/**
 * `bk release` steps 2-5 against real peers: a Docker Registry v2 with TLS from a test CA holding
 * images pushed with skopeo, and a bare Git remote. (Steps 6-8 run against the local control
 * plane in test/e2e.)
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { bumpTags } from "../../src/workflows/bump.js";
import { buildCommands } from "../../src/workflows/release.js";
import { likelyMeant } from "../../src/adapters/registry.js";
import { runBk } from "../helpers/cli.js";
import { cloneOf, git, makeRepo } from "../helpers/gitrepo.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

describe("bk release against a real registry and a bare remote", () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
    registry.push("ffl/backend", "1.4.3");
    registry.push("ffl/frontend", "1.4.3");
    registry.push("midwestmtg/backend", "0.1.12");
  });
  after(() => registry?.stop());
  const flags = () => ["--registry", registry.host, "--ca", registry.ca.caCert];

  it("refuses a tag that was never pushed, naming the tags that exist, and commits nothing (incident 2)", () => {
    const repo = makeRepo();
    const head = git(repo.root, "rev-parse", "HEAD");
    const r = runBk(["release", "midwestmtg", "backend", "0.12.0", "--root", repo.root, ...flags()]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /midwestmtg\/backend:0\.12\.0 does not exist in the registry; existing tags: 0\.1\.12\. Did you mean 0\.1\.12\?/);
    assert.equal(git(repo.root, "rev-parse", "HEAD"), head);
    assert.equal(git(repo.root, "status", "--porcelain"), "");
    const none = runBk(["release", "ffl", "backend", "2.0.0", "--root", repo.root, ...flags()]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /existing tags: 1\.4\.3/);
  });

  it("refuses when the registry is not trusted (no CA), before touching anything", () => {
    const repo = makeRepo();
    const r = runBk(["release", "ffl", "backend", "1.4.3", "--root", repo.root, "--registry", registry.host]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /TLS to the registry .* failed/);
    assert.equal(git(repo.root, "status", "--porcelain"), "");
  });

  it("--dry-run runs every check and shows the diff, writing nothing", () => {
    const repo = makeRepo();
    const r = runBk(["release", "ffl", "backend", "1.4.3", "--root", repo.root, "--dry-run", ...flags()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /- {4}tag: 1\.4\.2\n\+ {4}tag: 1\.4\.3/);
    assert.match(r.stdout, /passes every check; nothing was written/);
    assert.equal(git(repo.root, "status", "--porcelain"), "");
  });

  it("releases an existing tag: a minimal definition edit, the regenerated tree, one commit pushed", () => {
    const repo = makeRepo();
    const before = readFileSync(path.join(repo.root, "definition/apps/ffl.yaml"), "utf8");
    const r = runBk(["release", "ffl", "backend", "frontend", "1.4.3", "--root", repo.root, "--json", ...flags()]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(
      report.components.map((c: { name: string; from: string }) => `${c.name}:${c.from}`),
      ["backend:1.4.2", "frontend:1.4.2"],
    );
    const after = readFileSync(path.join(repo.root, "definition/apps/ffl.yaml"), "utf8");
    assert.equal(after, before.replaceAll("tag: 1.4.2", "tag: 1.4.3"), "anything but the tags changed in the definition");
    assert.match(readFileSync(path.join(repo.root, "apps/ffl/backend.yaml"), "utf8"), /tag: 1\.4\.3/);
    assert.equal(git(repo.root, "status", "--porcelain"), "");
    assert.equal(git(repo.remote, "log", "-1", "--format=%s", "main"), "release(ffl): backend, frontend 1.4.2 -> 1.4.3");
    const files = git(repo.root, "show", "--name-only", "--format=", "HEAD").split("\n").sort();
    assert.deepEqual(files, ["apps/ffl/backend.yaml", "apps/ffl/frontend.yaml", "definition/apps/ffl.yaml", "docs/architecture.md"]);
    assert.equal(runBk(["synth", "--check", "--root", repo.root]).status, 0);
  });

  it("rebases onto a concurrent push and retries, never forcing", () => {
    const repo = makeRepo();
    const other = cloneOf(repo.remote);
    writeFileSync(path.join(other, "NOTES.md"), "someone else's change\n");
    git(other, "add", "NOTES.md");
    git(other, "commit", "--quiet", "-m", "docs: notes");
    git(other, "push", "--quiet", "origin", "main");
    const r = runBk(["release", "ffl", "backend", "1.4.3", "--root", repo.root, "--json", ...flags()]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).pushAttempts, 2);
    const log = git(repo.remote, "log", "--format=%s", "main").split("\n");
    assert.deepEqual(log.slice(0, 3), ["release(ffl): backend 1.4.2 -> 1.4.3", "docs: notes", "initial"]);
  });

  it("refuses to release over uncommitted changes in the files it writes", () => {
    const repo = makeRepo();
    const f = path.join(repo.root, "definition/apps/ffl.yaml");
    writeFileSync(f, readFileSync(f, "utf8") + "# local edit\n");
    const r = runBk(["release", "ffl", "backend", "1.4.3", "--root", repo.root, ...flags()]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /uncommitted changes where the release writes: definition\/apps\/ffl\.yaml/);
    assert.equal(git(repo.remote, "log", "-1", "--format=%s", "main"), "initial");
  });

  it("stops at validation when the new tree has errors, and commits and pushes nothing", () => {
    // The exceptions go after the first synth: bk synth itself refuses a tree with policy errors.
    const repo = makeRepo();
    writeFileSync(path.join(repo.root, "definition/policy-exceptions.yaml"), "exceptions: []\n");
    git(repo.root, "commit", "--quiet", "-am", "drop the policy exceptions");
    git(repo.root, "push", "--quiet", "origin", "main");
    const head = git(repo.root, "rev-parse", "HEAD");
    const r = runBk(["release", "ffl", "backend", "1.4.3", "--root", repo.root, "--json", ...flags()]);
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.failure.step, "validate the new tree");
    assert.ok(report.failure.findings.some((f: { rule: string }) => f.rule === "image/registry"));
    assert.equal(git(repo.root, "rev-parse", "HEAD"), head);
    assert.equal(git(repo.root, "status", "--porcelain"), "");
    assert.equal(git(repo.remote, "log", "-1", "--format=%s", "main"), "drop the policy exceptions", "nothing pushed past the operator's own commit");
  });

  it("refuses an unknown app or component with the known names", () => {
    const repo = makeRepo();
    const r = runBk(["release", "ffl", "bakend", "1.4.3", "--root", repo.root, ...flags()]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /application ffl has no component 'bakend' \(components: backend, frontend, redis\)/);
  });

  it("checks the version argument before any network call: exit 2 even with an unreachable registry", () => {
    const repo = makeRepo();
    const unreachable = ["--registry", "127.0.0.1:9", "--ca", registry.ca.caCert];
    const cases: Array<[string[], RegExp]> = [
      [["ffl", "backend"], /'backend' is a component of ffl, not a version: give the version last, e\.g\. `bk release ffl backend 1\.4\.3`/],
      [["ffl", "backend", "not a version"], /'not a version' is not an image tag: use letters, digits/],
      [["ffl", "backend", "latest"], /'latest' is a moving tag/],
      [["ffl", "backend", "1.4.2"], /ffl already runs 1\.4\.2 for backend: nothing to release/],
    ];
    for (const [args, message] of cases) {
      const r = runBk(["release", ...args, "--root", repo.root, ...unreachable]);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(git(repo.remote, "log", "-1", "--format=%s", "main"), "initial");
  });

  it("refuses a --timeout shorter than the release may take: ffl/backend's migration gives its HelmRelease 35m (incident 5)", () => {
    const repo = makeRepo();
    const r = runBk(["release", "ffl", "backend", "1.4.3", "--root", repo.root, "--timeout", "15m", ...flags()]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--timeout 15m is shorter than the HelmRelease timeout of ffl\/backend \(35m\): the release could be reverted while its upgrade still runs; pass at least 35m, or leave --timeout out/);
    assert.equal(git(repo.remote, "log", "-1", "--format=%s", "main"), "initial");
  });
});

describe("release building blocks", () => {
  it("suggests the tag an operator most likely meant", () => {
    assert.deepEqual(likelyMeant("0.12.0", ["0.1.11", "0.1.12", "2.0.0"]), ["0.1.11", "0.1.12"]);
    assert.deepEqual(likelyMeant("9.9.9", ["0.1.12"]), []);
  });

  it("bumps only the tag scalars and quotes a tag YAML would read as a number", () => {
    const text = "components:\n  api:\n    # pinned by bk release\n    tag: 1.2.3   # current\n    port: 80\n";
    assert.equal(bumpTags(text, ["api"], "1.10").text, 'components:\n  api:\n    # pinned by bk release\n    tag: "1.10"   # current\n    port: 80\n');
    assert.throws(() => bumpTags(text, ["web"], "1.3.0"), /component 'web' has no tag/);
    assert.throws(() => bumpTags(text, ["api"], "latest"), /not a pinned image tag/);
  });

  it("builds multi-arch with each builder's own manifest workflow", () => {
    assert.deepEqual(buildCommands("docker", "/src", "r:5000/a/b:1", ["linux/amd64", "linux/arm64"]), [
      ["docker", ["buildx", "build", "--platform", "linux/amd64,linux/arm64", "--tag", "r:5000/a/b:1", "--push", "/src"]],
    ]);
    assert.deepEqual(buildCommands("buildah", "/src", "r:5000/a/b:1", []), [
      ["buildah", ["bud", "--tag", "r:5000/a/b:1", "/src"]],
      ["buildah", ["push", "r:5000/a/b:1", "docker://r:5000/a/b:1"]],
    ]);
    assert.equal(buildCommands("podman", "/src", "r:5000/a/b:1", ["linux/amd64", "linux/arm64"])[1]![1][0], "manifest");
  });
});
