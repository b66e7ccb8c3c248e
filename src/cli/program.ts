/**
 * The `bk` command tree: wiring only. Each action imports its command module lazily, so
 * `bk --help` loads commander and nothing else. Importing this module runs nothing; src/cli/main.ts
 * is the entry point, and tests walk this tree to check documentation against the real CLI.
 */
import { Command, type Option } from "commander";
import type { Invocation } from "./report-error.js";
import { findRoot } from "./root.js";

type Action = (root: string) => Promise<number>;

const ROOT_FLAG = "--root <dir>";
const ROOT_HELP = "repository root (default: the nearest folder with definition/cluster.yaml)";

export const program = new Command();
program
  .name("bk")
  .description("Operate BeckerKube: one definition, the Flux tree generated from it, and the operations around it.")
  .option(ROOT_FLAG, ROOT_HELP)
  // A group's options end at its subcommand's name: `bk certs renew --json` is renew's --json, not the parent's
  // (certs and ips have options of the same names as their subcommands'). Inherited by every command below.
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

let pending: Promise<number> | undefined;
let invoked: Invocation | undefined;
let invokedCommand: Command | undefined;

/** `plan`, `secrets seal`: the command's name under bk. */
function commandName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

// Known before the action runs, so an error it throws is reported under its name, and as JSON with --json.
program.hook("preAction", (_root, action) => {
  invokedCommand = action;
  invoked = { name: commandName(action), json: Boolean(action.opts<{ json?: boolean }>().json) };
});

/** The command commander dispatched to, if any. */
export function invocation(): Invocation | undefined {
  return invoked;
}
/** --root wherever it was given: before the command (`bk --root x plan`) or after it (`bk plan --root x`). */
function rootOption(): string | undefined {
  for (let c: Command | null | undefined = invokedCommand; c; c = c.parent) {
    const root = c.opts<{ root?: string }>().root;
    if (root) return root;
  }
  return undefined;
}

const run = (action: Action) => {
  pending = action(findRoot(rootOption()));
};

/**
 * Refuses an unknown subcommand before commander parses: commander answers `bk nosuch --help` (and
 * `bk secrets nosuch --help`, `bk help nosuch`) with the parent's help and exit 0, as if the command existed.
 * Walks the words the way commander dispatches them; an unknown option ends the walk (commander reports it).
 */
export function refuseUnknownCommand(args: readonly string[]): void {
  let cmd: Command = program;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === "--") return;
    if (word.startsWith("-")) {
      if (word === "-h" || word === "--help") continue;
      const [flag] = word.split("=");
      const opt = cmd.options.find((o: Option) => o.long === flag || o.short === flag);
      if (!opt) return;
      if (opt.required && !word.includes("=")) i++;
      continue;
    }
    if (!cmd.commands.length) return;
    if (word === "help") continue;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) {
      const known = cmd.commands.map((c) => c.name()).join(", ");
      cmd.error(`error: unknown command '${word}'${cmd === program ? "" : ` for 'bk ${commandName(cmd)}'`} (commands: ${known})`, { code: "commander.unknownCommand", exitCode: 2 });
    }
    cmd = sub!;
  }
}

/** The promise of the action commander dispatched to, if any. */
export function takePending(): Promise<number> | undefined {
  const p = pending;
  pending = undefined;
  return p;
}

/**
 * A command that only groups subcommands. Alone (`bk secrets`), commander would print the group's help and
 * exit as if something had run; it is bad input instead, naming the subcommands to choose from.
 */
function group(name: string): Command {
  const g = program.command(name);
  return g.action(() =>
    g.error(`error: 'bk ${commandName(g)}' needs a subcommand: ${g.commands.map((c) => c.name()).join(", ")} (bk ${commandName(g)} --help says what each does)`, {
      code: "commander.missingSubcommand",
      exitCode: 2,
    }),
  );
}

program
  .command("plan")
  .description("load, synthesize and validate; print what the cluster is, whether it fits its node, and what would change (needs no cluster)")
  .option("--json", "machine-readable output")
  .option("--no-kustomize", "skip the kustomize build check")
  .option("--charts <dir>", "chart mirror to render the upstream charts from for the fit check (default $BK_CHARTS, else $BK_SHARED/charts, else the chart cache)")
  .option("--no-fit", "skip rendering the charts and checking that the workloads fit the node")
  .option("--profile <name>", "plan the cluster of this profile (definition/cluster.yaml `profiles`, e.g. ha); default the base one")
  .action((opts) => run(async (root) => (await import("./commands/plan.js")).planCommand(root, opts)));

program
  .command("synth")
  .description("write the GitOps tree (clusters/, infrastructure/, apps/) and the generated docs (docs/architecture.md, docs/definition.md) from the definition")
  .option("--check", "write nothing; exit 1 and print the diff when the committed tree differs")
  .option("--dry-run", "write nothing; print what would change")
  .option("--no-kustomize", "skip the kustomize build check")
  .option("--json", "machine-readable output")
  .addHelpText("after", "\nThe tree is checked as `bk plan` checks it (schema, policy, references, kustomize) before anything is written: on any error nothing is written and the exit code is 1.")
  .action((opts) => run(async (root) => (await import("./commands/synth.js")).synthCommand(root, opts)));

program
  .command("validate")
  .description("schema, policy, references, every HelmRelease rendered through its real chart, and a real kustomize build of the generated tree")
  .option("--json", "machine-readable output")
  .option("--strict", "treat warnings (e.g. secrets not sealed yet) as errors: the pre-flight for a rebuild or release")
  .option("--no-kustomize", "skip the kustomize build check")
  .option("--no-render", "skip rendering HelmReleases with helm")
  .option("--no-upstream", "render only our application chart, not the upstream charts")
  .option("--charts <dir>", "a mirror of unpacked upstream charts (default: $BK_CHARTS, else the chart cache, else pulled from each HelmRepository)")
  .option("--sources <dir>", "a mirror of the upstream Git releases the tree applies, e.g. the Gateway API CRDs (default: $BK_CRDS, else the cache, else a shallow clone of the pinned tag)")
  .option("--rules", "list the policy rules and exit")
  .action((opts) => run(async (root) => (await import("./commands/validate.js")).validateCommand(root, opts)));

program
  .command("diff")
  .description("the fully rendered manifests (tree objects plus every HelmRelease through its chart) of the working tree against a Git ref, as a unified diff per object; Secret values are masked")
  .option("--base <ref>", "the Git ref to compare with", "HEAD")
  .option("--charts <dir>", "a mirror folder of the upstream charts (default: $BK_CHARTS, else the chart cache, else pulled)")
  .option("--exit-code", "exit 1 when there are differences (like git diff --exit-code); without it, 0")
  .option("--json", "machine-readable output: { base, baseCommit, added, removed, changed (each [{ object, source, patch }]), maskedSecrets, findings, summary }")
  .addHelpText("after", "\nExit codes: 0 done (differences or not, unless --exit-code); 1 differences with --exit-code, or a release that does not render; 2 a ref that names no commit; 3 a chart that cannot be found.")
  .action((opts) => run(async (root) => (await import("./commands/diff.js")).diffCommand(root, opts)));

// ---- images (issue 16) ----
const imagesCmd = async () => await import("./commands/images.js");
const REGISTRY_HELP = "the private registry's host:port when not the definition's (e.g. reached through a port-forward)";
const images = program
  .command("images")
  .description("every image the fully rendered tree runs (upstream charts included), with where each comes from")
  .option("--charts <dir>", "read upstream charts from this mirror of unpacked charts (default: $BK_CHARTS)")
  .option("--no-upstream", "render only our application chart, not the upstream charts")
  .option("--origin <origin>", "only images of this origin: app, mirrored, upstream or unknown")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await imagesCmd()).imagesListCommand(root, opts)));
images
  .command("mirror [images...]")
  .description("copy the third-party images (components with `upstream:`) into the private registry under <app>/<component>:<tag>; digests compared first, so a rerun copies nothing")
  .option("--registry <host:port>", REGISTRY_HELP)
  .option("--ca <file>", "CA certificate (PEM) the private registry's certificate is signed by")
  .option("--no-tls-verify", "do not verify the private registry's certificate (loopback test registries only)")
  .option("--src-ca <file>", "CA certificate (PEM) for the upstream registries")
  .option("--no-src-tls-verify", "do not verify the upstream registries' certificates")
  .option("--from-oci-dir <dir>", "copy from the OCI archives (*.tar) and layouts in this folder, each saved under its upstream reference, instead of the upstream registries (offline hosts)")
  .option("--dry-run", "compare digests and say what would be copied; copy nothing")
  .option("--json", "machine-readable output")
  .action((only: string[], opts) => run(async (root) => (await imagesCmd()).imagesMirrorCommand(root, only, opts)));
images
  .command("export <dir>")
  .description("save the registry's application images into <dir>, one OCI archive per image, with bk-images.json listing each image and digest")
  .option("--registry <host:port>", REGISTRY_HELP)
  .option("--ca <file>", "CA certificate (PEM) the registry's certificate is signed by")
  .option("--no-tls-verify", "do not verify the registry's certificate (loopback test registries only)")
  .option("--with-mirrored", "also save the third-party images mirrored into the registry (for an offline rebuild)")
  .option("--dry-run", "say what would be saved; write nothing")
  .option("--json", "machine-readable output")
  .action((dir: string, opts) => run(async (root) => (await imagesCmd()).imagesExportCommand(root, dir, opts)));
images
  .command("import <dir>")
  .description("restore the images of a `bk images export` folder into the registry, skipping those already there, and check every digest")
  .option("--registry <host:port>", REGISTRY_HELP)
  .option("--ca <file>", "CA certificate (PEM) the registry's certificate is signed by")
  .option("--no-tls-verify", "do not verify the registry's certificate (loopback test registries only)")
  .option("--dry-run", "say what would be restored; push nothing")
  .option("--json", "machine-readable output")
  .action((dir: string, opts) => run(async (root) => (await imagesCmd()).imagesImportCommand(root, dir, opts)));
// ---- end of images ----

program
  .command("docs")
  .description("regenerate the generated docs from the definition: docs/architecture.md, the field reference docs/definition.md and the editor schemas in definition/.schema/")
  .option("--check", "write nothing; exit 1 with the diff when a file is stale")
  .option("--dry-run", "write nothing; print the diff of what would be written")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/docs.js")).docsCommand(root, opts)));

program
  .command("status")
  .description("the cluster at a glance: Flux, LoadBalancer IPs, reachability, certificates, pods, running images, backups; exit 0 only when healthy")
  .option("--kubeconfig <file>", "cluster access (default: $KUBECONFIG or ~/.kube/config)")
  .option("--context <name>", "kubeconfig context")
  .option("--ca <file>", "the cluster CA, to verify served certificates")
  .option("--backups <dir>", "backup folder whose newest backup must be recent")
  .option("--endpoint <id=host:port...>", "reach an endpoint elsewhere (a tunnel), e.g. registry=127.0.0.1:5000")
  .option("--all", "list healthy checks too")
  .option("--only <areas>", "report and judge only these areas (comma-separated: api, flux, ips, reachability, certificates, pods, images, backups); exit 0 when they are healthy")
  .option("--watch <seconds>", "refresh every N seconds")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/status.js")).statusCommand(root, opts)));

program
  .command("ui")
  .description("a web page of the platform: topology, components against the tree, Flux, certificates, backups, reachability, pending changes; live, with reconcile/suspend/resume")
  .option("--port <n>", "port to serve on (0 picks a free one)", "8420")
  .option("--listen <address>", "address to bind; anything but loopback requires a token", "127.0.0.1")
  .option("--token <token>", "the token every request must carry (default: $BK_UI_TOKEN, or one made up when --listen is not loopback)")
  .option("--kubeconfig <file>", "cluster access (default: $KUBECONFIG or ~/.kube/config); without one the page shows the definition only")
  .option("--context <name>", "kubeconfig context")
  .option("--ca <file>", "the cluster CA, to verify served certificates and the health URLs")
  .option("--health-url <base>", "base URL for the components' health URLs (default: https://<ingress IP>)")
  .option("--read-only", "no reconcile/suspend/resume buttons; the action endpoint refuses")
  .addHelpText(
    "after",
    "\nThe URL to open is printed on stdout (with ?token=... when a token is required). The page's data is GET /api/snapshot: the objects of\n`bk status --json`, `bk certs --json`, `bk netpol --json` and `bk plan --json`'s changes. Ctrl-C stops it.\nExit codes: 0 stopped by Ctrl-C; 2 a bad flag; 3 the port cannot be bound.",
  )
  .action((opts) => run(async (root) => (await import("./commands/ui.js")).uiCommand(root, opts)));

const dev = group("dev").description("a local control plane with the real Flux controllers, for trying the tree without Minikube");
dev
  .command("up")
  .description("start etcd, kube-apiserver (Pod Security on), a KWOK node, the Flux controllers, a Git server and a Helm repository on loopback; Ctrl-C stops them all")
  .option("--keep", "keep the work folder (logs, data) after stopping")
  .option("--no-flux", "without the Flux controllers")
  .option("--no-charts", "without the Helm repository")
  .option("--push", "package charts/app into the Helm repository")
  .action((opts) => run(async (root) => (await import("./commands/dev.js")).devUpCommand(root, opts)));

program
  .command("netpol")
  .description("who can reach whom under the generated NetworkPolicies and the mesh's AuthorizationPolicies, each layer checked against the definition's declared edges and against the other")
  .option("--committed", "evaluate the policies in the committed tree's files instead of what the definition synthesizes")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/netpol.js")).netpolCommand(root, opts)));

const chart = group("chart").description("the application chart (charts/app)");
chart
  .command("push")
  .description(
    "pin the applications to the chart's exact version in the definition, regenerate and validate the tree, lint, package and upload the chart to ChartMuseum (refuses to replace an existing version), then commit (not push) the pin",
  )
  .option("--chart <dir>", "chart folder", "charts/app")
  .option("--apps <list>", "applications that move to this chart version: all (the platform's version), a,b (their own chartVersion), or none (upload only)", "all")
  .option("--url <url>", "ChartMuseum URL (default: https at the chartmuseum endpoint of the definition)")
  .option("--ca <file>", "the cluster CA, to verify ChartMuseum's certificate (default: the system trust store)")
  .option("--username <name>", "basic auth user (default: $BK_CHARTMUSEUM_USER; the password is read from $BK_CHARTMUSEUM_PASSWORD)")
  .option("--no-commit", "write the pin and the tree, but do not commit them")
  .option("--force", "replace the version if it exists")
  .option("--dry-run", "show the definition and tree diff, check and package, upload and write nothing")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/chart.js")).chartPushCommand(root, opts)));

program
  .command("release")
  .description("build (optional), check the registry, bump, validate, commit, push, reconcile, wait and verify a release")
  .argument("<app>", "application, e.g. ffl")
  .argument("<components-and-version...>", "components (default: all but caches), then the version last, e.g. backend frontend 1.4.3")
  .option("--chart <version>", "also move the app to this exact application chart version (its own chartVersion), checked in ChartMuseum, in the same commit")
  .option("--chartmuseum-url <url>", "ChartMuseum to check --chart in (default: https at the definition's chartmuseum endpoint; credentials from $BK_CHARTMUSEUM_USER/$BK_CHARTMUSEUM_PASSWORD)")
  .option("--build <path>", "build and push the image from this application repository first")
  .option("--builder <name>", "docker | buildah | podman", "docker")
  .option("--platform <list>", "target platforms for a multi-arch build, e.g. linux/amd64,linux/arm64")
  .option("--registry <host:port>", "registry to check (default: the definition's)")
  .option("--ca <file>", "the cluster CA, to trust the registry, ChartMuseum and the ingress")
  .option("--registry-http", "talk plain HTTP to the registry (loopback test registries only)")
  .option("--remote <name>", "git remote to push to", "origin")
  .option("--no-push", "commit locally, do not push")
  .option("--kubeconfig <file>", "cluster access for reconcile/wait (default: $KUBECONFIG or ~/.kube/config)")
  .option("--context <name>", "kubeconfig context")
  .option("--no-wait", "stop after the push (and the reconcile request)")
  .option("--timeout <duration>", "how long to wait for Ready, e.g. 40m; at least the slowest component's HelmRelease timeout (default: that plus 2m)")
  .option("--no-health", "skip the health check through the ingress")
  .option("--health-url <base>", "base URL for health checks (default: https://<ingress IP>)")
  .option("--dry-run", "run every check and show the diff; write, commit and push nothing")
  .option("--json", "machine-readable report")
  .action((app: string, rest: string[], opts) => run(async (root) => (await import("./commands/release.js")).releaseCommand(root, app, rest, opts)));

const NAMES_HELP =
  "definition names: <app>/<component>, <app>, a Kustomization (e.g. apps), a HelmRelease (e.g. kube-prometheus-stack), a source, or `source` (the GitRepository); kustomization/, helmrelease/ or source/ picks one where two kinds share a name";
const FLUX_EXIT =
  "\nExit codes: 0 done (and Ready with --wait); 1 a reconciliation that failed (Ready=False: its reason, message and last events are shown), timed out, or an object that is suspended; 2 a name the definition does not have (the closest names are listed); 3 no cluster, or the object is not in it.";
/** reconcile, suspend and resume share their flags: wiring only, the work is in workflows/flux-actions.ts. */
function fluxActionCommand(name: "reconcile" | "suspend" | "resume", description: string): Command {
  const cmd = program
    .command(name)
    .description(description)
    .argument("<names...>", NAMES_HELP)
    .option("--kubeconfig <file>", "cluster access (default: $KUBECONFIG or ~/.kube/config)")
    .option("--context <name>", "kubeconfig context");
  if (name !== "suspend") {
    cmd
      .option("--wait", "wait until the request is handled (status.lastHandledReconcileAt) and Ready is settled, showing progress")
      .option("--timeout <duration>", "how long --wait waits, e.g. 10m (default: 5m, or the slowest object's own timeout plus 1m)");
  }
  if (name === "reconcile") {
    cmd
      .option("--force", "HelmRelease: run a one-off upgrade even without a change (reconcile.fluxcd.io/forceAt)")
      .option("--with-source", "reconcile each object's source first (a Kustomization's GitRepository, a HelmRelease's HelmChart) and wait for it");
  }
  return cmd
    .option("--dry-run", "print the patches; touch nothing")
    .option("--json", "machine-readable report")
    .addHelpText("after", FLUX_EXIT)
    .action((names: string[], opts) => run(async (root) => (await import("./commands/flux-actions.js")).fluxActionCommand(root, name, names, opts)));
}
fluxActionCommand("reconcile", "ask Flux to reconcile now (reconcile.fluxcd.io/requestedAt), by the definition's names, e.g. `bk reconcile ffl/backend --wait`");
fluxActionCommand("suspend", "stop Flux reconciling objects (spec.suspend: true), by the definition's names");
fluxActionCommand("resume", "let Flux reconcile objects again (spec.suspend: false) and request a reconcile now, as `flux resume` does");

const secrets = group("secrets").description("declared secrets: plaintext values kept outside the repository, SealedSecrets in the tree, controller key backups");
const VALUES = "plaintext value store (default ${XDG_CONFIG_HOME:-~/.config}/beckerkube/<cluster>/secret-values.yaml, or $BK_SECRET_VALUES)";
group("notify")
  .description("notifications: what to configure outside the cluster")
  .command("receiver-url")
  .description("the webhook to add on the Git host so a push reconciles at once: URL (https://<host>/hook/<sha256>), secret, events")
  .option("--values <file>", "plaintext value store (default ${XDG_CONFIG_HOME:-~/.config}/beckerkube/<cluster>/secret-values.yaml, or $BK_SECRET_VALUES)")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/notify.js")).notifyReceiverUrlCommand(root, opts)));

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

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

program
  .command("backup")
  .description("pg_dump every database (custom format) into <dir>/<UTC timestamp>/ with SHA256SUMS and a manifest of per-table row counts")
  .option("--dir <folder>", "where backup folders are written (default: $BK_BACKUP_DIR)")
  .option("--database <name>", "back up only this database (repeatable; default: every database of the definition)", repeatable, [])
  .option("--host <host>", "PostgreSQL host (default: $PGHOST, else the definition's postgres LoadBalancer IP)")
  .option("--port <port>", "PostgreSQL port (default: $PGPORT, else the definition's)")
  .option("--user <user>", "PostgreSQL user (default: $PGUSER, else postgres)")
  .option("--password-file <file>", "read the password from this file (default: $PGPASSWORD or ~/.pgpass)")
  .option("--pg-bin <dir>", "folder holding pg_dump, pg_restore and psql (default: newest /usr/lib/postgresql/<major>/bin, else PATH)")
  .option("--sealed-secrets-keys <file>", "copy this Sealed Secrets key backup into the backup folder (mode 0600)")
  .option("--keep <n>", "keep only the n newest backup folders in --dir")
  .option("--volume <name>", "instead of pg_dump: back up this volume off the node now through its VolSync ReplicationSource and wait (repeatable; 'all' for every volume)", repeatable, [])
  .option("--kubeconfig <file>", "cluster access for --volume (default: $KUBECONFIG or ~/.kube/config)")
  .option("--context <name>", "kubeconfig context")
  .option("--timeout <duration>", "with --volume: how long to wait for each run, e.g. 30m", "1h")
  .option("--dry-run", "contact nothing, write nothing; print what would be dumped")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/backup.js")).backupCommand(root, opts)));

program
  .command("restore")
  .description("verify a backup's checksums, pg_restore its databases, then verify table row counts against its manifest")
  .argument("[backup-dir]", "a folder written by `bk backup` (or the folder holding them: the newest is used); not with --volume")
  .option("--database <name>", "restore only this database (repeatable; default: every database in the backup)", repeatable, [])
  .option("--into-existing", "clean and refill the existing database in one transaction instead of dropping and recreating it")
  .option("--no-owner", "do not restore ownership and grants (when the roles do not exist on the target)")
  .option("--host <host>", "PostgreSQL host (default: $PGHOST, else the definition's postgres LoadBalancer IP)")
  .option("--port <port>", "PostgreSQL port (default: $PGPORT, else the definition's)")
  .option("--user <user>", "PostgreSQL user (default: $PGUSER, else postgres)")
  .option("--password-file <file>", "read the password from this file (default: $PGPASSWORD or ~/.pgpass)")
  .option("--pg-bin <dir>", "folder holding pg_dump, pg_restore and psql")
  .option(
    "--volume <name>",
    "instead of a database backup: restore this volume's newest snapshot (or --as-of) from its restic repository into its claim, through a VolSync ReplicationDestination; the workload must be stopped",
  )
  .option("--as-of <time>", "with --volume: the newest snapshot taken at or before this RFC 3339 time")
  .option("--kubeconfig <file>", "cluster access for --volume (default: $KUBECONFIG or ~/.kube/config)")
  .option("--context <name>", "kubeconfig context")
  .option("--timeout <duration>", "with --volume: how long to wait for the restore, e.g. 30m", "1h")
  .option("--dry-run", "verify checksums and print the pg_restore commands; touch no database (with --volume: print the ReplicationDestination)")
  .option("--json", "machine-readable output")
  .action((dir, opts) => run(async (root) => (await import("./commands/restore.js")).restoreCommand(root, dir, opts)));

const certs = program
  .command("certs")
  .description("read the certificate each TLS endpoint serves; compare SANs and expiry with the definition (and trust with --ca)")
  .option("--ca <file>", "also verify the served chain against this CA certificate (PEM)")
  .option("--target <endpoint=host:port>", "check this endpoint at another address, e.g. registry=127.0.0.1:8443 (repeatable)", repeatable, [])
  .option("--only <endpoint>", "check only this endpoint or certificate (repeatable)", repeatable, [])
  .option("--timeout <ms>", "TLS handshake timeout per endpoint", "10000")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/certs.js")).certsCommand(root, opts)));

certs
  .command("renew")
  .description("have cert-manager reissue a certificate (default: those failing `bk certs`), then wait until the endpoint serves the new one")
  .argument("[name]", "certificate name or endpoint id, e.g. registry-tls or registry")
  .option("--all", "renew every served certificate")
  .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
  .option("--context <name>", "kubeconfig context")
  .option("--ca <file>", "verify the new chain against this CA certificate (PEM)")
  .option("--target <endpoint=host:port>", "read the served certificate at another address (repeatable)", repeatable, [])
  .option("--wait <seconds>", "how long to wait for the new certificate to be served", "300")
  .option("--timeout <ms>", "TLS handshake timeout per endpoint", "10000")
  .option("--dry-run", "read the Certificates from the cluster and say what would be reissued; change nothing")
  .option("--json", "machine-readable output")
  .action((name, opts) => run(async (root) => (await import("./commands/certs.js")).certsRenewCommand(root, name, opts)));

const ips = program
  .command("ips")
  .description("check that this host routes to every pinned LoadBalancer address, and compare the live addresses of the cluster's Services with the definition")
  .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
  .option("--context <name>", "kubeconfig context")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/ips.js")).ipsCommand(root, opts)));

ips
  .command("scan")
  .description("find every platform address (the pool's /24, known stale ones) in text files and say whose it is now")
  .argument("<paths...>", "files or folders to scan (e.g. the application repositories)")
  .option("--stale <address>", "also report this old address (repeatable; 192.168.1.18 is always included)", repeatable, [])
  .option("--json", "machine-readable output")
  .action((paths, opts) => run(async (root) => (await import("./commands/ips.js")).ipsScanCommand(root, paths, opts)));

ips
  .command("sync")
  .description("rewrite one address to another in the definition and in every application's repository, after showing the diff")
  .requiredOption("--from <old>", "the address to replace")
  .requiredOption("--to <new>", "the address to write instead")
  .option("--repos <dirs...>", "rewrite these repository folders instead of each application's sourceRepository")
  .option("--no-definition", "leave the definition alone; rewrite only the repositories")
  .option("--yes", "write without asking")
  .option("--dry-run", "print the diff; write nothing")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/ips.js")).ipsSyncCommand(root, opts)));

program
  .command("trust")
  .description("install the cluster CA on this build host (Docker, Podman/Buildah, system store) and on the Minikube node")
  .option("--ca <file>", "the CA certificate (default: read secret cert-manager/beckerkube-ca from the cluster)")
  .option("--kubeconfig <file>", "kubeconfig for reading the CA (default: $KUBECONFIG or ~/.kube/config)")
  .option("--context <name>", "kubeconfig context")
  .option("--profile <name>", "Minikube profile (default: the definition's)")
  .option("--no-host", "leave this build host alone; only the node")
  .option("--no-node", "leave the Minikube node alone; only this host")
  .option("--root-prefix <dir>", "write host files under this folder instead of / (host commands are skipped)")
  .option("--print", "print the exact commands instead of running them")
  .option("--dry-run", "same as --print")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/trust.js")).trustCommand(root, opts)));

program
  .command("bootstrap")
  .description("rebuild the cluster from the definition: ordered, idempotent, resumable (state in .bk/bootstrap-state.json)")
  .option("--sealed-secrets-key <file>", "Sealed Secrets key backup restored before Flux starts anything (required unless --new-key)")
  .option("--new-key", "start without a key backup: a new key is generated and EVERY SealedSecret must be resealed")
  .option("--git-key <file>", "private SSH key (deploy key) Flux uses to read the Git repository")
  .option("--flux-version <version>", "Flux release to install (default: the pinned one)")
  .option("--canary <app/component>", "component deployed and checked before the rest (default: the simplest one, e.g. ffl/redis)")
  .option("--images <dir>", "an `bk images export` folder: the application images restored into the new registry before the applications start")
  .option("--images-from-oci-dir <dir>", "mirror the third-party images from this folder of OCI archives instead of their upstream registries (offline hosts)")
  .option("--target <kind>", "minikube: make the node network and start the profile; existing: a cluster that runs already, reached by --kubeconfig/--context (its nodes' trust is yours)", "minikube")
  .option("--kubeconfig <file>", "with --target existing: the cluster's kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
  .option("--context <name>", "with --target existing: kubeconfig context")
  .option("--registry <host:port>", "refill the private registry at this address instead of the definition's (e.g. through a port-forward)")
  .option("--chartmuseum-url <url>", "upload the chart to ChartMuseum at this URL instead of the definition's endpoint")
  .option("--profile <name>", "bring up this profile's cluster (definition/cluster.yaml `profiles`, e.g. ha: minikube --nodes N, Flux at clusters/<name>)")
  .option("--state <file>", "state file (default: .bk/bootstrap-state.json)")
  .option("--fresh", "ignore the recorded progress and check every step again")
  .option("--dry-run", "print the ordered plan with every command; run nothing")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/bootstrap.js")).bootstrapCommand(root, opts)));

program
  .command("doctor")
  .description("pre-flight checklist for a rebuild or a release: registry certificate, build-host and node trust, SealedSecrets decrypt, CNI, key backup")
  .option("--ca <file>", "the cluster CA (PEM)")
  .option("--key-backup <file>", "the Sealed Secrets key backup (from `bk secrets backup`)")
  .option("--max-key-backup-age <days>", "a key backup older than this fails", "7")
  .option("--node", "also test-pull an image on the Minikube node (`minikube ssh`)")
  .option("--pull-image <ref>", "image to test-pull on the node (default: the first component's)")
  .option("--target <endpoint=host:port>", "reach an endpoint at another address, e.g. registry=127.0.0.1:5000 (repeatable)", repeatable, [])
  .option("--host-root <dir>", "where the build host's trust folders live (tests)", "/")
  .option("--kubeconfig <file>", "kubeconfig for the canary check (default: $KUBECONFIG, else ~/.kube/config; none: the check is skipped)")
  .option("--context <name>", "kubeconfig context")
  .option("--canary <app/component>", "the component whose HelmRelease and pod prove the path (default: the one bk bootstrap uses)")
  .option("--json", "machine-readable output")
  .action((opts) => run(async (root) => (await import("./commands/doctor.js")).doctorCommand(root, opts)));

// With positional options, an option of bk itself is only read before the command; --root is accepted after it too.
const withRoot = (cmd: Command): void => {
  for (const sub of cmd.commands) {
    sub.option(ROOT_FLAG, ROOT_HELP);
    withRoot(sub);
  }
};
withRoot(program);
