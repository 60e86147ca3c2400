import { subnet } from "../shared/cidr";

/** The most zones one VPC layout serves: pod blocks take six eighths of the VPC, nodes the rest. */
export const MAX_ZONES = 6;

export interface ZoneSubnets {
  readonly zoneId: string;
  /** vSwitch for ECS nodes (small: nodes are few). */
  readonly nodeCidr: string;
  /** vSwitch for Terway pod ENIs (large: every pod takes an address from it). */
  readonly podCidr: string;
}

/**
 * Deterministic vSwitch layout: zone `i` gets the `i`-th /(p+3) block for pods and the `i`-th
 * /(p+8) block of the VPC's last quarter for nodes. Stable per zone position, so adding a zone at
 * the end never moves an existing vSwitch.
 */
export function layoutZoneSubnets(vpcCidr: string, zoneIds: readonly string[]): ZoneSubnets[] {
  const prefix = Number(vpcCidr.split("/")[1]);
  if (zoneIds.length > MAX_ZONES) {
    throw new Error(`at most ${MAX_ZONES} zones fit the VPC layout, got ${zoneIds.length}`);
  }
  const nodeArea = subnet(vpcCidr, prefix + 2, 3);
  return zoneIds.map((zoneId, index) => ({
    zoneId,
    podCidr: subnet(vpcCidr, prefix + 3, index),
    nodeCidr: subnet(nodeArea, prefix + 8, index),
  }));
}
