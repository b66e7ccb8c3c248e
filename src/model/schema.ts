/**
 * The shape of the BeckerKube definition (the YAML files under definition/).
 * Field-level rules live here; rules that relate several entries (IPs inside the pool,
 * references that must resolve) live in invariants.ts, because zod sees one value at a time.
 */
import { z } from "zod";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DURATION = /^(\d+(ms|s|m|h))+$/;
const QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const CPU = /^\d+(\.\d+)?m?$/;
const EXACT_SEMVER = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
/** A Postgres identifier we are willing to manage: lower case, starts with a letter. */
const PG_IDENT = /^[a-z][a-z0-9_]{0,62}$/;

export const dnsLabel = (what: string) =>
  z.string().max(63, `${what} must be at most 63 characters`).regex(DNS1123_LABEL, `${what} must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit`);

export const ipv4 = z.string().regex(IPV4, "must be an IPv4 address such as 192.168.7.21");
export const port = z.number().int("a port is a whole number").min(1, "a port is 1..65535").max(65535, "a port is 1..65535");
export const duration = z.string().regex(DURATION, "must be a duration such as 30s, 1m, 10m or 1h30m");
export const quantity = z.string().regex(QUANTITY, "must be a Kubernetes quantity such as 512Mi or 10Gi");

export const PodSecurityLevel = z.enum(["privileged", "baseline", "restricted"]);

const Resources = z
  .object({
    requests: z.object({ cpu: z.string().regex(CPU, "cpu like 50m or 1"), memory: quantity }).strict(),
    limits: z.object({ cpu: z.string().regex(CPU, "cpu like 500m or 2"), memory: quantity }).strict(),
  })
  .strict();

/** A pinned upstream Helm chart. Exact versions only: a range would let an upgrade land without a commit. */
export const ChartPin = z
  .object({
    repository: z.string().regex(/^(https?|oci):\/\//, "must be an https:// or oci:// chart repository URL"),
    chart: z.string().min(1),
    version: z.string().regex(EXACT_SEMVER, "pin an exact chart version such as 1.2.3 (no ranges for upstream charts)"),
  })
  .strict();

/** Kubernetes manifests Flux applies from another Git repository, pinned to a release tag. */
export const GitSourcePin = z
  .object({
    repository: z.string().regex(/^https:\/\/[^\s]+$/, "must be an https:// Git repository URL"),
    tag: z.string().regex(/^v?\d+\.\d+\.\d+$/, "pin an exact release tag such as v1.2.3"),
    path: z.string().regex(/^[^/.][^\s]*$/, "a path inside the repository, such as config/crd/standard"),
  })
  .strict();

export const LoadBalancer = z
  .object({
    ip: ipv4,
    ports: z.array(z.object({ name: dnsLabel("port name"), port }).strict()).min(1, "a LoadBalancer needs at least one port"),
  })
  .strict();

const Namespace = z
  .object({
    name: dnsLabel("namespace name"),
    podSecurity: PodSecurityLevel,
    /** Required when the level is below restricted: an exception must say why. */
    why: z.string().optional(),
  })
  .strict();

const ClusterFile = z
  .object({
    cluster: z
      .object({
        name: dnsLabel("cluster name"),
        profile: z
          .object({
            kind: z.literal("minikube"),
            name: dnsLabel("minikube profile name"),
            node: dnsLabel("node name"),
            kubernetesVersion: z.string().regex(/^v\d+\.\d+\.\d+$/, "pin a Kubernetes version such as v1.34.1"),
            driver: z.enum(["docker", "podman", "kvm2", "qemu"]),
            cpus: z.number().int().min(2),
            memory: z.string().regex(/^\d+[mg]$/, "memory like 12g"),
            disk: z.string().regex(/^\d+[mg]$/, "disk like 80g"),
            cni: z.enum(["calico", "cilium", "flannel", "bridge", "kindnet", "auto"]),
          })
          .strict(),
      })
      .strict(),
    gitops: z
      .object({
        repository: dnsLabel("repository name"),
        url: z.string().regex(/^(https?|ssh):\/\//, "must be an https:// or ssh:// Git URL"),
        branch: z.string().min(1),
        interval: duration,
        path: z.string().regex(/^[a-z0-9][a-z0-9/_-]*$/, "a relative path such as clusters/minikube"),
        secretRef: z.string().optional(),
      })
      .strict(),
    network: z
      .object({
        loadBalancerPool: z.object({ name: dnsLabel("pool name"), start: ipv4, end: ipv4 }).strict(),
        clusterDomain: z.string().min(1),
        /** Ingress for routes: the seed's ingress-nginx, or Gateway API HTTPRoutes on the Istio gateway. */
        routes: z.enum(["ingress-nginx", "gateway-api"]),
        /** DNS names the LAN uses for the cluster's entry points; they become certificate SANs. */
        hostnames: z.record(z.string(), z.array(z.string().min(1))).default({}),
      })
      .strict(),
    podSecurity: z.object({ version: z.string().regex(/^v\d+\.\d+$|^latest$/, "a version such as v1.34") }).strict(),
    storage: z.object({ className: dnsLabel("storage class") }).strict(),
    namespaces: z.array(Namespace).min(1),
  })
  .strict();

const Postgres = z
  .object({
    namespace: dnsLabel("namespace"),
    clusterName: dnsLabel("cluster name"),
    image: z.string().min(1),
    instances: z.number().int().min(1),
    storage: quantity,
    loadBalancer: LoadBalancer,
    roles: z.array(z.object({ name: z.string().regex(PG_IDENT, "a role name: lower case letters, digits, '_'") }).strict()),
    databases: z.array(
      z
        .object({
          name: z.string().regex(PG_IDENT, "a database name: lower case letters, digits, '_'"),
          owner: z.string(),
          extensions: z.array(z.string()).default([]),
          purpose: z.string().optional(),
        })
        .strict(),
    ),
    backup: z.object({ schedule: z.string().min(9, "a cron schedule such as '15 3 * * *'"), keep: z.number().int().min(1), storage: quantity }).strict(),
  })
  .strict();

const InfraFile = z
  .object({
    charts: z.record(z.string(), ChartPin),
    gatewayApi: GitSourcePin,
    metallb: z.object({ namespace: dnsLabel("namespace"), chart: z.string() }).strict(),
    certManager: z
      .object({
        namespace: dnsLabel("namespace"),
        chart: z.string(),
        ca: z.object({ commonName: z.string().min(1), duration: duration }).strict(),
        certificateDuration: duration,
        renewBefore: duration,
      })
      .strict(),
    sealedSecrets: z
      .object({
        namespace: dnsLabel("namespace"),
        chart: z.string(),
        controllerName: dnsLabel("controller name"),
        /** 0 disables automatic key rotation; rotation without a backup is how keys get lost (incident 6). */
        keyRenewPeriod: z.string(),
      })
      .strict(),
    ingressNginx: z.object({ namespace: dnsLabel("namespace"), chart: z.string(), loadBalancer: LoadBalancer, className: dnsLabel("class name") }).strict(),
    istio: z
      .object({
        namespace: dnsLabel("namespace"),
        gatewayNamespace: dnsLabel("namespace"),
        charts: z.object({ base: z.string(), istiod: z.string(), gateway: z.string() }).strict(),
        gatewayName: dnsLabel("gateway name"),
        loadBalancer: LoadBalancer,
      })
      .strict(),
    registry: z
      .object({
        namespace: dnsLabel("namespace"),
        image: z.string().min(1),
        storage: quantity,
        loadBalancer: LoadBalancer,
        resources: Resources,
      })
      .strict(),
    chartmuseum: z
      .object({
        namespace: dnsLabel("namespace"),
        chart: z.string(),
        storage: quantity,
        loadBalancer: LoadBalancer,
        /** The version range HelmReleases of our own applications accept from ChartMuseum. */
        appChart: z.object({ name: dnsLabel("chart name"), version: z.string().min(1) }).strict(),
      })
      .strict(),
    postgres: Postgres,
    cloudnativePg: z.object({ namespace: dnsLabel("namespace"), chart: z.string() }).strict(),
    monitoring: z
      .object({
        namespace: dnsLabel("namespace"),
        chart: z.string(),
        retention: duration,
        prometheusStorage: quantity,
        grafanaStorage: quantity,
        alertmanagerStorage: quantity,
        /**
         * Where alerts go, by severity. Receivers are Alertmanager receiver configs; credentials go in
         * their *_file fields (mounted from a sealed secret), never inline.
         */
        alerting: z
          .object({
            receivers: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
            routes: z.object({ critical: z.string(), high: z.string(), medium: z.string(), low: z.string() }).partial().strict().default({}),
          })
          .strict()
          .optional(),
      })
      .strict(),
    /**
     * Where the operator is told (issue 17). Each target is a webhook whose URL is a sealed secret; alerts
     * route to targets by severity, Flux sends its failures and releases to one, and a Receiver lets the
     * Git host trigger a reconcile on push.
     */
    notifications: z
      .object({
        targets: z.record(dnsLabel("notification target name"), z.object({ type: z.enum(["discord", "generic"]), description: z.string().optional() }).strict()),
        /** Target per severity; "drop" is the explicit choice to send nothing. A target for low gets a daily digest. */
        alerts: z.object({ critical: z.string(), high: z.string(), medium: z.string(), low: z.string() }).strict(),
        /** Target of Flux's events: failures of every source, Kustomization and HelmRelease, and successful releases. */
        flux: z.string(),
        receiver: z
          .object({
            type: z.enum(["github", "generic"]),
            /** Key of network.hostnames whose first name the Git host calls; the entry point routes /hook/ there. */
            host: z.string().min(1),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    logging: z
      .object({
        namespace: dnsLabel("namespace"),
        store: z.literal("loki"),
        charts: z.object({ store: z.string(), shipper: z.string() }).strict(),
        retention: duration,
        storage: quantity,
      })
      .strict(),
  })
  .strict();

const Probe = z.union([z.object({ path: z.string().startsWith("/") }).strict(), z.object({ exec: z.array(z.string()).min(1) }).strict()]);

/** What a component talks to. Short strings keep the definition readable; the loader resolves each. */
const Edge = z.union([z.string().min(1), z.object({ external: z.string().regex(/^[a-z0-9.-]+:\d+$/, "an external host with port, such as discord.com:443") }).strict()]);

const Component = z
  .object({
    role: z.enum(["backend", "frontend", "worker", "bot", "cache", "agent"]),
    description: z.string().optional(),
    tag: z.string().min(1, "every component pins an image tag"),
    optional: z.boolean().default(false),
    replicas: z.number().int().min(0).default(1),
    port: port.nullable().default(null),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).default({}),
    /** Environment variable -> "secret-name/key". */
    secretEnv: z.record(z.string(), z.string()).default({}),
    secretFiles: z.array(z.object({ secret: z.string(), mountPath: z.string().startsWith("/") }).strict()).default([]),
    probes: z.object({ liveness: Probe, readiness: Probe }).strict().optional(),
    resources: Resources.optional(),
    metrics: z
      .object({ port, path: z.string().startsWith("/") })
      .strict()
      .optional(),
    /** Path prefix under which the component is reachable through the ingress / gateway. */
    route: z.string().startsWith("/").optional(),
    /** Health URL path as checked through the ingress, e.g. /ffl/api/health. */
    health: z.string().startsWith("/").optional(),
    database: z.string().optional(),
    migration: z
      .object({ command: z.array(z.string()).min(1), deadlineSeconds: z.number().int().min(60).default(1800) })
      .strict()
      .optional(),
    cronJobs: z.array(z.object({ name: dnsLabel("cron job name"), schedule: z.string(), command: z.array(z.string()).min(1) }).strict()).default([]),
    persistence: z
      .object({ size: quantity, mountPath: z.string().startsWith("/") })
      .strict()
      .optional(),
    talksTo: z.array(Edge).default([]),
    pdb: z.boolean().default(false),
  })
  .strict();

const Secret = z
  .object({
    name: dnsLabel("secret name"),
    description: z.string().optional(),
    /** key -> how its value comes to be: supplied by the operator, or generated by `bk secrets`. */
    keys: z.record(z.string(), z.enum(["operator", "generate"])),
  })
  .strict();

export const AppFile = z
  .object({
    name: dnsLabel("application name"),
    namespace: dnsLabel("namespace"),
    description: z.string(),
    /** Where the app's own repository lives on the build host (for `bk ips scan/sync`). */
    sourceRepository: z.string().optional(),
    components: z.record(z.string(), Component),
    secrets: z.array(Secret).default([]),
  })
  .strict();

const Exception = z
  .object({
    rule: z.string().min(1),
    object: z.string().min(1),
    reason: z.string().min(20, "say why in a sentence: an exception without a reason is silence"),
  })
  .strict();

export const ExceptionsFile = z.object({ exceptions: z.array(Exception) }).strict();

export { ClusterFile, InfraFile };
export type ClusterDef = z.infer<typeof ClusterFile>;
export type InfraDef = z.infer<typeof InfraFile>;
export type AppDef = z.infer<typeof AppFile>;
export type ComponentDef = z.infer<typeof Component>;
export type SecretDef = z.infer<typeof Secret>;
export type LoadBalancerDef = z.infer<typeof LoadBalancer>;
export type ChartPinDef = z.infer<typeof ChartPin>;
export type ExceptionDef = z.infer<typeof Exception>;
export type PodSecurity = z.infer<typeof PodSecurityLevel>;
