/**
 * Names and ports fixed by upstream conventions or by BeckerKube's own layout, written once.
 * A value an operator may change belongs in the definition instead.
 */

/** Where Flux lives; `flux bootstrap` names its GitRepository and Kustomization after it too. */
export const FLUX_NAMESPACE = "flux-system";

/** The HelmRepository (our ChartMuseum) every application HelmRelease takes its chart from. */
export const APP_CHART_REPOSITORY = "bk-charts";

/** Loki's HTTP port (its push API and metrics), the chart's default. */
export const LOKI_PORT = 3100;

/** PostgreSQL's port inside the cluster (CloudNativePG's instances and their Services). */
export const POSTGRES_PORT = 5432;
