/**
 * The four Flux controllers as local processes outside the cluster, each talking to the apiserver through
 * the admin kubeconfig (as cluster-admin, like their in-cluster service accounts). source-controller serves
 * artifacts on loopback; the others download from that address, and all send events to
 * notification-controller.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Binaries } from "./binaries.js";
import { freePorts, httpGet } from "./net.js";
import type { ProcessSet } from "./procs.js";
import { poll } from "./wait.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";

export const FLUX_CONTROLLERS = ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"] as const;
export type FluxController = (typeof FLUX_CONTROLLERS)[number];

export interface FluxEndpoints {
  /** Where source-controller serves artifacts (http://127.0.0.1:port). */
  storageUrl: string;
  /** notification-controller's event receiver (http://127.0.0.1:port). */
  eventsUrl: string;
  /** notification-controller's webhook receiver (http://127.0.0.1:port). */
  receiverUrl: string;
  /** Health probe base URL of each controller. */
  health: Record<FluxController, string>;
}

export async function startFlux(bin: Binaries, procs: ProcessSet, workdir: string, kubeconfig: string, timeoutMs: number): Promise<FluxEndpoints> {
  const [storage, events, receiver, ...rest] = await freePorts(3 + 2 * FLUX_CONTROLLERS.length);
  const storageDir = path.join(workdir, "flux", "source-storage");
  await mkdir(storageDir, { recursive: true });
  const eventsUrl = `http://127.0.0.1:${events}`;
  const health = {} as Record<FluxController, string>;
  const env = { KUBECONFIG: kubeconfig, RUNTIME_NAMESPACE: FLUX_NAMESPACE };

  FLUX_CONTROLLERS.forEach((name, i) => {
    const metricsPort = rest[2 * i];
    const healthPort = rest[2 * i + 1];
    health[name] = `http://127.0.0.1:${healthPort}`;
    const common = [`--metrics-addr=127.0.0.1:${metricsPort}`, `--health-addr=127.0.0.1:${healthPort}`, "--enable-leader-election=false", "--watch-all-namespaces=true", "--log-encoding=console", "--log-level=info"];
    const own: string[] =
      name === "source-controller"
        ? [`--storage-path=${storageDir}`, `--storage-addr=127.0.0.1:${storage}`, `--storage-adv-addr=127.0.0.1:${storage}`, `--events-addr=${eventsUrl}`]
        : name === "notification-controller"
          ? [`--events-addr=127.0.0.1:${events}`, `--receiverAddr=127.0.0.1:${receiver}`]
          : [`--events-addr=${eventsUrl}`];
    procs.start(name, bin[name], [...common, ...own], { env, cwd: workdir });
  });

  for (const name of FLUX_CONTROLLERS) {
    await poll(
      `${name} /readyz`,
      timeoutMs,
      async () => {
        try {
          const r = await httpGet(`${health[name]}/readyz`, undefined, 2000);
          return { done: r.status === 200, detail: `HTTP ${r.status} ${r.body.slice(0, 200)}` };
        } catch (err) {
          return { done: false, detail: (err as Error).message };
        }
      },
      { intervalMs: 300, abort: () => procs.assertAlive() },
    );
  }
  return { storageUrl: `http://127.0.0.1:${storage}`, eventsUrl, receiverUrl: `http://127.0.0.1:${receiver}`, health };
}
