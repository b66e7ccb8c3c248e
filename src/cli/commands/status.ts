import { readFileSync } from "node:fs";
import { loadDefinition } from "../../model/load.js";
import { collect, evaluateStatus, scopeReport, STATUS_AREAS, type StatusArea, type StatusReport } from "../../workflows/status.js";
import { EXIT } from "../../core/errors.js";
import { bold, green, printJson, red, yellow } from "../output.js";
import { failWith } from "../report-error.js";

export interface StatusOptions {
  kubeconfig?: string;
  context?: string;
  ca?: string;
  backups?: string;
  endpoint?: string[];
  json?: boolean;
  watch?: string;
  all?: boolean;
  only?: string;
}

function parseOverrides(list: string[] = []): Record<string, string> {
  return Object.fromEntries(list.map((e) => e.split("=") as [string, string]));
}

function render(r: StatusReport, all: boolean): string {
  const icon = { ok: green("ok  "), warn: yellow("warn"), fail: red("FAIL") };
  const out: string[] = [];
  for (const area of STATUS_AREAS) {
    const rows = r.checks.filter((c) => c.area === area);
    if (!rows.length) continue;
    const shown = all ? rows : rows.filter((c) => c.health !== "ok");
    const okCount = rows.length - shown.length;
    out.push(bold(area) + (okCount ? `  (${okCount} ok)` : ""));
    for (const c of shown) out.push(`  ${icon[c.health]} ${c.subject}: ${c.detail}`);
  }
  out.push(r.healthy ? green("healthy") : red("unhealthy"));
  return out.join("\n") + "\n";
}

/** `bk status`: one screen (or --json); exit 0 only when healthy. */
export async function statusCommand(root: string, opts: StatusOptions): Promise<number> {
  const seconds = opts.watch === undefined ? undefined : Number(opts.watch);
  if (seconds !== undefined && !(seconds > 0)) return failWith("status", "--watch takes seconds, e.g. --watch 5", EXIT.badInput, opts.json);
  const areas = opts.only?.split(",").map((a) => a.trim()) ?? [...STATUS_AREAS];
  const unknown = areas.filter((a) => !(STATUS_AREAS as readonly string[]).includes(a));
  if (unknown.length || !areas.length)
    return failWith("status", `--only ${opts.only}: ${unknown.length ? `no area ${unknown.join(", ")}` : "no area named"}; the areas are ${STATUS_AREAS.join(", ")}`, EXIT.badInput, opts.json);
  const { model } = loadDefinition(root);
  // The chain is verified against the CA's PEM, not its file name.
  let caPem: string | undefined;
  try {
    caPem = opts.ca ? readFileSync(opts.ca, "utf8") : undefined;
  } catch (err) {
    return failWith("status", `--ca ${opts.ca}: ${(err as Error).message}`, EXIT.badInput, opts.json);
  }
  // The default kubeconfig as every command reads it; with none at all there is no cluster to report on (exit 3).
  const kube = (await import("../../adapters/kube.js")).connect(opts.kubeconfig, opts.context);
  const once = async () => {
    const snap = await collect(model, { kube, overrides: parseOverrides(opts.endpoint), ...(caPem ? { ca: caPem } : {}), ...(opts.backups ? { backupsDir: opts.backups } : {}) });
    return scopeReport(evaluateStatus(model, snap), areas as StatusArea[]);
  };
  if (seconds !== undefined) {
    for (;;) {
      const r = await once();
      process.stdout.write("\x1b[2J\x1b[H" + `bk status (every ${seconds} s, ${new Date().toISOString()})\n` + render(r, Boolean(opts.all)));
      await new Promise((res) => setTimeout(res, seconds * 1000));
    }
  }
  const r = await once();
  if (opts.json) printJson(r);
  else process.stdout.write(render(r, Boolean(opts.all)));
  return r.healthy ? EXIT.ok : EXIT.failed;
}
