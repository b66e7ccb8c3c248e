/**
 * Observability: what Prometheus scrapes, the alerting rules, and the Grafana dashboards, all in
 * infrastructure/configs/monitoring/ (they need the CRDs and namespace the controllers layer installs).
 */
import type { PlacedObject } from "../../core/object.js";
import type { Model } from "../../model/model.js";
import { synthDashboards } from "./dashboards.js";
import { synthRules } from "./rules.js";
import { synthScraping } from "./scraping.js";

export function synthObservability(m: Model): PlacedObject[] {
  return [...synthScraping(m), ...synthRules(m), ...synthDashboards(m)];
}

export { monitoringValuesPatch, mergeValues, alertmanagerConfig, fluxStateMetricsValues, type AlertingDef } from "./values.js";
export { scrapeTargets, type ScrapeTarget } from "./scraping.js";
export { allAlerts, alertGroups, runbookNames, runbookPath, SEVERITIES, type Severity } from "./rules.js";
