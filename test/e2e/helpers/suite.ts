/**
 * What every control-plane suite needs around its tests: the cluster once before() brought it up,
 * steps whose failure keeps the evidence (the cluster's workdir and the tail of every process log),
 * and scratch folders removed at the end.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { DevCluster } from "../../../src/devcluster/index.js";

export interface ClusterSuite {
  /** The cluster; fails the calling test with a pointer to before() when it never came up. */
  cluster(): DevCluster;
  setCluster(cluster: DevCluster): void;
  /** A test that marks the suite failed when it throws, so teardown keeps the evidence. */
  step(name: string, timeoutMs: number, fn: () => Promise<void>): void;
  /** A fresh folder under the system temp dir, removed by teardown. */
  tempDir(prefix: string): Promise<string>;
  /** Registers a path for teardown to remove. */
  scratch(dir: string): void;
  /** For after(): scratch removed; the cluster stopped, or kept with its log tails (and `explain`'s text) after a failure. */
  teardown(explain?: () => Promise<string>): Promise<void>;
}

export function clusterSuite(): ClusterSuite {
  let current: DevCluster | undefined;
  let failed = false;
  const dirs: string[] = [];
  return {
    cluster() {
      if (!current) throw new Error("the dev cluster did not come up (see the before() failure above)");
      return current;
    },
    setCluster(cluster) {
      current = cluster;
    },
    step(name, timeoutMs, fn) {
      test(name, { timeout: timeoutMs }, async () => {
        try {
          await fn();
        } catch (err) {
          failed = true;
          throw err;
        }
      });
    },
    async tempDir(prefix) {
      const d = await mkdtemp(path.join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    scratch(dir) {
      dirs.push(dir);
    },
    async teardown(explain) {
      for (const d of dirs) await rm(d, { recursive: true, force: true });
      if (!current) return;
      if (failed) {
        if (explain) console.log(await explain().catch((e: Error) => `(could not collect the failure details: ${e.message})`));
        console.log(current.logTails(60));
        console.log(`# devcluster workdir kept for inspection: ${current.workdir}`);
        await current.down({ keep: true });
      } else {
        await current.down();
      }
    },
  };
}
