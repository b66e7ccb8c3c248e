/**
 * The Kubernetes half of the dev cluster, all on 127.0.0.1: etcd, kube-apiserver (PodSecurity admission,
 * Node+RBAC authorization, real service-account tokens), kube-controller-manager (Deployments get
 * ReplicaSets and Pods), kube-scheduler (binds Pods to nodes; KWOK does not schedule) and KWOK, which plays the
 * kubelet for fake nodes so their Pods turn Running/Ready without containers.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import type { Binaries } from "./binaries.js";
import type { Kubectl } from "./kubectl.js";
import { httpGet } from "./net.js";
import type { Pki } from "./pki.js";
import type { ProcessSet } from "./procs.js";
import { poll } from "./wait.js";
import { readFile } from "node:fs/promises";

export interface FakeNode {
  name: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
  /** Allocatable = capacity. Default cpu 8, memory 32Gi, pods 110. */
  capacity?: { cpu?: string; memory?: string; pods?: string };
}

/** KWOK only manages nodes carrying this annotation, so a real node could never be taken over by mistake. */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

export const SERVICE_CIDR = "10.96.0.0/16";
// Fake addresses KWOK writes into Pod status. Nothing ever connects to them: there are no containers,
// no kube-proxy, and every real endpoint (git, charts, Flux storage) is on 127.0.0.1.
export const POD_CIDR = "10.244.0.1/16";

export interface ControlPlanePorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  kwokNode: number;
  kwokServer: number;
}

async function waitHttp(what: string, url: string, procs: ProcessSet, timeoutMs: number, tls?: { ca: Buffer; cert: Buffer; key: Buffer }, ok: (status: number, body: string) => boolean = (s) => s === 200): Promise<void> {
  await poll(
    what,
    timeoutMs,
    async () => {
      try {
        const r = await httpGet(url, tls, 3000);
        return { done: ok(r.status, r.body), detail: `HTTP ${r.status} ${r.body.slice(0, 300)}` };
      } catch (err) {
        return { done: false, detail: (err as Error).message };
      }
    },
    { intervalMs: 300, abort: () => procs.assertAlive() },
  );
}

export async function startEtcd(bin: Binaries, procs: ProcessSet, dataDir: string, ports: ControlPlanePorts, timeoutMs: number): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  procs.start("etcd", bin.etcd, [
    "--name=dev",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=dev=${peer}`,
    "--initial-cluster-state=new",
    "--log-level=warn",
    "--logger=zap",
    // Throwaway data: skipping fsync makes CRD installs and Flux status churn much cheaper on a small VM.
    "--unsafe-no-fsync=true",
  ]);
  await waitHttp("etcd /health", `${client}/health`, procs, timeoutMs, undefined, (s, b) => s === 200 && b.includes('"true"'));
  return client;
}

export async function startApiserver(bin: Binaries, procs: ProcessSet, pki: Pki, etcdUrl: string, ports: ControlPlanePorts, timeoutMs: number): Promise<string> {
  const url = `https://127.0.0.1:${ports.apiserver}`;
  procs.start("kube-apiserver", bin["kube-apiserver"], [
    `--etcd-servers=${etcdUrl}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${pki.dir}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--authorization-mode=Node,RBAC",
    // PodSecurity is on by default; naming it keeps it on even if upstream defaults change.
    "--enable-admission-plugins=NodeRestriction,PodSecurity",
    // Privileged pods must pass the apiserver's own check so that Pod Security admission is what refuses them.
    "--allow-privileged=true",
    // The "kubernetes" Service would get 127.0.0.1 as endpoint, which Endpoints validation rejects.
    "--endpoint-reconciler-type=none",
    "--profiling=false",
    "--v=1",
  ]);
  const tls = { ca: await readFile(pki.caCert), cert: await readFile(pki.adminCert), key: await readFile(pki.adminKey) };
  await waitHttp("kube-apiserver /readyz", `${url}/readyz`, procs, timeoutMs, tls);
  return url;
}

export function startControllers(bin: Binaries, procs: ProcessSet, pki: Pki, kubeconfig: string, ports: ControlPlanePorts): void {
  procs.start("kube-controller-manager", bin["kube-controller-manager"], [
    `--kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    // No serving endpoint needed: health shows in what it does (ReplicaSets, Pods, ServiceAccounts).
    "--secure-port=0",
    "--leader-elect=false",
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--v=1",
  ]);
  procs.start("kube-scheduler", bin["kube-scheduler"], [`--kubeconfig=${kubeconfig}`, "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false", "--v=1"]);
  procs.start("kwok", bin.kwok, [
    `--kubeconfig=${kubeconfig}`,
    `--config=${bin.kwokStages}`,
    "--manage-all-nodes=false",
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
    "--manage-nodes-with-label-selector=",
    "--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom",
    "--disregard-status-with-label-selector=",
    `--cidr=${POD_CIDR}`,
    // apiserver -> "kubelet" traffic (logs, exec) would go to the node address; keep it on loopback.
    "--node-ip=127.0.0.1",
    `--node-port=${ports.kwokNode}`,
    `--server-address=127.0.0.1:${ports.kwokServer}`,
    "--node-lease-duration-seconds=40",
  ]);
}

export function nodeManifest(nodes: readonly FakeNode[]): string {
  return nodes
    .map((n) => {
      const cap = { cpu: n.capacity?.cpu ?? "8", memory: n.capacity?.memory ?? "32Gi", pods: n.capacity?.pods ?? "110" };
      return stringify({
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: n.name,
          annotations: { [KWOK_NODE_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: {
            "kubernetes.io/hostname": n.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            type: "kwok",
            ...n.labels,
          },
        },
        spec: n.taints?.length ? { taints: n.taints } : {},
        status: { allocatable: cap, capacity: cap },
      });
    })
    .join("---\n");
}

export async function registerNodes(kubectl: Kubectl, nodes: readonly FakeNode[], procs: ProcessSet, timeoutMs: number): Promise<void> {
  if (nodes.length === 0) return;
  // Created (not applied): a server-side apply would own status fields and fight KWOK's status updates.
  await kubectl.run(["create", "-f", "-"], nodeManifest(nodes));
  for (const n of nodes) {
    await kubectl.waitReady("node", undefined, n.name, timeoutMs, { abort: () => procs.assertAlive(), intervalMs: 500 });
  }
}

export function etcdDataDir(workdir: string): string {
  return path.join(workdir, "etcd");
}
