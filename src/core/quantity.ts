/**
 * Kubernetes resource quantities ("512Mi", "1.5", "250m", "1e3"), read exactly as the API server's
 * grammar has them. @kubernetes/client-node's quantityToScalar is no gate: it takes "0x10", " 5",
 * "Infinity" and "" (as 0), and throws on "1.5Gi"; so the grammar is checked here and the value
 * kept as an exact fraction, which is all a comparison of limits with requests needs.
 */

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?\d+))?$/;
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
/** Beyond this decimal exponent the API server would not keep the value exactly either; refusing it keeps the arithmetic small. */
const MAX_EXPONENT = 30;

/** A quantity as numerator / denominator (both BigInt, denominator positive). */
export interface Quantity {
  num: bigint;
  den: bigint;
}

/** The quantity's exact value, or undefined when the text is not a Kubernetes quantity. */
export function parseQuantity(text: string): Quantity | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, sign, digits, binary, decimal, exponent] = m;
  const [whole = "", frac = ""] = digits!.split(".");
  let num = BigInt((whole || "0") + frac) * (sign === "-" ? -1n : 1n);
  let den = 10n ** BigInt(frac.length);
  const exp10 = decimal ? DECIMAL[decimal]! : exponent ? Number(exponent) : 0;
  if (Math.abs(exp10) > MAX_EXPONENT) return undefined;
  if (binary) num *= 2n ** BigInt(BINARY[binary]!);
  if (exp10 >= 0) num *= 10n ** BigInt(exp10);
  else den *= 10n ** BigInt(-exp10);
  return { num, den };
}

/** -1, 0 or 1 as a is below, equal to or above b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}
