/**
 * Istio's security semantics as `bk netpol` evaluates them (src/netpol/mesh-semantics.ts), on small hand-made
 * objects: mTLS precedence, default deny, principals and their wildcards, unauthenticated callers, DENY over ALLOW,
 * the root namespace, paths carried in the verdict.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { evaluateMesh, mtlsMode, parseMeshPolicies } from "../../src/netpol/mesh-semantics.js";
import type { PodEndpoint } from "../../src/netpol/semantics.js";

const ROOT = "istio-system";
const pod: PodEndpoint = { kind: "pod", id: "app/api", namespace: "app", labels: { role: "api" }, ip: "10.0.0.1", ports: [] };
const o = (kind: string, ns: string, name: string, spec: unknown): KubeObject => ({ apiVersion: "security.istio.io/v1", kind, metadata: { name, namespace: ns }, spec: spec as Record<string, unknown> });
const ap = (ns: string, name: string, spec: unknown) => o("AuthorizationPolicy", ns, name, spec);
const pa = (ns: string, name: string, spec: unknown) => o("PeerAuthentication", ns, name, spec);
const client = "cluster.local/ns/app/sa/web";
const allowWeb = ap("app", "allow-web", { selector: { matchLabels: { role: "api" } }, rules: [{ from: [{ source: { principals: [client] } }], to: [{ operation: { ports: ["8000"] } }] }] });
const verdict = (objects: KubeObject[], principal: string | undefined, port = 8000) => evaluateMesh(parseMeshPolicies(objects), principal, pod, port, ROOT);

describe("mesh semantics", () => {
  it("mTLS: a workload's port-level mode beats its own mode, which beats the namespace's, then the root's, then PERMISSIVE", () => {
    const p = (objs: KubeObject[]) => parseMeshPolicies(objs);
    assert.equal(mtlsMode(p([]), pod, 8000, ROOT), "PERMISSIVE");
    assert.equal(mtlsMode(p([pa(ROOT, "default", { mtls: { mode: "STRICT" } })]), pod, 8000, ROOT), "STRICT");
    assert.equal(mtlsMode(p([pa(ROOT, "default", { mtls: { mode: "STRICT" } }), pa("app", "default", { mtls: { mode: "PERMISSIVE" } })]), pod, 8000, ROOT), "PERMISSIVE");
    const workload = pa("app", "api", { selector: { matchLabels: { role: "api" } }, mtls: { mode: "STRICT" }, portLevelMtls: { "9090": { mode: "PERMISSIVE" } } });
    assert.equal(mtlsMode(p([pa("app", "default", { mtls: { mode: "PERMISSIVE" } }), workload]), pod, 8000, ROOT), "STRICT");
    assert.equal(mtlsMode(p([workload]), pod, 9090, ROOT), "PERMISSIVE");
  });

  it("no ALLOW policy: allowed; an empty-spec policy: everything denied; an edge policy: exactly its principal and port", () => {
    assert.equal(verdict([], undefined).allowed, true);
    const deny = ap("app", "allow-nothing", {});
    assert.equal(verdict([deny], client).allowed, false);
    assert.equal(verdict([deny, allowWeb], client).allowed, true);
    assert.equal(verdict([deny, allowWeb], client, 9090).allowed, false);
    assert.equal(verdict([deny, allowWeb], "cluster.local/ns/app/sa/other").allowed, false);
    assert.equal(verdict([deny, allowWeb], undefined).allowed, false);
  });

  it("STRICT refuses a caller without identity before any policy; notPrincipals * admits only such callers", () => {
    const strict = pa("app", "default", { mtls: { mode: "STRICT" } });
    const anon = ap("app", "anon", { rules: [{ from: [{ source: { notPrincipals: ["*"] } }], to: [{ operation: { ports: ["8000"], paths: ["/metrics"], methods: ["GET"] } }] }] });
    assert.match(verdict([strict, anon], undefined).why, /STRICT/);
    const v = verdict([anon], undefined);
    assert.deepEqual([v.allowed, v.paths, v.methods], [true, ["/metrics"], ["GET"]]);
    assert.equal(verdict([anon], client).allowed, false);
  });

  it("principal wildcards and source namespaces", () => {
    const byPrefix = ap("app", "p", { rules: [{ from: [{ source: { principals: ["cluster.local/ns/app/*"] } }] }] });
    assert.equal(verdict([byPrefix], client).allowed, true);
    assert.equal(verdict([byPrefix], "cluster.local/ns/other/sa/web").allowed, false);
    const byNs = ap("app", "n", { rules: [{ from: [{ source: { namespaces: ["app"] } }] }] });
    assert.equal(verdict([byNs], client).allowed, true);
    assert.equal(verdict([byNs], undefined).allowed, false);
  });

  it("DENY wins over ALLOW; a root-namespace policy applies in every namespace to the pods it selects", () => {
    const denyWeb = ap("app", "deny-web", { action: "DENY", rules: [{ from: [{ source: { principals: [client] } }] }] });
    assert.match(verdict([allowWeb, denyWeb], client).why, /denied by deny-web/);
    const rootDeny = ap(ROOT, "root", { action: "DENY", selector: { matchLabels: { role: "db" } }, rules: [{}] });
    assert.equal(verdict([allowWeb, rootDeny], client).allowed, true, "the root policy selects other pods");
    const rootAll = ap(ROOT, "root-all", { action: "DENY", rules: [{}] });
    assert.equal(verdict([allowWeb, rootAll], client).allowed, false);
  });

  it("reports what it does not evaluate", () => {
    const p = parseMeshPolicies([ap("app", "c", { action: "CUSTOM", provider: { name: "x" }, rules: [{ when: [{ key: "request.headers[x]", values: ["y"] }] }] })]);
    assert.deepEqual(p.problems, ["AuthorizationPolicy app/c: action CUSTOM is not evaluated", "AuthorizationPolicy app/c: 'when' conditions are not evaluated (the rule is read without them)"]);
  });
});
