/**
 * A real Docker Registry v2 (Debian's docker-registry, CNCF Distribution) on loopback with TLS
 * from a test CA, and images pushed into it with the real skopeo.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import https from "node:https";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { makeCa, makeServerCert, type TestCa } from "./pki.js";
import { freePort, waitFor } from "./net.js";
import { requireProgram } from "./programs.js";

export interface TestRegistry {
  host: string;
  ca: TestCa;
  push(repository: string, tag: string): void;
  stop(): void;
}

export async function startRegistry(): Promise<TestRegistry> {
  const registry = requireProgram("docker-registry", "the release and doctor tests' image registry");
  const skopeo = requireProgram("skopeo", "pushing test images to the registry");
  const ca = makeCa();
  const { cert, key } = makeServerCert(ca, "registry", ["IP:127.0.0.1", "DNS:localhost"]);
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "bk-registry-"));
  const config = path.join(dir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log: { level: warn }",
      `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
      `http: { addr: "127.0.0.1:${port}", tls: { certificate: ${cert}, key: ${key} } }`,
      "",
    ].join("\n"),
  );
  const proc: ChildProcess = spawn(registry, ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  const host = `127.0.0.1:${port}`;
  // A server that cannot start (bad config, port taken) fails the wait at once instead of at its timeout.
  const ended = new Promise<never>((_, reject) => {
    proc.once("error", (err) => reject(new Error(`docker-registry did not start: ${err.message}`)));
    proc.once("exit", (code, signal) => reject(new Error(`docker-registry exited (${signal ?? code}) before serving on ${host}: ${stderr}`)));
  });
  ended.catch(() => {});
  try {
    await Promise.race([waitFor(`docker-registry on ${host}`, () => probe(host, ca.caCert)), ended]);
  } catch (err) {
    proc.kill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const certDir = path.join(dir, "certs");
  mkdirSync(certDir);
  copyFileSync(ca.caCert, path.join(certDir, "ca.crt"));
  return {
    host,
    ca,
    push(repository, tag) {
      const layout = ociLayout(path.join(dir, `oci-${repository.replace(/\//g, "-")}-${tag}`), `${repository}:${tag}`, tag);
      execFileSync(skopeo, ["copy", "--quiet", "--dest-cert-dir", certDir, `oci:${layout}:${tag}`, `docker://${host}/${repository}:${tag}`], { stdio: "pipe" });
    },
    stop() {
      proc.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function probe(host: string, caFile: string): Promise<boolean> {
  const [hostname, port] = host.split(":");
  return new Promise((resolve) => {
    const req = https.get({ hostname, port: Number(port), path: "/v2/", ca: readFileSync(caFile) }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
  });
}

/** A one-layer OCI image written by hand: the smallest real image skopeo will push; `content` decides its digest. */
export function ociLayout(dir: string, content: string, tag: string): string {
  const blobs = path.join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const put = (buf: Buffer) => {
    const digest = createHash("sha256").update(buf).digest("hex");
    writeFileSync(path.join(blobs, digest), buf);
    return { digest: `sha256:${digest}`, size: buf.length };
  };
  const tar = tarOneFile("release.txt", Buffer.from(content + "\n"));
  const layer = put(gzipSync(tar));
  const diffId = `sha256:${createHash("sha256").update(tar).digest("hex")}`;
  const config = put(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [diffId] } })));
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
      }),
    ),
  );
  writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    path.join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } }] }),
  );
  return dir;
}

function tarOneFile(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, "utf8");
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, pad, Buffer.alloc(1024)]);
}
