/** Differences between the tree the definition gives and the tree on disk, as a reviewer reads them. */
import { createTwoFilesPatch } from "diff";

export interface TreeDiff {
  added: string[];
  removed: string[];
  changed: string[];
  /** Unified diff of every change, ready to print. */
  patch: string;
}

export function diffTrees(current: ReadonlyMap<string, string>, wanted: ReadonlyMap<string, string>): TreeDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  let patch = "";
  const all = [...new Set([...current.keys(), ...wanted.keys()])].sort();
  for (const f of all) {
    const a = current.get(f);
    const b = wanted.get(f);
    if (a === b) continue;
    if (a === undefined) added.push(f);
    else if (b === undefined) removed.push(f);
    else changed.push(f);
    patch += createTwoFilesPatch(a === undefined ? "/dev/null" : `a/${f}`, b === undefined ? "/dev/null" : `b/${f}`, a ?? "", b ?? "", "", "", { context: 3 });
  }
  return { added, removed, changed, patch };
}

export function isClean(d: TreeDiff): boolean {
  return d.added.length + d.removed.length + d.changed.length === 0;
}
