import { readFileSync } from "node:fs";
import { loadDefinition } from "../../model/load.js";
import {
  certificatesNeedingRenewal,
  checkCertificates,
  evaluateCertificate,
  kubeCertManagerApi,
  planRenewal,
  renewCertificate,
  tlsTargets,
  type CertificateReport,
  type CertManagerApi,
  type RenewOutcome,
  type TlsTarget,
} from "../../workflows/certs.js";
import { fetchServedCertificate } from "../../adapters/tls.js";
import { BkError, EXIT } from "../../core/errors.js";
import { bold, green, printFindings, printJson, red, yellow } from "../output.js";
import { failWith } from "../report-error.js";

export interface CertsCliOptions {
  ca?: string;
  /** "registry=127.0.0.1:8443" (endpoint id or certificate name = host:port), repeatable. */
  target?: string[];
  only?: string[];
  timeout?: string;
  json?: boolean;
}

export interface CertsRenewCliOptions extends CertsCliOptions {
  all?: boolean;
  kubeconfig?: string;
  context?: string;
  wait?: string;
  dryRun?: boolean;
}

function overrides(list: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf("=");
    if (i <= 0) throw new Error(`--target ${item}: use <endpoint>=<host:port>, e.g. registry=127.0.0.1:8443`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

function readCa(file?: string): string | undefined {
  if (!file) return undefined;
  const pem = readFileSync(file, "utf8");
  if (!pem.includes("BEGIN CERTIFICATE")) throw new Error(`--ca ${file}: no PEM certificate in it`);
  return pem;
}

function printReports(reports: CertificateReport[]): void {
  for (const r of reports) {
    const mark = r.status === "ok" ? green("ok  ") : r.status === "warning" ? yellow("warn") : red("FAIL");
    const s = r.served;
    process.stdout.write(`${mark} ${bold(r.certificate)} at ${r.target}`);
    if (s) {
      process.stdout.write(`: serial ${s.serial}, expires ${s.notAfter} (${r.daysLeft} days)${s.trust ? `, ${s.trust.ok ? "trusted by --ca" : red("NOT trusted by --ca")}` : ""}\n`);
      process.stdout.write(`       serves: ${[...s.ipAddresses, ...s.dnsNames].join(", ") || "(no SANs)"}\n`);
      if (r.missing.length) process.stdout.write(red(`       missing: ${r.missing.join(", ")}\n`));
      if (r.extra.length) process.stdout.write(yellow(`       extra:   ${r.extra.join(", ")}\n`));
    } else process.stdout.write("\n");
  }
  printFindings(reports.flatMap((r) => r.findings));
}

function exitFor(reports: CertificateReport[]): number {
  if (reports.length && reports.every((r) => r.findings.some((f) => f.rule === "certs/unreachable"))) return EXIT.unavailable;
  return reports.some((r) => r.status === "failed") ? EXIT.failed : EXIT.ok;
}

/** `bk certs`: read the certificate each TLS endpoint serves and compare it with the definition. */
export async function certsCommand(root: string, opts: CertsCliOptions): Promise<number> {
  let targets: TlsTarget[];
  let ca: string | undefined;
  try {
    targets = tlsTargets(loadDefinition(root).model, overrides(opts.target), opts.only);
    ca = readCa(opts.ca);
  } catch (err) {
    if (err && typeof err === "object" && "findings" in err) throw err;
    return failWith("certs", (err as Error).message, EXIT.badInput, opts.json);
  }
  const reports = await checkCertificates(targets, { ...(ca ? { ca } : {}), timeoutMs: Number(opts.timeout ?? 10000) });
  if (opts.json) printJson({ ok: reports.every((r) => r.status !== "failed"), certificates: reports });
  else {
    printReports(reports);
    const failed = reports.filter((r) => r.status === "failed").length;
    const warned = reports.filter((r) => r.status === "warning").length;
    process.stdout.write(`bk certs: ${reports.length} endpoint(s) checked, ${failed} failed, ${warned} with warnings${ca ? "" : " (trust not checked: pass --ca <file>)"}\n`);
  }
  return exitFor(reports);
}

/**
 * `bk certs renew [name]`: ask cert-manager to reissue (the certificates failing `bk certs` when no
 * name is given), then wait until the endpoint serves the new certificate and it passes the check.
 */
export async function certsRenewCommand(root: string, name: string | undefined, opts: CertsRenewCliOptions, api?: CertManagerApi): Promise<number> {
  let targets: TlsTarget[];
  let ca: string | undefined;
  try {
    targets = tlsTargets(loadDefinition(root).model, overrides(opts.target), opts.only);
    ca = readCa(opts.ca);
    if (name && !targets.some((t) => t.certificate.name === name || t.certificate.endpoint === name)) {
      throw new Error(`no TLS certificate named ${name}; known: ${targets.map((t) => t.certificate.name).join(", ")}`);
    }
  } catch (err) {
    if (err && typeof err === "object" && "findings" in err) throw err;
    return failWith("certs renew", (err as Error).message, EXIT.badInput, opts.json);
  }
  const timeoutMs = Number(opts.timeout ?? 10000);
  const check = async (t: (typeof targets)[number]) => evaluateCertificate(t, await fetchServedCertificate(t, { ...(ca ? { ca } : {}), timeoutMs }).catch((e: Error) => e));
  let chosen = targets;
  if (name) chosen = targets.filter((t) => t.certificate.name === name || t.certificate.endpoint === name);
  else if (!opts.all) {
    const need = new Set(certificatesNeedingRenewal(await Promise.all(targets.map(check))));
    chosen = targets.filter((t) => need.has(t.certificate.name));
    if (!chosen.length) {
      process.stdout.write("bk certs renew: every served certificate passes `bk certs`; nothing to renew (name one, or pass --all, to force)\n");
      return EXIT.ok;
    }
  }
  let cm: CertManagerApi;
  try {
    cm = api ?? (await kubeCertManagerApi({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) }));
  } catch (err) {
    return failWith("certs renew", `cannot use the cluster: ${(err as Error).message}`, err instanceof BkError ? err.exitCode : EXIT.unavailable, opts.json);
  }
  if (opts.dryRun) return renewDryRun(chosen, cm, Boolean(opts.json));
  const outcomes = [];
  for (const t of chosen) {
    try {
      outcomes.push(
        await renewCertificate(
          t,
          {
            api: cm,
            servedSerial: async (x) => (await fetchServedCertificate(x, { timeoutMs })).serial,
            check,
            progress: (l) => process.stderr.write(`bk certs renew: ${l}\n`),
          },
          { timeoutMs: Number(opts.wait ?? 300) * 1000, pollMs: 3000 },
        ),
      );
    } catch (err) {
      outcomes.push({ certificate: t.certificate.name, ok: false, message: `cluster request failed: ${(err as Error).message}` });
    }
  }
  if (opts.json) printJson({ ok: outcomes.every((o) => o.ok), renewals: outcomes });
  else for (const o of outcomes) process.stdout.write(`${o.ok ? green("ok  ") : red("FAIL")} ${o.certificate}: ${o.message}\n`);
  return outcomes.every((o) => o.ok) ? EXIT.ok : EXIT.failed;
}

/** `bk certs renew --dry-run`: each chosen certificate as the cluster has it, and what a renewal would do; nothing is written. */
async function renewDryRun(chosen: readonly TlsTarget[], cm: CertManagerApi, json: boolean): Promise<number> {
  let plans: RenewOutcome[];
  try {
    plans = await Promise.all(chosen.map((t) => planRenewal(t, cm)));
  } catch (err) {
    return failWith("certs renew", `cannot read the Certificates from the cluster: ${(err as Error).message}`, EXIT.unavailable, json);
  }
  const ok = plans.every((p) => p.ok);
  if (json) printJson({ ok, dryRun: true, renewals: plans });
  else {
    for (const p of plans) process.stdout.write(`${p.ok ? "" : `${red("REFUSED")} `}${p.certificate}: ${p.message}\n`);
    process.stderr.write("bk certs renew: dry run: nothing was changed in the cluster\n");
  }
  return ok ? EXIT.ok : EXIT.failed;
}
