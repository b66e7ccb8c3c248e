/**
 * Which kubeconfig a command uses, decided before client-node is loaded: --kubeconfig, else the files in
 * $KUBECONFIG, else ~/.kube/config, as kubectl does. With none of them (and not inside a pod), client-node
 * would quietly talk to http://localhost:8080 and fail with a TLS message that blames the wrong thing.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { InputError, UnavailableError } from "../core/errors.js";

/** No kubeconfig anywhere a command looks (exit 3): the message names every place looked at. */
export class NoClusterConfigured extends UnavailableError {}

export type KubeconfigChoice = { kind: "file"; file: string } | { kind: "default" };

/** The kubeconfig to load, or why there is none. `env` and `home` are the process's unless a test gives them. */
export function chooseKubeconfig(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): KubeconfigChoice {
  if (flag) {
    if (!existsSync(flag)) throw new InputError(`--kubeconfig ${flag}: no such file`);
    return { kind: "file", file: flag };
  }
  const listed = (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
  // client-node merges the files of $KUBECONFIG itself, skipping those missing, as kubectl does.
  if (listed.some((f) => existsSync(f))) return { kind: "default" };
  const fallback = path.join(home, ".kube", "config");
  if (!listed.length && existsSync(fallback)) return { kind: "file", file: fallback };
  // Inside a pod the service account is the configuration.
  if (!listed.length && env.KUBERNETES_SERVICE_HOST) return { kind: "default" };
  const looked = listed.length ? `$KUBECONFIG (${listed.join(path.delimiter)}: no such file${listed.length > 1 ? "s" : ""})` : `$KUBECONFIG (not set), ${fallback} (no such file)`;
  throw new NoClusterConfigured(
    `no cluster is configured: looked at --kubeconfig (not given), ${looked}\n  fix: pass --kubeconfig <file> (and --context <name>), or set KUBECONFIG; \`minikube start\` writes ~/.kube/config`,
  );
}
