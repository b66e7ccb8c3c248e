/**
 * Container image references: the split the container runtime makes, and the grammar the registry
 * accepts (distribution's reference grammar: domain[:port]/path:tag@digest).
 */

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

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
export const IMAGE_TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const NAME = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const MAX_NAME = 255;

/** What is wrong with the reference's syntax, or undefined when the registry would accept it. */
export function imageRefProblem(ref: string): string | undefined {
  if (ref !== ref.trim() || /\s/.test(ref)) return "contains white space";
  const img = parseImage(ref);
  if (img.tag !== undefined && !IMAGE_TAG.test(img.tag)) return `tag '${img.tag}' is not a tag: letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'`;
  if (img.digest !== undefined && !DIGEST.test(img.digest)) return `digest '${img.digest}' is not algorithm:hex, such as sha256:<64 hex digits>`;
  if (img.repository.length > MAX_NAME) return `the repository name is longer than ${MAX_NAME} characters`;
  if (NAME.test(img.repository)) return undefined;
  if (NAME.test(img.repository.toLowerCase())) return `the repository '${img.repository}' has upper-case letters; repository paths are lower case`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) return "is a URL; an image reference has no scheme (registry.example:5000/team/app:1.0)";
  return `'${img.repository}' is not a repository name: [registry[:port]/]path, each path component lower-case letters and digits separated by '.', '_', '__' or '-'`;
}
