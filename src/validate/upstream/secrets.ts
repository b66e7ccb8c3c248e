/**
 * Every Secret a workload needs to start (a secret volume, envFrom or env secretKeyRef that is not optional)
 * must exist by the time Flux applies the workload: declared in the definition (sealed into a layer), written
 * by the tree, rendered by a chart, or created by a controller the tree installs. A Secret that only a later
 * layer provides stalls the earlier one forever, since Flux waits for each layer before the next.
 */
import type { Finding } from "../../core/finding.js";
import { objectRef, type PlacedObject } from "../../core/object.js";
import { containersOf, podTemplateOf } from "../../core/pod-spec.js";
import { list, rec, str, type Rec } from "../../core/paths.js";
import type { Model } from "../../model/model.js";
import { sealedSecretFile } from "../../synth/secrets.js";
import { layerName, layerOf, locate, type Located, type RenderedRelease } from "./objects.js";

interface Source {
  layer: number;
  by: string;
}

/**
 * Controllers that create a Secret named in their pod spec. kube-webhook-certgen (ingress-nginx and
 * kube-prometheus-stack run it as a hook Job) writes --secret-name into --namespace; the MetalLB controller
 * creates the memberlist key named by METALLB_ML_SECRET_NAME in its own namespace.
 */
function createdByController(pod: Rec, ns: string): string[] {
  const out: string[] = [];
  for (const c of list(pod.containers)) {
    const container = rec(c) ?? {};
    const image = str(container.image) ?? "";
    const args = list(container.args).map(String);
    if (/kube-webhook-certgen/.test(image)) {
      const name = args.find((a) => a.startsWith("--secret-name="))?.slice("--secret-name=".length);
      const target = args.find((a) => a.startsWith("--namespace="))?.slice("--namespace=".length);
      if (name) out.push(`${target && !target.startsWith("$(") ? target : ns}/${name}`);
    }
    for (const e of list(container.env)) {
      if (rec(e)?.name === "METALLB_ML_SECRET_NAME" && str(rec(e)?.value)) out.push(`${ns}/${str(rec(e)?.value)}`);
    }
  }
  return out;
}

/**
 * The Secrets a CloudNativePG Cluster's operator creates beside it: its CA, server and replication
 * certificates, the application owner's login unless initdb names one, and the superuser's when enabled.
 */
function createdByCnpg(o: PlacedObject["object"]): string[] {
  if (o.kind !== "Cluster" || !o.apiVersion.startsWith("postgresql.cnpg.io/")) return [];
  const spec = rec(o.spec) ?? {};
  const n = o.metadata.name;
  const names = [`${n}-ca`, `${n}-server`, `${n}-replication`];
  if (!str(rec(rec(rec(spec.bootstrap)?.initdb)?.secret)?.name)) names.push(`${n}-app`);
  if (spec.enableSuperuserAccess === true && !str(rec(spec.superuserSecret)?.name)) names.push(`${n}-superuser`);
  return names.map((name) => `${o.metadata.namespace ?? "default"}/${name}`);
}

function sources(m: Model, all: readonly Located[]): Map<string, Source> {
  const out = new Map<string, Source>();
  const add = (key: string, s: Source) => {
    const had = out.get(key);
    if (!had || had.layer > s.layer) out.set(key, s);
  };
  for (const s of m.secrets) {
    const file = sealedSecretFile(m, s);
    add(`${s.namespace}/${s.name}`, { layer: layerOf(file), by: `the declared secret sealed at ${file}` });
  }
  for (const l of all) {
    const o = l.object;
    const ns = o.metadata.namespace ?? "default";
    const by = `${objectRef(o)} (${l.file})`;
    if (o.kind === "Secret" && o.apiVersion === "v1") add(`${ns}/${o.metadata.name}`, { layer: l.layer, by });
    if (o.kind === "SealedSecret") add(`${ns}/${str(rec(rec(rec(o.spec)?.template)?.metadata)?.name) ?? o.metadata.name}`, { layer: l.layer, by });
    if (o.kind === "Certificate" && o.apiVersion.startsWith("cert-manager.io/")) {
      const name = str(rec(o.spec)?.secretName);
      if (name) add(`${ns}/${name}`, { layer: l.layer, by });
    }
    for (const key of createdByCnpg(o)) add(key, { layer: l.layer, by });
    const pt = podTemplateOf(o);
    if (pt) for (const key of createdByController(pt.spec, ns)) add(key, { layer: l.layer, by });
  }
  return out;
}

/** The Secrets a pod cannot start without, with the field that names each. */
function requiredSecrets(l: Located): Array<{ name: string; field: string }> {
  const pt = podTemplateOf(l.object);
  if (!pt) return [];
  const out: Array<{ name: string; field: string }> = [];
  list(pt.spec.volumes).forEach((v, i) => {
    const secret = rec(rec(v)?.secret);
    if (secret && secret.optional !== true && str(secret.secretName)) out.push({ name: str(secret.secretName)!, field: `${pt.specPath}.volumes[${i}].secret.secretName` });
    list(rec(rec(v)?.projected)?.sources).forEach((s, j) => {
      const ps = rec(rec(s)?.secret);
      if (ps && ps.optional !== true && str(ps.name)) out.push({ name: str(ps.name)!, field: `${pt.specPath}.volumes[${i}].projected.sources[${j}].secret.name` });
    });
  });
  for (const c of containersOf(pt, ["initContainers", "containers"])) {
    list(c.container.envFrom).forEach((e, i) => {
      const ref = rec(rec(e)?.secretRef);
      if (ref && ref.optional !== true && str(ref.name)) out.push({ name: str(ref.name)!, field: `${c.path}.envFrom[${i}].secretRef.name` });
    });
    list(c.container.env).forEach((e, i) => {
      const ref = rec(rec(rec(e)?.valueFrom)?.secretKeyRef);
      if (ref && ref.optional !== true && str(ref.name)) out.push({ name: str(ref.name)!, field: `${c.path}.env[${i}].valueFrom.secretKeyRef.name` });
    });
  }
  return out;
}

/** upstream/secret-source: every Secret a workload needs comes from its own layer or an earlier one. */
export function checkSecretSources(m: Model, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Finding[] {
  const all = locate(tree, rendered);
  const provided = sources(m, all);
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const l of all) {
    const ns = l.object.metadata.namespace ?? "default";
    for (const { name, field } of requiredSecrets(l)) {
      const key = `${ns}/${name}`;
      const src = provided.get(key);
      if (src && src.layer <= l.layer) continue;
      if (seen.has(`${objectRef(l.object)} ${key}`)) continue;
      seen.add(`${objectRef(l.object)} ${key}`);
      out.push({
        rule: "upstream/secret-source",
        severity: "error",
        message: src
          ? `needs Secret ${key}, which only ${src.by} provides, in ${layerName(src.layer)}: Flux applies that after ${layerName(l.layer)}, which waits for this pod, so neither becomes Ready`
          : `needs Secret ${key}, which nothing declares, generates or creates`,
        fix: src ? `provide the Secret in ${layerName(l.layer)} or earlier (or let the chart create it)` : "declare the secret in the definition (secrets of the app or infrastructure), or let the chart create it",
        file: l.file,
        object: objectRef(l.object),
        field,
      });
    }
  }
  return out;
}
