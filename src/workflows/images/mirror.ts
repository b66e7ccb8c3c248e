/**
 * `bk images mirror`: every third-party image the definition runs from the private registry (a component with
 * `upstream:`) copied there under its component's name (<registry>/<app>/<component>:<tag>), from its upstream
 * registry or, on a host without internet, from a folder of OCI archives. Digests are compared first, so a
 * second run copies nothing, and checked after each copy.
 */
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { readOciIndex } from "../../adapters/oci-archive.js";
import { Skopeo, type ImageLocation, type RegistryTls } from "../../adapters/skopeo.js";
import { CheckFailedError, InputError, UnavailableError } from "../../core/errors.js";
import { parseImage } from "../../core/image-ref.js";
import type { Model } from "../../model/model.js";
import type { Step, StepRunner } from "../steps.js";

/** One image to put into the private registry. */
export interface MirrorItem {
  /** app/component */
  component: string;
  /** The upstream reference, tag or digest included. */
  upstream: string;
  /** Where it goes: the component's image reference (under --registry when given). */
  image: string;
}

export type MirrorStatus = "copied" | "up-to-date" | "would-copy";

export interface MirrorResult extends MirrorItem {
  status: MirrorStatus;
  /** Where it was (or would be) copied from: the upstream reference or the archive. */
  from: string;
  digest: string;
  /** What the private registry had before, when anything. */
  previousDigest?: string;
}

/** The component's image reference with the private registry's address replaced (a registry reached at another address). */
export function atRegistry(model: Model, ref: string, registry?: string): string {
  return registry && ref.startsWith(`${model.registry}/`) ? `${registry}/${ref.slice(model.registry.length + 1)}` : ref;
}

/** The mirrored images of the definition; `only` (component ids or image references) narrows them, and names nothing else. */
export function mirrorItems(model: Model, opts: { registry?: string; only?: readonly string[] } = {}): MirrorItem[] {
  const all = model.components.filter((c) => c.image.upstream).map((c) => ({ component: c.id, upstream: c.image.upstream!, image: atRegistry(model, c.image.ref, opts.registry), ref: c.image.ref }));
  for (const i of all)
    if (i.upstream.startsWith(`${model.registry}/`) || (opts.registry && i.upstream.startsWith(`${opts.registry}/`)))
      throw new InputError(`the upstream of ${i.component} (${i.upstream}) is the private registry itself: name where the image comes from, such as docker.io/library/redis`);
  const only = opts.only ?? [];
  for (const o of only) {
    if (!all.some((i) => i.component === o || i.ref === o || i.image === o)) {
      const known = all.map((i) => i.component).join(", ") || "none";
      throw new InputError(`'${o}' is not a mirrored image of the definition (mirrored: ${known}); a third-party image is a component with \`upstream:\` in definition/apps/<app>.yaml`);
    }
  }
  return all.filter((i) => only.length === 0 || only.some((o) => o === i.component || o === i.ref || o === i.image)).map(({ ref: _ref, ...item }) => item);
}

/** Docker's normalization of a reference, so redis:7.4.2, library/redis:7.4.2 and docker.io/library/redis:7.4.2 are one image. */
export function normalizeRef(ref: string): string {
  const { repository, tag, digest } = parseImage(ref);
  const parts = repository.split("/");
  const first = parts[0]!;
  const hasHost = parts.length > 1 && (/[.:]/.test(first) || first === "localhost");
  let repo = hasHost ? repository : `docker.io/${repository}`;
  if (repo.startsWith("index.docker.io/")) repo = `docker.io/${repo.slice("index.docker.io/".length)}`;
  if (/^docker\.io\/[^/]+$/.test(repo)) repo = `docker.io/library/${repo.slice("docker.io/".length)}`;
  return `${repo}${tag !== undefined ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
}

export interface ArchivedImage {
  location: ImageLocation;
  digest: string;
}

/**
 * The images of a folder of OCI archives (files) and OCI layouts (folders with index.json), by the reference
 * name each was saved under, normalized. Entries without a name are ignored: nothing says which image they are.
 */
export function archivedImages(dir: string): Map<string, ArchivedImage> {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    throw new UnavailableError(`the OCI archive folder ${dir} cannot be read (does it exist?)`);
  }
  const out = new Map<string, ArchivedImage>();
  for (const name of names) {
    const full = path.join(dir, name);
    const isDir = statSync(full).isDirectory();
    if (!isDir && !name.endsWith(".tar")) continue;
    let entries: ReturnType<typeof readOciIndex>;
    try {
      entries = readOciIndex(full);
    } catch {
      continue; // not an archive: other files may share the folder
    }
    for (const e of entries) {
      if (!e.name) continue;
      const location: ImageLocation = isDir ? { kind: "oci", dir: full, name: e.name } : { kind: "oci-archive", file: full, name: e.name };
      const key = normalizeRef(e.name);
      if (!out.has(key)) out.set(key, { location, digest: e.digest });
    }
  }
  return out;
}

export interface MirrorOptions {
  /** The private registry's address, when not the definition's (e.g. reached through a port-forward). */
  registry?: string;
  /** Trust for the private registry. */
  tls?: RegistryTls;
  /** Trust for upstream registries. */
  sourceTls?: RegistryTls;
  /** Copy from OCI archives in this folder instead of upstream registries. */
  fromOciDir?: string;
  only?: readonly string[];
  dryRun?: boolean;
  skopeo?: Skopeo;
  steps: StepRunner;
}

/** How to make the archive an offline host needs for an image. */
function saveHint(upstream: string, dir: string): string {
  const file = `${parseImage(upstream).repository.split("/").pop()}-${(parseImage(upstream).tag ?? "digest").replace(/[^\w.-]/g, "_")}.tar`;
  return `skopeo copy --all docker://${upstream} oci-archive:${path.join(dir, file)}:${upstream}`;
}

export async function mirrorImages(model: Model, opts: MirrorOptions): Promise<MirrorResult[]> {
  const skopeo = opts.skopeo ?? new Skopeo();
  const items = mirrorItems(model, { ...(opts.registry ? { registry: opts.registry } : {}), ...(opts.only ? { only: opts.only } : {}) });
  const archived = opts.fromOciDir ? archivedImages(opts.fromOciDir) : undefined;
  const results: MirrorResult[] = [];
  const steps: Step<unknown>[] = items.map((item) => ({
    title: `${item.component}: ${item.upstream} -> ${item.image}`,
    run: async (_ctx, report) => {
      let source: ImageLocation;
      let digest: string | undefined;
      if (archived) {
        const found = archived.get(normalizeRef(item.upstream));
        if (!found) {
          const has = [...archived.keys()].join(", ") || "no named images";
          throw new UnavailableError(`no OCI archive in ${opts.fromOciDir} holds ${item.upstream} (it has: ${has}); on a host with internet save it with \`${saveHint(item.upstream, opts.fromOciDir!)}\``);
        }
        source = found.location;
        digest = found.digest;
      } else {
        source = { kind: "registry", ref: item.upstream, ...(opts.sourceTls ? { tls: opts.sourceTls } : {}) };
        // A digest names its manifest exactly; a tag is asked for.
        digest = parseImage(item.upstream).digest ?? (await skopeo.digest(source));
        if (!digest) throw new UnavailableError(`${item.upstream} (the upstream of ${item.component}) does not exist in the registry ${item.upstream.split("/")[0]}; check \`upstream:\` and \`tag:\` of the component`);
      }
      const dest: ImageLocation = { kind: "registry", ref: item.image, ...(opts.tls ? { tls: opts.tls } : {}) };
      const previous = await skopeo.digest(dest);
      const from = source.kind === "registry" ? item.upstream : `${source.kind === "oci" ? source.dir : source.file}`;
      const base = { ...item, from, digest, ...(previous ? { previousDigest: previous } : {}) };
      if (previous === digest) {
        report(`up to date (${digest})`);
        results.push({ ...base, status: "up-to-date" });
        return;
      }
      if (opts.dryRun) {
        report(`would copy ${digest} from ${from}${previous ? ` (the registry has ${previous})` : ""}`);
        results.push({ ...base, status: "would-copy" });
        return;
      }
      report(`copying ${digest} from ${from}`);
      const written = await skopeo.copy(source, dest);
      const after = await skopeo.digest(dest);
      if (written !== digest || after !== digest) throw new CheckFailedError(`${item.image} has digest ${after ?? "none"} after the copy, not ${digest} as ${from} has: the copy changed the image (or the registry did)`);
      report(`copied (${digest})`);
      results.push({ ...base, status: "copied" });
    },
  }));
  await opts.steps(steps, undefined, []);
  return results;
}
