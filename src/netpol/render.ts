/**
 * `bk netpol` for people: one reachability matrix per application (rows = sources, columns =
 * destinations, cells = open ports), the infrastructure paths as a list, the host caveat of
 * external edges, and every failure.
 */
import { formatPort, type EndpointReport, type NetpolReport, type PortProtocol } from "./analyze.js";
import type { MeshLayerReport } from "./mesh.js";

export interface RenderStyle {
  bold: (s: string) => string;
  red: (s: string) => string;
  green: (s: string) => string;
  yellow: (s: string) => string;
  dim: (s: string) => string;
}

const plain: RenderStyle = { bold: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s, dim: (s) => s };

/** 8000 for TCP, 53/udp, 53/tcp+udp when both. */
export function compactPorts(ports: readonly PortProtocol[]): string {
  const by = new Map<number, Set<string>>();
  for (const p of ports) by.set(p.port, (by.get(p.port) ?? new Set()).add(p.protocol));
  return [...by.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, protos]) => (protos.size > 1 ? `${port}/tcp+udp` : protos.has("UDP") ? `${port}/udp` : String(port)))
    .join(",");
}

function shortName(e: EndpointReport): string {
  if (e.group.kind === "app") return e.id.slice(e.group.app.length + 1);
  if (e.kind === "pod") return e.id.slice((e.namespace ?? "").length + 1);
  return e.id;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function renderReport(r: NetpolReport, style: RenderStyle = plain): string {
  const out: string[] = [];
  const byId = new Map(r.endpoints.map((e) => [e.id, e]));
  const cell = new Map(r.open.map((c) => [`${c.from}>${c.to}`, c.ports]));
  const apps = [...new Set(r.endpoints.flatMap((e) => (e.group.kind === "app" ? [e.group.app] : [])))];

  out.push(style.bold(`Reachability computed from ${r.policies} NetworkPolicies (rows: sources, columns: destinations, cells: open ports; - closed)`));
  for (const app of apps) {
    const own = r.endpoints.filter((e) => e.group.kind === "app" && e.group.app === app);
    const ownIds = new Set(own.map((e) => e.id));
    const rowIds = new Set(own.map((e) => e.id));
    const colIds = new Set(own.filter((e) => e.ports.length).map((e) => e.id));
    for (const c of r.open) {
      if (ownIds.has(c.to)) rowIds.add(c.from);
      if (ownIds.has(c.from)) colIds.add(c.to);
    }
    const ordered = (ids: Set<string>) => r.endpoints.filter((e) => ids.has(e.id));
    const rows = ordered(rowIds);
    const cols = ordered(colIds);
    const ns = own[0]?.namespace;
    out.push("", style.bold(`${app}${ns ? ` (namespace ${ns})` : ""}`));
    const body = rows.map((s) => [
      s.id,
      ...cols.map((d) => {
        if (s.id === d.id) return "·";
        if (!ownIds.has(s.id) && !ownIds.has(d.id)) return "";
        const ports = cell.get(`${s.id}>${d.id}`);
        return ports ? compactPorts(ports) : "-";
      }),
    ]);
    out.push(...table(["from \\ to", ...cols.map(shortName)], body).map((l) => "  " + l));
  }

  out.push("", style.bold("Infrastructure paths (not involving application pods)"));
  for (const s of r.endpoints.filter((e) => e.group.kind !== "app")) {
    const dests = r.open.filter((c) => c.from === s.id && byId.get(c.to)?.group.kind !== "app");
    if (!dests.length) continue;
    out.push(`  ${s.id} -> ${dests.map((c) => `${c.to} ${compactPorts(c.ports)}`).join("; ")}`);
  }

  if (r.externalCaveats.length) {
    out.push("", style.bold("External hosts") + style.dim(" (NetworkPolicy cannot name hosts: each is allowed as any public address on its port, private ranges excluded)"));
    for (const x of r.externalCaveats) out.push(`  ${x.component}: ${x.hosts.join(", ")} ${style.dim(`-> 0.0.0.0/0 on ${x.ports.join(", ")}/TCP`)}`);
  }
  if (r.withoutDefaultDeny.length) out.push("", style.yellow(`Namespaces without a default-deny policy: ${r.withoutDefaultDeny.join(", ")}`));
  for (const p of r.problems) out.push(style.yellow(`warning: ${p}`));

  const okRequired = r.required.filter((p) => p.allowed).length;
  out.push("");
  if (r.blocked.length) {
    out.push(style.red(style.bold(`Blocked paths the definition needs (${r.blocked.length})`)));
    for (const b of r.blocked) out.push(style.red(`  ${b.from} -> ${b.to} ${formatPort(b)}`) + style.dim(`  (${b.why}) ${b.reason}`));
  }
  if (r.undeclared.length) {
    out.push(style.red(style.bold(`Open paths nobody declared (${r.undeclared.length})`)));
    for (const u of r.undeclared) out.push(style.red(`  ${u.from} -> ${u.to} ${formatPort(u)}`) + style.dim(`  egress: ${u.egress}; ingress: ${u.ingress}`));
  }
  if (r.mesh) out.push(...renderMesh(r.mesh, style));
  const summary = `bk netpol: ${r.policies} policies, ${r.endpoints.length} endpoints; ${okRequired}/${r.required.length} required paths open, ${r.blocked.length} blocked, ${r.undeclared.length} undeclared open${r.mesh ? `; mesh: ${r.mesh.authorizationPolicies} AuthorizationPolicies, ${r.mesh.blocked.length} blocked, ${r.mesh.disagreements.length} disagreements between the layers` : ""}`;
  out.push(r.ok ? style.green(summary) : style.red(summary));
  return out.join("\n") + "\n";
}

/** The mesh layer: per namespace, the paths only the mesh decides differently, and what each layer says. */
function renderMesh(m: MeshLayerReport, style: RenderStyle): string[] {
  const out: string[] = ["", style.bold(`Mesh layer: ${m.authorizationPolicies} AuthorizationPolicies, ${m.peerAuthentications} PeerAuthentications`)];
  for (const n of m.namespaces) {
    const flags = [`mTLS ${n.mtls}`, n.defaultDeny ? "default deny" : style.red("no default deny"), n.injection ? "sidecars injected" : style.yellow("not injected (no CNI agent): policies inert")];
    out.push(`  ${n.namespace}: ${flags.join(", ")}`);
  }
  const open = m.required.filter((x) => x.allowed).length;
  out.push(style.dim(`  ${open}/${m.required.length} required paths into the mesh allowed`));
  if (m.unauthenticated.length) {
    out.push(style.bold("  Open to callers without a mesh identity") + style.dim(" (NetworkPolicy is the gate: it admits only the clients listed)"));
    for (const c of m.unauthenticated)
      out.push(`    ${c.to}:${c.port}${c.paths ? ` ${c.paths.join(" ")}` : ""}${c.methods ? ` (${c.methods.join(",")})` : ""} ${style.dim(`<- ${c.networkPolicyAdmits.join(", ") || "nobody"}`)}`);
  }
  for (const p of m.problems) out.push(style.yellow(`  warning: ${p}`));
  if (m.blocked.length) {
    out.push(style.red(style.bold(`  Required paths the mesh denies (${m.blocked.length})`)));
    for (const b of m.blocked) out.push(style.red(`    ${b.from} -> ${b.to} ${formatPort(b)}`) + style.dim(`  (${b.why}) ${b.reason}`));
  }
  if (m.disagreements.length) {
    out.push(style.red(style.bold(`  The layers disagree (${m.disagreements.length})`)));
    for (const d of m.disagreements)
      out.push(style.red(`    ${d.from} -> ${d.to} ${d.port}/${d.protocol}: NetworkPolicy ${d.networkPolicy}, mesh ${d.mesh}`) + style.dim(`  (NetworkPolicy: ${d.networkPolicyWhy}; mesh: ${d.meshWhy})`));
  }
  return out;
}
