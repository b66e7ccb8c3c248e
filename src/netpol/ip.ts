/** IPv4 addresses and CIDR blocks, as NetworkPolicy ipBlock needs them. IPv6 blocks match no IPv4 address. */

export function parseIpv4(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Whether `ip` lies in `cidr`; undefined when the block is not an IPv4 CIDR. */
export function cidrContains(cidr: string, ip: string): boolean | undefined {
  const [base, bits] = cidr.split("/");
  const b = base === undefined ? undefined : parseIpv4(base);
  const len = Number(bits);
  if (b === undefined || bits === undefined || !Number.isInteger(len) || len < 0 || len > 32) return undefined;
  const a = parseIpv4(ip);
  if (a === undefined) return false;
  const size = 2 ** (32 - len);
  return Math.floor(a / size) === Math.floor(b / size);
}
