/**
 * The Flux notification objects synthesized from the definition: Provider, Alerts, Receiver and its route.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { loadDefinition } from "../../src/model/load.js";
import { synthesize } from "../../src/synth/index.js";
import { receiverUrl } from "../../src/synth/notifications.js";
import { REPO_ROOT } from "../helpers/definition.js";

type Src = { kind: string; name: string; namespace: string };
type AlertSpec = { eventSeverity: string; eventSources: Src[]; inclusionList: string[] };
type IngressSpec = { rules: Array<{ host: string; http: { paths: unknown[] } }> };

const { model } = loadDefinition(REPO_ROOT);
const placed = synthesize(model);
const find = (kind: string, name: string) => placed.find((p) => p.object.kind === kind && p.object.metadata.name === name);

describe("Flux notifications", () => {
  it("a Provider per Flux target, its address only in the sealed Secret", () => {
    const p = find("Provider", "notify-discord")!;
    assert.equal(p.file, "clusters/minikube/notifications.yaml");
    assert.deepEqual(p.object.spec, { type: "discord", secretRef: { name: "notify-discord" } });
    assert.ok(model.secrets.some((s) => s.namespace === "flux-system" && s.name === "notify-discord" && s.keys.address?.from === "operator"));
    assert.ok(model.secrets.some((s) => s.namespace === "monitoring" && s.name === "notify-discord" && s.keys.address?.from === "same-as"));
  });

  it("failures of every Flux object in the tree at error, successful releases at info", () => {
    const failures = find("Alert", "flux-failures")!.object.spec as AlertSpec;
    assert.equal(failures.eventSeverity, "error");
    const kinds = new Set(failures.eventSources.map((s) => s.kind));
    assert.deepEqual([...kinds], ["GitRepository", "HelmRepository", "Kustomization", "HelmRelease"]);
    for (const o of placed.filter((p) => p.object.kind === "HelmRelease")) {
      assert.ok(
        failures.eventSources.some((s) => s.kind === "HelmRelease" && s.namespace === o.object.metadata.namespace),
        `${o.object.metadata.namespace} watched`,
      );
    }
    const releases = find("Alert", "flux-releases")!.object.spec as AlertSpec;
    assert.equal(releases.eventSeverity, "info");
    assert.ok(releases.eventSources.every((s) => s.kind === "HelmRelease" && s.name === "*"));
    const re = new RegExp(releases.inclusionList[0]!);
    assert.ok(re.test("Helm upgrade succeeded for release ffl/ffl-backend.v3 with chart bk-app@0.3.0"));
    assert.ok(!re.test("Helm upgrade failed for release ffl/ffl-backend with chart bk-app@0.3.0: timeout"));
  });

  it("a github Receiver for the tree's GitRepository, routed under /hook/ on the ingress host", () => {
    const r = find("Receiver", "git-push")!.object.spec;
    assert.deepEqual(r, {
      type: "github",
      events: ["ping", "push"],
      secretRef: { name: "git-push-receiver-token" },
      resources: [{ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", name: "beckerkube", namespace: "flux-system" }],
    });
    const ing = find("Ingress", "webhook-receiver")!;
    assert.equal(ing.file, "infrastructure/configs/notifications/webhook-receiver.yaml");
    const rule = (ing.object.spec as IngressSpec).rules[0]!;
    assert.equal(rule.host, "beckerkube.lan");
    assert.deepEqual(rule.http.paths[0], { path: "/hook/", pathType: "Prefix", backend: { service: { name: "webhook-receiver", port: { number: 80 } } } });
  });

  it("the Receiver URL is /hook/ + sha256(token + name + namespace)", () => {
    const want = createHash("sha256").update("s3cretgit-pushflux-system").digest("hex");
    assert.equal(receiverUrl("beckerkube.lan", "s3cret", "git-push"), `https://beckerkube.lan/hook/${want}`);
  });
});
