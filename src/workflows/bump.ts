/**
 * The minimal, comment-preserving edit of a release: change `tag:` of the named components in
 * the application's definition file, and nothing else in that file.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { isScalar, parseDocument } from "yaml";

export interface TagBump {
  component: string;
  from: string;
  to: string;
}

/**
 * Returns the new file text and what changed; throws when a component is not in the file.
 * The edit is made on the source text at the scalar's own range, so every other byte of the
 * file (comments, flow maps, anchors, line breaks) stays as the operator wrote it.
 */
export function bumpTags(text: string, components: readonly string[], version: string, file = "definition"): { text: string; bumps: TagBump[] } {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(version) || version === "latest") throw new Error(`'${version}' is not a pinned image tag (e.g. 1.4.3)`);
  const doc = parseDocument(text);
  const bumps: TagBump[] = [];
  const edits: Array<{ start: number; end: number; value: string }> = [];
  for (const c of components) {
    const node = doc.getIn(["components", c, "tag"], true);
    if (!isScalar(node) || !node.range) throw new Error(`${file}: component '${c}' has no tag to bump (components.${c}.tag)`);
    const from = String(node.value);
    // A tag that YAML would read as a number (1.10) must stay a string: quote it then.
    const plain = parseDocument(`v: ${version}`).get("v");
    const value = typeof plain === "string" ? version : JSON.stringify(version);
    edits.push({ start: node.range[0], end: node.range[1], value });
    bumps.push({ component: c, from, to: version });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.value + out.slice(e.end);
  return { text: out, bumps };
}

export function appDefinitionFile(root: string, appFile: string): { abs: string; text: string } {
  const abs = path.join(root, appFile);
  return { abs, text: readFileSync(abs, "utf8") };
}
