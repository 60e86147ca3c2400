/**
 * Where sandboxes may connect, by name (docs/sandbox-egress.md):
 * - `none`: nowhere; the sandboxes' NetworkPolicy allows no egress at all (not even DNS).
 * - `allowList`: only through the egress proxy (EgressProxy), which lets HTTP and CONNECT through to
 *   the listed names only and checks each TLS ClientHello's SNI against the CONNECT name.
 * - `internet`: the public internet, by address (the NetworkPolicy's 0.0.0.0/0 minus the denied ranges).
 */
export const EGRESS_MODES = ["none", "allowList", "internet"] as const;
export type EgressMode = (typeof EGRESS_MODES)[number];

/** The sandboxes' egress, resolved. */
export type SandboxEgress =
  | { readonly mode: "none" }
  | { readonly mode: "internet" }
  | { readonly mode: "allowList"; readonly allow: readonly string[] };

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Why `name` cannot be an allow-list entry, or undefined when it can. Entries are exact host names:
 * - no wildcard (`*.example.com`, `.example.com`): Poseidon's FQDN rules on ACS do not support
 *   wildcard domains (ACK "Manage agent network access with TrafficPolicy": 不支持泛域名), and one
 *   allow-list feeds every enforcement, so a wildcard would mean different things on different clusters;
 * - no IP address: the list is of names; an address would bypass the SNI check (a ClientHello
 *   carries no SNI for an IP literal, RFC 6066 section 3) and CIDR egress is a different feature;
 * - lower-case, at least two labels, no trailing dot, RFC 1123 labels of 1..63 characters, 253 in all.
 */
export function egressNameProblem(name: string): string | undefined {
  if (name.includes("*") || name.startsWith(".")) {
    return "wildcards are refused: Poseidon's FQDN rules on ACS do not support wildcard domains, and one allow-list must mean the same on every cluster; list each host name";
  }
  if (name.includes("/") || name.includes("@")) return "is not a host name (a URL?): list the host alone, such as pypi.org";
  if (IPV4.test(name) || /^[0-9a-f:.]*:[0-9a-f:.]*$/i.test(name)) return "is an IP address; list host names (an address has no TLS SNI to check, and CIDR egress is not what this list is for)";
  if (name.includes(":")) return "must not carry a port: the proxy lets CONNECT through on 443 and HTTP on 80";
  if (name !== name.toLowerCase()) return "must be lower case";
  if (name.endsWith(".")) return "must not end with a dot";
  if (name.length > 253) return "is longer than 253 characters";
  const labels = name.split(".");
  if (labels.length < 2) return "must be a fully qualified name with at least two labels, such as pypi.org";
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) return `has an invalid label ${JSON.stringify(bad)}: labels are 1..63 of a-z, 0-9 and '-', not starting or ending with '-'`;
  if (/^\d+$/.test(labels[labels.length - 1]!)) return "must end in a top-level domain, not digits";
  return undefined;
}

/** Throws unless every entry is an exact host name and the list has no repeats; the message names `arg`. */
export function requireEgressNames(component: string, arg: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const [i, name] of names.entries()) {
    const problem = egressNameProblem(name);
    if (problem) throw new Error(`${component}: ${arg}[${i}] ${JSON.stringify(name)} ${problem}`);
    if (seen.has(name)) throw new Error(`${component}: ${arg} lists ${JSON.stringify(name)} twice`);
    seen.add(name);
  }
}
