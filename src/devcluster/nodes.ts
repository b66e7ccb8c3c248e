/** Several KWOK nodes of one shape, for what needs more than the default node (a multi-node profile, drains). */
import type { FakeNode } from "./controlplane.js";

/** `count` nodes named <prefix>-1 .. <prefix>-<count>, each labelled with its own zone so spreads can use either key. */
export function fakeNodes(count: number, prefix = "node", capacity?: FakeNode["capacity"]): FakeNode[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`a cluster needs at least one node, not ${count}`);
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${i + 1}`,
    labels: { "topology.kubernetes.io/zone": `${prefix}-zone-${i + 1}` },
    ...(capacity ? { capacity } : {}),
  }));
}
