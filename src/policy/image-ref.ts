/** An image reference split the way the container runtime reads it. */
export interface ImageRef {
  /** Everything before the tag and digest, registry host included: 192.168.7.21:5000/ffl/backend. */
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseImage(ref: string): ImageRef {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  // The tag separator is a colon after the last slash; an earlier colon is the registry's port.
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.indexOf(":", lastSlash + 1);
  const out: ImageRef = { repository: colon >= 0 ? rest.slice(0, colon) : rest };
  if (colon >= 0) out.tag = rest.slice(colon + 1);
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** Why the reference is not pinned to one build, or undefined when it is. A digest pins it whatever the tag says. */
export function unpinnedReason(img: ImageRef): string | undefined {
  if (img.digest) return undefined;
  if (img.tag === undefined || img.tag === "") return "has no tag, so it means `latest`";
  if (img.tag.toLowerCase() === "latest") return "uses the moving tag `latest`";
  return undefined;
}
