/**
 * `bk images mirror / export / import` against real Docker Registry v2 servers (an "upstream" one and the private
 * one, each with its own test CA) and the real skopeo, with OCI images made by hand (no image is pulled). The
 * workflows run in-process (a bk process costs seconds of start-up here); the CLI runs check the wiring, --json and
 * the exit codes.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { isMap, isScalar, parse, parseDocument } from "yaml";
import { runBk } from "../helpers/cli.js";
import { tempDefinition } from "../helpers/definition.js";
import { ociLayout, startRegistry, type TestRegistry } from "../helpers/registry.js";
import { BkError } from "../../src/core/errors.js";
import { loadDefinition } from "../../src/model/load.js";
import type { Model } from "../../src/model/model.js";
import { exportImages, importImages, MANIFEST_FILE } from "../../src/workflows/images/archive.js";
import { mirrorImages } from "../../src/workflows/images/mirror.js";
import type { StepRunner } from "../../src/workflows/steps.js";

/** Two applications keep the test short: each image is a few registry round trips per step. */
const APPS = ["ccbot", "ffl", "midwestmtg"];
const REDIS = ["ffl", "midwestmtg"];

interface Json {
  ok: boolean;
  error?: string;
  exitCode?: number;
  images: Array<{ image: string; component: string; status: string; digest?: string; from?: string }>;
}

const scratch = mkdtempSync(path.join(os.tmpdir(), "bk-images-test-"));
let upstream: TestRegistry;
let priv: TestRegistry;
let root: string;
let model: Model;
/** The app images of the definition: app/component:tag, everything but the redis components. */
let appImages: string[];

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** The digest of the manifest the registry serves for app/component:tag (undefined when absent), read over the Registry v2 API. */
function registryDigest(r: TestRegistry, image: string): Promise<string | undefined> {
  const [repo, tag] = image.split(":") as [string, string];
  const [hostname, port] = r.host.split(":");
  return new Promise((resolve, reject) => {
    const req = https.get({ hostname, port: Number(port), path: `/v2/${repo}/manifests/${tag}`, ca: readFileSync(r.ca.caCert), headers: { accept: MANIFEST_TYPES } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(res.statusCode === 200 ? `sha256:${createHash("sha256").update(Buffer.concat(chunks)).digest("hex")}` : undefined));
    });
    req.on("error", reject);
  });
}

function bk(args: string[], cwd = root) {
  const r = runBk([...args, "--root", cwd]);
  let json: Json | undefined;
  try {
    json = JSON.parse(r.stdout) as Json;
  } catch {
    json = undefined;
  }
  return { ...r, json };
}

function certDir(r: TestRegistry): string {
  const dir = path.join(scratch, `certs-${r.host.replace(/[:.]/g, "-")}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "ca.crt"), readFileSync(r.ca.caCert));
  return dir;
}

/** Drops every application but APPS, and what the profiles accept of the dropped ones (else it names nothing). */
function fewerApps(dir: string): string {
  for (const f of readdirSync(path.join(dir, "definition/apps"))) if (!APPS.includes(f.replace(/\.yaml$/, ""))) rmSync(path.join(dir, "definition/apps", f));
  const clusterFile = path.join(dir, "definition/cluster.yaml");
  const cluster = parseDocument(readFileSync(clusterFile, "utf8"));
  const profiles = cluster.get("profiles");
  if (isMap(profiles))
    for (const p of profiles.items) {
      const accepted = isMap(p.value) ? p.value.get("accepted") : undefined;
      // Only app/component ids name an application; chart pins and own workloads stay.
      const keeps = (id: string) => !id.includes("/") || APPS.some((a) => id.startsWith(`${a}/`));
      if (isMap(accepted)) accepted.items = accepted.items.filter((it) => keeps(String(isScalar(it.key) ? it.key.value : it.key)));
    }
  writeFileSync(clusterFile, cluster.toString());
  return dir;
}

const mirrorArgs = () => ["images", "mirror", "--registry", priv.host, "--ca", priv.ca.caCert, "--src-ca", upstream.ca.caCert, "--json"];

before(async () => {
  upstream = await startRegistry();
  priv = await startRegistry();
  upstream.push("library/redis", "7.4.2");
  root = fewerApps(
    tempDefinition((d) => {
      for (const app of REDIS) {
        const comps = d.apps[app]!.get("components") as { get(k: string): { set(k: string, v: string): void } };
        comps.get("redis").set("upstream", `${upstream.host}/library/redis`);
      }
    }),
  );
  model = loadDefinition(root).model;
  appImages = [];
  for (const app of APPS) {
    const def = parse(readFileSync(path.join(root, "definition/apps", `${app}.yaml`), "utf8")) as { components: Record<string, { tag: string; upstream?: string }> };
    for (const [name, c] of Object.entries(def.components)) if (!c.upstream) appImages.push(`${app}/${name}:${c.tag}`);
  }
});

after(() => {
  upstream?.stop();
  priv?.stop();
  rmSync(scratch, { recursive: true, force: true });
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Runs the steps as the CLI does, keeping each step's progress lines instead of printing them. */
function recording(lines: string[]): StepRunner {
  return async (steps, ctx, outcomes) => {
    for (const s of steps) {
      await s.run(ctx, (line) => lines.push(`${s.title}: ${line}`));
      outcomes.push({ title: s.title, status: "done", ms: 0 });
    }
    return outcomes;
  };
}

const privTls = () => ({ registry: priv.host, tls: { caFile: priv.ca.caCert } });

/** The error a promise rejects with: a BkError with its exit code, or the assertion fails. */
async function bkError(p: Promise<unknown>): Promise<BkError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BkError, String(err));
    return err;
  }
  assert.fail("expected an error");
}

describe("bk images mirror", () => {
  test("--dry-run compares digests and copies nothing", async () => {
    const r = bk([...mirrorArgs(), "--dry-run"]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      r.json!.images.map((i) => i.status),
      ["would-copy", "would-copy"],
    );
    assert.equal(await registryDigest(priv, "ffl/redis:7.4.2"), undefined, "a dry run pushed an image");
  });

  test("copies each third-party image under <app>/<component>:<tag>, digests preserved; a second run copies nothing", async () => {
    const want = await registryDigest(upstream, "library/redis:7.4.2");
    assert.ok(want);
    const lines: string[] = [];
    const first = await mirrorImages(model, { ...privTls(), sourceTls: { caFile: upstream.ca.caCert }, steps: recording(lines) });
    assert.deepEqual(
      first.map((i) => [i.component, i.image, i.status, i.digest]),
      REDIS.map((a) => [`${a}/redis`, `${priv.host}/${a}/redis:7.4.2`, "copied", want]),
    );
    for (const app of REDIS) assert.equal(await registryDigest(priv, `${app}/redis:7.4.2`), want, `${app}/redis`);
    assert.ok(
      lines.some((l) => /^ffl\/redis: .*library\/redis:7\.4\.2 -> .*ffl\/redis:7\.4\.2: copied \(sha256:/.test(l)),
      lines.join("\n"),
    );

    // Through the CLI: progress on stderr, one line per image, the result on stdout; nothing left to copy.
    const second = bk(mirrorArgs());
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(
      second.json!.images.map((i) => i.status),
      ["up-to-date", "up-to-date"],
    );
    assert.match(second.stderr, /\[1\/2\] ffl\/redis: .*library\/redis:7\.4\.2 -> .*ffl\/redis:7\.4\.2/);
  });

  test("--from-oci-dir copies from an OCI archive saved under the upstream reference (offline host)", async () => {
    const dir = path.join(scratch, "offline");
    mkdirSync(dir);
    const layout = ociLayout(path.join(scratch, "layout-redis"), "redis built elsewhere", "7.4.2");
    const ref = `${upstream.host}/library/redis:7.4.2`;
    execFileSync("skopeo", ["copy", "--quiet", `oci:${layout}:7.4.2`, `oci-archive:${path.join(dir, "redis.tar")}:${ref}`]);
    writeFileSync(path.join(dir, "README.txt"), "not an archive: ignored\n");
    const opts = { ...privTls(), fromOciDir: dir, only: ["ffl/redis"], steps: recording([]) };
    const [only, ...rest] = await mirrorImages(model, opts);
    assert.equal(rest.length, 0);
    assert.equal(only!.status, "copied");
    assert.equal(only!.from, path.join(dir, "redis.tar"));
    const index = JSON.parse(readFileSync(path.join(layout, "index.json"), "utf8")) as { manifests: Array<{ digest: string }> };
    assert.equal(await registryDigest(priv, "ffl/redis:7.4.2"), index.manifests[0]!.digest);
    // The other one was not asked for and keeps the upstream registry's image.
    assert.equal(await registryDigest(priv, "midwestmtg/redis:7.4.2"), await registryDigest(upstream, "library/redis:7.4.2"));
    const [again] = await mirrorImages(model, opts);
    assert.equal(again!.status, "up-to-date");
  });

  test("an archive folder without the image is unavailable (exit 3), naming it and how to save it", async () => {
    const dir = path.join(scratch, "empty-offline");
    mkdirSync(dir);
    const err = await bkError(mirrorImages(model, { ...privTls(), fromOciDir: dir, steps: recording([]) }));
    assert.equal(err.exitCode, 3);
    assert.match(err.message, new RegExp(`no OCI archive in ${dir} holds ${upstream.host}/library/redis:7\\.4\\.2.*skopeo copy --all docker://`));
  });

  test("an image the definition does not mirror is bad input (exit 2) naming the mirrored ones", () => {
    const r = bk(["images", "mirror", "ffl/backend", "--registry", priv.host, "--ca", priv.ca.caCert]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /'ffl\/backend' is not a mirrored image of the definition \(mirrored: ffl\/redis, midwestmtg\/redis\)/);
  });

  test("an unreachable registry exits 3 naming it", () => {
    const r = bk(["images", "mirror", "--registry", "127.0.0.1:1", "--src-ca", upstream.ca.caCert, "--json"]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.json!.error!, /cannot reach the registry 127\.0\.0\.1:1/);
  });

  test("an untrusted registry is unavailable (exit 3), saying to pass its CA", async () => {
    const err = await bkError(mirrorImages(model, { registry: priv.host, sourceTls: { caFile: upstream.ca.caCert }, steps: recording([]) }));
    assert.equal(err.exitCode, 3);
    assert.match(err.message, new RegExp(`TLS to the registry ${priv.host} failed: .*--ca`));
  });

  test("an upstream image that does not exist is unavailable (exit 3), naming it", async () => {
    const bad = fewerApps(
      tempDefinition((d) => {
        const comps = d.apps["ffl"]!.get("components") as { get(k: string): { set(k: string, v: string): void } };
        comps.get("redis").set("upstream", `${upstream.host}/library/nosuch`);
      }),
    );
    try {
      const err = await bkError(mirrorImages(loadDefinition(bad).model, { ...privTls(), sourceTls: { caFile: upstream.ca.caCert }, only: ["ffl/redis"], steps: recording([]) }));
      assert.equal(err.exitCode, 3);
      assert.match(err.message, new RegExp(`${upstream.host}/library/nosuch:7\\.4\\.2 \\(the upstream of ffl/redis\\) does not exist`));
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});

describe("bk images export / import", () => {
  test("export saves every application image with its digest; a wiped registry gets them back by import, digests equal", async () => {
    for (const image of appImages) {
      const [repo, tag] = image.split(":") as [string, string];
      priv.push(repo, tag);
    }
    // One image pushed with Docker's media types, as `docker push` does: saving it converts its manifest to OCI's.
    const dockerTyped = appImages[0]!;
    const layout = ociLayout(path.join(scratch, "layout-docker"), "pushed by docker", "1");
    execFileSync("skopeo", ["copy", "--quiet", "--format", "v2s2", "--dest-cert-dir", certDir(priv), `oci:${layout}:1`, `docker://${priv.host}/${dockerTyped}`]);
    const before = new Map(await Promise.all(appImages.map(async (i) => [i, await registryDigest(priv, i)] as const)));
    const dir = path.join(scratch, "export");
    const exported = bk(["images", "export", dir, "--registry", priv.host, "--ca", priv.ca.caCert, "--json"]);
    assert.equal(exported.status, 0, exported.stderr);
    assert.deepEqual(exported.json!.images.map((i) => i.image).sort(), [...appImages].sort());
    assert.ok(exported.json!.images.every((i) => i.status === "saved"));
    const manifest = JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), "utf8")) as { registry: string; images: Array<{ image: string; archive: string; digest: string; sourceDigest?: string }> };
    assert.equal(manifest.registry, priv.host);
    assert.equal(manifest.images.length, appImages.length);
    for (const e of manifest.images.filter((i) => i.image !== dockerTyped)) assert.deepEqual([e.digest, e.sourceDigest], [before.get(e.image), undefined], e.image);
    const converted = manifest.images.find((i) => i.image === dockerTyped)!;
    assert.equal(converted.sourceDigest, before.get(dockerTyped));
    assert.notEqual(converted.digest, converted.sourceDigest);

    const again = await exportImages(model, dir, { ...privTls(), steps: recording([]) });
    assert.deepEqual([...new Set(again.map((i) => i.status))], ["up-to-date"]);

    // A rebuild: the registry's volume is new and empty.
    const fresh = await startRegistry();
    try {
      const freshTls = { registry: fresh.host, tls: { caFile: fresh.ca.caCert } };
      assert.equal(await registryDigest(fresh, appImages[0]!), undefined);
      const dry = await importImages(model, dir, { ...freshTls, dryRun: true, steps: recording([]) });
      assert.deepEqual([...new Set(dry.map((i) => i.status))], ["would-restore"]);
      assert.equal(await registryDigest(fresh, appImages[0]!), undefined, "a dry run pushed an image");

      const imported = bk(["images", "import", dir, "--registry", fresh.host, "--ca", fresh.ca.caCert, "--json"]);
      assert.equal(imported.status, 0, imported.stderr);
      assert.equal(imported.json!.images.filter((i) => i.status === "restored").length, appImages.length);
      for (const image of appImages) assert.equal(await registryDigest(fresh, image), image === dockerTyped ? converted.digest : before.get(image), image);

      const twice = await importImages(model, dir, { ...freshTls, steps: recording([]) });
      assert.deepEqual([...new Set(twice.map((i) => i.status))], ["up-to-date"]);

      // An archive that does not hold what the manifest records is caught before anything is pushed.
      const damaged = path.join(scratch, "damaged");
      mkdirSync(damaged);
      const first = manifest.images[0]!;
      execFileSync("cp", [path.join(dir, first.archive), damaged]);
      writeFileSync(path.join(damaged, MANIFEST_FILE), JSON.stringify({ ...manifest, images: [{ ...first, digest: `sha256:${"0".repeat(64)}` }] }));
      const err = await bkError(importImages(model, damaged, { ...freshTls, steps: recording([]) }));
      assert.equal(err.exitCode, 1);
      assert.match(err.message, new RegExp(`${first.archive} holds sha256:[0-9a-f]{64} for ${first.image.replace(/[.]/g, "\\.")}, not sha256:0{64}`));
    } finally {
      fresh.stop();
    }
  });

  test("--with-mirrored saves the mirrored images too; images missing from the registry exit 3 naming them", async () => {
    // Every image is in the private registry by now: the test above pushed the app images, the mirror tests the redis ones.
    const all = await exportImages(model, path.join(scratch, "export-all"), { ...privTls(), withMirrored: true, steps: recording([]) });
    assert.equal(all.filter((i) => i.status === "saved").length, appImages.length + REDIS.length);
    const r = bk(["images", "export", path.join(scratch, "export-from-empty"), "--registry", upstream.host, "--ca", upstream.ca.caCert, "--json"]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.json!.error!, /image\(s\) of the definition are not in the registry, so they are not in .*ccbot\/bot:/);
  });

  test("a folder not written by export is unavailable (exit 3); so is an unreachable registry, named", async () => {
    const r = bk(["images", "import", scratch, "--registry", priv.host, "--ca", priv.ca.caCert]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /has no bk-images\.json: it is not a folder written by `bk images export`/);
    const err = await bkError(exportImages(model, path.join(scratch, "unreachable"), { registry: "127.0.0.1:1", steps: recording([]) }));
    assert.equal(err.exitCode, 3);
    assert.match(err.message, /cannot reach the registry 127\.0\.0\.1:1/);
  });
});
