/**
 * Every link the documentation gives resolves: relative markdown links in README.md and docs/ (with their
 * #anchors), and every docs/ file an error message or fix hint in src/ sends the reader to.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/definition.js";

function filesUnder(dir: string, keep: (f: string) => boolean): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" })
    .map((f) => path.posix.join(dir, f.split(path.sep).join("/")))
    .filter((f) => keep(f) && statSync(path.join(REPO_ROOT, f)).isFile());
}

const MARKDOWN = ["README.md", ...filesUnder("docs", (f) => f.endsWith(".md"))];

/** Markdown without its fenced code blocks and code spans, where a bracket is no link. */
const prose = (text: string) => text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats numbered. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of markdown.replace(/```[\s\S]*?```/g, "").matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const slug = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

/** [text](target) links that stay inside the repository. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

describe("documentation links", () => {
  it("finds the documents it checks", () => {
    assert.ok(MARKDOWN.includes("docs/definition.md") && MARKDOWN.includes("docs/design.md") && MARKDOWN.length > 10, MARKDOWN.join(", "));
  });

  for (const doc of MARKDOWN) {
    it(`${doc}: every relative link and anchor resolves`, () => {
      const text = readFileSync(path.join(REPO_ROOT, doc), "utf8");
      const broken: string[] = [];
      for (const link of relativeLinks(text)) {
        const [target, anchor] = link.split("#") as [string, string | undefined];
        const file = target ? path.posix.normalize(path.posix.join(path.posix.dirname(doc), decodeURI(target))) : doc;
        if (!existsSync(path.join(REPO_ROOT, file))) broken.push(`${link}: ${file} does not exist`);
        else if (anchor && file.endsWith(".md") && !anchors(readFileSync(path.join(REPO_ROOT, file), "utf8")).has(anchor)) broken.push(`${link}: no heading with anchor #${anchor} in ${file}`);
      }
      assert.deepEqual(broken, []);
    });
  }

  it("every docs/ file named in src/ (error messages, fix hints) exists", () => {
    const named = new Map<string, string>();
    for (const f of filesUnder("src", (x) => x.endsWith(".ts"))) {
      for (const m of readFileSync(path.join(REPO_ROOT, f), "utf8").matchAll(/\bdocs\/[\w./-]+\.md\b/g)) named.set(m[0], f);
    }
    assert.ok(named.has("docs/definition.md"), [...named.keys()].join(", "));
    assert.deepEqual(
      [...named].filter(([doc]) => !existsSync(path.join(REPO_ROOT, doc))).map(([doc, from]) => `${doc} (named in ${from})`),
      [],
    );
  });

  it("the checker catches a missing file and a missing anchor", () => {
    assert.deepEqual(relativeLinks("see [a](docs/x.md#y), [b](https://e.org), `[c](no.md)`"), ["docs/x.md#y"]);
    assert.ok(anchors("# The definition: every file and field\n## definition/apps/<app>.yaml\n## A\n## A").has("the-definition-every-file-and-field"));
    assert.deepEqual([...anchors("## definition/apps/<app>.yaml\n## A\n## A")], ["definitionappsappyaml", "a", "a-1"]);
  });
});
