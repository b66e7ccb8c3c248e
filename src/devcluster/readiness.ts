/**
 * Whether a live object (as `kubectl get -o json` returns it) has reached its ready state, in the spirit of
 * kstatus: workloads by replica counts, everything else by its Ready (or Established) condition, always
 * only once the controller has observed the current generation.
 */

export interface Readiness {
  ready: boolean;
  /** Set when waiting longer cannot help (Flux's Stalled=True); the reason and message. */
  failed?: string;
  /** One line on what was seen, for timeout messages. */
  detail: string;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

type Obj = Record<string, unknown> & {
  kind?: string;
  metadata?: { generation?: number; name?: string; namespace?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };
};

const num = (v: unknown, dflt = 0): number => (typeof v === "number" ? v : dflt);

function condition(obj: Obj, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

function describe(c: Condition | undefined, type: string): string {
  if (!c) return `no ${type} condition yet`;
  return `${type}=${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message ? `: ${c.message}` : ""}`;
}

export interface ReadinessOptions {
  /** The reconcile.fluxcd.io/requestedAt token the controller must have handled (status.lastHandledReconcileAt). */
  requestedAt?: string;
}

export function readiness(obj: Obj, opts: ReadinessOptions = {}): Readiness {
  const kind = obj.kind ?? "";
  const generation = obj.metadata?.generation;
  const status = obj.status ?? {};
  const observed = status.observedGeneration;
  if (generation !== undefined && observed !== undefined && observed < generation) {
    return { ready: false, detail: `status.observedGeneration ${observed} < metadata.generation ${generation}` };
  }
  if (opts.requestedAt !== undefined && status["lastHandledReconcileAt"] !== opts.requestedAt) {
    return {
      ready: false,
      detail: `reconcile request ${opts.requestedAt} not handled yet (lastHandledReconcileAt=${String(status["lastHandledReconcileAt"] ?? "none")})`,
    };
  }

  switch (kind) {
    case "Deployment":
    case "StatefulSet": {
      if (observed === undefined) return { ready: false, detail: "no status.observedGeneration yet" };
      const want = num(obj.spec?.["replicas"], 1);
      const updated = num(status["updatedReplicas"]);
      const ready = num(status["readyReplicas"]);
      const available = kind === "Deployment" ? num(status["availableReplicas"]) : ready;
      const total = num(status["replicas"]);
      const ok = updated === want && ready === want && available === want && total === want;
      return { ready: ok, detail: `replicas want=${want} total=${total} updated=${updated} ready=${ready} available=${available}` };
    }
    case "DaemonSet": {
      if (observed === undefined) return { ready: false, detail: "no status.observedGeneration yet" };
      const want = num(status["desiredNumberScheduled"]);
      const ready = num(status["numberReady"]);
      const updated = num(status["updatedNumberScheduled"]);
      return { ready: want > 0 && ready === want && updated === want, detail: `desired=${want} ready=${ready} updated=${updated}` };
    }
    case "Namespace":
      return { ready: status["phase"] === "Active", detail: `phase=${String(status["phase"])}` };
    case "CustomResourceDefinition": {
      const c = condition(obj, "Established");
      return { ready: c?.status === "True", detail: describe(c, "Established") };
    }
    default: {
      const stalled = condition(obj, "Stalled");
      const c = condition(obj, "Ready");
      if (stalled?.status === "True") {
        return { ready: false, failed: describe(stalled, "Stalled"), detail: describe(stalled, "Stalled") };
      }
      if (c?.observedGeneration !== undefined && generation !== undefined && c.observedGeneration < generation) {
        return { ready: false, detail: `Ready condition is for generation ${c.observedGeneration}, object is at ${generation}` };
      }
      return { ready: c?.status === "True", detail: describe(c, "Ready") };
    }
  }
}
