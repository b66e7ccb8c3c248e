// The pinned peer tools: each built binary reports the version pinned in tools/base/go.mod, and the
// TypeScript side finds the same cache dir as scripts/tools.sh.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { hasTool, listedTools, repoRoot, toolPath, toolSetDir, toolsBinDir } from "../../src/adapters/tools.js";

/** The version go.mod requires for `modulePath` (the pin), e.g. "v4.3.1". */
function pinnedVersion(modulePath: string): string {
  const goMod = readFileSync(join(toolSetDir("base"), "go.mod"), "utf8");
  const escaped = modulePath.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, "m").exec(goMod);
  assert.ok(match?.[1], `tools/base/go.mod has no require line for ${modulePath}`);
  return match[1];
}

interface VersionCheck {
  module: string;
  args: string[];
  /** What the first line of the version output must match, derived from the pin. */
  expected: (pin: string) => RegExp;
}

const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const checks: Record<string, VersionCheck> = {
  helm: {
    module: "helm.sh/helm/v4",
    args: ["version", "--short"],
    expected: (pin) => new RegExp(`^${literal(pin)}$`),
  },
  kubeseal: {
    module: "github.com/bitnami-labs/sealed-secrets",
    args: ["--version"],
    expected: (pin) => new RegExp(`^kubeseal version: ${literal(pin)}$`),
  },
  kubeconform: {
    module: "github.com/yannh/kubeconform",
    args: ["-v"],
    expected: (pin) => new RegExp(`^${literal(pin)}$`),
  },
  promtool: {
    module: "github.com/prometheus/prometheus",
    args: ["--version"],
    // Prometheus publishes release X.Y.Z as Go module version v0.X0Y.Z (e.g. v0.316.0 is 3.16.0).
    expected: (pin) => {
      const m = /^v0\.(\d)(\d\d)\.(\d+)$/.exec(pin);
      assert.ok(m, `prometheus pin ${pin} is not of the form v0.XYY.Z`);
      const release = `${m[1]}.${Number(m[2])}.${m[3]}`;
      return new RegExp(`^promtool, version ${literal(release)} `);
    },
  },
};

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(file, args, { encoding: "utf8", env, timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });
}

describe("base tool set", () => {
  it("tools.txt lists exactly the tools this test checks", () => {
    assert.deepEqual([...listedTools("base")].sort(), Object.keys(checks).sort());
  });

  for (const [name, check] of Object.entries(checks)) {
    it(`${name} reports the version pinned in tools/base/go.mod`, () => {
      const pin = pinnedVersion(check.module);
      const path = toolPath(name); // throws "run `npm run tools`" when not built
      const output = run(path, check.args).trim();
      const firstLine = output.split("\n")[0] ?? "";
      assert.match(firstLine, check.expected(pin), `${path} ${check.args.join(" ")} printed:\n${output}`);
    });
  }
});

describe("tools cache location", () => {
  it("scripts/tools.sh finds the set built and prints toolsBinDir()", () => {
    const bin = toolsBinDir();
    assert.ok(existsSync(join(bin, "..", "complete")), `tool set "base" is not completely built (no ${join(bin, "..", "complete")}); run \`npm run tools\``);
    // Set is complete, so this must only check the stamp and print (seconds, not a build).
    const printed = run("bash", [join(repoRoot, "scripts", "tools.sh"), "base"]).trim();
    assert.equal(printed, bin);
  });

  it("--print-dir agrees with toolsBinDir() under a custom BK_TOOLS_CACHE", () => {
    const cache = mkdtempSync(join(tmpdir(), "bk-tools-"));
    const saved = process.env["BK_TOOLS_CACHE"];
    try {
      process.env["BK_TOOLS_CACHE"] = cache;
      const expected = toolsBinDir("base");
      assert.ok(expected.startsWith(`${cache}/base-`), expected);
      assert.match(expected, /\/base-[0-9a-f]{16}\/bin$/);
      const printed = run("bash", [join(repoRoot, "scripts", "tools.sh"), "--print-dir", "base"]).trim();
      assert.equal(printed, expected);
      assert.equal(hasTool("helm"), false, "an empty cache has no helm");
      assert.throws(() => toolPath("helm"), /tool "helm" of set "base" is not built: .* run `npm run tools`/);
    } finally {
      if (saved === undefined) delete process.env["BK_TOOLS_CACHE"];
      else process.env["BK_TOOLS_CACHE"] = saved;
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("names the set's tools when asked for one it does not build", () => {
    assert.throws(() => toolPath("no-such-tool"), /tool "no-such-tool" is not part of tool set "base" .*helm/);
  });
});
