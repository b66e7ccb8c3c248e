/**
 * The node network and the LoadBalancer pool, checked together (incident 1: the pool sat on no
 * network the host could reach). MetalLB answers ARP for the pool on the node's interface, so the
 * pool must lie inside the node's subnet, and no address in it may be one something else uses.
 */
import { cidrContains, formatCidr, formatIPv4, parseCidr, parseIPv4, type Cidr } from "../core/ipv4.js";
import type { ClusterModel, NetworkModel } from "./model.js";
import type { Path, SourceFile } from "./source.js";

type Report = (s: SourceFile, p: Path, rule: string, message: string, fix: string) => void;

/** Drivers whose node address and network minikube lets us pin (--network, --static-ip). */
export const PINNABLE_DRIVERS: ReadonlyArray<ClusterModel["profile"]["driver"]> = ["docker", "podman"];

interface Range {
  lo: number;
  hi: number;
}

const overlaps = (a: Range, b: Range) => a.lo <= b.hi && b.lo <= a.hi;
const show = (r: Range) => (r.lo === r.hi ? formatIPv4(r.lo) : `${formatIPv4(r.lo)}-${formatIPv4(r.hi)}`);

export function checkNodeNetwork(network: NetworkModel, profile: ClusterModel["profile"], cluster: SourceFile, at: Report): void {
  const node = network.node;
  const base: Path = ["network", "node"];
  if (!PINNABLE_DRIVERS.includes(profile.driver))
    at(
      cluster,
      ["cluster", "profile", "driver"],
      "definition/node-network-driver",
      `driver ${profile.driver} cannot pin the node's network: minikube's --static-ip works with the docker and podman drivers only, so the node and the pool could land anywhere`,
      "use driver: docker (or podman)",
    );
  const subnet = parseCidr(node.subnet);
  const ip = parseIPv4(node.ip);
  const gateway = parseIPv4(node.gateway);
  const start = parseIPv4(network.loadBalancerPool.start);
  const end = parseIPv4(network.loadBalancerPool.end);
  // The schema reports malformed values; nothing here can be judged without them.
  if (!subnet || ip === undefined || gateway === undefined || start === undefined || end === undefined) return;
  const net = formatCidr(subnet);
  const special = (n: number): string | undefined => (n === subnet.network ? "the network address" : n === subnet.broadcast ? "the broadcast address" : undefined);
  const inside = (p: Path, n: number, what: string, rule: string, fix: string): boolean => {
    const why = !cidrContains(subnet, n) ? `is outside the node subnet ${net}` : special(n) ? `is ${special(n)} of ${net}` : undefined;
    if (why) at(cluster, p, rule, `${what} ${formatIPv4(n)} ${why}`, fix);
    return !why;
  };
  const usable = `an address from ${formatIPv4(subnet.network + 1)} to ${formatIPv4(subnet.broadcast - 1)}`;
  inside([...base, "ip"], ip, "the node address", "definition/node-ip-outside-subnet", `choose ${usable}`);
  inside([...base, "gateway"], gateway, "the gateway", "definition/gateway-outside-subnet", `choose ${usable}, usually the first (${formatIPv4(subnet.network + 1)})`);
  if (ip === gateway)
    at(
      cluster,
      [...base, "gateway"],
      "definition/gateway-is-node",
      `the gateway ${node.gateway} is the node's address; the gateway is the host's own address on the bridge`,
      `give the host another address, such as ${formatIPv4(subnet.network + 1)}`,
    );

  const pool: Range = { lo: start, hi: end };
  const poolPath: Path = ["network", "loadBalancerPool"];
  const poolFix = `move the pool to free addresses inside ${net} (${usable}) clear of the node, the gateway${node.dhcpRange ? " and the DHCP range" : ""}`;
  // An inverted pool is reported by the pool-range invariant; its overlaps are meaningless.
  if (start > end) return;
  if (!cidrContains(subnet, start) || !cidrContains(subnet, end)) {
    at(
      cluster,
      [...poolPath, cidrContains(subnet, start) ? "end" : "start"],
      "definition/pool-outside-subnet",
      `the LoadBalancer pool ${show(pool)} is not inside the node subnet ${net}: MetalLB answers for the pool on the node's network only, so nothing could reach these addresses`,
      poolFix,
    );
    return;
  }
  const taken: Array<[Range, string, string]> = [
    [{ lo: subnet.network, hi: subnet.network }, "the network address of the subnet", "definition/pool-overlaps-network-address"],
    [{ lo: subnet.broadcast, hi: subnet.broadcast }, "the broadcast address of the subnet", "definition/pool-overlaps-network-address"],
    [{ lo: ip, hi: ip }, "the node address (network.node.ip)", "definition/pool-overlaps-node"],
    [{ lo: gateway, hi: gateway }, "the gateway, the host's address on the bridge (network.node.gateway)", "definition/pool-overlaps-gateway"],
  ];
  const dhcp = checkDhcpRange(node, subnet, ip, cluster, at);
  if (dhcp) taken.push([dhcp, `the DHCP range ${show(dhcp)} (network.node.dhcpRange)`, "definition/pool-overlaps-dhcp"]);
  for (const [r, what, rule] of taken) {
    if (overlaps(pool, r)) at(cluster, [...poolPath, "start"], rule, `the LoadBalancer pool ${show(pool)} includes ${r.lo === r.hi ? `${formatIPv4(r.lo)}, ` : ""}${what}`, poolFix);
  }
}

/** The DHCP range when it is sound (ordered, inside the subnet), else undefined after reporting why. */
function checkDhcpRange(node: NetworkModel["node"], subnet: Cidr, ip: number, cluster: SourceFile, at: Report): Range | undefined {
  if (!node.dhcpRange) return undefined;
  const p: Path = ["network", "node", "dhcpRange"];
  const lo = parseIPv4(node.dhcpRange.start);
  const hi = parseIPv4(node.dhcpRange.end);
  if (lo === undefined || hi === undefined) return undefined;
  const net = formatCidr(subnet);
  if (lo > hi) {
    at(cluster, [...p, "start"], "definition/dhcp-range", `DHCP range start ${node.dhcpRange.start} is after its end ${node.dhcpRange.end}`, "swap start and end");
    return undefined;
  }
  if (!cidrContains(subnet, lo) || !cidrContains(subnet, hi)) {
    at(
      cluster,
      [...p, cidrContains(subnet, lo) ? "end" : "start"],
      "definition/dhcp-outside-subnet",
      `the DHCP range ${show({ lo, hi })} is not inside the node subnet ${net}`,
      `write the range the node network's DHCP server hands out, inside ${net}, or remove dhcpRange`,
    );
    return undefined;
  }
  if (ip >= lo && ip <= hi)
    at(
      cluster,
      ["network", "node", "ip"],
      "definition/node-ip-in-dhcp",
      `the node address ${node.ip} is inside the DHCP range ${show({ lo, hi })}: the DHCP server may hand it to another machine`,
      "give the node an address outside the DHCP range",
    );
  return { lo, hi };
}
