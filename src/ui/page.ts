/**
 * The one page of `bk ui`, rendered on the server from a snapshot: complete without its script, which only
 * applies live changes and runs the actions. Landmarks, headings, table headers and a live region make it
 * usable with a screen reader; every state is a word and a glyph as well as a colour.
 */
import type { UiSnapshot } from "../workflows/ui-snapshot.js";
import { esc } from "./html.js";
import { componentShown, fluxShown, GLYPH, type Shown } from "./state.js";
import { topologySvg } from "./topology.js";

export interface PageOptions {
  /** Actions are offered (false with --read-only). */
  actions: boolean;
  /** The live parts are still being read (first load). */
  pending: boolean;
}

const badge = (s: Shown) => `<span class="badge tone-${s.tone}"><span aria-hidden="true">${GLYPH[s.tone]}</span> ${esc(s.label)}</span>`;

function section(id: string, title: string, body: string, live = false): string {
  return `<section id="${id}" aria-labelledby="${id}-h"${live ? ' data-live-section=""' : ""}>\n<h2 id="${id}-h">${esc(title)}</h2>\n${body}\n</section>`;
}

function actionButtons(name: string, suspended: boolean | undefined, on: boolean): string {
  if (!on) return "";
  const b = (action: string, text: string) => `<button type="button" data-action="${action}" data-name="${esc(name)}" aria-label="${esc(`${text} ${name}`)}">${text}</button>`;
  return `<div class="actions">${b("reconcile", "Reconcile")}${suspended ? b("resume", "Resume") : b("suspend", "Suspend")}</div>`;
}

function connectionBanner(s: UiSnapshot, pending: boolean): string {
  const c = s.connection;
  if (pending) return `<p id="connection" class="banner tone-unknown" data-connected="pending"><span aria-hidden="true">…</span> Reading the cluster…</p>`;
  if (c.connected) return `<p id="connection" class="banner tone-ok" data-connected="true"><span aria-hidden="true">✓</span> Connected to ${esc(c.server)} (context ${esc(c.context)}); live updates on.</p>`;
  return `<p id="connection" class="banner tone-fail" data-connected="false"><span aria-hidden="true">✗</span> <strong>Not connected</strong> to a cluster: ${esc(c.reason ?? "unknown reason")}. The page shows the definition only; nothing live.</p>`;
}

function componentsTable(s: UiSnapshot, o: PageOptions): string {
  const rows = s.definition.applications.flatMap((a) =>
    a.components.map((c) => {
      const st = s.components.find((x) => x.id === c.id);
      const shown: Shown = st ? componentShown(st) : { tone: "unknown", label: "Unknown", detail: "" };
      const running = st?.running?.length ? st.running.join(", ") : st?.version === "scaled-to-zero" ? "scaled to zero" : st?.version === "unknown" || !st ? "—" : "no Deployment";
      const health = st?.health
        ? `<span class="tone-${st.health.ok ? "ok" : "fail"}"><span aria-hidden="true">${st.health.ok ? GLYPH.ok : GLYPH.fail}</span> ${esc(st.health.status)}</span> <code>${esc(st.health.url)}</code>`
        : c.health
          ? `<code>${esc(c.health)}</code> (not checked)`
          : "—";
      return `<tr data-component="${esc(c.id)}" data-flux="HelmRelease/${esc(c.namespace)}/${esc(c.fullname)}" data-state="${shown.tone}">
<th scope="row">${esc(c.id)}</th><td>${esc(c.namespace)}</td><td><code>${esc(c.image)}</code></td><td data-field="running"${st?.version === "differs" ? ' class="tone-warn"' : ""}>${esc(running)}</td>
<td data-field="ready">${badge(shown)}<div class="detail" data-field="detail">${esc(shown.detail)}</div></td><td data-field="event">${esc(st?.lastEvent ?? "—")}</td><td>${health}</td>
<td>${actionButtons(c.id, st?.suspended, o.actions && s.connection.connected)}</td></tr>`;
    }),
  );
  return `<table class="components"><caption>Every component of the definition: its version in the tree and running, its HelmRelease's readiness and newest event, its health URL</caption>
<thead><tr><th scope="col">Component</th><th scope="col">Namespace</th><th scope="col">Tree version</th><th scope="col">Running</th><th scope="col">Ready</th><th scope="col">Last Flux event</th><th scope="col">Health URL</th><th scope="col">Actions</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>`;
}

function fluxTable(s: UiSnapshot, o: PageOptions): string {
  if (!s.connection.connected) return "<p>Not connected: no Flux objects to show.</p>";
  const name = (f: UiSnapshot["flux"][number]) => (f.kind === "Kustomization" ? `kustomization/${f.name}` : f.kind === "HelmRelease" ? `${f.namespace}/${f.name}` : `source/${f.name}`);
  const rows = s.flux.map((f) => {
    const shown = fluxShown(f);
    // HelmRepositories of type oci carry no status; acting on them does nothing useful.
    const act = o.actions && !f.static && f.kind !== "HelmRepository";
    return `<tr data-flux="${esc(`${f.kind}/${f.namespace}/${f.name}`)}" data-state="${shown.tone}"><th scope="row">${esc(`${f.kind} ${f.namespace}/${f.name}`)}</th><td data-field="ready">${badge(shown)}<div class="detail" data-field="detail">${esc(shown.detail)}</div></td><td><code>${esc(f.revision ?? "—")}</code></td><td>${act ? actionButtons(name(f), f.suspended, true) : ""}</td></tr>`;
  });
  return `<table class="flux"><caption>Flux objects in the cluster, kept current by a watch</caption><thead><tr><th scope="col">Object</th><th scope="col">Ready</th><th scope="col">Revision</th><th scope="col">Actions</th></tr></thead><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

function loadBalancers(s: UiSnapshot): string {
  const rows = s.definition.loadBalancers.map(
    (l) => `<tr><th scope="row">${esc(l.title)}</th><td><code>${esc(l.ip)}</code></td><td>${esc(l.ports.join(", "))}</td><td>${esc(`${l.namespace}/${l.service}`)}</td><td>${esc(l.hostnames.join(", ") || "—")}</td></tr>`,
  );
  return `<table><caption>LoadBalancer addresses the definition pins</caption><thead><tr><th scope="col">Service</th><th scope="col">Address</th><th scope="col">Ports</th><th scope="col">Namespace/Service</th><th scope="col">Host names</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function certificates(s: UiSnapshot, pending: boolean): string {
  if (pending) return "<p>Reading the served certificates…</p>";
  const rows = s.certificates.certificates.map((c) => {
    const tone = c.status === "ok" ? "ok" : c.status === "warning" ? "warn" : "fail";
    return `<tr data-state="${tone}"><th scope="row">${esc(c.certificate)}</th><td><code>${esc(c.target)}</code></td><td>${esc(c.served?.notAfter ?? "—")}</td><td>${esc(c.daysLeft ?? "—")}</td><td>${badge({ tone, label: c.status, detail: "" })}</td><td>${esc(c.findings.map((f) => f.message).join("; ") || "—")}</td></tr>`;
  });
  return `<table><caption>The certificate each TLS endpoint serves (as <code>bk certs</code>)</caption><thead><tr><th scope="col">Certificate</th><th scope="col">Endpoint</th><th scope="col">Expires</th><th scope="col">Days left</th><th scope="col">Status</th><th scope="col">Findings</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function backups(s: UiSnapshot, pending: boolean): string {
  if (pending) return "<p>Reading the backups…</p>";
  if (!s.connection.connected) return "<p>Not connected: the newest backups are read from the cluster (the dump CronJob and the volumes' ReplicationSources).</p>";
  if (!s.backups.length) return "<p>The definition declares no backups the cluster reports on.</p>";
  const rows = s.backups.map((b) => `<tr data-state="${b.health}"><th scope="row">${esc(b.subject)}</th><td>${badge({ tone: b.health, label: b.health, detail: "" })}</td><td>${esc(b.detail)}</td></tr>`);
  return `<table><caption>Newest backups</caption><thead><tr><th scope="col">Backup</th><th scope="col">Status</th><th scope="col">Detail</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function reachability(s: UiSnapshot): string {
  const n = s.netpol;
  // Only the endpoints some path leaves from (rows) or arrives at (columns): the rest would be empty lines.
  const rowsIds = n.endpoints.map((e) => e.id).filter((id) => n.open.some((c) => c.from === id));
  const colIds = n.endpoints.map((e) => e.id).filter((id) => n.open.some((c) => c.to === id));
  const open = new Map(n.open.map((c) => [`${c.from}\u0000${c.to}`, c.ports]));
  const head = colIds.map((id) => `<th scope="col"><span class="vertical">${esc(id)}</span></th>`).join("");
  const rows = rowsIds.map((from) => {
    const cells = colIds.map((to) => {
      const ports = open.get(`${from}\u0000${to}`);
      return ports?.length ? `<td class="open">${esc(ports.map((p) => `${p.port}/${p.protocol}`).join(" "))}</td>` : "<td>–</td>";
    });
    return `<tr><th scope="row">${esc(from)}</th>${cells.join("")}</tr>`;
  });
  const list = (title: string, items: string[]) => (items.length ? `<h3>${esc(title)}</h3><ul>${items.map((i) => `<li>${esc(i)}</li>`).join("")}</ul>` : "");
  return `<p class="tone-${n.ok ? "ok" : "fail"}"><span aria-hidden="true">${n.ok ? GLYPH.ok : GLYPH.fail}</span> ${n.ok ? "Every declared path is open and nothing undeclared to or from an application pod is." : "The policies and the declared edges disagree (below)."} ${n.policies} NetworkPolicies; ${n.required.filter((r) => r.allowed).length} of ${n.required.length} declared paths open.</p>
${list(
  "Declared but blocked",
  n.blocked.map((b) => `${b.from} → ${b.to}: ${b.reason}`),
)}
${list(
  "Open but not declared",
  n.undeclared.map((u) => `${u.from} → ${u.to} ${u.port}/${u.protocol}`),
)}
<div class="scroll"><table class="matrix"><caption>Who can reach whom under the generated NetworkPolicies (rows: from, columns: to; a cell lists the open ports, – is no path), as <code>bk netpol</code>; endpoints nothing reaches or leaves from are left out</caption><thead><tr><th scope="col">from \\ to</th>${head}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

function changes(s: UiSnapshot): string {
  const c = s.changes;
  const total = c.added.length + c.changed.length + c.removed.length;
  if (!total) return `<p class="tone-ok"><span aria-hidden="true">${GLYPH.ok}</span> None: the tree on disk is what the definition generates.</p>`;
  const list = (title: string, files: string[]) => (files.length ? `<h3>${esc(title)} (${files.length})</h3><ul>${files.map((f) => `<li><code>${esc(f)}</code></li>`).join("")}</ul>` : "");
  return `<p class="tone-warn"><span aria-hidden="true">${GLYPH.warn}</span> ${total} file(s) differ from the committed tree: run <code>bk synth</code> and commit.</p>${list("Added", c.added)}${list("Changed", c.changed)}${list("Removed", c.removed)}<details><summary>The diff</summary><pre>${esc(s.patch)}</pre></details>`;
}

export function renderPage(s: UiSnapshot, o: PageOptions): string {
  const comps = s.definition.applications.reduce((n, a) => n + a.components.length, 0);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bk ui: ${esc(s.definition.cluster)}</title>
<link rel="stylesheet" href="/static/ui.css">
<script src="/static/ui.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the content</a>
<header>
<h1>BeckerKube: ${esc(s.definition.cluster)}</h1>
<div id="live-state" data-live-section="">${connectionBanner(s, o.pending)}<p class="generated">Read at <time datetime="${esc(s.generatedAt)}">${esc(s.generatedAt)}</time>; ${s.definition.applications.length} applications, ${comps} components.</p></div>
</header>
<nav aria-label="Sections"><ul><li><a href="#topology">Topology</a></li><li><a href="#components">Components</a></li><li><a href="#flux">Flux</a></li><li><a href="#certificates">Certificates</a></li><li><a href="#backups">Backups</a></li><li><a href="#reachability">Reachability</a></li><li><a href="#changes">Pending changes</a></li></ul></nav>
<main id="main">
<section id="activity-log" aria-labelledby="activity-h"><h2 id="activity-h">Activity</h2><ol id="activity" aria-live="polite" aria-relevant="additions"></ol></section>
${section("topology", "Topology", `<div class="scroll">${topologySvg(s.definition)}</div>\n${loadBalancers(s)}`)}
${section("components", "Components", componentsTable(s, o), true)}
${section("flux", "Flux objects", o.pending ? "<p>Reading the cluster…</p>" : fluxTable(s, o), true)}
${section("certificates", "Certificates", certificates(s, o.pending), true)}
${section("backups", "Newest backups", backups(s, o.pending), true)}
${section("reachability", "Reachability (NetworkPolicies)", reachability(s))}
${section("changes", "Pending changes", changes(s), true)}
</main>
<footer><p>bk ui serves this page from the definition in this repository and the cluster of the kubeconfig; actions ask for confirmation.</p></footer>
</body>
</html>
`;
}
