/**
 * The topology picture: namespaces holding applications, components, databases and LoadBalancer addresses,
 * with the definition's declared edges and the routes from the ingress (or gateway). dagre lays it out here on
 * the server, so the page ships a finished SVG and needs no script to show it.
 */
import dagre from "@dagrejs/dagre";
import type { UiDefinition } from "../workflows/ui-snapshot.js";
import { esc } from "./html.js";

interface NodeInfo {
  kind: "namespace" | "application" | "component" | "loadbalancer" | "database" | "external";
  lines: string[];
  component?: string;
}

const CHAR_W = 7.2;
const LINE_H = 16;
const PAD = 10;

const nodeSize = (lines: string[]) => ({ width: Math.max(...lines.map((l) => l.length)) * CHAR_W + 2 * PAD + 14, height: lines.length * LINE_H + 2 * PAD });

/** SVG of the definition's topology; component nodes carry data-component so the page can mark their state. */
export function topologySvg(d: UiDefinition): string {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 70, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const info = new Map<string, NodeInfo>();
  const add = (id: string, i: NodeInfo, parent?: string) => {
    info.set(id, i);
    g.setNode(id, i.kind === "namespace" || i.kind === "application" ? { label: i.lines[0], paddingTop: 24, ...nodeSize(i.lines) } : { label: i.lines.join("\n"), ...nodeSize(i.lines) });
    if (parent) g.setParent(id, parent);
  };
  const namespace = (name: string) => {
    const id = `ns:${name}`;
    if (!info.has(id)) add(id, { kind: "namespace", lines: [`namespace ${name}`] });
    return id;
  };
  for (const lb of d.loadBalancers) add(`lb:${lb.id}`, { kind: "loadbalancer", lines: [lb.title, `${lb.ip}:${lb.ports.join(",")}`] }, namespace(lb.namespace));
  for (const a of d.applications) {
    const appId = `app:${a.name}`;
    add(appId, { kind: "application", lines: [`application ${a.name}`] }, namespace(a.namespace));
    for (const c of a.components) add(`c:${c.id}`, { kind: "component", lines: [c.name, c.role], component: c.id }, c.namespace === a.namespace ? appId : namespace(c.namespace));
  }
  for (const db of d.databases) add(`db:${db.name}`, { kind: "database", lines: [`database ${db.name}`, "PostgreSQL"] }, namespace(db.namespace));
  const edges: Array<{ from: string; to: string; kind: string; label?: string }> = [];
  for (const e of d.edges) {
    const to = e.kind === "component" ? `c:${e.to}` : e.kind === "database" ? `db:${e.to.replace(/^postgres:/, "")}` : `ext:${e.to}`;
    if (e.kind === "external" && !info.has(to)) add(to, { kind: "external", lines: [e.to, "outside"] });
    if (info.has(`c:${e.from}`) && info.has(to)) edges.push({ from: `c:${e.from}`, to, kind: e.kind });
  }
  if (d.entry && info.has(`lb:${d.entry}`)) {
    for (const c of d.applications.flatMap((a) => a.components).filter((x) => x.route)) edges.push({ from: `lb:${d.entry}`, to: `c:${c.id}`, kind: "route", label: c.route! });
  }
  for (const [i, e] of edges.entries()) g.setEdge(e.from, e.to, {}, `e${i}`);
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph();
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="topology" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" width="${Math.ceil(width)}" height="${Math.ceil(height)}" role="img" aria-labelledby="topology-title topology-desc">`,
    `<title id="topology-title">Topology of ${esc(d.cluster)}</title>`,
    `<desc id="topology-desc">${esc(`${d.loadBalancers.length} LoadBalancer addresses, ${d.applications.length} applications with ${d.applications.reduce((n, a) => n + a.components.length, 0)} components, ${d.databases.length} databases and ${edges.length} declared edges and routes. The tables below list the same.`)}</desc>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
  );
  // Clusters first (outer before inner), so nodes and edges are drawn over them.
  const depth = (id: string): number => {
    const p = g.parent(id);
    return p ? 1 + depth(p as string) : 0;
  };
  const clusters = [...info.entries()].filter(([, i]) => i.kind === "namespace" || i.kind === "application").sort(([a], [b]) => depth(a) - depth(b));
  for (const [id, i] of clusters) {
    const n = g.node(id);
    // An application without components is a leaf to dagre: it still gets the size given above.
    if (!n || n.width === undefined) continue;
    const x = n.x - n.width / 2;
    const y = n.y - n.height / 2;
    out.push(
      `<g class="cluster ${i.kind}"><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${n.width.toFixed(1)}" height="${n.height.toFixed(1)}" rx="6"/><text x="${(x + 8).toFixed(1)}" y="${(y + 15).toFixed(1)}">${esc(i.lines[0])}</text></g>`,
    );
  }
  for (const e of g.edges()) {
    const pts: Array<{ x: number; y: number }> = g.edge(e).points ?? [];
    const meta = edges[Number(e.name?.slice(1))];
    const path = pts.map((p, k: number) => `${k ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    out.push(
      `<path class="edge ${meta?.kind ?? ""}" d="${path}" marker-end="url(#arrow)"><title>${esc(`${e.v.replace(/^\w+:/, "")} → ${e.w.replace(/^\w+:/, "")}${meta?.label ? ` (route ${meta.label})` : ""}`)}</title></path>`,
    );
  }
  for (const [id, i] of info) {
    if (i.kind === "namespace" || i.kind === "application") continue;
    const n = g.node(id);
    const x = n.x - n.width / 2;
    const y = n.y - n.height / 2;
    const attrs = i.component ? ` data-component="${esc(i.component)}" data-state="unknown"` : "";
    out.push(`<g class="node ${i.kind}"${attrs}><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${n.width.toFixed(1)}" height="${n.height.toFixed(1)}" rx="4"/>`);
    for (const [k, l] of i.lines.entries()) out.push(`<text x="${(x + PAD).toFixed(1)}" y="${(y + PAD + 12 + k * LINE_H).toFixed(1)}"${k ? ' class="sub"' : ""}>${esc(l)}</text>`);
    if (i.component) out.push(`<text class="glyph" x="${(x + n.width - PAD - 6).toFixed(1)}" y="${(y + PAD + 12).toFixed(1)}" aria-hidden="true">?</text>`);
    out.push("</g>");
  }
  out.push("</svg>");
  return out.join("\n");
}
