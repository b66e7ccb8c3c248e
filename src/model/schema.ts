/**
 * The shape of the BeckerKube definition (the YAML files under definition/).
 * Field-level rules live here; rules that relate several entries (IPs inside the pool,
 * references that must resolve) live in invariants.ts, because zod sees one value at a time.
 */
import { z } from "zod";
import { DNS1123_LABEL, dnsLabel } from "./names.js";
import { ComponentPathsSchema, MeshSchema } from "./mesh.js";
import { durationMs } from "../core/duration.js";
import { imageRefProblem, parseImage, unpinnedReason } from "../core/image-ref.js";
import { compareQuantities, parseQuantity } from "../core/quantity.js";
import { formatCidr, isPrivateIPv4, parseCidr, parseIPv4 } from "../core/ipv4.js";
import { cronProblem } from "./cron.js";
import { INFRA_CONTAINER_NAMES, type InfraContainer as InfraContainerName } from "./infra-resources.js";
import { CanarySchema, ProgressiveDeliverySchema } from "./progressive.js";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DURATION = /^(\d+(ms|s|m|h))+$/;
const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** The quantity grammar without a sign, for the editor's JSON schema; quantity.ts reads the value. */
const UNSIGNED_QUANTITY = /^(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;
const IPV4_LIKE = /^\d+(\.\d+){3}$/;
/** The longest sealing key the controller makes is valid for ten years (its --key-ttl); renewing later is never. */
const SEALING_KEY_TTL = "87600h";
/** cert-manager refuses certificates valid for less than an hour and renewBefore under five minutes. */
const CERT_MIN_DURATION = "1h";
const CERT_MIN_RENEW_BEFORE = "5m";
const EXACT_SEMVER = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
/** A Postgres identifier we are willing to manage: lower case, starts with a letter. */
const PG_IDENT = /^[a-z][a-z0-9_]{0,62}$/;

export const ipv4 = z.string().regex(IPV4, "must be an IPv4 address such as 192.168.7.21");
export const port = z.number().int("a port is a whole number").min(1, "a port is 1..65535").max(65535, "a port is 1..65535");
/**
 * A rule zod checks on one value, with the fix the operator reads next to the message (source.ts
 * shows `params.fix`). `problem` returns what is wrong, or undefined when the value is fine.
 */
function rule<T>(problem: (v: T) => string | undefined, fix: string) {
  return (v: T, ctx: z.core.$RefinementCtx<T>) => {
    const message = problem(v);
    // continue: false keeps the regex after a rule (there for the editor's JSON schema) from repeating the message.
    if (message) ctx.addIssue({ code: "custom", message, params: { fix }, input: v, continue: false });
  };
}

/** A whole number that fits the int32 fields Kubernetes stores it in. */
export const int32 = (min: number) => z.number().int("must be a whole number").min(min, `must be at least ${min}`).max(2_147_483_647, "must be at most 2147483647");

export const duration = z
  .string()
  .regex(DURATION, "must be a duration such as 30s, 1m, 10m or 1h30m")
  .superRefine(rule((v) => (durationMs(v) === 0 ? "a zero duration never elapses" : undefined), "use a duration above zero, such as 1m"));

/** A Kubernetes quantity (512Mi, 10Gi, 250m, 1.5, 1e3), not negative; `positive` also refuses zero. */
const quantityOf = (example: string, positive = false) =>
  z
    .string()
    .superRefine(
      rule((v) => {
        const q = parseQuantity(v);
        if (!q) return `'${v}' is not a Kubernetes quantity such as ${example}`;
        if (q.num < 0n) return `'${v}' is negative`;
        if (positive && q.num === 0n) return `'${v}' is zero`;
        return undefined;
      }, `write a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, ...), such as ${example}`),
    )
    .regex(UNSIGNED_QUANTITY);
export const quantity = quantityOf("512Mi or 10Gi", true);

/** An image the cluster pulls: valid reference syntax, pinned to a version. */
const image = z
  .string()
  .superRefine(
    rule((v) => {
      const problem = imageRefProblem(v);
      if (problem) return `image '${v}': ${problem}`;
      const unpinned = unpinnedReason(parseImage(v));
      return unpinned ? `image '${v}' ${unpinned}` : undefined;
    }, "write registry/repository:version with a lower-case repository, such as docker.io/library/registry:3.0.0"),
  )
  .min(1);

/** A CronJob schedule Kubernetes accepts. */
const cronSchedule = z
  .string()
  .superRefine(
    rule((v) => {
      const problem = cronProblem(v);
      return problem && `schedule '${v}': ${problem}`;
    }, "write five fields, minute hour day-of-month month day-of-week, such as '15 3 * * *', or a macro such as @daily"),
  )
  .min(1);

/** restic's s3: or rest: backend over HTTPS (or HTTP on the LAN); user:password@ is refused, credentials go in the sealed Secret. */
const resticRepository = z
  .string()
  .regex(
    /^(s3|rest):https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/,
    "must be a restic repository URL such as s3:https://s3.example.net/beckerkube or rest:https://nas.lan:8000/beckerkube, without user:password@ (credentials are a sealed secret)",
  );

const keep = z.number().int("a count of snapshots is a whole number").min(1, "keep at least 1").max(1000, "at most 1000");
const Retention = z.object({ hourly: keep, daily: keep, weekly: keep, monthly: keep, yearly: keep }).partial().strict();

/** A DNS name the LAN resolves (a DNS-1123 subdomain): no scheme, no port, no IP address. */
const hostname = z
  .string()
  .superRefine(
    rule((v) => {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return `'${v}' is a URL, not a host name`;
      if (IPV4_LIKE.test(v) || v.includes(":")) return `'${v}' is an address or has a port, not a host name; the endpoint's IP is in its certificate already`;
      if (v.length > 253) return `'${v}' is longer than 253 characters`;
      if (!v.split(".").every((label) => label.length <= 63 && DNS1123_LABEL.test(label))) return `'${v}' is not a DNS-1123 subdomain: lower-case labels of letters, digits and '-', joined by '.'`;
      return undefined;
    }, "write only the host name, in lower case, such as registry.beckerkube.lan"),
  )
  .regex(DNS1123_SUBDOMAIN);

/** A URL path as an ingress or probe takes it: absolute, and only the characters a path may hold unescaped. */
const urlPath = z.string().regex(/^\/[A-Za-z0-9/._~%!$&'()*+,;=:@-]*$/, "must be an absolute URL path such as /api/health, without spaces");
/** Where a volume is mounted: absolute, no spaces, no ':' (Kubernetes refuses both). */
const mountPath = z.string().regex(/^\/[^\s:]*$/, "must be an absolute path such as /data, without spaces or ':'");
/** An environment variable name. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "must be an environment variable name such as DATABASE_URL");
/** A DNS name (DNS-1123 subdomain). */
const dnsSubdomain = (what: string) => z.string().regex(DNS1123_SUBDOMAIN, `${what} must be a DNS-1123 subdomain such as cluster.local`);

export const PodSecurityLevel = z.enum(["privileged", "baseline", "restricted"]);

const Resources = z
  .object({
    requests: z.object({ cpu: quantityOf("50m or 1"), memory: quantityOf("128Mi") }).strict(),
    limits: z.object({ cpu: quantityOf("500m or 2"), memory: quantityOf("512Mi") }).strict(),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (const what of ["cpu", "memory"] as const) {
      const request = parseQuantity(r.requests[what]);
      const limit = parseQuantity(r.limits[what]);
      if (request && limit && compareQuantities(limit, request) < 0)
        ctx.addIssue({
          code: "custom",
          path: ["limits", what],
          message: `the ${what} limit ${r.limits[what]} is below the request ${r.requests[what]}; Kubernetes refuses such a pod`,
          params: { fix: `raise limits.${what} to at least ${r.requests[what]}, or lower requests.${what}` },
          input: r.limits[what],
        });
    }
  });

/** A pinned upstream Helm chart. Exact versions only: a range would let an upgrade land without a commit. */
export const ChartPin = z
  .object({
    repository: z.string().regex(/^(https?|oci):\/\/\S+$/, "must be an https:// or oci:// chart repository URL"),
    chart: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be a chart name such as cert-manager"),
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
    ports: z.array(z.object({ name: dnsLabel("port name").max(15, "port name must be at most 15 characters"), port }).strict()).min(1, "a LoadBalancer needs at least one port"),
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

/** A private IPv4 network in CIDR form, written with its network address. */
const cidr = z
  .string()
  .superRefine(
    rule((v) => {
      const c = parseCidr(v);
      if (!c) return `'${v}' is not an IPv4 network in CIDR form`;
      if (c.prefix < 8 || c.prefix > 30) return `'${v}': a node network is /8 to /30 (a /31 or /32 has no room for a gateway, a node and a pool)`;
      if (c.address !== c.network) return `'${v}' has host bits set: the network is ${formatCidr(c)}`;
      if (!isPrivateIPv4(c.network) || !isPrivateIPv4(c.broadcast)) return `'${v}' is not a private range; a bridge on it would hide real addresses from this host`;
      return undefined;
    }, "write a private network with its network address, such as 192.168.7.0/24"),
  )
  .regex(/^\d+(\.\d+){3}\/\d+$/);

/** minikube --static-ip takes a private IPv4 address whose last octet is 2..254. */
const nodeIp = ipv4.superRefine(
  rule((v) => {
    const n = parseIPv4(v);
    if (n === undefined) return undefined;
    if (!isPrivateIPv4(n)) return `${v} is not a private address, which minikube --static-ip refuses`;
    if (n % 256 < 2 || n % 256 > 254) return `${v} ends in .${n % 256}; minikube --static-ip takes a last octet of 2 to 254`;
    return undefined;
  }, "choose a private address ending in .2 to .254 inside network.node.subnet, such as 192.168.7.2"),
);

/**
 * Other clusters made from this same definition (issue 19): each profile gets clusters/<name>/, the same tree
 * patched only where the profile needs it (src/model/profiles.ts says what an `ha` profile changes).
 */
const Profile = z
  .object({
    kind: z.literal("ha").describe("ha: several nodes, no single point of failure left unexplained"),
    nodes: int32(1).describe("Nodes of the cluster (minikube --nodes), each the size of cluster.profile"),
    replicas: int32(1).default(2).describe("Replicas of every stateless component; each gets a PodDisruptionBudget and a spread over nodes"),
    postgres: z
      .object({
        instances: int32(1).describe("PostgreSQL instances (CloudNativePG), each on its own node"),
        synchronous: int32(0).describe("Standbys that must confirm each commit (synchronous replication)"),
      })
      .strict(),
    /** What still runs once, or without a budget or spread, on this profile, by id, and why that is accepted. */
    accepted: z.record(z.string(), z.string().min(20, "say why in a sentence")).default({}),
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
            cpus: int32(2),
            memory: z.string().regex(/^\d+[mg]$/, "memory like 12g"),
            disk: z.string().regex(/^\d+[mg]$/, "disk like 80g"),
            cni: z.enum(["calico", "cilium", "flannel", "bridge", "kindnet", "auto"]),
            /**
             * What the node keeps for itself and for pods no tree object declares (the kubelet, the OS, Kubernetes'
             * own pods, the CNI, the Flux controllers `bk bootstrap` installs): `bk plan` fits the platform in the rest.
             */
            reserved: z.object({ cpu: quantityOf("1 or 1500m"), memory: quantityOf("2Gi") }).strict(),
          })
          .strict(),
      })
      .strict(),
    gitops: z
      .object({
        repository: dnsLabel("repository name"),
        url: z.string().regex(/^(https?|ssh):\/\/\S+$/, "must be an https:// or ssh:// Git URL"),
        branch: z.string().regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![./])$/, "must be a Git branch name such as main"),
        interval: duration,
        // bk synth owns clusters/ (tree/tree.ts OWNED_DIRS): anywhere else it would refuse to write the Flux entry point.
        path: z.string().regex(/^clusters(\/[a-z0-9][a-z0-9_-]*)+$/, "a folder under clusters/, such as clusters/minikube"),
        secretRef: z.string().optional(),
      })
      .strict(),
    network: z
      .object({
        // bk makes the node's network itself, not minikube: without --static-ip minikube moves to another
        // subnet when one is taken, and the pool is left on no network the host has (incident 1).
        node: z
          .object({
            network: dnsLabel("network name")
              .max(15, "the network name is also its bridge interface name, which Linux caps at 15 characters")
              .describe("The container network bk bootstrap makes and minikube --network attaches the node to; also the host's bridge interface name"),
            subnet: cidr.describe("The node network in CIDR form, a private range, such as 192.168.7.0/24; the LoadBalancer pool lies inside it"),
            gateway: ipv4.describe("The host's own address on the bridge, inside the subnet"),
            ip: nodeIp.describe("The node's address (minikube --static-ip): inside the subnet, last octet 2 to 254, outside the pool"),
            dhcpRange: z.object({ start: ipv4, end: ipv4 }).strict().optional().describe("Addresses another allocator hands out on the node network; the pool and the node stay clear of them"),
          })
          .strict()
          .describe("Where the Minikube node runs: a bridge network on the host, made by bk bootstrap (docs/runbooks/lan-access.md)"),
        loadBalancerPool: z.object({ name: dnsLabel("pool name"), start: ipv4, end: ipv4 }).strict(),
        clusterDomain: dnsSubdomain("the cluster domain"),
        /** Ingress for routes: the seed's ingress-nginx, or Gateway API HTTPRoutes on the Istio gateway. */
        routes: z.enum(["ingress-nginx", "gateway-api"]),
        /** DNS names the LAN uses for the cluster's entry points; they become certificate SANs. */
        hostnames: z.record(z.string(), z.array(hostname)).default({}),
      })
      .strict(),
    podSecurity: z.object({ version: z.string().regex(/^v\d+\.\d+$|^latest$/, "a version such as v1.34") }).strict(),
    storage: z.object({ className: dnsLabel("storage class") }).strict(),
    namespaces: z.array(Namespace).min(1),
    profiles: z.record(dnsLabel("profile name"), Profile).default({}),
  })
  .strict();

const Postgres = z
  .object({
    namespace: dnsLabel("namespace"),
    clusterName: dnsLabel("cluster name"),
    image,
    instances: int32(1),
    storage: quantity,
    loadBalancer: LoadBalancer,
    roles: z.array(z.object({ name: z.string().regex(PG_IDENT, "a role name: lower case letters, digits, '_'") }).strict()),
    databases: z.array(
      z
        .object({
          name: z.string().regex(PG_IDENT, "a database name: lower case letters, digits, '_'"),
          owner: z.string(),
          extensions: z.array(z.string().regex(/^[a-z][a-z0-9_-]*$/, "an extension name such as vector or uuid-ossp")).default([]),
          purpose: z.string().optional(),
        })
        .strict(),
    ),
    backup: z.object({ schedule: cronSchedule, keep: int32(1), storage: quantity }).strict(),
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
        ca: z.object({ commonName: z.string().min(1).max(64, "a certificate's common name is at most 64 characters"), duration: duration }).strict(),
        certificateDuration: duration,
        renewBefore: duration,
      })
      .strict()
      .superRefine(checkCertificateDurations),
    sealedSecrets: z
      .object({
        namespace: dnsLabel("namespace"),
        chart: z.string(),
        controllerName: dnsLabel("controller name"),
        /** 0 disables automatic key rotation; rotation without a backup is how keys get lost (incident 6). */
        keyRenewPeriod: z.string().superRefine(rule(keyRenewProblem, `write "0" (no rotation) or a duration below ${SEALING_KEY_TTL}, such as 720h`)),
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
        image,
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
        /**
         * Our application chart and the exact version every application installs (an app may pin its own with
         * `chartVersion`). Exact: a range would let one `bk chart push` upgrade every component without a commit.
         */
        appChart: z
          .object({
            name: dnsLabel("chart name"),
            version: z.string().regex(EXACT_SEMVER, "pin the exact application chart version such as 0.2.0 (a range upgrades every app at the next `bk chart push`, unreviewed); `bk chart push` writes it"),
          })
          .strict(),
      })
      .strict(),
    postgres: Postgres,
    /**
     * Requests and limits of every infrastructure container: `default` for each one not named in `components`,
     * and for application components without their own.
     */
    resources: z
      .object({
        default: Resources,
        components: z.partialRecord(z.enum(INFRA_CONTAINER_NAMES as [InfraContainerName, ...InfraContainerName[]]), Resources).default({}),
      })
      .strict(),
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
    /**
     * Volume backups off the node (issue 17): VolSync's restic mover copies every volume a rebuild would lose to
     * a restic repository the definition names, on a schedule, each volume into its own repository below it.
     */
    volumeBackups: z
      .object({
        namespace: dnsLabel("namespace"),
        chart: z.string(),
        /** restic repository URL prefix, off the node: s3:https://host/bucket[/path] or rest:https://host[:port]/path. Credentials never in the URL. */
        repository: resticRepository,
        /** When each volume is backed up unless it says otherwise. */
        schedule: cronSchedule,
        /** Snapshots restic keeps (restic forget --keep-*). */
        retention: Retention,
        /** Per volume (registry, chartmuseum, grafana, loki, postgres-dumps, <app>-<component>): another schedule or retention, or skip with the reason. */
        volumes: z.record(z.string(), z.object({ schedule: cronSchedule.optional(), retention: Retention.optional(), skip: z.string().min(1).optional() }).strict()).default({}),
      })
      .strict()
      .optional(),
    /** The service mesh across the application namespaces (model/mesh.ts). Absent: Istio serves the gateway only. */
    mesh: MeshSchema.optional(),
    /** Flagger, for components that declare a canary (progressive.ts). */
    progressiveDelivery: ProgressiveDeliverySchema.optional(),
  })
  .strict();

const Probe = z.union([z.object({ path: urlPath }).strict(), z.object({ exec: z.array(z.string()).min(1) }).strict()]);

/** What a component talks to. Short strings keep the definition readable; the loader resolves each. */
const Edge = z.union([
  z.string().min(1),
  z
    .object({
      external: z.string().superRefine(
        rule((v) => {
          const [host = "", portText, ...rest] = v.split(":");
          const p = Number(portText);
          if (rest.length || !DNS1123_SUBDOMAIN.test(host) || !/^\d+$/.test(portText ?? "")) return `'${v}' is not a host with port`;
          return p >= 1 && p <= 65535 ? undefined : `port ${portText} of '${v}' is not 1..65535`;
        }, "write a lower-case host name and port, such as discord.com:443"),
      ),
    })
    .strict(),
]);

// ---- Images: where a third-party image named under the private registry comes from (issue 16) ----

/**
 * The upstream image a component runs a copy of (`bk images mirror` copies it into the private registry under
 * the component's name). Without a tag or digest the component's `tag` is the upstream tag, so the version is
 * written once; a digest pins exactly what is copied.
 */
const UpstreamImage = z
  .string()
  .superRefine(
    rule((v) => {
      const problem = imageRefProblem(v);
      if (problem) return `upstream image '${v}': ${problem}`;
      const ref = parseImage(v);
      const host = ref.repository.split("/")[0]!;
      // Docker's short names (redis, library/redis) depend on the host's configured search registries.
      if (!ref.repository.includes("/") || (!/[.:]/.test(host) && host !== "localhost")) return `upstream image '${v}' does not name its registry`;
      if (ref.tag?.toLowerCase() === "latest") return `upstream image '${v}' uses the moving tag \`latest\``;
      return undefined;
    }, "write the registry and repository, such as docker.io/library/redis (the component's tag is used), or pin a tag or digest: docker.io/library/redis:7.4.2"),
  )
  .min(1);

// ---- end of images ----

const Component = z
  .object({
    role: z.enum(["backend", "frontend", "worker", "bot", "cache", "agent"]),
    description: z.string().optional(),
    tag: z.string().min(1, "every component pins an image tag"),
    /** A third-party image mirrored into the private registry: where it comes from (`bk images mirror`). */
    upstream: UpstreamImage.optional(),
    optional: z.boolean().default(false),
    replicas: int32(0).default(1),
    port: port.nullable().default(null),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(envName, z.string()).default({}),
    /** Environment variable -> "secret-name/key". */
    secretEnv: z.record(envName, z.string()).default({}),
    secretFiles: z.array(z.object({ secret: z.string(), mountPath }).strict()).default([]),
    probes: z.object({ liveness: Probe, readiness: Probe }).strict().optional(),
    resources: Resources.optional(),
    metrics: z.object({ port, path: urlPath }).strict().optional(),
    /** Path prefix under which the component is reachable through the ingress / gateway. */
    route: urlPath.optional(),
    /** Health URL path as checked through the ingress, e.g. /ffl/api/health. */
    health: urlPath.optional(),
    database: z.string().optional(),
    migration: z
      .object({ command: z.array(z.string()).min(1), deadlineSeconds: int32(60).default(1800) })
      .strict()
      .optional(),
    cronJobs: z.array(z.object({ name: dnsLabel("cron job name"), schedule: cronSchedule, command: z.array(z.string()).min(1) }).strict()).default([]),
    persistence: z.object({ size: quantity, mountPath }).strict().optional(),
    talksTo: z.array(Edge).default([]),
    /** The URL path prefixes it serves to the components that talk to it: the mesh admits those paths only (model/mesh.ts). */
    paths: ComponentPathsSchema.optional(),
    pdb: z.boolean().default(false),
    /** Progressive delivery of a routed component through Flagger (progressive.ts). */
    canary: CanarySchema.optional(),
  })
  .strict();

const Secret = z
  .object({
    name: dnsLabel("secret name"),
    description: z.string().optional(),
    /** key -> how its value comes to be: supplied by the operator, or generated by `bk secrets`. */
    keys: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/, "a secret key is letters, digits, '-', '_' and '.'"), z.enum(["operator", "generate"])),
  })
  .strict();

export const AppFile = z
  .object({
    name: dnsLabel("application name"),
    namespace: dnsLabel("namespace"),
    description: z.string(),
    /** Where the app's own repository lives on the build host (for `bk ips scan/sync`). */
    sourceRepository: z.string().optional(),
    /**
     * The exact version of the application chart (charts/app) this app's components install, when it differs from
     * the platform's `chartmuseum.appChart.version`: to let one app try a new chart first, or hold one back.
     */
    chartVersion: z.string().regex(EXACT_SEMVER, "pin an exact chart version such as 0.2.0").optional(),
    components: z.record(z.string(), Component),
    secrets: z.array(Secret).default([]),
  })
  .strict();

const Exception = z
  .object({
    rule: z.string().regex(/^[a-z][a-z0-9-]*\/([a-z][a-z0-9-]*|\*)$/, "must be a policy rule id such as image/registry, or a family such as rbac/* (`bk validate --rules` lists them)"),
    object: z.string().regex(/^[A-Z][A-Za-z0-9]*\/[^\s/]+(\/[^\s/]+)?$/, "must name an object as Kind/name or Kind/namespace/name, such as Deployment/registry/registry (a trailing * matches a prefix)"),
    reason: z.string().min(20, "say why in a sentence: an exception without a reason is silence"),
  })
  .strict();

export const ExceptionsFile = z.object({ exceptions: z.array(Exception) }).strict();

export { ClusterFile, InfraFile };
export type ClusterDef = z.infer<typeof ClusterFile>;
export type ProfileDef = z.infer<typeof Profile>;
export type InfraDef = z.infer<typeof InfraFile>;
export type AppDef = z.infer<typeof AppFile>;
export type ComponentDef = z.infer<typeof Component>;
export type SecretDef = z.infer<typeof Secret>;
export type LoadBalancerDef = z.infer<typeof LoadBalancer>;
export type ChartPinDef = z.infer<typeof ChartPin>;
export type ExceptionDef = z.infer<typeof Exception>;
export type PodSecurity = z.infer<typeof PodSecurityLevel>;

/** Certificates renew before they expire, live at least as long as cert-manager allows, and not beyond their CA. */
function checkCertificateDurations(c: { ca: { duration: string }; certificateDuration: string; renewBefore: string }, ctx: z.core.$RefinementCtx): void {
  const renewBefore = durationMs(c.renewBefore);
  const certificate = durationMs(c.certificateDuration);
  const ca = durationMs(c.ca.duration);
  // A value that is no duration has its own issue already.
  if (renewBefore === undefined || certificate === undefined || ca === undefined) return;
  const ms = (d: string) => durationMs(d)!;
  const issue = (path: string[], message: string, fix: string) => ctx.addIssue({ code: "custom", path, message, params: { fix }, input: c });
  if (ms(c.renewBefore) >= ms(c.certificateDuration))
    issue(
      ["renewBefore"],
      `renewBefore ${c.renewBefore} is not shorter than certificateDuration ${c.certificateDuration}: certificates would renew at or after expiry`,
      "make renewBefore shorter than certificateDuration, such as a third of it",
    );
  else if (ms(c.renewBefore) < ms(CERT_MIN_RENEW_BEFORE)) issue(["renewBefore"], `renewBefore ${c.renewBefore} is under ${CERT_MIN_RENEW_BEFORE}, which cert-manager refuses`, `use at least ${CERT_MIN_RENEW_BEFORE}`);
  if (ms(c.certificateDuration) < ms(CERT_MIN_DURATION))
    issue(["certificateDuration"], `certificateDuration ${c.certificateDuration} is under ${CERT_MIN_DURATION}, which cert-manager refuses`, `use at least ${CERT_MIN_DURATION}`);
  if (ms(c.certificateDuration) > ms(c.ca.duration))
    issue(
      ["certificateDuration"],
      `certificateDuration ${c.certificateDuration} outlives the CA (${c.ca.duration}): certificates would stop verifying when the CA expires`,
      "make certificateDuration shorter than ca.duration",
    );
}

function keyRenewProblem(v: string): string | undefined {
  if (v === "0") return undefined;
  const ms = durationMs(v);
  if (ms === undefined || !DURATION.test(v)) return `'${v}' is not "0" or a duration such as 720h`;
  if (ms === 0) return undefined;
  if (ms < durationMs("1h")!) return `'${v}' would make a new sealing key more often than hourly, each one to back up`;
  if (ms >= durationMs(SEALING_KEY_TTL)!) return `'${v}' renews the sealing key at or after its certificate expires (${SEALING_KEY_TTL})`;
  return undefined;
}
