/**
 * Make the build host and the Minikube node trust the cluster CA (incident 4: Docker refused to
 * push, and the node failed pulls with "x509: certificate signed by unknown authority").
 * The work is a list of actions, so --print can show exactly what a run would do.
 */
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Model } from "../model/model.js";
import type { KubeOptions } from "../adapters/kube.js";
import { describeFailure, formatCommand, type Runner } from "../adapters/runner.js";

/** The node's container runtime, pinned at `minikube start` (bootstrap) and restarted here. */
export const NODE_RUNTIME = "containerd";
export const CA_NAME = "beckerkube-ca.crt";
/** Where cert-manager keeps the CA (see src/synth/configs.ts: CA_SECRET in the cert-manager namespace). */
export const CA_SECRET = { namespace: "cert-manager", name: "beckerkube-ca" };
const NODE_TMP = `/tmp/${CA_NAME}`;

export type TrustAction =
  /** Copy the CA to `dest` on the build host. */
  { kind: "install"; target: "host"; dest: string; why: string } | { kind: "run"; target: "host" | "node"; cmd: string; args: string[]; why: string; sudo: boolean };

export interface TrustPlanOptions {
  /** Local path of the CA file the actions copy. */
  caFile: string;
  host: boolean;
  node: boolean;
  /** Registry addresses as clients write them: host:port. */
  registries: string[];
  profile: string;
}

/** Every host:port a client may push to or pull from: the LoadBalancer IP and the LAN names. */
export function registryAddresses(m: Model): string[] {
  const ep = m.endpoints.find((e) => e.id === "registry")!;
  const port = ep.ports[0]!.port;
  return [ep.ip, ...ep.hostnames].map((h) => `${h}:${port}`);
}

export function trustPlan(o: TrustPlanOptions): TrustAction[] {
  const out: TrustAction[] = [];
  if (o.host) {
    for (const r of o.registries) {
      out.push({ kind: "install", target: "host", dest: `/etc/docker/certs.d/${r}/ca.crt`, why: `Docker trusts ${r}` });
      out.push({ kind: "install", target: "host", dest: `/etc/containers/certs.d/${r}/ca.crt`, why: `Podman, Buildah and Skopeo trust ${r}` });
    }
    out.push({ kind: "install", target: "host", dest: `/usr/local/share/ca-certificates/${CA_NAME}`, why: "the system store (curl, Go programs, BuildKit in the host)" });
    out.push({ kind: "run", target: "host", cmd: "update-ca-certificates", args: [], why: "rebuild the system store", sudo: true });
  }
  if (o.node) {
    const mk = (...args: string[]) => ({ kind: "run" as const, target: "node" as const, cmd: "minikube", args: ["-p", o.profile, ...args], sudo: false });
    out.push({ ...mk("cp", o.caFile, NODE_TMP), why: "copy the CA onto the node" });
    out.push({ ...mk("ssh", "--", "sudo", "install", "-D", "-m", "0644", NODE_TMP, `/usr/local/share/ca-certificates/${CA_NAME}`), why: "the node's system store" });
    for (const r of o.registries) {
      out.push({ ...mk("ssh", "--", "sudo", "install", "-D", "-m", "0644", NODE_TMP, `/etc/${NODE_RUNTIME}/certs.d/${r}/ca.crt`), why: `${NODE_RUNTIME} trusts ${r} for image pulls` });
    }
    out.push({ ...mk("ssh", "--", "sudo", "update-ca-certificates"), why: "rebuild the node's system store" });
    out.push({ ...mk("ssh", "--", "sudo", "systemctl", "restart", NODE_RUNTIME), why: `${NODE_RUNTIME} reads the system store at start; running containers keep running` });
  }
  return out;
}

/** The actions as shell lines a person can run (or read): the output of --print. */
export function printTrust(actions: TrustAction[], caFile: string): string[] {
  return actions.map((a) => {
    const line = a.kind === "install" ? `sudo ${formatCommand("install", ["-D", "-m", "0644", caFile, a.dest])}` : `${a.sudo ? "sudo " : ""}${formatCommand(a.cmd, a.args)}`;
    return `${line}    # ${a.why}`;
  });
}

/** The command that fetches the CA from the cluster, for --print when no --ca is given. */
export function printFetchCa(dest: string, context?: string): string {
  const ctx = context ? ` --context ${context}` : "";
  return `kubectl${ctx} -n ${CA_SECRET.namespace} get secret ${CA_SECRET.name} -o jsonpath='{.data.ca\\.crt}' | base64 -d > ${dest}    # the cluster CA`;
}

/** Refuse anything that is not a CA certificate: installing a leaf as a trust anchor fixes nothing. */
export function checkCaPem(pem: string, where: string): X509Certificate {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${where}: not a PEM certificate (${(err as Error).message})`);
  }
  if (!x.ca) throw new Error(`${where}: ${x.subject.replace(/\n/g, ", ")} is not a CA certificate (basicConstraints CA:FALSE); pass the cluster CA, e.g. from secret ${CA_SECRET.namespace}/${CA_SECRET.name}`);
  if (Date.parse(x.validTo) < Date.now()) throw new Error(`${where}: the CA expired on ${x.validTo}`);
  return x;
}

export interface TrustStepResult {
  action: TrustAction;
  line: string;
  status: "done" | "skipped" | "failed";
  detail?: string;
}

export interface ApplyTrustOptions {
  runner: Runner;
  caPem: string;
  caFile: string;
  /** Write host files under this folder instead of / (tests, image builds); host commands are skipped. */
  rootPrefix?: string;
  /** As root, files are written directly; otherwise through `sudo install`. */
  isRoot: boolean;
}

function writeFileAtomic(dest: string, content: string): void {
  mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
  const tmp = `${dest}.bk-tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content, { mode: 0o644 });
    chmodSync(tmp, 0o644);
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Run the actions in order; stops at the first failure (later steps depend on earlier ones). */
export async function applyTrust(actions: TrustAction[], o: ApplyTrustOptions): Promise<TrustStepResult[]> {
  const results: TrustStepResult[] = [];
  let failed = false;
  for (const a of actions) {
    const line = printTrust([a], o.caFile)[0]!.replace(/ {4}# .*$/, "");
    if (failed) {
      results.push({ action: a, line, status: "skipped", detail: "an earlier step failed" });
      continue;
    }
    try {
      if (a.kind === "install") {
        if (o.rootPrefix || o.isRoot) {
          const dest = o.rootPrefix ? path.join(o.rootPrefix, a.dest) : a.dest;
          // Unchanged files are left alone, so a rerun changes nothing.
          if (existsSync(dest) && readFileSync(dest, "utf8") === o.caPem) results.push({ action: a, line, status: "done", detail: "already installed" });
          else {
            writeFileAtomic(dest, o.caPem);
            results.push({ action: a, line, status: "done" });
          }
        } else {
          const args = ["-n", "install", "-D", "-m", "0644", o.caFile, a.dest];
          const r = await o.runner.run("sudo", args);
          if (r.code !== 0) throw new Error(`${describeFailure("sudo", args, r)}\n(run bk trust as root, or allow sudo, or use --print)`);
          results.push({ action: a, line, status: "done" });
        }
      } else if (a.target === "host" && o.rootPrefix) {
        results.push({ action: a, line, status: "skipped", detail: `--root-prefix: ${a.cmd} would update this machine's store, not the one under ${o.rootPrefix}` });
      } else {
        const [cmd, args] = a.sudo && !o.isRoot ? ["sudo", ["-n", a.cmd, ...a.args]] : [a.cmd, a.args];
        const r = await o.runner.run(cmd, args, { timeoutMs: 180_000 });
        if (r.code !== 0) throw new Error(describeFailure(cmd, args, r));
        results.push({ action: a, line, status: "done" });
      }
    } catch (err) {
      failed = true;
      results.push({ action: a, line, status: "failed", detail: (err as Error).message });
    }
  }
  return results;
}

/** The CA from the cluster: cert-manager keeps it in the CA Certificate's Secret (ca.crt, else tls.crt for a self-signed root). */
export async function caFromCluster(o: KubeOptions): Promise<string> {
  const { k8s, kc } = (await import("../adapters/kube.js")).loadKubeConfig(o);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const secret = await core.readNamespacedSecret({ namespace: CA_SECRET.namespace, name: CA_SECRET.name });
  const b64 = secret.data?.["ca.crt"] ?? secret.data?.["tls.crt"];
  if (!b64) throw new Error(`secret ${CA_SECRET.namespace}/${CA_SECRET.name} has neither ca.crt nor tls.crt: has cert-manager issued the CA yet? (\`kubectl -n ${CA_SECRET.namespace} get certificate\`)`);
  return Buffer.from(b64, "base64").toString("utf8");
}
