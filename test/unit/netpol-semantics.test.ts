/**
 * NetworkPolicy semantics of src/netpol/semantics.ts on small hand-made policy sets: isolation
 * only when selected, egress AND ingress, union of policies, selectors, ipBlock with except, ports.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../src/core/object.js";
import { cidrContains } from "../../src/netpol/ip.js";
import { evaluate, parsePolicies, selectorMatches, type Endpoint, type Labels, type PodEndpoint } from "../../src/netpol/semantics.js";

const NS = new Map<string, Labels>([
  ["a", { "kubernetes.io/metadata.name": "a", team: "red" }],
  ["b", { "kubernetes.io/metadata.name": "b", team: "blue" }],
]);

const pod = (namespace: string, app: string, ip: string, ports: PodEndpoint["ports"] = [{ name: "http", port: 80, protocol: "TCP" }]): PodEndpoint => ({
  kind: "pod",
  id: `${namespace}/${app}`,
  namespace,
  labels: { app },
  ip,
  ports,
});
const outside = (ip: string): Endpoint => ({ kind: "external", id: ip, ip });

const A_WEB = pod("a", "web", "10.244.0.1");
const A_DB = pod("a", "db", "10.244.0.2", [{ name: "pg", port: 5432, protocol: "TCP" }]);
const B_WEB = pod("b", "web", "10.244.0.3");
const B_DNS = pod("b", "dns", "10.244.0.4", [
  { name: "dns", port: 53, protocol: "UDP" },
  { name: "dns-tcp", port: 53, protocol: "TCP" },
]);

function np(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec };
}

function allowed(objects: KubeObject[], src: Endpoint, dst: Endpoint, port: number, protocol: "TCP" | "UDP" = "TCP"): boolean {
  const { policies } = parsePolicies(objects);
  return evaluate(policies, NS, src, dst, port, protocol).allowed;
}

const denyAll = (ns: string) => np(ns, "default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });

describe("isolation", () => {
  it("allows everything when no policy exists", () => {
    assert.equal(allowed([], A_WEB, B_WEB, 80), true);
    assert.equal(allowed([], outside("8.8.8.8"), A_DB, 5432), true);
  });

  it("isolates only the pods a policy selects", () => {
    const objs = [np("a", "deny-db", { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"] })];
    assert.equal(allowed(objs, B_WEB, A_DB, 5432), false, "db is selected: isolated");
    assert.equal(allowed(objs, B_WEB, A_WEB, 80), true, "web in the same namespace is not selected: open");
    assert.equal(allowed(objs, A_DB, B_WEB, 80), true, "an Ingress policy does not isolate the db's egress");
  });

  it("isolates only for the listed policyTypes", () => {
    const egressOnly = [np("a", "deny-egress", { podSelector: {}, policyTypes: ["Egress"] })];
    assert.equal(allowed(egressOnly, A_WEB, B_WEB, 80), false);
    assert.equal(allowed(egressOnly, B_WEB, A_WEB, 80), true, "ingress to a stays open");
  });

  it("defaults policyTypes to Ingress, plus Egress when egress rules exist", () => {
    const noEgressRules = [np("a", "p", { podSelector: {} })];
    assert.equal(allowed(noEgressRules, B_WEB, A_WEB, 80), false, "ingress isolated by default");
    assert.equal(allowed(noEgressRules, A_WEB, B_WEB, 80), true, "egress not isolated without egress rules");
    const withEgress = [np("a", "p", { podSelector: {}, egress: [{ to: [{ podSelector: { matchLabels: { app: "db" } } }] }] })];
    assert.equal(allowed(withEgress, A_WEB, A_DB, 5432), false, "db's ingress is isolated too");
    assert.equal(allowed(withEgress, A_WEB, B_WEB, 80), false, "egress isolated: only the db is allowed");
  });

  it("policies of another namespace do not select a pod", () => {
    const objs = [np("b", "deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })];
    assert.equal(allowed(objs, A_WEB, A_DB, 5432), true);
  });
});

describe("egress AND ingress, union of policies", () => {
  const egressWebToB = np("a", "web-to-b", {
    podSelector: { matchLabels: { app: "web" } },
    policyTypes: ["Egress"],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "b" } }, podSelector: { matchLabels: { app: "web" } } }], ports: [{ protocol: "TCP", port: 80 }] }],
  });
  const ingressBFromA = np("b", "web-from-a", {
    podSelector: { matchLabels: { app: "web" } },
    policyTypes: ["Ingress"],
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "red" } } }], ports: [{ port: 80 }] }],
  });

  it("needs both sides when both are isolated", () => {
    assert.equal(allowed([denyAll("a"), denyAll("b"), egressWebToB, ingressBFromA], A_WEB, B_WEB, 80), true);
    assert.equal(allowed([denyAll("a"), denyAll("b"), egressWebToB], A_WEB, B_WEB, 80), false, "egress alone is not enough");
    assert.equal(allowed([denyAll("a"), denyAll("b"), ingressBFromA], A_WEB, B_WEB, 80), false, "ingress alone is not enough");
  });

  it("an unisolated side needs nothing", () => {
    assert.equal(allowed([denyAll("a"), egressWebToB], A_WEB, B_WEB, 80), true);
  });

  it("reports which policies allow each side", () => {
    const { policies } = parsePolicies([denyAll("a"), denyAll("b"), egressWebToB, ingressBFromA]);
    const v = evaluate(policies, NS, A_WEB, B_WEB, 80, "TCP");
    assert.deepEqual(v.egress, { isolated: true, allowedBy: ["a/web-to-b"] });
    assert.deepEqual(v.ingress, { isolated: true, allowedBy: ["b/web-from-a"] });
  });

  it("takes the union of every policy that selects the pod", () => {
    const p80 = np("a", "p80", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: 80 }] }] });
    const p443 = np("a", "p443", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: 443 }] }] });
    const objs = [denyAll("a"), p80, p443];
    assert.equal(allowed(objs, B_WEB, A_WEB, 80), true);
    assert.equal(allowed(objs, B_WEB, A_WEB, 443), true);
    assert.equal(allowed(objs, B_WEB, A_WEB, 8080), false);
  });
});

describe("peers", () => {
  it("a podSelector alone means pods of the policy's own namespace", () => {
    const objs = [np("a", "db-from-web", { podSelector: { matchLabels: { app: "db" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }] })];
    assert.equal(allowed(objs, A_WEB, A_DB, 5432), true);
    assert.equal(allowed(objs, B_WEB, A_DB, 5432), false, "web in namespace b has the label but another namespace");
  });

  it("namespaceSelector and podSelector in one peer intersect; in two peers they unite", () => {
    const and = [np("a", "p", { podSelector: { matchLabels: { app: "db" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "blue" } }, podSelector: { matchLabels: { app: "dns" } } }] }] })];
    assert.equal(allowed(and, B_DNS, A_DB, 5432), true);
    assert.equal(allowed(and, B_WEB, A_DB, 5432), false);
    const or = [np("a", "p", { podSelector: { matchLabels: { app: "db" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "blue" } } }, { podSelector: { matchLabels: { app: "web" } } }] }] })];
    assert.equal(allowed(or, B_WEB, A_DB, 5432), true, "any pod of namespace b");
    assert.equal(allowed(or, A_WEB, A_DB, 5432), true, "web of namespace a");
  });

  it("an empty namespaceSelector selects every namespace", () => {
    const objs = [np("a", "p", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] })];
    assert.equal(allowed(objs, B_WEB, A_WEB, 80), true);
    assert.equal(allowed(objs, outside("8.8.8.8"), A_WEB, 80), false, "namespace selectors never match addresses outside the pod network");
  });

  it("a rule without from/to matches every peer, without ports every port", () => {
    const objs = [np("a", "p", { podSelector: {}, ingress: [{}] })];
    assert.equal(allowed(objs, outside("8.8.8.8"), A_DB, 5432), true);
    assert.equal(allowed(objs, B_WEB, A_WEB, 12345), true);
  });

  it("ipBlock matches addresses in the block, minus the excepts, pods included", () => {
    const objs = [
      denyAll("a"),
      np("a", "internet", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "192.168.0.0/16"] } }], ports: [{ port: 443 }] }] }),
    ];
    assert.equal(allowed(objs, A_WEB, outside("8.8.8.8"), 443), true);
    assert.equal(allowed(objs, A_WEB, outside("192.168.7.21"), 443), false, "excepted range");
    assert.equal(allowed(objs, A_WEB, B_WEB, 443), false, "pod address 10.244.0.3 is excepted");
    assert.equal(allowed(objs, A_WEB, outside("8.8.8.8"), 80), false, "wrong port");
    const pods = [denyAll("a"), np("a", "pods", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "10.244.0.0/16" } }] }] })];
    assert.equal(allowed(pods, A_WEB, B_WEB, 80), true, "ipBlock matches pod addresses (Calico)");
  });

  it("matchExpressions: In, NotIn, Exists, DoesNotExist", () => {
    const l = { app: "web", tier: "front" };
    assert.equal(selectorMatches({ matchExpressions: [{ key: "app", operator: "In", values: ["web", "api"] }] }, l), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "app", operator: "In", values: ["api"] }] }, l), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "app", operator: "NotIn", values: ["api"] }] }, l), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "missing", operator: "NotIn", values: ["x"] }] }, l), true, "NotIn matches an absent key");
    assert.equal(selectorMatches({ matchExpressions: [{ key: "tier", operator: "Exists" }] }, l), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "zone", operator: "Exists" }] }, l), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, l), true);
    assert.equal(selectorMatches({ matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, l), false, "matchLabels AND matchExpressions");
    assert.equal(selectorMatches({}, l), true, "the empty selector matches everything");
  });
});

describe("ports", () => {
  const dnsPolicy = (ports: unknown[]) => [denyAll("b"), np("b", "dns", { podSelector: { matchLabels: { app: "dns" } }, ingress: [{ ports }] })];

  it("protocol defaults to TCP and must match", () => {
    assert.equal(allowed(dnsPolicy([{ port: 53 }]), A_WEB, B_DNS, 53, "TCP"), true);
    assert.equal(allowed(dnsPolicy([{ port: 53 }]), A_WEB, B_DNS, 53, "UDP"), false);
    assert.equal(allowed(dnsPolicy([{ port: 53, protocol: "UDP" }]), A_WEB, B_DNS, 53, "UDP"), true);
  });

  it("a port without a number matches every port of its protocol", () => {
    assert.equal(allowed(dnsPolicy([{ protocol: "UDP" }]), A_WEB, B_DNS, 5353, "UDP"), true);
    assert.equal(allowed(dnsPolicy([{ protocol: "UDP" }]), A_WEB, B_DNS, 53, "TCP"), false);
  });

  it("endPort makes a range", () => {
    const objs = dnsPolicy([{ port: 50, endPort: 60 }]);
    assert.equal(allowed(objs, A_WEB, B_DNS, 50), true);
    assert.equal(allowed(objs, A_WEB, B_DNS, 60), true);
    assert.equal(allowed(objs, A_WEB, B_DNS, 61), false);
  });

  it("named ports resolve on the destination pod", () => {
    assert.equal(allowed(dnsPolicy([{ port: "dns-tcp" }]), A_WEB, B_DNS, 53, "TCP"), true);
    assert.equal(allowed(dnsPolicy([{ port: "dns-tcp" }]), A_WEB, B_DNS, 54, "TCP"), false);
    assert.equal(allowed(dnsPolicy([{ port: "metrics" }]), A_WEB, B_DNS, 53, "TCP"), false, "the pod has no port of that name");
  });
});

describe("reading objects", () => {
  it("ignores other kinds and reports peers it cannot evaluate", () => {
    const objs: KubeObject[] = [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "a" } }, np("a", "odd", { podSelector: {}, ingress: [{ from: [{}, { ipBlock: { cidr: "::/0" } }] }] })];
    const { policies, problems } = parsePolicies(objs);
    assert.equal(policies.length, 1);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /NetworkPolicy\/a\/odd spec\.ingress\[0\]\.from\[0\]: names no podSelector/);
    assert.match(problems[1]!, /not an IPv4 CIDR/);
    assert.equal(allowed(objs, B_WEB, A_WEB, 80), false, "neither peer matches an IPv4 pod");
  });
});

describe("cidrContains", () => {
  it("handles prefix lengths from 0 to 32", () => {
    assert.equal(cidrContains("0.0.0.0/0", "203.0.113.10"), true);
    assert.equal(cidrContains("172.16.0.0/12", "172.31.255.255"), true);
    assert.equal(cidrContains("172.16.0.0/12", "172.32.0.0"), false);
    assert.equal(cidrContains("192.168.7.21/32", "192.168.7.21"), true);
    assert.equal(cidrContains("192.168.7.21/32", "192.168.7.22"), false);
    assert.equal(cidrContains("fd00::/8", "10.0.0.1"), undefined);
  });
});
