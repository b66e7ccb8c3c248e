/**
 * `bk images export / import`: the private registry's images the definition runs, saved as one OCI archive per
 * image with a manifest (bk-images.json: image, archive, digest), and restored into a registry (a rebuilt one
 * starts empty). Digests are preserved both ways and checked: the archive against the registry on export, the
 * registry against the manifest on import. Both skip what is already in place, so a rerun resumes.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { readOciIndex } from "../../adapters/oci-archive.js";
import { Skopeo, isDockerMediaType, type ImageLocation, type RegistryTls } from "../../adapters/skopeo.js";
import { CheckFailedError, InputError, UnavailableError } from "../../core/errors.js";
import type { Model } from "../../model/model.js";
import type { Step, StepRunner } from "../steps.js";
import { atRegistry } from "./mirror.js";

export const MANIFEST_FILE = "bk-images.json";
const FORMAT = 1;

export interface ArchivedEntry {
  /** The image under the registry: <app>/<component>:<tag>, without the registry's address. */
  image: string;
  component: string;
  origin: "app" | "mirrored";
  /** File name of the OCI archive, in the manifest's folder. */
  archive: string;
  /** Digest of the image's manifest in the archive: what the registry has after an import. */
  digest: string;
  /**
   * The registry's digest when saving changed it: an image pushed with Docker's media types is converted to OCI's
   * (same layers and config, another manifest). Absent when the digests are equal.
   */
  sourceDigest?: string;
}

export interface ArchiveManifest {
  format: number;
  /** The registry the images were saved from. */
  registry: string;
  saved: string;
  images: ArchivedEntry[];
}

export interface ArchiveOptions {
  /** The private registry's address, when not the definition's. */
  registry?: string;
  tls?: RegistryTls;
  /** Also the third-party images mirrored into the registry (by default only our own application images). */
  withMirrored?: boolean;
  dryRun?: boolean;
  skopeo?: Skopeo;
  steps: StepRunner;
}

export type ArchiveStatus = "saved" | "restored" | "up-to-date" | "would-save" | "would-restore" | "missing";

export interface ArchiveResult {
  image: string;
  component: string;
  status: ArchiveStatus;
  archive: string;
  digest?: string;
}

/** The archive file name of an image: its path and tag, one word. */
export function archiveName(image: string): string {
  return `${image.replace(/[/:@]/g, "_")}.tar`;
}

function readManifest(dir: string): ArchiveManifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw new UnavailableError(`${dir} has no ${MANIFEST_FILE}: it is not a folder written by \`bk images export\``);
  let parsed: ArchiveManifest;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as ArchiveManifest;
  } catch (err) {
    throw new InputError(`${file} is not JSON (${(err as Error).message}); export again with \`bk images export\``);
  }
  if (parsed.format !== FORMAT || !Array.isArray(parsed.images))
    throw new InputError(`${file}: format ${String(parsed.format)} with ${Array.isArray(parsed.images) ? "" : "no "}images list is not what this bk writes (format ${FORMAT}); export again`);
  for (const [i, e] of parsed.images.entries()) {
    for (const field of ["image", "archive", "digest"] as const) if (typeof e[field] !== "string" || !e[field]) throw new InputError(`${file}: images[${i}].${field} is missing; the manifest is damaged, export again`);
    if (path.basename(e.archive) !== e.archive) throw new InputError(`${file}: images[${i}].archive '${e.archive}' is not a file name in the folder`);
  }
  return parsed;
}

/** Written after every saved image (temp then rename), so an interrupted export still lists what it saved. */
function writeManifest(dir: string, m: ArchiveManifest): void {
  m.images.sort((a, b) => a.image.localeCompare(b.image));
  const file = path.join(dir, MANIFEST_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(m, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The one image of an archive saved under `name`, and its digest. */
function archivedDigest(file: string, name: string): string | undefined {
  return readOciIndex(file).find((e) => e.name === name)?.digest;
}

/** Saves the registry's application images (and mirrored ones with withMirrored) into `dir`. */
export async function exportImages(model: Model, dir: string, opts: ArchiveOptions): Promise<ArchiveResult[]> {
  const skopeo = opts.skopeo ?? new Skopeo();
  const registry = opts.registry ?? model.registry;
  if (existsSync(dir) && !existsSync(path.join(dir, MANIFEST_FILE))) {
    // Refuse to mix with unrelated files, unless the folder is empty.
    if (readdirSync(dir).length) throw new InputError(`${dir} is not empty and has no ${MANIFEST_FILE}: export into an empty folder or one written by \`bk images export\``);
  }
  const manifest: ArchiveManifest = existsSync(path.join(dir, MANIFEST_FILE)) ? readManifest(dir) : { format: FORMAT, registry, saved: "", images: [] };
  const components = model.components.filter((c) => opts.withMirrored || !c.image.upstream);
  const results: ArchiveResult[] = [];
  const steps: Step<unknown>[] = components.map((c) => {
    const image = c.image.ref.slice(model.registry.length + 1);
    const ref = atRegistry(model, c.image.ref, registry);
    const archive = archiveName(image);
    const file = path.join(dir, archive);
    return {
      title: `${ref} -> ${archive}`,
      run: async (_ctx, report) => {
        const src: ImageLocation = { kind: "registry", ref, ...(opts.tls ? { tls: opts.tls } : {}) };
        const stored = await skopeo.manifest(src);
        const digest = stored?.digest;
        if (!stored || !digest) {
          report(`not in the registry: nothing to save`);
          results.push({ image, component: c.id, status: "missing", archive });
          return;
        }
        const recorded = manifest.images.find((e) => e.image === image);
        if ((recorded?.sourceDigest ?? recorded?.digest) === digest && existsSync(file) && archivedDigest(file, image) === recorded?.digest) {
          report(`up to date (${digest})`);
          results.push({ image, component: c.id, status: "up-to-date", archive, digest });
          return;
        }
        if (opts.dryRun) {
          report(`would save ${digest}`);
          results.push({ image, component: c.id, status: "would-save", archive, digest });
          return;
        }
        mkdirSync(dir, { recursive: true });
        const tmp = `${file}.partial`;
        let saved: string | undefined;
        rmSync(tmp, { force: true });
        try {
          const converts = isDockerMediaType(stored.mediaType);
          await skopeo.copy(src, { kind: "oci-archive", file: tmp, name: image }, { preserveDigests: !converts });
          saved = archivedDigest(tmp, image);
          if (!saved || (!converts && saved !== digest)) throw new CheckFailedError(`${archive} holds ${saved ?? "no image"} for ${image}, not ${digest} as the registry has: the copy changed the image`);
          renameSync(tmp, file);
        } finally {
          rmSync(tmp, { force: true });
        }
        const entry: ArchivedEntry = { image, component: c.id, origin: c.image.upstream ? "mirrored" : "app", archive, digest: saved!, ...(saved !== digest ? { sourceDigest: digest } : {}) };
        manifest.images = [...manifest.images.filter((e) => e.image !== image), entry];
        manifest.saved = new Date().toISOString();
        manifest.registry = registry;
        writeManifest(dir, manifest);
        report(saved === digest ? `saved (${digest})` : `saved as OCI (${saved}; the registry's Docker manifest is ${digest})`);
        results.push({ image, component: c.id, status: "saved", archive, digest: saved! });
      },
    };
  });
  await opts.steps(steps, undefined, []);
  return results;
}

/** Restores every image of an export folder into the registry, skipping those already there with the same digest. */
export async function importImages(model: Model, dir: string, opts: ArchiveOptions): Promise<ArchiveResult[]> {
  const skopeo = opts.skopeo ?? new Skopeo();
  const registry = opts.registry ?? model.registry;
  const manifest = readManifest(dir);
  const results: ArchiveResult[] = [];
  const steps: Step<unknown>[] = manifest.images.map((e) => {
    const ref = `${registry}/${e.image}`;
    const file = path.join(dir, e.archive);
    return {
      title: `${e.archive} -> ${ref}`,
      run: async (_ctx, report) => {
        if (!existsSync(file)) throw new UnavailableError(`${file} is missing: ${MANIFEST_FILE} lists it for ${e.image}`);
        const inArchive = archivedDigest(file, e.image);
        if (inArchive !== e.digest) throw new CheckFailedError(`${file} holds ${inArchive ?? "no image"} for ${e.image}, not ${e.digest} as ${MANIFEST_FILE} records: the archive is damaged or was replaced`);
        const dest: ImageLocation = { kind: "registry", ref, ...(opts.tls ? { tls: opts.tls } : {}) };
        const previous = await skopeo.digest(dest);
        // The registry may still hold the Docker-typed original an archive was converted from: the same image.
        if (previous === e.digest || (previous !== undefined && previous === e.sourceDigest)) {
          report(`up to date (${e.digest})`);
          results.push({ image: e.image, component: e.component, status: "up-to-date", archive: e.archive, digest: e.digest });
          return;
        }
        if (opts.dryRun) {
          report(`would restore ${e.digest}${previous ? ` (the registry has ${previous})` : ""}`);
          results.push({ image: e.image, component: e.component, status: "would-restore", archive: e.archive, digest: e.digest });
          return;
        }
        await skopeo.copy({ kind: "oci-archive", file, name: e.image }, dest);
        const after = await skopeo.digest(dest);
        if (after !== e.digest) throw new CheckFailedError(`${ref} has digest ${after ?? "none"} after the import, not ${e.digest} as ${MANIFEST_FILE} records`);
        report(`restored (${e.digest})`);
        results.push({ image: e.image, component: e.component, status: "restored", archive: e.archive, digest: e.digest });
      },
    };
  });
  await opts.steps(steps, undefined, []);
  return results;
}
