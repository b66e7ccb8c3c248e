/**
 * The live state behind the page: the latest snapshot, read again now and then and soon after a change; the
 * watch on the Flux objects, whose changes update the snapshot in place and go to every open page as
 * Server-Sent Events; the pages listening.
 */
import type { SSEStreamingApi } from "hono/streaming";
import { helmReleaseRef, objectEvents } from "../adapters/flux.js";
import { watchFlux } from "../adapters/flux-watch.js";
import type { Kube } from "../adapters/kube.js";
import { toFluxItem, type StatusObject } from "../workflows/status.js";
import { definitionParts, uiSnapshot, type UiConnection, type UiSnapshot } from "../workflows/ui-snapshot.js";
import { componentShown, fluxShown, GLYPH, type Shown } from "./state.js";

export interface LiveOptions {
  root: string;
  kube?: Kube;
  connection: UiConnection;
  ca?: string;
  healthBaseUrl?: string;
  refreshMs?: number;
  log: (line: string) => void;
}

/** Until the first read of the cluster finishes, the page is the definition with the live parts pending. */
function definitionOnly(root: string, connection: UiConnection): UiSnapshot {
  const parts = definitionParts(root);
  return {
    generatedAt: new Date().toISOString(),
    connection,
    definition: parts.definition,
    components: parts.model.components.map((c) => ({ id: c.id, helmRelease: { namespace: c.namespace, name: c.fullname }, tree: c.image.ref, version: "unknown", ready: "unknown" })),
    flux: [],
    certificates: { ok: true, certificates: [] },
    backups: [],
    netpol: parts.netpol,
    changes: parts.changes,
    patch: parts.patch,
  };
}

export class UiLive {
  snapshot: UiSnapshot;
  pending = true;
  private readonly clients = new Set<SSEStreamingApi>();
  private refreshing: Promise<void> | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;

  constructor(private readonly o: LiveOptions) {
    this.snapshot = definitionOnly(o.root, o.connection);
  }

  start(): void {
    const { kube, connection, log } = this.o;
    if (kube && connection.connected) {
      this.stopWatch = watchFlux(kube, {
        onChange: (phase, kind, obj) => void this.onFluxChange(phase, kind, obj as StatusObject),
        onError: (kind, err) => {
          if (!err) return;
          log(`watching ${kind}: ${err.message} (retrying)`);
          this.broadcast("activity", { text: `the watch on ${kind} failed: ${err.message}; retrying` });
        },
      });
    }
    void this.refresh();
    this.interval = setInterval(() => void this.refresh(), this.o.refreshMs ?? 60_000);
  }

  stop(): void {
    this.stopWatch?.();
    clearInterval(this.interval);
    clearTimeout(this.debounce);
    for (const s of this.clients) s.abort();
  }

  listen(stream: SSEStreamingApi): void {
    this.clients.add(stream);
    stream.onAbort(() => {
      this.clients.delete(stream);
    });
  }

  broadcast(event: string, data: unknown): void {
    for (const s of this.clients) void s.writeSSE({ event, data: JSON.stringify(data) }).catch(() => this.clients.delete(s));
  }

  /** Read everything again (one read at a time; callers during a read share it). */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const { root, kube, connection, ca, healthBaseUrl } = this.o;
      try {
        this.snapshot = await uiSnapshot({ root, ...(kube ? { kube } : {}), connection, ...(ca ? { ca } : {}), ...(healthBaseUrl ? { healthBaseUrl } : {}) });
        this.pending = false;
        this.broadcast("snapshot", { generatedAt: this.snapshot.generatedAt });
      } catch (err) {
        this.o.log(`reading the snapshot failed: ${(err as Error).message}`);
        this.broadcast("activity", { text: `reading the cluster failed: ${(err as Error).message}` });
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private refreshSoon(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.refresh(), 3000);
  }

  /** A watched Flux object changed: update the snapshot in place and push the state the page shows. */
  private async onFluxChange(phase: string, kind: string, obj: StatusObject): Promise<void> {
    const item = toFluxItem(kind, obj);
    const key = `${kind}/${item.namespace}/${item.name}`;
    const flux = this.snapshot.flux;
    const i = flux.findIndex((f) => `${f.kind}/${f.namespace}/${f.name}` === key);
    if (phase === "DELETED") {
      if (i >= 0) flux.splice(i, 1);
    } else if (i >= 0) flux[i] = item;
    else flux.push(item);
    const comp = kind === "HelmRelease" ? this.snapshot.components.find((c) => c.helmRelease.namespace === item.namespace && c.helmRelease.name === item.name) : undefined;
    let shown: Shown = phase === "DELETED" ? { tone: "fail", label: "Deleted", detail: "the object was deleted" } : fluxShown(item);
    if (comp && this.o.kube) {
      comp.ready = phase === "DELETED" ? "absent" : item.ready;
      for (const k of ["reason", "message"] as const) {
        if (item[k]) comp[k] = item[k];
        else delete comp[k];
      }
      if (item.suspended) comp.suspended = true;
      else delete comp.suspended;
      const ev = (await objectEvents(this.o.kube, helmReleaseRef(item.namespace, item.name), 1).catch(() => []))[0];
      if (ev) comp.lastEvent = ev;
      shown = componentShown(comp);
    }
    this.broadcast("flux", { key, phase, ...shown, glyph: GLYPH[shown.tone], suspended: Boolean(item.suspended), ...(comp ? { component: comp.id, lastEvent: comp.lastEvent ?? "" } : {}) });
    this.refreshSoon();
  }
}
