/**
 * `npm run lint` must bite: each tool runs exactly as package.json's lint:* scripts run it, on small temporary
 * projects that break one rule each, and must name that rule (and stay quiet about the allowed edges beside it).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { measure } from "../../scripts/check-size.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { scratchDirs } from "../helpers/scratch.js";

const { tmp } = scratchDirs();
const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
const bin = (name: string) => path.join(REPO_ROOT, "node_modules", ".bin", name);

/** The script's arguments after its program name, with repository paths made absolute so they work from a fixture. */
function scriptArgs(script: string, program: string): string[] {
  const words = (scripts[script] ?? "").split(" ");
  assert.equal(words[0], program, `${script} runs ${program}`);
  return words.slice(1).map((w) => (w.startsWith(".") || w.startsWith("scripts/") ? path.join(REPO_ROOT, w) : w));
}

function project(files: Record<string, string>): string {
  const root = tmp("bk-lint-");
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

const run = (command: string, args: string[], cwd: string) => spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

describe("dependency-cruiser layer rules", () => {
  it("names each forbidden edge by its rule, and lets the allowed edges beside them pass", () => {
    const root = project({
      "tsconfig.json": JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2023", strict: true }, include: ["src/**/*.ts", "test/**/*.ts"] }),
      "src/core/ok.ts": "export const x = 1;\n",
      "src/cli/out.ts": "export const y = 2;\n",
      "src/workflows/w.ts": 'import { y } from "../cli/out.js";\nimport { x } from "../core/ok.js";\nexport const w = x + y;\n',
      "src/cli/commands/a.ts": 'import { b } from "./b.js";\nimport { w } from "../../workflows/w.js";\nexport const a = b + w;\n',
      "src/cli/commands/b.ts": "export const b = 3;\n",
      "src/cli/commands/dev.ts": 'export const dev = async () => (await import("../../devcluster/up.js")).up;\n',
      "src/devcluster/up.ts": "export const up = 1;\n",
      // Lazy, as bk dev loads it: a dynamic import is an edge too.
      "src/workflows/uses-harness.ts": 'export const u = async () => (await import("../devcluster/up.js")).up;\n',
      "src/core/leak.ts": 'import { helper } from "../../test/helpers/h.js";\nexport const l = helper;\n',
      "test/helpers/h.ts": "export const helper = 1;\n",
      "src/model/m1.ts": 'import { m2 } from "./m2.js";\nexport const m1 = () => m2();\n',
      "src/model/m2.ts": 'import { m1 } from "./m1.js";\nexport const m2 = (): number => m1();\n',
      "src/tree/t.ts": 'import { s } from "../synth/s.js";\nexport const t = s;\n',
      "src/synth/s.ts": 'import { n } from "../netpol/n.js";\nexport const s = n;\n',
      "src/netpol/n.ts": "export const n = 1;\n",
    });
    const r = run(bin("depcruise"), scriptArgs("lint:deps", "depcruise"), root);
    // A cycle's path is printed over several lines; join it to one.
    const found = [...r.stdout.replace(/ →\s*\n\s+/g, " → ").matchAll(/^\s*error (\S+): (.*)$/gm)].map((m) => `${m[1]}: ${m[2]}`).sort();
    assert.equal(r.status, found.length, r.stdout + r.stderr);
    assert.deepEqual(found, [
      "commands-not-to-commands: src/cli/commands/a.ts → src/cli/commands/b.ts",
      "devcluster-only-from-dev-command: src/workflows/uses-harness.ts → src/devcluster/up.ts",
      "no-circular: src/model/m1.ts → src/model/m2.ts → src/model/m1.ts",
      "src-not-to-test: src/core/leak.ts → test/helpers/h.ts",
      "tree-not-to-synth: src/tree/t.ts → src/synth/s.ts",
      "workflows-not-to-cli: src/workflows/w.ts → src/cli/out.ts",
    ]);
  });
});

describe("Biome", () => {
  it("fails on a kept rule (no any) and not on one switched off for a reason (non-null assertions)", () => {
    const root = project({
      "src/a.ts": "export const f = (x: any): number => x;\nexport const g = (xs: number[]): number => xs[0]!;\n",
    });
    copyFileSync(path.join(REPO_ROOT, "biome.jsonc"), path.join(root, "biome.jsonc"));
    // The fixture is no Git checkout, so Biome cannot read a .gitignore there.
    const r = run(bin("biome"), [...scriptArgs("lint:biome", "biome"), "--vcs-enabled=false", "--colors=off"], root);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /src\/a\.ts:1:\d+ lint\/suspicious\/noExplicitAny/);
    assert.doesNotMatch(out, /noNonNullAssertion/);
  });
});

describe("check-size", () => {
  // A function whose body, from "{" to "}", spans `lines` lines.
  const fn = (name: string, lines: number) => `export function ${name}(): number {\n${"  void 0;\n".repeat(lines - 3)}  return 1;\n}\n`;
  const sizeCheck = (root: string) => run(process.execPath, [...scriptArgs("lint:size", "node"), "--root", root], REPO_ROOT);

  it("names a 90-line function and a 401-line command file with file:line, length and limit, and exits 1", () => {
    const root = project({
      "src/long.ts": `${fn("fine", 70)}${fn("tooLong", 90)}`,
      "src/cli/commands/big.ts": "export const line = 1;\n".repeat(401),
    });
    const r = sizeCheck(root);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^src\/long\.ts:71 tooLong: 90 lines \(limit 80\)$/m);
    assert.match(r.stderr, /^src\/cli\/commands\/big\.ts:1 \(command file\): 401 lines \(limit 400\)$/m);
    assert.doesNotMatch(r.stderr, /fine/);
  });

  it("passes 70- and 80-line functions and a 400-line command file", () => {
    const root = project({
      "src/ok.ts": `${fn("seventy", 70)}${fn("eighty", 80)}`,
      "src/cli/commands/full.ts": "export const line = 1;\n".repeat(400),
    });
    // In process: the failing case above already runs the script itself.
    assert.deepEqual(measure(root), []);
  });
});
