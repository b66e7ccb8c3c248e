/**
 * `bk certs` against a real TLS server on loopback serving certificates made by openssl: the wrong IP
 * (incident 3), the right SANs, near expiry, expired, and signed by another CA. Also the pure
 * decision logic of `bk certs renew` with a fake cert-manager API.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { loadDefinition } from "../../src/model/load.js";
import {
  certificatesNeedingRenewal,
  evaluateCertificate,
  renewCertificate,
  renewDecision,
  tlsTargets,
  withIssuingCondition,
  type CertCondition,
  type CertificateReport,
  type CertManagerApi,
  type CertManagerCertificate,
  type TlsTarget,
  kubeCertManagerApi,
} from "../../src/workflows/certs.js";
import { kubeServiceLister } from "../../src/workflows/ips.js";
import { caFromCluster } from "../../src/workflows/trust.js";
import { REPO_ROOT } from "../helpers/definition.js";

const MAIN = process.env.BK_MAIN ?? path.join(REPO_ROOT, "src/cli/main.ts");

/** Async, so the TLS server in this process keeps answering while bk runs. */
function bk(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const model = loadDefinition(REPO_ROOT).model;
const registryCert = model.certificates.find((c) => c.endpoint === "registry")!;
const dir = mkdtempSync(path.join(os.tmpdir(), "bk-certs-"));

function openssl(args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  assert.equal(r.error, undefined, "openssl is needed to make test certificates (apt-get install openssl)");
  assert.equal(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
}

function makeCa(name: string): void {
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-subj", `/CN=${name}`, "-days", "3650"]);
}

/** A leaf signed by `ca`, with the given SANs and lifetime; returns { key, cert } PEM. */
function makeLeaf(name: string, sans: string[], days: number, ca = "ca"): { key: string; cert: string } {
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth\n`);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", String(days), "-extfile", `${name}.ext`, "-out", `${name}.pem`]);
  return { key: readFileSync(path.join(dir, `${name}.key`), "utf8"), cert: readFileSync(path.join(dir, `${name}.pem`), "utf8") };
}

const rightSans = () => [...registryCert.ipAddresses.map((ip) => `IP:${ip}`), ...registryCert.dnsNames.map((d) => `DNS:${d}`)];

describe("bk certs against a real TLS server", () => {
  let server: tls.Server;
  let port = 0;
  const leaves: Record<string, { key: string; cert: string }> = {};
  const serve = (name: string) => server.setSecureContext(leaves[name]!);
  const target = () => ["--only", "registry", "--target", `registry=127.0.0.1:${port}`];

  before(async () => {
    makeCa("ca");
    makeCa("other-ca");
    leaves.wrong = makeLeaf("wrong", ["IP:192.168.1.18", "DNS:registry.beckerkube.lan"], 90);
    leaves.right = makeLeaf("right", rightSans(), 90);
    leaves.soon = makeLeaf("soon", rightSans(), 10);
    leaves.nearing = makeLeaf("nearing", rightSans(), 20);
    leaves.expired = makeLeaf("expired", rightSans(), -1);
    leaves.foreign = makeLeaf("foreign", rightSans(), 90, "other-ca");
    server = tls.createServer({ ...leaves.wrong! }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails on a certificate for the old IP, naming the missing 192.168.7.21 (incident 3)", async () => {
    serve("wrong");
    const r = await bk(["certs", ...target(), "--ca", path.join(dir, "ca.pem")]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAIL registry-tls at 127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /missing: 192\.168\.7\.21, registry\.registry\.svc, registry\.registry\.svc\.cluster\.local/);
    assert.match(r.stdout, /extra: +192\.168\.1\.18/);
    assert.match(r.stderr, /is valid for 192\.168\.1\.18, registry\.beckerkube\.lan, not 192\.168\.7\.21/);
    assert.match(r.stderr, /bk certs renew registry-tls/);
  });

  it("passes when the served SANs are the definition's, and it verifies against the CA", async () => {
    serve("right");
    const r = await bk(["certs", ...target(), "--ca", path.join(dir, "ca.pem"), "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true);
    const [rep] = out.certificates;
    assert.equal(rep.status, "ok");
    assert.deepEqual(rep.missing, []);
    assert.deepEqual(rep.extra, []);
    assert.deepEqual(rep.served.trust, { ok: true });
    assert.ok(rep.daysLeft >= 88 && rep.daysLeft <= 90);
  });

  it("warns at less than 30 days and fails at less than 14 or when expired", async () => {
    serve("nearing");
    let r = await bk(["certs", ...target()]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /warn registry-tls/);
    assert.match(r.stderr, /warning \[certs\/expiring\].*expires in 1[89] day/);

    serve("soon");
    r = await bk(["certs", ...target()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error \[certs\/expiring\].*expires in [89] day\(s\).*less than 14/);

    serve("expired");
    r = await bk(["certs", ...target()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error \[certs\/expired\]/);
  });

  it("fails when the certificate does not verify against --ca (x509: unknown authority)", async () => {
    serve("foreign");
    const r = await bk(["certs", ...target(), "--ca", path.join(dir, "ca.pem")]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /NOT trusted by --ca/);
    assert.match(r.stderr, /error \[certs\/untrusted\]/);
    // Without --ca, trust is not judged and the SANs are right.
    const r2 = await bk(["certs", ...target()]);
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assert.match(r2.stdout, /trust not checked/);
  });

  it("checks registry, ChartMuseum, ingress and gateway by default and says when nothing is reachable", async () => {
    const closed = await new Promise<number>((res) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => res(p));
      });
    });
    const all = ["registry", "chartmuseum", "ingress", "gateway"].flatMap((id) => ["--target", `${id}=127.0.0.1:${closed}`]);
    const r = await bk(["certs", ...all, "--json", "--timeout", "3000"]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(
      out.certificates.map((c: CertificateReport) => c.certificate),
      ["registry-tls", "chartmuseum-tls", "ingress-tls", "gateway-tls"],
    );
    assert.ok(out.certificates.every((c: CertificateReport) => c.findings[0]?.rule === "certs/unreachable"));
  });

  it("rejects an unknown endpoint in --target", async () => {
    const r = await bk(["certs", "--target", "nosuch=127.0.0.1:1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown certificate or endpoint "nosuch"/);
  });
});

describe("certificate targets from the model", () => {
  it("are the LoadBalancer IPs and TLS ports of registry, ChartMuseum, ingress and gateway", () => {
    const t = tlsTargets(model).map((x) => `${x.certificate.name} ${x.host}:${x.port} ${x.servername}`);
    assert.deepEqual(t, [
      "registry-tls 192.168.7.21:5000 registry.beckerkube.lan",
      "chartmuseum-tls 192.168.7.18:8080 charts.beckerkube.lan",
      "ingress-tls 192.168.7.20:443 beckerkube.lan",
      "gateway-tls 192.168.7.19:443 mesh.beckerkube.lan",
    ]);
  });
});

describe("bk certs renew decision logic (pure, fake cert-manager)", () => {
  const target: TlsTarget = { certificate: registryCert, host: "127.0.0.1", port: 1 };
  const cert = (conditions: CertCondition[], revision = 1): CertManagerCertificate => ({
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: "registry-tls", namespace: "registry", generation: 3 },
    status: { conditions, revision },
  });

  it("refuses a Certificate that does not exist, waits when already issuing, triggers otherwise", () => {
    assert.equal(renewDecision(undefined, registryCert).action, "refuse");
    assert.equal(
      renewDecision(
        cert([
          { type: "Ready", status: "True" },
          { type: "Issuing", status: "True", reason: "Renewing" },
        ]),
        registryCert,
      ).action,
      "wait",
    );
    assert.equal(renewDecision(cert([{ type: "Ready", status: "True" }]), registryCert).action, "trigger");
    assert.match(renewDecision(cert([{ type: "Ready", status: "False", reason: "DoesNotExist", message: "secret missing" }]), registryCert).reason, /not Ready \(DoesNotExist\)/);
  });

  it("sets Issuing=True/ManuallyTriggered and keeps the other conditions", () => {
    const out = withIssuingCondition(
      cert([
        { type: "Ready", status: "True" },
        { type: "Issuing", status: "False", reason: "Failed" },
      ]),
      new Date("2026-08-01T00:00:00.000Z"),
    );
    assert.deepEqual(out.status?.conditions, [
      { type: "Ready", status: "True" },
      { type: "Issuing", status: "True", reason: "ManuallyTriggered", message: "Certificate re-issuance manually triggered by bk certs renew", lastTransitionTime: "2026-08-01T00:00:00Z", observedGeneration: 3 },
    ]);
    assert.equal(out.status?.revision, 1);
  });

  it("selects only certificates whose served copy fails on SANs or expiry", () => {
    const t = (name: string) => ({ ...target, certificate: { ...registryCert, name } });
    const now = new Date("2026-01-01T00:00:00Z");
    const served = (sans: string[], notAfter: string, trust?: { ok: boolean }) => ({
      subject: "",
      issuer: "",
      serial: "01",
      notBefore: "2025-01-01T00:00:00Z",
      notAfter,
      fingerprint256: "",
      dnsNames: sans.filter((s) => !/^\d/.test(s)),
      ipAddresses: sans.filter((s) => /^\d/.test(s)),
      pem: "",
      ...(trust ? { trust } : {}),
    });
    const all = [...registryCert.ipAddresses, ...registryCert.dnsNames];
    const reports = [
      evaluateCertificate(t("good"), served(all, "2026-06-01T00:00:00Z"), now),
      evaluateCertificate(t("old-ip"), served(["192.168.1.18", ...registryCert.dnsNames], "2026-06-01T00:00:00Z"), now),
      evaluateCertificate(t("expiring"), served(all, "2026-01-10T00:00:00Z"), now),
      evaluateCertificate(t("untrusted"), served(all, "2026-06-01T00:00:00Z", { ok: false }), now),
      evaluateCertificate(t("down"), new Error("refused"), now),
    ];
    assert.deepEqual(certificatesNeedingRenewal(reports), ["old-ip", "expiring"]);
  });

  function fakeApi(initial: CertManagerCertificate) {
    let current = structuredClone(initial);
    const calls: string[] = [];
    const api: CertManagerApi = {
      async get() {
        return structuredClone(current);
      },
      async replaceStatus(c) {
        calls.push(`replaceStatus ${c.status?.conditions?.map((x) => `${x.type}=${x.status}`).join(",")}`);
        current = structuredClone(c);
      },
      async restartDeployment(ns, name) {
        calls.push(`restart ${ns}/${name}`);
      },
    };
    return {
      api,
      calls,
      issue: () => (current = { ...current, status: { conditions: [{ type: "Ready", status: "True" }], revision: (current.status?.revision ?? 0) + 1 } }),
      set: (c: CertManagerCertificate) => (current = c),
    };
  }

  const okReport = (): Promise<CertificateReport> =>
    Promise.resolve({ certificate: "registry-tls", endpoint: "registry", target: "", expected: { dnsNames: [], ipAddresses: [] }, missing: [], extra: [], status: "ok", findings: [] });

  it("triggers, restarts the registry once the new revision exists, and succeeds when the served serial changes", async () => {
    const f = fakeApi(cert([{ type: "Ready", status: "True" }], 4));
    let serial = "AA";
    let polls = 0;
    const out = await renewCertificate(
      target,
      {
        api: f.api,
        servedSerial: async () => serial,
        check: okReport,
        sleep: async () => {
          polls++;
          if (polls === 2) f.issue();
          if (f.calls.some((c) => c.startsWith("restart"))) serial = "BB"; // the restarted registry serves the new one
        },
      },
      { timeoutMs: 60_000, pollMs: 1 },
    );
    assert.equal(out.ok, true, out.message);
    assert.equal(out.before, "AA");
    assert.equal(out.after, "BB");
    assert.deepEqual(f.calls, ["replaceStatus Ready=True,Issuing=True", "restart registry/registry"]);
  });

  it("does not trigger again while cert-manager is already issuing", async () => {
    const f = fakeApi(cert([{ type: "Issuing", status: "True" }], 1));
    let n = 0;
    const out = await renewCertificate(target, { api: f.api, servedSerial: async () => (n++ > 1 ? "NEW" : "OLD"), check: okReport, sleep: async () => undefined }, { timeoutMs: 60_000, pollMs: 1 });
    assert.equal(out.decision.action, "wait");
    assert.ok(!f.calls.some((c) => c.startsWith("replaceStatus")));
    assert.equal(out.ok, true);
  });

  it("reports a failed issuance and a timeout as failures", async () => {
    const f = fakeApi(cert([{ type: "Ready", status: "True" }]));
    const failing = await renewCertificate(
      target,
      {
        api: f.api,
        servedSerial: async () => "OLD",
        check: okReport,
        sleep: async () => void f.set(cert([{ type: "Issuing", status: "False", reason: "Failed", message: "issuer not ready" }])),
      },
      { timeoutMs: 60_000, pollMs: 1 },
    );
    assert.equal(failing.ok, false);
    assert.match(failing.message, /issuer not ready/);

    let clock = 0;
    const g = fakeApi(cert([{ type: "Ready", status: "True" }]));
    const stuck = await renewCertificate(
      target,
      {
        api: g.api,
        servedSerial: async () => "OLD",
        check: okReport,
        sleep: async (ms) => {
          clock += ms;
        },
        now: () => clock,
      },
      { timeoutMs: 9_000, pollMs: 3_000 },
    );
    assert.equal(stuck.ok, false);
    assert.match(stuck.message, /still serves serial OLD after 9 s/);
  });
});

describe("Kubernetes adapters (certs renew, ips, trust) against a fake API server", () => {
  const seen: string[] = [];
  let server: http.Server;
  let kubeconfig = "";
  const json = (res: http.ServerResponse, code: number, body: unknown) => {
    res.statusCode = code;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(body));
  };

  before(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push(`${req.method} ${req.url} ${req.headers["content-type"] ?? "-"} ${body}`);
        const url = req.url ?? "";
        if (url.startsWith("/api/v1/services")) {
          return json(res, 200, {
            kind: "ServiceList",
            apiVersion: "v1",
            metadata: {},
            items: [
              {
                metadata: { name: "registry", namespace: "registry", annotations: { "metallb.io/loadBalancerIPs": "192.168.7.21" } },
                spec: { type: "LoadBalancer" },
                status: { loadBalancer: { ingress: [{ ip: "192.168.7.19" }] } },
              },
              { metadata: { name: "web", namespace: "default" }, spec: { type: "ClusterIP" }, status: {} },
            ],
          });
        }
        if (url === "/api/v1/namespaces/cert-manager/secrets/beckerkube-ca")
          return json(res, 200, { kind: "Secret", apiVersion: "v1", metadata: { name: "beckerkube-ca" }, data: { "tls.crt": Buffer.from("CA PEM").toString("base64") } });
        if (url === "/apis/cert-manager.io/v1/namespaces/registry/certificates/registry-tls") {
          return json(res, 200, {
            apiVersion: "cert-manager.io/v1",
            kind: "Certificate",
            metadata: { name: "registry-tls", namespace: "registry", generation: 2 },
            status: { revision: 3, conditions: [{ type: "Ready", status: "True" }] },
          });
        }
        if (url.endsWith("/status") || url.startsWith("/apis/apps/v1/")) return json(res, 200, JSON.parse(body || "{}"));
        return json(res, 404, { kind: "Status", apiVersion: "v1", status: "Failure", code: 404 });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), "bk-kube-")), "kubeconfig");
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: test } }]
contexts: [{ name: fake, context: { cluster: fake, user: u } }]
current-context: fake
`,
    );
  });
  after(() => {
    server?.close();
    if (kubeconfig) rmSync(path.dirname(kubeconfig), { recursive: true, force: true });
  });

  it("lists LoadBalancer Services with their live and requested addresses", async () => {
    const services = await (await kubeServiceLister({ kubeconfig })).listLoadBalancers();
    assert.deepEqual(services, [{ namespace: "registry", name: "registry", ips: ["192.168.7.19"], requested: "192.168.7.21" }]);
  });

  it("reads the CA from the cert-manager secret (tls.crt of a self-signed root)", async () => {
    assert.equal(await caFromCluster({ kubeconfig }), "CA PEM");
  });

  it("gets a Certificate (undefined when absent), writes its status subresource, and restarts a Deployment with a merge patch", async () => {
    const api = await kubeCertManagerApi({ kubeconfig });
    const cert = await api.get("registry", "registry-tls");
    assert.equal(cert?.status?.revision, 3);
    assert.equal(await api.get("registry", "missing"), undefined);
    await api.replaceStatus(withIssuingCondition(cert!));
    await api.restartDeployment("registry", "registry");
    const put = seen.find((l) => l.startsWith("PUT "))!;
    assert.match(put, /^PUT \/apis\/cert-manager\.io\/v1\/namespaces\/registry\/certificates\/registry-tls\/status application\/json /);
    assert.match(put, /"type":"Issuing","status":"True","reason":"ManuallyTriggered"/);
    const patch = seen.find((l) => l.startsWith("PATCH "))!;
    assert.match(patch, /^PATCH \/apis\/apps\/v1\/namespaces\/registry\/deployments\/registry application\/merge-patch\+json \{"spec":\{"template":\{"metadata":\{"annotations":\{"kubectl\.kubernetes\.io\/restartedAt":/);
  });
});
