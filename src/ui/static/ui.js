// bk ui's page script, served as it is (no build step). The page is complete without it: this applies the
// changes the server pushes (Server-Sent Events) and runs the actions after a confirmation.
"use strict";

(() => {
  const GLYPH = { ok: "✓", warn: "!", fail: "✗", unknown: "?" };
  const activity = document.getElementById("activity");

  function announce(text) {
    if (!activity) return;
    const li = document.createElement("li");
    const t = document.createElement("time");
    const now = new Date();
    t.dateTime = now.toISOString();
    t.textContent = now.toLocaleTimeString();
    li.append(t, ` ${text}`);
    activity.prepend(li);
    while (activity.children.length > 20) activity.lastElementChild.remove();
  }

  function badge(tone, label) {
    const span = document.createElement("span");
    span.className = `badge tone-${tone}`;
    const g = document.createElement("span");
    g.setAttribute("aria-hidden", "true");
    g.textContent = GLYPH[tone] || "?";
    span.append(g, ` ${label}`);
    return span;
  }

  function applyFlux(d) {
    const rows = document.querySelectorAll(`tr[data-flux="${CSS.escape(d.key)}"]`);
    for (const row of rows) {
      const before = row.dataset.state;
      row.dataset.state = d.tone;
      const ready = row.querySelector('[data-field="ready"]');
      if (ready) {
        const detail = document.createElement("div");
        detail.className = "detail";
        detail.dataset.field = "detail";
        detail.textContent = d.detail;
        ready.replaceChildren(badge(d.tone, d.label), detail);
      }
      // Suspend and Resume trade places as the object's spec.suspend changes.
      const toggle = row.querySelector('button[data-action="suspend"], button[data-action="resume"]');
      if (toggle && typeof d.suspended === "boolean") {
        const action = d.suspended ? "resume" : "suspend";
        const text = d.suspended ? "Resume" : "Suspend";
        toggle.dataset.action = action;
        toggle.textContent = text;
        toggle.setAttribute("aria-label", `${text} ${toggle.dataset.name}`);
      }
      const ev = row.querySelector('[data-field="event"]');
      if (ev && d.lastEvent !== undefined) ev.textContent = d.lastEvent || "—";
      if (before && before !== d.tone) announce(`${row.querySelector("th")?.textContent}: ${d.label}${d.detail ? ` (${d.detail})` : ""}`);
    }
    if (d.component) {
      const node = document.querySelector(`svg g[data-component="${CSS.escape(d.component)}"]`);
      if (node) {
        node.dataset.state = d.tone;
        const glyph = node.querySelector("text.glyph");
        if (glyph) glyph.textContent = GLYPH[d.tone] || "?";
      }
    }
  }

  // The whole page again, then each live section swapped in place: the server renders, the script does not.
  async function reloadSections() {
    const res = await fetch("/", { credentials: "same-origin" });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    for (const fresh of doc.querySelectorAll("[data-live-section]")) {
      const old = document.getElementById(fresh.id);
      if (old && !old.contains(document.activeElement)) old.replaceWith(document.importNode(fresh, true));
    }
  }

  // Rows render the first state, but the picture's nodes start unknown: colour them from the table.
  function paintFromTable() {
    for (const row of document.querySelectorAll("tr[data-component]")) {
      const node = document.querySelector(`svg g[data-component="${CSS.escape(row.dataset.component)}"]`);
      if (!node) continue;
      node.dataset.state = row.dataset.state;
      const glyph = node.querySelector("text.glyph");
      if (glyph) glyph.textContent = GLYPH[row.dataset.state] || "?";
    }
  }

  document.addEventListener("click", async (e) => {
    const button = e.target instanceof Element ? e.target.closest("button[data-action]") : null;
    if (!button) return;
    const { action, name } = button.dataset;
    if (!window.confirm(`${action} ${name}?\n\nThis asks Flux in the cluster to ${action === "reconcile" ? "reconcile it now" : action === "suspend" ? "stop reconciling it" : "reconcile it again"}.`)) {
      announce(`${action} ${name}: cancelled`);
      return;
    }
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const res = await fetch(`/api/actions/${encodeURIComponent(action)}`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      const body = await res.json().catch(() => ({}));
      announce(res.ok ? `${action} ${name}: requested${body.objects?.[0]?.requestedAt ? ` at ${body.objects[0].requestedAt}` : ""}` : `${action} ${name} failed: ${body.error || res.status}`);
    } catch (err) {
      announce(`${action} ${name} failed: ${err}`);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });

  paintFromTable();
  const events = new EventSource("/api/events");
  events.addEventListener("flux", (e) => applyFlux(JSON.parse(e.data)));
  events.addEventListener("snapshot", () => {
    reloadSections().then(paintFromTable, (err) => announce(`refresh failed: ${err}`));
  });
  events.addEventListener("activity", (e) => announce(JSON.parse(e.data).text));
  events.addEventListener("hello", (e) => {
    const d = JSON.parse(e.data);
    document.body.dataset.stream = "open";
    if (!d.pending) reloadSections().then(paintFromTable, () => {});
  });
  events.onerror = () => {
    document.body.dataset.stream = "closed";
  };
})();
