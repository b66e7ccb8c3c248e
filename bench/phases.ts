/**
 * Where the CPU time of one `bk plan --no-kustomize` goes, phase by phase, on a given root.
 * Runs in its own process (started by bench/run.ts) against the compiled modules in dist/.
 *
 *   node bench/phases.ts <repo> <root>      (Node 24 strips the types itself)
 *
 * Prints one JSON object: { phases: [[name, cpuMs], ...], objects }. CPU time (user + system of
 * this process) rather than wall time, so a loaded machine distorts the split less. The steps
 * mirror src/pipeline.ts and treeFrom() in src/pipeline.ts; run.ts checks that the object count
 * matches what `bk plan --json` reports, so a drift between the two shows.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [repo, root] = process.argv.slice(2);
if (!repo || !root) {
  process.stderr.write("usage: phases.ts <repo> <root>\n");
  process.exit(2);
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
// Typed as the source it was compiled from: this script runs against the dist/ of the same checkout.
const dist = <M>(p: string): Promise<M> => import(pathToFileURL(join(repo, "dist", p)).href) as Promise<M>;

// Modules are imported up front: their import cost under the tsx loader says nothing about the CLI.
const [load, sealedMod, arch, synth, emit, kustomize, treeMod, schema, policy, validate, references, diff, files, listKeys, sizeLimits] = await Promise.all([
  dist<typeof import("../src/model/load.js")>("model/load.js"),
  dist<typeof import("../src/tree/sealed.js")>("tree/sealed.js"),
  dist<typeof import("../src/docs/architecture.js")>("docs/architecture.js"),
  dist<typeof import("../src/synth/index.js")>("synth/index.js"),
  dist<typeof import("../src/tree/emit.js")>("tree/emit.js"),
  dist<typeof import("../src/tree/kustomize.js")>("tree/kustomize.js"),
  dist<typeof import("../src/tree/tree.js")>("tree/tree.js"),
  dist<typeof import("../src/schema/validate.js")>("schema/validate.js"),
  dist<typeof import("../src/policy/engine.js")>("policy/engine.js"),
  dist<typeof import("../src/validate/checks.js")>("validate/checks.js"),
  dist<typeof import("../src/validate/references.js")>("validate/references.js"),
  dist<typeof import("../src/tree/diff.js")>("tree/diff.js"),
  dist<typeof import("../src/tree/files.js")>("tree/files.js"),
  dist<typeof import("../src/schema/list-keys.js")>("schema/list-keys.js"),
  dist<typeof import("../src/schema/size-limits.js")>("schema/size-limits.js"),
]);

const phases: Array<[string, number]> = [];
let last = cpu();
const mark = (name: string) => {
  const now = cpu();
  phases.push([name, Math.round(now - last)]);
  last = now;
};

const { model } = load.loadDefinition(root);
mark("load definition (YAML parse, zod, model, invariants)");
const sealed = sealedMod.readSealedFiles(root, treeMod.OWNED_DIRS);
const docs = arch.renderArchitecture(model);
mark("read SealedSecrets + render architecture.md");
const synthesized = synth.synthesize(model);
mark("synthesize objects");
const fileMap = new Map<string, string>();
for (const [file, objs] of emit.groupByFile(synthesized)) fileMap.set(file, emit.renderFile(objs));
mark("render YAML files");
const roots = treeMod.kustomizationRoots(model);
for (const [file, content] of kustomize.deriveKustomizations([...fileMap.keys()], roots)) fileMap.set(file, content);
mark("derive kustomization.yaml files");
const objects = [...synthesized];
for (const s of sealed) {
  fileMap.set(s.file, s.content);
  for (const object of s.objects) objects.push({ object, file: s.file });
}
fileMap.set("docs/architecture.md", docs);

const validator = new schema.SchemaValidator();
await validator.prepare(objects.map((p) => p.object));
mark("schema: load validators");
validator.validateObjectsSync(objects);
mark("schema: validate objects");
listKeys.checkListKeys(objects);
sizeLimits.checkSizeLimits(objects);
mark("API server limits (list-map keys, sizes)");
validator.persistCompiled();
policy.runPolicy(objects, validate.policyContext(model), model.exceptions);
mark("policy rules");
references.checkReferences(model, objects, fileMap);
mark("references");
diff.diffTrees(files.readTree(root, treeMod.OWNED_DIRS, treeMod.GENERATED_FILES), fileMap);
mark("diff against the committed tree");

process.stdout.write(JSON.stringify({ phases, objects: objects.length }) + "\n");
