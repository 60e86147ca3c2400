import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { layoutZoneSubnets } from "./network-layout";

/** A VPC for the cluster: a new one laid out per zone, or an existing one given by id. */
export interface NetworkArgs {
  /** Adopt this VPC instead of creating one; requires both vSwitch lists. */
  existingVpcId?: pulumi.Input<string>;
  /** Node vSwitches of the existing VPC, one per zone. */
  existingNodeVswitchIds?: pulumi.Input<string>[];
  /** Terway pod vSwitches of the existing VPC, one per zone (same zones as the node vSwitches). */
  existingPodVswitchIds?: pulumi.Input<string>[];
  /** CIDR of a new VPC, /13 to /16 (default 10.0.0.0/16). */
  vpcCidr?: string;
  /** Zones of a new VPC; each gets a node and a pod vSwitch. */
  zones?: string[];
  /** Bandwidth of the NAT gateway's EIP in Mbit/s (default 100). */
  natBandwidthMbps?: number;
  /** Prefix of resource names (default: the component name). */
  namePrefix?: string;
  tags?: Record<string, string>;
  /** Pulumi `protect` on a new VPC (default false); its vSwitches, NAT and EIP stay unprotected. */
  protect?: boolean;
}

interface ResolvedNetworkArgs {
  readonly vpcCidr: string;
  readonly zones: string[];
  readonly natBandwidthMbps: number;
  readonly namePrefix: string;
  readonly tags: Record<string, string>;
  readonly protect: boolean;
}

export function resolveNetworkArgs(name: string, args: NetworkArgs): ResolvedNetworkArgs {
  if (args.existingVpcId !== undefined) {
    if (!args.existingNodeVswitchIds?.length || !args.existingPodVswitchIds?.length) {
      throw new Error("Network: existingVpcId needs existingNodeVswitchIds and existingPodVswitchIds");
    }
    if (args.zones?.length) throw new Error("Network: zones conflicts with existingVpcId (the vSwitches fix the zones)");
  } else if (!args.zones?.length) {
    throw new Error("Network: give zones for a new VPC, or existingVpcId with its vSwitches");
  }
  return {
    vpcCidr: args.vpcCidr ?? "10.0.0.0/16",
    zones: args.zones ?? [],
    natBandwidthMbps: args.natBandwidthMbps ?? 100,
    namePrefix: args.namePrefix ?? name,
    tags: args.tags ?? {},
    protect: args.protect ?? false,
  };
}

export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  /** vSwitches for ECS nodes, in zone order. */
  public readonly nodeVswitchIds: pulumi.Output<string[]>;
  /** vSwitches for Terway pod ENIs, in zone order. */
  public readonly podVswitchIds: pulumi.Output<string[]>;
  /** CIDRs of the pod vSwitches (empty for an adopted VPC): allow-lists such as Redis's use them. */
  public readonly podCidrs: pulumi.Output<string[]>;
  public readonly natGatewayId: pulumi.Output<string | undefined>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:alicloud:Network", name, {}, opts);
    const r = resolveNetworkArgs(name, args);

    if (args.existingVpcId !== undefined) {
      this.vpcId = pulumi.output(args.existingVpcId);
      this.nodeVswitchIds = pulumi.output(args.existingNodeVswitchIds ?? []);
      this.podVswitchIds = pulumi.output(args.existingPodVswitchIds ?? []);
      this.podCidrs = pulumi.output([]);
      this.natGatewayId = pulumi.output(undefined);
    } else {
      const created = this.createVpc(name, r);
      this.vpcId = created.vpc.id;
      this.nodeVswitchIds = pulumi.all(created.nodeSwitches.map((s) => s.id));
      this.podVswitchIds = pulumi.all(created.podSwitches.map((s) => s.id));
      this.podCidrs = pulumi.output(created.podCidrs);
      this.natGatewayId = created.natGatewayId;
    }
    this.registerOutputs({
      vpcId: this.vpcId,
      nodeVswitchIds: this.nodeVswitchIds,
      podVswitchIds: this.podVswitchIds,
      podCidrs: this.podCidrs,
      natGatewayId: this.natGatewayId,
    });
  }

  private createVpc(name: string, r: ResolvedNetworkArgs) {
    const parent = { parent: this };
    const vpc = new alicloud.vpc.Network(`${name}-vpc`, { vpcName: r.namePrefix, cidrBlock: r.vpcCidr, tags: r.tags }, { ...parent, protect: r.protect });
    const layout = layoutZoneSubnets(r.vpcCidr, r.zones);
    // Named by zone, so adding a zone never renames (and replaces) an existing vSwitch.
    const switchIn = (role: "nodes" | "pods", zoneId: string, cidrBlock: string) =>
      new alicloud.vpc.Switch(`${name}-${role}-${zoneId}`, {
        vpcId: vpc.id,
        zoneId,
        cidrBlock,
        vswitchName: `${r.namePrefix}-${role}-${zoneId}`,
        tags: r.tags,
      }, parent);
    const nodeSwitches = layout.map((z) => switchIn("nodes", z.zoneId, z.nodeCidr));
    const podSwitches = layout.map((z) => switchIn("pods", z.zoneId, z.podCidr));

    // One Enhanced NAT gateway with SNAT for every vSwitch: nodes pull images, pods reach model APIs.
    const nat = new alicloud.vpc.NatGateway(`${name}-nat`, {
      vpcId: vpc.id,
      vswitchId: nodeSwitches[0]!.id,
      natGatewayName: r.namePrefix,
      natType: "Enhanced",
      networkType: "internet",
      paymentType: "PayAsYouGo",
      tags: r.tags,
    }, parent);
    const eip = new alicloud.ecs.EipAddress(`${name}-nat-eip`, {
      addressName: `${r.namePrefix}-nat`,
      bandwidth: String(r.natBandwidthMbps),
      internetChargeType: "PayByTraffic",
      paymentType: "PayAsYouGo",
      tags: r.tags,
    }, parent);
    const association = new alicloud.ecs.EipAssociation(`${name}-nat-eip`, { allocationId: eip.id, instanceId: nat.id }, parent);
    const snatTableId = nat.snatTableIds.apply((ids) => ids.split(",")[0]!);
    [...nodeSwitches, ...podSwitches].forEach((vswitch, i) => {
      const role = i < nodeSwitches.length ? "nodes" : "pods";
      const zoneId = layout[i % layout.length]!.zoneId;
      new alicloud.vpc.SnatEntry(`${name}-snat-${role}-${zoneId}`, {
        snatTableId,
        sourceVswitchId: vswitch.id,
        snatIp: eip.ipAddress,
      }, { parent: this, dependsOn: [association] });
    });
    return { vpc, nodeSwitches, podSwitches, podCidrs: layout.map((z) => z.podCidr), natGatewayId: nat.id.apply((id): string | undefined => id) };
  }
}
