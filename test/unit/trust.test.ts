/**
 * `bk trust`: the exact paths for the definition's registry, --print, and a run under a temporary
 * root prefix with a RecordingRunner standing in for minikube and update-ca-certificates.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { trustCommand } from "../../src/cli/commands/trust.js";
import { loadDefinition } from "../../src/model/load.js";
import { RecordingRunner } from "../../src/adapters/runner.js";
import { printTrust, registryAddresses, trustPlan } from "../../src/workflows/trust.js";
import { REPO_ROOT } from "../helpers/definition.js";
import { capture } from "../helpers/capture.js";

const model = loadDefinition(REPO_ROOT).model;
const dir = mkdtempSync(path.join(os.tmpdir(), "bk-trust-"));
const caFile = path.join(dir, "ca.pem");
const leafFile = path.join(dir, "leaf.pem");

before(() => {
  const ssl = (args: string[]) => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    assert.equal(r.error, undefined, "openssl is needed to make a test CA (apt-get install openssl)");
    assert.equal(r.status, 0, r.stderr);
  };
  ssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-subj",
    "/CN=BeckerKube CA",
    "-days",
    "30",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
  ]);
  ssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-out", "leaf.pem", "-subj", "/CN=leaf", "-days", "30", "-addext", "basicConstraints=critical,CA:FALSE"]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const HOST_PATHS = [
  "/etc/docker/certs.d/192.168.7.21:5000/ca.crt",
  "/etc/containers/certs.d/192.168.7.21:5000/ca.crt",
  "/etc/docker/certs.d/registry.beckerkube.lan:5000/ca.crt",
  "/etc/containers/certs.d/registry.beckerkube.lan:5000/ca.crt",
  "/usr/local/share/ca-certificates/beckerkube-ca.crt",
];

describe("bk trust plan", () => {
  it("targets the definition's registry by IP and LAN name", () => {
    assert.deepEqual(registryAddresses(model), ["192.168.7.21:5000", "registry.beckerkube.lan:5000"]);
  });

  it("--print gives the exact commands for 192.168.7.21:5000, host first, then the Minikube node", async () => {
    const r = await capture(() => trustCommand(REPO_ROOT, { print: true, ca: caFile }));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.replace(/ {4}# .*$/, ""));
    assert.deepEqual(lines, [
      `sudo install -D -m 0644 ${caFile} /etc/docker/certs.d/192.168.7.21:5000/ca.crt`,
      `sudo install -D -m 0644 ${caFile} /etc/containers/certs.d/192.168.7.21:5000/ca.crt`,
      `sudo install -D -m 0644 ${caFile} /etc/docker/certs.d/registry.beckerkube.lan:5000/ca.crt`,
      `sudo install -D -m 0644 ${caFile} /etc/containers/certs.d/registry.beckerkube.lan:5000/ca.crt`,
      `sudo install -D -m 0644 ${caFile} /usr/local/share/ca-certificates/beckerkube-ca.crt`,
      "sudo update-ca-certificates",
      `minikube -p beckerkube cp ${caFile} /tmp/beckerkube-ca.crt`,
      "minikube -p beckerkube ssh -- sudo install -D -m 0644 /tmp/beckerkube-ca.crt /usr/local/share/ca-certificates/beckerkube-ca.crt",
      "minikube -p beckerkube ssh -- sudo install -D -m 0644 /tmp/beckerkube-ca.crt /etc/containerd/certs.d/192.168.7.21:5000/ca.crt",
      "minikube -p beckerkube ssh -- sudo install -D -m 0644 /tmp/beckerkube-ca.crt /etc/containerd/certs.d/registry.beckerkube.lan:5000/ca.crt",
      "minikube -p beckerkube ssh -- sudo update-ca-certificates",
      "minikube -p beckerkube ssh -- sudo systemctl restart containerd",
    ]);
  });

  it("--print without --ca starts by fetching the CA from the cluster secret; --no-node leaves the node out", async () => {
    const r = await capture(() => trustCommand(REPO_ROOT, { print: true, node: false, context: "beckerkube" }));
    assert.equal(r.code, 0);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0]!, /^kubectl --context beckerkube -n cert-manager get secret beckerkube-ca -o jsonpath='\{\.data\.ca\\\.crt\}' \| base64 -d > beckerkube-ca\.crt/);
    assert.ok(!r.stdout.includes("minikube"));
    assert.equal(lines.length, 1 + HOST_PATHS.length + 1);
  });

  it("--dry-run is --print", async () => {
    const a = await capture(() => trustCommand(REPO_ROOT, { print: true, ca: caFile }));
    const b = await capture(() => trustCommand(REPO_ROOT, { dryRun: true, ca: caFile }));
    assert.equal(a.stdout, b.stdout);
  });

  it("quotes what the shell would split", () => {
    const lines = printTrust(trustPlan({ caFile: "/my certs/ca.pem", host: true, node: false, registries: ["r:5000"], profile: "p" }), "/my certs/ca.pem");
    assert.match(lines[0]!, /^sudo install -D -m 0644 '\/my certs\/ca\.pem' \/etc\/docker\/certs\.d\/r:5000\/ca\.crt/);
  });
});

describe("bk trust run", () => {
  it("with --root-prefix writes every CA file under the prefix and drives the node through the runner", async () => {
    const prefix = mkdtempSync(path.join(dir, "root-"));
    const runner = new RecordingRunner();
    const r = await capture(() => trustCommand(REPO_ROOT, { ca: caFile, rootPrefix: prefix }, { runner, isRoot: false }));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ca = readFileSync(caFile, "utf8");
    for (const p of HOST_PATHS) {
      const f = path.join(prefix, p);
      assert.equal(readFileSync(f, "utf8"), ca, p);
      assert.equal(statSync(f).mode & 0o777, 0o644, p);
    }
    // update-ca-certificates would refresh this machine's store, not the prefix: skipped, not run.
    assert.match(r.stdout, /skipped host sudo update-ca-certificates/);
    assert.deepEqual(runner.lines(), [
      `minikube -p beckerkube cp ${caFile} /tmp/beckerkube-ca.crt`,
      "minikube -p beckerkube ssh -- sudo install -D -m 0644 /tmp/beckerkube-ca.crt /usr/local/share/ca-certificates/beckerkube-ca.crt",
      "minikube -p beckerkube ssh -- sudo install -D -m 0644 /tmp/beckerkube-ca.crt /etc/containerd/certs.d/192.168.7.21:5000/ca.crt",
      "minikube -p beckerkube ssh -- sudo install -D -m 0644 /tmp/beckerkube-ca.crt /etc/containerd/certs.d/registry.beckerkube.lan:5000/ca.crt",
      "minikube -p beckerkube ssh -- sudo update-ca-certificates",
      "minikube -p beckerkube ssh -- sudo systemctl restart containerd",
    ]);
    // A rerun is harmless: files unchanged, same commands.
    const again = await capture(() => trustCommand(REPO_ROOT, { ca: caFile, rootPrefix: prefix, json: true }, { runner: new RecordingRunner(), isRoot: false }));
    assert.equal(again.code, 0);
    assert.ok(JSON.parse(again.stdout).steps.filter((s: { detail?: string }) => s.detail === "already installed").length === HOST_PATHS.length);
  });

  it("takes the CA from the cluster when --ca is not given, and uses --profile", async () => {
    const prefix = mkdtempSync(path.join(dir, "root-"));
    const runner = new RecordingRunner();
    const ca = readFileSync(caFile, "utf8");
    const r = await capture(() => trustCommand(REPO_ROOT, { rootPrefix: prefix, profile: "other" }, { runner, caSource: async () => ca, isRoot: false }));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(path.join(prefix, "/etc/docker/certs.d/192.168.7.21:5000/ca.crt"), "utf8"), ca);
    assert.ok(runner.lines().every((l) => l.startsWith("minikube -p other ")));
    // The temporary copy handed to minikube cp is removed afterwards.
    const cp = runner.calls[0]!;
    assert.equal(cp.args[2], "cp");
    assert.ok(!existsSync(cp.args[3]!));
  });

  it("stops at a failing node step and reports it", async () => {
    const prefix = mkdtempSync(path.join(dir, "root-"));
    const runner = new RecordingRunner((c) => (c.args.includes("update-ca-certificates") ? { code: 1, stdout: "", stderr: "ssh: connect to host: connection refused" } : undefined));
    const r = await capture(() => trustCommand(REPO_ROOT, { ca: caFile, rootPrefix: prefix }, { runner, isRoot: false }));
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAILED {2}node minikube -p beckerkube ssh -- sudo update-ca-certificates/);
    assert.match(r.stdout, /connection refused/);
    assert.match(r.stdout, /skipped node minikube -p beckerkube ssh -- sudo systemctl restart containerd/);
    assert.equal(runner.calls.length, 5, "nothing runs after the failure");
  });

  it("as a non-root user without a prefix, installs host files through sudo", async () => {
    const runner = new RecordingRunner();
    const r = await capture(() => trustCommand(REPO_ROOT, { ca: caFile, node: false }, { runner, isRoot: false }));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(runner.lines(), [...HOST_PATHS.map((p) => `sudo -n install -D -m 0644 ${caFile} ${p}`), "sudo -n update-ca-certificates"]);
  });

  it("refuses a certificate that is not a CA, and a missing cluster CA", async () => {
    const r = await capture(() => trustCommand(REPO_ROOT, { ca: leafFile, rootPrefix: dir }, { runner: new RecordingRunner(), isRoot: false }));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /CN=leaf is not a CA certificate/);
    const c = await capture(() => trustCommand(REPO_ROOT, { rootPrefix: dir }, { runner: new RecordingRunner(), caSource: () => Promise.reject(new Error("secret not found")), isRoot: false }));
    assert.equal(c.code, 3);
    assert.match(c.stderr, /cannot read the CA from the cluster: secret not found/);
  });
});
