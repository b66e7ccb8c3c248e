/**
 * `bk doctor`: the pre-flight checklist before a rebuild or a release. Each check answers one
 * question an incident taught us to ask, and says how to fix what fails.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { CertificateModel, ComponentModel, Model } from "../model/model.js";
import { judgeCanary, type CanaryState } from "./canary.js";
import { OWNED_DIRS } from "../tree/tree.js";
import { readSealedFiles } from "../tree/sealed.js";
import { checkCertificates, tlsTargets } from "./certs.js";
import { verifySealedTree } from "./secrets/verify.js";
import { formatCommand, type Runner } from "../adapters/runner.js";

export type DoctorStatus = "ok" | "warn" | "fail" | "skipped";

export interface DoctorCheck {
  id: string;
  title: string;
  status: DoctorStatus;
  detail: string;
  fix?: string;
}

export interface DoctorOptions {
  root: string;
  /** The cluster CA (PEM file). */
  ca?: string;
  /** The Sealed Secrets key backup (from `bk secrets backup`). */
  keyBackup?: string;
  maxKeyBackupAgeDays: number;
  /** endpoint id -> host:port (a tunnel, or tests). */
  overrides?: Record<string, string>;
  /** Where the build host's trust stores live; "/" on a real host, a temp dir in tests. */
  hostRoot: string;
  /** Runs `minikube ssh` for the node checks; absent: those checks are skipped. */
  runner?: Runner;
  /** An image to test-pull on the node, default: the first component's. */
  pullImage?: string;
  /** The canary and how to read its live state; absent (no cluster configured): the check is skipped, saying why. */
  canary?: { component: ComponentModel; read: () => Promise<CanaryState> } | { skipped: string };
  now?: Date;
}

const sameCert = (a: string, b: string) => a.replace(/\s+/g, "") === b.replace(/\s+/g, "");

export async function runDoctor(m: Model, o: DoctorOptions): Promise<DoctorCheck[]> {
  const ca = o.ca && existsSync(o.ca) ? readFileSync(o.ca, "utf8") : undefined;
  const certificates = await Promise.all(CHECKED_ENDPOINTS.map((e) => endpointCertificateCheck(m, o, ca, e.endpoint, e.title)));
  return [...certificates, buildHostTrustCheck(m, o, ca), await nodePullCheck(m, o), await canaryCheck(m, o), ...(await sealedSecretsChecks(m, o)), cniCheck(m)];
}

/** What `bk bootstrap` proves last, asked again of the live cluster: the canary runs from the private registry. */
async function canaryCheck(m: Model, o: DoctorOptions): Promise<DoctorCheck> {
  const base = { id: "canary", title: "the canary application is Ready and runs its image from the private registry" };
  if (!o.canary) return { ...base, status: "skipped", detail: "no cluster given" };
  if ("skipped" in o.canary) return { ...base, status: "skipped", detail: o.canary.skipped };
  try {
    const v = judgeCanary(m, o.canary.component, await o.canary.read());
    return { ...base, status: v.ok ? "ok" : "fail", detail: v.detail, ...(v.fix ? { fix: v.fix } : {}) };
  } catch (err) {
    return { ...base, status: "fail", detail: `could not read it from the cluster: ${(err as Error).message}`, fix: "check the kubeconfig and that the API server answers (`bk status`)" };
  }
}

/** The TLS servers whose certificates clients verify against the cluster CA: the registry (incident 3) and ChartMuseum. */
const CHECKED_ENDPOINTS = [
  { endpoint: "registry", title: "registry certificate covers the definition's IPs and names, is current and chains to the cluster CA" },
  { endpoint: "chartmuseum", title: "ChartMuseum certificate covers the definition's IPs and names, is current and chains to the cluster CA" },
] as const;

/** Incident 3: an endpoint's served certificate must cover every address it is reached at, be current, and verify against the CA. */
async function endpointCertificateCheck(m: Model, o: DoctorOptions, caPem: string | undefined, endpoint: CertificateModel["endpoint"], title: string): Promise<DoctorCheck> {
  const cert = m.certificates.find((c) => c.endpoint === endpoint);
  const id = `${endpoint}-certificate`;
  const overrides = Object.fromEntries(Object.entries(o.overrides ?? {}).filter(([k]) => k === endpoint || k === cert?.name));
  const [r] = cert ? await checkCertificates(tlsTargets(m, overrides, [endpoint]), { ...(caPem ? { ca: caPem } : {}), ...(o.now ? { now: o.now } : {}) }) : [];
  if (!r) return { id, title, status: "skipped", detail: `${endpoint} serves no TLS in the definition` };
  const names = [...(r.served?.ipAddresses ?? []), ...(r.served?.dnsNames ?? [])].join(", ");
  return {
    id,
    title,
    status: r.status === "ok" ? "ok" : r.status === "warning" ? "warn" : "fail",
    detail: r.status === "ok" ? `${r.target} serves ${names}, ${r.daysLeft} day(s) left${r.served?.trust ? ", verified against the CA" : " (no --ca: chain not checked)"}` : r.findings.map((f) => f.message).join("; "),
    ...(r.status === "ok" ? {} : { fix: r.findings[0]?.fix ?? `run \`bk certs renew ${r.certificate}\`` }),
  };
}

/** Incident 4: the build host must trust the CA, for every builder. */
function buildHostTrustCheck(m: Model, o: DoctorOptions, ca: string | undefined): DoctorCheck {
  const registry = m.registry;
  if (!ca)
    return {
      id: "build-host-trust",
      title: "the build host trusts the cluster CA",
      status: o.ca ? "fail" : "skipped",
      detail: o.ca ? `${o.ca} does not exist` : "no --ca given",
      fix: "fetch the CA (`bk trust --print` shows how) and pass --ca",
    };
  const places = [`etc/docker/certs.d/${registry}/ca.crt`, `etc/containers/certs.d/${registry}/ca.crt`];
  const missing = places.filter((p) => {
    const f = path.join(o.hostRoot, p);
    return !existsSync(f) || !sameCert(readFileSync(f, "utf8"), ca);
  });
  return {
    id: "build-host-trust",
    title: "the build host trusts the cluster CA",
    status: missing.length ? "fail" : "ok",
    detail: missing.length ? `missing or different: ${missing.map((p) => "/" + p).join(", ")}` : `docker and podman/buildah trust it for ${registry}`,
    ...(missing.length ? { fix: `run \`bk trust --ca ${o.ca}\`` } : {}),
  };
}

/** Incident 4 again, on the node: a test pull through the node's container runtime. */
async function nodePullCheck(m: Model, o: DoctorOptions): Promise<DoctorCheck> {
  if (!o.runner) return { id: "node-pull", title: "the node can pull from the registry", status: "skipped", detail: "no --node given (needs `minikube ssh`)" };
  const image = o.pullImage ?? m.components[0]?.image.ref ?? `${m.registry}/none:none`;
  const args = ["-p", m.cluster.profile.name, "ssh", "--", "sudo", "crictl", "pull", image];
  const r = await o.runner.run("minikube", args);
  return {
    id: "node-pull",
    title: "the node can pull from the registry",
    status: r.code === 0 ? "ok" : "fail",
    detail: r.code === 0 ? `pulled ${image}` : `${formatCommand("minikube", args)}: ${(r.stderr || r.stdout).trim().split("\n").pop()}`,
    ...(r.code === 0 ? {} : { fix: /x509|certificate/.test(r.stderr) ? "install the CA on the node: `bk trust --no-host`" : "check that the image exists (`bk release --dry-run`) and the node reaches the registry" }),
  };
}

/** Incident 6: every SealedSecret opens with the backed-up key, and the backup is fresh. */
async function sealedSecretsChecks(m: Model, o: DoctorOptions): Promise<DoctorCheck[]> {
  if (!o.keyBackup) {
    return [
      {
        id: "sealed-secrets-decrypt",
        title: "every SealedSecret decrypts with the backed-up key",
        status: "fail",
        detail: "no --key-backup given",
        fix: "run `bk secrets backup --kubeconfig <file> --out <file>` and keep the file safe; pass it as --key-backup",
      },
      { id: "key-backup-recent", title: "a Sealed Secrets key backup exists and is recent", status: "fail", detail: "no --key-backup given", fix: "run `bk secrets backup`" },
    ];
  }
  if (!existsSync(o.keyBackup)) {
    return [
      { id: "sealed-secrets-decrypt", title: "every SealedSecret decrypts with the backed-up key", status: "fail", detail: `${o.keyBackup} does not exist`, fix: "run `bk secrets backup`" },
      { id: "key-backup-recent", title: "a Sealed Secrets key backup exists and is recent", status: "fail", detail: `${o.keyBackup} does not exist`, fix: "run `bk secrets backup`" },
    ];
  }
  return [await sealedSecretsDecryptCheck(m, o.root, o.keyBackup), keyBackupAgeCheck(o.keyBackup, o)];
}

async function sealedSecretsDecryptCheck(m: Model, root: string, keyBackup: string): Promise<DoctorCheck> {
  const { loadKeyBackupFile } = await import("../sealing/keys.js");
  const report = verifySealedTree(m, readSealedFiles(root, OWNED_DIRS), loadKeyBackupFile(keyBackup), { requireAllSealed: true });
  const bad = report.secrets.filter((e) => e.opens !== true || e.problems.length);
  return {
    id: "sealed-secrets-decrypt",
    title: "every SealedSecret decrypts with the backed-up key",
    status: report.ok ? "ok" : "fail",
    detail: report.ok ? `${report.secrets.length} SealedSecrets open` : bad.map((e) => `${e.secret}: ${e.problems.join("; ") || e.error || "cannot be opened"}`).join("; "),
    ...(report.ok ? {} : { fix: "`bk secrets verify --key-backup <file>` shows each; `bk secrets reseal` re-encrypts them for the current key" }),
  };
}

function keyBackupAgeCheck(keyBackup: string, o: DoctorOptions): DoctorCheck {
  const st = statSync(keyBackup);
  const ageDays = ((o.now ?? new Date()).getTime() - st.mtimeMs) / 86_400_000;
  const loose = (st.mode & 0o077) !== 0;
  return {
    id: "key-backup-recent",
    title: "a Sealed Secrets key backup exists and is recent",
    status: ageDays > o.maxKeyBackupAgeDays || loose ? "fail" : "ok",
    detail: `${keyBackup}: ${ageDays.toFixed(1)} days old, mode ${(st.mode & 0o777).toString(8)}`,
    ...(ageDays > o.maxKeyBackupAgeDays ? { fix: "run `bk secrets backup` again (a key renewed since is not in it)" } : loose ? { fix: `chmod 600 ${keyBackup}` } : {}),
  };
}

/** NetworkPolicies only mean something under a CNI that enforces them. */
function cniCheck(m: Model): DoctorCheck {
  const enforcing = ["calico", "cilium"].includes(m.cluster.profile.cni);
  return {
    id: "cni-enforces-networkpolicy",
    title: "the CNI enforces NetworkPolicy",
    status: enforcing ? "ok" : "fail",
    detail: `the profile starts Minikube with --cni=${m.cluster.profile.cni}`,
    ...(enforcing ? {} : { fix: "set cluster.profile.cni: calico in definition/cluster.yaml and rebuild (`bk bootstrap`)" }),
  };
}
