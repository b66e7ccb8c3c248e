/**
 * The pods of the applications' components as charts/app labels them. The infrastructure pods
 * are in the Model (model/infra-workloads.ts); policies and `bk netpol` both read these.
 */
import type { ComponentModel, WorkloadPort } from "../model/model.js";

const tcp = (name: string, port: number): WorkloadPort => ({ name, port, protocol: "TCP" });

/**
 * The pods of one component as charts/app labels them (bk-app.labels: Deployment pods;
 * Jobs and CronJobs carry the same labels with their own app.kubernetes.io/name).
 */
export function componentPodLabels(c: ComponentModel, name = c.fullname): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/instance": c.fullname,
    "app.kubernetes.io/component": c.name,
    "app.kubernetes.io/part-of": c.app,
    "app.kubernetes.io/managed-by": "Helm",
  };
}

/**
 * What policies select a component by: part-of and component, so that the Deployment's pods,
 * the migration Job and the CronJobs of the component (which differ only in their name label)
 * all get the component's network access.
 */
export function componentSelector(c: ComponentModel): Record<string, string> {
  return { "app.kubernetes.io/part-of": c.app, "app.kubernetes.io/component": c.name };
}

/** The container ports of a component's main pod as charts/app renders them. */
export function componentPorts(c: ComponentModel): WorkloadPort[] {
  const out: WorkloadPort[] = [];
  if (c.port) out.push(tcp("http", c.port));
  if (c.metrics && c.metrics.port !== c.port) out.push(tcp("metrics", c.metrics.port));
  return out;
}

/** Extra pods a component runs besides its Deployment: the migration hook Job and its CronJobs. */
export function componentJobNames(c: ComponentModel): string[] {
  return [...(c.migration ? [`${c.fullname}-migrate`] : []), ...c.cronJobs.map((j) => `${c.fullname}-${j.name}`)];
}
