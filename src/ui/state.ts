/**
 * One state per component and Flux object, as the page shows it: a word, a glyph and a colour together, so
 * colour is never the only signal. Computed here, on the server, for the first render and for every
 * change the watch pushes, so the page's script only applies it.
 */
import type { FluxItem } from "../workflows/status.js";
import type { ComponentState } from "../workflows/ui-snapshot.js";

export type Tone = "ok" | "warn" | "fail" | "unknown";

export interface Shown {
  tone: Tone;
  label: string;
  detail: string;
}

export const GLYPH: Record<Tone, string> = { ok: "✓", warn: "!", fail: "✗", unknown: "?" };

export function fluxShown(f: Pick<FluxItem, "ready" | "reason" | "message" | "suspended" | "static">): Shown {
  if (f.suspended) return { tone: "warn", label: "Suspended", detail: "Flux does not reconcile it until resumed" };
  if (f.static) return { tone: "ok", label: "Static", detail: "an OCI repository: Flux keeps no status for it" };
  const detail = [f.reason, f.message].filter(Boolean).join(": ");
  if (f.ready === "True") return { tone: "ok", label: "Ready", detail };
  if (f.ready === "False") return { tone: "fail", label: "Failed", detail };
  return { tone: "warn", label: "Reconciling", detail };
}

export function componentShown(c: ComponentState): Shown {
  if (c.ready === "unknown") return { tone: "unknown", label: "Unknown", detail: "not connected to a cluster" };
  if (c.ready === "absent") return { tone: "warn", label: "Not deployed", detail: `no HelmRelease ${c.helmRelease.namespace}/${c.helmRelease.name} in the cluster` };
  const f = fluxShown({ ready: c.ready, ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}), ...(c.suspended ? { suspended: true } : {}) });
  if (f.tone === "ok" && c.version === "differs") return { tone: "warn", label: "Ready, other version", detail: `runs ${c.running?.join(", ")}; the tree says ${c.tree}` };
  if (f.tone === "ok" && c.version === "absent") return { tone: "warn", label: "Ready, no Deployment", detail: "the HelmRelease is Ready but its Deployment is missing" };
  if (f.tone === "ok" && c.health && !c.health.ok) return { tone: "warn", label: "Ready, health failing", detail: `${c.health.url} answered ${c.health.status}` };
  return f;
}
