import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadDefinition } from "../../model/load.js";
import { ProcessRunner, type Runner } from "../../adapters/runner.js";
import { applyTrust, CA_NAME, caFromCluster, checkCaPem, printFetchCa, printTrust, registryAddresses, trustPlan } from "../../workflows/trust.js";
import { EXIT } from "../../core/errors.js";
import { green, printJson, red, yellow } from "../output.js";
import { failWith } from "../report-error.js";

export interface TrustCliOptions {
  ca?: string;
  kubeconfig?: string;
  context?: string;
  profile?: string;
  /** commander: --no-host / --no-node */
  host?: boolean;
  node?: boolean;
  rootPrefix?: string;
  print?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export interface TrustDeps {
  runner?: Runner;
  /** Where the CA comes from when --ca is not given (default: the cluster secret, via kubeconfig). */
  caSource?: () => Promise<string>;
  isRoot?: boolean;
}

/** `bk trust`: install the cluster CA where the build host's tools and the Minikube node look for it. */
export async function trustCommand(root: string, opts: TrustCliOptions, deps: TrustDeps = {}): Promise<number> {
  const { model } = loadDefinition(root);
  const host = opts.host !== false;
  const node = opts.node !== false;
  if (!host && !node) {
    return failWith("trust", "--no-host and --no-node together leave nothing to do", EXIT.badInput, opts.json);
  }
  const profile = opts.profile ?? model.cluster.profile.name;
  const registries = registryAddresses(model);
  const kube = { ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) };

  if (opts.print || opts.dryRun) {
    const caFile = opts.ca ? path.resolve(opts.ca) : CA_NAME;
    const lines = [...(opts.ca ? [] : [printFetchCa(CA_NAME, opts.context)]), ...printTrust(trustPlan({ caFile, host, node, registries, profile }), caFile)];
    if (opts.json) printJson({ registries, profile, commands: lines.map((l) => l.replace(/ {4}# .*$/, "")) });
    else process.stdout.write(lines.join("\n") + "\n");
    return EXIT.ok;
  }

  let caPem: string;
  try {
    caPem = opts.ca ? readFileSync(opts.ca, "utf8") : await (deps.caSource ?? (() => caFromCluster(kube)))();
    checkCaPem(caPem, opts.ca ?? "the cluster CA");
  } catch (err) {
    const msg = (err as Error).message;
    process.stderr.write(`bk trust: ${opts.ca ? msg : `cannot read the CA from the cluster: ${msg}\n  fix: pass --ca <file>, or --kubeconfig/--context for the cluster`}\n`);
    return opts.ca ? EXIT.badInput : EXIT.unavailable;
  }
  const isRoot = deps.isRoot ?? process.getuid?.() === 0;
  if (node && isRoot && process.env.SUDO_USER && !opts.rootPrefix) {
    process.stderr.write(yellow(`bk trust: running under sudo: minikube will look for root's profiles, not ${process.env.SUDO_USER}'s; run bk trust as yourself (it uses sudo for host files) or pass --no-node\n`));
  }
  // minikube cp needs a file; the CA from the cluster lives in a temporary one.
  const tmp = opts.ca ? undefined : mkdtempSync(path.join(os.tmpdir(), "bk-trust-"));
  const caFile = opts.ca ? path.resolve(opts.ca) : path.join(tmp!, CA_NAME);
  if (tmp) writeFileSync(caFile, caPem, { mode: 0o644 });
  try {
    const actions = trustPlan({ caFile, host, node, registries, profile });
    const results = await applyTrust(actions, { runner: deps.runner ?? new ProcessRunner(), caPem, caFile, isRoot, ...(opts.rootPrefix ? { rootPrefix: path.resolve(opts.rootPrefix) } : {}) });
    const ok = results.every((r) => r.status !== "failed");
    if (opts.json) printJson({ ok, registries, profile, steps: results.map((r) => ({ target: r.action.target, command: r.line, status: r.status, ...(r.detail ? { detail: r.detail } : {}) })) });
    else {
      for (const r of results) {
        const mark = r.status === "done" ? green("done   ") : r.status === "skipped" ? yellow("skipped") : red("FAILED ");
        process.stdout.write(`${mark} ${r.action.target.padEnd(4)} ${r.line}${r.detail ? `\n        ${r.detail.replace(/\n/g, "\n        ")}` : ""}\n`);
      }
      process.stdout.write(
        ok
          ? `bk trust: the CA is installed${opts.rootPrefix ? ` under ${opts.rootPrefix}` : ""}; check with \`bk certs --ca <ca file>\` and a \`docker pull ${registries[0]}/...\`\n` +
              (host ? "  multi-arch builds (docker buildx, docker-container driver) do not see these files: recreate the builder with a buildkitd.toml naming this CA for the registry\n" : "")
          : "bk trust: stopped at the failed step; fix it and rerun (finished steps are harmless to repeat)\n",
      );
    }
    return ok ? EXIT.ok : EXIT.failed;
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
