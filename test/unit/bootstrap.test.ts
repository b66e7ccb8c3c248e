/**
 * `bk bootstrap` with a RecordingRunner: the ordered plan, a recorded run in that order, and
 * resumption at the failed step for every step.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { bootstrapCommand, refillCommands, type BootstrapCliOptions } from "../../src/cli/commands/bootstrap.js";
import { loadDefinition } from "../../src/model/load.js";
import { bootstrapPlan, checkKeyBackup, defaultCanary, renderCommand, type BootstrapStep } from "../../src/workflows/bootstrap.js";
import { formatCommand, RecordingRunner, type RecordedCall, type Responder, type RunResult } from "../../src/adapters/runner.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { capture } from "../helpers/capture.js";

const model = loadDefinition(REPO_ROOT).model;
const KEY = path.join(REPO_ROOT, "test/fixtures/sealed-secrets/TEST-ONLY-key-backup.yaml");
const temps: string[] = [];
after(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
/** A temporary repository root with the real definition: state, CA file and .bk/ stay out of the checkout. */
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "bk-bootstrap-"));
  temps.push(d);
  cpSync(path.join(REPO_ROOT, "definition"), path.join(d, "definition"), { recursive: true });
  mkdirSync(path.join(d, "clusters/minikube/flux-system"), { recursive: true });
  cpSync(path.join(REPO_ROOT, "clusters/minikube/flux-system/gotk-sync.yaml"), path.join(d, "clusters/minikube/flux-system/gotk-sync.yaml"));
  return d;
};

const ORDER = [
  "tools",
  "node-network",
  "minikube",
  "node-address",
  "sealed-secrets-key",
  "flux-install",
  "git-secret",
  "flux-sync",
  "source",
  "hold-apps",
  "infra-controllers",
  "infra-configs",
  "trust-node",
  "refill",
  "release-apps",
  "canary",
  "apps",
];
/** The step with this id (tests name steps, not positions). */
const byId = (steps: readonly BootstrapStep[], id: string): BootstrapStep => steps.find((s) => s.id === id) ?? assert.fail(`no step ${id}`);
const CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

/** The plan `bk bootstrap` builds for the temporary root `root` (same options as opts() below). */
function planFor(root: string, extra: Partial<Parameters<typeof bootstrapPlan>[1]> = {}): BootstrapStep[] {
  return bootstrapPlan(model, {
    root,
    canary: defaultCanary(model).id,
    sealedSecretsKey: KEY,
    sealedSecretsKeyNames: checkKeyBackup(KEY),
    gitKey: "/keys/deploy",
    caFile: path.join(root, ".bk/beckerkube-ca.crt"),
    refill: refillCommands(root, {}),
    ...extra,
  });
}

/**
 * A cluster where nothing is done yet: every check fails, every command succeeds, the CA secret
 * read returns a certificate. `failOn` makes the first command of that step fail.
 */
function freshCluster(steps: BootstrapStep[], failOn?: string): RecordingRunner {
  return new RecordingRunner(freshResponder(steps, failOn));
}

function freshResponder(steps: BootstrapStep[], failOn?: string): Responder {
  const checks = new Set(steps.filter((s) => s.check).map((s) => renderCommand(s.check!.command)));
  const firstOf = new Map(steps.map((s) => [s.id, s.commands[0] && formatCommand(s.commands[0].cmd, s.commands[0].args)]));
  return (c: RecordedCall): RunResult | undefined => {
    const line = formatCommand(c.cmd, c.args);
    if (checks.has(line)) return { code: 1, stdout: "", stderr: "NotFound" };
    if (failOn && line === firstOf.get(failOn)) return { code: 1, stdout: "", stderr: `simulated failure in ${failOn}` };
    if (line === "minikube -p beckerkube ip") return { code: 0, stdout: "192.168.7.2\n", stderr: "" };
    if (line.includes("get secret beckerkube-ca")) return { code: 0, stdout: Buffer.from(CA_PEM).toString("base64"), stderr: "" };
    return undefined;
  };
}

/** The calls a step makes on a fresh cluster: its check (if any), then its commands. */
function callsOf(s: BootstrapStep): string[] {
  return [...(s.check ? [renderCommand(s.check.command)] : []), ...s.commands.map((c) => formatCommand(c.cmd, c.args))];
}

const opts = (dir: string, more: BootstrapCliOptions = {}): BootstrapCliOptions => ({ sealedSecretsKey: KEY, gitKey: "/keys/deploy", state: path.join(dir, "state.json"), json: true, ...more });

describe("bootstrap plan", () => {
  it("is ordered: Minikube, the Sealed Secrets key before Flux, Flux, Git, sync, infrastructure in order, node trust, canary, apps", () => {
    const steps = planFor(tmp());
    assert.deepEqual(
      steps.map((s) => s.id),
      ORDER,
    );
    const start = steps[2]!.commands[0]!;
    assert.equal(
      formatCommand(start.cmd, start.args),
      "minikube start -p beckerkube --driver=docker --cpus=6 --memory=16g --disk-size=120g --kubernetes-version=v1.34.1 --cni=calico --container-runtime=containerd --network=beckerkube --static-ip=192.168.7.2",
    );
    assert.equal(formatCommand(steps[4]!.commands[0]!.cmd, steps[4]!.commands[0]!.args), `kubectl --context beckerkube apply -n kube-system -f ${KEY}`);
    // Done only when the backup's own keys exist, not any key the controller may have made.
    assert.equal(renderCommand(steps[4]!.check!.command), "kubectl --context beckerkube -n kube-system get secret sealed-secrets-key-test-only-current sealed-secrets-key-test-only-previous -o name");
    assert.equal(formatCommand(steps[5]!.commands[0]!.cmd, steps[5]!.commands[0]!.args), "flux install --version=v2.9.4 --context beckerkube");
    // Flux counts as installed only with the gate that lets a new revision cancel a running health check.
    assert.match(renderCommand(steps[5]!.commands[1]!), /patch deployment kustomize-controller .*CancelHealthCheckOnNewRevision=true/);
    const installed = steps[5]!.check!.expect!;
    assert.ok(installed.test('v2.9.4 ["--events-addr=http://notification-controller.flux-system.svc.cluster.local./","--feature-gates=CancelHealthCheckOnNewRevision=true"]'));
    assert.ok(!installed.test('v2.9.4 ["--events-addr=http://notification-controller.flux-system.svc.cluster.local./"]'));
    assert.ok(!installed.test('v2.8.0 ["--feature-gates=CancelHealthCheckOnNewRevision=true"]'));
    assert.match(renderCommand(byId(steps, "flux-sync").commands[0]!), /kubectl --context beckerkube apply -f .*\/clusters\/minikube\/flux-system\/gotk-sync\.yaml$/);
    assert.match(renderCommand(byId(steps, "infra-controllers").commands[1]!), /wait kustomization\/infra-controllers --for=condition=Ready/);
    assert.match(renderCommand(byId(steps, "infra-configs").commands[1]!), /wait kustomization\/infra-configs --for=condition=Ready/);
    assert.match(renderCommand(byId(steps, "trust-node").commands.at(-1)!), /minikube -p beckerkube ssh -- sudo systemctl restart containerd/);
    assert.match(renderCommand(byId(steps, "canary").commands[1]!), /-n ffl wait helmrelease\/ffl-redis --for=condition=Ready/);
  });

  it("creates the node network from the definition, then starts the node on it at its static address", () => {
    const steps = planFor(tmp());
    const net = steps[1]!;
    assert.equal(
      renderCommand(net.commands[0]!),
      "docker network create --driver=bridge --subnet=192.168.7.0/24 --gateway=192.168.7.1 -o com.docker.network.bridge.name=beckerkube --aux-address=lb0=192.168.7.17 --aux-address=lb1=192.168.7.18 --aux-address=lb2=192.168.7.19 --aux-address=lb3=192.168.7.20 --aux-address=lb4=192.168.7.21 beckerkube",
    );
    assert.equal(renderCommand(net.check!.command), "docker network inspect beckerkube '--format={{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}'");
    // An existing network counts only with the definition's subnet and gateway.
    assert.ok(net.check!.expect!.test("192.168.7.0/24 192.168.7.1"));
    assert.ok(!net.check!.expect!.test("192.168.49.0/24 192.168.49.1"));
    assert.ok(!net.check!.expect!.test("192.168.7.0/240 192.168.7.1"));
    const start = steps[2]!.commands[0]!;
    assert.deepEqual(start.args.slice(-2), ["--network=beckerkube", "--static-ip=192.168.7.2"]);
    assert.equal(renderCommand(steps[3]!.commands[0]!), "minikube -p beckerkube ip");
    assert.ok(steps[3]!.commands[0]!.expectStdout!.pattern.test("192.168.7.2"));
    assert.ok(!steps[3]!.commands[0]!.expectStdout!.pattern.test("192.168.49.2"));
    assert.ok(!steps[3]!.commands[0]!.expectStdout!.pattern.test("192.168.7.23"));
    assert.equal(renderCommand(steps[0]!.commands.at(-1)!), "docker --version");
  });

  it("with the podman driver, podman makes the network", () => {
    const podman = { ...model, cluster: { ...model.cluster, profile: { ...model.cluster.profile, driver: "podman" as const } } };
    const steps = bootstrapPlan(podman, { root: tmp(), canary: "ffl/redis", newKey: true });
    assert.equal(renderCommand(steps[1]!.commands[0]!), "podman network create --driver=bridge --subnet=192.168.7.0/24 --gateway=192.168.7.1 --interface-name=beckerkube beckerkube");
    assert.equal(renderCommand(steps[1]!.check!.command), "podman network inspect beckerkube '--format={{range .Subnets}}{{.Subnet}} {{.Gateway}}{{end}}'");
    assert.match(renderCommand(steps[2]!.commands[0]!), /--driver=podman .* --network=beckerkube --static-ip=192\.168\.7\.2$/);
  });

  it("holds the applications while ChartMuseum and the registry are refilled through bk itself, then lets them go", () => {
    const root = tmp();
    const steps = planFor(root, { refill: refillCommands(root, { images: "/backups/images", imagesFromOciDir: "/media/oci" }) });
    const ids = steps.map((s) => s.id);
    assert.ok(ids.indexOf("hold-apps") < ids.indexOf("infra-controllers") && ids.indexOf("trust-node") < ids.indexOf("refill"));
    assert.ok(ids.indexOf("refill") < ids.indexOf("release-apps") && ids.indexOf("release-apps") < ids.indexOf("canary"));
    assert.deepEqual(byId(steps, "hold-apps").commands.map(renderCommand), [
      "kubectl --context beckerkube -n flux-system wait kustomization/apps --for=create --timeout=5m",
      `kubectl --context beckerkube -n flux-system patch kustomization apps --type=merge '-p={"spec":{"suspend":true}}'`,
    ]);
    const ca = path.join(root, ".bk/beckerkube-ca.crt");
    const bk = (c: { args: string[] }) => c.args.slice(1).join(" ");
    assert.deepEqual(byId(steps, "refill").commands.map(bk), [
      `chart push --apps none --ca ${ca} --root ${root}`,
      `images import /backups/images --ca ${ca} --root ${root}`,
      `images mirror --ca ${ca} --from-oci-dir /media/oci --root ${root}`,
    ]);
    assert.ok(byId(steps, "refill").commands.every((c) => c.cmd === process.execPath && c.args[0]!.endsWith(path.join("bin", "bk.js"))));
    const release = byId(steps, "release-apps");
    assert.equal(renderCommand(release.commands[0]!), `kubectl --context beckerkube -n flux-system patch kustomization apps --type=merge '-p={"spec":{"suspend":false}}'`);
    assert.ok(release.check!.expect!.test("false") && release.check!.expect!.test("") && !release.check!.expect!.test("true"));
  });

  it("the default canary is the simplest component; --canary picks another and rejects unknown ones", () => {
    assert.equal(defaultCanary(model).id, "ffl/redis");
    assert.match(renderCommand(byId(planFor(tmp(), { canary: "triager/redis" }), "canary").commands[1]!), /-n triager wait helmrelease\/triager-redis/);
    assert.throws(() => planFor(tmp(), { canary: "ffl/nope" }), /--canary ffl\/nope: no such component/);
  });

  it("--dry-run prints every step with its commands and runs nothing", async () => {
    const dir = tmp();
    const runner = new RecordingRunner();
    const r = await capture(() => bootstrapCommand(dir, { ...opts(dir), dryRun: true }, { runner }));
    assert.equal(r.code, 0);
    assert.equal(runner.calls.length, 0);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(
      plan.steps.map((s: { id: string }) => s.id),
      ORDER,
    );
    assert.deepEqual(plan.steps[1].commands, [
      "docker network create --driver=bridge --subnet=192.168.7.0/24 --gateway=192.168.7.1 -o com.docker.network.bridge.name=beckerkube --aux-address=lb0=192.168.7.17 --aux-address=lb1=192.168.7.18 --aux-address=lb2=192.168.7.19 --aux-address=lb3=192.168.7.20 --aux-address=lb4=192.168.7.21 beckerkube",
    ]);
    assert.deepEqual(plan.steps[3].commands, ["minikube -p beckerkube ip"]);
    assert.deepEqual(plan.steps[2].commands, [
      "minikube start -p beckerkube --driver=docker --cpus=6 --memory=16g --disk-size=120g --kubernetes-version=v1.34.1 --cni=calico --container-runtime=containerd --network=beckerkube --static-ip=192.168.7.2",
    ]);
    assert.equal(
      plan.steps[ORDER.indexOf("trust-node")].commands[0],
      `kubectl --context beckerkube -n cert-manager get secret beckerkube-ca -o 'jsonpath={.data.ca\\.crt}' | base64 -d > ${path.join(dir, ".bk/beckerkube-ca.crt")}`,
    );
    const human = await capture(() => bootstrapCommand(dir, { ...opts(dir), json: false, dryRun: true }, { runner }));
    assert.match(human.stdout, / 5\. sealed-secrets-key: Restore the Sealed Secrets key into kube-system/);
    assert.match(human.stdout, /\$ flux install --version=v2\.9\.4 --context beckerkube/);
    assert.match(human.stdout, /\$ minikube start -p beckerkube .* --network=beckerkube --static-ip=192\.168\.7\.2\n/);
    assert.ok(!existsSync(path.join(dir, "state.json")));
  });
});

describe("bootstrap on an existing cluster (--target existing)", () => {
  const existing = (dir: string, more: BootstrapCliOptions = {}) => opts(dir, { target: "existing", kubeconfig: "/k/config", context: "lab", ...more });

  it("replaces the Minikube steps with a readiness check of the cluster and keeps every step after it", async () => {
    const dir = tmp();
    const r = await capture(() => bootstrapCommand(dir, { ...existing(dir), dryRun: true }, { runner: new RecordingRunner() }));
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as { steps: Array<{ id: string; commands: string[]; check?: string; warning?: string }> };
    const minikubeOnly = new Set(["node-network", "minikube", "node-address"]);
    assert.deepEqual(
      plan.steps.map((s) => s.id),
      ["tools", "cluster", ...ORDER.filter((id) => id !== "tools" && !minikubeOnly.has(id))],
    );
    const step = (id: string) => plan.steps.find((s) => s.id === id)!;
    assert.deepEqual(step("tools").commands, ["kubectl version --client"]);
    assert.deepEqual(step("cluster").commands, ["kubectl --kubeconfig /k/config --context lab get --raw=/readyz"]);
    // Every cluster command goes through the target's kubeconfig and context; none names the profile's context.
    const all = plan.steps.flatMap((s) => [...s.commands, ...(s.check ? [s.check] : [])]);
    assert.ok(!all.some((c) => c.includes("--context beckerkube")), all.join("\n"));
    assert.ok(!all.some((c) => /^minikube /.test(c)), all.join("\n"));
    assert.equal(step("flux-install").check, "kubectl --kubeconfig /k/config --context lab -n flux-system get kustomizations.v1.kustomize.toolkit.fluxcd.io -o name");
    assert.deepEqual(step("flux-install").commands, ["flux install --version=v2.9.4 --kubeconfig /k/config --context lab"]);
    // The CA is still saved for the refill, but no node is touched: that is said, not skipped silently.
    assert.equal(step("trust-node").commands.length, 1);
    assert.match(step("trust-node").warning!, /bk reaches no node of an existing cluster: each node's container runtime must trust .*beckerkube-ca\.crt for 192\.168\.7\.21:5000/);
  });

  it("--registry and --chartmuseum-url point the refill at other addresses", () => {
    const cmds = refillCommands("/r", { registry: "127.0.0.1:5001", chartmuseumUrl: "https://127.0.0.1:8443", images: "/exp", imagesFromOciDir: "/oci" }).map((c) => c.args.slice(1).join(" "));
    assert.deepEqual(cmds, [
      "chart push --apps none --ca /r/.bk/beckerkube-ca.crt --url https://127.0.0.1:8443 --root /r",
      "images import /exp --ca /r/.bk/beckerkube-ca.crt --registry 127.0.0.1:5001 --root /r",
      "images mirror --ca /r/.bk/beckerkube-ca.crt --registry 127.0.0.1:5001 --from-oci-dir /oci --root /r",
    ]);
  });

  it("an unknown target, or a kubeconfig given for Minikube, is bad input (exit 2) saying what fits", async () => {
    const dir = tmp();
    const bad = await capture(() => bootstrapCommand(dir, { ...opts(dir), target: "kind", dryRun: true }, { runner: new RecordingRunner() }));
    assert.equal(bad.code, 2);
    assert.match(JSON.parse(bad.stdout).error, /^--target kind: use one of minikube, existing$/);
    const mixed = await capture(() => bootstrapCommand(dir, { ...opts(dir), target: "minikube", kubeconfig: "/k", dryRun: true }, { runner: new RecordingRunner() }));
    assert.equal(mixed.code, 2);
    assert.match(JSON.parse(mixed.stdout).error, /--kubeconfig applies to --target existing; on Minikube bk uses the profile's own context/);
  });

  it("a cluster that is not ready stops the run at the cluster step (exit 1), saying how to point at one", async () => {
    const dir = tmp();
    const runner = new RecordingRunner((c) => (c.args.includes("--raw=/readyz") ? { code: 1, stdout: "", stderr: "connection refused" } : undefined));
    const r = await capture(() => bootstrapCommand(dir, existing(dir), { runner }));
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as { failedAt: string; error: string };
    assert.equal(out.failedAt, "cluster");
    assert.match(out.error, /connection refused[\s\S]*bk bootstrap --target existing starts no cluster: start it first, and point --kubeconfig\/--context at it/);
  });
});

describe("bootstrap run", () => {
  it("refuses to start without a key backup unless --new-key, and says so loudly", async () => {
    const dir = tmp();
    const runner = new RecordingRunner();
    const r = await capture(() => bootstrapCommand(dir, { ...opts(dir), sealedSecretsKey: undefined, json: false }, { runner, plain: true }));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /!!! REFUSING TO BOOTSTRAP WITHOUT THE SEALED SECRETS KEY/);
    assert.equal(runner.calls.length, 0, "nothing may run");
    // The dry run refuses exactly what the real run refuses, as JSON too.
    const dry = await capture(() => bootstrapCommand(dir, { ...opts(dir), sealedSecretsKey: undefined, dryRun: true, json: false }, { runner, plain: true }));
    assert.equal(dry.code, 2);
    assert.match(dry.stderr, /!!! REFUSING TO BOOTSTRAP WITHOUT THE SEALED SECRETS KEY/);
    assert.equal(dry.stdout, "");
    const dryJson = await capture(() => bootstrapCommand(dir, { ...opts(dir), sealedSecretsKey: undefined, dryRun: true, json: true }, { runner, plain: true }));
    assert.equal(dryJson.code, 2);
    const err = JSON.parse(dryJson.stdout) as { ok: boolean; error: string; exitCode: number };
    assert.equal(err.ok, false);
    assert.match(err.error, /REFUSING TO BOOTSTRAP WITHOUT THE SEALED SECRETS KEY.*--new-key/);
    assert.equal(runner.calls.length, 0, "nothing may run");

    const notAKey = path.join(dir, "not-a-key.yaml");
    writeFileSync(notAKey, "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n");
    const bad = await capture(() => bootstrapCommand(dir, { ...opts(dir), sealedSecretsKey: notAKey }, { runner, plain: true }));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /holds no Sealed Secrets key/);
    assert.deepEqual(checkKeyBackup(KEY), ["sealed-secrets-key-test-only-current", "sealed-secrets-key-test-only-previous"]);
  });

  it("--new-key runs without restoring a key and warns that every SealedSecret must be resealed", async () => {
    const dir = tmp();
    const steps = planFor(dir, { newKey: true, sealedSecretsKey: undefined, sealedSecretsKeyNames: undefined });
    const runner = freshCluster(steps);
    const r = await capture(() => bootstrapCommand(dir, { ...opts(dir), sealedSecretsKey: undefined, newKey: true, json: false }, { runner, plain: true }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /NO SEALED SECRETS KEY RESTORED[\s\S]*every secret must be re-created and resealed/i);
    assert.ok(!runner.lines().some((l) => l.includes("apply -n kube-system")));
    assert.match(r.stdout, /bk secrets seal --all/);
  });

  it("a recorded run executes the plan in order, and a rerun skips everything", async () => {
    const dir = tmp();
    const steps = planFor(dir);
    const runner = freshCluster(steps);
    const r = await capture(() => bootstrapCommand(dir, opts(dir), { runner }));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(runner.lines(), steps.flatMap(callsOf));
    const out = JSON.parse(r.stdout);
    assert.deepEqual(
      out.steps.map((s: { id: string; outcome: string }) => `${s.id}:${s.outcome}`),
      ORDER.map((id) => `${id}:ran`),
    );
    const state = JSON.parse(readFileSync(path.join(dir, "state.json"), "utf8"));
    assert.deepEqual(
      Object.keys(state.completed),
      ORDER.filter((id) => id !== "tools"),
    );

    const again = new RecordingRunner();
    const r2 = await capture(() => bootstrapCommand(dir, opts(dir), { runner: again }));
    assert.equal(r2.code, 0);
    assert.deepEqual(again.lines(), callsOf(steps[0]!), "only the tool check runs again");
  });

  it("skips a step whose check says it is done, without running its commands", async () => {
    const dir = tmp();
    const steps = planFor(dir);
    const base = freshResponder(steps);
    const runner = new RecordingRunner((c, i) => (c.cmd === "minikube" && c.args.includes("status") ? { code: 0, stdout: "Running/Running/Running\n", stderr: "" } : base(c, i)));
    const r = await capture(() => bootstrapCommand(dir, opts(dir), { runner }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).steps[2].outcome, "already-done");
    assert.ok(!runner.lines().some((l) => l.startsWith("minikube start")));
  });

  it("stops at the node network when minikube's own network of that name is on another subnet, saying what to do", async () => {
    const dir = tmp();
    const steps = planFor(dir);
    const base = freshResponder(steps);
    const runner = new RecordingRunner((c, i) => {
      const line = formatCommand(c.cmd, c.args);
      if (line.startsWith("docker network inspect beckerkube")) return { code: 0, stdout: "192.168.49.0/24 192.168.49.1\n", stderr: "" };
      if (line.startsWith("docker network create")) return { code: 1, stdout: "", stderr: "Error response from daemon: network with name beckerkube already exists\n" };
      return base(c, i);
    });
    const r = await capture(() => bootstrapCommand(dir, opts(dir), { runner }));
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assert.equal(out.failedAt, "node-network");
    assert.match(out.error, /network with name beckerkube already exists/);
    assert.match(
      out.error,
      /if network beckerkube exists with another subnet \(`docker network inspect beckerkube`\), it is minikube's own, from a profile made before network\.node: back up what the cluster holds \(`bk backup`\), `minikube delete -p beckerkube`, remove the network if it is still there, and run `bk bootstrap --fresh`$/,
    );
    assert.ok(!runner.lines().some((l) => l.startsWith("minikube start")));
  });

  it("stops when the profile runs at another address than the definition's (a profile from before network.node)", async () => {
    const dir = tmp();
    const steps = planFor(dir);
    const base = freshResponder(steps);
    const runner = new RecordingRunner((c, i) => (formatCommand(c.cmd, c.args) === "minikube -p beckerkube ip" ? { code: 0, stdout: "192.168.49.2\n", stderr: "" } : base(c, i)));
    const r = await capture(() => bootstrapCommand(dir, opts(dir), { runner }));
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assert.equal(out.failedAt, "node-address");
    assert.equal(
      out.error,
      "minikube -p beckerkube ip printed '192.168.49.2': the node of profile beckerkube is not at 192.168.7.2: the profile was made before network.node said so, and minikube gives --static-ip only to a new profile; back up what the cluster holds (`bk backup`), then `minikube delete -p beckerkube` and run `bk bootstrap --fresh`",
    );
    assert.ok(!runner.lines().some((l) => l.startsWith("kubectl --context")), "nothing is installed on a node at the wrong address");
  });

  it("without --git-key, stops at git-secret with what to pass (unless the secret exists)", async () => {
    const dir = tmp();
    const steps = planFor(dir, { gitKey: undefined });
    const runner = freshCluster(steps);
    const r = await capture(() => bootstrapCommand(dir, { ...opts(dir), gitKey: undefined }, { runner }));
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assert.equal(out.failedAt, "git-secret");
    assert.match(out.error, /pass --git-key <file>/);
    assert.ok(!runner.lines().some((l) => l.startsWith("flux create secret")));
  });

  for (const [k, id] of ORDER.entries()) {
    it(`a failure in step ${k + 1} (${id}) stops there, and a rerun resumes at it`, async () => {
      const dir = tmp();
      const steps = planFor(dir);
      const failing = freshCluster(steps, id);
      const r = await capture(() => bootstrapCommand(dir, opts(dir), { runner: failing }));
      assert.equal(r.code, id === "tools" ? 3 : 1, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.failedAt, id);
      assert.match(out.error, new RegExp(`simulated failure in ${id}`));
      // Nothing after the failed step ran.
      const firstCommand = formatCommand(steps[k]!.commands[0]!.cmd, steps[k]!.commands[0]!.args);
      assert.equal(failing.lines().at(-1), firstCommand);
      assert.deepEqual(failing.lines(), [...steps.slice(0, k).flatMap(callsOf), ...(steps[k]!.check ? [renderCommand(steps[k]!.check!.command)] : []), firstCommand]);

      const rerun = freshCluster(steps);
      const r2 = await capture(() => bootstrapCommand(dir, opts(dir), { runner: rerun }));
      assert.equal(r2.code, 0, r2.stdout + r2.stderr);
      // The tool check always runs; then the rerun starts at step k: no earlier step's calls.
      const later = steps.slice(k).filter((s) => s.id !== "tools");
      assert.deepEqual(rerun.lines(), [...callsOf(steps[0]!), ...later.flatMap(callsOf)]);
      const outcomes = JSON.parse(r2.stdout).steps.map((s: { id: string; outcome: string }) => s.outcome);
      assert.deepEqual(
        outcomes,
        ORDER.map((x, i) => (x === "tools" || i >= k ? "ran" : "done-before")),
      );
    });
  }

  it("state recorded for another profile, or --fresh, starts from the beginning", async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, "state.json"), JSON.stringify({ version: 1, profile: "someone-else", completed: { minikube: "2026-01-01T00:00:00Z" } }));
    const steps = planFor(dir);
    const runner = freshCluster(steps);
    const r = await capture(() => bootstrapCommand(dir, opts(dir), { runner }));
    assert.equal(r.code, 0);
    assert.ok(runner.lines().some((l) => l.startsWith("minikube start")));
    const fresh = freshCluster(steps);
    const r2 = await capture(() => bootstrapCommand(dir, { ...opts(dir), fresh: true }, { runner: fresh }));
    assert.equal(r2.code, 0);
    assert.deepEqual(fresh.lines(), steps.flatMap(callsOf));
  });

  it("writes the cluster CA it read for the node step", async () => {
    const dir = tmp();
    const caFile = path.join(dir, ".bk/beckerkube-ca.crt");
    const steps = planFor(dir);
    const r = await capture(() => bootstrapCommand(dir, opts(dir), { runner: freshCluster(steps) }));
    assert.equal(r.code, 0);
    assert.equal(readFileSync(caFile, "utf8"), CA_PEM);
  });
});
