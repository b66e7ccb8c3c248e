/**
 * Rebuilding the cluster from nothing, as data: an ordered list of steps, each with the commands it
 * runs and a check that tells whether it is already done. Progress is kept in a state file, so a
 * rerun after a failure resumes at the failed step. The order carries the lessons of incident 6
 * (the Sealed Secrets key goes in before anything can generate a new one) and incident 4 (the node
 * trusts the CA before any image is pulled from our registry).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { ComponentModel, Model } from "../model/model.js";
import { describeFailure, formatCommand, type Runner } from "../adapters/runner.js";

/** kustomize-controller feature gates bk needs (see the flux-install step). */
export const KUSTOMIZE_FEATURE_GATES = "--feature-gates=CancelHealthCheckOnNewRevision=true";
import { CA_NAME, CA_SECRET, NODE_RUNTIME, registryAddresses, trustPlan } from "./trust.js";
import { BkError, EXIT, type ExitCode } from "../core/errors.js";
import { FLUX_NAMESPACE } from "../core/well-known.js";
import { formatIPv4, parseIPv4 } from "../core/ipv4.js";

/** Flux release `flux install` deploys; its controllers match the CRDs the tree is validated against. */
export const FLUX_VERSION = "v2.9.4";
const KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key";

export interface StepCommand {
  cmd: string;
  args: string[];
  /** Keep stdout in a file (base64-decoded when asked) instead of showing it. */
  stdoutTo?: { file: string; base64?: boolean };
  timeoutMs?: number;
  /** Said after the failure when the command fails: the likely cause and its fix. */
  hint?: string;
  /** The step fails with `otherwise` unless the trimmed stdout matches (a command that verifies). */
  expectStdout?: { pattern: RegExp; otherwise: string };
}

export interface BootstrapStep {
  id: string;
  title: string;
  commands: StepCommand[];
  /** Exit 0 (and stdout matching `expect`, when given) means the step's effect is already there. */
  check?: { command: StepCommand; expect?: RegExp; means: string };
  /** Runs every time and is never recorded (tool presence). */
  always?: boolean;
  /** Printed loudly when the step runs. */
  warning?: string;
  /** When set and the check fails, the step cannot be done by bk: fail with this message. */
  blocked?: string;
}

export interface BootstrapOptions {
  root: string;
  /** A Sealed Secrets key backup (a Secret or List of Secrets from kube-system). */
  sealedSecretsKey?: string;
  /** The key Secrets in that backup (checkKeyBackup): the step is done when exactly these exist. */
  sealedSecretsKeyNames?: string[];
  /** Start without a key backup: the controller makes a new key and every SealedSecret must be resealed. */
  newKey?: boolean;
  /** Private SSH key Flux uses to read the Git repository (deploy key). */
  gitKey?: string;
  fluxVersion?: string;
  /** app/component deployed and checked before the rest. */
  canary: string;
  /**
   * What puts back the chart and images a rebuild empties (ChartMuseum's and the registry's volumes are new):
   * run once both are up and trusted, while the applications are held (the CLI builds these `bk` commands).
   */
  refill?: StepCommand[];
  /** Where the cluster CA is written for the node step. */
  caFile?: string;
  /** Where the cluster comes from: a Minikube profile bk starts (default), or one that runs already. */
  target?: BootstrapTarget;
}

/**
 * `minikube`: bk makes the node network and starts the profile, and makes the node trust the CA.
 * `existing`: a cluster something else started (another machine, the local control plane of the tests); bk
 * only reaches it through the kubeconfig, so the node steps are the operator's, and a Flux already serving
 * its APIs there is left as it is. Everything from the Sealed Secrets key on is the same for both.
 */
export type BootstrapTarget = { kind: "minikube" } | { kind: "existing"; kubeconfig?: string; context?: string };

const min = (n: number) => n * 60_000;

export function defaultCanary(m: Model): ComponentModel {
  const simple = (c: ComponentModel) => !c.optional && c.dependsOn.length === 0 && !c.database && c.secretRefs.length === 0;
  const pick = m.components.find((c) => simple(c) && c.role === "cache") ?? m.components.find(simple) ?? m.components[0];
  if (!pick) throw new Error("the definition has no application components to use as a canary");
  return pick;
}

/** Names of the key Secrets in a backup; refuses files that are not a key backup before the cluster is touched. */
export function checkKeyBackup(file: string): string[] {
  if (!existsSync(file)) throw new Error(`--sealed-secrets-key ${file}: no such file`);
  const names: string[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const v = doc.toJS() as { kind?: string; items?: unknown[] } | null;
    const objs = v?.kind === "List" ? (v.items ?? []) : [v];
    for (const o of objs as Array<{ kind?: string; metadata?: { name?: string; labels?: Record<string, string> }; data?: Record<string, string> } | null>) {
      if (o?.kind === "Secret" && o.metadata?.name && o.metadata.labels?.[KEY_LABEL] !== undefined && o.data?.["tls.key"]) names.push(o.metadata.name);
    }
  }
  if (!names.length) {
    throw new Error(`${file} holds no Sealed Secrets key (a Secret labelled ${KEY_LABEL} with tls.key); export one with \`kubectl get secret -n kube-system -l ${KEY_LABEL} -o yaml\``);
  }
  return names;
}

/** The ordered rebuild. Pure: builds data from the model and options, runs nothing. */
export function bootstrapPlan(m: Model, o: BootstrapOptions): BootstrapStep[] {
  const [canaryApp, canaryName] = o.canary.split("/");
  const canary = m.components.find((c) => c.app === canaryApp && c.name === canaryName);
  if (!canary) throw new Error(`--canary ${o.canary}: no such component; use <app>/<component>, e.g. ${defaultCanary(m).id}`);
  const target = o.target ?? { kind: "minikube" };
  // minikube names the kubeconfig context after the profile.
  const k = kubeSteps(
    target.kind === "minikube" ? ["--context", m.cluster.profile.name] : [...(target.kubeconfig ? ["--kubeconfig", target.kubeconfig] : []), ...(target.context ? ["--context", target.context] : [])],
    target,
  );
  return [
    ...(target.kind === "minikube" ? clusterSteps(m, o, k) : existingClusterSteps(m, o, k, target)),
    ...(m.gitops.secretRef ? [gitSecretStep(m, o, k, m.gitops.secretRef)] : []),
    ...fluxSyncSteps(m, o, k),
    ...workloadSteps(m, o, k, canary),
  ];
}

/** Builders shared by the phases, all bound to the profile's kubeconfig context. */
interface KubeSteps {
  /** How kubectl (and flux) reach the cluster: `--context <profile>`, or the target's kubeconfig and context. */
  access: string[];
  target: BootstrapTarget;
  kubectl: (...args: string[]) => StepCommand;
  waitFor: (ns: string, ref: string, timeoutMin: number) => StepCommand[];
  readyCheck: (ns: string, ref: string) => NonNullable<BootstrapStep["check"]>;
}

function kubeSteps(access: string[], target: BootstrapTarget): KubeSteps {
  const kubectl = (...args: string[]): StepCommand => ({ cmd: "kubectl", args: [...access, ...args] });
  const waitFor = (ns: string, ref: string, timeoutMin: number): StepCommand[] => [
    { ...kubectl("-n", ns, "wait", ref, "--for=create", `--timeout=${Math.min(timeoutMin, 10)}m`), timeoutMs: min(Math.min(timeoutMin, 10) + 1) },
    { ...kubectl("-n", ns, "wait", ref, "--for=condition=Ready", `--timeout=${timeoutMin}m`), timeoutMs: min(timeoutMin + 1) },
  ];
  const readyCheck = (ns: string, ref: string) => ({
    command: kubectl("-n", ns, "get", ref, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`),
    expect: /^True$/,
    means: `${ref} is Ready`,
  });
  return { access, target, kubectl, waitFor, readyCheck };
}

/** Phase 1: tools, the Minikube node, the Sealed Secrets key and Flux itself; nothing from Git yet. */
function clusterSteps(m: Model, o: BootstrapOptions, k: KubeSteps): BootstrapStep[] {
  const p = m.cluster.profile;
  // The profile in effect (model/profiles.ts applyProfile): an ha one starts several nodes, each of p's size.
  const nodes = m.profiles[0]?.nodes ?? 1;
  return [
    {
      id: "tools",
      title: "Tools on this machine: minikube, kubectl, flux",
      always: true,
      commands: [
        { cmd: "minikube", args: ["version", "--short"] },
        { cmd: "kubectl", args: ["version", "--client"] },
        { cmd: "flux", args: ["version", "--client"] },
        { cmd: p.driver, args: ["--version"] },
      ],
    },
    nodeNetworkStep(m),
    {
      id: "minikube",
      title: `Start Minikube profile ${p.name} (${nodes > 1 ? `${nodes} nodes, ` : ""}Kubernetes ${p.kubernetesVersion}, ${p.cni}, ${NODE_RUNTIME})`,
      commands: [
        {
          cmd: "minikube",
          args: [
            "start",
            "-p",
            p.name,
            `--driver=${p.driver}`,
            `--cpus=${p.cpus}`,
            `--memory=${p.memory}`,
            `--disk-size=${p.disk}`,
            `--kubernetes-version=${p.kubernetesVersion}`,
            `--cni=${p.cni}`,
            `--container-runtime=${NODE_RUNTIME}`,
            // The node on the definition's network at its address (network.node): without --static-ip
            // minikube falls back to another subnet when one is taken, and the pool is unreachable.
            `--network=${m.network.node.network}`,
            `--static-ip=${m.network.node.ip}`,
            ...(nodes > 1 ? [`--nodes=${nodes}`] : []),
          ],
          timeoutMs: min(20),
        },
      ],
      check: { command: { cmd: "minikube", args: ["-p", p.name, "status", "--format={{.Host}}/{{.Kubelet}}/{{.APIServer}}"] }, expect: /^Running\/Running\/Running\s*$/, means: "the profile is running" },
    },
    nodeAddressStep(m),
    sealedSecretsKeyStep(m, o, k),
    fluxInstallStep(o, k),
  ];
}

/** Phase 1 on a cluster that runs already: it answers, then the key and Flux as on Minikube. */
function existingClusterSteps(m: Model, o: BootstrapOptions, k: KubeSteps, target: Extract<BootstrapTarget, { kind: "existing" }>): BootstrapStep[] {
  const where = [target.kubeconfig && `kubeconfig ${target.kubeconfig}`, target.context && `context ${target.context}`].filter(Boolean).join(", ") || "the default kubeconfig";
  return [
    { id: "tools", title: "Tools on this machine: kubectl", always: true, commands: [{ cmd: "kubectl", args: ["version", "--client"] }] },
    {
      id: "cluster",
      title: `The existing cluster answers (${where})`,
      always: true,
      commands: [
        {
          ...k.kubectl("get", "--raw=/readyz"),
          timeoutMs: 30_000,
          hint: `bk bootstrap --target existing starts no cluster: start it first, and point --kubeconfig/--context at it`,
          expectStdout: { pattern: /^ok$/, otherwise: `the API server of ${where} is not ready` },
        },
      ],
    },
    sealedSecretsKeyStep(m, o, k),
    fluxInstallStep(o, k),
  ];
}

/** Every address of the LoadBalancer pool, for the container network to keep out of its own allocations. */
function poolAddresses(m: Model): string[] {
  const lo = parseIPv4(m.network.loadBalancerPool.start) ?? 0;
  const hi = parseIPv4(m.network.loadBalancerPool.end) ?? -1;
  return Array.from({ length: Math.max(0, hi - lo + 1) }, (_, i) => formatIPv4(lo + i));
}

/**
 * The node's container network, made by bk rather than by minikube: its bridge carries a known name
 * the host's firewall rule refers to (docs/runbooks/lan-access.md), it has exactly the definition's
 * subnet and gateway, and the pool's addresses are reserved so Docker never hands one to another
 * container on it. (`minikube delete` removes a network named like the profile; the next run makes it again.)
 */
function nodeNetworkStep(m: Model): BootstrapStep {
  const n = m.network.node;
  const engine = m.cluster.profile.driver;
  const create: StepCommand =
    engine === "podman"
      ? { cmd: "podman", args: ["network", "create", "--driver=bridge", `--subnet=${n.subnet}`, `--gateway=${n.gateway}`, `--interface-name=${n.network}`, n.network] }
      : {
          cmd: "docker",
          args: [
            "network",
            "create",
            "--driver=bridge",
            `--subnet=${n.subnet}`,
            `--gateway=${n.gateway}`,
            "-o",
            `com.docker.network.bridge.name=${n.network}`,
            ...poolAddresses(m).map((ip, i) => `--aux-address=lb${i}=${ip}`),
            n.network,
          ],
        };
  create.hint =
    `if network ${n.network} exists with another subnet (\`${create.cmd} network inspect ${n.network}\`), it is minikube's own, from a profile made before network.node: ` +
    `back up what the cluster holds (\`bk backup\`), \`minikube delete -p ${m.cluster.profile.name}\`, remove the network if it is still there, and run \`bk bootstrap --fresh\``;
  const format = engine === "podman" ? "{{range .Subnets}}{{.Subnet}} {{.Gateway}}{{end}}" : "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}";
  return {
    id: "node-network",
    title: `Node network ${n.network} (${n.subnet}, gateway ${n.gateway}) for the node and the LoadBalancer pool`,
    commands: [create],
    check: {
      command: { cmd: create.cmd, args: ["network", "inspect", n.network, `--format=${format}`] },
      expect: new RegExp(`^${escapeRegExp(`${n.subnet} ${n.gateway}`)}$`),
      means: `network ${n.network} exists with subnet ${n.subnet} and gateway ${n.gateway}`,
    },
  };
}

/** A profile made before the definition had its network keeps its old address: minikube only warns, and applies --static-ip to a new profile. */
function nodeAddressStep(m: Model): BootstrapStep {
  const p = m.cluster.profile.name;
  const ip = m.network.node.ip;
  return {
    id: "node-address",
    title: `The node is at ${ip} on ${m.network.node.network}`,
    commands: [
      {
        cmd: "minikube",
        args: ["-p", p, "ip"],
        expectStdout: {
          pattern: new RegExp(`^${escapeRegExp(ip)}$`),
          otherwise: `the node of profile ${p} is not at ${ip}: the profile was made before network.node said so, and minikube gives --static-ip only to a new profile; back up what the cluster holds (\`bk backup\`), then \`minikube delete -p ${p}\` and run \`bk bootstrap --fresh\``,
        },
      },
    ],
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function sealedSecretsKeyStep(m: Model, o: BootstrapOptions, { kubectl }: KubeSteps): BootstrapStep {
  const sealedNs = m.sealedSecrets.namespace;
  if (o.newKey) {
    return {
      id: "sealed-secrets-key",
      title: "Sealed Secrets key: NONE restored (--new-key)",
      commands: [],
      warning:
        "NO SEALED SECRETS KEY RESTORED (--new-key). The controller will generate a new key: NOT ONE SealedSecret in the tree can be decrypted with it. " +
        "Every secret must be re-created and resealed (`bk secrets seal --all`), and the new key backed up right away (`bk secrets backup`).",
    };
  }
  return {
    id: "sealed-secrets-key",
    title: `Restore the Sealed Secrets key into ${sealedNs} (before the controller can make a new one)`,
    commands: [kubectl("apply", "-n", sealedNs, "-f", o.sealedSecretsKey ?? "<--sealed-secrets-key>")],
    // Done when the backup's own keys are there: a key the controller made itself does not count.
    check: o.sealedSecretsKeyNames?.length
      ? { command: kubectl("-n", sealedNs, "get", "secret", ...o.sealedSecretsKeyNames, "-o", "name"), means: "the backup's keys are in the cluster" }
      : { command: kubectl("-n", sealedNs, "get", "secret", "-l", KEY_LABEL, "-o", "name"), expect: /secret\//, means: "a key is already in the cluster" },
  };
}

function fluxInstallStep(o: BootstrapOptions, { access, target, kubectl }: KubeSteps): BootstrapStep {
  const fluxVersion = o.fluxVersion ?? FLUX_VERSION;
  const install: StepCommand = { cmd: "flux", args: ["install", `--version=${fluxVersion}`, ...access], timeoutMs: min(10), hint: "the flux CLI installs Flux: https://fluxcd.io/flux/installation/" };
  if (target.kind === "existing") {
    return {
      id: "flux-install",
      title: `Flux on the existing cluster (installed as ${fluxVersion} unless its APIs are served already)`,
      commands: [install],
      // Flux may run there already, installed by other means or (the local control plane) outside the cluster:
      // the next steps prove its controllers work (the source turns Ready, the layers apply).
      check: { command: kubectl("-n", FLUX_NAMESPACE, "get", "kustomizations.v1.kustomize.toolkit.fluxcd.io", "-o", "name"), means: "Flux's v1 APIs are served: Flux runs there already and is left as it is" },
    };
  }
  return {
    id: "flux-install",
    title: `Install Flux ${fluxVersion}`,
    commands: [
      install,
      // Without this gate kustomize-controller finishes a running health check (up to the apps layer's
      // timeout) before it applies a newer revision, so a release's revert commit could wait 20 minutes.
      kubectl("-n", FLUX_NAMESPACE, "patch", "deployment", "kustomize-controller", "--type=json", `-p=[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"${KUSTOMIZE_FEATURE_GATES}"}]`),
    ],
    check: {
      command: kubectl("-n", FLUX_NAMESPACE, "get", "deployment", "kustomize-controller", "-o", "jsonpath={.metadata.labels.app\\.kubernetes\\.io/version} {.spec.template.spec.containers[0].args}"),
      expect: new RegExp(`^${fluxVersion.replace(/\./g, "\\.")} .*${KUSTOMIZE_FEATURE_GATES.replace(/[-=]/g, (c) => `\\${c}`)}`),
      means: `Flux ${fluxVersion} is installed and cancels stale health checks on a new revision`,
    },
  };
}

/** Only when the definition names a Git secret; bk can create SSH deploy-key secrets only. */
function gitSecretStep(m: Model, o: BootstrapOptions, { access, kubectl }: KubeSteps, secret: string): BootstrapStep {
  const sshUrl = /^ssh:\/\//.test(m.gitops.url);
  return {
    id: "git-secret",
    title: `Git credentials for Flux (secret ${FLUX_NAMESPACE}/${secret})`,
    commands: sshUrl ? [{ cmd: "flux", args: ["create", "secret", "git", secret, `--url=${m.gitops.url}`, `--private-key-file=${o.gitKey ?? "<--git-key>"}`, "--namespace", FLUX_NAMESPACE, ...access] }] : [],
    check: { command: kubectl("-n", FLUX_NAMESPACE, "get", "secret", secret, "-o", "name"), means: "the secret exists" },
    ...(!sshUrl
      ? {
          blocked: `bk bootstrap creates SSH deploy-key secrets only; create ${FLUX_NAMESPACE}/${secret} for ${m.gitops.url} yourself (\`flux create secret git ${secret} --url=... --username=... --password=...\`) and rerun`,
        }
      : !o.gitKey
        ? { blocked: `secret ${FLUX_NAMESPACE}/${secret} does not exist: pass --git-key <file>, the private half of a deploy key with read access to ${m.gitops.url}` }
        : {}),
  };
}

/** Phase 2: Flux reads the repository and brings up the infrastructure layers. */
function fluxSyncSteps(m: Model, o: BootstrapOptions, { kubectl, waitFor, readyCheck }: KubeSteps): BootstrapStep[] {
  const sync = path.join(o.root, m.gitops.path, FLUX_NAMESPACE, "gotk-sync.yaml");
  return [
    {
      id: "flux-sync",
      title: `Point Flux at ${m.gitops.url} (${m.gitops.branch}, ${m.gitops.path})`,
      commands: [kubectl("apply", "-f", sync)],
      check: { command: kubectl("-n", FLUX_NAMESPACE, "get", `kustomization/${m.gitops.repository}`, "-o", "name"), means: "the sync objects exist" },
    },
    {
      id: "source",
      title: "Flux can read the Git repository",
      commands: waitFor(FLUX_NAMESPACE, `gitrepository/${m.gitops.repository}`, 5),
      check: readyCheck(FLUX_NAMESPACE, `gitrepository/${m.gitops.repository}`),
    },
    {
      // Until the chart and images are back, every application would fail (chart not found, ImagePullBackOff) and
      // burn its install retries; suspended, the layer waits. A parent's apply leaves spec.suspend alone (not in Git).
      id: "hold-apps",
      title: "Hold the applications until ChartMuseum and the registry are refilled",
      commands: [
        { ...kubectl("-n", FLUX_NAMESPACE, "wait", "kustomization/apps", "--for=create", "--timeout=5m"), timeoutMs: min(6) },
        kubectl("-n", FLUX_NAMESPACE, "patch", "kustomization", "apps", "--type=merge", `-p={"spec":{"suspend":true}}`),
      ],
      // Applications already Ready (a rerun on a live cluster): nothing to hold.
      check: readyCheck(FLUX_NAMESPACE, "kustomization/apps"),
    },
    {
      id: "infra-controllers",
      title: "Infrastructure controllers Ready (MetalLB, cert-manager, Sealed Secrets, ingress, Istio, CloudNativePG, ...)",
      commands: waitFor(FLUX_NAMESPACE, "kustomization/infra-controllers", 20),
      check: readyCheck(FLUX_NAMESPACE, "kustomization/infra-controllers"),
    },
    {
      id: "infra-configs",
      title: "Infrastructure configuration Ready (address pool, CA and certificates, registry, PostgreSQL, ...)",
      commands: waitFor(FLUX_NAMESPACE, "kustomization/infra-configs", 20),
      check: readyCheck(FLUX_NAMESPACE, "kustomization/infra-configs"),
    },
  ];
}

/** Phase 3: node trust, then one canary application, then all of them. */
function workloadSteps(m: Model, o: BootstrapOptions, { target, kubectl, waitFor, readyCheck }: KubeSteps, canary: ComponentModel): BootstrapStep[] {
  const caFile = o.caFile ?? path.join(o.root, ".bk", CA_NAME);
  // The CA exists only once cert-manager has issued it (infra-configs); the node must trust it
  // before the first application image is pulled from our registry.
  const node = target.kind === "minikube" ? trustPlan({ caFile: caFile, host: false, node: true, registries: registryAddresses(m), profile: m.cluster.profile.name }) : [];
  return [
    {
      id: "trust-node",
      title: target.kind === "minikube" ? `The node trusts the cluster CA for ${m.registry}` : `The cluster CA saved to ${caFile} (the nodes' trust is the operator's on an existing cluster)`,
      commands: [
        { ...kubectl("-n", CA_SECRET.namespace, "get", "secret", CA_SECRET.name, "-o", "jsonpath={.data.ca\\.crt}"), stdoutTo: { file: caFile, base64: true } },
        ...node.flatMap((a) => (a.kind === "run" ? [{ cmd: a.cmd, args: a.args, timeoutMs: min(3) }] : [])),
      ],
      ...(target.kind === "existing"
        ? {
            warning: `bk reaches no node of an existing cluster: each node's container runtime must trust ${caFile} for ${registryAddresses(m).join(", ")} before an image is pulled (\`bk trust --no-host --print\` shows what a Minikube node is given)`,
          }
        : {}),
    },
    {
      id: "refill",
      title: `Refill ChartMuseum with the application chart and ${m.registry} with the images`,
      commands: o.refill ?? [],
      ...(o.refill?.length ? {} : { warning: "nothing given to refill the registry and ChartMuseum with: the applications start only once their chart and images are pushed again" }),
    },
    {
      id: "release-apps",
      title: "Let the applications reconcile",
      // A spec change bumps the generation, which kustomize-controller reconciles at once: no request needed.
      commands: [kubectl("-n", FLUX_NAMESPACE, "patch", "kustomization", "apps", "--type=merge", `-p={"spec":{"suspend":false}}`)],
      check: { command: kubectl("-n", FLUX_NAMESPACE, "get", "kustomization", "apps", "-o", "jsonpath={.spec.suspend}"), expect: /^(false)?\s*$/, means: "the apps layer is not suspended" },
    },
    {
      id: "canary",
      title: `Canary: ${canary.id} (image from ${m.registry}, chart from ChartMuseum) becomes Ready`,
      commands: waitFor(canary.namespace, `helmrelease/${canary.fullname}`, 10),
      check: readyCheck(canary.namespace, `helmrelease/${canary.fullname}`),
    },
    {
      id: "apps",
      title: "All applications Ready",
      commands: waitFor(FLUX_NAMESPACE, "kustomization/apps", 30),
      check: readyCheck(FLUX_NAMESPACE, "kustomization/apps"),
    },
  ];
}

export function renderCommand(c: StepCommand): string {
  const line = formatCommand(c.cmd, c.args);
  if (!c.stdoutTo) return line;
  return `${line}${c.stdoutTo.base64 ? " | base64 -d" : ""} > ${c.stdoutTo.file}`;
}

// ---------------------------------------------------------------------------------------------
// State: which steps are done, so a rerun resumes.

export interface BootstrapState {
  version: 1;
  profile: string;
  completed: Record<string, string>;
}

export function readState(file: string, profile: string): BootstrapState {
  const fresh: BootstrapState = { version: 1, profile, completed: {} };
  if (!existsSync(file)) return fresh;
  try {
    const s = JSON.parse(readFileSync(file, "utf8")) as BootstrapState;
    // State of another profile says nothing about this one.
    return s.version === 1 && s.profile === profile && s.completed && typeof s.completed === "object" ? s : fresh;
  } catch {
    return fresh;
  }
}

export function writeState(file: string, s: BootstrapState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + "\n");
  renameSync(tmp, file);
}

export type StepOutcome = "done-before" | "already-done" | "ran";

/** A missing tool stops the run as unavailable (exit 3); any other step failing is a failure (exit 1). */
export class StepFailed extends BkError {
  readonly exitCode: ExitCode;
  constructor(
    readonly step: BootstrapStep,
    message: string,
  ) {
    super(message);
    this.exitCode = step.id === "tools" ? EXIT.unavailable : EXIT.failed;
  }
}

/** One bootstrap run: executes steps in order against the state file. */
export class BootstrapRun {
  readonly state: BootstrapState;
  constructor(
    private readonly runner: Runner,
    private readonly stateFile: string,
    profile: string,
    fresh = false,
  ) {
    this.state = fresh ? { version: 1, profile, completed: {} } : readState(stateFile, profile);
  }

  /** Run one step unless it is done; throws StepFailed. `say` gets the command lines as they run. */
  async step(s: BootstrapStep, say: (line: string) => void = () => undefined): Promise<StepOutcome> {
    if (!s.always && this.state.completed[s.id]) return "done-before";
    if (s.check) {
      const r = await this.runner.run(s.check.command.cmd, s.check.command.args, { timeoutMs: s.check.command.timeoutMs ?? 60_000 });
      if (r.code === 0 && (!s.check.expect || s.check.expect.test(r.stdout.trim()))) {
        this.record(s);
        return "already-done";
      }
      if (s.blocked) throw new StepFailed(s, s.blocked);
    }
    for (const c of s.commands) {
      say(renderCommand(c));
      const r = await this.runner.run(c.cmd, c.args, { timeoutMs: c.timeoutMs ?? min(5) });
      if (r.code !== 0) throw new StepFailed(s, describeFailure(c.cmd, c.args, r) + (c.hint ? `\n  ${c.hint}` : ""));
      if (c.expectStdout && !c.expectStdout.pattern.test(r.stdout.trim())) throw new StepFailed(s, `${renderCommand(c)} printed '${r.stdout.trim()}': ${c.expectStdout.otherwise}`);
      if (c.stdoutTo) {
        const content = c.stdoutTo.base64 ? Buffer.from(r.stdout.trim(), "base64").toString("utf8") : r.stdout;
        if (!content.trim()) throw new StepFailed(s, `${renderCommand(c)} produced nothing`);
        mkdirSync(path.dirname(c.stdoutTo.file), { recursive: true });
        writeFileSync(c.stdoutTo.file, content);
      }
    }
    this.record(s);
    return "ran";
  }

  private record(s: BootstrapStep): void {
    if (s.always) return;
    this.state.completed[s.id] = new Date().toISOString();
    writeState(this.stateFile, this.state);
  }
}
