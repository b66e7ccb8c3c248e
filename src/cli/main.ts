/**
 * `bk`: command wiring only. Each action imports its command module lazily, so `bk --help`
 * loads commander and nothing else.
 */
import { Command, CommanderError } from "commander";
import { EXIT } from "./output.js";
import { findRoot } from "./root.js";

type Action = (root: string) => Promise<number>;

const program = new Command();
program
  .name("bk")
  .description("Operate BeckerKube: one definition, the Flux tree generated from it, and the operations around it.")
  .option("--root <dir>", "repository root (default: the nearest folder with definition/cluster.yaml)")
  .showHelpAfterError()
  .exitOverride();

let pending: Promise<number> | undefined;
const run = (action: Action) => {
  pending = action(findRoot(program.opts<{ root?: string }>().root));
};

program
  .command("plan")
  .description("load, synthesize and validate; print what the cluster is and what would change (needs no cluster)")
  .option("--json", "machine-readable output")
  .option("--no-kustomize", "skip the kustomize build check")
  .action((opts) => run(async (root) => (await import("./commands/plan.js")).planCommand(root, opts)));

program
  .command("synth")
  .description("write the GitOps tree (clusters/, infrastructure/, apps/) and docs/architecture.md from the definition")
  .option("--check", "write nothing; exit 1 and print the diff when the committed tree differs")
  .option("--dry-run", "write nothing; print what would change")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/synth.js")).synthCommand(root, opts)));

program
  .command("validate")
  .description("schema, policy, references and a real kustomize build of the generated tree")
  .option("--json", "machine-readable output")
  .option("--strict", "treat warnings (e.g. secrets not sealed yet) as errors: the pre-flight for a rebuild or release")
  .option("--no-kustomize", "skip the kustomize build check")
  .option("--no-render", "skip rendering the application chart with helm")
  .option("--rules", "list the policy rules and exit")
  .action((opts) => run(async (root) => (await import("./commands/validate.js")).validateCommand(root, opts)));

program
  .command("docs")
  .description("regenerate docs/architecture.md from the definition")
  .option("--check", "write nothing; exit 1 when the file is stale")
  .action((opts) => run(async (root) => (await import("./commands/docs.js")).docsCommand(root, opts)));

program
  .command("netpol")
  .description("who can reach whom under the generated NetworkPolicies, checked against the definition's declared edges")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/netpol.js")).netpolCommand(root, opts)));

const chart = program.command("chart").description("the application chart (charts/app)");
chart
  .command("push")
  .description("lint and package the chart with helm, and upload it to ChartMuseum (refuses to replace an existing version)")
  .option("--chart <dir>", "chart folder", "charts/app")
  .option("--url <url>", "ChartMuseum URL (default: the chartmuseum endpoint of the definition)")
  .option("--username <name>", "basic auth user (default: $BK_CHARTMUSEUM_USER; the password is read from $BK_CHARTMUSEUM_PASSWORD)")
  .option("--force", "replace the version if it exists")
  .option("--dry-run", "package and check, upload nothing")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/chart.js")).chartPushCommand(root, opts)));

program
  .command("release")
  .description("build (optional), check the registry, bump, validate, commit, push, reconcile, wait and verify a release")
  .argument("<app>", "application, e.g. ffl")
  .argument("<components-and-version...>", "components (default: all but caches), then the version last, e.g. backend frontend 1.4.3")
  .option("--build <path>", "build and push the image from this application repository first")
  .option("--builder <name>", "docker | buildah | podman", "docker")
  .option("--platform <list>", "target platforms for a multi-arch build, e.g. linux/amd64,linux/arm64")
  .option("--registry <host:port>", "registry to check (default: the definition's)")
  .option("--ca <file>", "the cluster CA, to trust the registry and the ingress")
  .option("--registry-http", "talk plain HTTP to the registry (loopback test registries only)")
  .option("--remote <name>", "git remote to push to", "origin")
  .option("--no-push", "commit locally, do not push")
  .option("--kubeconfig <file>", "cluster access for reconcile/wait (default: $KUBECONFIG)")
  .option("--context <name>", "kubeconfig context")
  .option("--no-wait", "stop after the push (and the reconcile request)")
  .option("--timeout <duration>", "how long to wait for Ready, e.g. 15m", "15m")
  .option("--no-health", "skip the health check through the ingress")
  .option("--health-url <base>", "base URL for health checks (default: https://<ingress IP>)")
  .option("--dry-run", "run every check and show the diff; write, commit and push nothing")
  .option("--json", "machine-readable report")
  .action((app: string, rest: string[], opts) => run(async (root) => (await import("./commands/release.js")).releaseCommand(root, app, rest, opts)));

const secrets = program.command("secrets").description("declared secrets: plaintext values kept outside the repository, SealedSecrets in the tree, controller key backups");
const VALUES = "plaintext value store (default ${XDG_CONFIG_HOME:-~/.config}/beckerkube/<cluster>/secret-values.yaml, or $BK_SECRET_VALUES)";
const secretsCmd = async () => await import("./commands/secrets.js");
secrets
  .command("list")
  .description("every declared secret: each key's source, whether the value store has it, whether it is sealed in the tree")
  .option("--values <file>", VALUES)
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await secretsCmd()).secretsListCommand(root, opts)));
secrets
  .command("set <secret> <key>")
  .description("put one value into the local value store (<secret> is <namespace>/<name>); never into the repository")
  .option("--value <value>", "the value (visible in shell history and ps: prefer --from-file)")
  .option("--from-file <file>", "read the value from a file, byte for byte ('-' reads standard input)")
  .option("--generate", "a new random value (base64url)")
  .option("--length <bytes>", "random bytes for --generate (default 32)")
  .option("--values <file>", VALUES)
  .option("--dry-run", "write nothing; say what would be stored")
  .option("--json", "machine-readable output")
  .action((secret, key, opts) => run(async (root) => (await secretsCmd()).secretsSetCommand(root, secret, key, opts)));
secrets
  .command("seal [secrets...]")
  .description("seal declared secrets (<namespace>/<name> ..., or --all) with the controller's certificate and regenerate the tree around them")
  .option("--all", "every declared secret")
  .option("--cert <file>", "controller certificate (kubeseal --fetch-cert); else --kubeconfig, else $BK_SEALING_CERT")
  .option("--kubeconfig <file>", "read the controller's current certificate from the cluster")
  .option("--scope <scope>", "strict | namespace-wide | cluster-wide (default: the existing SealedSecret's scope, else strict)")
  .option("--values <file>", VALUES)
  .option("--allow-test-key", "accept a TEST certificate from test/fixtures (tests only)")
  .option("--dry-run", "write nothing; print the files that would change")
  .option("--json", "machine-readable output")
  .action((refs, opts) => run(async (root) => (await secretsCmd()).secretsSealCommand(root, refs, opts)));
secrets
  .command("verify")
  .description("open every SealedSecret in the tree offline with backed-up controller keys: the pre-flight before a rebuild")
  .requiredOption("--key-backup <file>", "the controller's private keys (from `bk secrets backup`, or PEM)")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await secretsCmd()).secretsVerifyCommand(root, opts)));
secrets
  .command("backup")
  .description("read the controller's key Secrets through the Kubernetes API into a private file, then check they open the tree")
  .requiredOption("--kubeconfig <file>", "kubeconfig of the cluster")
  .requiredOption("--out <file>", "where to write the keys (outside the repository; mode 0600)")
  .option("--force", "overwrite a backup that holds keys the cluster no longer has")
  .option("--dry-run", "read and check the keys; write nothing")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await secretsCmd()).secretsBackupCommand(root, opts)));
secrets
  .command("reseal")
  .description("re-encrypt every declared secret for a new controller key; values come from the store, or from the old keys with --from-key-backup")
  .option("--cert <file>", "the new controller certificate; else --kubeconfig, else $BK_SEALING_CERT")
  .option("--kubeconfig <file>", "read the new certificate from the cluster")
  .option("--from-key-backup <file>", "old private keys: recover values missing from the store from the current SealedSecrets")
  .option("--scope <scope>", "strict | namespace-wide | cluster-wide (default: each SealedSecret's current scope)")
  .option("--values <file>", VALUES)
  .option("--allow-test-key", "accept a TEST certificate from test/fixtures (tests only)")
  .option("--dry-run", "write nothing; print the files that would change")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await secretsCmd()).secretsResealCommand(root, opts)));

export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    throw err;
  }
  return pending ? await pending : EXIT.ok;
}

async function entry(): Promise<void> {
  let code: number;
  try {
    code = await main(process.argv);
  } catch (err) {
    const { FindingsError } = await import("../core/finding.js");
    if (err instanceof FindingsError) {
      const { printFindings } = await import("./output.js");
      printFindings(err.findings);
      process.stderr.write(`bk: ${err.findings.length} problem(s) in the definition; nothing was written\n`);
      code = err.exitCode;
    } else {
      process.stderr.write(`bk: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      code = EXIT.internal;
    }
  }
  process.exitCode = code;
}

await entry();
