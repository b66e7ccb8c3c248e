import path from "node:path";
import { createInterface } from "node:readline/promises";
import { loadDefinition } from "../../model/load.js";
import {
  appRepositories,
  applyRewrites,
  compareLive,
  isIPv4,
  kubeServiceLister,
  planDefinitionRewrite,
  planRepoRewrites,
  scanContext,
  scanPaths,
  unifiedDiff,
  type FileRewrite,
  type LiveService,
  type Occurrence,
  type RepoRef,
  type ServiceLister,
} from "../../workflows/ips.js";
import { checkPoolRoutes, routeReachable, type RouteVerdict } from "../../workflows/pool-route.js";
import { ProcessRunner, type Runner } from "../../adapters/runner.js";
import { EXIT, InputError } from "../../core/errors.js";
import { NoClusterConfigured } from "../../adapters/kubeconfig.js";
import { bold, green, printFindings, printJson, red, yellow } from "../output.js";
import { failWith } from "../report-error.js";

export interface IpsCliOptions {
  kubeconfig?: string;
  context?: string;
  json?: boolean;
}

function clusterFailure(err: unknown, json?: boolean): number {
  if (err instanceof NoClusterConfigured || err instanceof InputError) return failWith("ips", err.message, err.exitCode, json);
  return failWith(
    "ips",
    `cannot list Services from the cluster: ${(err as Error).message}\n  fix: pass --kubeconfig/--context for the BeckerKube cluster (or use \`bk ips scan\`, which needs no cluster)`,
    EXIT.unavailable,
    json,
  );
}

function routeLine(v: RouteVerdict): string {
  const mark = routeReachable(v) ? green("route  ") : red("NOROUTE");
  const how = v.kind === "unreachable" ? `unreachable: ${v.error}` : v.kind === "on-link" ? `on-link dev ${v.dev}` : `${v.kind} via ${v.gateway ?? "-"} dev ${v.dev ?? "-"}`;
  return `${mark} ${v.owner.padEnd(14)} ${v.address.padEnd(15)} ${how}\n`;
}

/** `bk ips`: this host's route to the pool, then the live LoadBalancer addresses against the definition. */
export async function ipsCommand(root: string, opts: IpsCliOptions, lister?: ServiceLister, runner: Runner = new ProcessRunner()): Promise<number> {
  const { model } = loadDefinition(root);
  let l: ServiceLister;
  try {
    // A kubeconfig that is missing or wrong is the caller's to fix first, before any route is read.
    l = lister ?? (await kubeServiceLister({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) }));
  } catch (err) {
    return clusterFailure(err, opts.json);
  }
  const routes = await checkPoolRoutes(model, runner);
  if (!opts.json) for (const v of routes.verdicts) process.stdout.write(routeLine(v));
  let services: LiveService[];
  try {
    services = await l.listLoadBalancers();
  } catch (err) {
    // An unreachable pool is often why the cluster cannot be reached either: say both.
    if (!opts.json) printFindings(routes.findings);
    return clusterFailure(err, opts.json);
  }
  const live = compareLive(model, services);
  const { rows } = live;
  const findings = [...routes.findings, ...live.findings];
  const failed = findings.some((f) => f.severity === "error");
  if (opts.json) printJson({ ok: !failed, routes: routes.verdicts, endpoints: rows, findings });
  else {
    for (const r of rows) {
      const mark = r.status === "ok" ? green("ok     ") : red(r.status.padEnd(7));
      process.stdout.write(`${mark} ${r.title.padEnd(14)} ${r.service.padEnd(38)} definition ${r.expected.padEnd(15)} live ${r.actual.join(", ") || "-"}\n`);
    }
    printFindings(findings);
  }
  return failed ? EXIT.failed : EXIT.ok;
}

export interface IpsScanCliOptions {
  stale?: string[];
  json?: boolean;
}

const shown = (abs: string) => {
  const rel = path.relative(process.cwd(), abs);
  return rel.startsWith("..") ? abs : rel;
};

/** `bk ips scan <paths...>`: every platform address written in text files, and whose it is now. */
export async function ipsScanCommand(root: string, paths: string[], opts: IpsScanCliOptions): Promise<number> {
  const bad = (opts.stale ?? []).filter((s) => !isIPv4(s));
  if (bad.length) {
    return failWith("ips scan", `--stale ${bad.join(", ")}: not an IPv4 address`, EXIT.badInput, opts.json);
  }
  const { model } = loadDefinition(root);
  let found: Occurrence[];
  try {
    found = scanPaths(paths, scanContext(model, opts.stale), shown);
  } catch (err) {
    return failWith("ips scan", (err as Error).message, EXIT.badInput, opts.json);
  }
  const stale = found.filter((o) => o.status !== "current");
  if (opts.json) printJson({ ok: stale.length === 0, occurrences: found });
  else {
    for (const o of found) {
      const where = `${o.file}:${o.line}:${o.column}`;
      const addr = o.port !== undefined ? `${o.address}:${o.port}` : o.address;
      process.stdout.write(`${o.status === "current" ? green("ok   ") : red("STALE")} ${where}  ${addr}  ${o.note}\n`);
    }
    process.stdout.write(`bk ips scan: ${found.length} address occurrence(s), ${stale.length} stale${stale.length ? `; fix them with \`bk ips sync --from <old> --to <new>\`` : ""}\n`);
  }
  return stale.length ? EXIT.failed : EXIT.ok;
}

export interface IpsSyncCliOptions {
  from?: string;
  to?: string;
  yes?: boolean;
  dryRun?: boolean;
  /** Repository folders to rewrite instead of the applications' sourceRepository. */
  repos?: string[];
  /** commander's --no-definition: only the repositories. */
  definition?: boolean;
  json?: boolean;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * `bk ips sync --from OLD --to NEW`: rewrite an address in the definition and in every application
 * repository, after showing the diff and getting a yes.
 */
export async function ipsSyncCommand(root: string, opts: IpsSyncCliOptions): Promise<number> {
  const { from, to } = opts;
  if (!from || !to || !isIPv4(from) || !isIPv4(to) || from === to) {
    return failWith("ips sync", "give two different IPv4 addresses: --from <old> --to <new>", EXIT.badInput, opts.json);
  }
  const { model } = loadDefinition(root);
  let definition: FileRewrite[];
  let repos: RepoRef[];
  let plan: { rewrites: FileRewrite[]; missing: RepoRef[] };
  try {
    definition = opts.definition === false ? [] : planDefinitionRewrite(root, from, to);
    repos = opts.repos?.length ? opts.repos.map((d) => ({ app: path.basename(path.resolve(d)), dir: path.resolve(d) })) : appRepositories(model, root);
    plan = planRepoRewrites(repos, from, to);
  } catch (err) {
    if (err && typeof err === "object" && "findings" in err) throw err;
    return failWith("ips sync", (err as Error).message, EXIT.badInput, opts.json);
  }
  const rewrites = [...definition, ...plan.rewrites];
  const summary = {
    from,
    to,
    files: rewrites.map((r) => ({ file: r.file, display: r.display, replacements: r.count })),
    missingRepositories: plan.missing.map((r) => ({ app: r.app, dir: r.dir })),
  };
  for (const m of plan.missing) process.stderr.write(yellow(`bk ips sync: ${m.app}: repository ${m.dir} not found; clone it there or pass --repos <dir>...`) + "\n");
  if (!rewrites.length) {
    if (opts.json) printJson({ ...summary, written: false });
    else process.stdout.write(`bk ips sync: ${from} appears nowhere in ${opts.definition === false ? "" : "the definition or "}${repos.length} repositor${repos.length === 1 ? "y" : "ies"}; nothing to do\n`);
    return EXIT.ok;
  }
  if (!opts.json) {
    for (const r of rewrites) process.stdout.write(unifiedDiff(r));
    process.stdout.write(bold(`\n${rewrites.length} file(s), ${rewrites.reduce((n, r) => n + r.count, 0)} replacement(s) of ${from} by ${to}\n`));
  }
  if (opts.dryRun) {
    if (opts.json) printJson({ ...summary, written: false, dryRun: true, diff: rewrites.map(unifiedDiff).join("") });
    return EXIT.ok;
  }
  if (!opts.yes) {
    if (!process.stdin.isTTY) {
      return failWith("ips sync", "not a terminal, so no confirmation possible: review the diff with --dry-run, then pass --yes", EXIT.badInput, opts.json);
    }
    if (!(await confirm(`Write these ${rewrites.length} file(s)? [y/N] `))) {
      process.stderr.write("bk ips sync: nothing written\n");
      return EXIT.failed;
    }
  }
  try {
    applyRewrites(rewrites);
  } catch (err) {
    return failWith("ips sync", (err as Error).message, EXIT.failed, opts.json);
  }
  if (opts.json) printJson({ ...summary, written: true });
  else {
    process.stdout.write(green(`bk ips sync: wrote ${rewrites.length} file(s)\n`));
    const regEp = model.endpoints.find((e) => e.ip === from);
    process.stdout.write(
      [
        "next:",
        definition.length ? "  bk synth                 regenerate the tree and docs from the changed definition; commit and push" : "",
        "  commit the application repositories",
        regEp ? `  bk certs renew ${regEp.id}   the served certificate must name ${to} (incident 3); then \`bk certs\`` : "",
        regEp?.id === "registry" ? "  bk trust                 build hosts and the node trust the registry per host:port (certs.d/<ip>:<port>)" : "",
      ]
        .filter(Boolean)
        .join("\n") + "\n",
    );
  }
  return EXIT.ok;
}
