/**
 * Reference checks over the whole tree: nothing defined twice, nothing listed twice, no file
 * listed that does not exist, every sourceRef/dependsOn resolves, and declared secrets match
 * the SealedSecrets present (incidents 6, 7 and 9).
 */
import path from "node:path";
import { readYamlValue } from "../model/fast-read.js";
import type { Finding } from "../core/finding.js";
import { objectIdentity, objectRef, type KubeObject, type PlacedObject } from "../core/object.js";
import type { Model } from "../model/model.js";
import { sealedSecretFile } from "../synth/secrets.js";
import { KUSTOMIZATION } from "../tree/kustomize.js";

type Spec = Record<string, unknown>;
const spec = (o: KubeObject) => (o.spec ?? {}) as Spec;

type Report = (rule: string, message: string, fix: string, where: { file?: string; object?: string; field?: string }, severity?: Finding["severity"]) => void;

export function checkReferences(m: Model, objects: readonly PlacedObject[], files: ReadonlyMap<string, string>): Finding[] {
  const out: Finding[] = [];
  const err: Report = (rule, message, fix, where, severity = "error") => out.push({ rule, severity, message, fix, ...where });
  checkDuplicateObjects(objects, err);
  checkKustomizationResources(files, err);
  checkFluxReferences(objects, files, err, m.gitops.repository);
  checkDeclaredSecrets(m, objects, err);
  return out;
}

/** Objects defined twice (a duplicate SealedSecret broke the build in incident 7). */
function checkDuplicateObjects(objects: readonly PlacedObject[], err: Report): void {
  const seen = new Map<string, string>();
  for (const { object, file } of objects) {
    // Each folder under clusters/ is the entry point of its own cluster (a profile): the same names there are no clash.
    const cluster = /^clusters\/[^/]+\//.exec(file)?.[0] ?? "";
    const id = cluster + objectIdentity(object);
    const prev = seen.get(id);
    if (prev) err("refs/duplicate-object", `${objectRef(object)} is defined in ${prev} and again here`, "keep one definition and delete the other file or document", { file, object: objectRef(object) });
    else seen.set(id, file);
  }
}

/** Kustomization files: every resource exists, none listed twice. */
function checkKustomizationResources(files: ReadonlyMap<string, string>, err: Report): void {
  for (const [file, content] of files) {
    if (path.posix.basename(file) !== KUSTOMIZATION) continue;
    const doc = readYamlValue(content) as { resources?: string[] } | null;
    const dir = path.posix.dirname(file);
    const listed = new Set<string>();
    (doc?.resources ?? []).forEach((r, i) => {
      const field = `resources[${i}]`;
      if (listed.has(r)) err("refs/resource-listed-twice", `${r} is listed twice`, "remove the duplicate entry (run `bk synth`: kustomizations are derived)", { file, field });
      listed.add(r);
      const target = path.posix.normalize(path.posix.join(dir, r));
      const exists = files.has(target) || files.has(path.posix.join(target, KUSTOMIZATION));
      if (!exists) err("refs/resource-missing", `${r} does not exist`, "run `bk synth` to regenerate the kustomization, or restore the file", { file, field });
    });
  }
}

/** Flux references resolve inside the tree. */
function checkFluxReferences(objects: readonly PlacedObject[], files: ReadonlyMap<string, string>, err: Report, ownRepository: string): void {
  const key = (kind: string, ns: string, name: string) => `${kind}/${ns}/${name}`;
  const present = new Set(objects.map(({ object: o }) => key(o.kind, o.metadata.namespace ?? "", o.metadata.name)));
  const has = (kind: string, ns: string, name: string) => present.has(key(kind, ns, name));
  for (const { object: o, file } of objects) {
    const s = spec(o);
    const ref = objectRef(o);
    if (o.kind === "HelmRelease") {
      const src = ((s.chart as Spec | undefined)?.spec as Spec | undefined)?.sourceRef as { kind: string; name: string; namespace?: string } | undefined;
      if (src && !has(src.kind, src.namespace ?? o.metadata.namespace ?? "", src.name))
        err(
          "refs/source-missing",
          `chart source ${src.kind} ${src.namespace ?? o.metadata.namespace}/${src.name} is not in the tree`,
          "pin the chart under charts: in infrastructure.yaml so its HelmRepository is generated",
          { file, object: ref, field: "spec.chart.spec.sourceRef" },
        );
    }
    if (o.kind === "Kustomization" && o.apiVersion.startsWith("kustomize.toolkit.fluxcd.io")) {
      const src = s.sourceRef as { kind: string; name: string; namespace?: string } | undefined;
      if (src && !has(src.kind, src.namespace ?? o.metadata.namespace ?? "", src.name))
        err("refs/source-missing", `source ${src.kind} ${src.name} is not in the tree`, "check gitops.repository in cluster.yaml", { file, object: ref, field: "spec.sourceRef" });
      const p = String(s.path ?? "").replace(/^\.\//, "");
      // A path in another repository (an upstream release such as the Gateway API's) is not in this tree.
      if (p && src?.name === ownRepository && !files.has(path.posix.join(p, KUSTOMIZATION))) err("refs/path-missing", `path ./${p} has no kustomization.yaml`, "run `bk synth`", { file, object: ref, field: "spec.path" });
    }
    if (o.kind === "HelmRelease" || (o.kind === "Kustomization" && o.apiVersion.startsWith("kustomize.toolkit"))) {
      ((s.dependsOn as Array<{ name: string; namespace?: string }> | undefined) ?? []).forEach((d, i) => {
        if (!has(o.kind, d.namespace ?? o.metadata.namespace ?? "", d.name))
          err("refs/depends-on-missing", `dependsOn ${d.namespace ?? o.metadata.namespace}/${d.name} does not exist`, "fix the dependency in the definition", { file, object: ref, field: `spec.dependsOn[${i}]` });
      });
    }
  }
}

/** Declared secrets against the SealedSecrets present. */
function checkDeclaredSecrets(m: Model, objects: readonly PlacedObject[], err: Report): void {
  const sealed = objects.filter(({ object: o }) => o.kind === "SealedSecret");
  const sealedByName = new Map<string, PlacedObject>();
  for (const p of sealed) {
    const k = `${p.object.metadata.namespace}/${p.object.metadata.name}`;
    if (!sealedByName.has(k)) sealedByName.set(k, p);
  }
  const declared = new Set(m.secrets.map((s) => `${s.namespace}/${s.name}`));
  for (const s of m.secrets) {
    const expectedFile = sealedSecretFile(m, s);
    const found = sealedByName.get(`${s.namespace}/${s.name}`);
    if (!found) {
      err(
        "secrets/not-sealed",
        `declared secret ${s.namespace}/${s.name} has no SealedSecret yet`,
        `run \`bk secrets seal ${s.namespace}/${s.name}\` (or \`bk secrets seal --all\`); it writes ${expectedFile}`,
        { file: expectedFile, object: `SealedSecret/${s.namespace}/${s.name}` },
        "warning",
      );
      continue;
    }
    if (found.file !== expectedFile) err("secrets/misplaced", `SealedSecret ${s.namespace}/${s.name} is in ${found.file}`, `move it to ${expectedFile}`, { file: found.file, object: objectRef(found.object) });
    const keys = Object.keys(((found.object.spec as Spec | undefined)?.encryptedData as Record<string, string> | undefined) ?? {});
    for (const k of Object.keys(s.keys)) {
      if (!keys.includes(k))
        err("secrets/key-missing", `SealedSecret ${s.namespace}/${s.name} lacks key '${k}'`, `reseal it with \`bk secrets seal ${s.namespace}/${s.name}\``, {
          file: found.file,
          object: objectRef(found.object),
          field: `spec.encryptedData.${k}`,
        });
    }
  }
  for (const { object: o, file } of sealed) {
    if (!declared.has(`${o.metadata.namespace}/${o.metadata.name}`))
      err(
        "secrets/undeclared",
        `${objectRef(o)} is not declared in the definition`,
        "declare it under secrets: of its application (or delete the file if it is stale: a dangling SealedSecret blocked a namespace deletion in incident 9)",
        { file, object: objectRef(o) },
      );
  }
}
