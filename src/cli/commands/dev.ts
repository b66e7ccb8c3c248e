import { EXIT } from "../../core/errors.js";

export interface DevUpOptions {
  keep?: boolean;
  flux?: boolean;
  charts?: boolean;
  push?: boolean;
}

/**
 * `bk dev up`: a local control plane (etcd, kube-apiserver with Pod Security, controller-manager,
 * scheduler, KWOK node, the four Flux controllers, a Git server and a Helm repository) on loopback,
 * in the foreground until Ctrl-C, which stops every process it started (that is `bk dev down`).
 */
export async function devUpCommand(root: string, opts: DevUpOptions): Promise<number> {
  const { up } = await import("../../devcluster/index.js");
  const cluster = await up({ keep: Boolean(opts.keep), flux: opts.flux !== false, chartRepo: opts.charts !== false, onProgress: (l) => process.stderr.write(`bk dev: ${l}\n`) });
  if (opts.push && cluster.charts) await cluster.charts.pushChart(`${root}/charts/app`);
  process.stdout.write(`export KUBECONFIG=${cluster.kubeconfig}\n`);
  if (cluster.git) process.stdout.write(`# git server: ${cluster.git.url("fleet")} (push with: git push ${cluster.git.root}/fleet.git main)\n`);
  if (cluster.charts) process.stdout.write(`# chart repository: ${cluster.charts.url}\n`);
  process.stdout.write(`# logs: ${cluster.logsDir}; Ctrl-C stops everything\n`);
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (crashed: boolean) => {
      if (stopping) return;
      stopping = true;
      clearInterval(watch);
      // After a crash the logs are the only evidence: keep them.
      await cluster.down({ keep: crashed || Boolean(opts.keep) });
      process.stderr.write(`bk dev: stopped${crashed || opts.keep ? `; workdir kept at ${cluster.workdir}` : ""}\n`);
      resolve(crashed ? EXIT.failed : EXIT.ok);
    };
    process.on("SIGINT", () => void stop(false));
    process.on("SIGTERM", () => void stop(false));
    const watch = setInterval(() => {
      try {
        cluster.assertAlive();
      } catch (err) {
        process.stderr.write(`bk dev: ${(err as Error).message}\n`);
        void stop(true);
      }
    }, 5000);
  });
}
