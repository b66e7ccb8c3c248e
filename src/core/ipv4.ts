/**
 * IPv4 arithmetic for the definition's network checks and the host route check: addresses as
 * unsigned 32-bit numbers, networks in CIDR form. No I/O.
 */

export interface Cidr {
  /** The network address as a number. */
  network: number;
  prefix: number;
  /** The last address of the network (its broadcast address). */
  broadcast: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The address as a number, or undefined when it is not a dotted-quad IPv4 address. */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** `a.b.c.d/p`, with p 0..32; host bits may be set (see cidrHostBitsProblem). */
export function parseCidr(s: string): (Cidr & { address: number }) | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const address = parseIPv4(m[1]!);
  const prefix = Number(m[2]);
  if (address === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const network = address - (address % size);
  return { address, network, prefix, broadcast: network + size - 1 };
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ip >= c.network && ip <= c.broadcast;
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.network)}/${c.prefix}`;
}

/** RFC 1918 private ranges: the only ones a host-local bridge may use without shadowing real addresses. */
export function isPrivateIPv4(n: number): boolean {
  const a = Math.floor(n / 2 ** 24);
  const b = Math.floor(n / 2 ** 16) % 256;
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}
