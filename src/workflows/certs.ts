/**
 * Served TLS certificates against the Model (incident 3: "x509: certificate is valid for
 * 192.168.1.18, not 192.168.7.21"): read what each TLS endpoint actually serves, compare its SANs
 * and expiry with the CertificateModel, and tell whether it verifies against the cluster CA.
 * Renewal goes through cert-manager behind the CertManagerApi adapter.
 */
import type { Condition } from "../core/object.js";
import type { Finding } from "../core/finding.js";
import type { CertificateModel, Model } from "../model/model.js";
import { fetchServedCertificate, type ServedCertificate, type TlsAddress } from "../adapters/tls.js";
import type { KubeOptions } from "../adapters/kube.js";

export const WARN_DAYS = 30;
export const FAIL_DAYS = 14;

export interface TlsTarget extends TlsAddress {
  certificate: CertificateModel;
}

/**
 * Every endpoint of the model that serves TLS with one of its certificates, at its LoadBalancer IP,
 * unless `overrides` (certificate name or endpoint id -> host:port) points it elsewhere.
 */
export function tlsTargets(m: Model, overrides: Record<string, string> = {}, only?: string[]): TlsTarget[] {
  const known = new Set(m.certificates.flatMap((c) => [c.name, c.endpoint]));
  for (const k of [...Object.keys(overrides), ...(only ?? [])]) {
    if (!known.has(k)) throw new Error(`unknown certificate or endpoint "${k}"; known: ${[...known].join(", ")}`);
  }
  const out: TlsTarget[] = [];
  for (const c of m.certificates) {
    if (only?.length && !only.includes(c.name) && !only.includes(c.endpoint)) continue;
    const ep = m.endpoints.find((e) => e.id === c.endpoint)!;
    const port = c.port;
    const override = overrides[c.name] ?? overrides[c.endpoint];
    if (port === undefined && !override) continue; // no port serves TLS
    let host = ep.ip;
    let p = port!;
    if (override) {
      const m2 = /^(.+):(\d{1,5})$/.exec(override);
      if (!m2) throw new Error(`--target ${c.endpoint}=${override}: give host:port, e.g. 127.0.0.1:8443`);
      host = m2[1]!.replace(/^\[(.*)\]$/, "$1");
      p = Number(m2[2]);
    }
    out.push({ certificate: c, host, port: p, ...(c.dnsNames[0] ? { servername: c.dnsNames[0] } : {}) });
  }
  return out;
}

export interface CertificateReport {
  certificate: string;
  endpoint: string;
  target: string;
  served?: Omit<ServedCertificate, "pem">;
  expected: { dnsNames: string[]; ipAddresses: string[] };
  missing: string[];
  extra: string[];
  daysLeft?: number;
  status: "ok" | "warning" | "failed";
  findings: Finding[];
}

/** Not yet valid, expired, or expiring within the warning and failure windows. */
function validityFindings(c: TlsTarget["certificate"], served: ServedCertificate, now: Date): { daysLeft: number; findings: Finding[] } {
  const where = { object: `Certificate/${c.namespace}/${c.name}` };
  const findings: Finding[] = [];
  const msLeft = Date.parse(served.notAfter) - now.getTime();
  const daysLeft = Math.floor(msLeft / 86_400_000);
  if (Date.parse(served.notBefore) > now.getTime()) {
    findings.push({ rule: "certs/not-yet-valid", severity: "error", message: `the certificate is not valid before ${served.notBefore}`, fix: "check the clocks of the node and of this host", ...where });
  }
  if (msLeft <= 0) {
    findings.push({
      rule: "certs/expired",
      severity: "error",
      message: `the certificate expired on ${served.notAfter}`,
      fix: `\`bk certs renew ${c.name}\`; then find out why cert-manager did not renew it (\`kubectl describe certificate -n ${c.namespace} ${c.name}\`)`,
      ...where,
    });
  } else if (daysLeft < FAIL_DAYS) {
    findings.push({
      rule: "certs/expiring",
      severity: "error",
      message: `the certificate expires in ${daysLeft} day(s) (${served.notAfter}), less than ${FAIL_DAYS}`,
      fix: `\`bk certs renew ${c.name}\`; cert-manager should have renewed it already: check its logs`,
      ...where,
    });
  } else if (daysLeft < WARN_DAYS) {
    findings.push({
      rule: "certs/expiring",
      severity: "warning",
      message: `the certificate expires in ${daysLeft} day(s) (${served.notAfter})`,
      fix: `cert-manager renews ${c.name} before expiry; if it has not within a few days, \`bk certs renew ${c.name}\``,
      ...where,
    });
  }
  return { daysLeft, findings };
}

/** Compare what is served with what the model says; pure, so expiry thresholds are testable with any clock. */
export function evaluateCertificate(t: TlsTarget, served: ServedCertificate | Error, now: Date = new Date()): CertificateReport {
  const c = t.certificate;
  const where = { object: `Certificate/${c.namespace}/${c.name}` };
  const expected = { dnsNames: c.dnsNames.map((d) => d.toLowerCase()), ipAddresses: c.ipAddresses };
  const base = { certificate: c.name, endpoint: c.endpoint, target: `${t.host}:${t.port}`, expected };
  if (served instanceof Error) {
    const f: Finding = {
      rule: "certs/unreachable",
      severity: "error",
      message: served.message,
      fix: `check that the ${c.endpoint} Service has its LoadBalancer IP (\`bk ips\`) and is serving TLS on port ${t.port}`,
      ...where,
    };
    return { ...base, missing: [], extra: [], status: "failed", findings: [f] };
  }
  const findings: Finding[] = [];
  const servedNames = new Set([...served.dnsNames, ...served.ipAddresses]);
  const wanted = [...expected.ipAddresses, ...expected.dnsNames];
  const missing = wanted.filter((n) => !servedNames.has(n));
  const extra = [...served.ipAddresses, ...served.dnsNames].filter((n) => !wanted.includes(n));
  const validFor = [...served.ipAddresses, ...served.dnsNames].join(", ") || "no names at all";
  if (missing.length) {
    findings.push({
      rule: "certs/san-missing",
      severity: "error",
      message: `the certificate served at ${t.host}:${t.port} is valid for ${validFor}, not ${missing.join(", ")}: clients using ${missing.length > 1 ? "those" : "that"} will fail with "x509: certificate is valid for ..., not ..."`,
      fix: `reissue it: \`bk certs renew ${c.name}\` (after \`bk synth\` if the definition changed), then rerun \`bk certs\``,
      ...where,
    });
  }
  if (extra.length) {
    findings.push({
      rule: "certs/san-extra",
      severity: "warning",
      message: `the served certificate also names ${extra.join(", ")}, which the definition does not give this endpoint (stale address or name?)`,
      fix: `reissue it from the current definition: \`bk certs renew ${c.name}\``,
      ...where,
    });
  }
  const validity = validityFindings(c, served, now);
  const daysLeft = validity.daysLeft;
  findings.push(...validity.findings);
  if (served.trust && !served.trust.ok) {
    findings.push({
      rule: "certs/untrusted",
      severity: "error",
      message: `the served certificate does not verify against the given CA (${served.trust.error}): clients trusting that CA fail with "x509: certificate signed by unknown authority"`,
      fix: "pass the CA the cluster issues from (`bk trust --print` shows where it comes from), or reissue the certificate from the cluster CA",
      ...where,
    });
  }
  const { pem: _pem, ...shown } = served;
  const status = findings.some((f) => f.severity === "error") ? "failed" : findings.length ? "warning" : "ok";
  return { ...base, served: shown, missing, extra, daysLeft, status, findings };
}

export async function checkCertificates(targets: TlsTarget[], opts: { ca?: string; timeoutMs?: number; now?: Date } = {}): Promise<CertificateReport[]> {
  return Promise.all(
    targets.map(async (t) => {
      const served = await fetchServedCertificate(t, opts).catch((e: Error) => e);
      return evaluateCertificate(t, served, opts.now);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Renewal through cert-manager.

/** cert-manager writes standard conditions. */
export type CertCondition = Condition;

export interface CertManagerCertificate {
  metadata: { name: string; namespace: string; generation?: number; [k: string]: unknown };
  spec?: unknown;
  status?: { conditions?: CertCondition[]; revision?: number; notAfter?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** What `bk certs renew` needs from the cluster: small, so the decisions around it are testable. */
export interface CertManagerApi {
  get(namespace: string, name: string): Promise<CertManagerCertificate | undefined>;
  /** Write the status subresource (the Issuing condition is how cert-manager is told to reissue). */
  replaceStatus(cert: CertManagerCertificate): Promise<void>;
  /** Restart a Deployment whose server reads its certificate only at start. */
  restartDeployment(namespace: string, name: string): Promise<void>;
}

export type RenewDecision = { action: "trigger"; reason: string } | { action: "wait"; reason: string } | { action: "refuse"; reason: string };

/** Decide what to do with one Certificate. Pure. */
export function renewDecision(cert: CertManagerCertificate | undefined, ref: { namespace: string; name: string }): RenewDecision {
  if (!cert) {
    return { action: "refuse", reason: `Certificate ${ref.namespace}/${ref.name} does not exist in the cluster: has Flux applied infra-configs? (\`flux get kustomizations\`)` };
  }
  const issuing = cert.status?.conditions?.find((c) => c.type === "Issuing");
  if (issuing?.status === "True") return { action: "wait", reason: `already being issued since ${issuing.lastTransitionTime ?? "recently"} (${issuing.reason ?? "Issuing"}); not triggering again` };
  const ready = cert.status?.conditions?.find((c) => c.type === "Ready");
  return { action: "trigger", reason: ready?.status === "True" ? "Ready; forcing a reissue" : `not Ready (${ready?.reason ?? "no status yet"}): ${ready?.message ?? "reissuing"}` };
}

/**
 * The Certificate with an Issuing=True condition added, which is exactly what cert-manager's own
 * manual renewal (cmctl renew) writes through the status subresource.
 */
export function withIssuingCondition(cert: CertManagerCertificate, now: Date = new Date()): CertManagerCertificate {
  const conditions = (cert.status?.conditions ?? []).filter((c) => c.type !== "Issuing");
  conditions.push({
    type: "Issuing",
    status: "True",
    reason: "ManuallyTriggered",
    message: "Certificate re-issuance manually triggered by bk certs renew",
    lastTransitionTime: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    ...(cert.metadata.generation !== undefined ? { observedGeneration: cert.metadata.generation } : {}),
  });
  return { ...cert, status: { ...cert.status, conditions } };
}

/** Which certificates `bk certs renew` without a name renews: the ones whose served copy fails a check. */
export function certificatesNeedingRenewal(reports: CertificateReport[]): string[] {
  // Not certs/untrusted: a new leaf from the same CA does not help a host holding a different CA.
  const renewable = new Set(["certs/san-missing", "certs/san-extra", "certs/expired", "certs/expiring"]);
  return reports.filter((r) => r.findings.some((f) => renewable.has(f.rule) && (f.severity === "error" || f.rule === "certs/san-extra"))).map((r) => r.certificate);
}

/** Servers that load their certificate once at start and must be restarted to serve a new one. */
export const RESTART_AFTER_RENEW: Partial<Record<CertificateModel["endpoint"], string>> = {
  // CNCF Distribution reads REGISTRY_HTTP_TLS_CERTIFICATE at start only.
  registry: "registry",
  // ChartMuseum loads TLS_CERT/TLS_KEY once, when it starts listening.
  chartmuseum: "chartmuseum",
};

export interface RenewOutcome {
  certificate: string;
  decision: RenewDecision;
  before?: string;
  after?: string;
  report?: CertificateReport;
  ok: boolean;
  message: string;
}

export interface RenewDeps {
  api: CertManagerApi;
  /** Reads the serial currently served (wraps fetchServedCertificate; injectable for tests). */
  servedSerial: (t: TlsTarget) => Promise<string | undefined>;
  check: (t: TlsTarget) => Promise<CertificateReport>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  progress?: (line: string) => void;
}

/** What `renewCertificate` would do, read from the cluster without changing it: the dry run of `bk certs renew`. */
export async function planRenewal(t: TlsTarget, api: Pick<CertManagerApi, "get">): Promise<RenewOutcome> {
  const c = t.certificate;
  const decision = renewDecision(await api.get(c.namespace, c.name), c);
  const restart = RESTART_AFTER_RENEW[c.endpoint];
  if (decision.action === "refuse") return { certificate: c.name, decision, ok: false, message: decision.reason };
  const step = decision.action === "trigger" ? `would have cert-manager reissue ${c.namespace}/${c.name}` : `would wait for the reissue under way of ${c.namespace}/${c.name}`;
  return { certificate: c.name, decision, ok: true, message: `${step} (${decision.reason})${restart ? `, then restart deployment ${c.namespace}/${restart}` : ""}, and wait until ${t.host}:${t.port} serves it` };
}

/** Trigger one reissue and wait until the endpoint serves a certificate with a new serial that passes the check. */
export async function renewCertificate(t: TlsTarget, deps: RenewDeps, opts: { timeoutMs: number; pollMs: number }): Promise<RenewOutcome> {
  const c = t.certificate;
  const say = deps.progress ?? (() => undefined);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = deps.now ?? Date.now;
  const cert = await deps.api.get(c.namespace, c.name);
  const decision = renewDecision(cert, c);
  if (decision.action === "refuse") return { certificate: c.name, decision, ok: false, message: decision.reason };
  const before = await deps.servedSerial(t).catch(() => undefined);
  const revision = cert!.status?.revision;
  if (decision.action === "trigger") {
    await deps.api.replaceStatus(withIssuingCondition(cert!));
    say(`${c.namespace}/${c.name}: reissue triggered (${decision.reason})`);
  } else say(`${c.namespace}/${c.name}: ${decision.reason}`);

  const deadline = now() + opts.timeoutMs;
  const restart = RESTART_AFTER_RENEW[c.endpoint];
  let restarted = false;
  while (now() < deadline) {
    await sleep(opts.pollMs);
    const current = await deps.api.get(c.namespace, c.name);
    const failed = current?.status?.conditions?.find((x) => x.type === "Issuing" && x.status === "False" && x.reason === "Failed");
    if (failed) return { certificate: c.name, decision, ...(before ? { before } : {}), ok: false, message: `cert-manager failed to issue: ${failed.message ?? "see kubectl describe certificate"}` };
    const issued = (current?.status?.revision ?? 0) > (revision ?? 0) && !current?.status?.conditions?.some((x) => x.type === "Issuing" && x.status === "True");
    if (issued && restart && !restarted) {
      say(`${c.namespace}/${c.name}: new certificate issued; restarting deployment ${c.namespace}/${restart} so it serves it`);
      await deps.api.restartDeployment(c.namespace, restart);
      restarted = true;
    }
    const after = await deps.servedSerial(t).catch(() => undefined);
    if (after && after !== before) {
      const report = await deps.check(t);
      return {
        certificate: c.name,
        decision,
        ...(before ? { before } : {}),
        after,
        report,
        ok: report.status !== "failed",
        message: report.status === "failed" ? `a new certificate is served (serial ${after}) but it still fails the check` : `now serving serial ${after}`,
      };
    }
  }
  return { certificate: c.name, decision, ...(before ? { before } : {}), ok: false, message: `the endpoint ${t.host}:${t.port} still serves serial ${before ?? "(none)"} after ${Math.round(opts.timeoutMs / 1000)} s` };
}

// ---------------------------------------------------------------------------------------------
// The real adapter, on @kubernetes/client-node (loaded only when a cluster is actually used).

export async function kubeCertManagerApi(o: KubeOptions): Promise<CertManagerApi> {
  const { k8s, kc } = (await import("../adapters/kube.js")).loadKubeConfig(o);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const coords = { group: "cert-manager.io", version: "v1", plural: "certificates" };
  return {
    async get(namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject({ ...coords, namespace, name })) as CertManagerCertificate;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },
    async replaceStatus(cert) {
      await custom.replaceNamespacedCustomObjectStatus({ ...coords, namespace: cert.metadata.namespace, name: cert.metadata.name, body: cert });
    },
    async restartDeployment(namespace, name) {
      const body = { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() } } } } };
      await apps.patchNamespacedDeployment({ namespace, name, body }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    },
  };
}
