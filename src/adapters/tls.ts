/**
 * TLS and X.509 through node:tls and node:crypto: connect to a server and read the certificate it
 * serves, and describe a certificate. Knows nothing of the Model: addresses come in as arguments.
 */
import { X509Certificate } from "node:crypto";
import tls from "node:tls";

/** Where to connect. */
export interface TlsAddress {
  host: string;
  port: number;
  /** SNI: a name from the certificate, so SNI-routing servers (ingress) pick the right one. */
  servername?: string;
}

export interface ServedCertificate {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
  dnsNames: string[];
  ipAddresses: string[];
  /** Chain verification against --ca; absent when no CA was given. */
  trust?: { ok: boolean; error?: string };
  pem: string;
}

/** "DNS:a, IP Address:1.2.3.4" (Node's rendering of subjectAltName) -> names and addresses. */
export function parseSubjectAltName(san: string | undefined): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const part of (san ?? "").split(/,\s*/)) {
    const m = /^(DNS|IP Address):"?(.*?)"?$/.exec(part.trim());
    if (!m) continue;
    (m[1] === "DNS" ? dnsNames : ipAddresses).push(m[2]!.toLowerCase());
  }
  return { dnsNames, ipAddresses };
}

export function describeCertificate(pemOrDer: string | Buffer): Omit<ServedCertificate, "trust"> {
  const x = new X509Certificate(pemOrDer);
  const san = parseSubjectAltName(x.subjectAltName);
  return {
    subject: x.subject.replace(/\n/g, ", "),
    issuer: x.issuer.replace(/\n/g, ", "),
    serial: x.serialNumber,
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    fingerprint256: x.fingerprint256,
    ...san,
    pem: x.toString(),
  };
}

/**
 * Connect and read the leaf certificate. Verification is off for reading (we want to see a wrong
 * certificate, not an error); with a CA the chain is verified separately and reported.
 */
export function fetchServedCertificate(t: TlsAddress, opts: { ca?: string; timeoutMs?: number } = {}): Promise<ServedCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: t.host,
      port: t.port,
      ...(t.servername ? { servername: t.servername } : {}),
      rejectUnauthorized: false,
      ...(opts.ca ? { ca: opts.ca } : {}),
      // Names are compared with the model below; here only the chain matters.
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${t.host}:${t.port} within ${opts.timeoutMs ?? 10000} ms`));
    }, opts.timeoutMs ?? 10000);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const peer = socket.getPeerCertificate();
      const authorized = socket.authorized;
      const authError = socket.authorizationError;
      socket.end();
      if (!peer?.raw) {
        reject(new Error(`${t.host}:${t.port} completed a TLS handshake without presenting a certificate`));
        return;
      }
      const served: ServedCertificate = { ...describeCertificate(peer.raw) };
      if (opts.ca) served.trust = authorized ? { ok: true } : { ok: false, error: String(authError ?? "not trusted") };
      resolve(served);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`cannot read the certificate served at ${t.host}:${t.port}: ${err.code ?? ""} ${err.message}`.replace(/\s+/g, " ")));
    });
  });
}
