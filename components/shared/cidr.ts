import * as ipaddr from "ipaddr.js";

/** An IPv4 CIDR block as integer bounds, for overlap checks and subnet layout. */
export interface Ipv4Block {
  readonly cidr: string;
  readonly first: number;
  readonly prefix: number;
  readonly size: number;
}

/** Parses `a.b.c.d/n` strictly: the address must be the network address of the block. */
export function parseIpv4Cidr(cidr: string): Ipv4Block {
  if (!ipaddr.IPv4.isValidCIDR(cidr)) {
    throw new Error(`"${cidr}" is not an IPv4 CIDR block such as 10.0.0.0/16`);
  }
  const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  const first = toInt(address);
  const size = 2 ** (32 - prefix);
  if (first % size !== 0) {
    const network = fromInt(first - (first % size));
    throw new Error(`"${cidr}" has host bits set; the block is ${network}/${prefix}`);
  }
  return { cidr, first, prefix, size };
}

export function isIpv4Cidr(cidr: string): boolean {
  try {
    parseIpv4Cidr(cidr);
    return true;
  } catch {
    return false;
  }
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseIpv4Cidr(a);
  const y = parseIpv4Cidr(b);
  return x.first < y.first + y.size && y.first < x.first + x.size;
}

/** The `index`-th block of length `newPrefix` inside `parent`, counting from its start. */
export function subnet(parent: string, newPrefix: number, index: number): string {
  const block = parseIpv4Cidr(parent);
  if (newPrefix < block.prefix || newPrefix > 32) {
    throw new Error(`cannot cut /${newPrefix} blocks out of ${parent}`);
  }
  const size = 2 ** (32 - newPrefix);
  if (index < 0 || (index + 1) * size > block.size) {
    throw new Error(`${parent} has no block #${index} of length /${newPrefix}`);
  }
  return `${fromInt(block.first + index * size)}/${newPrefix}`;
}

/**
 * Blocks that are not reachable from the internet (RFC 6890 special-purpose IPv4 ranges, incl. RFC 1918
 * private space, CGNAT 100.64/10, loopback, link-local, multicast and reserved).
 */
const NON_PUBLIC = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3"];

/** True when the blocks together contain every public IPv4 address (an allow-list that admits everyone). */
export function coversPublicInternet(cidrs: readonly string[]): boolean {
  const spans = [...cidrs, ...NON_PUBLIC]
    .map(parseIpv4Cidr)
    .map((b) => [b.first, b.first + b.size] as const)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [start, end] of spans) {
    if (start > covered) return false;
    covered = Math.max(covered, end);
  }
  return covered >= 2 ** 32;
}

function toInt(address: ipaddr.IPv4): number {
  return address.octets.reduce((acc, octet) => acc * 256 + octet, 0);
}

function fromInt(value: number): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256);
  return octets.join(".");
}
