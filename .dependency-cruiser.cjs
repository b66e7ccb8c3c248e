// The layer rules of docs/design.md ("Layers, and the rule each follows"), enforced by `npm run lint:deps`.
//
// Each layer lists what it MAY import; every other layer is a forbidden edge and gets its own named rule
// (`<from>-not-to-<to>`), so a report says which edge was crossed and why, not just "layering violated".
// Imports inside one layer are always fine. The generated rules are written out below the table; read the
// table and the REASONS to change the architecture, not the generated list.

/** Folder (or single file) under src/ for each layer. */
const LAYERS = {
  cli: "src/cli/",
  ui: "src/ui/",
  workflows: "src/workflows/",
  devcluster: "src/devcluster/",
  adapters: "src/adapters/",
  pipeline: "src/pipeline.ts",
  validate: "src/validate/",
  synth: "src/synth/",
  tree: "src/tree/",
  docs: "src/docs/",
  policy: "src/policy/",
  schema: "src/schema/",
  netpol: "src/netpol/",
  sealing: "src/sealing/",
  model: "src/model/",
  core: "src/core/",
};

const PURE = ["validate", "synth", "tree", "docs", "policy", "schema", "netpol", "sealing"];

/**
 * What each layer may import besides itself. devcluster is absent as a target on purpose: who may import it is
 * one rule of its own (`devcluster-only-from-dev-command`) below.
 */
const MAY_IMPORT = {
  // cli wires flags to a workflow or the pipeline; it builds the adapters it injects and renders results.
  cli: ["ui", "workflows", "adapters", "pipeline", ...PURE, "model", "core"],
  // ui is the web console `bk ui` starts: it serves pages rendered from workflow results and calls workflows for
  // its actions, like the cli; it never parses flags nor sets exit codes.
  ui: ["workflows", "adapters", ...PURE, "model", "core"],
  // workflows call adapters and the pure layers; never the cli (they return results, they do not print).
  workflows: ["adapters", "pipeline", ...PURE, "model", "core"],
  // the harness runs processes through the adapters; it is not part of the product's operations.
  devcluster: ["adapters", "core"],
  // adapters wrap one outside thing and know nothing of the Model. sealing is the kubeseal format (model-free),
  // which the in-cluster key adapter decodes.
  adapters: ["sealing", "core"],
  // the one path definition -> Model -> objects -> tree.
  pipeline: [...PURE, "model", "core"],
  // validate composes the pure checks of `bk validate`: schema and policy over the objects, references that use
  // the file names synth and tree give things.
  validate: ["policy", "schema", "synth", "tree", "model", "core"],
  // synth renders NetworkPolicies from netpol's semantics of workloads and ports.
  synth: ["netpol", "model", "core"],
  // tree does not synthesize: it emits, diffs and writes objects it is given.
  tree: ["model", "core"],
  docs: ["model", "core"],
  policy: ["model", "core"],
  // schema does not use policy.
  schema: ["model", "core"],
  netpol: ["model", "core"],
  // the Sealed Secrets format knows nothing of the Model, so adapters may use it.
  sealing: ["core"],
  model: ["core"],
  core: [],
};

/** Why an edge into a layer is forbidden, by kind of source. */
function reason(from, to) {
  if (to === "cli") return `${from} must not import cli: only the cli parses flags, prints and maps errors to exit codes; ${from} hands results back.`;
  if (to === "ui") return `${from} must not import ui: the web console is started by the cli only; it shows workflow results, it is not a library.`;
  if (from === "ui" && to === "cli") return "ui must not import cli: only the cli parses flags, prints and maps errors to exit codes.";
  if (to === "workflows") return `${from} must not import workflows: workflows are the top of the operations and only the cli calls them.`;
  if (to === "adapters")
    return `${from} must not import adapters: ${PURE.includes(from) || from === "pipeline" || from === "model" || from === "core" ? "it is pure (no disk, network or process); outside things are reached only from workflows and the cli" : "adapters are reached from workflows, the cli and the dev harness"}.`;
  if (to === "pipeline") return `${from} must not import src/pipeline.ts: the pipeline composes the pure layers and is called from workflows and the cli, never from below.`;
  if (to === "model" && from === "adapters") return "adapters must not import model: an adapter wraps one outside thing and gets values as arguments, knowing nothing of the Model.";
  if (to === "model") return `${from} must not import model: ${from} sits below the Model.`;
  if (from === "core") return `core must not import ${to}: core depends on nothing.`;
  if (from === "adapters") return `adapters must not import ${to}: an adapter knows nothing of the Model nor of what is made from it.`;
  if (from === "devcluster") return `devcluster must not import ${to}: the dev/test harness builds on adapters and core only, so the product never depends on it and it never on the product's logic.`;
  if (from === "tree" && to === "synth") return "tree must not import synth: tree does not synthesize; src/pipeline.ts composes load -> synthesize -> assemble.";
  if (from === "schema" && to === "policy") return "schema must not import policy: schema validation and policy rules are independent checks.";
  if (PURE.includes(from) && PURE.includes(to)) return `${from} must not import ${to}: the pure layers do not call each other's entry points; src/pipeline.ts and validate compose them.`;
  return `${from} must not import ${to}: see docs/design.md "Layers, and the rule each follows".`;
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const pathOf = (layer) => `^${escapeRegExp(LAYERS[layer])}${LAYERS[layer].endsWith("/") ? "" : "$"}`;

const layerRules = [];
for (const [from, allowed] of Object.entries(MAY_IMPORT)) {
  for (const to of Object.keys(LAYERS)) {
    if (to === from || to === "devcluster" || allowed.includes(to)) continue;
    layerRules.push({ name: `${from}-not-to-${to}`, comment: reason(from, to), severity: "error", from: { path: pathOf(from) }, to: { path: pathOf(to) } });
  }
}

/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "src-only-in-layers",
      comment: "Every module in src belongs to one of the layers above (a new folder gets a place in the table first), so no import escapes the rules.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/", pathNot: Object.keys(LAYERS).map(pathOf) },
    },
    {
      name: "devcluster-only-from-dev-command",
      comment:
        "src/devcluster is the dev/test harness (a local control plane): only `bk dev` (src/cli/commands/dev.ts, which loads it lazily), test/, bench/ and scripts/ may import it, so no product operation depends on it.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/devcluster/", "^src/cli/commands/dev\\.ts$"] },
      to: { path: "^src/devcluster/" },
    },
    {
      name: "commands-not-to-commands",
      comment: "A command file must not import another command file: shared option handling and error reporting live beside them in src/cli/.",
      severity: "error",
      from: { path: "^src/cli/commands/([^/.]+)" },
      to: { path: "^src/cli/commands/", pathNot: "^src/cli/commands/$1(\\.ts$|/)" },
    },
    {
      name: "src-not-to-test",
      comment: "src must not import test/: test-only code (fakes, fixtures, helpers) lives in test/, never in the product.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^test/" },
    },
    {
      name: "src-not-to-bench-or-scripts",
      comment: "src must not import bench/ or scripts/: they are development tooling built on src, not part of it.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(bench|scripts)/" },
    },
    {
      name: "no-circular",
      comment: "No import cycles: a cycle makes two modules one, hides the direction of a layer, and breaks load order.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment: "Every import resolves: a module or package that cannot be found fails at run time.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: "src-not-to-dev-dependency",
      comment: "src must not import a devDependency: `npm ci --omit=dev` installs only dependencies, so the CLI would fail to load.",
      severity: "error",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
    },
  ],
  options: {
    // Type-only imports count: knowing another layer's types is depending on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // Record imports of test/, bench/ and scripts/ (so the rules above can see them) without cruising into them.
    doNotFollow: { path: ["^node_modules/", "^(test|bench|scripts)/"] },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
