/**
 * Where the dev cluster's programs come from: the "e2e" tool set (scripts/tools.sh e2e) for etcd, the
 * Kubernetes binaries, kubectl, KWOK and Flux; the "base" set for helm; git and openssl from the system.
 * All are resolved up front so a missing one fails with one message listing every gap and how to close it.
 */
import { accessSync, constants, existsSync } from "node:fs";
import path from "node:path";
import { toolPath, toolsBinDir } from "../adapters/tools.js";

export const E2E_TOOLS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl", "source-controller", "kustomize-controller", "helm-controller", "notification-controller"] as const;

export type E2eTool = (typeof E2E_TOOLS)[number];
export type BinaryName = E2eTool | "helm" | "git" | "openssl";

export type Binaries = Record<BinaryName, string> & { kwokStages: string };

function onPath(name: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/**
 * Resolves every binary the requested parts need. `overrides` wins (tests, or a future `bk dev up --etcd ...`).
 * Throws one Error naming all missing programs with the command that provides each.
 */
export function resolveBinaries(need: { helm: boolean }, overrides: Partial<Binaries> = {}): Binaries {
  const problems: string[] = [];
  const found: Partial<Binaries> = {};
  for (const name of E2E_TOOLS) {
    // BK_ETCD: an etcd >= 3.5.13 of your own (Debian's 3.4 lacks watch progress requests, see tools/e2e/tools.txt).
    const o = overrides[name] ?? (name === "etcd" ? process.env["BK_ETCD"] : undefined);
    if (o) {
      found[name] = o;
      continue;
    }
    try {
      found[name] = toolPath(name, "e2e");
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
    }
  }
  const stages = overrides.kwokStages ?? path.join(toolsBinDir("e2e"), "kwok-stages.yaml");
  if (existsSync(stages)) found.kwokStages = stages;
  else problems.push(`kwok stages: ${stages} is missing; run \`npm run tools -- e2e\` (its extra.sh writes it)`);

  for (const name of ["git", "openssl"] as const) {
    const p = overrides[name] ?? onPath(name);
    if (p) found[name] = p;
    else problems.push(`${name}: not on PATH; install it (\`apt-get install -y ${name}\`)`);
  }

  if (need.helm) {
    try {
      found.helm = overrides.helm ?? process.env["BK_HELM"] ?? toolPath("helm");
    } catch (err) {
      problems.push(`helm: ${(err as Error).message}`);
    }
  } else {
    found.helm = overrides.helm ?? "";
  }

  if (problems.length) {
    throw new Error(`devcluster: missing programs:\n  - ${problems.join("\n  - ")}`);
  }
  return found as Binaries;
}
