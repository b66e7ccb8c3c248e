/**
 * Workload hygiene: resources and probes on every container, and images that come from our registry,
 * pinned to one build, under one path convention (incident 2: a typo'd/unpushed tag; incident 10: image
 * paths were flat in practice and nested in the docs).
 */
import type { Finding } from "../core/finding.js";
import type { KubeObject } from "../core/object.js";
import { parseImage, unpinnedReason, type ImageRef } from "../core/image-ref.js";
import { at, fieldPath, rec, str } from "../core/paths.js";
import { apiGroup, containersOf, describeContainer, podTemplateOf } from "../core/pod-spec.js";
import type { PolicyContext, PolicyRule } from "./rule.js";

type Violation = Omit<Finding, "rule" | "file" | "object">;

export const PART_OF_LABEL = "app.kubernetes.io/part-of";
export const COMPONENT_LABEL = "app.kubernetes.io/component";

const resources: PolicyRule = {
  id: "workload/resources",
  description: "Every container and init container sets resources.requests and resources.limits for cpu and memory.",
  // Upstream charts' containers fail too: the definition sizes every one (infrastructure.yaml `resources`).
  check(obj) {
    const pt = podTemplateOf(obj);
    if (!pt) return [];
    const out: Violation[] = [];
    // Ephemeral (debug) containers cannot carry resources.
    for (const c of containersOf(pt, ["initContainers", "containers"])) {
      const missing: string[] = [];
      for (const kind of ["requests", "limits"]) {
        for (const res of ["cpu", "memory"]) {
          const v = at(c.container, "resources", kind)?.[res];
          if (v === undefined || v === null || v === "") missing.push(`${kind}.${res}`);
        }
      }
      if (missing.length === 0) continue;
      out.push({
        severity: "error",
        field: fieldPath(c.path, "resources"),
        message: `${describeContainer(c)} does not set resources ${missing.join(", ")}`,
        fix: "set resources.requests and resources.limits for both cpu and memory, so the scheduler can place the pod and one pod cannot starve the node",
      });
    }
    return out;
  },
};

const LONG_RUNNING = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

const probes: PolicyRule = {
  id: "workload/probes",
  description: "Every container of a Deployment, StatefulSet or DaemonSet has a livenessProbe and a readinessProbe.",
  // An upstream chart's probes are its maintainers' design (e.g. cainjector has no endpoint to probe).
  origins: ["tree", "app-chart"],
  check(obj) {
    if (!LONG_RUNNING.has(obj.kind) || apiGroup(obj) !== "apps") return [];
    const pt = podTemplateOf(obj);
    if (!pt) return [];
    const out: Violation[] = [];
    for (const c of containersOf(pt, ["containers"])) {
      for (const probe of ["livenessProbe", "readinessProbe"] as const) {
        if (rec(c.container[probe])) continue;
        out.push({
          severity: "error",
          field: fieldPath(c.path, probe),
          message: `${describeContainer(c)} has no ${probe}`,
          fix: probe === "livenessProbe" ? "add a livenessProbe so a hung container is restarted" : "add a readinessProbe so traffic and rollouts wait until the container can serve",
        });
      }
    }
    return out;
  },
};

/** One image reference in an object, with where it sits and how much of it the object spells out. */
interface ImageSite {
  image: ImageRef;
  raw: string;
  who: string;
  /** Field to report registry and naming problems at. */
  repositoryField: string;
  /** Field to report an unpinned tag at. */
  tagField: string;
  /** False for a chart values image without a tag: the chart's own appVersion pins it. */
  tagSpelled: boolean;
  /** Whether the image must come from our registry (always for manifests; for HelmReleases only our apps'). */
  ours: boolean;
  /** Whether the app/component path convention applies to this image. */
  named: boolean;
}

function labelsOf(obj: KubeObject): Record<string, string> {
  const pt = podTemplateOf(obj);
  const fromTemplate = rec(pt?.metadata.labels) ?? {};
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...fromTemplate, ...(obj.metadata.labels ?? {}) })) {
    if (typeof v === "string") merged[k] = v;
  }
  return merged;
}

function isHelmRelease(obj: KubeObject): boolean {
  return obj.kind === "HelmRelease" && apiGroup(obj) === "helm.toolkit.fluxcd.io";
}

/** Chart values name images either as "repo:tag" strings or as { registry?, repository, tag?, digest? }. */
function valuesImages(values: unknown, path: string, out: ImageSite[], ours: boolean): void {
  if (Array.isArray(values)) {
    values.forEach((v, i) => {
      valuesImages(v, fieldPath(path, i), out, ours);
    });
    return;
  }
  const r = rec(values);
  if (!r) return;
  for (const [key, value] of Object.entries(r)) {
    const here = fieldPath(path, key);
    if (key === "image" && typeof value === "string" && value !== "") {
      out.push({ image: parseImage(value), raw: value, who: `values image "${value}"`, repositoryField: here, tagField: here, tagSpelled: true, ours, named: ours });
      continue;
    }
    const img = key === "image" ? rec(value) : undefined;
    const repository = str(img?.repository);
    if (img && repository) {
      const registry = str(img.registry);
      const parsed = parseImage(registry ? `${registry}/${repository}` : repository);
      const tagValue = img.tag;
      const tagSpelled = tagValue !== undefined && tagValue !== null;
      // YAML reads `tag: 1.20` as a number; the chart renders it as text either way.
      if (tagSpelled) parsed.tag = String(tagValue);
      const digest = str(img.digest);
      if (digest) parsed.digest = digest;
      const raw = `${parsed.repository}${parsed.tag !== undefined ? `:${parsed.tag}` : ""}${parsed.digest ? `@${parsed.digest}` : ""}`;
      out.push({
        image: parsed,
        raw,
        who: `values image "${raw}"`,
        repositoryField: fieldPath(here, "repository"),
        tagField: fieldPath(here, tagSpelled ? "tag" : "repository"),
        tagSpelled: tagSpelled || parsed.tag !== undefined,
        ours,
        named: ours,
      });
      continue;
    }
    valuesImages(value, here, out, ours);
  }
}

export function imageSites(obj: KubeObject): ImageSite[] {
  const out: ImageSite[] = [];
  const pt = podTemplateOf(obj);
  if (pt) {
    for (const c of containersOf(pt)) {
      const raw = str(c.container.image) ?? "";
      const field = fieldPath(c.path, "image");
      out.push({
        image: parseImage(raw),
        raw,
        who: describeContainer(c),
        repositoryField: field,
        tagField: field,
        tagSpelled: true,
        ours: true,
        // Debug containers attached by an operator are not part of the app's image set.
        named: c.group !== "ephemeralContainers",
      });
    }
  }
  if (isHelmRelease(obj)) {
    // Only our own apps' charts must pull from the private registry; third-party charts pull their vendors' images.
    const ours = labelsOf(obj)[PART_OF_LABEL] !== undefined;
    valuesImages(at(obj, "spec")?.values, "spec.values", out, ours);
  }
  return out;
}

function inRegistry(img: ImageRef, registry: string): boolean {
  return img.repository.startsWith(`${registry}/`);
}

const imageRegistry: PolicyRule = {
  id: "image/registry",
  description: "Images come from the private registry (PolicyContext.registry); for HelmReleases, those of our own apps.",
  // Upstream charts pull their publishers' pinned images; mirroring them is `bk images mirror`'s job, not a chart edit.
  origins: ["tree", "app-chart"],
  check(obj, ctx: PolicyContext) {
    return imageSites(obj)
      .filter((s) => s.ours && !inRegistry(s.image, ctx.registry))
      .map((s) => ({
        severity: "error" as const,
        field: s.repositoryField,
        message: s.raw ? `${s.who} uses image "${s.raw}", which is not in the private registry ${ctx.registry}` : `${s.who} has no image`,
        fix: `push the image to ${ctx.registry} and reference it as ${ctx.registry}/<app>/<component>:<tag>`,
      }));
  },
};

const imagePinnedTag: PolicyRule = {
  id: "image/pinned-tag",
  description: "Image references carry an explicit version tag (not `latest`) or a digest.",
  check(obj) {
    const out: Violation[] = [];
    for (const s of imageSites(obj)) {
      if (!s.raw || !s.tagSpelled) continue;
      const reason = unpinnedReason(s.image);
      if (!reason) continue;
      out.push({
        severity: "error",
        field: s.tagField,
        message: `${s.who} ${reason}; what runs would change without a change in Git`,
        fix: "pin the image to the version tag that was built and pushed (e.g. :1.4.2) or to a digest (@sha256:...)",
      });
    }
    return out;
  },
};

const imageNaming: PolicyRule = {
  id: "image/naming",
  description: `Images of objects labelled ${PART_OF_LABEL} and ${COMPONENT_LABEL} follow <registry>/<app>/<component>:<tag>.`,
  check(obj, ctx) {
    const labels = labelsOf(obj);
    const app = labels[PART_OF_LABEL];
    const component = labels[COMPONENT_LABEL];
    if (!app || !component) return [];
    const expected = `${ctx.registry}/${app}/${component}`;
    // Images outside the registry are image/registry's finding; naming only matters inside it.
    return imageSites(obj)
      .filter((s) => s.named && inRegistry(s.image, ctx.registry) && s.image.repository !== expected)
      .map((s) => ({
        severity: "error" as const,
        field: s.repositoryField,
        message: `${s.who} is "${s.image.repository}", but ${app}/${component} images live at "${expected}"`,
        fix: `push and reference the image as ${expected}:<tag> (one path convention: <registry>/<app>/<component>)`,
      }));
  },
};

export const workloadRules: readonly PolicyRule[] = [resources, probes, imageRegistry, imagePinnedTag, imageNaming];
