/** Every error a command can stop on carries its exit code, and the CLI maps errors by type, never by message text. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChartMuseumError } from "../../src/adapters/chartmuseum.js";
import { GitError } from "../../src/adapters/git.js";
import { HelmError } from "../../src/adapters/helm.js";
import { reaching } from "../../src/adapters/kube.js";
import { PgClient } from "../../src/adapters/postgres.js";
import { RegistryError } from "../../src/adapters/registry.js";
import { RecordingRunner } from "../../src/adapters/runner.js";
import { ClusterUnavailableError } from "../../src/adapters/sealed-secrets-cluster.js";
import { reportError, reportUncaught } from "../../src/cli/report-error.js";
import { BkError, CheckFailedError, EXIT, exitCodeOf, InputError, UnavailableError } from "../../src/core/errors.js";
import { FindingsError } from "../../src/core/finding.js";
import { CommandError } from "../../src/devcluster/exec.js";
import { WaitTimeoutError } from "../../src/devcluster/wait.js";
import { TooShortError } from "../../src/sealing/hybrid.js";
import { UnsealError } from "../../src/sealing/sealing.js";
import { RestoreRefused } from "../../src/workflows/backup.js";
import { StepFailed, type BootstrapStep } from "../../src/workflows/bootstrap.js";
import { ReleaseError } from "../../src/workflows/release.js";
import { ValueStoreError } from "../../src/workflows/secrets/value-store.js";

/** Runs `f` with stderr captured, so the rendering under test does not clutter the test output. */
function quietly<T>(f: () => T): { value: T; stderr: string } {
  const write = process.stderr.write;
  let stderr = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { value: f(), stderr };
  } finally {
    process.stderr.write = write;
  }
}

const step = (id: string): BootstrapStep => ({ id, title: id, commands: [] });

describe("error classes carry their exit code", () => {
  const cases: Array<[string, BkError, number]> = [
    ["WaitTimeoutError", new WaitTimeoutError("apiserver not ready"), EXIT.unavailable],
    ["CommandError, program missing", new CommandError("m", "kubectl", [], "ENOENT", "", ""), EXIT.unavailable],
    ["CommandError, program failed", new CommandError("m", "kubectl", [], 1, "", "denied"), EXIT.failed],
    ["TooShortError", new TooShortError("1 byte(s)"), EXIT.failed],
    ["UnsealError", new UnsealError("ns/s", ["k"], "strict", "", 1, {}), EXIT.failed],
    ["StepFailed, tools", new StepFailed(step("tools"), "helm missing"), EXIT.unavailable],
    ["StepFailed, other step", new StepFailed(step("minikube"), "exited with 1"), EXIT.failed],
    ["ValueStoreError", new ValueStoreError("bad shape"), EXIT.badInput],
    ["RestoreRefused", new RestoreRefused("checksums", []), EXIT.failed],
    ["ReleaseError, bad request", new ReleaseError("no application", 2), EXIT.badInput],
    ["ReleaseError, failed check", new ReleaseError("health check", 1), EXIT.failed],
    ["FindingsError, default", new FindingsError([]), EXIT.failed],
    ["FindingsError, definition", new FindingsError([], 2), EXIT.badInput],
    ["ChartMuseumError, no answer", new ChartMuseumError("cannot reach ChartMuseum"), EXIT.unavailable],
    ["ChartMuseumError, HTTP 409", new ChartMuseumError("already there", 409), EXIT.failed],
    ["HelmError, helm failed", new HelmError("template failed", [], "boom"), EXIT.failed],
    ["HelmError, helm not run", new HelmError("could not run helm", [], "", false), EXIT.unavailable],
    ["ClusterUnavailableError", new ClusterUnavailableError("no kubeconfig"), EXIT.unavailable],
    ["GitError, git failed", new GitError("git push failed", ""), EXIT.failed],
    ["GitError, git not run", new GitError("cannot run git", "", false), EXIT.unavailable],
    ["RegistryError, unreachable", new RegistryError("cannot reach", "unreachable"), EXIT.unavailable],
    ["RegistryError, TLS", new RegistryError("TLS failed", "tls"), EXIT.unavailable],
    ["RegistryError, credentials", new RegistryError("asks for credentials", "auth"), EXIT.unavailable],
    ["RegistryError, HTTP", new RegistryError("HTTP 500", "http"), EXIT.failed],
  ];
  for (const [name, err, code] of cases) {
    it(`${name}: exit ${code}`, () => {
      assert.ok(err instanceof BkError);
      assert.equal(err.exitCode, code);
      assert.equal(exitCodeOf(err), code);
    });
  }

  it("anything that is not a BkError is internal (70)", () => {
    assert.equal(exitCodeOf(new Error("x")), EXIT.internal);
    assert.equal(exitCodeOf("a string"), EXIT.internal);
  });
});

describe("the CLI maps errors by type", () => {
  it("main: a message saying ECONNREFUSED does not make an error unavailable", () => {
    assert.equal(quietly(() => reportUncaught(new Error("connect ECONNREFUSED 127.0.0.1:6443"))).value, EXIT.internal);
    assert.equal(quietly(() => reportUncaught(new CheckFailedError("connect ECONNREFUSED 127.0.0.1:6443"))).value, EXIT.failed);
    assert.equal(quietly(() => reportUncaught(new UnavailableError("no route"))).value, EXIT.unavailable);
  });

  it("main: a BkError is shown by its message, anything else with its stack", () => {
    assert.equal(quietly(() => reportUncaught(new InputError("--keep 0: give at least 1"))).stderr, "bk: --keep 0: give at least 1\n");
    assert.match(quietly(() => reportUncaught(new TypeError("oops"))).stderr, /^bk: internal error: TypeError: oops\n {4}at /);
  });

  it("main: findings are rendered and exit with their code", () => {
    const finding = { rule: "definition/x", severity: "error" as const, message: "m", fix: "f" };
    const r = quietly(() => reportUncaught(new FindingsError([finding], 2)));
    assert.equal(r.value, EXIT.badInput);
    assert.match(r.stderr, /1 problem\(s\) in the definition/);
  });

  it("reportError: by type; untyped errors stay a failure (1) whatever their message says", () => {
    assert.equal(quietly(() => reportError("backup", new Error("could not connect: Connection refused"))).value, EXIT.failed);
    assert.equal(quietly(() => reportError("backup", new UnavailableError("could not connect"))).value, EXIT.unavailable);
    assert.equal(quietly(() => reportError("backup", new InputError("--dir?"))).value, EXIT.badInput);
    assert.throws(() => reportError("backup", new FindingsError([], 2)), FindingsError);
  });
});

describe("throwers know whether the other side was reached", () => {
  const tools = { psql: "psql", pgDump: "pg_dump", pgRestore: "pg_restore", from: "PATH" };
  const conn = { host: "127.0.0.1", port: 5432, user: "postgres" };
  const failing = (stderr: string, code = 1) => new PgClient(new RecordingRunner(() => ({ code, stdout: "", stderr })), tools, conn);

  it("pg_dump that cannot connect is unavailable; one that fails after connecting is a failure", async () => {
    await assert.rejects(failing('pg_dump: error: connection to server at "127.0.0.1", port 5432 failed: Connection refused').dump("app", "/tmp/x"), UnavailableError);
    await assert.rejects(failing("pg_dump: error: query failed: permission denied for table t").dump("app", "/tmp/x"), CheckFailedError);
    await assert.rejects(failing("pg_dump: command not found", 127).toolVersion("pg_dump"), UnavailableError);
  });

  it("a Kubernetes call without an HTTP answer is unavailable; an HTTP error passes through", async () => {
    const refused = Object.assign(new Error("request failed, reason: connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
    await assert.rejects(reaching(Promise.reject(refused)), (e: Error) => e instanceof UnavailableError && e.message === refused.message);
    const notFound = Object.assign(new Error("HTTP 404"), { code: 404 });
    await assert.rejects(reaching(Promise.reject(notFound)), (e: Error) => e === notFound);
  });
});
