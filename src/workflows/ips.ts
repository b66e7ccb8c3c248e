/**
 * LoadBalancer addresses (incident 1: after a rebuild the registry moved from 192.168.1.18 to
 * 192.168.7.21, the old address stayed in a dozen files, and the stale 192.168.7.19 had become the
 * Istio gateway's). Three jobs: compare the live Services with the model, find addresses in text
 * files and say whose they are now, and rewrite one address to another everywhere it is written.
 */
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, lstatSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTwoFilesPatch } from "diff";
import { isMap, isScalar, isSeq, parseAllDocuments } from "yaml";
import { FindingsError, type Finding } from "../core/finding.js";
import { loadDefinition, DEFINITION_DIR } from "../model/load.js";
import type { EndpointModel, Model } from "../model/model.js";
import type { KubeOptions } from "../adapters/kube.js";

/** Addresses known to have been in use before (incident 1: the registry's address before the rebuild). */
export const KNOWN_STALE = ["192.168.1.18"];

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`;
/** An address as a whole token: not inside a longer dotted number (a version 1.192.168.7.21.4). */
const TOKEN = new RegExp(`(?<![\\d.])(${IPV4})(?!\\d|\\.\\d)(?::(\\d{1,5})(?!\\d))?`, "g");

export function isIPv4(s: string): boolean {
  return new RegExp(`^${IPV4}$`).test(s);
}

function tokenFor(ip: string): RegExp {
  return new RegExp(`(?<![\\d.])${ip.replace(/\./g, "\\.")}(?!\\d|\\.\\d)`, "g");
}

// ---------------------------------------------------------------------------------------------
// Live: the Services' LoadBalancer status against the model.

export interface LiveService {
  namespace: string;
  name: string;
  /** status.loadBalancer.ingress[].ip */
  ips: string[];
  /** What the Service asks MetalLB for (annotation or spec.loadBalancerIP). */
  requested?: string;
}

export interface ServiceLister {
  listLoadBalancers(): Promise<LiveService[]>;
}

export interface LiveRow {
  endpoint: EndpointModel["id"];
  title: string;
  service: string;
  expected: string;
  actual: string[];
  status: "ok" | "drift" | "pending" | "missing";
}

/** Pure: one row per model endpoint, plus findings for drift and for pool addresses held by Services the model does not know. */
export function compareLive(m: Model, services: LiveService[]): { rows: LiveRow[]; findings: Finding[] } {
  const rows: LiveRow[] = [];
  const findings: Finding[] = [];
  for (const e of m.endpoints) {
    const svc = services.find((s) => s.namespace === e.namespace && s.name === e.service);
    const base = { endpoint: e.id, title: e.title, service: `${e.namespace}/${e.service}`, expected: e.ip };
    const object = `Service/${e.namespace}/${e.service}`;
    if (!svc) {
      rows.push({ ...base, actual: [], status: "missing" });
      findings.push({
        rule: "ips/service-missing",
        severity: "error",
        object,
        message: `no LoadBalancer Service ${e.namespace}/${e.service} (${e.title}) in the cluster`,
        fix: "check the Flux Kustomizations (`flux get kustomizations`) and that the tree is applied",
      });
      continue;
    }
    if (!svc.ips.length) {
      rows.push({ ...base, actual: [], status: "pending" });
      findings.push({
        rule: "ips/pending",
        severity: "error",
        object,
        message: `${e.title} has no LoadBalancer address yet (asks for ${svc.requested ?? "any"}, the definition says ${e.ip})`,
        fix: "check MetalLB: `kubectl -n metallb-system logs deploy/metallb-controller` and `kubectl describe svc`; another Service may hold the address",
      });
      continue;
    }
    const ok = svc.ips.includes(e.ip);
    rows.push({ ...base, actual: svc.ips, status: ok ? "ok" : "drift" });
    if (!ok) {
      findings.push({
        rule: "ips/drift",
        severity: "error",
        object,
        message: `${e.title} is at ${svc.ips.join(", ")}, the definition says ${e.ip}: every build env file, script and certificate written for ${e.ip} is wrong now`,
        fix: `make the cluster match the definition (\`bk synth\`, commit, \`flux reconcile\`), or if the new address is meant to stay: \`bk ips sync --from ${e.ip} --to ${svc.ips[0]}\``,
      });
    }
  }
  const byIp = new Map(m.endpoints.map((e) => [e.ip, e]));
  for (const s of services) {
    if (m.endpoints.some((e) => e.namespace === s.namespace && e.service === s.name)) continue;
    for (const ip of s.ips) {
      const owner = byIp.get(ip);
      if (owner) {
        findings.push({
          rule: "ips/taken",
          severity: "error",
          object: `Service/${s.namespace}/${s.name}`,
          message: `holds ${ip}, which the definition gives to ${owner.title} (${owner.namespace}/${owner.service})`,
          fix: `remove the address from ${s.namespace}/${s.name} (or delete it); MetalLB then gives ${ip} to ${owner.title}`,
        });
      } else if (inPool(m, ip)) {
        findings.push({
          rule: "ips/unplanned",
          severity: "warning",
          object: `Service/${s.namespace}/${s.name}`,
          message: `holds ${ip} from the pool, and the definition does not know it`,
          fix: "declare it in the definition, or stop exposing it as a LoadBalancer",
        });
      }
    }
  }
  return { rows, findings };
}

function ipNum(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

export function inPool(m: Model, ip: string): boolean {
  const n = ipNum(ip);
  return n >= ipNum(m.network.loadBalancerPool.start) && n <= ipNum(m.network.loadBalancerPool.end);
}

/** "192.168.7." for a pool in 192.168.7.0/24: addresses there are the platform's, written anywhere. */
export function poolPrefix24(m: Model): string {
  return m.network.loadBalancerPool.start.split(".").slice(0, 3).join(".") + ".";
}

export async function kubeServiceLister(o: KubeOptions): Promise<ServiceLister> {
  const { k8s, kc } = (await import("../adapters/kube.js")).loadKubeConfig(o);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return {
    async listLoadBalancers() {
      const list = await core.listServiceForAllNamespaces();
      return list.items
        .filter((s) => s.spec?.type === "LoadBalancer")
        .map((s) => {
          const ann = s.metadata?.annotations ?? {};
          const requested = ann["metallb.io/loadBalancerIPs"] ?? ann["metallb.universe.tf/loadBalancerIPs"] ?? s.spec?.loadBalancerIP;
          return {
            namespace: s.metadata?.namespace ?? "",
            name: s.metadata?.name ?? "",
            ips: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => Boolean(x)),
            ...(requested ? { requested } : {}),
          };
        });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scan: every occurrence of a platform address in text files.

export interface Occurrence {
  file: string;
  line: number;
  column: number;
  address: string;
  port?: number;
  text: string;
  /** The endpoint the model gives this address now. */
  assignedTo?: { id: string; title: string; service: string; ports: number[] };
  status: "current" | "stale" | "wrong-port";
  note: string;
}

export interface ScanContext {
  byIp: Map<string, EndpointModel>;
  prefix: string;
  stale: Set<string>;
  endpoints: EndpointModel[];
}

export function scanContext(m: Model, extraStale: string[] = []): ScanContext {
  return { byIp: new Map(m.endpoints.map((e) => [e.ip, e])), prefix: poolPrefix24(m), stale: new Set([...KNOWN_STALE, ...extraStale]), endpoints: m.endpoints };
}

function suggestionFor(ctx: ScanContext, port: number | undefined): string {
  if (port === undefined) return "";
  const serving = ctx.endpoints.filter((e) => e.ports.some((p) => p.port === port));
  return serving.length === 1 ? `; the definition serves :${port} at ${serving[0]!.ip} (${serving[0]!.title})` : "";
}

/** Pure: the platform addresses in one text. */
export function scanText(text: string, file: string, ctx: ScanContext): Occurrence[] {
  const out: Occurrence[] = [];
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    for (const m of line.matchAll(TOKEN)) {
      const address = m[1]!;
      if (!address.startsWith(ctx.prefix) && !ctx.stale.has(address) && !ctx.byIp.has(address)) continue;
      const port = m[2] !== undefined ? Number(m[2]) : undefined;
      const e = ctx.byIp.get(address);
      const base = { file, line: i + 1, column: (m.index ?? 0) + 1, address, ...(port !== undefined ? { port } : {}), text: line.trim().slice(0, 200) };
      if (!e) {
        out.push({ ...base, status: "stale", note: `not assigned: stale${suggestionFor(ctx, port)}` });
        continue;
      }
      const assignedTo = { id: e.id, title: e.title, service: `${e.namespace}/${e.service}`, ports: e.ports.map((p) => p.port) };
      if (port !== undefined && !assignedTo.ports.includes(port)) {
        out.push({ ...base, assignedTo, status: "wrong-port", note: `${address} is ${e.title} now, which serves ${assignedTo.ports.join(", ")}, not :${port}: stale${suggestionFor(ctx, port)}` });
      } else out.push({ ...base, assignedTo, status: "current", note: `${e.title} (${assignedTo.service})` });
    }
  }
  return out;
}

const SKIP_DIRS = new Set([".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", ".terraform", ".bk"]);
const MAX_TEXT = 2 * 1024 * 1024;

/** Regular, small, NUL-free files: what a person would call a text file. */
export function isTextFile(file: string): boolean {
  const st = lstatSync(file);
  if (!st.isFile() || st.size > MAX_TEXT) return false;
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(Math.min(8192, st.size));
    readSync(fd, buf, 0, buf.length, 0);
    return !buf.includes(0);
  } finally {
    closeSync(fd);
  }
}

/** Text files under each path (files are taken as given), sorted; symlinks are not followed. */
export function walkTextFiles(paths: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!SKIP_DIRS.has(name)) visit(path.join(p, name));
    } else if (st.isFile() && isTextFile(p)) out.push(p);
  };
  for (const p of paths) {
    if (!existsSync(p)) throw new Error(`${p}: no such file or folder`);
    visit(path.resolve(p));
  }
  return out;
}

export function scanPaths(paths: string[], ctx: ScanContext, display: (abs: string) => string = (a) => a): Occurrence[] {
  return walkTextFiles(paths).flatMap((f) => scanText(readFileSync(f, "utf8"), display(f), ctx));
}

// ---------------------------------------------------------------------------------------------
// Sync: rewrite one address to another in the definition and in the applications' repositories.

export interface FileRewrite {
  /** Absolute path. */
  file: string;
  /** Shown to people: relative to the root or repository. */
  display: string;
  before: string;
  after: string;
  count: number;
}

export function replaceAddress(text: string, from: string, to: string): { text: string; count: number } {
  let count = 0;
  const out = text.replace(tokenFor(from), () => {
    count++;
    return to;
  });
  return { text: out, count };
}

type YamlPath = Array<string | number>;

/** Values that hold addresses but are not a service's address: the pool's bounds stay as they are. */
export const SYNC_EXCLUDED: YamlPath[] = [
  ["network", "loadBalancerPool", "start"],
  ["network", "loadBalancerPool", "end"],
];

const excludedPath = (p: YamlPath) => SYNC_EXCLUDED.some((x) => x.length === p.length && x.every((k, i) => k === p[i]));

function keyOf(k: unknown): string {
  return isScalar(k) ? String(k.value) : String(k);
}

/**
 * Rewrite an address in YAML source text: in string values (except SYNC_EXCLUDED) and in comments,
 * never in keys. The yaml parser finds where each scalar is; the edits are made in the text itself,
 * so comments, quoting and layout stay byte for byte.
 */
export function rewriteYamlText(src: string, from: string, to: string): { text: string; count: number } {
  const spans: Array<{ start: number; end: number; replace: boolean }> = [];
  const walk = (node: unknown, p: YamlPath) => {
    if (isScalar(node)) {
      if (node.range) spans.push({ start: node.range[0], end: node.range[1], replace: typeof node.value === "string" && !excludedPath(p) });
    } else if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && pair.key.range) spans.push({ start: pair.key.range[0], end: pair.key.range[1], replace: false });
        else walk(pair.key, p);
        walk(pair.value, [...p, keyOf(pair.key)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        walk(item, [...p, i]);
      });
    }
  };
  for (const doc of parseAllDocuments(src)) {
    if ("errors" in doc && doc.errors.length) throw new Error(doc.errors[0]!.message);
    walk(doc.contents, []);
  }
  spans.sort((a, b) => a.start - b.start);
  let out = "";
  let count = 0;
  let at = 0;
  const swap = (t: string) => {
    const r = replaceAddress(t, from, to);
    count += r.count;
    return r.text;
  };
  for (const s of spans) {
    if (s.start < at) continue;
    out += swap(src.slice(at, s.start)); // between scalars: only syntax and comments
    out += s.replace ? swap(src.slice(s.start, s.end)) : src.slice(s.start, s.end);
    at = s.end;
  }
  out += swap(src.slice(at));
  return { text: out, count };
}

/** The YAML data must change exactly by from -> to in non-excluded string values; keys and structure stay. */
export function verifyYamlRewrite(before: string, after: string, from: string, to: string, file: string): string | undefined {
  const parse = (s: string) => parseAllDocuments(s).map((d) => d.toJS({ maxAliasCount: -1 }) as unknown);
  let a: unknown;
  let b: unknown;
  try {
    a = parse(before);
    b = parse(after);
  } catch (err) {
    return `${file}: not valid YAML after the rewrite (${(err as Error).message})`;
  }
  const swap = (v: unknown, p: YamlPath): unknown => {
    if (typeof v === "string") return excludedPath(p) ? v : replaceAddress(v, from, to).text;
    if (Array.isArray(v)) return v.map((x, i) => swap(x, [...p, i]));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x, [...p, k])]));
    return v;
  };
  const expected = Array.isArray(a) ? a.map((d) => swap(d, [])) : a;
  return JSON.stringify(expected) === JSON.stringify(b) ? undefined : `${file}: the rewrite would change more than string values (the address appears in a key or a non-string value); edit it by hand`;
}

function rewritesUnder(dirs: Array<{ dir: string; label: string }>, from: string, to: string): FileRewrite[] {
  const out: FileRewrite[] = [];
  for (const { dir, label } of dirs) {
    for (const file of walkTextFiles([dir])) {
      const before = readFileSync(file, "utf8");
      const { text, count } = replaceAddress(before, from, to);
      if (count) out.push({ file, display: path.join(label, path.relative(dir, file)), before, after: text, count });
    }
  }
  return out;
}

/**
 * Rewrites of the definition (rewriteYamlText), each checked with the yaml parser to change string
 * values only, and the edited definition must still load: the new address inside the pool and not
 * taken by another service.
 */
export function planDefinitionRewrite(root: string, from: string, to: string): FileRewrite[] {
  const dir = path.join(root, DEFINITION_DIR);
  const rewrites: FileRewrite[] = [];
  for (const file of walkTextFiles([dir]).filter((f) => /\.ya?ml$/.test(f))) {
    const before = readFileSync(file, "utf8");
    let r: { text: string; count: number };
    try {
      r = rewriteYamlText(before, from, to);
    } catch (err) {
      throw new Error(`${path.relative(root, file)}: cannot parse (${(err as Error).message}); fix it first (\`bk validate\`)`);
    }
    if (r.count) rewrites.push({ file, display: path.relative(root, file), before, after: r.text, count: r.count });
  }
  const problems = rewrites.map((r) => verifyYamlRewrite(r.before, r.after, from, to, r.display)).filter((p): p is string => Boolean(p));
  if (problems.length) throw new Error(problems.join("\n"));
  if (rewrites.length) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "bk-ips-sync-"));
    try {
      cpSync(path.join(root, DEFINITION_DIR), path.join(tmp, DEFINITION_DIR), { recursive: true });
      for (const r of rewrites) writeFileSync(path.join(tmp, path.relative(root, r.file)), r.after);
      loadDefinition(tmp);
    } catch (err) {
      if (err instanceof FindingsError)
        throw new FindingsError(
          err.findings.map((f) => ({ ...f, message: `after ${from} -> ${to}: ${f.message}` })),
          2,
        );
      throw err;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return rewrites;
}

export interface RepoRef {
  app: string;
  dir: string;
}

/** Each application's sourceRepository, resolved against the repository root. */
export function appRepositories(m: Model, root: string): RepoRef[] {
  return m.apps.filter((a) => a.sourceRepository).map((a) => ({ app: a.name, dir: path.resolve(root, a.sourceRepository!) }));
}

export function planRepoRewrites(repos: RepoRef[], from: string, to: string): { rewrites: FileRewrite[]; missing: RepoRef[] } {
  const present = repos.filter((r) => existsSync(r.dir) && statSync(r.dir).isDirectory());
  const missing = repos.filter((r) => !present.includes(r));
  return {
    rewrites: rewritesUnder(
      present.map((r) => ({ dir: r.dir, label: r.app })),
      from,
      to,
    ),
    missing,
  };
}

export function unifiedDiff(r: FileRewrite): string {
  return createTwoFilesPatch(`a/${r.display}`, `b/${r.display}`, r.before, r.after, undefined, undefined, { context: 2 });
}

/** Write via a temporary file in the same folder and rename, keeping the file's mode. */
export function writeAtomic(file: string, content: string): void {
  const mode = existsSync(file) ? statSync(file).mode & 0o7777 : 0o644;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.bk-${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, content, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Refuse to write when a file changed after the preview was computed (someone edited it meanwhile). */
export function applyRewrites(rewrites: FileRewrite[]): void {
  for (const r of rewrites) {
    if (readFileSync(r.file, "utf8") !== r.before) throw new Error(`${r.file} changed since the preview; nothing more was written: rerun \`bk ips sync\``);
  }
  for (const r of rewrites) writeAtomic(r.file, r.after);
}
