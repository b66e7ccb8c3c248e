import { renderReport } from "../../netpol/render.js";
import { netpolReport } from "../../workflows/netpol.js";
import { EXIT } from "../../core/errors.js";
import { bold, dim, green, printJson, red, yellow } from "../output.js";

export interface NetpolOptions {
  json?: boolean;
  committed?: boolean;
}

/**
 * `bk netpol`: who can reach whom under the generated NetworkPolicies and, where the definition has a mesh, its
 * AuthorizationPolicies and PeerAuthentications (evaluated from the objects, not from the definition), checked
 * against what the definition declares. Exit 1 when a needed path is blocked by either layer, an undeclared path to
 * or from an application pod is open, or the two layers disagree on a connection.
 */
export async function netpolCommand(root: string, opts: NetpolOptions): Promise<number> {
  const report = netpolReport(root, { committed: opts.committed ?? false });
  if (opts.json) printJson(report);
  else process.stdout.write(renderReport(report, { bold, dim, green, red, yellow }));
  return report.ok ? EXIT.ok : EXIT.failed;
}
