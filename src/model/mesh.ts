/**
 * The service mesh across the application services (issue 19, item 2): its definition block, the Model it becomes,
 * and the identities the mesh knows workloads by. One module, so the mesh's fields live in one place.
 *
 * Sidecar mode, with Istio's CNI node agent instead of the privileged istio-init container, so the application
 * namespaces keep Pod Security restricted (docs/design.md, "The mesh"). The CNI agent's chart is not in the
 * upstream mirror, so the definition says so (`cni.chart: none`): the tree then generates every mesh policy but
 * labels no namespace for injection, because a sidecar without the CNI agent would need istio-init.
 */
import { z } from "zod";
import { dnsLabel } from "./names.js";
import type { ComponentModel, MeshModel, Workload } from "./model.js";

const cpu = z.string().regex(/^\d+(\.\d+)?m?$/, "a CPU quantity such as 20m or 1");
const memory = z.string().regex(/^\d+(Ki|Mi|Gi)$/, "a memory quantity such as 64Mi");
const Size = z.object({ cpu, memory }).strict();

/** Where the definition writes the mesh: `mesh:` in definition/infrastructure.yaml. */
export const MeshSchema = z
  .object({
    /** sidecar: an Envoy beside every application pod. Ambient (ztunnel + waypoints) is not built: docs/design.md says why. */
    mode: z.literal("sidecar"),
    /** Istio's trust domain: principals are <trustDomain>/ns/<namespace>/sa/<service account>. */
    trustDomain: z.string().regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, "a DNS-like name such as cluster.local"),
    cni: z
      .object({
        /** The charts: key of Istio's CNI node agent (chart `cni`), or none: not installed, so no sidecar is injected. */
        chart: z.string().min(1),
        /** Where the node agent runs: it needs host access, so a namespace that enforces privileged. */
        namespace: dnsLabel("mesh.cni.namespace"),
      })
      .strict(),
    /** Requests and limits of every injected sidecar (istiod's global.proxy.resources). */
    proxy: z.object({ requests: Size, limits: Size }).strict(),
  })
  .strict();

/** A component's optional `paths:`: the URL path prefixes it serves to the components that talk to it. */
export const ComponentPathsSchema = z.array(z.string().regex(/^\/[A-Za-z0-9/._~%!$&'()+,;=:@-]*$/, "an absolute URL path prefix such as /ffl/api")).min(1);

export type MeshDef = z.infer<typeof MeshSchema>;

export const NO_CHART = "none";

export function meshOf(def: MeshDef | undefined, appNamespaces: readonly string[]): MeshModel | undefined {
  if (!def) return undefined;
  const cni = def.cni.chart === NO_CHART ? undefined : { chart: def.cni.chart, namespace: def.cni.namespace };
  return { mode: def.mode, trustDomain: def.trustDomain, namespaces: [...new Set(appNamespaces)].sort(), ...(cni ? { cni } : {}), injection: cni !== undefined, proxy: def.proxy };
}

/** The SPIFFE-style principal Istio gives a workload running as `sa` in `ns`. */
export const principal = (trustDomain: string, ns: string, sa: string) => `${trustDomain}/ns/${ns}/sa/${sa}`;

/**
 * The ServiceAccounts a component's pods run as, as charts/app names them: the Deployment and CronJobs run as
 * bk-app.serviceAccountName (<app>-<component>: synth leaves serviceAccount.create at the chart's true), the
 * migration hook Job as its own <app>-<component>-migrate. `bk validate` (upstream/mesh-identities) checks these
 * against the rendered chart.
 */
export function componentServiceAccounts(c: Pick<ComponentModel, "fullname" | "migration">): { main: string; jobs: Record<string, string> } {
  return { main: c.fullname, jobs: c.migration ? { migrate: `${c.fullname}-migrate` } : {} };
}

/** Every principal a component's pods carry: its Deployment's, CronJobs' and migration Job's. */
export function componentPrincipals(trustDomain: string, c: Pick<ComponentModel, "fullname" | "migration" | "namespace">): string[] {
  const sa = componentServiceAccounts(c);
  return [sa.main, ...Object.values(sa.jobs)].map((x) => principal(trustDomain, c.namespace, x));
}

/** An infrastructure workload's principal, from the ServiceAccount its chart renders (upstream-facts). */
export function workloadPrincipal(trustDomain: string, w: Workload): string | undefined {
  return w.serviceAccount ? principal(trustDomain, w.namespace, w.serviceAccount) : undefined;
}

/** Istio's paths for a prefix: the prefix itself and everything below it. */
export function prefixPaths(prefixes: readonly string[]): string[] {
  return [...new Set(prefixes.flatMap((p) => (p === "/" ? ["/*"] : [p.replace(/\/$/, ""), `${p.replace(/\/$/, "")}/*`])))];
}

/** Istio's namespace label that turns sidecar injection on. */
export const INJECTION_LABEL = "istio-injection";

/** The injection label of an application namespace in the mesh: only with the CNI agent installed. */
export function meshNamespaceLabels(mesh: MeshModel | undefined, ns: string): Record<string, string> {
  return mesh?.injection && mesh.namespaces.includes(ns) ? { [INJECTION_LABEL]: "enabled" } : {};
}
