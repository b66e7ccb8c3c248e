/**
 * Throwaway PKI for one dev cluster: a CA, the apiserver's serving cert, an admin client cert
 * (group system:masters) and the service-account signing key pair. EC P-256 keeps generation fast.
 * openssl does the X.509 work (Node cannot issue certificates); each cert gets its own minimal config so the
 * distribution's openssl.cnf defaults (e.g. CA:true on -x509) never leak in.
 */
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { run } from "./exec.js";

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

interface CertSpec {
  name: string;
  cn: string;
  org?: string;
  ca?: boolean;
  san?: string[];
  usage?: "server" | "client" | "both";
}

const DAYS = "7";

async function issue(dir: string, spec: CertSpec, signer?: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const cfg = path.join(dir, `${spec.name}.cnf`);
  const cert = path.join(dir, `${spec.name}.crt`);
  const key = path.join(dir, `${spec.name}.key`);
  const ext = spec.ca
    ? ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign,cRLSign,digitalSignature", "subjectKeyIdentifier = hash"]
    : [
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = critical,digitalSignature,keyEncipherment",
        `extendedKeyUsage = ${spec.usage === "server" ? "serverAuth" : spec.usage === "client" ? "clientAuth" : "serverAuth,clientAuth"}`,
        "authorityKeyIdentifier = keyid",
        ...(spec.san?.length ? [`subjectAltName = ${spec.san.join(",")}`] : []),
      ];
  await writeFile(cfg, ["[req]", "distinguished_name = dn", "prompt = no", "[dn]", `CN = ${spec.cn}`, ...(spec.org ? [`O = ${spec.org}`] : []), "[ext]", ...ext, ""].join("\n"));
  const args = ["req", "-x509", "-new", "-config", cfg, "-extensions", "ext", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  args.push("-nodes", "-keyout", key, "-out", cert, "-days", DAYS);
  if (signer) args.push("-CA", signer.cert, "-CAkey", signer.key);
  await run("openssl", args).catch((err: Error) => {
    throw new Error(`devcluster: openssl could not issue the ${spec.name} certificate (is openssl 3 installed?): ${err.message}`);
  });
  return { cert, key };
}

export async function createPki(dir: string, serverSans: { dns: string[]; ips: string[] }): Promise<Pki> {
  const ca = await issue(dir, { name: "ca", cn: "beckerkube-dev-ca", ca: true });
  const san = [...serverSans.dns.map((d) => `DNS:${d}`), ...serverSans.ips.map((i) => `IP:${i}`)];
  const server = await issue(dir, { name: "apiserver", cn: "kube-apiserver", san, usage: "server" }, ca);
  // system:masters bypasses RBAC: the harness and the out-of-cluster controllers act as cluster admins,
  // as Flux does in a real cluster.
  const admin = await issue(dir, { name: "admin", cn: "beckerkube-admin", org: "system:masters", usage: "client" }, ca);
  const sa = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const saKey = path.join(dir, "sa.key");
  const saPub = path.join(dir, "sa.pub");
  await writeFile(saKey, sa.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await writeFile(saPub, sa.publicKey.export({ type: "spki", format: "pem" }));
  return {
    dir,
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    saKey,
    saPub,
  };
}
