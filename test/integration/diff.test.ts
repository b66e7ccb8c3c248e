/**
 * `bk diff` end to end: a copy of this repository in a temp Git repository, the real git, the real helm and the
 * real upstream charts from the shared mirror. Each change is made in the working tree and diffed against HEAD.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";
import { bumpTags } from "../../src/workflows/bump.js";
import { sharedCharts } from "../helpers/charts.js";
import { runBk } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { git } from "../helpers/gitrepo.js";
import { scratchDirs } from "../helpers/scratch.js";

interface ObjectDiff {
  object: string;
  source: string;
  patch: string;
}
interface DiffJson {
  base: string;
  baseCommit: string;
  added: ObjectDiff[];
  removed: ObjectDiff[];
  changed: ObjectDiff[];
  summary: { added: number; removed: number; changed: number };
}

const { tmp } = scratchDirs();
let repo = "";
let env: NodeJS.ProcessEnv = {};

/** The repository's tracked files, as they are in this checkout, committed into a fresh repository. */
function copyOfRepository(): string {
  const dir = tmp("bk-diff-repo-");
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
  }
  git(dir, "init", "--quiet", "--initial-branch=main");
  git(dir, "add", "-A");
  git(dir, "commit", "--quiet", "-m", "initial");
  return dir;
}

const diff = (...args: string[]) => runBk(["diff", "--root", repo, "--charts", sharedCharts(), ...args], { env });

function diffJson(...args: string[]): DiffJson {
  const r = diff("--json", ...args);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as DiffJson;
}

/** The changed lines of a patch, without the ---/+++ header. */
const changedLines = (patch: string) => patch.split("\n").filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l));

function edit(file: string, change: (text: string) => string): void {
  const abs = path.join(repo, file);
  const text = readFileSync(abs, "utf8");
  const next = change(text);
  assert.notEqual(next, text, `the edit of ${file} changed nothing`);
  writeFileSync(abs, next);
}

describe("bk diff: the fully rendered tree against a Git ref", () => {
  before(() => {
    repo = copyOfRepository();
    // A render cache of this run's own, so the first diff really renders every chart.
    env = { XDG_CACHE_HOME: tmp("bk-diff-cache-") };
  });

  it("no change: an empty diff, exit 0 even with --exit-code", () => {
    const d = diffJson();
    assert.equal(d.base, "HEAD");
    assert.equal(d.baseCommit, git(repo, "rev-parse", "HEAD"));
    assert.deepEqual([d.added, d.removed, d.changed], [[], [], []]);
    const r = diff("--exit-code");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /no difference/);
  });

  it("a tag bump: one Deployment changes its image line (and the version label), with the HelmRelease and the ServiceAccount's label", () => {
    edit("definition/apps/ccbot.yaml", (t) => bumpTags(t, ["bot"], "2.0.4").text);
    try {
      const d = diffJson();
      assert.deepEqual([d.added, d.removed], [[], []]);
      assert.deepEqual(
        d.changed.map((c) => c.object),
        ["ServiceAccount/ccbot/ccbot-bot", "apps/Deployment/ccbot/ccbot-bot", "helm.toolkit.fluxcd.io/HelmRelease/ccbot/ccbot-bot"],
      );
      const deployments = d.changed.filter((c) => c.object.startsWith("apps/Deployment/"));
      assert.equal(deployments.length, 1);
      const dep = deployments[0]!;
      assert.equal(dep.source, "apps/ccbot/bot.yaml (rendered by HelmRelease/ccbot/ccbot-bot)");
      assert.deepEqual(changedLines(dep.patch), [
        "-    app.kubernetes.io/version: 2.0.3",
        "+    app.kubernetes.io/version: 2.0.4",
        "-        app.kubernetes.io/version: 2.0.3",
        "+        app.kubernetes.io/version: 2.0.4",
        "-          image: 192.168.7.21:5000/ccbot/bot:2.0.3",
        "+          image: 192.168.7.21:5000/ccbot/bot:2.0.4",
      ]);
      assert.deepEqual(changedLines(dep.patch).filter((l) => l.includes("image:")).length, 2);
      const release = d.changed.find((c) => c.object.includes("HelmRelease"))!;
      assert.deepEqual(changedLines(release.patch), ["-      tag: 2.0.3", "+      tag: 2.0.4"]);
      // The text a reviewer reads: a header per object, then its patch; a difference fails only with --exit-code.
      const r = diff("--exit-code");
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stdout,
        /^# changed apps\/Deployment\/ccbot\/ccbot-bot {2}\(apps\/ccbot\/bot\.yaml \(rendered by HelmRelease\/ccbot\/ccbot-bot\)\)\n--- a\/apps\/Deployment\/ccbot\/ccbot-bot\n\+\+\+ b\/apps\/Deployment\/ccbot\/ccbot-bot\n@@ /m,
      );
      assert.match(r.stderr, /HEAD \([0-9a-f]{12}\) -> working tree, fully rendered: 0 added, 0 removed, 3 changed/);
      assert.equal(diff().status, 0);
    } finally {
      git(repo, "checkout", "--", "definition/apps/ccbot.yaml");
    }
  });

  it("an infrastructure value change shows in the upstream chart's rendered object", () => {
    edit("definition/infrastructure.yaml", (t) => t.replace("retention: 360h", "retention: 240h"));
    try {
      const d = diffJson();
      const prometheus = d.changed.filter((c) => c.object.startsWith("monitoring.coreos.com/Prometheus/monitoring/"));
      assert.equal(prometheus.length, 1, d.changed.map((c) => c.object).join("\n"));
      assert.match(prometheus[0]!.source, /\(rendered by HelmRelease\/monitoring\/kube-prometheus-stack\)$/);
      assert.deepEqual(changedLines(prometheus[0]!.patch), ["-  retention: 360h", "+  retention: 240h"]);
      assert.ok(d.changed.some((c) => c.object === "helm.toolkit.fluxcd.io/HelmRelease/monitoring/kube-prometheus-stack"));
    } finally {
      git(repo, "checkout", "--", "definition/infrastructure.yaml");
    }
  });

  it("--base is the ref's files, not the working tree's: a committed bump against HEAD~1", () => {
    edit("definition/apps/ccbot.yaml", (t) => bumpTags(t, ["bot"], "2.0.5").text);
    git(repo, "commit", "--quiet", "-am", "bump ccbot bot");
    assert.deepEqual(diffJson().changed, []);
    const d = diffJson("--base", "HEAD~1");
    assert.equal(d.base, "HEAD~1");
    assert.deepEqual(d.summary, { added: 0, removed: 0, changed: 3 });
    assert.ok(changedLines(d.changed[1]!.patch).includes("+          image: 192.168.7.21:5000/ccbot/bot:2.0.5"));
  });

  it("a chart that cannot be found: exit 3 naming where it was looked for", () => {
    const missing = path.join(tmp("bk-diff-nomirror-"), "charts");
    const r = runBk(["diff", "--root", repo, "--charts", missing], { env });
    assert.equal(r.status, 3, r.stderr);
    assert.ok(r.stderr.includes(`chart mirror ${missing} does not exist`), r.stderr);
  });

  it("a ref that names no commit: exit 2 naming the ref", () => {
    const r = diff("--base", "no-such-ref");
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /'no-such-ref' is not a commit/);
    assert.equal(r.stdout, "");
  });
});
