/**
 * From parsed definition files to the Model: normalization and derived values.
 * Cross-entry invariants are checked in invariants.ts on the result.
 */
import type { AppDef, ClusterDef, ComponentDef, ExceptionDef, InfraDef, LoadBalancerDef } from "./schema.js";
import {
  dbSecretName,
  roleSecretName,
  svcDns,
  toObjectName,
  type AppModel,
  type CertificateModel,
  type ComponentModel,
  type DatabaseModel,
  type DeclaredSecret,
  type EdgeModel,
  type EndpointModel,
  type Model,
  type NamespaceModel,
  type PostgresModel,
} from "./model.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";
import { parseImage } from "../core/image-ref.js";
import { infraWorkloads } from "./infra-workloads.js";
import { profilesOf } from "./profiles.js";
import { notificationSecrets, notificationsOf } from "./notifications.js";
import { INFRA_CONTAINER_NAMES } from "./infra-resources.js";
import { progressiveDeliveryOf } from "./progressive.js";
import { volumeBackupSecrets, volumeBackupsOf } from "./volume-backups.js";
import { meshOf } from "./mesh.js";

export interface ParsedDefinition {
  cluster: ClusterDef;
  infra: InfraDef;
  apps: Array<{ file: string; def: AppDef }>;
  exceptions: ExceptionDef[];
}

/** Service names of the infrastructure endpoints; fixed here so every consumer agrees. */
export const SERVICE_NAMES = {
  registry: "registry",
  chartmuseum: "chartmuseum",
  postgres: (clusterName: string) => `${clusterName}-lb`,
  ingress: "ingress-nginx-controller",
  gateway: (gatewayName: string) => gatewayName,
} as const;

const SERVING_ROLES = new Set(["backend", "cache"]);

export function buildModel(parsed: ParsedDefinition): Model {
  const { cluster: c, infra } = parsed;
  const domain = c.network.clusterDomain;
  const endpoints = endpointsOf(parsed);
  const registryEp = endpoints[0]!;
  const registry = `${registryEp.ip}:${registryEp.ports[0]!.port}`;
  const { apps, components, talksTo } = appsOf(parsed, registry, domain, infra.chartmuseum.appChart.version);
  const edges = linkComponents(components, talksTo);
  const byId = new Map(components.map((x) => [x.id, x]));
  const databases = databasesOf(infra, components);
  const notifications = notificationsOf(c, infra);
  const volumeBackups = volumeBackupsOf(infra, components);
  const mesh = meshOf(
    infra.mesh,
    apps.map((a) => a.namespace),
  );
  const progressiveDelivery = progressiveDeliveryOf(infra.progressiveDelivery, infra.charts);
  const secrets = [...declaredSecrets(parsed, databases, byId), ...notificationSecrets(notifications, infra.monitoring.namespace), ...volumeBackupSecrets(volumeBackups)].sort((a, b) =>
    (a.namespace + "/" + a.name).localeCompare(b.namespace + "/" + b.name),
  );
  const upstream = upstreamOf(infra, domain);
  const postgres = postgresOf(infra, endpoints, domain, databases);

  return {
    cluster: c.cluster,
    gitops: c.gitops,
    network: c.network,
    podSecurityVersion: c.podSecurity.version,
    storageClass: c.storage.className,
    namespaces: namespacesOf(parsed),
    charts: infra.charts,
    gatewayApi: infra.gatewayApi,
    ...upstream,
    ...(notifications ? { notifications } : {}),
    ...(volumeBackups ? { volumeBackups } : {}),
    ...(mesh ? { mesh } : {}),
    ...(progressiveDelivery ? { progressiveDelivery } : {}),
    endpoints,
    certificates: certificatesOf(endpoints),
    registry,
    postgres,
    resources: { default: infra.resources.default, components: Object.fromEntries(INFRA_CONTAINER_NAMES.map((k) => [k, infra.resources.components[k] ?? infra.resources.default])) as Model["resources"]["components"] },
    workloads: infraWorkloads({ ...upstream, postgres, endpoints }),
    apps,
    components,
    edges,
    secrets,
    exceptions: parsed.exceptions,
    profiles: profilesOf(c, infra.postgres.instances),
  };
}

/** The services the LAN reaches through their pinned LoadBalancer IPs, with every name they answer to. */
function endpointsOf({ cluster: c, infra }: ParsedDefinition): EndpointModel[] {
  const domain = c.network.clusterDomain;
  const host = (id: string) => c.network.hostnames[id] ?? [];
  const endpoint = (id: EndpointModel["id"], title: string, purpose: string, namespace: string, service: string, lb: LoadBalancerDef, caveat?: string): EndpointModel => ({
    id,
    title,
    purpose,
    namespace,
    service,
    ip: lb.ip,
    ports: lb.ports,
    hostnames: host(id),
    clusterDns: svcDns(service, namespace, domain),
    ...(caveat ? { caveat } : {}),
  });

  return [
    endpoint("registry", "Registry", "Container image registry", infra.registry.namespace, SERVICE_NAMES.registry, infra.registry.loadBalancer),
    endpoint("chartmuseum", "ChartMuseum", "Helm chart repository", infra.chartmuseum.namespace, SERVICE_NAMES.chartmuseum, infra.chartmuseum.loadBalancer),
    endpoint("postgres", "PostgreSQL", "Shared database", infra.postgres.namespace, SERVICE_NAMES.postgres(infra.postgres.clusterName), infra.postgres.loadBalancer),
    endpoint(
      "ingress",
      "ingress-nginx",
      "HTTP/HTTPS ingress",
      infra.ingressNginx.namespace,
      SERVICE_NAMES.ingress,
      infra.ingressNginx.loadBalancer,
      "retired upstream (no releases or CVE fixes since March 2026); pinned to its final release; set network.routes: gateway-api to move routes to the Istio gateway",
    ),
    endpoint("gateway", "Istio Gateway", "Service mesh ingress (Gateway API)", infra.istio.gatewayNamespace, SERVICE_NAMES.gateway(infra.istio.gatewayName), infra.istio.loadBalancer),
  ];
}

/**
 * The port an endpoint serves its certificate on: the registry and ChartMuseum serve TLS on their one port,
 * the ingress and the gateway on the port named https.
 */
function tlsPort(ep: EndpointModel): number | undefined {
  return (ep.id === "registry" || ep.id === "chartmuseum" ? ep.ports[0] : ep.ports.find((p) => p.name === "https"))?.port;
}

/** Served certificates: every name and IP a client may use to reach the endpoint (incident 3). */
function certificatesOf(endpoints: readonly EndpointModel[]): CertificateModel[] {
  return (["registry", "chartmuseum", "ingress", "gateway"] as const).map((id) => {
    const ep = endpoints.find((e) => e.id === id)!;
    return {
      name: `${id}-tls`,
      namespace: ep.namespace,
      secretName: `${id}-tls`,
      commonName: ep.hostnames[0] ?? ep.clusterDns[0]!,
      dnsNames: [...ep.hostnames, ...ep.clusterDns],
      ipAddresses: [ep.ip],
      endpoint: id,
      ...(tlsPort(ep) !== undefined ? { port: tlsPort(ep)! } : {}),
    };
  });
}

/** The declared namespaces, each told apart by whom it is for. */
function namespacesOf({ cluster: c, infra, apps }: ParsedDefinition): NamespaceModel[] {
  const appNamespaces = new Set(apps.map((a) => a.def.namespace));
  const infraNamespaces = new Set([
    infra.metallb.namespace,
    infra.certManager.namespace,
    infra.ingressNginx.namespace,
    infra.istio.namespace,
    infra.istio.gatewayNamespace,
    infra.registry.namespace,
    infra.chartmuseum.namespace,
    infra.postgres.namespace,
    infra.cloudnativePg.namespace,
    infra.monitoring.namespace,
    infra.logging.namespace,
    ...(infra.volumeBackups ? [infra.volumeBackups.namespace] : []),
  ]);
  return c.namespaces.map((n) => ({
    name: n.name,
    podSecurity: n.podSecurity,
    ...(n.why ? { why: n.why } : {}),
    kind: appNamespaces.has(n.name) ? "application" : infraNamespaces.has(n.name) ? "infrastructure" : "system",
  }));
}

/** The applications and their components; each component's talksTo is kept aside for linkComponents. */
function appsOf(parsed: ParsedDefinition, registry: string, domain: string, platformChartVersion: string): { apps: AppModel[]; components: ComponentModel[]; talksTo: Map<string, ComponentDef["talksTo"]> } {
  const apps: AppModel[] = [];
  const components: ComponentModel[] = [];
  const talksTo = new Map<string, ComponentDef["talksTo"]>();
  for (const { file, def } of parsed.apps) {
    const app: AppModel = {
      name: def.name,
      namespace: def.namespace,
      description: def.description,
      ...(def.sourceRepository ? { sourceRepository: def.sourceRepository } : {}),
      file,
      chartVersion: def.chartVersion ?? platformChartVersion,
      chartVersionFrom: def.chartVersion ? "app" : "platform",
      components: [],
    };
    for (const [name, cdef] of Object.entries(def.components)) {
      const comp = componentOf(def, name, cdef, registry, domain);
      talksTo.set(comp.id, cdef.talksTo);
      app.components.push(comp);
      components.push(comp);
    }
    apps.push(app);
  }
  return { apps, components, talksTo };
}

/**
 * Fills each component's edges and start order (dependsOn); returns every edge. Unresolved talksTo
 * entries stay as component edges to an id that does not exist, and invariants.ts reports them with
 * their file and line.
 */
function linkComponents(components: ComponentModel[], talksTo: ReadonlyMap<string, ComponentDef["talksTo"]>): EdgeModel[] {
  const edges: EdgeModel[] = [];
  for (const comp of components) {
    for (const t of talksTo.get(comp.id)!) {
      if (typeof t === "string") {
        const id = t.includes("/") ? t : `${comp.app}/${t}`;
        comp.edges.push({ from: comp.id, to: { kind: "component", id } });
      } else {
        const [h, p] = t.external.split(":");
        comp.edges.push({ from: comp.id, to: { kind: "external", host: h!, port: Number(p) } });
      }
    }
    if (comp.database) comp.edges.push({ from: comp.id, to: { kind: "database", name: comp.database } });
    edges.push(...comp.edges);
  }
  const byId = new Map(components.map((c) => [c.id, c]));
  for (const comp of components) {
    comp.dependsOn = comp.edges
      .flatMap((e) => (e.to.kind === "component" ? [e.to.id] : []))
      .filter((id) => {
        const target = byId.get(id);
        return target !== undefined && SERVING_ROLES.has(target.role) && id !== comp.id;
      })
      .sort();
  }
  return edges;
}

/** The declared databases with their object and secret names, and the components that use each. */
function databasesOf(infra: InfraDef, components: readonly ComponentModel[]): DatabaseModel[] {
  const usersOf = new Map<string, string[]>();
  for (const x of components) {
    if (!x.database) continue;
    const users = usersOf.get(x.database);
    if (users) users.push(x.id);
    else usersOf.set(x.database, [x.id]);
  }
  return infra.postgres.databases.map((d) => ({
    name: d.name,
    owner: d.owner,
    extensions: d.extensions,
    ...(d.purpose ? { purpose: d.purpose } : {}),
    objectName: toObjectName(d.name),
    roleSecret: roleSecretName(d.owner),
    usedBy: usersOf.get(d.name) ?? [],
  }));
}

/**
 * One component with its definition normalized: the image reference, the Service's DNS name and
 * secret references derived; talksTo becomes edges in buildModel, once every component exists.
 */
function componentOf(app: AppDef, name: string, cdef: ComponentDef, registry: string, domain: string): ComponentModel {
  const fullname = `${app.name}-${name}`;
  const repository = `${registry}/${app.name}/${name}`;
  const secretEnv = Object.entries(cdef.secretEnv).map(([env, ref]) => {
    const [secret, key] = ref.split("/") as [string, string];
    return { name: env, secret, key };
  });
  const secretRefs = new Set<string>();
  for (const e of secretEnv) secretRefs.add(e.secret);
  for (const f of cdef.secretFiles) secretRefs.add(f.secret);
  if (cdef.database) secretRefs.add(dbSecretName(cdef.database));
  return {
    id: `${app.name}/${name}`,
    app: app.name,
    name,
    fullname,
    namespace: app.namespace,
    role: cdef.role,
    description: cdef.description,
    optional: cdef.optional,
    replicas: cdef.replicas,
    port: cdef.port ?? undefined,
    command: cdef.command,
    args: cdef.args,
    env: cdef.env,
    secretEnv,
    secretFiles: cdef.secretFiles,
    probes: cdef.probes,
    resources: cdef.resources,
    metrics: cdef.metrics,
    route: cdef.route,
    ...(cdef.paths ? { paths: cdef.paths } : {}),
    health: cdef.health,
    database: cdef.database,
    migration: cdef.migration,
    cronJobs: cdef.cronJobs,
    persistence: cdef.persistence,
    pdb: cdef.pdb,
    image: { registry, repository, tag: cdef.tag, ref: `${repository}:${cdef.tag}`, ...(cdef.upstream ? { upstream: upstreamRef(cdef.upstream, cdef.tag) } : {}) },
    ...(cdef.port ? { serviceHost: svcDns(fullname, app.namespace, domain)[1]! } : {}),
    // The Service listens on the container's own port: one number per component, for clients and policies alike.
    servicePort: cdef.port ?? 0,
    edges: [],
    dependsOn: [],
    secretRefs: [...secretRefs].sort(),
    ...(cdef.canary ? { canary: cdef.canary } : {}),
  };
}

/**
 * The upstream controllers and our own services, each with its chart key resolved to the pin.
 * An unknown key resolves to undefined here; checkInvariants reports it before the Model leaves load.
 */
function upstreamOf(infra: InfraDef, domain: string): Pick<Model, "metallb" | "certManager" | "sealedSecrets" | "ingressNginx" | "istio" | "registryServer" | "chartmuseum" | "cloudnativePg" | "monitoring" | "logging"> {
  const pin = (key: string) => infra.charts[key]!;
  const { metallb, certManager, sealedSecrets, ingressNginx, istio, registry, chartmuseum, cloudnativePg, monitoring, logging } = infra;
  return {
    metallb: { namespace: metallb.namespace, chart: pin(metallb.chart) },
    certManager: { namespace: certManager.namespace, chart: pin(certManager.chart), ca: certManager.ca, certificateDuration: certManager.certificateDuration, renewBefore: certManager.renewBefore },
    sealedSecrets: { namespace: sealedSecrets.namespace, chart: pin(sealedSecrets.chart), controllerName: sealedSecrets.controllerName, keyRenewPeriod: sealedSecrets.keyRenewPeriod },
    ingressNginx: { namespace: ingressNginx.namespace, chart: pin(ingressNginx.chart), className: ingressNginx.className },
    istio: {
      namespace: istio.namespace,
      gatewayNamespace: istio.gatewayNamespace,
      gatewayName: istio.gatewayName,
      charts: { base: pin(istio.charts.base), istiod: pin(istio.charts.istiod), gateway: pin(istio.charts.gateway) },
    },
    registryServer: { namespace: registry.namespace, image: registry.image, storage: registry.storage, resources: registry.resources },
    chartmuseum: { namespace: chartmuseum.namespace, chart: pin(chartmuseum.chart), storage: chartmuseum.storage, appChart: chartmuseum.appChart },
    cloudnativePg: { namespace: cloudnativePg.namespace, chart: pin(cloudnativePg.chart) },
    monitoring: {
      namespace: monitoring.namespace,
      chart: pin(monitoring.chart),
      retention: monitoring.retention,
      prometheusStorage: monitoring.prometheusStorage,
      grafanaStorage: monitoring.grafanaStorage,
      alertmanagerStorage: monitoring.alertmanagerStorage,
      ...(monitoring.alerting ? { alerting: monitoring.alerting } : {}),
    },
    logging: {
      namespace: logging.namespace,
      charts: { store: pin(logging.charts.store), shipper: pin(logging.charts.shipper) },
      retention: logging.retention,
      storage: logging.storage,
      // The Loki chart names its Service after the release, which synth names "loki".
      lokiHost: svcDns("loki", logging.namespace, domain)[1]!,
    },
  };
}

function postgresOf(infra: InfraDef, endpoints: readonly EndpointModel[], domain: string, databases: DatabaseModel[]): PostgresModel {
  const pg = infra.postgres;
  return {
    namespace: pg.namespace,
    clusterName: pg.clusterName,
    image: pg.image,
    instances: pg.instances,
    storage: pg.storage,
    roles: pg.roles.map((r) => r.name),
    backup: pg.backup,
    // Apps reach PostgreSQL through the read-write service CNPG creates: <cluster>-rw.
    host: svcDns(`${pg.clusterName}-rw`, pg.namespace, domain)[1]!,
    port: endpoints.find((e) => e.id === "postgres")!.ports[0]!.port,
    databases,
  };
}

/**
 * Every Secret the cluster needs, whoever declares it. `bk secrets` seals exactly these and
 * `bk validate` compares them with the SealedSecrets in the tree.
 */
function declaredSecrets(parsed: ParsedDefinition, databases: DatabaseModel[], byId: ReadonlyMap<string, ComponentModel>): DeclaredSecret[] {
  const { infra } = parsed;
  const out: DeclaredSecret[] = [];
  const pgNs = infra.postgres.namespace;
  for (const role of infra.postgres.roles) {
    out.push({
      namespace: pgNs,
      name: roleSecretName(role.name),
      type: "kubernetes.io/basic-auth",
      description: `PostgreSQL role ${role.name} (CloudNativePG managed role)`,
      keys: { username: { from: "literal", value: role.name }, password: { from: "generate" } },
      owner: `database-role:${role.name}`,
    });
  }
  // One credentials Secret per (database, app namespace) that uses it; the password is the role's.
  const seen = new Set<string>();
  for (const db of databases) {
    for (const id of db.usedBy) {
      const comp = byId.get(id)!;
      const key = `${comp.namespace}/${db.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        namespace: comp.namespace,
        name: dbSecretName(db.name),
        type: "kubernetes.io/basic-auth",
        description: `Credentials of database ${db.name} for ${comp.app}`,
        keys: {
          username: { from: "literal", value: db.owner },
          password: { from: "same-as", namespace: pgNs, name: db.roleSecret, key: "password" },
        },
        owner: `database:${db.name}`,
      });
    }
  }
  out.push({
    namespace: infra.chartmuseum.namespace,
    name: "chartmuseum-auth",
    description: "ChartMuseum basic auth (server side)",
    keys: { BASIC_AUTH_USER: { from: "literal", value: "bk" }, BASIC_AUTH_PASS: { from: "generate" } },
    owner: "infra:chartmuseum",
  });
  out.push({
    namespace: FLUX_NAMESPACE,
    name: "chartmuseum-auth",
    description: "ChartMuseum basic auth for Flux's HelmRepository",
    keys: {
      username: { from: "literal", value: "bk" },
      password: { from: "same-as", namespace: infra.chartmuseum.namespace, name: "chartmuseum-auth", key: "BASIC_AUTH_PASS" },
    },
    owner: "infra:chartmuseum",
  });
  for (const { def } of parsed.apps) {
    for (const s of def.secrets) {
      out.push({
        namespace: def.namespace,
        name: s.name,
        ...(s.description ? { description: s.description } : {}),
        keys: Object.fromEntries(Object.entries(s.keys).map(([k, v]) => [k, { from: v }])),
        owner: `app:${def.name}`,
      });
    }
  }
  return out.sort((a, b) => (a.namespace + "/" + a.name).localeCompare(b.namespace + "/" + b.name));
}

/** The upstream reference with the component's tag when it names neither a tag nor a digest. */
function upstreamRef(upstream: string, tag: string): string {
  const ref = parseImage(upstream);
  return ref.tag !== undefined || ref.digest !== undefined ? upstream : `${upstream}:${tag}`;
}
