/**
 * The endpoints `bk netpol` evaluates policies between: one representative pod per application
 * component (and per migration Job / CronJob, which carry different name labels), the
 * infrastructure pods policies refer to, and addresses outside the pod network: the internet, a
 * LAN host and the API server (which is not a pod).
 */
import type { KubeObject } from "../core/object.js";
import { MINIKUBE_API_SERVER_PORT } from "../core/well-known.js";
import type { Model, WorkloadPort } from "../model/model.js";
import { formatIpv4, parseIpv4 } from "./ip.js";
import type { Endpoint, Labels } from "./semantics.js";
import { FLAGGER_LABELS, FLAGGER_RELEASE } from "../model/progressive.js";
import { componentJobNames, componentPodLabels, componentPorts } from "./workloads.js";
import { MOVER_LABELS, repositoryEndpoint, VOLSYNC_CONTROLLER_LABELS, VOLSYNC_METRICS_PORT } from "../model/volume-backups.js";

/** VolSync's pods: the controller, and one mover per namespace with a backed-up volume (as the ReplicationSources label them). */
export const VOLSYNC_CONTROLLER_ID = "volsync-controller";
export const VOLSYNC_MOVER_ID = "volsync-mover";
/** The restic store when the definition names it by IP address; by name it is somewhere on the internet. */
export const BACKUP_STORE_ID = "backup-store";

/** Minikube's default pod network (inside 10.0.0.0/8, so "internet" rules never match pods). */
export const POD_CIDR_BASE = "10.244.0.0";
/** A public documentation address (RFC 5737) standing for every host on the internet. */
export const INTERNET_IP = "203.0.113.10";
/** Minikube's node address with the docker driver; the API server listens there on 8443. */
export const API_SERVER_IP = "192.168.49.2";
export const API_SERVER_PORT = MINIKUBE_API_SERVER_PORT;

export type EndpointGroup = { kind: "app"; app: string } | { kind: "infrastructure" } | { kind: "outside" };

export interface InventoryEndpoint {
  endpoint: Endpoint;
  title: string;
  /** Whose declared paths this endpoint shares: a component id for its pods and Jobs, else the endpoint id. */
  owner: string;
  group: EndpointGroup;
}

export interface Inventory {
  namespaces: Map<string, Labels>;
  endpoints: InventoryEndpoint[];
}

/** A LAN address outside the LoadBalancer pool, standing for build hosts and browsers. */
export function lanHost(m: Model): string {
  const start = parseIpv4(m.network.loadBalancerPool.start)!;
  const end = parseIpv4(m.network.loadBalancerPool.end)!;
  const base = start - (start % 256);
  for (let i = 2; i < 255; i++) if (base + i < start || base + i > end) return formatIpv4(base + i);
  return formatIpv4(base + 1);
}

export function buildInventory(m: Model, objects: readonly KubeObject[] = []): Inventory {
  const namespaces = new Map<string, Labels>();
  const nsLabels = (name: string) => {
    // Kubernetes adds kubernetes.io/metadata.name to every namespace; the rest comes from our Namespace objects.
    const o = objects.find((x) => x.kind === "Namespace" && x.apiVersion === "v1" && x.metadata.name === name);
    return { ...(o?.metadata.labels ?? {}), "kubernetes.io/metadata.name": name };
  };
  for (const ns of m.namespaces) namespaces.set(ns.name, nsLabels(ns.name));

  const base = parseIpv4(POD_CIDR_BASE)!;
  let next = 10;
  const podIp = () => formatIpv4(base + next++);
  const endpoints: InventoryEndpoint[] = [];

  for (const app of m.apps) {
    for (const c of app.components) {
      const group: EndpointGroup = { kind: "app", app: app.name };
      endpoints.push({
        endpoint: { kind: "pod", id: c.id, namespace: c.namespace, labels: componentPodLabels(c), ip: podIp(), ports: componentPorts(c) },
        title: `${c.id} (${c.role})`,
        owner: c.id,
        group,
      });
      for (const job of componentJobNames(c)) {
        const suffix = job.slice(c.fullname.length + 1);
        endpoints.push({
          endpoint: { kind: "pod", id: `${c.id}#${suffix}`, namespace: c.namespace, labels: componentPodLabels(c, job), ip: podIp(), ports: [] },
          title: `${c.id} ${suffix} Job`,
          owner: c.id,
          group,
        });
      }
    }
  }
  for (const w of Object.values(m.workloads)) {
    if (!namespaces.has(w.namespace)) namespaces.set(w.namespace, nsLabels(w.namespace));
    endpoints.push({
      endpoint: { kind: "pod", id: `${w.namespace}/${w.id}`, namespace: w.namespace, labels: w.labels, ip: podIp(), ports: w.ports },
      title: w.title,
      owner: `${w.namespace}/${w.id}`,
      group: { kind: "infrastructure" },
    });
  }
  const vb = m.volumeBackups;
  if (vb) {
    const pod = (ns: string, id: string, labels: Labels, ports: WorkloadPort[], title: string) => {
      if (!namespaces.has(ns)) namespaces.set(ns, nsLabels(ns));
      endpoints.push({ endpoint: { kind: "pod", id: `${ns}/${id}`, namespace: ns, labels, ip: podIp(), ports }, title, owner: `${ns}/${id}`, group: { kind: "infrastructure" } });
    };
    pod(vb.namespace, VOLSYNC_CONTROLLER_ID, { ...VOLSYNC_CONTROLLER_LABELS, "control-plane": "volsync-controller" }, [{ name: "https", port: VOLSYNC_METRICS_PORT, protocol: "TCP" }], "VolSync controller");
    for (const ns of [...new Set(vb.volumes.map((v) => v.namespace))].sort()) pod(ns, VOLSYNC_MOVER_ID, { ...MOVER_LABELS, "app.kubernetes.io/created-by": "volsync" }, [], `VolSync mover in ${ns}`);
  }
  const pd = m.progressiveDelivery;
  if (pd) {
    if (!namespaces.has(pd.namespace)) namespaces.set(pd.namespace, nsLabels(pd.namespace));
    endpoints.push({
      endpoint: { kind: "pod", id: `${pd.namespace}/${FLAGGER_RELEASE}`, namespace: pd.namespace, labels: { ...FLAGGER_LABELS }, ip: podIp(), ports: [] },
      title: "Flagger",
      owner: `${pd.namespace}/${FLAGGER_RELEASE}`,
      group: { kind: "infrastructure" },
    });
  }
  const outside = (id: string, ip: string, title: string): InventoryEndpoint => ({ endpoint: { kind: "external", id, ip }, title, owner: id, group: { kind: "outside" } });
  endpoints.push(outside("internet", INTERNET_IP, `the internet (${INTERNET_IP})`));
  endpoints.push(outside("lan", lanHost(m), `a LAN host (${lanHost(m)})`));
  endpoints.push(outside("apiserver", API_SERVER_IP, `the Kubernetes API server (${API_SERVER_IP}:${API_SERVER_PORT})`));
  const store = vb ? repositoryEndpoint(vb.repository) : undefined;
  if (store?.ip) endpoints.push(outside(BACKUP_STORE_ID, store.host, `the restic store (${store.host}:${store.port})`));
  return { namespaces, endpoints };
}
