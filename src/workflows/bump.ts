/**
 * The minimal, comment-preserving edits of a release and of a chart push: change `tag:` of the named
 * components, or a chart version, in a definition file, and nothing else in that file.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { isMap, isScalar, parseDocument } from "yaml";

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
    edits.push({ start: node.range[0], end: node.range[1], value: yamlString(version) });
    bumps.push({ component: c, from, to: version });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.value + out.slice(e.end);
  return { text: out, bumps };
}

/** A version as a YAML scalar that reads back as that string: one YAML would read as a number (1.10) is quoted. */
function yamlString(version: string): string {
  const plain = parseDocument(`v: ${version}`).get("v");
  return typeof plain === "string" && plain === version ? version : JSON.stringify(version);
}

/**
 * Set the version at `at` (a path of map keys) to `version`, editing only that scalar's text. When the key is
 * absent and `insertBefore` names a top-level key, a line `<last key>: <version>` is added just above that key;
 * otherwise a missing key is an error naming the file and the path.
 */
export function setVersion(text: string, at: readonly string[], version: string, file: string, insertBefore?: string): { text: string; from?: string } {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file}: not valid YAML (${doc.errors[0]!.message}); fix it before the version can be edited`);
  const node = doc.getIn(at, true);
  if (isScalar(node) && node.range) {
    return { text: text.slice(0, node.range[0]) + yamlString(version) + text.slice(node.range[1]), from: String(node.value) };
  }
  if (node !== undefined) throw new Error(`${file}: ${at.join(".")} is not a plain value; write it as \`${at.at(-1)}: x.y.z\``);
  if (at.length !== 1 || !insertBefore) throw new Error(`${file}: there is no ${at.join(".")} to edit`);
  const before = isMap(doc.contents) ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === insertBefore) : undefined;
  const start = before && isScalar(before.key) ? before.key.range?.[0] : undefined;
  // Only a block map at column 0 takes a new line as a key of its own.
  if (start === undefined || (start > 0 && text[start - 1] !== "\n")) throw new Error(`${file}: cannot place ${at[0]} (no top-level \`${insertBefore}:\` line); add \`${at[0]}: ${version}\` by hand`);
  return { text: `${text.slice(0, start)}${at[0]}: ${yamlString(version)}\n${text.slice(start)}` };
}

export function appDefinitionFile(root: string, appFile: string): { abs: string; text: string } {
  const abs = path.join(root, appFile);
  return { abs, text: readFileSync(abs, "utf8") };
}
