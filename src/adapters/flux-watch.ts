/**
 * Flux objects as they change, through the Kubernetes watch API (client-node's Watch): one long request per
 * kind instead of reading every object again and again. A watch the API server ends (it does, every few
 * minutes) or that fails is started again after a pause; the caller hears of failures to show them.
 */
import * as k8s from "@kubernetes/client-node";
import type { Kube } from "./kube.js";
import type { FluxObject } from "./flux.js";

/** The Flux kinds bk's page follows, by the list path the watch API serves. */
export const WATCHED_FLUX_KINDS: ReadonlyArray<{ apiVersion: string; kind: string; plural: string }> = [
  { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", plural: "gitrepositories" },
  { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "HelmRepository", plural: "helmrepositories" },
  { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", plural: "kustomizations" },
  { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", plural: "helmreleases" },
];

export type WatchPhase = "ADDED" | "MODIFIED" | "DELETED";

export interface FluxWatchHandlers {
  onChange: (phase: WatchPhase, kind: string, object: FluxObject) => void;
  /** A watch failed (it is retried); `undefined` once a watch of that kind runs again. */
  onError: (kind: string, error: Error | undefined) => void;
}

/** Watch every Flux kind until the returned function is called. */
export function watchFlux(kube: Kube, h: FluxWatchHandlers, retryMs = 3000): () => void {
  const watch = new k8s.Watch(kube.kc);
  const controllers = new Set<AbortController>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const start = (w: (typeof WATCHED_FLUX_KINDS)[number]) => {
    if (stopped) return;
    const [group, version] = w.apiVersion.split("/");
    const again = (err?: Error) => {
      if (stopped) return;
      if (err) h.onError(w.kind, err);
      const t = setTimeout(() => {
        timers.delete(t);
        start(w);
      }, retryMs);
      timers.add(t);
    };
    let ctl: AbortController | undefined;
    watch
      .watch(
        `/apis/${group}/${version}/${w.plural}`,
        { allowWatchBookmarks: true },
        (phase, obj) => {
          if (phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED") h.onChange(phase, w.kind, obj as FluxObject);
        },
        (err) => {
          if (ctl) controllers.delete(ctl);
          // An abort is ours (stop); an end without error is the server closing the watch: both restart unless stopped.
          again(err && !stopped ? (err instanceof Error ? err : new Error(String(err))) : undefined);
        },
      )
      .then(
        (c) => {
          ctl = c;
          if (stopped) c.abort();
          else {
            controllers.add(c);
            h.onError(w.kind, undefined);
          }
        },
        (err: unknown) => again(err instanceof Error ? err : new Error(String(err))),
      );
  };
  for (const w of WATCHED_FLUX_KINDS) start(w);
  return () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    for (const c of controllers) c.abort();
    controllers.clear();
  };
}
