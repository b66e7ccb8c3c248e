/**
 * What `flux bootstrap` leaves behind, pointed at the local git server: a GitRepository for the repo and a
 * Kustomization applying one path of it. Lets a test sync any tree (e.g. a generated clusters/minikube) without
 * editing the tree's own GitRepository URL.
 */
import { stringify } from "yaml";
import { FLUX_NAMESPACE } from "../core/well-known.js";

export interface SyncGitOptions {
  /** Path inside the repo to apply, e.g. "./clusters/minikube". */
  path: string;
  /** Repository on the local git server. Default "fleet". */
  repo?: string;
  branch?: string;
  /** Name of both objects. Default "flux-system", as flux bootstrap names them. */
  name?: string;
  namespace?: string;
  /** Reconcile interval. Default "10m": tests drive reconciliation with reconcileNow. */
  interval?: string;
  prune?: boolean;
  /** Kustomization health-checks what it applied (spec.wait). Default true. */
  wait?: boolean;
  /** Kustomization spec.timeout. Default "3m". */
  timeout?: string;
}

export function syncManifests(gitUrl: string, o: SyncGitOptions): string {
  const name = o.name ?? FLUX_NAMESPACE;
  const namespace = o.namespace ?? FLUX_NAMESPACE;
  const interval = o.interval ?? "10m";
  return [
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name, namespace },
      spec: { url: gitUrl, interval, ref: { branch: o.branch ?? "main" } },
    },
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name, namespace },
      spec: {
        interval,
        path: o.path,
        prune: o.prune ?? true,
        wait: o.wait ?? true,
        timeout: o.timeout ?? "3m",
        sourceRef: { kind: "GitRepository", name },
      },
    },
  ]
    .map((d) => stringify(d))
    .join("---\n");
}
