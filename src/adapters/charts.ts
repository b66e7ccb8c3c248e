/**
 * Upstream Helm charts, found the way Flux finds them: a HelmRepository URL, a chart name and a pinned version.
 * Read from a local mirror when one is given (an offline host, CI: `<mirror>/<any folder>/Chart.yaml`), else
 * pulled once with the real helm into a cache keyed by the archive's digest. A chart that cannot be found is
 * unavailable (exit 3), named with its version and repository.
 */
import { userCacheDir } from "../core/cache-dir.js";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { UnavailableError } from "../core/errors.js";
import { ProcessRunner, type Runner } from "./runner.js";
import { helmBinary } from "./tools.js";

/** The environment variable naming a chart mirror folder, as `--charts` does. */
export const CHARTS_MIRROR_ENV = "BK_CHARTS";

export interface ChartRef {
  /** The HelmRepository URL: https://..., or oci://... for an OCI registry. */
  repository: string;
  chart: string;
  version: string;
}

export interface ResolvedChart {
  ref: ChartRef;
  /** The unpacked chart folder helm renders. */
  dir: string;
  /** sha256 of the chart's files: what render caches are keyed by. */
  digest: string;
  from: "mirror" | "cache" | "pulled";
}

export interface ChartSourceOptions {
  /** A folder of unpacked charts (`<name>-<version>/Chart.yaml`, any folder names). Default: $BK_CHARTS. */
  mirror?: string;
  /** Where pulled charts are kept. Default: ~/.cache/beckerkube/charts. */
  cacheDir?: string;
  /** Pull charts missing from the mirror and the cache (needs the network). Default true. */
  pull?: boolean;
  runner?: Runner;
}

export class ChartNotFoundError extends UnavailableError {}

/** helm compares versions as semver, where a leading "v" is allowed. */
const sameVersion = (a: string, b: string) => a.replace(/^v/, "") === b.replace(/^v/, "");

interface ChartYaml {
  name?: string;
  version?: string;
}

function readChartYaml(dir: string): ChartYaml | undefined {
  const file = path.join(dir, "Chart.yaml");
  if (!existsSync(file)) return undefined;
  return parse(readFileSync(file, "utf8")) as ChartYaml;
}

/** Every file under `dir`, relative, sorted: the stable order a digest needs. */
function filesUnder(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${entry}` : entry;
    if (statSync(path.join(dir, rel)).isDirectory()) out.push(...filesUnder(dir, rel));
    else out.push(rel);
  }
  return out;
}

/** sha256 over the chart's file names and contents, so a changed mirror folder is a different chart. */
export function chartDigest(dir: string): string {
  const h = createHash("sha256");
  for (const rel of filesUnder(dir)) {
    h.update(`${rel}\0`);
    h.update(readFileSync(path.join(dir, rel)));
    h.update("\0");
  }
  return `sha256:${h.digest("hex")}`;
}

const digestMemo = new Map<string, string>();
function memoDigest(dir: string): string {
  let d = digestMemo.get(dir);
  if (!d) {
    d = chartDigest(dir);
    digestMemo.set(dir, d);
  }
  return d;
}

/** The mirror's chart folders by `<name>@<version>`; a folder without Chart.yaml is not a chart. */
function mirrorIndex(mirror: string): Map<string, string> {
  if (!existsSync(mirror)) throw new ChartNotFoundError(`chart mirror ${mirror} does not exist; pass --charts <dir> (or set ${CHARTS_MIRROR_ENV}) to a folder of unpacked charts`);
  const index = new Map<string, string>();
  for (const entry of readdirSync(mirror).sort()) {
    const dir = path.join(mirror, entry);
    if (!statSync(dir).isDirectory()) continue;
    const c = readChartYaml(dir);
    if (c?.name && c.version) index.set(`${c.name}@${c.version.replace(/^v/, "")}`, dir);
  }
  return index;
}

const mirrorMemo = new Map<string, Map<string, string>>();

function fromMirror(ref: ChartRef, mirror: string): string | undefined {
  let index = mirrorMemo.get(mirror);
  if (!index) {
    index = mirrorIndex(mirror);
    mirrorMemo.set(mirror, index);
  }
  return index.get(`${ref.chart}@${ref.version.replace(/^v/, "")}`);
}

const defaultCacheDir = () => userCacheDir("charts");

/** The cache's folder for a ref: one per repository URL, chart and version. */
function cacheSlot(cacheDir: string, ref: ChartRef): string {
  const repo = createHash("sha256").update(ref.repository).digest("hex").slice(0, 16);
  return path.join(cacheDir, repo, `${ref.chart}-${ref.version}`);
}

function describe(ref: ChartRef): string {
  return `chart ${ref.chart} ${ref.version} from ${ref.repository}`;
}

/** `helm pull` into a scratch folder, then one rename into the cache, so a half-pulled chart is never seen. */
async function pull(ref: ChartRef, slot: string, runner: Runner): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), "bk-chart-"));
  try {
    const oci = ref.repository.startsWith("oci://");
    const target = oci ? `${ref.repository.replace(/\/$/, "")}/${ref.chart}` : ref.chart;
    const args = ["pull", target, "--version", ref.version, "--untar", "--untardir", scratch, ...(oci ? [] : ["--repo", ref.repository])];
    const r = await runner.run(helmBinary(), args, { timeoutMs: 300_000 });
    if (r.code !== 0)
      throw new ChartNotFoundError(`${describe(ref)} could not be pulled: ${(r.error ?? r.stderr).trim()}; on a host without internet pass --charts <dir> (or set ${CHARTS_MIRROR_ENV}) to a chart mirror holding it`);
    const unpacked = path.join(scratch, ref.chart);
    const c = readChartYaml(unpacked);
    if (!c || c.name !== ref.chart || !c.version || !sameVersion(c.version, ref.version)) {
      throw new ChartNotFoundError(`${describe(ref)}: the pulled archive is ${c?.name ?? "not a chart"} ${c?.version ?? ""}`.trim());
    }
    mkdirSync(path.dirname(slot), { recursive: true });
    rmSync(slot, { recursive: true, force: true });
    renameSync(unpacked, slot);
    writeFileSync(`${slot}.digest`, memoDigest(slot));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The chart a HelmRelease names, from the mirror, else the cache, else pulled (unless `pull: false`). */
export async function resolveChart(ref: ChartRef, opts: ChartSourceOptions = {}): Promise<ResolvedChart> {
  const mirror = opts.mirror ?? process.env[CHARTS_MIRROR_ENV];
  if (mirror) {
    const dir = fromMirror(ref, path.resolve(mirror));
    if (dir) return { ref, dir, digest: memoDigest(dir), from: "mirror" };
  }
  const slot = cacheSlot(opts.cacheDir ?? defaultCacheDir(), ref);
  if (existsSync(`${slot}.digest`) && existsSync(slot)) return { ref, dir: slot, digest: readFileSync(`${slot}.digest`, "utf8").trim(), from: "cache" };
  if (opts.pull === false) {
    throw new ChartNotFoundError(
      `${describe(ref)} is not in ${mirror ? `the chart mirror ${mirror}` : "any chart mirror"} nor in the chart cache; pass --charts <dir> (or set ${CHARTS_MIRROR_ENV}) to a mirror holding it`,
    );
  }
  await pull(ref, slot, opts.runner ?? new ProcessRunner());
  return { ref, dir: slot, digest: memoDigest(slot), from: "pulled" };
}
