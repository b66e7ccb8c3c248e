/**
 * The runbooks cannot silently rot: every `bk` command they show is checked against the real
 * command tree (commands, subcommands, flags, required arguments).
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { program } from "../../src/cli/program.js";
import { REPO_ROOT } from "../helpers/definition.js";

const RUNBOOKS = path.join(REPO_ROOT, "docs/runbooks");
const REQUIRED = ["cluster-rebuild", "rebuild-verification", "service-restoration", "data-recovery", "sealed-secrets-keys", "secret-rotation", "build-machine-setup"];

/**
 * Every `bk ...` command: those in fenced code blocks are meant to be run as written, so they must
 * be complete; inline ones in prose may name a command without its arguments ("run `bk restore`").
 */
export function commandsIn(markdown: string): Array<{ line: string; complete: boolean }> {
  const out: Array<{ line: string; complete: boolean }> = [];
  // A trailing backslash continues the command on the next line, as in the shell.
  for (const block of markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) for (const line of block[1]!.replace(/\\\n/g, " ").split("\n")) if (/^\s*bk\s/.test(line)) out.push({ line: line.trim(), complete: true });
  const inline = markdown.replace(/```[\s\S]*?```/g, "");
  for (const m of inline.matchAll(/`(bk [^`]+)`/g)) out.push({ line: m[1]!.trim(), complete: false });
  return out;
}

function tokenize(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Why the command line would not parse, or undefined when it would. */
export function problemWith(line: string, complete = true): string | undefined {
  const tokens = tokenize(line).slice(1);
  let cmd: Command = program;
  const positional: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.startsWith("--")) {
      const name = t.split("=")[0]!;
      const scope = [cmd, program];
      const opt = scope.flatMap((c) => c.options).find((o) => o.long === name || (o.negate && o.long === name));
      if (!opt && name !== "--help") return `unknown option ${name} for 'bk ${cmd.name() === "bk" ? "" : commandPath(cmd)}'`;
      if (opt && (opt.required || opt.optional) && !t.includes("=")) {
        if (opt.variadic) while (tokens[i + 1] && !tokens[i + 1]!.startsWith("--")) i++;
        else i++;
      }
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === t);
    if (sub && positional.length === 0) {
      cmd = sub;
      continue;
    }
    positional.push(t);
  }
  if (cmd === program) return "no command";
  if (cmd.commands.length && !cmd.registeredArguments.length && positional.length) return `'bk ${commandPath(cmd)}' has no subcommand '${positional[0]}'`;
  if (!complete) return undefined;
  const required = cmd.registeredArguments.filter((a) => a.required);
  const variadic = cmd.registeredArguments.some((a) => a.variadic);
  if (positional.length < required.length) return `'bk ${commandPath(cmd)}' needs ${required.map((a) => `<${a.name()}>`).join(" ")}`;
  if (!variadic && positional.length > cmd.registeredArguments.length) return `'bk ${commandPath(cmd)}' takes no argument '${positional[cmd.registeredArguments.length]}'`;
  for (const o of cmd.options.filter((x) => x.mandatory)) if (!tokens.some((t) => t.split("=")[0] === o.long)) return `'bk ${commandPath(cmd)}' needs ${o.long}`;
  return undefined;
}

function commandPath(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x && x !== program; x = x.parent) names.unshift(x.name());
  return names.join(" ");
}

describe("runbooks", () => {
  const files = readdirSync(RUNBOOKS).filter((f) => f.endsWith(".md"));

  it("cover rebuild, verification, restoration, data recovery, key backup, rotation and build machine setup", () => {
    for (const r of REQUIRED) assert.ok(files.includes(`${r}.md`), `docs/runbooks/${r}.md is missing`);
  });

  for (const f of files) {
    it(`${f}: every bk command exists with these flags`, () => {
      const cmds = commandsIn(readFileSync(path.join(RUNBOOKS, f), "utf8"));
      if (REQUIRED.includes(f.replace(/\.md$/, ""))) assert.ok(cmds.length >= 2, `${f} names too few bk commands`);
      const bad = cmds.map((c) => [c.line, problemWith(c.line, c.complete)] as const).filter(([, p]) => p);
      assert.deepEqual(bad, [], bad.map(([c, p]) => `${c}: ${p}`).join("\n"));
    });
  }

  it("the checker itself rejects a stale command, flag or missing argument", () => {
    assert.match(problemWith("bk deploy ffl") ?? "", /no command|takes no argument/);
    assert.match(problemWith("bk secrets verify") ?? "", /needs --key-backup/);
    assert.match(problemWith("bk release ffl") ?? "", /needs/);
    assert.match(problemWith("bk status --kubecfg x") ?? "", /unknown option --kubecfg/);
    assert.match(problemWith("bk secrets verifyy", false) ?? "", /has no subcommand 'verifyy'/);
    assert.equal(problemWith("bk secrets verify", false), undefined);
    assert.equal(problemWith("bk restore /srv/backups --database ffl"), undefined);
    assert.equal(problemWith("bk release ffl backend 1.4.3 --ca ca.crt"), undefined);
  });

  it("reads a command continued over lines with a trailing backslash as one command", () => {
    const md = "```bash\nbk restore /srv/backups \\\n  --database ffl\nbk status\n```\n";
    assert.deepEqual(
      commandsIn(md).map((c) => c.line),
      ["bk restore /srv/backups    --database ffl", "bk status"],
    );
    assert.equal(problemWith(commandsIn(md)[0]!.line), undefined);
    assert.match(problemWith(commandsIn("```\nbk restore /srv/backups \\\n  --databse ffl\n```")[0]!.line) ?? "", /unknown option --databse/);
  });
});
