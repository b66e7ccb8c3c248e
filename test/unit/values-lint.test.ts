/** The values lint's logic on small charts: which keys are known, which maps are free-form, what the schema says. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chartReads, templateReads } from "../../src/validate/template-values.js";
import { type ChartFacts, formatPath, lintValues, mergeValues, nearestKey } from "../../src/validate/values-lint.js";

const chart = (over: Partial<ChartFacts> = {}): ChartFacts => ({ name: "demo", version: "1.2.3", defaults: {}, templates: [], conditions: [], subcharts: [], ...over });
const lint = (c: ChartFacts, values: Record<string, unknown>) => lintValues({ file: "infrastructure/controllers/demo/helmrelease.yaml", object: "HelmRelease/demo/demo", values }, c);
const fields = (c: ChartFacts, values: Record<string, unknown>) => lint(c, values).map((f) => `${f.rule} ${f.field}`);

describe("template reads", () => {
  it("reads literal paths, $.Values and index with string keys", () => {
    const r = templateReads('{{ .Values.image.tag }} {{ $.Values.a.b }} {{ index .Values "c" "d-e" }}');
    assert.deepEqual(r.read, [
      ["image", "tag"],
      ["a", "b"],
      ["c", "d-e"],
    ]);
    assert.deepEqual(r.wholesale, []);
  });

  it("marks subtrees handed on whole: toYaml, pipes, tpl, range, a template the chart does not define", () => {
    const r = chartReads([
      [
        "{{ toYaml .Values.a | nindent 2 }}",
        "{{ .Values.b | default dict | toYaml }}",
        "{{ tpl (toYaml .Values.c) $ }}",
        "{{ range $k, $v := .Values.d }}{{ $k }}{{ end }}",
        '{{ include "x" (dict "value" .Values.e "context" $) }}',
        '{{ default "x" .Values.f }} {{ if and .Values.g (include "y" .) }}{{ end }}',
      ].join("\n"),
    ]);
    assert.deepEqual(r.wholesale, [["a"], ["b"], ["c"], ["d"], ["e"]]);
  });

  it("follows `with` blocks and variables: `.x` and `$v.x` are values paths, `toYaml .` hands the block's path on", () => {
    const r = templateReads("{{- with .Values.pod }}{{ .name }}{{ with .securityContext }}{{ toYaml . }}{{ end }}{{ end }}{{ .x }}{{ $s := .Values.svc }}{{ $s.port }}");
    assert.deepEqual(r.read, [["pod"], ["pod", "name"], ["pod", "securityContext"], ["pod", "securityContext"], ["svc"], ["svc", "port"]]);
    assert.deepEqual(r.wholesale, [["pod", "securityContext"]]);
  });

  it("follows include into the chart's own define: what it reads of its argument (dict entries, nested includes) is read", () => {
    const helpers = '{{- define "c.hpa" -}}{{ .component.replicas }}{{ toYaml .component.resources }}{{ include "c.inner" .component.autoscaling }}{{- end }}{{- define "c.inner" -}}{{ .minReplicas }}{{- end }}';
    const r = chartReads([helpers, '{{ include "c.hpa" (dict "component" .Values.single "ctx" $) }}']);
    assert.deepEqual(r.read, [["single"], ["single", "replicas"], ["single", "resources"], ["single", "autoscaling"], ["single", "autoscaling", "minReplicas"]]);
    assert.deepEqual(r.wholesale, [["single", "resources"]]);
  });

  it("reads `dig` keys by name, and takes `index` with a variable key (`$` in a define is its argument) as reading anything", () => {
    assert.deepEqual(chartReads(['{{ dig "storage" "bucket" "" .Values.loki }}']), { read: [["loki", "storage", "bucket"]], wholesale: [], overlays: [] });
    const r = chartReads(['{{ define "res" }}{{ range $k := list "limits" }}{{ index $ $k }}{{ end }}{{ end }}{{ include "res" .Values.resources }}']);
    assert.deepEqual(r.wholesale, [["resources"]]);
  });

  it("sees a subtree merged with the root values as an overlay (istio's defaults and legacy prefix)", () => {
    const r = templateReads('{{ $d := $.Values._defaults }}{{ $b := set $ "Values" (mustMergeOverwrite $d $.Values) }}{{ $_ := mustMergeOverwrite $.Values (index $.Values "pilot") }}');
    assert.deepEqual(r.overlays, [["_defaults"], ["pilot"]]);
  });
});

describe("values lint", () => {
  const base = chart({
    defaults: { image: { repository: "r", tag: "1" }, podAnnotations: {}, tolerations: [], extra: null, replicas: 1 },
    templates: ["{{ .Values.service.port }} {{ toYaml .Values.labels }}"],
  });

  it("accepts keys from defaults and templates, and anything below a free-form map", () => {
    assert.deepEqual(fields(base, { image: { tag: "2" }, podAnnotations: { "a/b": "c" }, tolerations: [{ key: "k" }], extra: { any: 1 }, service: { port: 80 }, labels: { x: "y" }, tags: { t: true } }), []);
  });

  it("names an unknown key with its path, the chart and version, and the nearest known key", () => {
    const [f, ...rest] = lint(base, { image: { tga: "2" } });
    assert.equal(rest.length, 0);
    assert.deepEqual(f, {
      rule: "values/unknown-key",
      severity: "error",
      message: "chart demo 1.2.3 never reads image.tga: Helm ignores it, so the chart's default applies",
      fix: "rename it to image.tag (the key chart demo 1.2.3 reads), in the definition",
      file: "infrastructure/controllers/demo/helmrelease.yaml",
      object: "HelmRelease/demo/demo",
      field: "spec.values.image.tga",
    });
  });

  it("flags keys under a scalar default and has no suggestion when nothing is close", () => {
    const found = lint(base, { replicas: { min: 1 }, somethingElse: true });
    assert.deepEqual(
      found.map((f) => f.field),
      ["spec.values.replicas.min", "spec.values.somethingElse"],
    );
    assert.match(found[1]!.fix, /^remove it/);
  });

  it("knows subcharts under their alias, with their globals, and dependency conditions", () => {
    const sub = chart({ name: "sub", defaults: { enabled: false, port: 1, global: { registry: "" } } });
    const parent = chart({ subcharts: [{ key: "db", condition: ["db", "enabled"], chart: sub }], conditions: [["db", "enabled"]] });
    assert.deepEqual(fields(parent, { db: { enabled: true, port: 2, prot: 3 }, global: { registry: "x" } }), ["values/unknown-key spec.values.db.prot"]);
  });

  it("takes schema properties as known and typed additionalProperties as a free-form map, but not `true` beside declared properties", () => {
    const schema = { type: "object", additionalProperties: true, properties: { labels: { type: "object", additionalProperties: { type: "string" } }, mode: { type: "string", enum: ["a", "b"] } } };
    const c = chart({ schema });
    assert.deepEqual(fields(c, { labels: { any: "x" }, mode: "a", other: 1 }), ["values/unknown-key spec.values.other"]);
  });

  it("validates the merged values against the schema, naming the path and what is allowed", () => {
    const schema = { $schema: "https://json-schema.org/draft-07/schema#", type: "object", properties: { mode: { type: "string", enum: ["a", "b"] }, port: { type: "integer" } } };
    const found = lint(chart({ defaults: { mode: "a", port: 1 }, schema }), { mode: "c" });
    assert.deepEqual(
      found.map((f) => [f.rule, f.field, f.message, f.fix]),
      [
        [
          "values/schema",
          "spec.values.mode",
          "chart demo 1.2.3: values.schema.json says mode must be equal to one of the allowed values",
          'set spec.values.mode in the definition to a value the chart\'s schema allows (one of "a", "b")',
        ],
      ],
    );
  });

  it("reads a schema without $schema as 2020-12 (as Helm does): $defs and prefixItems work", () => {
    const schema = { $ref: "#/$defs/v", $defs: { v: { type: "object", additionalProperties: false, properties: { ports: { type: "array", prefixItems: [{ type: "integer" }] } } } } };
    const c = chart({ defaults: { ports: [1] }, schema });
    assert.deepEqual(fields(c, { ports: ["x"] }), ["values/schema spec.values.ports[0]"]);
    assert.deepEqual(fields(c, { portz: [] }), ["values/unknown-key spec.values.portz"]);
  });
});

describe("helpers", () => {
  it("merges like Helm: maps deep, lists replaced, null deletes", () => {
    assert.deepEqual(mergeValues({ a: { b: 1, c: 2 }, l: [1, 2], d: 1 }, { a: { c: 3 }, l: [3], d: null }), { a: { b: 1, c: 3 }, l: [3] });
  });

  it("suggests the nearest key within a third of its length, a case slip first", () => {
    assert.equal(nearestKey("servicemonitor", ["serviceMonitor", "service"]), "serviceMonitor");
    assert.equal(nearestKey("replicas", ["replicaCount"]), undefined);
    assert.equal(formatPath(["a", "metallb.io/x", 0]), 'a["metallb.io/x"][0]');
  });
});
