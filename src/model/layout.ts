/**
 * Where things go in the GitOps tree. The three layers follow fluxcd/flux2-kustomize-helm-example:
 * controllers (Helm-installed operators and their CRDs), configs (custom resources that need those
 * CRDs, and the infrastructure services built on them), apps.
 */
export const LAYERS = [
  { name: "infra-controllers", dir: "infrastructure/controllers" },
  { name: "infra-configs", dir: "infrastructure/configs" },
  { name: "apps", dir: "apps" },
] as const;

export const CONTROLLERS = LAYERS[0].dir;
export const CONFIGS = LAYERS[1].dir;
export const APPS = LAYERS[2].dir;

/** Top-level folders the generator owns: everything in them is rewritten by `bk synth`. */
export const GENERATED_ROOTS = ["clusters", "infrastructure", "apps"] as const;

/** SealedSecret files are written by `bk secrets seal`, not by synthesis; this suffix marks them. */
export const SEALED_SUFFIX = ".sealed.yaml";

/** Where the SealedSecret for a declared secret lives. */
export function sealedSecretPath(layerDir: string, namespace: string, name: string): string {
  return `${layerDir}/secrets/${namespace}/${name}${SEALED_SUFFIX}`;
}
