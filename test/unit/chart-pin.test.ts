/**
 * Exact application chart versions: the definition holds them (platform value, per-app override), the
 * HelmReleases pin them, and the edit `bk chart push` / `bk release --chart` make is the minimal one.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { loadDefinition } from "../../src/model/load.js";
import { generate } from "../../src/pipeline.js";
import { componentRelease } from "../../src/synth/apps.js";
import { setVersion } from "../../src/workflows/bump.js";
import { chartPinEdits } from "../../src/workflows/chart-push.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";

const chartVersionOf = (root: string, overrides?: Map<string, string>) => {
  const { model } = generate(root, overrides);
  return Object.fromEntries(model.components.map((c) => [c.id, (componentRelease(model, c).spec as { chart: { spec: { version: string } } }).chart.spec.version]));
};

describe("application chart versions in the definition", () => {
  it("every application HelmRelease pins the platform's exact version; an app's own chartVersion overrides it for that app only", () => {
    const root = tempDefinition((d) => d.apps.ffl!.set("chartVersion", "0.3.0"));
    const versions = chartVersionOf(root);
    const platform = loadDefinition(root).model.chartmuseum.appChart.version;
    assert.match(platform, /^\d+\.\d+\.\d+$/);
    for (const [id, v] of Object.entries(versions)) assert.equal(v, id.startsWith("ffl/") ? "0.3.0" : platform, id);
  });

  it("refuses a version range, naming the field and why", () => {
    const root = tempDefinition((d) => d.infra.setIn(["chartmuseum", "appChart", "version"], ">=0.1.0 <1.0.0"));
    assert.throws(
      () => loadDefinition(root),
      (e: { findings?: Array<{ file?: string; field?: string; message: string }> }) => {
        const f = e.findings?.find((x) => x.field === "chartmuseum.appChart.version");
        assert.ok(f, JSON.stringify(e.findings));
        assert.equal(f.file, "definition/infrastructure.yaml");
        assert.match(f.message, /exact application chart version.*a range upgrades every app/);
        return true;
      },
    );
    const app = tempDefinition((d) => d.apps.ffl!.set("chartVersion", "^0.2"));
    assert.throws(() => loadDefinition(app), /chartVersion|exact chart version/);
  });
});

describe("setVersion: the minimal edit", () => {
  const text = "# top\nname: ffl   # the app\nnamespace: ffl\ncomponents:   # parts\n  backend: { tag: 1.4.2 }\n";

  it("inserts a missing key above `components:` and changes nothing else", () => {
    const out = setVersion(text, ["chartVersion"], "0.2.0", "definition/apps/ffl.yaml", "components");
    assert.equal(out.text, "# top\nname: ffl   # the app\nnamespace: ffl\nchartVersion: 0.2.0\ncomponents:   # parts\n  backend: { tag: 1.4.2 }\n");
    assert.equal(out.from, undefined);
  });

  it("edits an existing scalar in place, keeping its comment, and reports the old value", () => {
    const withPin = "name: ffl\nchartVersion: 0.2.0   # trying the new probes\ncomponents: {}\n";
    const out = setVersion(withPin, ["chartVersion"], "0.3.0", "f.yaml", "components");
    assert.equal(out.text, "name: ffl\nchartVersion: 0.3.0   # trying the new probes\ncomponents: {}\n");
    assert.equal(out.from, "0.2.0");
  });

  it("edits a nested value inside a flow map without reflowing it", () => {
    const infra = "chartmuseum:\n  appChart: { name: bk-app, version: 0.1.1 }   # pinned\n";
    assert.equal(setVersion(infra, ["chartmuseum", "appChart", "version"], "0.2.0", "i.yaml").text, "chartmuseum:\n  appChart: { name: bk-app, version: 0.2.0 }   # pinned\n");
  });

  it("says so when there is nowhere to put the key", () => {
    assert.throws(() => setVersion("name: x\n", ["chartVersion"], "0.2.0", "definition/apps/x.yaml", "components"), /definition\/apps\/x\.yaml: cannot place chartVersion/);
    assert.throws(() => setVersion("a: 1\n", ["chartmuseum", "appChart", "version"], "0.2.0", "i.yaml"), /i\.yaml: there is no chartmuseum\.appChart\.version to edit/);
  });
});

describe("chartPinEdits: which files a chart version moves", () => {
  it("all: one line of infrastructure.yaml, every app moves through it; apps on it already are left alone", () => {
    const root = tempDefinition();
    const loaded = loadDefinition(root);
    const from = loaded.model.chartmuseum.appChart.version;
    const edits = chartPinEdits(root, loaded, "9.9.9", { all: true });
    assert.deepEqual([...edits.files.keys()], ["definition/infrastructure.yaml"]);
    const before = readFileSync(path.join(root, "definition/infrastructure.yaml"), "utf8");
    const after = edits.files.get("definition/infrastructure.yaml")!;
    const changed = after.split("\n").filter((l, i) => l !== before.split("\n")[i]);
    assert.deepEqual(changed, ["    version: 9.9.9"]);
    assert.deepEqual(
      edits.pins.map((p) => `${p.app} ${p.from}->${p.to}`),
      loaded.model.apps.map((a) => `${a.name} ${from}->9.9.9`),
    );
    assert.equal(chartPinEdits(root, loaded, from, { all: true }).files.size, 0);
  });

  it("named apps get their own chartVersion; all moves an app that holds its own pin too", () => {
    const root = tempDefinition((d) => d.apps.triager!.set("chartVersion", "0.0.9"));
    const loaded = loadDefinition(root);
    const named = chartPinEdits(root, loaded, "9.9.9", { apps: ["ffl"] });
    assert.deepEqual([...named.files.keys()], ["definition/apps/ffl.yaml"]);
    assert.match(named.files.get("definition/apps/ffl.yaml")!, /\nchartVersion: 9\.9\.9\ncomponents:/);
    const versions = chartVersionOf(root, named.files);
    assert.equal(versions["ffl/backend"], "9.9.9");
    assert.equal(versions["ccbot/bot"], loaded.model.chartmuseum.appChart.version);
    const all = chartPinEdits(root, loaded, "9.9.9", { all: true });
    assert.deepEqual([...all.files.keys()].sort(), ["definition/apps/triager.yaml", "definition/infrastructure.yaml"]);
    assert.ok(Object.values(chartVersionOf(root, all.files)).every((v) => v === "9.9.9"));
  });

  it("refuses an application the definition does not have (exit 2)", () => {
    const root = tempDefinition();
    assert.throws(
      () => chartPinEdits(root, loadDefinition(root), "9.9.9", { apps: ["ffl", "nosuch"] }),
      (e: { exitCode?: number; message: string }) => e.exitCode === 2 && /no application 'nosuch' in the definition \(known: /.test(e.message),
    );
  });

  it("the real definition pins the version charts/app is at", () => {
    const { model } = loadDefinition(REPO_ROOT);
    const chartYaml = readFileSync(path.join(REPO_ROOT, "charts/app/Chart.yaml"), "utf8");
    assert.match(chartYaml, new RegExp(`^version: ${model.chartmuseum.appChart.version.replaceAll(".", "\\.")}$`, "m"));
  });
});
