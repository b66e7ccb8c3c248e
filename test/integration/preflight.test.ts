/**
 * npm test's pretest (scripts/test-preflight.sh) on a machine that lacks something: run with a PATH holding only
 * symlinks to some of the listed programs and without the upstream mirror, it must stop with one message naming
 * each missing program with its install command and the BK_SHARED setting, exit 3, and never reach the next step.
 * The scripts are copied into a scratch checkout so that "no ../shared beside it" is real, not simulated.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../../src/adapters/tools.js";
import { sharedCrds, sharedRoot } from "../helpers/charts.js";
import { findProgram, requireProgram } from "../helpers/programs.js";
import { startRegistry } from "../helpers/registry.js";
import { scratchDirs } from "../helpers/scratch.js";

const { tmp } = scratchDirs();
const sudo = process.getuid?.() === 0 ? "" : "sudo ";

/** Programs named on PATH in scripts/system-packages.txt (absolute paths there are not PATH's business). */
function listedPrograms(): string[] {
  return readFileSync(path.join(repoRoot, "scripts", "system-packages.txt"), "utf8")
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0] ?? "")
    .filter((name) => name !== "" && !name.startsWith("#") && !path.isAbsolute(name));
}

/** A PATH folder with symlinks to bash and every listed program except `without`: no apt-get, no sudo. */
function pathWithout(...without: string[]): string {
  const dir = tmp("bk-preflight-path-");
  for (const program of ["bash", ...listedPrograms()]) {
    if (without.includes(program)) continue;
    const found = findProgram(program);
    assert.ok(found, `${program} must be installed on the machine running this test`);
    symlinkSync(found, path.join(dir, program));
  }
  return dir;
}

/** A checkout with the preflight scripts and a tools.sh stub that leaves a mark when the preflight gets that far. */
function scratchCheckout(): { root: string; reachedTools: () => boolean } {
  const root = path.join(tmp("bk-preflight-"), "beckerkube");
  mkdirSync(path.join(root, "scripts"), { recursive: true });
  for (const f of ["test-preflight.sh", "system-packages.sh", "system-packages.txt"]) copyFileSync(path.join(repoRoot, "scripts", f), path.join(root, "scripts", f));
  const mark = path.join(root, "tools-ran");
  writeFileSync(path.join(root, "scripts", "tools.sh"), `echo "$@" > '${mark}'\n`);
  return { root, reachedTools: () => existsSync(mark) };
}

function preflight(root: string, pathDir: string, env: Record<string, string> = {}) {
  return spawnSync(path.join(pathDir, "bash"), [path.join(root, "scripts", "test-preflight.sh")], { cwd: root, env: { PATH: pathDir, ...env }, encoding: "utf8" });
}

describe("npm test's preflight", () => {
  it("is what npm runs before the tests", () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts["pretest"], "bash scripts/test-preflight.sh");
  });

  it("without skopeo and without a mirror: names both, exits 3, runs nothing after", () => {
    const { root, reachedTools } = scratchCheckout();
    const r = preflight(root, pathWithout("skopeo"));
    assert.equal(
      r.stderr,
      "The tests run these programs, which are not installed (not installed automatically: apt-get is not on PATH):\n" +
        `  skopeo: ${sudo}apt-get install -y skopeo\n` +
        `No upstream mirror: BK_SHARED is not set and the default ${path.dirname(root)}/shared does not exist.\n` +
        "Set BK_SHARED to a folder holding crds/ (the pinned upstream CRDs) and charts/ (the pinned upstream charts, unpacked); see README.md, Requirements.\n",
    );
    assert.equal(r.stdout, "");
    assert.equal(r.status, 3);
    assert.equal(reachedTools(), false);
  });

  it("names every missing program, including one apt cannot install", () => {
    const { root, reachedTools } = scratchCheckout();
    const r = preflight(root, pathWithout("docker-registry", "kubectl"), { BK_SHARED: sharedRoot() });
    assert.equal(
      r.stderr,
      "The tests run these programs, which are not installed (not installed automatically: apt-get is not on PATH):\n" +
        `  docker-registry: ${sudo}apt-get install -y docker-registry\n` +
        "  kubectl: install it from https://kubernetes.io/docs/tasks/tools/ (kubectl bundles kustomize)\n",
    );
    assert.equal(r.status, 3);
    assert.equal(reachedTools(), false);
  });

  it("a BK_SHARED without charts/ is refused, naming what it lacks", () => {
    const { root, reachedTools } = scratchCheckout();
    const mirror = tmp("bk-preflight-mirror-");
    mkdirSync(path.join(mirror, "crds"));
    copyFileSync(path.join(sharedCrds(), "SOURCES.md"), path.join(mirror, "crds", "SOURCES.md"));
    const r = preflight(root, pathWithout(), { BK_SHARED: mirror });
    assert.equal(
      r.stderr,
      `No upstream mirror: BK_SHARED=${mirror} has no charts/SOURCES.md.\n` +
        "Set BK_SHARED to a folder holding crds/ (the pinned upstream CRDs) and charts/ (the pinned upstream charts, unpacked); see README.md, Requirements.\n",
    );
    assert.equal(r.status, 3);
    assert.equal(reachedTools(), false);
  });

  it("with every program and the mirror: goes on to build the base tools", () => {
    const { root, reachedTools } = scratchCheckout();
    const r = preflight(root, pathWithout(), { BK_SHARED: sharedRoot() });
    assert.equal(r.stderr, "");
    assert.equal(r.status, 0);
    assert.equal(reachedTools(), true);
    assert.equal(readFileSync(path.join(root, "tools-ran"), "utf8"), "base alerting\n");
  });
});

describe("test helpers that start a system program", () => {
  it("name the missing program and its install command", () => {
    assert.throws(
      () => requireProgram("skopeo", "pushing test images", pathWithout("skopeo")),
      new Error(`skopeo is not installed (needed for pushing test images): install it with '${sudo}apt-get install -y skopeo' (npm test's pretest, scripts/system-packages.sh, does this when it can)`),
    );
  });

  it("the registry fails at once without docker-registry, not at its start-up timeout", async () => {
    const saved = process.env["PATH"];
    process.env["PATH"] = pathWithout("docker-registry");
    const started = Date.now();
    try {
      await assert.rejects(
        startRegistry(),
        new Error(
          `docker-registry is not installed (needed for the release and doctor tests' image registry): install it with '${sudo}apt-get install -y docker-registry' (npm test's pretest, scripts/system-packages.sh, does this when it can)`,
        ),
      );
    } finally {
      process.env["PATH"] = saved;
    }
    assert.ok(Date.now() - started < 2000, "the missing program is found out before anything is started");
  });
});
