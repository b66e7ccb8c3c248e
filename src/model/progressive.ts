/**
 * Progressive delivery (issue 19, item 3): Flagger from its chart, and a canary a routed component may declare.
 * The definition's fields for it live here, in one place: `progressiveDelivery` in infrastructure.yaml and
 * `canary` on a component; schema.ts only hooks them in.
 */
import { z } from "zod";
import { dnsLabel } from "./names.js";

/** model.ts's ChartPinModel; restated so model.ts can import this module's types without a cycle. */
interface ChartPinModel {
  repository: string;
  chart: string;
  version: string;
}

/** The fields of a ComponentModel a canary depends on. */
interface CanaryComponent {
  id: string;
  app: string;
  name: string;
  route?: string | undefined;
  port?: number | undefined;
  health?: string | undefined;
  canary?: CanaryDef | undefined;
}

export const FLAGGER_API = "flagger.app/v1beta1";
/** The release (and so the Deployment and ServiceAccount) name the controllers layer installs Flagger under. */
export const FLAGGER_RELEASE = "flagger";
/** The labels Flagger's chart gives its pod (and selects it by), for NetworkPolicies and bk netpol. */
export const FLAGGER_LABELS = { "app.kubernetes.io/name": "flagger", "app.kubernetes.io/instance": FLAGGER_RELEASE } as const;

const DURATION = /^(\d+(ms|s|m|h))+$/;
const percent = z.number().min(1, "a weight is 1..100 percent").max(100, "a weight is 1..100 percent");

/**
 * How Flagger shifts traffic to a new version and when it gives up. Either `stepWeight` up to `maxWeight`, or the
 * explicit `stepWeights`. Each step lasts one `interval`; `threshold` failed checks roll the canary back.
 */
export const CanarySchema = z
  .object({
    interval: z.string().regex(DURATION, "must be a duration such as 30s or 1m").default("1m"),
    threshold: z.number().int().min(1, "at least one failed check before a rollback").max(100).default(5),
    stepWeight: percent.optional(),
    maxWeight: percent.optional(),
    stepWeights: z.array(percent).min(1).optional(),
    /** Flagger's built-in Istio/NGINX metrics, queried from the tree's Prometheus: the limits each analysis step checks. */
    metrics: z
      .object({
        /** Lowest share of non-5xx responses, in percent (Flagger's request-success-rate). */
        requestSuccessRate: z.number().min(0).max(100).default(99),
        /** Highest P99 request duration in milliseconds (Flagger's request-duration). */
        requestDurationMs: z.number().int().min(1).default(500),
        /** The window each query covers; Flagger's default is the analysis interval. */
        interval: z.string().regex(DURATION, "must be a duration such as 1m").default("1m"),
      })
      .strict()
      .default({ requestSuccessRate: 99, requestDurationMs: 500, interval: "1m" }),
    /**
     * The smoke test on the component's `health` URL, as a Flagger webhook run by Flagger's loadtester (a `cmd`
     * webhook: curl on the canary Service). `pre-rollout`: once, before any traffic moves; `rollout`: at every step.
     * `none`: no smoke test (the metrics alone decide).
     */
    smokeTest: z.enum(["pre-rollout", "rollout", "none"]).default("pre-rollout"),
  })
  .strict()
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string, fix: string) => ctx.addIssue({ code: "custom", path: [path], message, params: { fix }, input: c });
    if (c.stepWeights && (c.stepWeight !== undefined || c.maxWeight !== undefined))
      issue("stepWeights", "stepWeights and stepWeight/maxWeight both given: Flagger takes one way of stepping", "keep either stepWeights: [10, 25, 50] or stepWeight: 10 with maxWeight: 50");
    if (!c.stepWeights && (c.stepWeight === undefined || c.maxWeight === undefined))
      issue("stepWeight", "a canary needs its steps: stepWeight and maxWeight, or stepWeights", "add stepWeight: 10 and maxWeight: 50 (or stepWeights: [10, 25, 50])");
    if (c.stepWeight !== undefined && c.maxWeight !== undefined && c.stepWeight > c.maxWeight)
      issue("stepWeight", `stepWeight ${c.stepWeight} is above maxWeight ${c.maxWeight}: the first step would pass the limit`, "make stepWeight at most maxWeight");
    if (c.stepWeights?.some((w, i, a) => i > 0 && w <= a[i - 1]!)) issue("stepWeights", "stepWeights must rise step by step", "list rising weights such as [10, 25, 50]");
  });

/** infrastructure.yaml `progressiveDelivery`: where Flagger runs and how its webhooks reach the loadtester. */
export const ProgressiveDeliverySchema = z
  .object({
    namespace: dnsLabel("progressiveDelivery.namespace"),
    chart: z.string(),
    /** Flagger's loadtester, which runs the smoke tests' commands; a canary with a smoke test needs it. */
    loadtester: z
      .string()
      .regex(/^https?:\/\/\S+$/, "must be the loadtester's http:// URL, such as http://flagger-loadtester.istio-system/")
      .optional(),
  })
  .strict();

export type CanaryDef = z.infer<typeof CanarySchema>;
export type ProgressiveDeliveryDef = z.infer<typeof ProgressiveDeliverySchema>;

export interface ProgressiveDeliveryModel {
  namespace: string;
  chart: ChartPinModel;
  loadtester?: string;
}

export function progressiveDeliveryOf(def: ProgressiveDeliveryDef | undefined, charts: Record<string, ChartPinModel>): ProgressiveDeliveryModel | undefined {
  if (!def) return undefined;
  const chart = charts[def.chart];
  // An unknown chart key is reported by checkCanaries with its line; synthesis never sees the model then.
  return chart ? { namespace: def.namespace, chart, ...(def.loadtester ? { loadtester: def.loadtester } : {}) } : undefined;
}

type Path = ReadonlyArray<string | number>;
export interface CanaryProblem {
  /** undefined: infrastructure.yaml; otherwise the app whose file holds the component. */
  app?: string;
  path: Path;
  rule: string;
  message: string;
  fix: string;
}

/** What one entry alone cannot say: a canary needs a route to take over, Flagger installed, a health URL and the loadtester for its smoke test. */
export function canaryProblems(pd: ProgressiveDeliveryDef | undefined, charts: Record<string, unknown>, components: readonly CanaryComponent[]): CanaryProblem[] {
  const out: CanaryProblem[] = [];
  if (pd && !Object.hasOwn(charts, pd.chart))
    out.push({ path: ["progressiveDelivery", "chart"], rule: "definition/chart-unknown", message: `progressiveDelivery.chart '${pd.chart}' is not a key of charts`, fix: "add flagger under charts: and name it here" });
  for (const c of components) {
    const k = c.canary;
    if (!k) continue;
    const at = (p: Path, rule: string, message: string, fix: string) => out.push({ app: c.app, path: ["components", c.name, ...p], rule, message, fix });
    if (!c.route || !c.port) at(["canary"], "definition/canary-without-route", `${c.id} declares a canary but no route: Flagger shifts the traffic of a route`, "add 'route:' and 'port:', or remove 'canary:'");
    if (!pd)
      at(
        ["canary"],
        "definition/canary-without-flagger",
        `${c.id} declares a canary but infrastructure.yaml installs no Flagger`,
        "add progressiveDelivery: { namespace: istio-system, chart: flagger } to infrastructure.yaml",
      );
    if (k.smokeTest !== "none") {
      if (!c.health)
        at(["canary", "smokeTest"], "definition/canary-smoke-without-health", `${c.id}'s canary smoke test needs the component's health URL`, "add 'health:' (a path under the route), or set smokeTest: none");
      if (pd && !pd.loadtester)
        at(
          ["canary", "smokeTest"],
          "definition/canary-smoke-without-loadtester",
          `${c.id}'s canary smoke test runs on Flagger's loadtester, which progressiveDelivery does not name`,
          "set progressiveDelivery.loadtester to the loadtester's URL, or smokeTest: none",
        );
    }
  }
  return out;
}
