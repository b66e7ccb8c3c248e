/**
 * bk ui's page and picture from the real definition, without a server or a browser: every component is a row
 * and a box, every declared edge and route is drawn, states are words and glyphs as well as colours, actions
 * appear only when connected and not read-only, and what the page shows is escaped.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadDefinition } from "../../src/model/load.js";
import { renderPage } from "../../src/ui/page.js";
import { componentShown } from "../../src/ui/state.js";
import { topologySvg } from "../../src/ui/topology.js";
import { definitionView, type ComponentState, type UiSnapshot } from "../../src/workflows/ui-snapshot.js";
import { REPO_ROOT } from "../helpers/definition.js";

const { model } = loadDefinition(REPO_ROOT);
const definition = definitionView(model);
const count = (s: string, needle: string) => s.split(needle).length - 1;

function snapshot(over: Partial<UiSnapshot> = {}): UiSnapshot {
  return {
    generatedAt: "2026-12-05T12:00:00.000Z",
    connection: { connected: false, reason: "no cluster is configured" },
    definition,
    components: model.components.map((c) => ({ id: c.id, helmRelease: { namespace: c.namespace, name: c.fullname }, tree: c.image.ref, version: "unknown", ready: "unknown" })),
    flux: [],
    certificates: { ok: true, certificates: [] },
    backups: [],
    netpol: { ok: true, policies: 0, endpoints: [], open: [], required: [], blocked: [], undeclared: [], externalCaveats: [], withoutDefaultDeny: [], problems: [] },
    changes: { added: [], changed: [], removed: [] },
    patch: "",
    ...over,
  };
}

describe("bk ui: the topology picture", () => {
  const svg = topologySvg(definition);
  it("has a box for every component and LoadBalancer address, and draws every declared edge and route", () => {
    for (const c of model.components) assert.equal(count(svg, `data-component="${c.id}"`), 1, c.id);
    for (const e of model.endpoints) assert.ok(svg.includes(`${e.ip}:`), e.title);
    const routes = model.components.filter((c) => c.route).length;
    assert.ok(model.edges.length > 0 && routes > 0);
    assert.equal(count(svg, '<path class="edge'), model.edges.length + routes);
    assert.equal(count(svg, '<path class="edge route"'), routes);
  });
  it("is an image with a title and a description for assistive technology", () => {
    assert.match(svg, /^<svg [^>]*role="img" aria-labelledby="topology-title topology-desc"/);
    assert.match(svg, /<desc id="topology-desc">[^<]*\d+ components/);
  });
  it("escapes what it draws", () => {
    const evil = { ...definition, cluster: "<script>x</script>", applications: [{ name: "a", namespace: "a", components: [{ ...definition.applications[0]!.components[0]!, id: 'a/"><b>', name: "<img>" }] }], edges: [] };
    const out = topologySvg(evil);
    assert.ok(!out.includes("<script>") && !out.includes("<img>") && !out.includes('"><b>'));
    assert.ok(out.includes("&lt;script&gt;"));
  });
  it("draws an application without components as its empty box", () => {
    const out = topologySvg({ ...definition, applications: [...definition.applications, { name: "empty", namespace: "empty", components: [] }] });
    assert.match(out, /<g class="cluster application"><rect [^>]*\/><text [^>]*>application empty<\/text>/);
  });
});

describe("bk ui: the page", () => {
  it("not connected: says so, shows every component with its tree image as Unknown, offers no actions", () => {
    const html = renderPage(snapshot(), { actions: true, pending: false });
    assert.match(html, /data-connected="false"[^>]*>.*Not connected<\/strong> to a cluster: no cluster is configured/);
    for (const c of model.components) assert.match(html, new RegExp(`<tr data-component="${c.id}"[^>]*data-state="unknown">\\s*<th scope="row">${c.id}</th>`));
    assert.equal(count(html, "<button"), 0);
    for (const landmark of ["<header>", "<nav ", "<main ", "<footer>"]) assert.ok(html.includes(landmark), landmark);
    assert.match(html, /<ol id="activity" aria-live="polite"/);
  });

  it("connected: a failed HelmRelease is red with the word, the reason and the event; actions only without --read-only", () => {
    const ffl = model.components.find((c) => c.id === "ffl/redis")!;
    const failed: ComponentState = {
      id: ffl.id,
      helmRelease: { namespace: ffl.namespace, name: ffl.fullname },
      tree: ffl.image.ref,
      version: "absent",
      ready: "False",
      reason: "InstallFailed",
      message: "values don't meet the schema",
      lastEvent: "Warning InstallFailed: Helm install failed",
    };
    const s = snapshot({ connection: { connected: true, server: "https://127.0.0.1:6443", context: "dev" }, components: [failed] });
    const html = renderPage(s, { actions: true, pending: false });
    const row = html.slice(html.indexOf(`<tr data-component="${ffl.id}"`), html.indexOf("</tr>", html.indexOf(`<tr data-component="${ffl.id}"`)));
    assert.match(row, /data-state="fail"/);
    assert.match(row, /✗<\/span> Failed/);
    assert.match(row, /InstallFailed: values don&#39;t meet the schema/);
    assert.match(row, /<td data-field="event">Warning InstallFailed: Helm install failed<\/td>/);
    assert.match(row, /<button type="button" data-action="reconcile" data-name="ffl\/redis" aria-label="Reconcile ffl\/redis">/);
    assert.match(row, /data-action="suspend"/);
    assert.equal(count(renderPage(s, { actions: false, pending: false }), "<button"), 0);
  });

  it("pending changes list the files bk synth would change", () => {
    const html = renderPage(snapshot({ changes: { added: [], changed: ["apps/ffl/backend.yaml"], removed: [] }, patch: "--- a\n+++ b\n" }), { actions: false, pending: false });
    assert.match(html, /1 file\(s\) differ/);
    assert.match(html, /<code>apps\/ffl\/backend\.yaml<\/code>/);
  });
});

describe("bk ui: a component's state", () => {
  const base: ComponentState = { id: "ffl/backend", helmRelease: { namespace: "ffl", name: "ffl-backend" }, tree: "r/ffl/backend:1.4.3", version: "match", ready: "True" };
  it("Ready at the tree's image is ok; another image, a missing Deployment or a failing health URL is a warning that says which", () => {
    assert.deepEqual(componentShown(base), { tone: "ok", label: "Ready", detail: "" });
    assert.equal(componentShown({ ...base, version: "differs", running: ["r/ffl/backend:1.4.2"] }).label, "Ready, other version");
    assert.equal(componentShown({ ...base, version: "absent" }).tone, "warn");
    assert.equal(componentShown({ ...base, health: { url: "https://x/healthz", status: 503, ok: false } }).detail, "https://x/healthz answered 503");
  });
  it("suspended is a warning, not deployed a warning, False a failure, and no cluster unknown", () => {
    assert.equal(componentShown({ ...base, suspended: true }).label, "Suspended");
    assert.deepEqual([componentShown({ ...base, ready: "absent" }).tone, componentShown({ ...base, ready: "False" }).tone, componentShown({ ...base, ready: "unknown" }).tone], ["warn", "fail", "unknown"]);
  });
});
