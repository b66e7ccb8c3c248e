/**
 * apps/: one folder per application: its namespace and one HelmRelease per component, all
 * rendered by the one application chart (charts/app) served from ChartMuseum.
 */
import type { IHelmRelease } from "@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2/HelmRelease";
import { createHash } from "node:crypto";
import type { KubeObject, PlacedObject } from "../core/object.js";
import { dbSecretName, type ComponentModel, type Model } from "../model/model.js";
import { MANAGED_BY, namespace, obj, place } from "./builders.js";
import { APPS } from "../model/layout.js";
import { routeHandedToFlagger } from "./progressive.js";
import { APP_CHART_REPOSITORY, FLUX_NAMESPACE } from "../core/well-known.js";

/** Helm's default is 5m; a release whose migration hook may run longer must wait longer (incident 5). */
export function releaseTimeout(c: ComponentModel): string {
  if (!c.migration) return "10m";
  return `${Math.ceil(c.migration.deadlineSeconds / 60) + 5}m`;
}

const envName = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]+/g, "_");

/** The values contract of charts/app (see charts/app/values.yaml). */
export function componentValues(m: Model, c: ComponentModel): Record<string, unknown> {
  const d = c;
  const env: Record<string, string> = {};
  const secretEnv: Array<{ name: string; secret: string; key: string }> = [];
  // Where each dependency lives, so no address is written by hand in values (incident 1).
  for (const e of c.edges) {
    if (e.to.kind !== "component") continue;
    const target = m.components.find((x) => x.id === (e.to as { id: string }).id);
    if (!target?.serviceHost) continue;
    const prefix = target.app === c.app ? envName(target.name) : envName(`${target.app}_${target.name}`);
    env[`${prefix}_HOST`] = target.serviceHost;
    env[`${prefix}_PORT`] = String(target.servicePort);
  }
  if (d.database) {
    const db = m.postgres.databases.find((x) => x.name === d.database)!;
    env.DATABASE_HOST = m.postgres.host;
    env.DATABASE_PORT = String(m.postgres.port);
    env.DATABASE_NAME = db.name;
    env.DATABASE_USER = db.owner;
    secretEnv.push({ name: "DATABASE_PASSWORD", secret: dbSecretName(db.name), key: "password" });
  }
  Object.assign(env, d.env);
  secretEnv.push(...d.secretEnv);
  const probe = (p: { path: string } | { exec: string[] }) => ("path" in p ? { path: p.path } : { exec: p.exec });
  const routeKind = m.network.routes === "gateway-api" ? "httproute" : "ingress";
  const values: Record<string, unknown> = {
    app: c.app,
    component: c.name,
    image: { repository: c.image.repository, tag: c.image.tag },
    replicas: d.replicas,
    // 0, not null: Helm drops null values, and the chart reads 0 as "no HTTP port"
    port: d.port ?? 0,
    ...(d.port ? { service: { port: c.servicePort } } : {}),
    ...(d.command ? { command: d.command } : {}),
    ...(d.args ? { args: d.args } : {}),
    env: sortKeys(env),
    secretEnv: secretEnv.sort((a, b) => a.name.localeCompare(b.name)),
    secretFiles: d.secretFiles,
    ...(d.probes ? { probes: { liveness: probe(d.probes.liveness), readiness: probe(d.probes.readiness) } } : {}),
    // The definition's default where the component names none, so no size comes from the chart's values.
    resources: d.resources ?? m.resources.default,
    metrics: d.metrics ? { enabled: true, port: d.metrics.port, path: d.metrics.path } : { enabled: false },
    // A canary on the Istio gateway: Flagger writes the VirtualService, so the chart renders no HTTPRoute.
    route:
      d.route && !routeHandedToFlagger(m, c)
        ? {
            enabled: true,
            kind: routeKind,
            path: d.route,
            ingress: { className: m.ingressNginx.className },
            gateway: { name: m.istio.gatewayName, namespace: m.istio.gatewayNamespace },
          }
        : { enabled: false },
    pdb: { enabled: d.pdb },
    ...(d.topologySpread ? { topologySpread: { enabled: true } } : {}),
    migration: d.migration ? { enabled: true, command: d.migration.command, activeDeadlineSeconds: d.migration.deadlineSeconds } : { enabled: false },
    cronJobs: d.cronJobs,
    persistence: d.persistence ? { enabled: true, size: d.persistence.size, mountPath: d.persistence.mountPath, storageClass: m.storageClass } : { enabled: false },
  };
  return values;
}

type Segments = ReadonlyArray<string | number>;

/** Values that are a definition field of the component under the same name (and the same shape below it). */
const SAME_NAME = new Set(["replicas", "port", "command", "args", "secretFiles", "probes", "resources", "cronJobs"]);

/**
 * Where a value of componentValues() was written in the definition: its path under `components.<name>` of the
 * application file, or undefined for a value synthesis derives (hosts, ports of dependencies, labels). This is
 * the inverse of componentValues for what an operator edits, so a finding on a generated HelmRelease can name
 * the line to change.
 */
export function componentValueOrigin(c: ComponentModel, p: Segments): Segments | undefined {
  const [head, next] = p;
  if (head === undefined) return undefined;
  if (head === "image") return next === "tag" ? ["tag"] : undefined;
  // Only the keys the operator wrote: the others (DATABASE_HOST, <DEP>_PORT) are derived.
  if (head === "env") return typeof next === "string" && Object.hasOwn(c.env, next) ? ["env", next] : next === undefined ? ["env"] : undefined;
  if (head === "migration" && c.migration) return next === "activeDeadlineSeconds" ? ["migration", "deadlineSeconds"] : next === "command" ? ["migration", ...p.slice(1)] : ["migration"];
  if (head === "route" && c.route) return ["route"];
  if ((head === "metrics" && c.metrics) || (head === "persistence" && c.persistence)) return next === "enabled" || next === "storageClass" ? [head] : p;
  // Without its own resources the component takes infrastructure.yaml's resources.default: not a line of this file.
  if (head === "resources" && !c.resources) return undefined;
  if (SAME_NAME.has(String(head))) return p;
  return undefined;
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

export function componentRelease(m: Model, c: ComponentModel): IHelmRelease {
  const chart = { name: m.chartmuseum.appChart.name, version: m.apps.find((a) => a.name === c.app)!.chartVersion };
  return {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: {
      name: c.fullname,
      namespace: c.namespace,
      labels: { ...MANAGED_BY, "app.kubernetes.io/part-of": c.app, "app.kubernetes.io/component": c.name },
    },
    spec: {
      interval: "10m",
      chart: {
        spec: { chart: chart.name, version: chart.version, sourceRef: { kind: "HelmRepository", name: APP_CHART_REPOSITORY, namespace: FLUX_NAMESPACE }, interval: "1m" },
      },
      // Backends and caches first: a frontend must never start before its upstream exists (incident 8).
      ...(c.dependsOn.length
        ? {
            dependsOn: c.dependsOn.map((id) => {
              const t = m.components.find((x) => x.id === id)!;
              return t.namespace === c.namespace ? { name: t.fullname } : { name: t.fullname, namespace: t.namespace };
            }),
          }
        : {}),
      timeout: releaseTimeout(c),
      install: { remediation: { retries: 3 } },
      upgrade: { cleanupOnFail: true, remediation: { retries: 3, strategy: "rollback" } },
      values: componentValues(m, c),
    },
  };
}

/**
 * A digest of the sealed data of every secret a component reads. Helm only sees values, so
 * without it a resealed password would never restart the pods that hold the old one.
 */
export function secretsDigest(c: ComponentModel, sealed: readonly KubeObject[]): string | undefined {
  const parts = c.secretRefs.flatMap((name) => {
    const s = sealed.find((o) => o.kind === "SealedSecret" && o.metadata.namespace === c.namespace && o.metadata.name === name);
    return s ? [`${name}:${JSON.stringify((s.spec as { encryptedData?: unknown } | undefined)?.encryptedData ?? {})}`] : [];
  });
  return parts.length ? createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 16) : undefined;
}

export function synthApps(m: Model, sealed: readonly KubeObject[] = []): PlacedObject[] {
  const out: PlacedObject[] = [];
  for (const app of m.apps) {
    const ns = m.namespaces.find((n) => n.name === app.namespace)!;
    out.push(...place(`${APPS}/${app.name}/namespace.yaml`, namespace(m, ns)));
    for (const c of app.components) {
      const hr = componentRelease(m, c);
      const digest = secretsDigest(c, sealed);
      if (digest) (hr.spec!.values as Record<string, unknown>).podAnnotations = { "beckerkube.io/secrets-digest": digest };
      out.push(...place(`${APPS}/${app.name}/${c.name}.yaml`, obj(hr)));
    }
  }
  return out;
}
