/**
 * Finds credentials written as literals into objects: well-known token shapes anywhere in a string, and
 * values of password/secret/token/api-key keys that are not references. False positives teach people to
 * ignore the rule, so every pattern is narrow and the key rule skips names, paths, references and prose.
 */
import { fieldPath, rec } from "../core/paths.js";

export interface CredentialHit {
  /** Path segments from the object root to the string. */
  path: Array<string | number>;
  /** What it looks like, e.g. "a GitHub token". */
  kind: string;
  /** 1-based line inside a multi-line string, when the hit is on one line of it. */
  line?: number;
}

function b64urlDecode(s: string): string {
  return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8");
}

function mixedAlnum(s: string): boolean {
  return /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);
}

interface TokenPattern {
  kind: string;
  re: RegExp;
  /**
   * A cheap necessary condition (a literal every match contains, or a minimum length): nearly every string in
   * a tree is a name or a number, and running the expressions on all of them was most of the policy pass.
   */
  mayMatch: (s: string) => boolean;
  /** Extra test on the match, to keep look-alikes out. */
  confirm?: (m: RegExpExecArray) => boolean;
}

const contains = (literal: string) => (s: string) => s.includes(literal);

const TOKEN_PATTERNS: TokenPattern[] = [
  { kind: "a private key", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/, mayMatch: contains("-----BEGIN ") },
  { kind: "an AWS access key id", re: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/, mayMatch: (s) => s.length >= 20 && /A(?:KIA|SIA|BIA|CCA)/.test(s) },
  { kind: "a GitHub token", re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/, mayMatch: (s) => s.length >= 33 && /gh[pousr]_|github_pat_/.test(s) },
  { kind: "a Slack token", re: /\bxox[abposr]-[A-Za-z0-9]+-[A-Za-z0-9-]{8,}/, mayMatch: contains("xox") },
  { kind: "a Slack webhook URL", re: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/, mayMatch: contains("hooks.slack.com") },
  {
    kind: "a Discord bot token",
    re: /(?<![A-Za-z0-9_-])([MNO][A-Za-z0-9_-]{23,27})\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}(?![A-Za-z0-9_-])/,
    // 24 + 1 + 6 + 1 + 27 characters at least.
    mayMatch: (s) => s.length >= 59 && s.includes("."),
    // The first part is the bot's numeric user id, base64-encoded.
    confirm: (m) => /^\d{17,20}$/.test(b64urlDecode(m[1]!)),
  },
  { kind: "an Anthropic API key", re: /\bsk-ant-[A-Za-z0-9_-]{32,}/, mayMatch: contains("sk-ant-"), confirm: (m) => mixedAlnum(m[0]) },
  {
    kind: "an OpenAI API key",
    re: /(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}/,
    mayMatch: contains("sk-"),
    // Kebab-case names such as "sk-some-long-service-name" are not keys: real keys mix case and digits.
    confirm: (m) => mixedAlnum(m[0]),
  },
  {
    kind: "a JSON Web Token",
    re: /\b(eyJ[A-Za-z0-9_-]{10,})\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/,
    mayMatch: contains("eyJ"),
    confirm: (m) => {
      try {
        const header = JSON.parse(b64urlDecode(m[1]!)) as unknown;
        return rec(header)?.alg !== undefined || rec(header)?.typ !== undefined;
      } catch {
        return false;
      }
    },
  },
  {
    kind: "a URL with an embedded password",
    re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:([^\s/@]+)@/i,
    mayMatch: (s) => s.includes("://") && s.includes("@"),
    confirm: (m) => !isReference(m[1]!),
  },
];

/** ${VAR}, $(VAR) and {{ template }} are filled in elsewhere; they are not the credential itself. */
export function isReference(value: string): boolean {
  return /\$\{[^}]*\}|\$\([^)]*\)|\{\{[\s\S]*\}\}/.test(value);
}

/** Keys that name a credential itself, not a reference to one (existingSecret, passwordSecret, tlsSecret are names). */
export function isCredentialKey(key: string): boolean {
  let known = credentialKeys.get(key);
  if (known === undefined) {
    known = classifyKey(key);
    if (credentialKeys.size > 10_000) credentialKeys.clear();
    credentialKeys.set(key, known);
  }
  return known;
}

/** Keys repeat across thousands of objects (name, image, value, ...), so each is classified once. */
const credentialKeys = new Map<string, boolean>();

function classifyKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (!/(password|passwd|secret|token|apikey)$/.test(k)) return false;
  if (k.includes("existing")) return false;
  // "checksum/secret" annotations hold a hash of a Secret, which charts add to roll pods when it changes.
  if (k.startsWith("checksum")) return false;
  if (k.endsWith("secret") && /(password|passwd|token|apikey)/.test(k.slice(0, -"secret".length))) return false;
  return true;
}

const NAMESPACED_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether a value under a credential key is a literal credential rather than a name, path, flag or reference. */
export function isLiteralCredential(key: string, value: string): boolean {
  const v = value.trim();
  if (v === "" || isReference(v)) return false;
  // Prose ("the token expires after ...") and YAML booleans are not credentials.
  if (/\s/.test(v) || /^(true|false|null|~)$/i.test(v)) return false;
  if (/^\/[\w./-]*$/.test(v)) return false; // a file path such as /var/run/secrets/token
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  // "...secret: my-app-tls" usually names a Secret; random-looking strings do not look like that.
  if (k.endsWith("secret") && DNS_NAME.test(v) && (v.includes("-") || v.length < 16)) return false;
  // "<namespace>/<name>" names a Secret in another namespace (cert-manager's inject-ca-from-secret annotation).
  if (k.endsWith("secret") && NAMESPACED_NAME.test(v)) return false;
  return true;
}

/** Global copies, compiled once, to look past a match that `confirm` rejects. */
const GLOBAL_PATTERNS = TOKEN_PATTERNS.map((p) => ({ ...p, re: new RegExp(p.re.source, p.re.flags.includes("g") ? p.re.flags : p.re.flags + "g") }));

function tokenKinds(value: string): string[] {
  const kinds: string[] = [];
  for (const p of GLOBAL_PATTERNS) {
    if (!p.mayMatch(value)) continue;
    const re = p.re;
    re.lastIndex = 0;
    for (let m = re.exec(value); m; m = re.exec(value)) {
      if (!p.confirm || p.confirm(m)) {
        kinds.push(p.kind);
        break;
      }
    }
  }
  return kinds;
}

const CONFIG_LINE = /^\s*["']?([A-Za-z0-9_.-]+)["']?\s*[:=]\s*(.*?)\s*,?\s*$/;
const CLI_FLAG = /^--?([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$/;
const ENV_ASSIGNMENT = /^([A-Z][A-Z0-9_]*)=(.+)$/;

function unquote(v: string): string {
  const m = /^(["'])(.*)\1$/.exec(v);
  return m ? m[2]! : v;
}

/**
 * Whether a text could hold a key that isCredentialKey accepts: keys are normalised by dropping '_', '.'
 * and '-', so a credential key's raw spelling is one of the words with those characters in between. A
 * necessary condition, checked once per string, so that a large config file or dashboard without any
 * such word is not split and matched line by line.
 */
const CREDENTIAL_WORD = /p[_.-]*a[_.-]*s[_.-]*s[_.-]*w[_.-]*(?:o[_.-]*r[_.-]*)?d|s[_.-]*e[_.-]*c[_.-]*r[_.-]*e[_.-]*t|t[_.-]*o[_.-]*k[_.-]*e[_.-]*n|a[_.-]*p[_.-]*i[_.-]*k[_.-]*e[_.-]*y/i;

/** key/value pairs written inside a string: config files in ConfigMaps, `--password=...` args, KEY=value lines. */
function embeddedPairs(value: string): Array<{ key: string; value: string; line?: number }> {
  if (!value.includes("\n")) {
    // Both forms are assignments of a key that may name a credential.
    if (!value.includes("=") || !CREDENTIAL_WORD.test(value)) return [];
    const m = CLI_FLAG.exec(value) ?? ENV_ASSIGNMENT.exec(value);
    return m ? [{ key: m[1]!, value: unquote(m[2]!) }] : [];
  }
  const out: Array<{ key: string; value: string; line?: number }> = [];
  if (!CREDENTIAL_WORD.test(value)) return out;
  value.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || /^(#|\/\/|;)/.test(line)) return;
    const m = CLI_FLAG.exec(line) ?? CONFIG_LINE.exec(line);
    if (!m) return;
    const v = unquote(m[2]!.replace(/\s+#.*$/, ""));
    // A key opening a nested block or list carries no value on this line.
    if (v === "" || /^[|>{[&*]/.test(v)) return;
    out.push({ key: m[1]!, value: v, line: i + 1 });
  });
  return out;
}

function scanString(key: string | undefined, value: string, path: ReadonlyArray<string | number>, out: CredentialHit[]): void {
  const kinds = tokenKinds(value);
  if (kinds.length > 0) {
    out.push({ path: [...path], kind: kinds.join(" and ") });
    return;
  }
  if (key !== undefined && isCredentialKey(key) && isLiteralCredential(key, value)) {
    out.push({ path: [...path], kind: `a literal value for "${key}"` });
    return;
  }
  for (const pair of embeddedPairs(value)) {
    if (isCredentialKey(pair.key) && isLiteralCredential(pair.key, pair.value)) {
      const hit: CredentialHit = { path: [...path], kind: `a literal value for "${pair.key}"` };
      if (pair.line !== undefined) hit.line = pair.line;
      out.push(hit);
      return;
    }
  }
}

/**
 * Walks every string in `value`. `skip` decides subtrees that hold no plaintext (SealedSecret ciphertext).
 * An env-style { name: DB_PASSWORD, value: "..." } pair is read as the key DB_PASSWORD.
 */
export function scanForCredentials(value: unknown, skip: (path: ReadonlyArray<string | number>) => boolean = () => false): CredentialHit[] {
  const out: CredentialHit[] = [];
  // One path stack for the whole walk; scanString copies it only for a hit.
  const path: Array<string | number> = [];
  const walk = (v: unknown, key: string | undefined): void => {
    if (skip(path)) return;
    if (typeof v === "string") {
      scanString(key, v, path, out);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        walk(v[i], key);
        path.pop();
      }
    } else {
      const r = rec(v);
      if (!r) return;
      const envName = typeof r.name === "string" && typeof r.value === "string" ? r.name : undefined;
      for (const k of Object.keys(r)) {
        path.push(k);
        walk(r[k], k === "value" && envName !== undefined ? envName : k);
        path.pop();
      }
    }
  };
  walk(value, undefined);
  return out;
}

export function hitField(hit: CredentialHit): string {
  return fieldPath("", ...hit.path);
}
