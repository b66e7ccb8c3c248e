/** The profiles section of docs/architecture.md: the clusters the one definition makes (model/profiles.ts). */
import type { Model } from "../model/model.js";

const row = (cells: Array<string | number>) => `| ${cells.map((c) => String(c).replace(/\|/g, "\\|")).join(" | ")} |`;

export function profileSection(m: Model): string[] {
  if (m.profiles.length < 2) return [];
  const rows = m.profiles.map((p) => [
    `\`${p.name}\``,
    p.kind,
    p.nodes,
    `\`${p.path}\``,
    p.kind === "ha"
      ? `stateless components x${p.replicas}, each with a PodDisruptionBudget and a spread over nodes; PostgreSQL ${p.postgres.instances} instances on distinct nodes, ${p.postgres.synchronous} synchronous`
      : "the tree as written",
  ]);
  const accepted = m.profiles.flatMap((p) => Object.entries(p.accepted).map(([id, why]) => row([`\`${p.name}\``, `\`${id}\``, why])));
  return [
    "## Profiles",
    "",
    "The same definition makes each of these clusters. Another profile's entry point patches the shared tree (JSON 6902 patches on its Flux Kustomizations) only where it differs (`bk plan --profile`, `bk bootstrap --profile`, docs/runbooks/ha-profile.md).",
    "",
    row(["Profile", "Kind", "Nodes", "Flux entry point", "Differs in"]),
    row(["---", "---", "---", "---", "---"]),
    ...rows.map(row),
    "",
    ...(accepted.length ? ["What still runs once (or without a budget or spread) on a profile, and why that is accepted:", "", row(["Profile", "What", "Why"]), row(["---", "---", "---"]), ...accepted, ""] : []),
  ];
}
