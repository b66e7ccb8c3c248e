import { analyzeNetworkPolicies } from "../../netpol/analyze.js";
import { renderReport } from "../../netpol/render.js";
import { generate } from "../../pipeline.js";
import { EXIT } from "../../core/errors.js";
import { bold, dim, green, printJson, red, yellow } from "../output.js";

export interface NetpolOptions {
  json?: boolean;
}

/**
 * `bk netpol`: who can reach whom under the generated NetworkPolicies (evaluated from the objects,
 * not from the definition), checked against what the definition declares. Exit 1 when a needed
 * path is blocked or an undeclared path to or from an application pod is open.
 */
export async function netpolCommand(root: string, opts: NetpolOptions): Promise<number> {
  const { model, tree } = generate(root);
  const report = analyzeNetworkPolicies(
    model,
    tree.objects.map((p) => p.object),
  );
  if (opts.json) printJson(report);
  else process.stdout.write(renderReport(report, { bold, dim, green, red, yellow }));
  return report.ok ? EXIT.ok : EXIT.failed;
}
