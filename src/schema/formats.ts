/**
 * The string/number formats Kubernetes CRDs use, with Kubernetes' meaning (not JSON Schema's:
 * "duration" is a Go duration such as 5m or 1h30m, not ISO 8601), and a regular-expression engine
 * for ajv that copes with Go RE2 syntax found in CRD patterns.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { Format } from "ajv";
import type { RegExpEngine, RegExpLike } from "ajv/dist/types/index.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const RFC3339 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
// Go's time.ParseDuration plus the d/w units kube-openapi's strfmt adds.
const GO_DURATION = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w))+)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$/;

function isCidr(value: string): boolean {
  const slash = value.indexOf("/");
  if (slash === -1) return false;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  if (isIPv4(ip)) return n <= 32;
  if (isIPv6(ip)) return n <= 128;
  return false;
}

const anyNumber = { type: "number", validate: () => true } as const;
const anyString = { type: "string", validate: () => true } as const;

/**
 * Every format name that may appear in the CRDs. Formats the API server does not check for
 * custom resources (password, uri, email, ...) accept anything, so validation never disagrees
 * with the cluster in the strict direction.
 */
export const KUBERNETES_FORMATS: Record<string, Format> = {
  int32: { type: "number", validate: (n: number) => Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX },
  int64: { type: "number", validate: (n: number) => Number.isInteger(n) },
  float: anyNumber,
  double: anyNumber,
  byte: { type: "string", validate: (s: string) => BASE64.test(s) },
  "date-time": { type: "string", validate: (s: string) => RFC3339.test(s) },
  datetime: { type: "string", validate: (s: string) => RFC3339.test(s) },
  date: { type: "string", validate: (s: string) => DATE.test(s) },
  duration: { type: "string", validate: (s: string) => GO_DURATION.test(s) },
  ipv4: { type: "string", validate: (s: string) => isIPv4(s) },
  ipv6: { type: "string", validate: (s: string) => isIPv6(s) },
  cidr: { type: "string", validate: isCidr },
  uuid: { type: "string", validate: (s: string) => UUID.test(s) },
  hostname: { type: "string", validate: (s: string) => HOSTNAME.test(s) },
  binary: anyString,
  password: anyString,
  uri: anyString,
  email: anyString,
  mac: anyString,
  string: anyString,
};

export const KNOWN_FORMAT_NAMES: ReadonlySet<string> = new Set(Object.keys(KUBERNETES_FORMATS));

const ACCEPT_ALL: RegExpLike = { test: () => true };

/**
 * Go RE2 patterns in CRDs use inline flags ("(?i)january|...") that JavaScript rejects. An inline
 * (?i) is applied to the whole pattern, which can only make it more lenient; a pattern that still
 * does not compile accepts everything rather than failing valid objects.
 */
function compileGoPattern(pattern: string, flags: string): RegExpLike {
  let source = pattern.replace(/\\A/g, "^").replace(/\\z/g, "$");
  let f = flags;
  if (source.includes("(?i)")) {
    source = source.replaceAll("(?i)", "");
    f += "i";
  }
  for (const attempt of [f, f.replace("u", "")]) {
    try {
      return new RegExp(source, attempt);
    } catch {
      // try the next flag set
    }
  }
  return ACCEPT_ALL;
}

/** This module's own file: its text is part of the compiled-validator cache key (standalone.ts). */
export const FORMATS_MODULE_URL = import.meta.url;

export const goRegExpEngine: RegExpEngine = Object.assign(compileGoPattern, { code: "goRegExpEngine" });
