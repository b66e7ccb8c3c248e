/**
 * The runner tells "the program said no" (a non-zero exit) from "the program gave no answer" (not
 * started, timed out), which is what the helm, git and kustomize adapters turn into their own errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HelmError, helmTemplate } from "../../src/adapters/helm.js";
import { ProcessRunner, RecordingRunner } from "../../src/adapters/runner.js";

describe("ProcessRunner", () => {
  const runner = new ProcessRunner();

  it("a non-zero exit is an answer: code and output, no error", async () => {
    const r = await runner.run(process.execPath, ["-e", "process.stderr.write('no'); process.exit(3)"]);
    assert.deepEqual(r, { code: 3, stdout: "", stderr: "no" });
  });

  it("a missing program is code 127 with a readable stderr and the spawn error", async () => {
    const r = await runner.run("bk-no-such-program", ["x"]);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /bk-no-such-program: command not found/);
    assert.match(r.error ?? "", /ENOENT/);
  });

  it("a program past its timeout is killed and says so", async () => {
    const r = await runner.run(process.execPath, ["-e", "setTimeout(() => {}, 10_000)"], { timeoutMs: 200 });
    assert.equal(r.error, "timed out after 200 ms");
    assert.match(r.stderr, /killed by SIGTERM \(timeout 200 ms\)/);
  });

  it("passes input, cwd and added environment", async () => {
    const r = await runner.run(process.execPath, ["-e", "process.stdin.pipe(process.stdout); process.stderr.write(process.cwd() + ' ' + process.env.BK_RUNNER_TEST)"], {
      input: "in",
      cwd: "/",
      env: { BK_RUNNER_TEST: "yes" },
    });
    assert.deepEqual(r, { code: 0, stdout: "in", stderr: "/ yes" });
  });
});

describe("helm through the runner", () => {
  it("helm that gives no answer is a HelmError naming the binary, not an empty render", async () => {
    const runner = new RecordingRunner(() => ({ code: 127, stdout: "", stderr: "helm: command not found", error: "spawn helm ENOENT" }));
    await assert.rejects(helmTemplate("charts/app", {}, { releaseName: "r", namespace: "n", helm: "helm", runner }), (err: unknown) => {
      assert.ok(err instanceof HelmError);
      assert.match(err.message, /^could not run helm template: spawn helm ENOENT; set BK_HELM/);
      return true;
    });
    assert.deepEqual(runner.calls[0]?.args.slice(0, 5), ["template", "r", "charts/app", "--namespace", "n"]);
  });
});
