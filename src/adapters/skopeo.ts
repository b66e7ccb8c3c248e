/**
 * Copying container images between registries and OCI archives with skopeo, and reading the digest of the
 * manifest an image has in either. A registry is trusted through a CA file (skopeo reads CAs from a folder, so
 * the file is put in a private one per call) or, only for loopback test registries, without TLS verification.
 * Errors say which registry or archive and why: a missing image, an unreachable or untrusted registry (exit 3).
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BkError, EXIT, type ExitCode } from "../core/errors.js";
import { ProcessRunner, formatCommand, type RunResult, type Runner } from "./runner.js";

/** How a registry is trusted. */
export interface RegistryTls {
  /** PEM of the CA that signed the registry's certificate (e.g. the cluster CA). */
  caFile?: string;
  /** false: plain HTTP or an unverified certificate (loopback test registries only). Default true. */
  tlsVerify?: boolean;
}

/** Where an image is: a registry reference (host/path:tag or @digest), or an image in an OCI archive or layout. */
export type ImageLocation = { kind: "registry"; ref: string; tls?: RegistryTls } | { kind: "oci-archive"; file: string; name?: string } | { kind: "oci"; dir: string; name?: string };

export type SkopeoErrorKind = "not-found" | "unreachable" | "tls" | "auth" | "failed";

/** A copy or inspection that could not be done; everything but a failed copy means something is missing or unreachable (exit 3). */
export class SkopeoError extends BkError {
  readonly exitCode: ExitCode;
  constructor(
    message: string,
    readonly kind: SkopeoErrorKind,
  ) {
    super(message);
    this.exitCode = kind === "failed" ? EXIT.failed : EXIT.unavailable;
  }
}

/** The skopeo program: $BK_SKOPEO, else `skopeo` on PATH. */
export function skopeoBinary(): string {
  return process.env["BK_SKOPEO"] || "skopeo";
}

/** The string skopeo takes for a location (transport:reference). */
export function transportRef(loc: ImageLocation): string {
  if (loc.kind === "registry") return `docker://${loc.ref}`;
  const where = loc.kind === "oci-archive" ? loc.file : loc.dir;
  return `${loc.kind}:${where}${loc.name ? `:${loc.name}` : ""}`;
}

/** What people read for a location. */
export function describeLocation(loc: ImageLocation): string {
  if (loc.kind === "registry") return loc.ref;
  return `${loc.kind === "oci-archive" ? loc.file : loc.dir}${loc.name ? ` (${loc.name})` : ""}`;
}

/** The registry host of a reference (the part before the first '/'). */
export function registryHost(ref: string): string {
  return ref.split("/")[0] ?? ref;
}

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

const NOT_FOUND = /manifest unknown|name unknown|repository name not known|no descriptor found|not found|no such file or directory/i;
const TLS = /x509|certificate|tls:|server gave HTTP response to HTTPS client/i;
const AUTH = /unauthorized|authentication required|requested access to the resource is denied|denied:/i;
const UNREACHABLE = /connection refused|no such host|i\/o timeout|dial tcp|network is unreachable|no route to host|timeout|EOF/i;

/** skopeo's fatal message without its log prefix. */
function skopeoMessage(r: RunResult): string {
  const line =
    r.stderr
      .trim()
      .split("\n")
      .filter((l) => l.trim())
      .pop() ?? "";
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(line);
  return (m ? m[1]!.replace(/\\"/g, '"') : line).trim() || `exit code ${r.code}`;
}

function classify(r: RunResult): SkopeoErrorKind {
  const text = r.stderr;
  if (r.code === 127) return "unreachable";
  if (TLS.test(text)) return "tls";
  if (AUTH.test(text)) return "auth";
  if (NOT_FOUND.test(text)) return "not-found";
  if (UNREACHABLE.test(text)) return "unreachable";
  return "failed";
}

function errorFor(r: RunResult, loc: ImageLocation, what: string, other?: ImageLocation): SkopeoError {
  const kind = classify(r);
  const detail = skopeoMessage(r);
  if (r.code === 127) return new SkopeoError(`skopeo is not installed (needed to ${what}): install it (apt-get install skopeo) or set $BK_SKOPEO`, "unreachable");
  // A copy touches two places; the message names the one skopeo complained about.
  const culprit = other && other.kind === "registry" && detail.includes(registryHost(other.ref)) ? other : loc;
  const name = describeLocation(culprit);
  const host = culprit.kind === "registry" ? registryHost(culprit.ref) : undefined;
  switch (kind) {
    case "not-found":
      return new SkopeoError(`${name} does not exist${host ? ` in the registry ${host}` : ""} (${detail})`, kind);
    case "tls":
      return new SkopeoError(`TLS to the registry ${host ?? name} failed: ${detail}. Pass the CA that signed its certificate (--ca / --src-ca) or trust it (\`bk trust\`)`, kind);
    case "auth":
      return new SkopeoError(`the registry ${host ?? name} refused access to ${name}: ${detail} (log in with \`skopeo login ${host ?? ""}\`)`, kind);
    case "unreachable":
      return new SkopeoError(`cannot reach the registry ${host ?? name}: ${detail}`, kind);
    default:
      return new SkopeoError(`skopeo could not ${what}: ${detail}`, kind);
  }
}

/** Flags for one side of a command: `prefix` is "src-", "dest-" or "" (inspect). */
function tlsFlags(loc: ImageLocation, prefix: string, scratch: () => string): string[] {
  if (loc.kind !== "registry") return [];
  const tls = loc.tls ?? {};
  if (tls.tlsVerify === false) return [`--${prefix}tls-verify=false`];
  if (!tls.caFile) return [];
  if (!existsSync(tls.caFile)) throw new SkopeoError(`the CA file ${tls.caFile} does not exist (for the registry ${registryHost(loc.ref)})`, "unreachable");
  const dir = mkdtempSync(path.join(scratch(), `${prefix || "reg-"}certs-`));
  copyFileSync(tls.caFile, path.join(dir, "ca.crt"));
  return [`--${prefix}cert-dir`, dir];
}

export interface CopyOptions {
  /** Copy every image of a multi-platform index, keeping the index (and so its digest). Default true. */
  all?: boolean;
  /**
   * Fail rather than change a digest (default true). An OCI archive holds only OCI manifests, so saving an image
   * pushed with Docker's media types converts it: its digest changes, its layers and config do not.
   */
  preserveDigests?: boolean;
}

/** Docker's manifest media types: an OCI layout cannot hold them unconverted. */
export const isDockerMediaType = (mediaType: string) => mediaType.startsWith("application/vnd.docker.");

export class Skopeo {
  constructor(
    private readonly runner: Runner = new ProcessRunner(),
    private readonly bin: string = skopeoBinary(),
  ) {}

  private async withScratch<T>(fn: (scratch: () => string) => Promise<T>): Promise<T> {
    let dir: string | undefined;
    try {
      return await fn(() => (dir ??= mkdtempSync(path.join(tmpdir(), "bk-skopeo-"))));
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The digest of the image's manifest as stored (an index's own digest for a multi-platform image); undefined when it does not exist. */
  async digest(loc: ImageLocation): Promise<string | undefined> {
    return (await this.manifest(loc))?.digest;
  }

  /** The stored manifest's digest and media type (Docker's or OCI's); undefined when the image does not exist. */
  async manifest(loc: ImageLocation): Promise<{ digest: string; mediaType: string } | undefined> {
    return this.withScratch(async (scratch) => {
      const args = ["inspect", "--raw", ...tlsFlags(loc, "", scratch), transportRef(loc)];
      const r = await this.runner.run(this.bin, args, { timeoutMs: 120_000 });
      if (r.code === 0 && !r.error) {
        let mediaType = "";
        try {
          mediaType = String((JSON.parse(r.stdout) as { mediaType?: unknown }).mediaType ?? "");
        } catch {
          // Not JSON: the digest still names it; the media type stays unknown.
        }
        return { digest: sha256Digest(r.stdout), mediaType };
      }
      const err = errorFor(r, loc, `read ${describeLocation(loc)}`);
      if (err.kind === "not-found") return undefined;
      throw err;
    });
  }

  /** Copies the image, digests preserved unless told otherwise (a copy that would have to convert the manifest fails instead); returns the digest written. */
  async copy(src: ImageLocation, dest: ImageLocation, opts: CopyOptions = {}): Promise<string> {
    return this.withScratch(async (scratch) => {
      const digestFile = path.join(scratch(), "digest");
      const args = [
        "copy",
        "--quiet",
        ...(opts.preserveDigests === false ? [] : ["--preserve-digests"]),
        ...(opts.all === false ? [] : ["--all"]),
        "--digestfile",
        digestFile,
        ...tlsFlags(src, "src-", scratch),
        ...tlsFlags(dest, "dest-", scratch),
        transportRef(src),
        transportRef(dest),
      ];
      const r = await this.runner.run(this.bin, args, { timeoutMs: 3_600_000 });
      if (r.code !== 0 || r.error) {
        const err = errorFor(r, src, `copy ${describeLocation(src)} to ${describeLocation(dest)}`, dest);
        throw err.kind === "failed"
          ? new SkopeoError(
              `${formatCommand(
                this.bin,
                args.filter((a) => !a.startsWith(scratch())),
              )} failed: ${skopeoMessage(r)}`,
              "failed",
            )
          : err;
      }
      return readFileSync(digestFile, "utf8").trim();
    });
  }
}
