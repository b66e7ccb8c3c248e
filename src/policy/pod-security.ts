/**
 * The Kubernetes Pod Security Standards (baseline and restricted), checked on every pod template before
 * it reaches the cluster, so a manifest the admission controller would reject fails `bk validate` instead
 * of a Flux reconciliation.
 *
 * The checks follow the upstream definitions (k8s.io/pod-security-admission, policy/check_*.go) including
 * their version differences, for the version in PolicyContext.podSecurityVersion. Where the upstream restricted
 * profile replaces a baseline check with a stricter one (seccomp, capabilities, volume types, procMount), the
 * restricted rule here reports only what the baseline rule does not, so that baseline + restricted rules together
 * equal the upstream restricted profile, nothing is reported twice, and excepting `psa-restricted/*` for an
 * object leaves it exactly at baseline.
 */
import type { Finding } from "../core/finding.js";
import type { KubeObject } from "../core/object.js";
import { at, fieldPath, list, rec, str, type Rec } from "../core/paths.js";
import { containersOf, describeContainer, podTemplateOf, type PodTemplate } from "../core/pod-spec.js";
import type { PodSecurityLevel, PolicyContext, PolicyRule } from "./rule.js";

type Violation = Omit<Finding, "rule" | "file" | "object">;

/** Newest released Pod Security Standards version these checks implement; "latest" means this. */
export const LATEST_PSA_MINOR = 36;
/** Oldest version reproduced exactly (seccomp fields, runAsUser, Windows exemptions all exist from here on). */
const OLDEST_PSA_MINOR = 25;

/** "v1.34" -> 34, "latest"/unset -> LATEST_PSA_MINOR. Versions older than v1.25 are evaluated as v1.25. */
export function psaMinor(version: string | undefined): number {
  const m = /^v?1\.(\d+)$/.exec(version ?? "");
  if (!m) return LATEST_PSA_MINOR;
  return Math.max(OLDEST_PSA_MINOR, Number(m[1]));
}

export function namespaceLevel(obj: KubeObject, ctx: PolicyContext): PodSecurityLevel {
  // Namespaced workloads without a namespace land in "default" when applied.
  const ns = obj.metadata.namespace ?? "default";
  return ctx.namespaceLevels.get(ns) ?? ctx.defaultPodSecurityLevel ?? "restricted";
}

interface PsaCheck {
  id: string;
  level: "baseline" | "restricted";
  description: string;
  check(pt: PodTemplate, minor: number): Violation[];
}

const RANK: Record<PodSecurityLevel, number> = { privileged: 0, baseline: 1, restricted: 2 };

function psaRule(def: PsaCheck): PolicyRule {
  return {
    id: def.id,
    description: def.description,
    check(obj, ctx) {
      const pt = podTemplateOf(obj);
      if (!pt) return [];
      const level = namespaceLevel(obj, ctx);
      if (RANK[level] < RANK[def.level]) return [];
      const ns = obj.metadata.namespace ?? "default";
      const why = ` (namespace "${ns}" enforces Pod Security "${level}")`;
      return def.check(pt, psaMinor(ctx.podSecurityVersion)).map((v) => ({ ...v, message: v.message + why }));
    },
  };
}

function violation(field: string, message: string, fix: string): Violation {
  return { severity: "error", field, message, fix };
}

/** The pod-level security context and every container's, with who sets them and where. */
interface ScTarget {
  who: string;
  sc: Rec | undefined;
  path: string;
  isPod: boolean;
}

function securityContexts(pt: PodTemplate): ScTarget[] {
  const out: ScTarget[] = [{ who: "the pod", sc: rec(pt.spec.securityContext), path: fieldPath(pt.specPath, "securityContext"), isPod: true }];
  for (const c of containersOf(pt)) {
    out.push({ who: describeContainer(c), sc: rec(c.container.securityContext), path: fieldPath(c.path, "securityContext"), isPod: false });
  }
  return out;
}

function containerContexts(pt: PodTemplate): ScTarget[] {
  return securityContexts(pt).filter((t) => !t.isPod);
}

function isWindowsPod(pt: PodTemplate): boolean {
  return str(at(pt.spec, "os")?.name) === "windows";
}

/** hostUsers: false puts the pod in a user namespace, where root and unmasked /proc are not the host's (v1.35+). */
function inUserNamespace(pt: PodTemplate): boolean {
  return pt.spec.hostUsers === false;
}

// ---------------------------------------------------------------- baseline

const hostProcess: PsaCheck = {
  id: "psa-baseline/host-process",
  level: "baseline",
  description: "Pods and containers must not set securityContext.windowsOptions.hostProcess=true.",
  check(pt) {
    return securityContexts(pt)
      .filter((t) => at(t.sc, "windowsOptions")?.hostProcess === true)
      .map((t) =>
        violation(
          fieldPath(t.path, "windowsOptions", "hostProcess"),
          `${t.who} sets securityContext.windowsOptions.hostProcess=true`,
          "remove windowsOptions.hostProcess (or set it to false): a host-process container has full access to the Windows node",
        ),
      );
  },
};

const hostNamespaces: PsaCheck = {
  id: "psa-baseline/host-namespaces",
  level: "baseline",
  description: "Pods must not share the host's network, PID or IPC namespace (hostNetwork, hostPID, hostIPC).",
  check(pt) {
    return (["hostNetwork", "hostPID", "hostIPC"] as const)
      .filter((k) => pt.spec[k] === true)
      .map((k) =>
        violation(
          fieldPath(pt.specPath, k),
          `the pod sets ${k}=true and shares the node's ${k.slice(4).toUpperCase()} namespace`,
          `remove ${k} (or set it to false); expose the workload through a Service instead of the host's namespaces`,
        ),
      );
  },
};

const privileged: PsaCheck = {
  id: "psa-baseline/privileged",
  level: "baseline",
  description: "Containers must not run privileged (securityContext.privileged=true).",
  check(pt) {
    return containerContexts(pt)
      .filter((t) => t.sc?.privileged === true)
      .map((t) =>
        violation(fieldPath(t.path, "privileged"), `${t.who} sets securityContext.privileged=true`, "remove securityContext.privileged (or set it to false); grant only the specific capability the container needs"),
      );
  },
};

/** Capabilities the container runtime grants by default; adding one of these changes nothing. */
export const BASELINE_CAPABILITIES: ReadonlySet<string> = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

function addedCapabilities(t: ScTarget): Array<{ cap: string; field: string }> {
  return list(at(t.sc, "capabilities")?.add).map((c, i) => ({ cap: String(c), field: fieldPath(t.path, "capabilities", "add", i) }));
}

const capabilitiesBaseline: PsaCheck = {
  id: "psa-baseline/capabilities",
  level: "baseline",
  description: "Containers may add only capabilities from the runtime's default set (no NET_RAW, SYS_ADMIN, ...).",
  check(pt) {
    const out: Violation[] = [];
    for (const t of containerContexts(pt)) {
      for (const { cap, field } of addedCapabilities(t)) {
        if (BASELINE_CAPABILITIES.has(cap)) continue;
        out.push(violation(field, `${t.who} adds capability ${cap}, which is outside the default set`, `remove ${cap} from securityContext.capabilities.add`));
      }
    }
    return out;
  },
};

const hostPathVolumes: PsaCheck = {
  id: "psa-baseline/host-path-volumes",
  level: "baseline",
  description: "Pods must not mount hostPath volumes.",
  check(pt) {
    const out: Violation[] = [];
    list(pt.spec.volumes).forEach((v, i) => {
      const vol = rec(v);
      if (vol && vol.hostPath !== undefined && vol.hostPath !== null) {
        out.push(
          violation(
            fieldPath(pt.specPath, "volumes", i, "hostPath"),
            `volume "${str(vol.name) ?? i}" mounts a path of the node (hostPath)`,
            "use a persistentVolumeClaim, emptyDir, configMap or secret volume instead of hostPath",
          ),
        );
      }
    });
    return out;
  },
};

const hostPorts: PsaCheck = {
  id: "psa-baseline/host-ports",
  level: "baseline",
  description: "Containers must not bind host ports (ports[*].hostPort unset or 0).",
  check(pt) {
    const out: Violation[] = [];
    for (const c of containersOf(pt)) {
      list(c.container.ports).forEach((p, i) => {
        const hp = rec(p)?.hostPort;
        if (hp !== undefined && hp !== null && hp !== 0) {
          out.push(violation(fieldPath(c.path, "ports", i, "hostPort"), `${describeContainer(c)} binds host port ${String(hp)}`, "remove hostPort and reach the container through a Service (LoadBalancer or ClusterIP)"));
        }
      });
    }
    return out;
  },
};

const hostProbes: PsaCheck = {
  id: "psa-baseline/probe-host",
  level: "baseline",
  description: "Probes and lifecycle handlers must not set httpGet.host or tcpSocket.host (v1.34+).",
  check(pt, minor) {
    if (minor < 34) return [];
    const out: Violation[] = [];
    for (const c of containersOf(pt)) {
      const handlers: Array<[string[], unknown]> = [
        [["livenessProbe"], c.container.livenessProbe],
        [["readinessProbe"], c.container.readinessProbe],
        [["startupProbe"], c.container.startupProbe],
        [["lifecycle", "postStart"], at(c.container, "lifecycle")?.postStart],
        [["lifecycle", "preStop"], at(c.container, "lifecycle")?.preStop],
      ];
      for (const [path, handler] of handlers) {
        for (const kind of ["httpGet", "tcpSocket"]) {
          const host = str(at(handler, kind)?.host);
          if (host) {
            out.push(
              violation(
                fieldPath(c.path, ...path, kind, "host"),
                `${describeContainer(c)} points its ${path.join(".")} ${kind} at host "${host}"`,
                `remove ${kind}.host: a probe or hook must target the pod itself, not another host`,
              ),
            );
          }
        }
      }
    }
    return out;
  },
};

const APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/";

const appArmor: PsaCheck = {
  id: "psa-baseline/apparmor",
  level: "baseline",
  description: "AppArmor profiles, when set, must be RuntimeDefault or Localhost (fields and legacy annotations).",
  check(pt) {
    const out: Violation[] = [];
    for (const t of securityContexts(pt)) {
      const profile = at(t.sc, "appArmorProfile");
      if (!profile) continue;
      const type = str(profile.type) ?? "";
      if (type === "RuntimeDefault" || type === "Localhost") continue;
      out.push(
        violation(fieldPath(t.path, "appArmorProfile", "type"), `${t.who} sets AppArmor profile type "${type}"`, 'set appArmorProfile.type to "RuntimeDefault" (or "Localhost" with a profile), or remove appArmorProfile'),
      );
    }
    const annotations = rec(pt.metadata.annotations) ?? {};
    for (const key of Object.keys(annotations).sort()) {
      if (!key.startsWith(APPARMOR_ANNOTATION_PREFIX)) continue;
      const value = str(annotations[key]) ?? "";
      if (value === "" || value === "runtime/default" || value.startsWith("localhost/")) continue;
      out.push(violation(fieldPath(pt.metadataPath, "annotations", key), `annotation ${key} sets AppArmor profile "${value}"`, 'set the annotation to "runtime/default" (or "localhost/<profile>"), or remove it'));
    }
    return out;
  },
};

const seLinux: PsaCheck = {
  id: "psa-baseline/selinux",
  level: "baseline",
  description: "seLinuxOptions may set only an allowed type (container_t, container_init_t, container_kvm_t, container_engine_t) and never user or role.",
  check(pt, minor) {
    const allowedTypes = new Set(["", "container_t", "container_init_t", "container_kvm_t"]);
    if (minor >= 31) allowedTypes.add("container_engine_t");
    const out: Violation[] = [];
    for (const t of securityContexts(pt)) {
      const opts = at(t.sc, "seLinuxOptions");
      if (!opts) continue;
      const type = str(opts.type) ?? "";
      if (!allowedTypes.has(type)) {
        out.push(violation(fieldPath(t.path, "seLinuxOptions", "type"), `${t.who} sets SELinux type "${type}"`, `remove seLinuxOptions.type or use one of ${[...allowedTypes].filter(Boolean).join(", ")}`));
      }
      for (const k of ["user", "role"] as const) {
        if (str(opts[k])) {
          out.push(violation(fieldPath(t.path, "seLinuxOptions", k), `${t.who} sets SELinux ${k}`, `remove seLinuxOptions.${k}: a custom SELinux ${k} is never allowed`));
        }
      }
    }
    return out;
  },
};

function unmaskedProcMounts(pt: PodTemplate): Array<{ t: ScTarget; value: string }> {
  return containerContexts(pt)
    .map((t) => ({ t, value: t.sc?.procMount }))
    .filter((x): x is { t: ScTarget; value: string } => x.value !== undefined && x.value !== null && x.value !== "Default")
    .map((x) => ({ t: x.t, value: String(x.value) }));
}

function procMountViolation(t: ScTarget, value: string): Violation {
  return violation(fieldPath(t.path, "procMount"), `${t.who} sets securityContext.procMount to "${value}"`, 'remove securityContext.procMount (or set it to "Default") so /proc keeps its default masks');
}

const procMountBaseline: PsaCheck = {
  id: "psa-baseline/proc-mount",
  level: "baseline",
  description: 'Containers must keep the default /proc mount (procMount unset or "Default"; from v1.35 any value in a user-namespaced pod).',
  check(pt, minor) {
    if (minor >= 35 && inUserNamespace(pt)) return [];
    return unmaskedProcMounts(pt).map(({ t, value }) => procMountViolation(t, value));
  },
};

function validSeccompType(type: string): boolean {
  return type === "RuntimeDefault" || type === "Localhost";
}

const seccompBaseline: PsaCheck = {
  id: "psa-baseline/seccomp",
  level: "baseline",
  description: "seccompProfile, when set, must not be Unconfined (RuntimeDefault or Localhost only).",
  check(pt) {
    const out: Violation[] = [];
    for (const t of securityContexts(pt)) {
      const profile = at(t.sc, "seccompProfile");
      if (!profile) continue;
      const type = str(profile.type) ?? "";
      if (validSeccompType(type)) continue;
      out.push(violation(fieldPath(t.path, "seccompProfile", "type"), `${t.who} sets seccompProfile type "${type}"`, 'set seccompProfile.type to "RuntimeDefault" (or "Localhost" with a profile)'));
    }
    return out;
  },
};

/** Sysctls that are namespaced per pod and isolated from other pods, by the version that admitted them. */
const SAFE_SYSCTLS: Array<[number, string[]]> = [
  [0, ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"]],
  [27, ["net.ipv4.ip_local_reserved_ports"]],
  [29, ["net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"]],
  [32, ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]],
  [37, ["net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"]],
];

export function safeSysctls(minor: number): Set<string> {
  return new Set(SAFE_SYSCTLS.filter(([since]) => minor >= since).flatMap(([, names]) => names));
}

const sysctls: PsaCheck = {
  id: "psa-baseline/sysctls",
  level: "baseline",
  description: "Pods may set only the safe, pod-namespaced sysctls.",
  check(pt, minor) {
    const safe = safeSysctls(minor);
    const out: Violation[] = [];
    list(at(pt.spec, "securityContext")?.sysctls).forEach((s, i) => {
      const name = str(rec(s)?.name) ?? "";
      if (safe.has(name)) return;
      out.push(violation(fieldPath(pt.specPath, "securityContext", "sysctls", i, "name"), `the pod sets sysctl "${name}", which is not in the safe set`, `remove the sysctl; allowed are ${[...safe].sort().join(", ")}`));
    });
    return out;
  },
};

// ---------------------------------------------------------------- restricted

/** Volume sources the restricted level allows (a volume without a source defaults to emptyDir). */
const RESTRICTED_VOLUME_SOURCES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"]);

const volumeTypes: PsaCheck = {
  id: "psa-restricted/volume-types",
  level: "restricted",
  description: "Volumes may only be configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected or secret.",
  check(pt) {
    const out: Violation[] = [];
    list(pt.spec.volumes).forEach((v, i) => {
      const vol = rec(v);
      if (!vol) return;
      const sources = Object.keys(vol).filter((k) => k !== "name" && vol[k] !== undefined && vol[k] !== null);
      if (sources.length === 0 || sources.some((s) => RESTRICTED_VOLUME_SOURCES.has(s))) return;
      // hostPath is the baseline rule's to report.
      if (sources.includes("hostPath")) return;
      const type = sources[0]!;
      out.push(
        violation(fieldPath(pt.specPath, "volumes", i, type), `volume "${str(vol.name) ?? i}" is of type ${type}`, "mount it through a persistentVolumeClaim (or csi/ephemeral) instead of an inline volume source"),
      );
    });
    return out;
  },
};

const allowPrivilegeEscalation: PsaCheck = {
  id: "psa-restricted/allow-privilege-escalation",
  level: "restricted",
  description: "Every container must set securityContext.allowPrivilegeEscalation=false.",
  check(pt) {
    if (isWindowsPod(pt)) return [];
    return containerContexts(pt)
      .filter((t) => t.sc?.allowPrivilegeEscalation !== false)
      .map((t) =>
        violation(
          fieldPath(t.path, "allowPrivilegeEscalation"),
          t.sc?.allowPrivilegeEscalation === true ? `${t.who} sets securityContext.allowPrivilegeEscalation=true` : `${t.who} does not set securityContext.allowPrivilegeEscalation=false`,
          "set securityContext.allowPrivilegeEscalation: false on the container",
        ),
      );
  },
};

const runAsNonRoot: PsaCheck = {
  id: "psa-restricted/run-as-non-root",
  level: "restricted",
  description: "runAsNonRoot must be true, on the pod or on every container, and never false.",
  check(pt, minor) {
    if (minor >= 35 && inUserNamespace(pt)) return [];
    const out: Violation[] = [];
    const [pod, ...containers] = securityContexts(pt);
    const podValue = pod!.sc?.runAsNonRoot;
    if (podValue === false) {
      out.push(violation(fieldPath(pod!.path, "runAsNonRoot"), "the pod sets securityContext.runAsNonRoot=false", "set securityContext.runAsNonRoot: true on the pod"));
    }
    for (const t of containers) {
      const value = t.sc?.runAsNonRoot;
      if (value === true) continue;
      if (value === false) {
        out.push(violation(fieldPath(t.path, "runAsNonRoot"), `${t.who} sets securityContext.runAsNonRoot=false`, "set securityContext.runAsNonRoot: true on the container (or remove it and set it on the pod)"));
      } else if (podValue !== true) {
        out.push(
          violation(
            fieldPath(t.path, "runAsNonRoot"),
            `neither the pod nor ${t.who} sets securityContext.runAsNonRoot=true`,
            "set securityContext.runAsNonRoot: true on the pod (covers every container) or on this container",
          ),
        );
      }
    }
    return out;
  },
};

const runAsUser: PsaCheck = {
  id: "psa-restricted/run-as-user",
  level: "restricted",
  description: "runAsUser must not be 0 (root), on the pod or any container.",
  check(pt, minor) {
    if (minor >= 35 && inUserNamespace(pt)) return [];
    return securityContexts(pt)
      .filter((t) => t.sc?.runAsUser === 0)
      .map((t) => violation(fieldPath(t.path, "runAsUser"), `${t.who} sets securityContext.runAsUser=0 (root)`, "set runAsUser to a non-zero UID (e.g. 65532) or remove it and rely on the image's non-root user"));
  },
};

const seccompRestricted: PsaCheck = {
  id: "psa-restricted/seccomp",
  level: "restricted",
  description: "seccompProfile must be RuntimeDefault or Localhost, set on the pod or on every container.",
  check(pt) {
    if (isWindowsPod(pt)) return [];
    const [pod, ...containers] = securityContexts(pt);
    const podProfile = at(pod!.sc, "seccompProfile");
    if (podProfile && validSeccompType(str(podProfile.type) ?? "")) return [];
    // A container that sets its own profile is either fine or already reported by the baseline rule.
    return containers
      .filter((t) => !at(t.sc, "seccompProfile"))
      .map((t) =>
        violation(
          fieldPath(t.path, "seccompProfile"),
          `neither the pod nor ${t.who} sets a seccompProfile`,
          "set securityContext.seccompProfile: { type: RuntimeDefault } on the pod (covers every container) or on this container",
        ),
      );
  },
};

const capabilitiesRestricted: PsaCheck = {
  id: "psa-restricted/capabilities",
  level: "restricted",
  description: "Every container must drop ALL capabilities and may add back only NET_BIND_SERVICE.",
  check(pt) {
    if (isWindowsPod(pt)) return [];
    const out: Violation[] = [];
    for (const t of containerContexts(pt)) {
      const drop = list(at(t.sc, "capabilities")?.drop);
      if (!drop.includes("ALL")) {
        out.push(violation(fieldPath(t.path, "capabilities", "drop"), `${t.who} does not drop ALL capabilities`, 'set securityContext.capabilities.drop: ["ALL"] on the container'));
      }
      for (const { cap, field } of addedCapabilities(t)) {
        // Capabilities outside the default set are the baseline rule's to report.
        if (cap === "NET_BIND_SERVICE" || !BASELINE_CAPABILITIES.has(cap)) continue;
        out.push(violation(field, `${t.who} adds capability ${cap}; only NET_BIND_SERVICE may be added`, `remove ${cap} from securityContext.capabilities.add`));
      }
    }
    return out;
  },
};

const procMountRestricted: PsaCheck = {
  id: "psa-restricted/proc-mount",
  level: "restricted",
  description: "Containers must keep the default /proc mount even in a user-namespaced pod (v1.35+).",
  check(pt, minor) {
    // Before v1.35 and outside user namespaces the baseline rule already forbids it.
    if (minor < 35 || !inUserNamespace(pt)) return [];
    return unmaskedProcMounts(pt).map(({ t, value }) => procMountViolation(t, value));
  },
};

export const podSecurityRules: readonly PolicyRule[] = [
  hostProcess,
  hostNamespaces,
  privileged,
  capabilitiesBaseline,
  hostPathVolumes,
  hostPorts,
  hostProbes,
  appArmor,
  seLinux,
  procMountBaseline,
  seccompBaseline,
  sysctls,
  volumeTypes,
  allowPrivilegeEscalation,
  runAsNonRoot,
  runAsUser,
  seccompRestricted,
  capabilitiesRestricted,
  procMountRestricted,
].map(psaRule);
