/**
 * A small builder for Grafana dashboard JSON. Panels flow left to right on Grafana's 24-column
 * grid and wrap; keys are written in one fixed order so the generated JSON is stable.
 * Datasources are referenced by uid only, never by name.
 */

export const PROMETHEUS_UID = "prometheus";
export const LOKI_UID = "loki";

export interface DatasourceRef {
  type: "prometheus" | "loki";
  uid: string;
}

export const PROMETHEUS: DatasourceRef = { type: "prometheus", uid: PROMETHEUS_UID };
export const LOKI: DatasourceRef = { type: "loki", uid: LOKI_UID };

export type Json = Record<string, unknown>;

export interface Query {
  expr: string;
  /** Grafana legend template, e.g. "{{namespace}}". */
  legend?: string;
}

export interface PanelOptions {
  description?: string;
  /** Grafana unit id: "percentunit", "bytes", "s", "short", "reqps". */
  unit?: string;
  w?: number;
  h?: number;
  min?: number;
  max?: number;
}

const GRID_WIDTH = 24;

export class DashboardBuilder {
  private readonly panels: Json[] = [];
  private x = 0;
  private y = 0;
  private lineHeight = 0;
  private nextId = 1;

  constructor(
    private readonly uid: string,
    private readonly title: string,
    private readonly description: string,
    private readonly tags: readonly string[] = [],
  ) {}

  private newline(): void {
    if (this.x === 0) return;
    this.y += this.lineHeight;
    this.x = 0;
    this.lineHeight = 0;
  }

  private gridPos(w: number, h: number): Json {
    if (this.x + w > GRID_WIDTH) this.newline();
    const pos = { h, w, x: this.x, y: this.y };
    this.x += w;
    this.lineHeight = Math.max(this.lineHeight, h);
    return pos;
  }

  /** A section title across the full width; the next panels start below it. */
  row(title: string): this {
    this.newline();
    this.panels.push({ id: this.nextId++, type: "row", title, collapsed: false, gridPos: { h: 1, w: GRID_WIDTH, x: 0, y: this.y }, panels: [] });
    this.y += 1;
    return this;
  }

  private promTargets(queries: readonly Query[]): Json[] {
    return queries.map((query, i) => ({
      datasource: PROMETHEUS,
      editorMode: "code",
      expr: query.expr,
      legendFormat: query.legend ?? "__auto",
      range: true,
      refId: String.fromCharCode(65 + i),
    }));
  }

  private fieldConfig(o: PanelOptions): Json {
    return {
      defaults: {
        unit: o.unit ?? "short",
        ...(o.min !== undefined ? { min: o.min } : {}),
        ...(o.max !== undefined ? { max: o.max } : {}),
      },
      overrides: [],
    };
  }

  timeseries(title: string, queries: readonly Query[], o: PanelOptions = {}): this {
    this.panels.push({
      id: this.nextId++,
      type: "timeseries",
      title,
      ...(o.description ? { description: o.description } : {}),
      datasource: PROMETHEUS,
      gridPos: this.gridPos(o.w ?? 12, o.h ?? 8),
      targets: this.promTargets(queries),
      fieldConfig: this.fieldConfig(o),
      options: { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } },
    });
    return this;
  }

  stat(title: string, query: Query, o: PanelOptions = {}): this {
    this.panels.push({
      id: this.nextId++,
      type: "stat",
      title,
      ...(o.description ? { description: o.description } : {}),
      datasource: PROMETHEUS,
      gridPos: this.gridPos(o.w ?? 4, o.h ?? 4),
      targets: this.promTargets([query]),
      fieldConfig: this.fieldConfig(o),
      options: { colorMode: "value", graphMode: "none", justifyMode: "auto", reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, textMode: "auto" },
    });
    return this;
  }

  logs(title: string, expr: string, o: PanelOptions = {}): this {
    this.panels.push({
      id: this.nextId++,
      type: "logs",
      title,
      ...(o.description ? { description: o.description } : {}),
      datasource: LOKI,
      gridPos: this.gridPos(o.w ?? 24, o.h ?? 10),
      targets: [{ datasource: LOKI, editorMode: "code", expr, queryType: "range", refId: "A" }],
      options: { enableLogDetails: true, showTime: true, sortOrder: "Descending", wrapLogMessage: true },
    });
    return this;
  }

  build(): Json {
    return {
      uid: this.uid,
      title: this.title,
      description: this.description,
      tags: ["beckerkube", ...this.tags],
      editable: false,
      graphTooltip: 1,
      refresh: "1m",
      schemaVersion: 39,
      time: { from: "now-6h", to: "now" },
      timezone: "browser",
      annotations: { list: [] },
      templating: { list: [] },
      links: [],
      panels: this.panels,
      version: 1,
    };
  }
}

/** Every query of a dashboard, with the panel it belongs to and the datasource it goes to. */
export interface PanelQuery {
  panel: string;
  datasource: DatasourceRef;
  expr: string;
}

export function dashboardQueries(dashboard: Json): PanelQuery[] {
  const out: PanelQuery[] = [];
  const walk = (panels: unknown) => {
    for (const p of (panels as Json[] | undefined) ?? []) {
      if (p.type === "row") walk(p.panels);
      for (const t of (p.targets as Json[] | undefined) ?? []) {
        out.push({ panel: String(p.title), datasource: (t.datasource ?? p.datasource) as DatasourceRef, expr: String(t.expr) });
      }
    }
  };
  walk(dashboard.panels);
  return out;
}
