/**
 * The real definition, broken one field at a time by fast-check: any field of any file gets a
 * wrong type, an empty or huge or negative value, a URL, upper case, a random string, or loses its
 * key, or a list entry is repeated. Each run goes through the real pipeline (`bk synth` in-process)
 * and must end one of two ways: the tree is written and `bk validate`'s own checks find no error,
 * or the command stops with a BkError of exit 1 or 2 that names a definition file and line, and
 * nothing was written next to definition/. Never a TypeError, never an internal error (exit 70).
 *
 * A failure prints fast-check's seed and the mutation; BK_GEN_SEED and BK_GEN_RUNS replay or
 * widen a run.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isMap, isNode, isScalar, isSeq, parseDocument } from "yaml";
import { synthCommand } from "../../src/cli/commands/synth.js";
import { BkError, EXIT } from "../../src/core/errors.js";
import { FindingsError } from "../../src/core/finding.js";
import { renderPath, type Path } from "../../src/model/source.js";
import { generate } from "../../src/pipeline.js";
import { allRules } from "../../src/policy/engine.js";
import { validateTree } from "../../src/workflows/validate.js";
import { capture } from "../helpers/capture.js";
import { REPO_ROOT } from "../helpers/definition.js";

interface Target {
  file: string;
  path: Path;
}

type Mutation = { kind: "set"; target: Target; value: unknown } | { kind: "upper"; target: Target } | { kind: "remove"; target: Target } | { kind: "rename"; target: Target } | { kind: "duplicate"; target: Target };

/**
 * Every node of every definition file, by path; the strings, list entries and mapping keys among them.
 * An alias (triager's shared probes) is a target itself but not walked into: the Document cannot edit through it.
 */
function targets(): { all: Target[]; strings: Target[]; listEntries: Target[]; keys: Target[] } {
  const all: Target[] = [];
  const strings: Target[] = [];
  const listEntries: Target[] = [];
  const keys: Target[] = [];
  const walk = (file: string, node: unknown, p: Path): void => {
    if (p.length) all.push({ file, path: p });
    if (isScalar(node) && typeof node.value === "string") strings.push({ file, path: p });
    if (isSeq(node))
      node.items.forEach((item, i) => {
        listEntries.push({ file, path: [...p, i] });
        walk(file, item, [...p, i]);
      });
    else if (isMap(node))
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        keys.push({ file, path: [...p, key] });
        walk(file, pair.value, [...p, key]);
      }
  };
  const files = ["cluster.yaml", "infrastructure.yaml", "policy-exceptions.yaml", ...readdirSync(path.join(REPO_ROOT, "definition/apps")).map((f) => `apps/${f}`)];
  for (const f of files.filter((x) => x.endsWith(".yaml"))) walk(`definition/${f}`, parseDocument(readFileSync(path.join(REPO_ROOT, "definition", f), "utf8")).contents, []);
  return { all, strings, listEntries, keys };
}

const ODD_VALUES: unknown[] = [
  42,
  -1,
  0,
  1e12,
  2 ** 53,
  1.5,
  1e308,
  true,
  null,
  "",
  [],
  {},
  "https://x.example",
  "192.168.7.99",
  "UPPER_Case",
  "latest",
  "a".repeat(300),
  "0s",
  "* * * *",
  "-50m",
  { nested: [1] },
  "a b",
  "../etc",
  "{{ .Release.Name }}",
  "x\ny",
  "*",
  "-",
  "null",
  "0",
  "1e3",
  65536,
  0.5,
  Number.NaN,
  "é",
  "a:b",
  "/",
  "x".repeat(64),
];

function mutations(t: ReturnType<typeof targets>): fc.Arbitrary<Mutation> {
  const target = (list: Target[]) => fc.constantFrom(...list);
  return fc.oneof(
    fc.record({ kind: fc.constant("set" as const), target: target(t.all), value: fc.oneof(fc.constantFrom(...ODD_VALUES), fc.string({ maxLength: 20 }), fc.integer(), fc.double()) }),
    fc.record({ kind: fc.constant("upper" as const), target: target(t.strings) }),
    fc.record({ kind: fc.constant("remove" as const), target: target(t.all) }),
    fc.record({ kind: fc.constant("rename" as const), target: target(t.keys) }),
    fc.record({ kind: fc.constant("duplicate" as const), target: target(t.listEntries) }),
  );
}

function describeMutation(m: Mutation): string {
  const where = `${m.target.file} ${renderPath(m.target.path)}`;
  return m.kind === "set" ? `${where} := ${JSON.stringify(m.value)}` : `${m.kind} ${where}`;
}

/** A temporary root holding the real definition with the mutation applied, through the same YAML library operators' edits go through. */
function mutatedRoot(m: Mutation): string | undefined {
  const root = mkdtempSync(path.join(os.tmpdir(), "bk-gen-"));
  cpSync(path.join(REPO_ROOT, "definition"), path.join(root, "definition"), { recursive: true });
  const abs = path.join(root, m.target.file);
  const doc = parseDocument(readFileSync(abs, "utf8"));
  const p = [...m.target.path];
  const last = p[p.length - 1]!;
  const parent = p.slice(0, -1);
  switch (m.kind) {
    case "set":
      doc.setIn(p, m.value);
      break;
    case "upper":
      doc.setIn(p, String(doc.getIn(p)).toUpperCase());
      break;
    case "remove":
      doc.deleteIn(p);
      break;
    case "rename": {
      // In place, so that an anchor stays before its aliases.
      const map = parent.length ? doc.getIn(parent, true) : doc.contents;
      assert.ok(isMap(map), `${renderPath(parent)} is a mapping`);
      const pair = map.items.find((it) => isScalar(it.key) && String(it.key.value) === String(last));
      assert.ok(pair && isScalar(pair.key));
      pair.key.value = `${String(last)}x`;
      break;
    }
    case "duplicate": {
      const list = parent.length ? doc.getIn(parent, true) : doc.contents;
      assert.ok(isSeq(list), `${renderPath(parent)} is a list`);
      // A plain copy: the same node twice would repeat its anchor.
      const node = doc.getIn(p, true);
      list.items.splice(Number(last) + 1, 0, doc.createNode(isNode(node) ? node.toJS(doc) : node));
      break;
    }
  }
  try {
    writeFileSync(abs, doc.toString());
  } catch {
    // The Document will not write an alias whose anchor the mutation replaced (triager's shared probes);
    // the loader's answer to such a file is held by definition-fields.test.ts.
    rmSync(root, { recursive: true, force: true });
    return undefined;
  }
  return root;
}

/** The run's outcome against the rule in the module comment; an AssertionError names the mutation. */
async function holds(m: Mutation): Promise<void> {
  const root = mutatedRoot(m);
  fc.pre(root !== undefined);
  try {
    await check(root, describeMutation(m), m.target.file === "definition/policy-exceptions.yaml");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function check(root: string, what: string, exceptionsMutated: boolean): Promise<void> {
  let outcome: { code: number } | { error: unknown };
  try {
    outcome = await capture(() => synthCommand(root, {}));
  } catch (error) {
    outcome = { error };
  }
  if ("error" in outcome) {
    const err = outcome.error;
    assert.ok(err instanceof BkError, `${what}: not a BkError but ${err instanceof Error ? err.stack : String(err)}`);
    assert.ok(err.exitCode === EXIT.badInput || err.exitCode === EXIT.failed, `${what}: exit ${err.exitCode}: ${err.message}`);
    if (err instanceof FindingsError) {
      assert.ok(err.findings.length > 0, `${what}: no findings`);
      for (const f of err.findings) assert.ok(f.file?.startsWith("definition/") && f.line !== undefined && f.line >= 1, `${what}: a finding without a definition file and line: ${JSON.stringify(f)}`);
    } else assert.match(err.message, /definition\/\S+:\d+/, `${what}: the message names no definition file and line`);
    assert.deepEqual(readdirSync(root), ["definition"], `${what}: files were written next to definition/`);
  } else {
    // bk synth refuses a tree its checks fail (exit 1): for a mutated exception that is the policy finding it let through.
    const refusedForPolicy = exceptionsMutated && outcome.code === EXIT.failed;
    if (!refusedForPolicy) assert.equal(outcome.code, EXIT.ok, `${what}: bk synth returned ${outcome.code}`);
    const { model, tree } = generate(root);
    // An exception that no longer matches lets its policy finding through: `bk validate` reports it at the object,
    // as designed (exceptions are matched against the tree), so only there are policy errors a valid outcome.
    const policyIds = new Set(allRules.map((r) => r.id));
    const errors = (await validateTree(model, tree, { kustomize: false })).findings.filter((f) => f.severity === "error" && !(exceptionsMutated && policyIds.has(f.rule)));
    assert.deepEqual(errors, [], `${what}: accepted at load, but the tree it wrote is invalid`);
    if (refusedForPolicy) {
      const all = (await validateTree(model, tree, { kustomize: false })).findings.filter((f) => f.severity === "error");
      assert.ok(all.length > 0, `${what}: bk synth returned 1 but the tree has no error`);
      assert.deepEqual(readdirSync(root), ["definition"], `${what}: bk synth refused the tree but wrote files next to definition/`);
    }
  }
}

describe("the definition, mutated field by field", () => {
  it("either gives a valid tree or a located input error, and writes nothing on error", { timeout: 180_000 }, async () => {
    const seed = process.env.BK_GEN_SEED ? Number(process.env.BK_GEN_SEED) : undefined;
    await fc.assert(
      fc.asyncProperty(mutations(targets()), (m) => holds(m)),
      { numRuns: Number(process.env.BK_GEN_RUNS ?? 100), ...(seed === undefined ? {} : { seed }) },
    );
  });
});
