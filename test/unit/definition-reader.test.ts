/**
 * Definition files are read by js-yaml for speed and by `yaml` for positions (src/model/source.ts).
 * These tests hold the two to the same result: the same data for every text js-yaml is allowed to
 * read, the same error for every text `yaml` refuses, and the fast path taken for the real files.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { parseDocument } from "yaml";
import { fastRead, readYamlValue } from "../../src/model/fast-read.js";
import { lineOf, listAppFiles, readSource } from "../../src/model/source.js";
import { REPO_ROOT } from "../helpers/definition.js";

/** What `yaml` alone makes of a text: its data, or its first error's message. */
function libraryReading(text: string): { value: unknown } | { error: string } {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) return { error: `not valid YAML: ${err.message.split("\n")[0]}` };
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (e) {
    return { error: `not valid YAML: ${(e as Error).message.split("\n")[0]}` };
  }
}

function ourReading(text: string): { value: unknown } | { error: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bk-reader-"));
  writeFileSync(path.join(dir, "f.yaml"), text);
  const s = readSource(dir, "f.yaml");
  return "rule" in s ? { error: s.message } : { value: s.value() };
}

const SCALARS = [
  "1_000",
  "0b1",
  "+1",
  "-1",
  ".5",
  "1.",
  "0o17",
  "0x1F",
  "0X1F",
  "0o8",
  "-.inf",
  "+.inf",
  ".Inf",
  ".nan",
  ".NaN",
  "NaN",
  "~",
  "Null",
  "nULL",
  "NULL",
  "null",
  "",
  "True",
  "tRUE",
  "yes",
  "on",
  "1e3",
  "1E3",
  "-1.5e-3",
  "1:20",
  "2026-01-01",
  "2026-01-01T00:00:00Z",
  "0",
  "007",
  "08",
  "09.5",
  "12345678901234567890",
  "-0",
  "0.0",
  "<<",
  "=",
  "'x'",
  '"\\x41"',
  '"\\u00e9"',
  "|\n  x\n  y\n",
  ">\n  x\n  y\n\n  z\n",
  "[1, 2, {a: b}]",
  "{a: 1, b: [x, y]}",
  "a # c",
  "a#b",
  "'it''s'",
  "192.168.7.21:5000/ccbot/bot:2.0.3",
  '"quoted: colon"',
  "plain words here",
  "*/5 * * * *",
];

const DOCUMENTS = [
  "",
  "# only a comment\n",
  "a: 1\na: 2\n",
  "a: 1\n---\nb: 2\n",
  "a: *x\n",
  "a: &x [1]\nb: *x\n",
  "a:\n\t- x\n",
  "- a\n- b\n",
  "a: b: c\n",
  "key with space: 1\n",
  "? [a]\n: 1\n",
  "? a\n: 1\n",
  "1: a\n",
  "null: a\n",
  "~: a\n",
  ": a\n",
  "true: a\n",
  "a: 'x\n  y'\n",
  "%YAML 1.1\n---\na: yes\n",
  "a: !!str 1\n",
  "a: !!float 1\n",
  "a: !custom x\n",
  "a: !!binary aGk=\n",
  "a: [1, 2\n",
  "a: {b: 1\n",
  'a: "unclosed\n',
  "a:\n  - b\n   - c\n",
  "a: 1\r\nb: 2\r\n",
  "\ufeffa: 1\n",
  "a:\n  b: 1\n c: 2\n",
  "a: b\n  c: d\n",
  "- a\nb: 1\n",
  "a: |\n  text\n b: 1\n",
  "list: [a, b,]\n",
  "{a: 1, a: 2}\n",
  "a: 1 # comment!\n",
  "a: x\n...\n",
  "--- \na: 1\n",
  // Merge keys: YAML 1.2's core schema has none, so '<<' is an ordinary key in both readers.
  "base: &b {a: 1}\nderived:\n  <<: *b\n  c: 2\n",
  "a:\n  <<: {x: 1}\n  y: 2\n",
  "'<<': 1\n",
  "? a\n",
  `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`,
];

describe("definition reader", () => {
  it("reads every real definition file on the fast path, to the same data as the yaml library", () => {
    const files = ["definition/cluster.yaml", "definition/infrastructure.yaml", "definition/policy-exceptions.yaml", ...listAppFiles(REPO_ROOT, "definition/apps")];
    assert.ok(files.length >= 8);
    for (const rel of files) {
      const text = readFileSync(path.join(REPO_ROOT, rel), "utf8");
      assert.ok(fastRead(text), `${rel} would be left to the yaml library: see src/model/fast-read.ts`);
      assert.deepEqual(ourReading(text), libraryReading(text), rel);
    }
  });

  it("reads every scalar, as a value and as a list item, as the yaml library does", () => {
    for (const raw of SCALARS) {
      for (const text of [`k: ${raw}\n`, `- ${raw}\n`, `outer:\n  inner: ${raw.replace(/\n/g, "\n    ")}\n`]) {
        assert.deepEqual(ourReading(text), libraryReading(text), JSON.stringify(text));
      }
    }
  });

  it("gives the yaml library's data or its error for documents where the two libraries differ or fail", () => {
    let errors = 0;
    for (const text of DOCUMENTS) {
      const expected = libraryReading(text);
      if ("error" in expected) errors++;
      assert.deepEqual(ourReading(text), expected, JSON.stringify(text));
      // readYamlValue, for generated files, takes the same two paths without positions.
      if ("value" in expected) assert.deepEqual(readYamlValue(text), expected.value, JSON.stringify(text));
    }
    assert.ok(errors >= 8, `the corpus should hold broken documents too (${errors})`);
  });

  it("leaves to the yaml library exactly the constructs where the two read differently", () => {
    for (const text of [
      "a: !!str 1\n",
      "a: !custom x\n",
      "%YAML 1.1\n---\na: yes\n",
      "null: a\n",
      "~: a\n",
      ": a\n",
      "",
      "# comment\n",
      "a: 1\n---\nb: 2\n",
      "a: 1\na: 2\n",
      "a: &x [1, 2]\nb: &y [*x]\n",
      `a: &x 1\nb: [${Array.from({ length: 101 }, () => "*x").join(", ")}]\n`,
    ]) {
      assert.equal(fastRead(text), undefined, JSON.stringify(text));
    }
    // Aliases to anchors that hold none (how triager.yaml shares its probes) stay on the fast path.
    assert.deepEqual(fastRead("p: &p { a: 1 }\nq: *p\nr: [*p, *p]\n"), { value: { p: { a: 1 }, q: { a: 1 }, r: [{ a: 1 }, { a: 1 }] } });
    assert.deepEqual(fastRead("nullable: null\nlist: [~, null]\n"), { value: { nullable: null, list: [null, null] } });
  });

  it("finds the line of a value on the fast path, from the same text", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "bk-reader-"));
    writeFileSync(path.join(dir, "f.yaml"), "# header\nname: x\nlist:\n  - a\n  - b\n");
    const s = readSource(dir, "f.yaml");
    assert.ok(!("rule" in s));
    assert.deepEqual(s.value(), { name: "x", list: ["a", "b"] });
    assert.equal(lineOf(s, ["list", 1]), 5);
    assert.equal(lineOf(s, ["name"]), 2);
  });
});
