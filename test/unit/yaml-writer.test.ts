/**
 * The fast YAML writer against the library it stands in for: byte-identical output on every object
 * of the real tree, on a corpus of scalars that need a YAML decision, and on random nestings of them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { loadDefinition } from "../../src/model/load.js";
import { synthesize } from "../../src/synth/index.js";
import { YAML_OPTIONS, writeYaml } from "../../src/tree/yaml-writer.js";
import { REPO_ROOT } from "../helpers/definition.js";

const library = (v: unknown) => stringify(v, YAML_OPTIONS);

// biome-ignore format: one line per family of YAML edge cases; the formatter would put each of the ~200 strings on its own line
const AWKWARD_STRINGS = [
  "", " ", "  ", "a: b", "a:", "a:b", ":a", "#x", "a #b", "a#b", "true", "True", "TRUE", "false", "yes", "no", "on", "off", "null", "Null", "NULL", "~",
  "1", "-1", "+1", "0", "00", "08", "1.0", "1.", ".5", "1e5", "1E-5", "0x1F", "0o17", "0b1", "1_000", ".inf", "-.inf", ".nan", ".NaN", "2.0.3", "1:30",
  "-", "- a", "-a", "?", "? x", "?x", "a\nb", "a\n", "a\n\n", "\n", "\n\na", " lead", "trail ", "multi\n  indented\n\nlines\n", "a\n b\n  c", "trailing \nspace",
  "---", "--- x", "...", "a\n---\nb", "a\tb", "\ta", "\u0001", "\u007f", "é", "日本", "😀", "'quoted'", "\"dq\"", "it's", "say \"hi\"", "both ' and \"",
  "@at", "`bt", "%pc", "!tag", "&anchor", "*alias", "|pipe", ">gt", "{a}", "[a]", "a,b", "a{b}", "a[0]", ",a", "http://x:80/y", "key=value", "a b", "a  b",
  "Discord integration", "app.kubernetes.io/name", "/var/run/secrets", "_under", "sh -c 'echo hi'", "a: b\nc: d", "{\n  \"json\": true\n}\n",
  "x".repeat(200), `${"word ".repeat(40)}end`, "line\r\nwindows", "nul\u0000", "\\backslash", "a\\nb", "=", "==", "a=", "(a)", "a~b", "~a", "+a", "a+",
  "a;b", "a$b", "{{ $labels.x }}", "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} is down", "a|b", "a>b", "a<b", "a*b", "a&b", "a!b", "a%b",
  "a?b", "a`b", "a'b", "a\"b", "a[b]", "a{b", "a}b", "a #", "a#", "a:#", "a: #", "a:\tb", "/a: b", "_x: y", "x ", "x:", "x::", "Null", "NULLx", "Truex",
  "(max by (namespace, deployment) (x) > 0)", ">=0.1.0 <1.0.0", "find /tmp/heartbeat -mmin -2 | grep -q .", "k".repeat(1024),
  "192.168.7.21:5000/ffl/backend:1.2.3", "10m", "5000", "1e3x", "0x1G", "0o9", "1.2.3.4/32", "10.0.0.0/8", "+1a", "-1a", ".5a", ".infx", "1 2", "1: 2", "12:", "1 #x",
  "it's \"x\"", "\"x\" and it's", "a'b\"c", "(max by (x) (y)) > 0", "Route /c1/api: the controller", "x: \"y\"", "x: 'y'", "x: \\", "- x: y", "? y: z", ":x", "::", "a :b",
  "line1\nline2", "x\n\n\ny\n", "x\n\n\ny", "# not a comment\nkey: value\n", "- item\n- item\n", "---\nx\n", "x\n---\n", "...\n", "x\n...", "a: b\n  c\n",
  "a\n\n", "a \nb\n", "a\nb \n", "a\n b", " a\nb", "\na\nb", "a\n\tb\n", "é\nx", "{\n  \"panels\": [\n    {\"id\": 1}\n  ]\n}\n", "[INPUT]\n    Name tail\n\n[OUTPUT]\n    Name loki\n",
];

// biome-ignore format: grouped by kind (numbers, then booleans, null and empty containers) like AWKWARD_STRINGS above
const AWKWARD_VALUES: unknown[] = [
  ...AWKWARD_STRINGS,
  0, 1, -1, 42, 1.5, -0.25, 1e21, 1e-7, -0, Number.MAX_SAFE_INTEGER, 2 ** 53, NaN, Infinity, -Infinity,
  true, false, null, [], {}, [[]], [{}], { a: [] }, { a: {} }, { a: undefined }, { a: undefined, b: 1 },
];

/** Every awkward value in every position the tree uses: map value, sequence item, nested, as a key. */
function placements(v: unknown): unknown[] {
  const keyed = typeof v === "string" && v !== "" ? [{ [v]: 1 }, { outer: { [v]: "x" } }, [{ [v]: [1, 2] }]] : [];
  return [{ k: v }, { a: { b: { c: v } } }, [v], [[v]], [[[v, "after"]]], [{ k: v, next: 1 }], { list: [v, v] }, { list: [{ inner: v }] }, { a: [[v], { b: [v] }] }, ...keyed];
}

/** A small deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(rand: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const r = rand();
  if (depth > 4 || r < 0.45) return pick(AWKWARD_VALUES);
  const n = Math.floor(rand() * 4);
  if (r < 0.7) return Array.from({ length: n }, () => randomValue(rand, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) o[rand() < 0.7 ? `key${i}` : pick(AWKWARD_STRINGS) || "k"] = randomValue(rand, depth + 1);
  return o;
}

describe("yaml writer", () => {
  it("writes every object of the real tree exactly as the yaml library does", () => {
    const { model } = loadDefinition(REPO_ROOT);
    const objects = synthesize(model);
    assert.ok(objects.length > 200);
    for (const { object, file } of objects) {
      assert.equal(writeYaml(object), library(object), `${file}: ${object.kind}/${object.metadata.name}`);
    }
  });

  it("writes awkward scalars in every position exactly as the yaml library does", () => {
    let compared = 0;
    for (const v of AWKWARD_VALUES) {
      for (const doc of placements(v)) {
        assert.equal(writeYaml(doc), library(doc), `for ${JSON.stringify(doc)}`);
        compared++;
      }
    }
    assert.ok(compared > 1000);
  });

  it("writes random nestings exactly as the yaml library does, and they read back as the same data", () => {
    const rand = prng(20261126);
    for (let i = 0; i < 3000; i++) {
      const doc = { root: randomValue(rand, 0) };
      const text = writeYaml(doc);
      assert.equal(text, library(doc), `case ${i}: ${JSON.stringify(doc)}`);
      // The library's own reading: NaN is the one value deepEqual cannot compare through JSON.
      assert.deepEqual(parse(text), parse(library(doc)));
    }
  });

  it("calls toJSON like the library, and refuses what it cannot write", () => {
    const withToJson = { toJSON: () => ({ kind: "X", when: new Date(0) }) };
    assert.equal(writeYaml({ o: withToJson }), library({ o: withToJson }));
    assert.throws(() => writeYaml({ f: () => 1 }), /cannot write a value of type function as YAML/);
    assert.throws(() => writeYaml({ ["k".repeat(1025)]: 1 }), /cannot write a key of 1025 characters/);
  });
});
