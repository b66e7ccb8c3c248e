import { docsTable } from "../../docs/tables.js";
import type { Model, ProfileModel } from "../../model/model.js";
import { findProfile } from "../../model/profiles.js";
import { failWith } from "../report-error.js";
import { kubectlAvailable } from "../../adapters/kustomize.js";
import { generate } from "../../pipeline.js";
import { diffTrees } from "../../tree/diff.js";
import { readTree } from "../../tree/files.js";
import { GENERATED_FILES, OWNED_DIRS } from "../../tree/tree.js";
import { checkGenerated } from "../../workflows/validate.js";
import { EXIT } from "../../core/errors.js";
import { fitPlatform, type FitOutcome } from "../../workflows/fit.js";
import { formatCpu, formatMemory, topConsumers, type Amount } from "../../validate/fit.js";
import { bold, dim, green, printFindings, printJson, red, summarize, yellow } from "../output.js";

export interface PlanOptions {
  json?: boolean;
  kustomize?: boolean;
  /** Chart mirror for the fit check's renders. */
  charts?: string;
  /** false: no render, no fit check (--no-fit). */
  fit?: boolean;
  /** Which profile's cluster the plan is for (definition/cluster.yaml `profiles`); default the base one. */
  profile?: string;
}

/** The plan as data: the human screen and --json are both rendered from this. */
export function planSummary(m: Model) {
  return {
    cluster: { name: m.cluster.name, profile: m.cluster.profile },
    cni: { plugin: m.cluster.profile.cni, enforcesNetworkPolicy: ["calico", "cilium"].includes(m.cluster.profile.cni) },
    flux: { repository: m.gitops.repository, branch: m.gitops.branch, interval: m.gitops.interval, path: m.gitops.path },
    routes: m.network.routes,
    services: m.endpoints.map((e) => ({ name: e.title, ip: e.ip, ports: e.ports.map((p) => p.port), namespace: e.namespace, purpose: e.purpose, caveat: e.caveat })),
    namespaces: m.namespaces.map((n) => ({ name: n.name, podSecurity: n.podSecurity, kind: n.kind, why: n.why })),
    mesh: m.mesh ? { mode: m.mesh.mode, namespaces: m.mesh.namespaces, injection: m.mesh.injection, cni: m.mesh.cni ?? null } : null,
    applications: m.apps.map((a) => ({
      name: a.name,
      namespace: a.namespace,
      components: a.components.map((c) => ({
        name: c.name,
        role: c.role,
        image: c.image.ref,
        route: c.route,
        optional: c.optional,
        talksTo: c.edges.map((e) => (e.to.kind === "component" ? e.to.id : e.to.kind === "database" ? `postgres:${e.to.name}` : `${e.to.host}:${e.to.port}`)),
        startsAfter: c.dependsOn,
      })),
    })),
    databases: m.postgres.databases.map((d) => ({ name: d.name, owner: d.owner, usedBy: d.usedBy })),
  };
}

export async function planCommand(root: string, opts: PlanOptions): Promise<number> {
  const g = generate(root);
  const { model: m, tree } = g;
  const profile = profileOrError(m, opts.profile);
  if (profile instanceof Error) return failWith("plan", profile.message, EXIT.badInput, opts.json);
  const kustomize = opts.kustomize !== false && kubectlAvailable();
  const validation = await checkGenerated(g, { kustomize });
  const diff = diffTrees(readTree(root, OWNED_DIRS, GENERATED_FILES), tree.files);
  const { errors, warnings } = summarize(validation.findings);
  const kinds = new Map<string, number>();
  for (const { object } of tree.objects) kinds.set(object.kind, (kinds.get(object.kind) ?? 0) + 1);
  const summary = planSummary(m);
  const changes = { added: diff.added, changed: diff.changed, removed: diff.removed };
  const objects = { total: tree.objects.length, files: tree.files.size, byKind: Object.fromEntries([...kinds].sort(([a], [b]) => a.localeCompare(b))) };
  const fit = await fitFor(root, g, opts, errors, profile.name);
  const failed = errors > 0 || (fit.checked && !fit.report.fits);
  if (opts.json) {
    printJson({ ...summary, profile: profileJson(profile), objects, resources: fitJson(fit), validation: { ok: errors === 0, errors, warnings, checks: validation.checks, findings: validation.findings }, changes });
    return failed ? EXIT.failed : EXIT.ok;
  }
  const out: string[] = [];
  const p = m.cluster.profile;
  out.push(bold(`BeckerKube plan: ${m.cluster.name}`));
  out.push(`  Minikube profile ${p.name}, node ${p.node}, Kubernetes ${p.kubernetesVersion}, ${p.cpus} CPUs, ${p.memory} memory`);
  out.push(...profileLines(profile, p));
  out.push(`  CNI ${p.cni}: ${summary.cni.enforcesNetworkPolicy ? "enforces NetworkPolicy" : red("does NOT enforce NetworkPolicy")}`);
  out.push(`  Node network ${m.network.node.network} ${m.network.node.subnet} (${p.driver}): node ${m.network.node.ip}, gateway ${m.network.node.gateway}`);
  out.push(`  Flux: ${m.gitops.repository}@${m.gitops.branch} every ${m.gitops.interval} -> ${profile.path}`);
  out.push(`  Routes: ${m.network.routes === "gateway-api" ? "Gateway API HTTPRoutes on the Istio gateway" : "Ingress objects on ingress-nginx"}`);
  out.push("", bold(`Services (MetalLB pool ${m.network.loadBalancerPool.start}-${m.network.loadBalancerPool.end})`));
  out.push(
    docsTable(
      ["Service", "IP", "Ports", "Namespace", "Purpose"],
      summary.services.map((s) => [s.name, s.ip, s.ports.join(","), s.namespace, s.purpose]),
      "  ",
    ),
  );
  for (const s of summary.services.filter((x) => x.caveat)) out.push(yellow(`  ! ${s.name}: ${s.caveat}`));
  out.push("", bold("Namespaces"));
  const restricted = m.namespaces.filter((n) => n.podSecurity === "restricted").map((n) => n.name);
  out.push(`  restricted: ${restricted.join(", ")}`);
  for (const n of m.namespaces.filter((x) => x.podSecurity !== "restricted")) out.push(yellow(`  ${n.podSecurity}: ${n.name}`) + dim(` (${n.why})`));
  const mesh = meshLine(m);
  if (mesh) out.push(mesh);
  out.push("", ...applicationLines(summary.applications));
  out.push("", bold("Databases"));
  for (const d of summary.databases) out.push(`  ${d.name.padEnd(14)} owner ${d.owner.padEnd(14)} used by ${d.usedBy.join(", ") || "-"}`);
  out.push("", bold("Objects"));
  out.push(
    `  ${objects.total} objects in ${objects.files} files: ${Object.entries(objects.byKind)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ")}`,
  );
  out.push("", ...fitLines(fit, p, profile.nodes));
  out.push("", bold("Validation") + dim(` (${validation.checks.join(", ")}${kustomize ? "" : "; kustomize build skipped: kubectl not found"})`));
  const notSealed = validation.findings.filter((f) => f.rule === "secrets/not-sealed");
  if (errors === 0) out.push(green(`  ok: no errors`) + (warnings ? yellow(`, ${warnings} warning(s)`) : ""));
  else out.push(red(`  ${errors} error(s)`) + `, ${warnings} warning(s)`);
  if (notSealed.length) out.push(yellow(`  ${notSealed.length} declared secret(s) not sealed yet: run \`bk secrets seal --all\` before bootstrapping`));
  out.push("", bold("Changes against the committed tree"));
  if (!diff.added.length && !diff.changed.length && !diff.removed.length) out.push("  none");
  for (const f of diff.added) out.push(green(`  + ${f}`));
  for (const f of diff.changed) out.push(yellow(`  ~ ${f}`));
  for (const f of diff.removed) out.push(red(`  - ${f}`));
  process.stdout.write(out.join("\n") + "\n");
  const shown = validation.findings.filter((f) => f.severity === "error" || f.rule !== "secrets/not-sealed");
  if (shown.length) printFindings(shown);
  if (fit.checked && !fit.report.fits)
    process.stderr.write(
      `${red(`bk plan: the platform does not fit ${profile.nodes > 1 ? `the ${profile.nodes} nodes of profile ${profile.name}` : "the node"}`)}\n${fit.report.problems.map((x) => `  - ${x}`).join("\n")}\n`,
    );
  return failed ? EXIT.failed : EXIT.ok;
}

function applicationLines(apps: ReturnType<typeof planSummary>["applications"]): string[] {
  const out = [bold("Applications")];
  for (const a of apps) {
    out.push(`  ${a.name} (namespace ${a.namespace})`);
    for (const c of a.components) {
      const extra = [c.route && `route ${c.route}`, c.startsAfter.length && `starts after ${c.startsAfter.join(", ")}`, c.optional && "optional"].filter(Boolean).join("; ");
      out.push(`    ${c.name.padEnd(15)} ${c.image}${extra ? dim("  " + extra) : ""}`);
      if (c.talksTo.length) out.push(dim(`    ${"".padEnd(15)} -> ${c.talksTo.join(", ")}`));
    }
  }
  return out;
}

/** The fit check as --json has it: amounts in millicores and bytes (a missing limit is null: unbounded). */
function fitJson(fit: FitOutcome) {
  if (!fit.checked) return { checked: false, reason: fit.reason };
  const r = fit.report;
  const n = (v: number) => (Number.isFinite(v) ? v : null);
  const amount = (a: Amount) => ({ cpuMillis: n(a.cpu), memoryBytes: n(a.memory) });
  return {
    checked: true,
    fits: r.fits,
    problems: r.problems,
    chartsFrom: fit.chartsFrom,
    capacity: amount(r.capacity),
    reserve: amount(r.reserve),
    allocatable: amount(r.allocatable),
    requests: amount(r.requests),
    limits: amount(r.limits),
    headroom: { needed: amount(r.headroom.needed), neededBy: r.headroom.neededBy },
    bestEffort: r.bestEffort,
    workloads: r.workloads.map((w) => ({ ref: w.ref, kind: w.kind, replicas: w.replicas, transient: w.transient, surge: w.surge, requests: amount(w.requests), limits: amount(w.limits), bestEffort: w.bestEffort })),
  };
}

const TOP = 8;

function profileOrError(m: Model, name: string | undefined): ProfileModel | Error {
  try {
    return findProfile(m, name);
  } catch (err) {
    return err as Error;
  }
}

function fitFor(root: string, g: Parameters<typeof fitPlatform>[1], opts: PlanOptions, errors: number, profile: string): Promise<FitOutcome> {
  if (opts.fit === false) return Promise.resolve({ checked: false, reason: "skipped (--no-fit)" });
  if (errors) return Promise.resolve({ checked: false, reason: "skipped: the tree has validation errors" });
  return fitPlatform(root, g, { ...(opts.charts ? { charts: opts.charts } : {}), profile });
}

/** Which profile the plan is for, and what it changes (an ha one). */
function profileLines(profile: ProfileModel, p: Model["cluster"]["profile"]): string[] {
  const out = [`  Profile ${profile.name} (${profile.kind}): ${profile.nodes} node(s)${profile.nodes > 1 ? ", each" : ""} of ${p.cpus} CPUs and ${p.memory}; Flux entry point ${profile.path}`];
  const accepted = Object.keys(profile.accepted);
  if (profile.kind === "ha")
    out.push(
      dim(
        `    stateless components x${profile.replicas} with a budget and a spread over nodes; PostgreSQL ${profile.postgres.instances} instances, ${profile.postgres.synchronous} synchronous; ${accepted.length} accepted single point(s): ${accepted.join(", ")}`,
      ),
    );
  return out;
}

function profileJson(p: ProfileModel) {
  return { name: p.name, kind: p.kind, nodes: p.nodes, path: p.path, replicas: p.replicas, postgres: p.postgres, accepted: p.accepted };
}

/** Requests and limits against the node, and the largest consumers. */
function fitLines(fit: FitOutcome, p: Model["cluster"]["profile"], nodes: number): string[] {
  const each = nodes > 1 ? `${nodes} nodes, each ` : "";
  const out = [bold("Resources") + dim(` (${each}${p.cpus} CPUs, ${p.memory} memory, less ${p.reserved.cpu} CPU and ${p.reserved.memory} reserved)`)];
  if (!fit.checked) return [...out, yellow(`  not checked: ${fit.reason}`)];
  const r = fit.report;
  const steady = r.workloads.filter((w) => !w.transient);
  const pct = (a: number, b: number) => (b > 0 ? `${Math.round((a / b) * 100)}%` : "-");
  out.push(
    docsTable(
      ["", "CPU", "memory"],
      [
        ["allocatable", formatCpu(r.allocatable.cpu), formatMemory(r.allocatable.memory)],
        [`requests (${steady.length} workloads)`, `${formatCpu(r.requests.cpu)} (${pct(r.requests.cpu, r.allocatable.cpu)})`, `${formatMemory(r.requests.memory)} (${pct(r.requests.memory, r.allocatable.memory)})`],
        ["limits", `${formatCpu(r.limits.cpu)} (${pct(r.limits.cpu, r.allocatable.cpu)})`, `${formatMemory(r.limits.memory)} (${pct(r.limits.memory, r.allocatable.memory)})`],
        ["free for an update", formatCpu(r.allocatable.cpu - r.requests.cpu), formatMemory(r.allocatable.memory - r.requests.memory)],
        ["largest update needs", formatCpu(r.headroom.needed.cpu), formatMemory(r.headroom.needed.memory)],
      ],
      "  ",
    ),
  );
  const by = r.headroom.neededBy;
  out.push(dim(`  (the largest update: ${by.cpu === by.memory ? by.cpu : `CPU: ${by.cpu || "-"}; memory: ${by.memory || "-"}`})`));
  out.push(dim(`  largest consumers by memory requested (rendered from ${fit.chartsFrom}):`));
  out.push(
    docsTable(
      ["Workload", "Pods", "CPU req/limit", "Memory req/limit"],
      topConsumers(steady, "memory", TOP).map((w) => [w.ref, String(w.replicas), `${formatCpu(w.requests.cpu)} / ${formatCpu(w.limits.cpu)}`, `${formatMemory(w.requests.memory)} / ${formatMemory(w.limits.memory)}`]),
      "  ",
    ),
  );
  if (r.fits) out.push(green("  fits, with room for the largest rolling update"));
  // Limits may overcommit (requests are what the scheduler guarantees); memory over the node is worth knowing.
  if (r.limits.memory > r.allocatable.memory)
    out.push(yellow(`  memory limits add up to ${pct(r.limits.memory, r.allocatable.memory)} of what the node offers: if every workload used its limit at once, the kernel would kill containers for memory`));
  for (const problem of r.problems) out.push(red(`  ${problem}`));
  return out;
}

/** The mesh's namespaces and whether its sidecars run, for the Namespaces block. */
function meshLine(m: Model): string | undefined {
  if (!m.mesh) return undefined;
  const how = m.mesh.injection ? `sidecars injected, CNI agent in ${m.mesh.cni!.namespace}` : "policies only: no CNI agent pinned (mesh.cni.chart: none), so no sidecar is injected";
  return `  mesh (${m.mesh.mode}, mTLS STRICT, deny by default): ${m.mesh.namespaces.join(", ")}` + dim(` (${how})`);
}
