/**
 * Flux objects as they change, through the Kubernetes watch API (client-node's Watch): one long request per
 * kind instead of reading every object again and again. A watch the API server ends (it does, every few
 * seconds, by our request) resumes from the last version seen; one that fails is started again after a pause, and the
 * caller hears of the failure to show it.
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
  // Where each kind's watch resumes: the last resourceVersion seen, so a restart replays nothing.
  const resume = new Map<string, string | undefined>();
  const start = (w: (typeof WATCHED_FLUX_KINDS)[number]) => {
    if (stopped) return;
    const [group, version] = w.apiVersion.split("/");
    const again = (delayMs: number, err?: Error) => {
      if (stopped) return;
      if (err) h.onError(w.kind, err);
      const t = setTimeout(() => {
        timers.delete(t);
        start(w);
      }, delayMs);
      timers.add(t);
    };
    let ctl: AbortController | undefined;
    const rv = resume.get(w.kind);
    watch
      .watch(
        `/apis/${group}/${version}/${w.plural}`,
        // The server ends each watch before client-node's 30 s inactivity timeout would; bookmarks keep the version current.
        { allowWatchBookmarks: true, timeoutSeconds: 25, ...(rv ? { resourceVersion: rv } : {}) },
        (phase, obj) => {
          if (phase === "ERROR") {
            // 410 Gone: the version is too old to resume from; the next watch lists afresh.
            resume.delete(w.kind);
            return;
          }
          const v = (obj as FluxObject | undefined)?.metadata?.resourceVersion;
          if (v) resume.set(w.kind, v);
          if (phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED") h.onChange(phase, w.kind, obj as FluxObject);
        },
        (err) => {
          if (ctl) controllers.delete(ctl);
          if (stopped) return;
          // The server closing the watch (or client-node's inactivity timeout) is the normal end: go on at once.
          const normal = !err || (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"));
          if (normal) again(200);
          else again(retryMs, err instanceof Error ? err : new Error(String(err)));
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
        (err: unknown) => again(retryMs, err instanceof Error ? err : new Error(String(err))),
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
