/**
 * What `bk ui` shows, assembled from the definition and the live cluster together. Each part is the result
 * object the matching CLI command prints with --json (`bk status`, `bk certs`, `bk netpol`, `bk plan`'s
 * changes), so the page and a script read the same thing. Without a cluster the definition parts are
 * complete and the live parts say why they are absent.
 */
import https from "node:https";
import type { Model } from "../model/model.js";
import { generate } from "../pipeline.js";
import { analyzeNetworkPolicies, type NetpolReport } from "../netpol/analyze.js";
import { diffTrees } from "../tree/diff.js";
import { readTree } from "../tree/files.js";
import { GENERATED_FILES, OWNED_DIRS } from "../tree/tree.js";
import { helmReleaseRef, objectEvents } from "../adapters/flux.js";
import { loadKubeConfig, reaching, type Kube, type KubeOptions } from "../adapters/kube.js";
import { checkCertificates, tlsTargets, type CertificateReport } from "./certs.js";
import { collect, evaluateStatus, type FluxItem, type StatusCheck, type StatusReport } from "./status.js";

export interface UiConnection {
  connected: boolean;
  /** Why nothing live is shown: no kubeconfig, or the API server did not answer. */
  reason?: string;
  context?: string;
  server?: string;
}

/** The definition as the page draws it: addresses, namespaces, applications and components, declared edges. */
export interface UiDefinition {
  cluster: string;
  loadBalancers: Array<{ id: string; title: string; ip: string; ports: number[]; namespace: string; service: string; hostnames: string[] }>;
  namespaces: Array<{ name: string; kind: string; podSecurity: string }>;
  applications: Array<{
    name: string;
    namespace: string;
    components: Array<{ id: string; name: string; fullname: string; namespace: string; role: string; image: string; route?: string; health?: string; optional: boolean; replicas: number }>;
  }>;
  databases: Array<{ name: string; namespace: string }>;
  /** Declared edges; `to` is a component id, `postgres:<db>` or `host:port`. */
  edges: Array<{ from: string; to: string; kind: "component" | "database" | "external" }>;
  /** The endpoint that routes to components with a `route` (ingress or gateway). */
  entry?: string;
}

export interface ComponentState {
  id: string;
  helmRelease: { namespace: string; name: string };
  /** The image the tree gives the Deployment. */
  tree: string;
  running?: string[];
  version: "match" | "differs" | "absent" | "scaled-to-zero" | "unknown";
  ready: FluxItem["ready"] | "absent" | "unknown";
  reason?: string;
  message?: string;
  suspended?: boolean;
  /** The newest Kubernetes event of its HelmRelease. */
  lastEvent?: string;
  health?: { url: string; status: number | string; ok: boolean };
}

export interface UiSnapshot {
  generatedAt: string;
  connection: UiConnection;
  definition: UiDefinition;
  components: ComponentState[];
  /** Every Flux object in the cluster, as `bk status` reads them; empty when not connected. */
  flux: FluxItem[];
  /** `bk status --json`; absent when not connected. */
  status?: StatusReport;
  /** `bk certs --json`. */
  certificates: { ok: boolean; certificates: CertificateReport[] };
  /** The status checks of area "backups": the newest dump and volume backups. */
  backups: StatusCheck[];
  /** `bk netpol --json`. */
  netpol: NetpolReport;
  /** `bk plan --json`'s `changes`: the generated tree against the tree on disk. */
  changes: { added: string[]; changed: string[]; removed: string[] };
  /** The unified diff of those changes. */
  patch: string;
}

export interface UiSnapshotOptions {
  root: string;
  kube?: Kube;
  connection: UiConnection;
  /** PEM of the cluster CA: served certificates' chains and the health URLs are verified against it. */
  ca?: string;
  /** Base of the health URLs (default https://<ingress or gateway IP>). */
  healthBaseUrl?: string;
  timeoutMs?: number;
  now?: Date;
}

export function definitionView(m: Model): UiDefinition {
  const entry = m.endpoints.find((e) => e.id === (m.network.routes === "gateway-api" ? "gateway" : "ingress"));
  return {
    cluster: m.cluster.name,
    loadBalancers: m.endpoints.map((e) => ({ id: e.id, title: e.title, ip: e.ip, ports: e.ports.map((p) => p.port), namespace: e.namespace, service: e.service, hostnames: e.hostnames })),
    namespaces: m.namespaces.map((n) => ({ name: n.name, kind: n.kind, podSecurity: n.podSecurity })),
    applications: m.apps.map((a) => ({
      name: a.name,
      namespace: a.namespace,
      components: a.components.map((c) => ({
        id: c.id,
        name: c.name,
        fullname: c.fullname,
        namespace: c.namespace,
        role: c.role,
        image: c.image.ref,
        ...(c.route ? { route: c.route } : {}),
        ...(c.health ? { health: c.health } : {}),
        optional: c.optional,
        replicas: c.replicas,
      })),
    })),
    databases: m.postgres.databases.map((d) => ({ name: d.name, namespace: m.postgres.namespace })),
    edges: m.edges.map((e) => ({
      from: e.from,
      to: e.to.kind === "component" ? e.to.id : e.to.kind === "database" ? `postgres:${e.to.name}` : `${e.to.host}:${e.to.port}`,
      kind: e.to.kind,
    })),
    ...(entry ? { entry: entry.id } : {}),
  };
}

/** The kubeconfig's cluster, if it answers; never throws: not connected is a state the page shows. */
export async function connectCluster(o: KubeOptions, timeoutMs = 5000): Promise<{ kube?: Kube; connection: UiConnection }> {
  let kube: Kube;
  try {
    const { k8s, kc } = loadKubeConfig(o);
    kube = { kc, objects: k8s.KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(k8s.CoreV1Api) };
  } catch (err) {
    return { connection: { connected: false, reason: (err as Error).message } };
  }
  const where = { context: kube.kc.getCurrentContext(), server: kube.kc.getCurrentCluster()?.server ?? "" };
  try {
    await withTimeout(reaching(kube.core.listNamespace({ limit: 1 })), timeoutMs, `the API server ${where.server} did not answer within ${timeoutMs} ms`);
    return { kube, connection: { connected: true, ...where } };
  } catch (err) {
    return { kube, connection: { connected: false, reason: (err as Error).message, ...where } };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

/** The definition's parts, which need no cluster: netpol and the pending changes. */
export function definitionParts(root: string): { model: Model; definition: UiDefinition; netpol: NetpolReport; changes: UiSnapshot["changes"]; patch: string } {
  const { model, tree } = generate(root);
  const netpol = analyzeNetworkPolicies(
    model,
    tree.objects.map((p) => p.object),
  );
  const diff = diffTrees(readTree(root, OWNED_DIRS, GENERATED_FILES), tree.files);
  return { model, definition: definitionView(model), netpol, changes: { added: diff.added, changed: diff.changed, removed: diff.removed }, patch: diff.patch };
}

export async function uiSnapshot(o: UiSnapshotOptions): Promise<UiSnapshot> {
  const parts = definitionParts(o.root);
  const m = parts.model;
  const connected = o.connection.connected && o.kube ? o.kube : undefined;
  const timeoutMs = o.timeoutMs ?? 5000;
  let status: StatusReport | undefined;
  let certificates: CertificateReport[];
  let components: ComponentState[];
  let flux: FluxItem[] = [];
  if (connected) {
    const snap = await collect(m, { kube: connected, ...(o.ca ? { ca: o.ca } : {}), ...(o.now ? { now: o.now } : {}) });
    status = evaluateStatus(m, snap, o.now ? { now: o.now } : {});
    certificates = snap.certificates;
    flux = snap.flux;
    const entry = m.endpoints.find((e) => e.id === parts.definition.entry);
    const base = (o.healthBaseUrl ?? (entry ? `https://${entry.ip}` : "")).replace(/\/$/, "");
    components = await Promise.all(
      m.components.map(async (c) => {
        const hr = snap.flux.find((f) => f.kind === "HelmRelease" && f.namespace === c.namespace && f.name === c.fullname);
        const dep = snap.images.find((d) => d.namespace === c.namespace && d.deployment === c.fullname);
        const lastEvent = snap.apiError ? undefined : (await objectEvents(connected, helmReleaseRef(c.namespace, c.fullname), 1).catch(() => []))[0];
        const health = c.health && base ? await healthGet(`${base}${c.health}`, o.ca, timeoutMs) : undefined;
        return {
          id: c.id,
          helmRelease: { namespace: c.namespace, name: c.fullname },
          tree: c.image.ref,
          ...(dep ? { running: dep.images } : {}),
          version: snap.apiError ? "unknown" : !dep ? (c.replicas === 0 ? "scaled-to-zero" : "absent") : dep.images.includes(c.image.ref) ? "match" : "differs",
          ready: snap.apiError ? "unknown" : (hr?.ready ?? "absent"),
          ...(hr?.reason ? { reason: hr.reason } : {}),
          ...(hr?.message ? { message: hr.message } : {}),
          ...(hr?.suspended ? { suspended: true } : {}),
          ...(lastEvent ? { lastEvent } : {}),
          ...(health ? { health } : {}),
        } satisfies ComponentState;
      }),
    );
  } else {
    // The LAN endpoints may answer without a kubeconfig: their certificates are read all the same.
    // As `bk certs` reads them (its default timeout too), so the two give the same objects.
    certificates = await checkCertificates(tlsTargets(m), { ...(o.ca ? { ca: o.ca } : {}), ...(o.now ? { now: o.now } : {}) });
    components = m.components.map((c) => ({ id: c.id, helmRelease: { namespace: c.namespace, name: c.fullname }, tree: c.image.ref, version: "unknown", ready: "unknown" }));
  }
  return {
    generatedAt: (o.now ?? new Date()).toISOString(),
    connection: o.connection,
    definition: parts.definition,
    components,
    flux,
    ...(status ? { status } : {}),
    certificates: { ok: certificates.every((r) => r.status !== "failed"), certificates },
    backups: status?.checks.filter((c) => c.area === "backups") ?? [],
    netpol: parts.netpol,
    changes: parts.changes,
    patch: parts.patch,
  };
}

/** A health URL's answer: the HTTP status, or why there was none. */
function healthGet(url: string, ca: string | undefined, timeoutMs: number): Promise<{ url: string; status: number | string; ok: boolean }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = https.request({ hostname: u.hostname, port: u.port || 443, path: u.pathname + u.search, method: "GET", timeout: timeoutMs, ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve({ url, status, ok: status >= 200 && status < 400 });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e) => resolve({ url, status: e.message, ok: false }));
    req.end();
  });
}
