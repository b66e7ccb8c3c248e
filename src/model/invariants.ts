/**
 * Invariants that relate several entries of the definition. Each check reports the file and line
 * an operator must edit, and what to do; nothing is written while any of them fails.
 */
import { canaryProblems } from "./progressive.js";
import { backupCandidates } from "./volume-backups.js";
import type { Finding } from "../core/finding.js";
import type { AppModel, ComponentModel, Model } from "./model.js";
import type { ParsedDefinition } from "./build.js";
import type { ComponentDef } from "./schema.js";
import { lineOf, renderPath, type Path, type SourceFile } from "./source.js";
import { checkNodeNetwork } from "./network-rules.js";
import { checkProfiles } from "./profile-invariants.js";
import { NO_CHART } from "./mesh.js";

export interface Sources {
  cluster: SourceFile;
  infra: SourceFile;
  /** App name -> its file. */
  apps: Map<string, SourceFile>;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Kubernetes caps CronJob names at 52 characters: the Jobs it creates append 11. */
const CRONJOB_NAME_MAX = 52;

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

type Report = (s: SourceFile, p: Path, rule: string, message: string, fix: string) => void;
type RequireNamespace = (s: SourceFile, p: Path, ns: string, who: string) => void;

/** What every check reads, and where it reports. */
interface Check {
  model: Model;
  parsed: ParsedDefinition;
  src: Sources;
  at: Report;
  // Lookups by name: at 100x the definition, scanning the lists per entry made this pass quadratic.
  componentById: ReadonlyMap<string, ComponentModel>;
}

export function checkInvariants(model: Model, parsed: ParsedDefinition, src: Sources): Finding[] {
  const out: Finding[] = [];
  const at: Report = (s, p, rule, message, fix) => out.push({ rule, severity: "error", message, fix, file: s.file, line: lineOf(s, p), field: renderPath(p) });
  const c: Check = { model, parsed, src, at, componentById: new Map(model.components.map((x) => [x.id, x])) };
  checkAddresses(c);
  checkNodeNetwork(model.network, model.cluster.profile, src.cluster, at);
  const nsNames = checkNamespaces(c);
  const requireNs: RequireNamespace = (s, p, ns, who) => {
    if (!nsNames.has(ns))
      at(s, p, "definition/namespace-missing", `${who} uses namespace '${ns}', which cluster.yaml does not declare`, `add '- { name: ${ns}, podSecurity: restricted }' under namespaces in cluster.yaml`);
  };
  checkInfraNamespaces(c, requireNs);
  checkChartRefs(c);
  checkAlertRouting(c);
  checkNotifications(c);
  checkVolumeBackups(c);
  checkMesh(c);
  for (const p of canaryProblems(parsed.infra.progressiveDelivery, parsed.infra.charts, model.components)) {
    const s = p.app === undefined ? src.infra : src.apps.get(p.app);
    if (s) at(s, [...p.path], p.rule, p.message, p.fix);
  }
  const dbs = checkPostgres(c);
  checkApplications(c, requireNs, dbs);
  checkStartOrder(c);
  checkProfiles(model, src.cluster, src.infra, src.apps, at);
  return out;
}

/** LoadBalancer addresses inside the pool, each pinned once (incident 1: one place holds every IP). */
function checkAddresses(c: Check): void {
  const { model, src, at } = c;
  const pool = model.network.loadBalancerPool;
  const lo = ipToInt(pool.start);
  const hi = ipToInt(pool.end);
  if (lo > hi) at(src.cluster, ["network", "loadBalancerPool"], "definition/pool-range", `pool start ${pool.start} is after its end ${pool.end}`, "swap start and end");
  const infraPathOf: Record<string, Path> = {
    registry: ["registry", "loadBalancer"],
    chartmuseum: ["chartmuseum", "loadBalancer"],
    postgres: ["postgres", "loadBalancer"],
    ingress: ["ingressNginx", "loadBalancer"],
    gateway: ["istio", "loadBalancer"],
  };
  const ipOwner = new Map<string, string>();
  for (const ep of model.endpoints) {
    const p = infraPathOf[ep.id]!;
    const n = ipToInt(ep.ip);
    if (n < lo || n > hi)
      at(
        src.infra,
        [...p, "ip"],
        "definition/ip-outside-pool",
        `${ep.title} IP ${ep.ip} is outside the LoadBalancer pool ${pool.start}-${pool.end}`,
        `choose a free address inside ${pool.start}-${pool.end}, or widen network.loadBalancerPool in cluster.yaml`,
      );
    const prev = ipOwner.get(ep.ip);
    if (prev) at(src.infra, [...p, "ip"], "definition/ip-duplicate", `${ep.title} IP ${ep.ip} is already pinned to ${prev}`, "give each LoadBalancer service its own address from the pool");
    else ipOwner.set(ep.ip, ep.title);
    const ports = new Set<number>();
    const names = new Set<string>();
    ep.ports.forEach((pt, i) => {
      if (ports.has(pt.port)) at(src.infra, [...p, "ports", i, "port"], "definition/port-duplicate", `${ep.title} lists port ${pt.port} twice`, "remove the duplicate port");
      ports.add(pt.port);
      if (names.has(pt.name)) at(src.infra, [...p, "ports", i, "name"], "definition/port-name-duplicate", `${ep.title} names two ports '${pt.name}'`, "give each port of a service its own name");
      names.add(pt.name);
    });
  }
  checkHostnames(c);
}

/** Each LAN name belongs to one existing endpoint, once: a name on two certificates answers for only one IP. */
function checkHostnames({ model, src, at }: Check): void {
  const owner = new Map<string, string>();
  for (const [key, names] of Object.entries(model.network.hostnames)) {
    if (!model.endpoints.some((e) => e.id === key))
      at(src.cluster, ["network", "hostnames", key], "definition/unknown-endpoint", `hostnames for '${key}', which is not an endpoint`, `use one of: ${model.endpoints.map((e) => e.id).join(", ")}`);
    names.forEach((name, i) => {
      const prev = owner.get(name);
      if (prev !== undefined)
        at(
          src.cluster,
          ["network", "hostnames", key, i],
          "definition/hostname-duplicate",
          prev === key ? `${key} lists hostname ${name} twice` : `hostname ${name} is already a name of ${prev}`,
          "list each host name once, under the endpoint that serves it",
        );
      else owner.set(name, key);
    });
  }
}

/** Declared once, and below restricted only with a reason; returns the declared names. */
function checkNamespaces({ parsed, src, at }: Check): Map<string, number> {
  const nsNames = new Map<string, number>();
  parsed.cluster.namespaces.forEach((ns, i) => {
    if (nsNames.has(ns.name)) at(src.cluster, ["namespaces", i, "name"], "definition/namespace-duplicate", `namespace ${ns.name} is listed twice`, "remove the second entry");
    nsNames.set(ns.name, i);
    if (ns.podSecurity !== "restricted" && !ns.why?.trim())
      at(
        src.cluster,
        ["namespaces", i],
        "definition/psa-exception-reason",
        `namespace ${ns.name} enforces '${ns.podSecurity}' without saying why`,
        "add 'why:' with the component that needs it, or set podSecurity: restricted",
      );
  });
  return nsNames;
}

/** Every infrastructure entry lives in a namespace cluster.yaml declares. */
function checkInfraNamespaces({ parsed, src }: Check, requireNs: RequireNamespace): void {
  const infraNs: Array<[Path, string]> = [
    [["metallb", "namespace"], parsed.infra.metallb.namespace],
    [["certManager", "namespace"], parsed.infra.certManager.namespace],
    [["sealedSecrets", "namespace"], parsed.infra.sealedSecrets.namespace],
    [["ingressNginx", "namespace"], parsed.infra.ingressNginx.namespace],
    [["istio", "namespace"], parsed.infra.istio.namespace],
    [["istio", "gatewayNamespace"], parsed.infra.istio.gatewayNamespace],
    [["registry", "namespace"], parsed.infra.registry.namespace],
    [["chartmuseum", "namespace"], parsed.infra.chartmuseum.namespace],
    [["postgres", "namespace"], parsed.infra.postgres.namespace],
    [["cloudnativePg", "namespace"], parsed.infra.cloudnativePg.namespace],
    [["monitoring", "namespace"], parsed.infra.monitoring.namespace],
    [["logging", "namespace"], parsed.infra.logging.namespace],
    ...(parsed.infra.volumeBackups ? [[["volumeBackups", "namespace"], parsed.infra.volumeBackups.namespace] as [Path, string]] : []),
  ];
  for (const [p, ns] of infraNs) requireNs(src.infra, p, ns, renderPath(p.slice(0, -1)));
}

/** Charts referenced by infrastructure entries are pinned. */
function checkChartRefs({ parsed, src, at }: Check): void {
  const chartRefs: Array<[Path, string]> = [
    [["metallb", "chart"], parsed.infra.metallb.chart],
    [["certManager", "chart"], parsed.infra.certManager.chart],
    [["sealedSecrets", "chart"], parsed.infra.sealedSecrets.chart],
    [["ingressNginx", "chart"], parsed.infra.ingressNginx.chart],
    [["istio", "charts", "base"], parsed.infra.istio.charts.base],
    [["istio", "charts", "istiod"], parsed.infra.istio.charts.istiod],
    [["istio", "charts", "gateway"], parsed.infra.istio.charts.gateway],
    [["chartmuseum", "chart"], parsed.infra.chartmuseum.chart],
    [["cloudnativePg", "chart"], parsed.infra.cloudnativePg.chart],
    [["monitoring", "chart"], parsed.infra.monitoring.chart],
    [["logging", "charts", "store"], parsed.infra.logging.charts.store],
    [["logging", "charts", "shipper"], parsed.infra.logging.charts.shipper],
    ...(parsed.infra.volumeBackups ? [[["volumeBackups", "chart"], parsed.infra.volumeBackups.chart] as [Path, string]] : []),
  ];
  for (const [p, name] of chartRefs) {
    if (!parsed.infra.charts[name]) at(src.infra, p, "definition/chart-missing", `chart '${name}' is not pinned under charts:`, `add '${name}: { repository: ..., chart: ..., version: x.y.z }' under charts`);
  }
}

/** Alert routes name declared receivers. */
function checkAlertRouting({ parsed, src, at }: Check): void {
  const alerting = parsed.infra.monitoring.alerting;
  for (const [severity, receiver] of Object.entries(alerting?.routes ?? {})) {
    if (receiver && receiver !== "null" && receiver !== "default" && !(receiver in (alerting?.receivers ?? {})))
      at(
        src.infra,
        ["monitoring", "alerting", "routes", severity],
        "definition/receiver-missing",
        `alerts of severity ${severity} go to receiver '${receiver}', which is not declared`,
        `declare it under monitoring.alerting.receivers, or route ${severity} to 'default'`,
      );
  }
}

/** Notifications: every route names a declared target (or drop, for alerts), the Receiver's host is in the host table. */
function checkNotifications({ parsed, src, at }: Check): void {
  const n = parsed.infra.notifications;
  if (!n) return;
  const targets = Object.keys(n.targets);
  const known = targets.length ? targets.join(", ") : "none declared";
  for (const [severity, target] of Object.entries(n.alerts)) {
    if (target !== "drop" && !(target in n.targets))
      at(
        src.infra,
        ["notifications", "alerts", severity],
        "definition/notify-target-missing",
        `alerts of severity ${severity} go to target '${target}', which is not declared (targets: ${known})`,
        `declare it under notifications.targets, or write '${severity}: drop' to send nothing`,
      );
  }
  if (!(n.flux in n.targets))
    at(src.infra, ["notifications", "flux"], "definition/notify-target-missing", `Flux events go to target '${n.flux}', which is not declared (targets: ${known})`, "name a target declared under notifications.targets");
  if (n.receiver && !parsed.cluster.network.hostnames[n.receiver.host]?.length) {
    const hosts = Object.keys(parsed.cluster.network.hostnames).join(", ") || "none";
    at(
      src.infra,
      ["notifications", "receiver", "host"],
      "definition/receiver-host-missing",
      `the push Receiver is reached through network.hostnames.${n.receiver.host}, which has no name (keys: ${hosts})`,
      "name a key of network.hostnames (in cluster.yaml) with at least one name, such as ingress",
    );
  }
}

/** Volume backups: every per-volume entry names a volume the cluster has (a typo would silently back up nothing different). */
function checkVolumeBackups({ parsed, src, at, model }: Check): void {
  const vb = parsed.infra.volumeBackups;
  if (!vb) return;
  const known = backupCandidates(parsed.infra, model.components).map((c) => c.id);
  for (const id of Object.keys(vb.volumes)) {
    if (!known.includes(id))
      at(
        src.infra,
        ["volumeBackups", "volumes", id],
        "definition/backup-volume-unknown",
        `volume '${id}' is not a volume of this cluster (volumes: ${known.join(", ")})`,
        "name one of the volumes listed, or remove the entry",
      );
  }
}

/** The mesh's CNI agent is a pinned chart in a privileged namespace, or explicitly none. */
function checkMesh({ parsed, src, at }: Check): void {
  const mesh = parsed.infra.mesh;
  if (!mesh || mesh.cni.chart === NO_CHART) return;
  if (!parsed.infra.charts[mesh.cni.chart])
    at(
      src.infra,
      ["mesh", "cni", "chart"],
      "definition/mesh-cni-chart",
      `mesh.cni.chart '${mesh.cni.chart}' is not a key of charts:`,
      `pin Istio's cni chart under charts: as '${mesh.cni.chart}', or write 'none' (no sidecars are injected)`,
    );
  const ns = parsed.cluster.namespaces.find((n) => n.name === mesh.cni.namespace);
  if (ns?.podSecurity !== "privileged")
    at(
      src.infra,
      ["mesh", "cni", "namespace"],
      "definition/mesh-cni-namespace",
      `the CNI node agent needs host access, but namespace '${mesh.cni.namespace}' is not declared privileged`,
      "run it in a privileged namespace such as kube-system",
    );
}

/** PostgreSQL roles and databases: each declared once, every owner a role; returns the database names. */
function checkPostgres({ parsed, src, at }: Check): Set<string> {
  const roles = new Set<string>();
  parsed.infra.postgres.roles.forEach((r, i) => {
    if (roles.has(r.name)) at(src.infra, ["postgres", "roles", i, "name"], "definition/role-duplicate", `role ${r.name} is declared twice`, "remove the duplicate");
    roles.add(r.name);
  });
  const dbs = new Set<string>();
  parsed.infra.postgres.databases.forEach((d, i) => {
    if (dbs.has(d.name)) at(src.infra, ["postgres", "databases", i, "name"], "definition/database-duplicate", `database ${d.name} is declared twice`, "remove the duplicate");
    dbs.add(d.name);
    if (!roles.has(d.owner))
      at(
        src.infra,
        ["postgres", "databases", i, "owner"],
        "definition/database-owner-missing",
        `database ${d.name} is owned by role '${d.owner}', which is not declared`,
        `add '- name: ${d.owner}' under postgres.roles, or name an existing role`,
      );
  });
  return dbs;
}

/** Per application: declared once, in a declared restricted namespace; then each of its components. */
function checkApplications(c: Check, requireNs: RequireNamespace, dbs: ReadonlySet<string>): void {
  const { model, parsed, src, at } = c;
  const appNames = new Set<string>();
  const routes = new Map<string, string>();
  const namespaceDefs = new Map(parsed.cluster.namespaces.map((n) => [n.name, n]));
  const appDefs = new Map(parsed.apps.map((a) => [a.def.name, a.def]));
  const secretsByNamespace = new Map<string, typeof model.secrets>();
  for (const sec of model.secrets) {
    const list = secretsByNamespace.get(sec.namespace);
    if (list) list.push(sec);
    else secretsByNamespace.set(sec.namespace, [sec]);
  }
  for (const app of model.apps) {
    const s = src.apps.get(app.name)!;
    if (appNames.has(app.name)) at(s, ["name"], "definition/app-duplicate", `application ${app.name} is defined twice`, "rename one of them");
    appNames.add(app.name);
    requireNs(s, ["namespace"], app.namespace, `application ${app.name}`);
    const nsDef = namespaceDefs.get(app.namespace);
    if (nsDef && nsDef.podSecurity !== "restricted")
      at(
        s,
        ["namespace"],
        "definition/app-namespace-restricted",
        `application namespace ${app.namespace} enforces '${nsDef.podSecurity}'`,
        "application namespaces are restricted: fix the chart values instead of lowering the level",
      );
    const secretNames = appDefs.get(app.name)!.secrets.map((x) => x.name);
    secretNames.forEach((name, i) => {
      if (secretNames.indexOf(name) !== i) at(s, ["secrets", i, "name"], "definition/secret-duplicate", `secret ${name} is declared twice`, "declare each secret once, with all its keys");
    });
    const declared = new Map<string, Set<string>>();
    // The first declaration counts; a second is reported as a duplicate, not read as the secret's keys.
    for (const sec of secretsByNamespace.get(app.namespace) ?? []) if (!declared.has(sec.name)) declared.set(sec.name, new Set(Object.keys(sec.keys)));
    for (const comp of app.components) {
      const d = appDefs.get(app.name)!.components[comp.name]!;
      checkComponent(c, { s, app, comp, base: ["components", comp.name], d, dbs, declared, routes });
    }
  }
}

/** One component as its application file declares it. */
interface ComponentCheck {
  s: SourceFile;
  app: AppModel;
  comp: ComponentModel;
  base: Path;
  d: ComponentDef;
  dbs: ReadonlySet<string>;
  /** Secret name -> its keys, in the application's namespace. */
  declared: ReadonlyMap<string, ReadonlySet<string>>;
  /** Route prefix -> the component serving it, across applications. */
  routes: Map<string, string>;
}

/** A valid name and a pinned tag; then its edges, database, secrets, route, disruption budget and probes. */
function checkComponent(c: Check, k: ComponentCheck): void {
  const { at } = c;
  const { s, comp, base, d, dbs } = k;
  if (!DNS1123_LABEL.test(comp.name) || comp.fullname.length > 53)
    at(
      s,
      base,
      "definition/component-name",
      `component name '${comp.name}' must be a DNS-1123 label and '${comp.fullname}' at most 53 characters (Helm release names)`,
      "use lower-case letters, digits and '-'; shorten it",
    );
  if (!TAG.test(d.tag) || d.tag === "latest")
    at(s, [...base, "tag"], "definition/image-tag", `image tag '${d.tag}' of ${comp.id} is not a pinned tag`, "use the exact version the build pushed, such as 1.4.2 (never 'latest'); `bk release` sets it for you");
  checkComponentEdges(c, k);
  checkComponentNames(c, k);
  if (d.database) {
    if (!dbs.has(d.database))
      at(
        s,
        [...base, "database"],
        "definition/database-missing",
        `${comp.id} uses database '${d.database}', which postgres.databases does not declare`,
        `add '- { name: ${d.database}, owner: <role> }' under postgres.databases in infrastructure.yaml`,
      );
  }
  if (d.migration && !d.database) at(s, [...base, "migration"], "definition/migration-without-database", `${comp.id} runs a migration but uses no database`, "set 'database:' or remove 'migration:'");
  checkComponentSecrets(c, k);
  checkComponentRoute(c, k);
  if (d.pdb && d.replicas < 2)
    at(
      s,
      [...base, "pdb"],
      "definition/pdb-single-replica",
      `${comp.id} has a disruption budget but ${d.replicas} replica(s): no pod could ever be evicted, so node drains would hang`,
      "set 'replicas: 2' (or more), or remove 'pdb: true'",
    );
  if (!d.probes)
    at(s, base, "definition/probes-missing", `${comp.id} declares no liveness/readiness probes`, "add probes: { liveness: { path: /health }, readiness: { path: /health } } (or exec probes for components without HTTP)");
  else if (!d.port && ("path" in d.probes.liveness || "path" in d.probes.readiness))
    at(s, [...base, "probes"], "definition/http-probe-without-port", `${comp.id} has HTTP probes but no port`, "set 'port:' or use exec probes");
}

/** CronJob names and mount paths, each once per component: Kubernetes refuses a pod or a CronJob otherwise. */
function checkComponentNames({ at }: Check, { s, comp, base, d }: ComponentCheck): void {
  const jobs = new Set<string>();
  d.cronJobs.forEach((j, i) => {
    const p = [...base, "cronJobs", i, "name"];
    if (jobs.has(j.name)) at(s, p, "definition/cronjob-duplicate", `${comp.id} declares cron job '${j.name}' twice`, "give each cron job its own name");
    jobs.add(j.name);
    const objectName = `${comp.fullname}-${j.name}`;
    if (objectName.length > CRONJOB_NAME_MAX)
      at(s, p, "definition/cronjob-name", `the CronJob name '${objectName}' is longer than ${CRONJOB_NAME_MAX} characters, which Kubernetes refuses`, "shorten the cron job's name");
  });
  const mounts = new Map<string, Path>();
  const mount = (path: string, p: Path): void => {
    if (mounts.has(path)) at(s, p, "definition/mount-duplicate", `${comp.id} mounts two volumes at ${path}`, "give each secret file and the persistent volume its own mountPath");
    else mounts.set(path, p);
  };
  d.secretFiles.forEach((f, i) => {
    mount(f.mountPath, [...base, "secretFiles", i, "mountPath"]);
  });
  if (d.persistence) mount(d.persistence.mountPath, [...base, "persistence", "mountPath"]);
}

/** talksTo resolves to other components that listen; a frontend talks to a backend. */
function checkComponentEdges({ at, componentById }: Check, { s, app, comp, base, d }: ComponentCheck): void {
  d.talksTo.forEach((t, i) => {
    if (typeof t !== "string") return;
    const id = t.includes("/") ? t : `${app.name}/${t}`;
    const target = componentById.get(id);
    if (!target)
      at(
        s,
        [...base, "talksTo", i],
        "definition/edge-unresolved",
        `${comp.id} talks to '${t}', which is not a component`,
        `name a component of ${app.name} (${app.components.map((x) => x.name).join(", ")}) or another app's as <app>/<component>`,
      );
    else if (id === comp.id) at(s, [...base, "talksTo", i], "definition/edge-self", `${comp.id} lists itself in talksTo`, "remove it");
    else if (!target.port)
      at(
        s,
        [...base, "talksTo", i],
        "definition/edge-to-portless",
        `${comp.id} talks to ${id}, which listens on no port`,
        `give ${id} a 'port:' or remove the edge (nothing can be allowed through the network policy to a component without a port)`,
      );
  });
  if (d.role === "frontend") {
    const backends = comp.edges.filter((e) => e.to.kind === "component" && componentById.get(e.to.id)?.role === "backend");
    if (backends.length === 0)
      at(
        s,
        [...base, "talksTo"],
        "definition/frontend-without-backend",
        `frontend ${comp.id} does not talk to any backend component`,
        "add its backend to talksTo (e.g. talksTo: [backend]) so it is deployed first and allowed through the network policy",
      );
  }
}

/** Every secret a component reads is declared in its namespace, with the key it reads. */
function checkComponentSecrets({ at }: Check, { s, app, comp, base, d, declared }: ComponentCheck): void {
  for (const [env, ref] of Object.entries(d.secretEnv)) {
    const [name, key] = ref.split("/");
    const keys = name ? declared.get(name) : undefined;
    if (!name || !key) at(s, [...base, "secretEnv", env], "definition/secret-ref", `secretEnv ${env} is '${ref}', not '<secret>/<key>'`, "write it as <secret-name>/<key>");
    else if (!keys)
      at(
        s,
        [...base, "secretEnv", env],
        "definition/secret-missing",
        `${comp.id} reads secret '${name}', which is not declared in namespace ${app.namespace}`,
        `declare it under secrets: (- name: ${name}, keys: { ${key}: operator }) and seal it with \`bk secrets seal\``,
      );
    else if (!keys.has(key)) at(s, [...base, "secretEnv", env], "definition/secret-key-missing", `secret '${name}' declares no key '${key}'`, `add '${key}' to the keys of ${name}`);
  }
  d.secretFiles.forEach((f, i) => {
    if (!declared.has(f.secret))
      at(
        s,
        [...base, "secretFiles", i, "secret"],
        "definition/secret-missing",
        `${comp.id} mounts secret '${f.secret}', which is not declared in namespace ${app.namespace}`,
        `declare it under secrets: and seal it with \`bk secrets seal\``,
      );
  });
}

/** A route needs a port and its own prefix; the health URL lies under it. */
function checkComponentRoute({ at }: Check, { s, comp, base, d, routes }: ComponentCheck): void {
  if (d.route) {
    if (!d.port) at(s, [...base, "route"], "definition/route-without-port", `${comp.id} has a route but no port`, "set 'port:' to the container's HTTP port");
    const prev = routes.get(d.route);
    if (prev) at(s, [...base, "route"], "definition/route-duplicate", `route ${d.route} is already served by ${prev}`, "give each component its own path prefix");
    else routes.set(d.route, comp.id);
  }
  if (d.paths && !d.port) at(s, [...base, "paths"], "definition/paths-without-port", `${comp.id} declares paths but serves no port`, "set 'port:' or remove 'paths:'");
  if (d.health && !d.route) at(s, [...base, "health"], "definition/health-without-route", `${comp.id} declares a health URL but no route to reach it`, "add 'route:' with the path prefix, or remove 'health:'");
  if (d.health && d.route && !d.health.startsWith(d.route)) at(s, [...base, "health"], "definition/health-outside-route", `health URL ${d.health} is not under the route ${d.route}`, `use a path under ${d.route}`);
}

/** Startup order must be acyclic (incident 8). */
function checkStartOrder({ model, src, at, componentById }: Check): void {
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (id: string, trail: string[]): void => {
    if (done.has(id)) return;
    if (visiting.has(id)) {
      const comp = componentById.get(id)!;
      at(
        src.apps.get(comp.app)!,
        ["components", comp.name, "talksTo"],
        "definition/dependency-cycle",
        `start-order cycle: ${[...trail, id].join(" -> ")}`,
        "break the cycle: only backends and caches are waited for, so one of these should not be a backend",
      );
      return;
    }
    visiting.add(id);
    for (const dep of componentById.get(id)?.dependsOn ?? []) visit(dep, [...trail, id]);
    visiting.delete(id);
    done.add(id);
  };
  for (const comp of model.components) visit(comp.id, []);
}
