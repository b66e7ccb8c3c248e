/**
 * Bring the local dev cluster up and keep it until Ctrl-C (what `bk dev up` does, from source):
 *   npx tsx test/e2e/dev-up.ts [--keep] [--no-flux] [--charts]
 */
import { hasTool } from "../../src/adapters/tools.js";
import { up } from "../../src/devcluster/index.js";

const args = new Set(process.argv.slice(2));
const cluster = await up({
  keep: args.has("--keep"),
  flux: !args.has("--no-flux"),
  chartRepo: args.has("--charts") || hasTool("helm"),
  onProgress: (l) => console.error(`devcluster: ${l}`),
});
console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
console.log(`# kubectl: ${cluster.binaries.kubectl}`);
if (cluster.git) console.log(`# git server: ${cluster.git.baseUrl}/<repo>.git (fleet: ${cluster.git.url("fleet")})`);
if (cluster.charts) console.log(`# chart repo: ${cluster.charts.url}`);
if (cluster.flux) console.log(`# flux artifacts: ${cluster.flux.storageUrl}`);
console.log(`# logs: ${cluster.logsDir}; Ctrl-C stops everything`);

let stopping = false;
const stop = async (crashed = false) => {
  if (stopping) return;
  stopping = true;
  // After a crash the logs are the only evidence: keep them.
  const keep = crashed || args.has("--keep");
  await cluster.down({ keep });
  console.error(keep ? `devcluster: stopped; workdir kept at ${cluster.workdir}` : "devcluster: stopped");
  process.exit(crashed ? 1 : 0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
// Keep the event loop alive: the cluster's children are unref'd.
setInterval(() => {
  try {
    cluster.assertAlive();
  } catch (err) {
    console.error((err as Error).message);
    void stop(true);
  }
}, 5000);
