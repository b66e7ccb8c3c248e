/** Small helpers for writing PromQL selectors from Model values. */

/** A PromQL string literal (double-quoted, Go escapes: JSON's are a subset). */
export const q = (s: string): string => JSON.stringify(s);

/** A regex alternation matching exactly these names (Prometheus anchors label regexes). */
export const alt = (names: readonly string[]): string => names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
