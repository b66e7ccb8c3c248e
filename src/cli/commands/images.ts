import { CHARTS_MIRROR_ENV } from "../../adapters/charts.js";
import { helmAvailable } from "../../adapters/helm.js";
import type { RegistryTls } from "../../adapters/skopeo.js";
import { EXIT } from "../../core/errors.js";
import { loadDefinition } from "../../model/load.js";
import { exportImages, importImages, type ArchiveResult } from "../../workflows/images/archive.js";
import { imageInventory, type ImageOrigin } from "../../workflows/images/inventory.js";
import { mirrorImages } from "../../workflows/images/mirror.js";
import { printFindings, printJson } from "../output.js";
import { stepRunner } from "../progress.js";
import { failWith, reportError } from "../report-error.js";

export interface ImagesListOptions {
  charts?: string;
  upstream?: boolean;
  origin?: string;
  json?: boolean;
}

const ORIGINS: readonly ImageOrigin[] = ["app", "mirrored", "upstream", "unknown"];

/** `bk images`: every image the fully rendered tree runs, with where it comes from. */
export async function imagesListCommand(root: string, opts: ImagesListOptions): Promise<number> {
  if (opts.origin && !ORIGINS.includes(opts.origin as ImageOrigin)) return failWith("images", `--origin ${opts.origin} is not one of ${ORIGINS.join(", ")}`, EXIT.badInput, opts.json);
  if (!(await helmAvailable())) return failWith("images", "helm is not available to render the charts; run `npm run tools`", EXIT.unavailable, opts.json);
  const mirror = opts.charts ?? process.env[CHARTS_MIRROR_ENV];
  let inv: Awaited<ReturnType<typeof imageInventory>>;
  try {
    inv = await imageInventory(root, { upstream: opts.upstream !== false, ...(mirror ? { charts: { mirror } } : {}) });
  } catch (err) {
    return reportError("images", err, opts.json);
  }
  const images = opts.origin ? inv.images.filter((i) => i.origin === opts.origin) : inv.images;
  const errors = inv.findings.filter((f) => f.severity === "error").length;
  if (opts.json) printJson({ ok: errors === 0, images, findings: inv.findings });
  else {
    for (const origin of ORIGINS) {
      const group = images.filter((i) => i.origin === origin);
      if (!group.length) continue;
      process.stdout.write(`${origin} (${group.length}):\n`);
      for (const i of group) {
        const users = [...new Set(i.usedBy.map((u) => u.object))];
        const sources = [...new Set(i.usedBy.map((u) => u.source))];
        process.stdout.write(`  ${i.image}\n    ${i.from}\n    run by ${users.join(", ")}\n    from ${sources.join("; ")}\n`);
      }
    }
    printFindings(inv.findings);
    const count = (o: ImageOrigin) => images.filter((i) => i.origin === o).length;
    process.stderr.write(`bk images: ${images.length} image(s): ${ORIGINS.map((o) => `${count(o)} ${o}`).join(", ")}${opts.upstream === false ? " (upstream charts not rendered)" : ""}\n`);
  }
  return errors ? EXIT.failed : EXIT.ok;
}

export interface RegistryCliOptions {
  registry?: string;
  ca?: string;
  tlsVerify?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

function tlsOf(ca: string | undefined, verify: boolean | undefined): RegistryTls | undefined {
  if (verify === false) return { tlsVerify: false };
  return ca ? { caFile: ca } : undefined;
}

export interface ImagesMirrorOptions extends RegistryCliOptions {
  srcCa?: string;
  srcTlsVerify?: boolean;
  fromOciDir?: string;
}

/** `bk images mirror [image...]`: third-party images into the private registry. */
export async function imagesMirrorCommand(root: string, only: string[], opts: ImagesMirrorOptions): Promise<number> {
  const { model } = loadDefinition(root);
  try {
    const tls = tlsOf(opts.ca, opts.tlsVerify);
    const sourceTls = tlsOf(opts.srcCa, opts.srcTlsVerify);
    const results = await mirrorImages(model, {
      ...(opts.registry ? { registry: opts.registry } : {}),
      ...(tls ? { tls } : {}),
      ...(sourceTls ? { sourceTls } : {}),
      ...(opts.fromOciDir ? { fromOciDir: opts.fromOciDir } : {}),
      only,
      dryRun: Boolean(opts.dryRun),
      steps: stepRunner({ live: !opts.json }),
    });
    const n = (s: string) => results.filter((r) => r.status === s).length;
    if (opts.json) printJson({ ok: true, dryRun: Boolean(opts.dryRun), images: results });
    else {
      for (const r of results) process.stdout.write(`${r.status.padEnd(10)} ${r.image} <- ${r.from} (${r.digest})\n`);
      const summary = opts.dryRun ? `${n("would-copy")} to copy, ${n("up-to-date")} up to date; nothing copied (--dry-run)` : `${n("copied")} copied, ${n("up-to-date")} up to date`;
      process.stderr.write(`bk images mirror: ${results.length ? summary : "the definition names no third-party image (no component has `upstream:`)"}\n`);
    }
    return EXIT.ok;
  } catch (err) {
    return reportError("images mirror", err, opts.json);
  }
}

export interface ImagesArchiveOptions extends RegistryCliOptions {
  withMirrored?: boolean;
}

function reportArchive(cmd: "export" | "import", dir: string, results: ArchiveResult[], opts: ImagesArchiveOptions): number {
  const missing = results.filter((r) => r.status === "missing");
  const n = (s: string) => results.filter((r) => r.status === s).length;
  const message = missing.length
    ? `${missing.length} image(s) of the definition are not in the registry, so they are not in ${dir}: ${missing.map((r) => r.image).join(", ")} (push them with \`bk release\`, or mirror them with \`bk images mirror\`)`
    : undefined;
  if (opts.json) printJson({ ok: !missing.length, dryRun: Boolean(opts.dryRun), dir, images: results, ...(message ? { error: message, kind: "unavailable", exitCode: EXIT.unavailable } : {}) });
  else {
    for (const r of results) process.stdout.write(`${r.status.padEnd(13)} ${r.image}  ${r.archive}${r.digest ? ` (${r.digest})` : ""}\n`);
    const done = cmd === "export" ? `${n("saved")} saved` : `${n("restored")} restored`;
    const would = cmd === "export" ? `${n("would-save")} to save` : `${n("would-restore")} to restore`;
    process.stderr.write(`bk images ${cmd}: ${opts.dryRun ? `${would}, ${n("up-to-date")} up to date; nothing written (--dry-run)` : `${done}, ${n("up-to-date")} up to date`}\n`);
    if (message) process.stderr.write(`bk images ${cmd}: ${message}\n`);
  }
  return missing.length ? EXIT.unavailable : EXIT.ok;
}

/** `bk images export <dir>`: the registry's application images as OCI archives. */
export async function imagesExportCommand(root: string, dir: string, opts: ImagesArchiveOptions): Promise<number> {
  const { model } = loadDefinition(root);
  try {
    const tls = tlsOf(opts.ca, opts.tlsVerify);
    const results = await exportImages(model, dir, {
      ...(opts.registry ? { registry: opts.registry } : {}),
      ...(tls ? { tls } : {}),
      withMirrored: Boolean(opts.withMirrored),
      dryRun: Boolean(opts.dryRun),
      steps: stepRunner({ live: !opts.json }),
    });
    return reportArchive("export", dir, results, opts);
  } catch (err) {
    return reportError("images export", err, opts.json);
  }
}

/** `bk images import <dir>`: restore an export into the registry, digests checked. */
export async function imagesImportCommand(root: string, dir: string, opts: ImagesArchiveOptions): Promise<number> {
  const { model } = loadDefinition(root);
  try {
    const tls = tlsOf(opts.ca, opts.tlsVerify);
    const results = await importImages(model, dir, {
      ...(opts.registry ? { registry: opts.registry } : {}),
      ...(tls ? { tls } : {}),
      dryRun: Boolean(opts.dryRun),
      steps: stepRunner({ live: !opts.json }),
    });
    return reportArchive("import", dir, results, opts);
  } catch (err) {
    return reportError("images import", err, opts.json);
  }
}
