/**
 * The node network and the LoadBalancer pool in the definition: every bad network definition is
 * refused at load with its exact message, rule, file, line and field.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { FindingsError, type Finding } from "../../src/core/finding.js";
import { loadDefinition } from "../../src/model/load.js";
import { REPO_ROOT, tempDefinition, type DefinitionDocs } from "../helpers/definition.js";

const CLUSTER = "definition/cluster.yaml";

function failures(edit: (d: DefinitionDocs) => void): { root: string; findings: Finding[] } {
  const root = tempDefinition(edit);
  try {
    loadDefinition(root);
  } catch (err) {
    assert.ok(err instanceof FindingsError, `expected FindingsError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    return { root, findings: err.findings };
  }
  assert.fail("the broken definition loaded without error");
}

function lineOf(root: string, needle: string): number {
  const lines = readFileSync(path.join(root, CLUSTER), "utf8").split("\n");
  const i = lines.findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in ${CLUSTER}`);
  return i + 1;
}

/** The one finding of `rule`, checked for file, field, line (the line holding `needle`) and exact message. */
function expectError(edit: (d: DefinitionDocs) => void, rule: string, field: string, needle: string, message: string): Finding {
  const { root, findings } = failures(edit);
  const hits = findings.filter((f) => f.rule === rule);
  assert.equal(hits.length, 1, `expected exactly one ${rule}, got: ${JSON.stringify(findings, null, 1)}`);
  const f = hits[0]!;
  assert.equal(f.severity, "error");
  assert.equal(f.file, CLUSTER);
  assert.equal(f.field, field);
  assert.equal(f.line, lineOf(root, needle));
  assert.equal(f.message, message);
  assert.ok(f.fix.length > 0);
  return f;
}

const setPool = (start: string, end: string) => (d: DefinitionDocs) => {
  d.cluster.setIn(["network", "loadBalancerPool", "start"], start);
  d.cluster.setIn(["network", "loadBalancerPool", "end"], end);
};
const setNode = (key: string, value: unknown) => (d: DefinitionDocs) => d.cluster.setIn(["network", "node", key], value);

describe("the node network in the real definition", () => {
  it("holds the pool inside the node subnet, clear of the node and the gateway", () => {
    const { model } = loadDefinition(REPO_ROOT);
    assert.deepEqual(model.network.node, { network: "beckerkube", subnet: "192.168.7.0/24", gateway: "192.168.7.1", ip: "192.168.7.2" });
    assert.deepEqual(model.network.loadBalancerPool, { name: "beckerkube-pool", start: "192.168.7.17", end: "192.168.7.21" });
  });
});

describe("bad node networks", () => {
  it("a pool outside the subnet (the incident: the node on 192.168.49.0/24, the pool on 192.168.7.x)", () => {
    const f = expectError(
      setNode("subnet", "192.168.49.0/24"),
      "definition/pool-outside-subnet",
      "network.loadBalancerPool.start",
      "start: 192.168.7.17",
      "the LoadBalancer pool 192.168.7.17-192.168.7.21 is not inside the node subnet 192.168.49.0/24: MetalLB answers for the pool on the node's network only, so nothing could reach these addresses",
    );
    assert.match(f.fix, /inside 192\.168\.49\.0\/24/);
  });

  it("a pool that runs past the end of the subnet", () => {
    expectError(
      setPool("192.168.7.250", "192.168.8.3"),
      "definition/pool-outside-subnet",
      "network.loadBalancerPool.end",
      "end: 192.168.8.3",
      "the LoadBalancer pool 192.168.7.250-192.168.8.3 is not inside the node subnet 192.168.7.0/24: MetalLB answers for the pool on the node's network only, so nothing could reach these addresses",
    );
  });

  it("a pool whose start is after its end", () => {
    const { findings } = failures(setPool("192.168.7.21", "192.168.7.17"));
    const f = findings.find((x) => x.rule === "definition/pool-range");
    assert.equal(f?.message, "pool start 192.168.7.21 is after its end 192.168.7.17");
    assert.equal(f?.field, "network.loadBalancerPool");
    // No overlap reports on an inverted pool: one error, the one to fix.
    assert.deepEqual(
      findings.filter((x) => x.file === CLUSTER).map((x) => x.rule),
      ["definition/pool-range"],
    );
  });

  it("a pool that holds the node's address", () => {
    expectError(
      setPool("192.168.7.2", "192.168.7.21"),
      "definition/pool-overlaps-node",
      "network.loadBalancerPool.start",
      "start: 192.168.7.2",
      "the LoadBalancer pool 192.168.7.2-192.168.7.21 includes 192.168.7.2, the node address (network.node.ip)",
    );
  });

  it("a pool that holds the gateway", () => {
    expectError(
      setPool("192.168.7.1", "192.168.7.1"),
      "definition/pool-overlaps-gateway",
      "network.loadBalancerPool.start",
      "start: 192.168.7.1",
      "the LoadBalancer pool 192.168.7.1 includes 192.168.7.1, the gateway, the host's address on the bridge (network.node.gateway)",
    );
  });

  it("a pool that holds the network or broadcast address", () => {
    const { findings } = failures(setPool("192.168.7.0", "192.168.7.255"));
    const msgs = findings.filter((f) => f.rule === "definition/pool-overlaps-network-address").map((f) => f.message);
    assert.deepEqual(msgs, [
      "the LoadBalancer pool 192.168.7.0-192.168.7.255 includes 192.168.7.0, the network address of the subnet",
      "the LoadBalancer pool 192.168.7.0-192.168.7.255 includes 192.168.7.255, the broadcast address of the subnet",
    ]);
  });

  it("a pool inside the DHCP range", () => {
    expectError(
      setNode("dhcpRange", { start: "192.168.7.10", end: "192.168.7.99" }),
      "definition/pool-overlaps-dhcp",
      "network.loadBalancerPool.start",
      "start: 192.168.7.17",
      "the LoadBalancer pool 192.168.7.17-192.168.7.21 includes the DHCP range 192.168.7.10-192.168.7.99 (network.node.dhcpRange)",
    );
  });

  it("a DHCP range clear of the pool loads", () => {
    const root = tempDefinition(setNode("dhcpRange", { start: "192.168.7.100", end: "192.168.7.199" }));
    assert.deepEqual(loadDefinition(root).model.network.node.dhcpRange, { start: "192.168.7.100", end: "192.168.7.199" });
  });

  it("an inverted DHCP range", () => {
    expectError(
      setNode("dhcpRange", { start: "192.168.7.199", end: "192.168.7.100" }),
      "definition/dhcp-range",
      "network.node.dhcpRange.start",
      "start: 192.168.7.199",
      "DHCP range start 192.168.7.199 is after its end 192.168.7.100",
    );
  });

  it("a DHCP range outside the subnet", () => {
    expectError(
      setNode("dhcpRange", { start: "192.168.1.100", end: "192.168.1.199" }),
      "definition/dhcp-outside-subnet",
      "network.node.dhcpRange.start",
      "start: 192.168.1.100",
      "the DHCP range 192.168.1.100-192.168.1.199 is not inside the node subnet 192.168.7.0/24",
    );
  });

  it("a node address inside the DHCP range", () => {
    expectError(
      setNode("dhcpRange", { start: "192.168.7.2", end: "192.168.7.9" }),
      "definition/node-ip-in-dhcp",
      "network.node.ip",
      "ip: 192.168.7.2",
      "the node address 192.168.7.2 is inside the DHCP range 192.168.7.2-192.168.7.9: the DHCP server may hand it to another machine",
    );
  });

  it("a node address outside the subnet", () => {
    expectError(setNode("ip", "192.168.8.2"), "definition/node-ip-outside-subnet", "network.node.ip", "ip: 192.168.8.2", "the node address 192.168.8.2 is outside the node subnet 192.168.7.0/24");
  });

  it("a gateway outside the subnet", () => {
    expectError(setNode("gateway", "192.168.1.1"), "definition/gateway-outside-subnet", "network.node.gateway", "gateway: 192.168.1.1", "the gateway 192.168.1.1 is outside the node subnet 192.168.7.0/24");
  });

  it("a gateway on the network address", () => {
    expectError(setNode("gateway", "192.168.7.0"), "definition/gateway-outside-subnet", "network.node.gateway", "gateway: 192.168.7.0", "the gateway 192.168.7.0 is the network address of 192.168.7.0/24");
  });

  it("a gateway on the node's address", () => {
    expectError(
      setNode("gateway", "192.168.7.2"),
      "definition/gateway-is-node",
      "network.node.gateway",
      "gateway: 192.168.7.2",
      "the gateway 192.168.7.2 is the node's address; the gateway is the host's own address on the bridge",
    );
  });

  it("a driver that cannot pin the node's address", () => {
    expectError(
      (d) => d.cluster.setIn(["cluster", "profile", "driver"], "kvm2"),
      "definition/node-network-driver",
      "cluster.profile.driver",
      "driver: kvm2",
      "driver kvm2 cannot pin the node's network: minikube's --static-ip works with the docker and podman drivers only, so the node and the pool could land anywhere",
    );
  });

  it("a service's pinned address outside the pool", () => {
    const { findings } = failures((d) => d.infra.setIn(["istio", "loadBalancer", "ip"], "192.168.7.40"));
    const f = findings.find((x) => x.rule === "definition/ip-outside-pool");
    assert.equal(f?.file, "definition/infrastructure.yaml");
    assert.equal(f?.field, "istio.loadBalancer.ip");
    assert.equal(f?.message, "Istio Gateway IP 192.168.7.40 is outside the LoadBalancer pool 192.168.7.17-192.168.7.21");
  });
});

describe("bad node network fields (schema)", () => {
  const schemaError = (edit: (d: DefinitionDocs) => void, field: string, needle: string, message: string): void => {
    expectError(edit, "definition/schema", field, needle, message);
  };

  it("a subnet that is not CIDR", () => schemaError(setNode("subnet", "192.168.7.0"), "network.node.subnet", "subnet: 192.168.7.0", "'192.168.7.0' is not an IPv4 network in CIDR form"));
  it("a subnet with host bits set", () => schemaError(setNode("subnet", "192.168.7.5/24"), "network.node.subnet", "subnet: 192.168.7.5/24", "'192.168.7.5/24' has host bits set: the network is 192.168.7.0/24"));
  it("a subnet too small for a gateway, a node and a pool", () =>
    schemaError(setNode("subnet", "192.168.7.0/31"), "network.node.subnet", "subnet: 192.168.7.0/31", "'192.168.7.0/31': a node network is /8 to /30 (a /31 or /32 has no room for a gateway, a node and a pool)"));
  it("a public subnet", () => schemaError(setNode("subnet", "8.8.8.0/24"), "network.node.subnet", "subnet: 8.8.8.0/24", "'8.8.8.0/24' is not a private range; a bridge on it would hide real addresses from this host"));
  it("a node address minikube --static-ip refuses (last octet)", () =>
    schemaError(setNode("ip", "192.168.7.255"), "network.node.ip", "ip: 192.168.7.255", "192.168.7.255 ends in .255; minikube --static-ip takes a last octet of 2 to 254"));
  it("a public node address", () => schemaError(setNode("ip", "8.8.8.8"), "network.node.ip", "ip: 8.8.8.8", "8.8.8.8 is not a private address, which minikube --static-ip refuses"));
  it("a network name too long for a bridge interface", () =>
    schemaError(setNode("network", "beckerkube-network"), "network.node.network", "network: beckerkube-network", "the network name is also its bridge interface name, which Linux caps at 15 characters"));
  it("a missing node network", () => {
    const { findings } = failures((d) => d.cluster.deleteIn(["network", "node"]));
    const f = findings.find((x) => x.rule === "definition/schema" && x.field === "network.node");
    assert.ok(f, JSON.stringify(findings));
  });
});
