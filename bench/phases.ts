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
const dist = (p: string): Promise<any> => import(pathToFileURL(join(repo, "dist", p)).href);

// Modules are imported up front: their import cost under the tsx loader says nothing about the CLI.
const [load, sealedMod, arch, synth, emit, kustomize, treeMod, schema, policy, validate, references, diff, files, listKeys, sizeLimits] = await Promise.all(
  [
    "model/load.js",
    "tree/sealed.js",
    "docs/architecture.js",
    "synth/index.js",
    "tree/emit.js",
    "tree/kustomize.js",
    "tree/tree.js",
    "schema/validate.js",
    "policy/engine.js",
    "validate/checks.js",
    "validate/references.js",
    "tree/diff.js",
    "tree/files.js",
    "schema/list-keys.js",
    "schema/size-limits.js",
  ].map(dist),
);

const phases: Array<[string, number]> = [];
let last = cpu();
const mark = (name: string) => {
  const now = cpu();
  phases.push([name, Math.round(now - last)]);
  last = now;
};

const { model } = load.loadDefinition(root);
mark("load definition (YAML parse, zod, model, invariants)");
const sealed = sealedMod.readSealedFiles(root, treeMod.OWNED_DIRS) as Array<{ file: string; content: string; objects: unknown[] }>;
const docs = arch.renderArchitecture(model) as string;
mark("read SealedSecrets + render architecture.md");
const synthesized = synth.synthesize(model) as Array<{ object: unknown; file: string }>;
mark("synthesize objects");
const fileMap = new Map<string, string>();
for (const [file, objs] of emit.groupByFile(synthesized) as Map<string, unknown[]>) fileMap.set(file, emit.renderFile(objs));
mark("render YAML files");
const roots = treeMod.kustomizationRoots(model) as string[];
for (const [file, content] of kustomize.deriveKustomizations([...fileMap.keys()], roots) as Map<string, string>) fileMap.set(file, content);
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
