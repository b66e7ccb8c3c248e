/**
 * Stand-ins for what a pod would do on a real node, where KWOK only marks pods Running. Each is a fake, named
 * here and in docs/e2e.md, and each records what it did so the report shows exactly where the harness stood in:
 *
 *  - Minikube's storage: the `standard` StorageClass and a loop that binds every Pending claim to a hostPath
 *    volume, as minikube's storage-provisioner (a pod) would.
 *  - Admission webhooks: every webhook configuration the charts install points at a Service whose pod serves
 *    nothing here (istiod's injector, cert-manager's, CloudNativePG's, ingress-nginx's, the Prometheus
 *    operator's), so the apiserver would refuse every object they watch. The loop records each configuration
 *    with the Service it calls and makes its webhooks advisory (failurePolicy Ignore).
 */
import type { KubeObject } from "../../../src/core/object.js";
import type { Kubectl } from "../../../src/devcluster/index.js";
import { list, volumeFor, yamlDocs } from "./tree.js";

export interface StandIn {
  /** What the stand-in did, one line each, in order. */
  lines: string[];
  stop(): Promise<void>;
}

interface Webhook {
  name: string;
  clientConfig?: { service?: { namespace?: string; name?: string; path?: string } };
}

const STORAGE_CLASS = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
  provisioner: "k8s.io/minikube-hostpath",
  reclaimPolicy: "Delete",
  volumeBindingMode: "Immediate",
};

function loop(every: number, tick: () => Promise<void>, lines: string[]): StandIn {
  let running = true;
  let last: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (!running) return;
    last = last.then(tick).catch((err: Error) => {
      lines.push(`error: ${err.message.split("\n")[0]}`);
    });
  }, every);
  return {
    lines,
    async stop() {
      running = false;
      clearInterval(timer);
      await last;
    },
  };
}

/** Minikube's default StorageClass and a binder for its claims. */
export async function minikubeStorage(k: Kubectl, apply: (manifest: string) => Promise<string>): Promise<StandIn> {
  await apply(yamlDocs(STORAGE_CLASS));
  const lines: string[] = [];
  const bound = new Set<string>();
  return loop(
    2000,
    async () => {
      for (const pvc of await list<KubeObject & { status?: { phase?: string } }>(k, "persistentvolumeclaims")) {
        const id = `${pvc.metadata.namespace}/${pvc.metadata.name}`;
        if (pvc.status?.phase !== "Pending" || bound.has(id)) continue;
        await apply(yamlDocs(volumeFor(pvc)));
        bound.add(id);
        lines.push(`volume for claim ${id} (${(pvc.spec as { resources?: { requests?: { storage?: string } } }).resources?.requests?.storage ?? "?"})`);
      }
    },
    lines,
  );
}

/**
 * Makes every admission webhook advisory (failurePolicy Ignore), recording each configuration once. The
 * configurations stay: Helm waits for them to exist, and removing them would also remove the evidence.
 */
export function webhookRelaxer(k: Kubectl): StandIn {
  const lines: string[] = [];
  return loop(
    1000,
    async () => {
      for (const kind of ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]) {
        for (const cfg of await list<KubeObject & { webhooks?: (Webhook & { failurePolicy?: string })[] }>(k, kind)) {
          const hooks = cfg.webhooks ?? [];
          const strict = hooks.flatMap((w, i) => (w.failurePolicy === "Ignore" ? [] : [i]));
          if (strict.length === 0) continue;
          const patch = strict.map((i) => ({ op: "add", path: `/webhooks/${i}/failurePolicy`, value: "Ignore" }));
          await k.run(["patch", kind, cfg.metadata.name, "--type=json", "-p", JSON.stringify(patch)]);
          const calls = strict.map((i) => `${hooks[i]!.name} -> ${hooks[i]!.clientConfig?.service ? `service ${hooks[i]!.clientConfig!.service!.namespace}/${hooks[i]!.clientConfig!.service!.name}` : "a URL"}`);
          lines.push(`${kind.replace("webhookconfigurations", "")} ${cfg.metadata.name}: failurePolicy Ignore for ${calls.join(", ")}`);
        }
      }
    },
    lines,
  );
}
