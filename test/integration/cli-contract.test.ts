/**
 * The CLI contract the README states, command by command, through the real `bk`: one gate before anything is
 * written, exit codes by error type (in --json too), --dry-run where state changes, the default kubeconfig.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import http from "node:http";
import os from "node:os";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { isMap, type Document } from "yaml";
import { program } from "../../src/cli/program.js";
import { runBk, runBkAsync } from "../helpers/cli.js";
import { REPO_ROOT, tempDefinition } from "../helpers/definition.js";
import { scratchDirs } from "../helpers/scratch.js";

const { adopt } = scratchDirs();

/** 1-based line of the first line of `file` under `root` matching `re`. */
const lineOf = (root: string, file: string, re: RegExp) =>
  readFileSync(path.join(root, file), "utf8")
    .split("\n")
    .findIndex((l) => re.test(l)) + 1;

const backendEnv = (d: { apps: Record<string, Document> }, env: Record<string, string>) => {
  const backend = d.apps.ffl!.getIn(["components", "backend"]);
  assert.ok(isMap(backend));
  backend.set("env", d.apps.ffl!.createNode(env));
};

describe("one gate: bk synth refuses what bk plan refuses", () => {
  const root = adopt(tempDefinition((d) => backendEnv(d, { AWS_KEY: "AKIAIOSFODNN7EXAMPLE" })));
  const at = `definition/apps/ffl.yaml:${lineOf(root, "definition/apps/ffl.yaml", /AWS_KEY/)}`;

  it("a credential literal in an app's env: plan exits 1, synth exits 1 and writes nothing, both at the definition line", () => {
    const plan = runBk(["--root", root, "plan", "--no-kustomize"]);
    assert.equal(plan.status, 1);
    const synth = runBk(["--root", root, "synth", "--no-kustomize"]);
    assert.equal(synth.status, 1, synth.stdout + synth.stderr);
    for (const out of [plan.stderr, synth.stderr]) {
      assert.ok(
        out.includes(
          `error [secrets/credential-literal] ${at} components.backend.env.AWS_KEY: holds what looks like an AWS access key id, written in plaintext\n` +
            "    fix: declare the value under this application's `secrets`, reference it from the component's `secretEnv` (NAME: <secret>/<key>) instead of `env`, then `bk secrets set` and `bk secrets seal` it\n" +
            "    generated: apps/ffl/backend.yaml HelmRelease/ffl/ffl-backend spec.values.env.AWS_KEY\n",
        ),
        out,
      );
    }
    assert.match(synth.stderr, /^bk synth: 1 error\(s\) in the generated tree \(the checks of `bk plan`\); nothing was written$/m);
    assert.deepEqual(readdirSync(root), ["definition"]);
  });

  it("synth --check and --dry-run fail on it too; --json says ok false with the findings", () => {
    assert.equal(runBk(["--root", root, "synth", "--check", "--no-kustomize"]).status, 1);
    assert.equal(runBk(["--root", root, "synth", "--dry-run", "--no-kustomize"]).status, 1);
    const r = runBk(["--root", root, "synth", "--json", "--no-kustomize"]);
    assert.equal(r.status, 1);
    const j = JSON.parse(r.stdout);
    assert.equal(j.ok, false);
    assert.equal(j.written, false);
    assert.equal(j.errors, 1);
    const f = j.findings.find((x: { severity: string }) => x.severity === "error");
    assert.equal(f.file, "definition/apps/ffl.yaml");
    assert.equal(f.field, "components.backend.env.AWS_KEY");
    assert.deepEqual(f.generated, { file: "apps/ffl/backend.yaml", object: "HelmRelease/ffl/ffl-backend", field: "spec.values.env.AWS_KEY" });
    assert.deepEqual(readdirSync(root), ["definition"]);
  });

  it("bk secrets seal, which regenerates the tree, refuses it too: exit 1, no value stored, nothing written", () => {
    const values = path.join(adopt(mkdtempSync(path.join(os.tmpdir(), "bk-values-"))), "secret-values.yaml");
    const cert = path.join(REPO_ROOT, "test/fixtures/sealed-secrets/TEST-ONLY-current-cert.pem");
    const r = runBk(["--root", root, "secrets", "seal", "ffl/ffl-backend", "--cert", cert, "--allow-test-key", "--values", values]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`error [secrets/credential-literal] ${at} components.backend.env.AWS_KEY: holds what looks like an AWS access key id, written in plaintext\n`), r.stderr);
    assert.match(r.stderr, /^bk secrets seal: 1 problem\(s\); nothing was written$/m);
    assert.equal(existsSync(values), false);
    assert.deepEqual(readdirSync(root), ["definition"]);
  });

  it("a harmless env value passes the gate and is written", () => {
    const ok = adopt(tempDefinition((d) => backendEnv(d, { LOG_LEVEL: "debug" })));
    const r = runBk(["--root", ok, "synth", "--no-kustomize"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(path.join(ok, "apps/ffl/backend.yaml"), "utf8"), /LOG_LEVEL: debug/);
    assert.ok(existsSync(path.join(ok, "docs/architecture.md")));
  });
});

describe("unknown commands are bad input (exit 2), --help or not", () => {
  // From the program itself, so a new command needs no edit here; the order is commander's, as its message lists them.
  const ROOT_COMMANDS = program.commands.map((c) => c.name()).join(", ");
  for (const [args, message] of [
    [["nosuch"], `error: unknown command 'nosuch' (commands: ${ROOT_COMMANDS})`],
    [["nosuch", "--help"], `error: unknown command 'nosuch' (commands: ${ROOT_COMMANDS})`],
    [["help", "nosuch"], `error: unknown command 'nosuch' (commands: ${ROOT_COMMANDS})`],
    [["--root", "/tmp", "nosuch", "--help"], `error: unknown command 'nosuch' (commands: ${ROOT_COMMANDS})`],
    [["secrets", "nosuch", "--help"], "error: unknown command 'nosuch' for 'bk secrets' (commands: list, set, seal, verify, backup, reseal)"],
    [["help", "secrets", "nosuch"], "error: unknown command 'nosuch' for 'bk secrets' (commands: list, set, seal, verify, backup, reseal)"],
    [["ips", "nosuch"], "error: unknown command 'nosuch' for 'bk ips' (commands: scan, sync)"],
    // A group alone is a missing subcommand, named, not its help with exit 0.
    [["secrets"], "error: 'bk secrets' needs a subcommand: list, set, seal, verify, backup, reseal (bk secrets --help says what each does)"],
    [["chart"], "error: 'bk chart' needs a subcommand: push (bk chart --help says what each does)"],
    [["--root", "/tmp", "notify"], "error: 'bk notify' needs a subcommand: receiver-url (bk notify --help says what each does)"],
  ] as const) {
    it(`bk ${args.join(" ")}`, () => {
      const r = runBk([...args]);
      assert.equal(r.status, 2, r.stdout);
      assert.equal(r.stderr.split("\n")[0], message);
      assert.equal(r.stdout, "");
    });
  }

  it("known commands still show their help with exit 0", () => {
    for (const args of [
      ["secrets", "seal", "--help"],
      ["secrets", "--help"],
      ["help", "plan"],
      ["--root", "/tmp", "certs", "renew", "--help"],
    ]) {
      const r = runBk(args);
      assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: bk /);
    }
  });
});

describe("--json prints errors as JSON too", () => {
  const { tmp } = scratchDirs();

  it("bk plan --json without a definition: the error, its kind and exit code, and the findings", () => {
    const root = tmp("bk-nodef-");
    const r = runBk(["--root", root, "plan", "--json"]);
    assert.equal(r.status, 2);
    const j = JSON.parse(r.stdout);
    assert.deepEqual({ ok: j.ok, error: j.error, kind: j.kind, exitCode: j.exitCode }, { ok: false, error: "1 problem(s) in the definition; nothing was written", kind: "bad-input", exitCode: 2 });
    assert.deepEqual(j.findings, [
      {
        rule: "definition/file-missing",
        severity: "error",
        message: `no definition/ folder in ${root} (nor in a folder above it)`,
        fix: "run bk inside the repository (or a folder below it), or pass --root <dir>; the files and their fields are in docs/definition.md",
        file: "definition/",
      },
    ]);
    assert.match(r.stderr, /^bk plan: 1 problem\(s\) in the definition; nothing was written$/m);
  });

  it("bk plan --json with a definition folder that lacks its files: one finding per file", () => {
    const root = tmp("bk-nodef-");
    mkdirSync(path.join(root, "definition"));
    const r = runBk(["--root", root, "plan", "--json"]);
    assert.equal(r.status, 2);
    const j = JSON.parse(r.stdout);
    assert.equal(j.error, "2 problem(s) in the definition; nothing was written");
    assert.deepEqual(
      j.findings.map((f: { rule: string; file: string; fix: string }) => `${f.rule} ${f.file}: ${f.fix}`),
      [
        "definition/file-missing definition/cluster.yaml: create definition/cluster.yaml (see docs/definition.md)",
        "definition/file-missing definition/infrastructure.yaml: create definition/infrastructure.yaml (see docs/definition.md)",
      ],
    );
  });

  it("a flag commander refuses, with --json", () => {
    const r = runBk(["plan", "--json", "--frobnicate"]);
    assert.equal(r.status, 2);
    assert.deepEqual(JSON.parse(r.stdout), { ok: false, error: "unknown option '--frobnicate'", kind: "bad-input", exitCode: 2 });
  });

  it("a command's own refusal, with --json", () => {
    const r = runBk(["status", "--watch", "0", "--json"]);
    assert.equal(r.status, 2);
    assert.deepEqual(JSON.parse(r.stdout), { ok: false, error: "--watch takes seconds, e.g. --watch 5", kind: "bad-input", exitCode: 2 });
    assert.equal(r.stderr, "bk status: --watch takes seconds, e.g. --watch 5\n");
  });
});

describe("the default kubeconfig, everywhere: --kubeconfig, else $KUBECONFIG, else ~/.kube/config", () => {
  const { tmp } = scratchDirs();
  const home = tmp("bk-home-");
  const noCluster = (env: NodeJS.ProcessEnv, args: string[]) => runBk(args, { env: { HOME: home, KUBECONFIG: "", ...env } });
  const looked = `no cluster is configured: looked at --kubeconfig (not given), $KUBECONFIG (not set), ${home}/.kube/config (no such file)\n  fix: pass --kubeconfig <file> (and --context <name>), or set KUBECONFIG; \`minikube start\` writes ~/.kube/config`;

  for (const [args, prefix] of [
    [["status"], "bk status: "],
    [["ips"], "bk ips: "],
    [["certs", "renew", "--all"], "bk certs renew: cannot use the cluster: "],
  ] as const) {
    it(`bk ${args.join(" ")} with no kubeconfig anywhere: exit 3 naming the places looked at`, () => {
      const r = noCluster({}, [...args]);
      assert.equal(r.status, 3, r.stdout + r.stderr);
      assert.equal(r.stderr, `${prefix}${looked}\n`);
    });
  }

  it("bk ips --json: the same, as JSON; a $KUBECONFIG naming missing files says so", () => {
    const r = noCluster({ KUBECONFIG: "/nope/a:/nope/b" }, ["ips", "--json"]);
    assert.equal(r.status, 3);
    const j = JSON.parse(r.stdout);
    assert.equal(j.kind, "unavailable");
    assert.equal(j.exitCode, 3);
    assert.match(j.error, /^no cluster is configured: looked at --kubeconfig \(not given\), \$KUBECONFIG \(\/nope\/a:\/nope\/b: no such files\)\n/);
  });

  it("a --kubeconfig that does not exist is bad input (exit 2)", () => {
    const r = noCluster({}, ["ips", "--kubeconfig", "/nope/config"]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "bk ips: --kubeconfig /nope/config: no such file\n");
  });

  it("bk status reads ~/.kube/config when neither --kubeconfig nor $KUBECONFIG is given", () => {
    const withConfig = tmp("bk-home-");
    mkdirSync(path.join(withConfig, ".kube"));
    // A cluster at a port nothing listens on: the API check must try it, and say so.
    writeFileSync(
      path.join(withConfig, ".kube/config"),
      "apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: 'https://127.0.0.1:9' } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n",
    );
    const away = ["registry", "chartmuseum", "postgres", "registry-tls", "ingress-tls", "gateway-tls"].map((e) => `${e}=127.0.0.1:9`);
    const r = runBk(["status", "--json", "--endpoint", ...away], { env: { HOME: withConfig, KUBECONFIG: "" } });
    assert.equal(r.status, 1, r.stderr);
    const api = JSON.parse(r.stdout).checks.find((c: { area: string }) => c.area === "api");
    assert.equal(api.health, "fail");
    assert.match(api.detail, /^cannot read the cluster: .*fetch failed/);
  });
});

describe("a definition file that is no file of fields: a clear bad-input error naming the path", () => {
  it("a folder, an empty file, plain text, a list, broken YAML: each reported at its file with what to do (exit 2)", () => {
    const root = adopt(tempDefinition());
    rmSync(path.join(root, "definition/cluster.yaml"));
    mkdirSync(path.join(root, "definition/cluster.yaml"));
    writeFileSync(path.join(root, "definition/apps/empty.yaml"), "# nothing yet\n");
    writeFileSync(path.join(root, "definition/apps/text.yaml"), "just some text\n");
    writeFileSync(path.join(root, "definition/apps/list.yaml"), "- a\n- b\n");
    writeFileSync(path.join(root, "definition/apps/broken.yaml"), "name: x\ncomponents: [unclosed\n");
    const r = runBk(["--root", root, "synth"]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(
      r.stderr,
      [
        "error [definition/unreadable] definition/cluster.yaml: definition/cluster.yaml is a folder, not a YAML file",
        `    fix: replace the folder ${root}/definition/cluster.yaml with the YAML file (see docs/definition.md)`,
        "error [definition/yaml] definition/apps/broken.yaml:3: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
        "    fix: correct the YAML syntax at that line",
        "error [definition/not-a-mapping] definition/apps/empty.yaml:1: the file is empty",
        "    fix: write the definition's fields here as `field: value` lines (see docs/definition.md), or delete the file",
        "error [definition/not-a-mapping] definition/apps/list.yaml:1: the file holds a list, where a mapping of fields (`field: value` lines) belongs",
        "    fix: write the definition's fields as `field: value` lines (see docs/definition.md)",
        "error [definition/not-a-mapping] definition/apps/text.yaml:1: the file holds plain text, where a mapping of fields (`field: value` lines) belongs",
        "    fix: write the definition's fields as `field: value` lines (see docs/definition.md)",
        "bk synth: 5 problem(s) in the definition; nothing was written",
        "",
      ].join("\n"),
    );
    assert.deepEqual(readdirSync(root), ["definition"]);
  });

  it("a file where the apps folder belongs", () => {
    const root = adopt(tempDefinition());
    rmSync(path.join(root, "definition/apps"), { recursive: true });
    writeFileSync(path.join(root, "definition/apps"), "");
    const r = runBk(["--root", root, "plan", "--json"]);
    assert.equal(r.status, 2);
    assert.deepEqual(JSON.parse(r.stdout), {
      ok: false,
      error: "definition/apps is a file, where the folder of application files (one <app>.yaml each) belongs; see docs/definition.md",
      kind: "bad-input",
      exitCode: 2,
    });
  });
});

describe("bk docs: --dry-run writes nothing; the field reference is generated and checked", () => {
  it("--dry-run says what would be written and writes nothing; --check fails on it; bk docs writes it", () => {
    const root = adopt(tempDefinition());
    const dry = runBk(["--root", root, "docs", "--dry-run"]);
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(dry.stderr, "bk docs: would write docs/architecture.md, docs/definition.md; nothing was written (dry run)\n");
    assert.match(dry.stdout, /^\+\+\+ b\/docs\/definition\.md/m);
    assert.deepEqual(readdirSync(root), ["definition"]);
    const json = JSON.parse(runBk(["--root", root, "docs", "--dry-run", "--json"]).stdout);
    assert.deepEqual({ ok: json.ok, stale: json.stale, written: json.written }, { ok: true, stale: ["docs/architecture.md", "docs/definition.md"], written: [] });
    const check = runBk(["--root", root, "docs", "--check"]);
    assert.equal(check.status, 1);
    assert.equal(check.stderr, "bk docs: stale: docs/architecture.md, docs/definition.md; run `bk docs` and commit them\n");
    const write = runBk(["--root", root, "docs"]);
    assert.equal(write.status, 0, write.stderr);
    assert.equal(write.stdout, "bk docs: wrote docs/architecture.md, docs/definition.md\n");
    assert.equal(runBk(["--root", root, "docs", "--check"]).status, 0);
  });

  it("docs/definition.md lists every field with its rule, from the schema the loader checks with", () => {
    const doc = readFileSync(path.join(REPO_ROOT, "docs/definition.md"), "utf8");
    for (const row of [
      "| `components.<name>.env` | mapping of name to string |  | `{}` |  |",
      "| `components.<name>.role` | string | yes |  | one of `backend`, `frontend`, `worker`, `bot`, `cache`, `agent` |",
      "| `components.<name>.route` | string |  |  | matches `^\\/[A-Za-z0-9/._~%!$&'()*+,;=:@-]*$` |",
      "| `network.loadBalancerPool.start` | string | yes |  | an IPv4 address such as 192.0.2.10 |",
    ]) {
      assert.ok(doc.includes(`${row}\n`), row);
    }
  });
});

describe("bk certs renew --dry-run reads the cluster and changes nothing", () => {
  const { tmp } = scratchDirs();
  const requests: string[] = [];
  let server: http.Server;
  let kubeconfig = "";

  before(async () => {
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader("content-type", "application/json");
      if (req.method === "GET" && req.url === "/apis/cert-manager.io/v1/namespaces/registry/certificates/registry-tls") {
        res.end(
          JSON.stringify({ apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: { name: "registry-tls", namespace: "registry" }, status: { revision: 3, conditions: [{ type: "Ready", status: "True" }] } }),
        );
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code: 404 }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    kubeconfig = path.join(tmp("bk-kube-"), "kubeconfig");
    const { port } = server.address() as AddressInfo;
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{ name: f, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: f, context: { cluster: f, user: u } }]\ncurrent-context: f\n`,
    );
  });
  after(() => server.close());

  it("says what it would do, exit 0, and only ever GETs", async () => {
    const r = await runBkAsync(["certs", "renew", "registry", "--dry-run", "--kubeconfig", kubeconfig]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "registry-tls: would have cert-manager reissue registry/registry-tls (Ready; forcing a reissue), then restart deployment registry/registry, and wait until 192.168.7.21:5000 serves it\n");
    assert.equal(r.stderr, "bk certs renew: dry run: nothing was changed in the cluster\n");
    assert.deepEqual(requests, ["GET /apis/cert-manager.io/v1/namespaces/registry/certificates/registry-tls"]);
  });

  it("a Certificate missing from the cluster is refused (exit 1), as JSON too", async () => {
    requests.length = 0;
    const r = await runBkAsync(["certs", "renew", "ingress-tls", "--dry-run", "--json", "--kubeconfig", kubeconfig]);
    assert.equal(r.status, 1, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.ok, false);
    assert.equal(j.dryRun, true);
    assert.match(j.renewals[0].message, /^Certificate ingress-nginx\/ingress-tls does not exist in the cluster/);
    assert.ok(requests.every((x) => x.startsWith("GET ")));
  });
});

describe("a subcommand's options are its own", () => {
  it("bk ips scan <path> --json is scan's --json (the parent bk ips has one too)", () => {
    const r = runBk(["ips", "scan", "docs/design.md", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ok, true);
  });

  it("--root before or after the command", () => {
    // Another cluster name, so the answer shows which definition was read (the working directory holds the real one).
    const root = adopt(tempDefinition((d) => d.cluster.setIn(["cluster", "name"], "elsewhere")));
    for (const args of [
      ["--root", root, "secrets", "list", "--json"],
      ["secrets", "list", "--root", root, "--json"],
      ["secrets", "--root", root, "list", "--json"],
    ]) {
      const r = runBk(args, { env: { BK_SECRET_VALUES: "" } });
      assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(JSON.parse(r.stdout).store.path, /\/beckerkube\/elsewhere\/secret-values\.yaml$/, args.join(" "));
    }
  });
});
