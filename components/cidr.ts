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

function toInt(address: ipaddr.IPv4): number {
  return address.octets.reduce((acc, octet) => acc * 256 + octet, 0);
}

function fromInt(value: number): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256);
  return octets.join(".");
}
