/**
 * What progressive delivery assumes of the charts, checked against what they render: Flagger's pods carry the labels
 * its NetworkPolicies select; the Prometheus URL Flagger is given is a Service (and port) the monitoring chart
 * renders; every Canary's target Deployment (and, with ingress-nginx, its Ingress) is what the component's release
 * renders. A renamed Service or Deployment would otherwise leave every analysis failing, or never starting.
 */
import type { Finding } from "../../core/finding.js";
import { objectRef, type KubeObject, type PlacedObject } from "../../core/object.js";
import { list, rec, str } from "../../core/paths.js";
import { podTemplateOf } from "../../core/pod-spec.js";
import type { Model } from "../../model/model.js";
import { FLAGGER_API, FLAGGER_LABELS, FLAGGER_RELEASE } from "../../model/progressive.js";
import type { RenderedRelease } from "./objects.js";

const specOf = (o: KubeObject) => rec((o as unknown as { spec?: unknown }).spec) ?? {};
const FIX = "update src/synth/progressive.ts (FLAGGER_LABELS, prometheusUrl, canaryObject) to what the charts render";

function renderedIn(rendered: readonly RenderedRelease[], namespace: string): KubeObject[] {
  return rendered.flatMap((r) => {
    const ns = str(specOf(r.release.object).targetNamespace) ?? r.release.object.metadata.namespace;
    return r.objects.filter((o) => (o.metadata.namespace ?? ns) === namespace);
  });
}

export function checkFlagger(m: Pick<Model, "progressiveDelivery">, tree: readonly PlacedObject[], rendered: readonly RenderedRelease[]): Finding[] {
  const pd = m.progressiveDelivery;
  // Without the charts rendered (--no-upstream) there is nothing to compare with.
  if (!pd || rendered.length === 0) return [];
  const out: Finding[] = [];
  const flagger = rendered.find((r) => r.release.object.kind === "HelmRelease" && r.release.object.metadata.name === FLAGGER_RELEASE && r.release.object.metadata.namespace === pd.namespace);
  if (flagger) {
    const finding = (rule: string, message: string): Finding => ({ rule, severity: "error", message, fix: FIX, file: flagger.release.file, object: objectRef(flagger.release.object) });
    const deploy = flagger.objects.find((o) => o.kind === "Deployment");
    const labels = (rec(rec(deploy ? podTemplateOf(deploy)?.metadata : undefined)?.labels) ?? {}) as Record<string, string>;
    const missing = Object.entries(FLAGGER_LABELS).filter(([k, v]) => labels[k] !== v);
    if (!deploy) out.push(finding("upstream/flagger-labels", "the flagger chart renders no Deployment"));
    else if (missing.length) out.push(finding("upstream/flagger-labels", `Flagger's pods lack ${missing.map(([k, v]) => `${k}=${v}`).join(", ")}, which its NetworkPolicies select`));
    const url = str(rec(specOf(flagger.release.object).values)?.metricsServer);
    const m2 = url ? /^https?:\/\/([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc[.a-z0-9-]*)?:(\d+)$/.exec(url) : null;
    // A profile renders only the releases it changes: with nothing rendered in that namespace, there is nothing to compare.
    if (m2 && renderedIn(rendered, m2[2]!).length) {
      const [, name, ns, port] = m2;
      const svc = renderedIn(rendered, ns!).find((o) => o.kind === "Service" && o.metadata.name === name);
      const ports = list(specOf(svc ?? ({} as KubeObject)).ports).map((p) => rec(p)?.port);
      if (!svc || !ports.includes(Number(port)))
        out.push(finding("upstream/flagger-metrics-server", `Flagger's metricsServer ${url} is ${svc ? `a Service without port ${port} (ports: ${ports.join(", ")})` : `no Service any chart renders in ${ns}`}`));
    }
  }
  for (const { object, file } of tree) {
    if (object.apiVersion !== FLAGGER_API || object.kind !== "Canary") continue;
    const ns = object.metadata.namespace ?? "default";
    const objs = renderedIn(rendered, ns);
    // The application releases were not rendered (no chart to render them with): nothing to compare.
    if (!objs.length) continue;
    const spec = specOf(object);
    for (const [field, ref] of [
      ["spec.targetRef", rec(spec.targetRef)],
      ["spec.ingressRef", rec(spec.ingressRef)],
    ] as const) {
      if (!ref) continue;
      if (!objs.some((o) => o.kind === str(ref.kind) && o.metadata.name === str(ref.name)))
        out.push({ rule: "upstream/canary-target", severity: "error", message: `the Canary's ${str(ref.kind)} ${ns}/${str(ref.name)} is not rendered by any release`, fix: FIX, file, object: objectRef(object), field });
    }
  }
  return out;
}
