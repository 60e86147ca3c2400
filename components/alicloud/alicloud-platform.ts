import * as alicloud from "@pulumi/alicloud";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AckClusterArgs } from "./ack-cluster";
import { AckCluster } from "./ack-cluster";
import type { AcrRegistryArgs } from "./acr-registry";
import { AcrRegistry } from "./acr-registry";
import { AcsImageCache } from "./image-cache";
import type { ManagedRedisArgs } from "./managed-redis";
import { ManagedRedis } from "./managed-redis";
import type { NetworkArgs } from "./network";
import { Network } from "./network";

/** The whole Alibaba Cloud layer: VPC, ACK Pro with the ACS virtual node, ACR EE and optionally Tair/Redis. */
export interface AlicloudPlatformArgs {
  network: Omit<NetworkArgs, "namePrefix" | "tags" | "protect">;
  cluster: Omit<AckClusterArgs, "vswitchIds" | "podVswitchIds" | "tags" | "protect">;
  registry: Omit<AcrRegistryArgs, "vpcId" | "vswitchId" | "tags" | "protect">;
  /** Managed Redis in the VPC, allow-listed to the pod vSwitches; omit for in-cluster Redis. */
  redis?: Omit<ManagedRedisArgs, "vswitchId" | "zoneId" | "secondaryZoneId" | "allowedCidrs" | "tags" | "protect">;
  /**
   * Callers allowed through the agents' CLB: a white-list `slb.Acl` the Services attach through CCM's
   * ACL annotations (omit when agents are not behind a load balancer).
   */
  loadBalancerAllowedCidrs?: string[];
  /** Install the ACS image-cache operator so opted-in pods start from cached images (default true). */
  imageCache?: boolean;
  /** Prefix of cloud resource names. */
  namePrefix: string;
  /** Tags on every cloud resource. */
  tags?: Record<string, string>;
  /**
   * Pulumi `protect` on what holds data or is costly to recreate: the VPC, the cluster, a new registry
   * instance and Tair (default false). Never on the component itself: children inherit `protect`
   * (@pulumi/pulumi resource.ts), and ForceNew children (ACL entries, add-ons) would then block every
   * edit that replaces them.
   */
  protect?: boolean;
}

export class AlicloudPlatform extends pulumi.ComponentResource {
  public readonly network: Network;
  public readonly cluster: AckCluster;
  public readonly registry: AcrRegistry;
  public readonly redis?: ManagedRedis;
  public readonly imageCache?: AcsImageCache;
  /** Provider for the workload layer. */
  public readonly provider: k8s.Provider;
  /** CIDRs of the pod vSwitches: where Terway pods take their addresses. */
  public readonly podCidrs: pulumi.Output<string[]>;
  /** The pod vSwitch ids, for ACS pods' network.alibabacloud.com/vswitch-ids annotation. */
  public readonly podVswitchIds: pulumi.Output<string[]>;
  /** The CLB access-control list of the agents' load balancers, when there is one. */
  public readonly loadBalancerAclId?: pulumi.Output<string>;

  constructor(name: string, args: AlicloudPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:alicloud:Platform", name, {}, opts);
    const parent = { parent: this };
    const tags = { "app.kubernetes.io/part-of": "agentscope", "managed-by": "pulumi", ...args.tags };

    const protect = args.protect ?? false;
    this.network = new Network(`${name}-network`, { ...args.network, namePrefix: args.namePrefix, tags, protect }, parent);
    this.cluster = new AckCluster(`${name}-ack`, {
      ...args.cluster,
      protect,
      vswitchIds: this.network.nodeVswitchIds,
      podVswitchIds: this.network.podVswitchIds,
      tags,
    }, parent);
    this.provider = this.cluster.provider;
    if (args.imageCache ?? true) this.imageCache = new AcsImageCache(`${name}-image-cache`, { clusterId: this.cluster.clusterId }, parent);
    this.registry = new AcrRegistry(`${name}-acr`, {
      ...args.registry,
      protect,
      vpcId: this.network.vpcId,
      vswitchId: this.network.nodeVswitchIds.apply((ids) => ids[0]!),
      tags,
    }, parent);

    // Read the pod vSwitches back: the same answer for a new VPC and an adopted one.
    // The data source answers in the API's order, not in the order of `ids` (data_source_alicloud_vswitches.go):
    // put them back in zone order, so the first zone stays the first.
    const podSwitches = pulumi.all([this.network.podVswitchIds, alicloud.vpc.getSwitchesOutput({ ids: this.network.podVswitchIds }, parent).vswitches])
      .apply(([ids, found]) => ids.map((id) => {
        const vswitch = found.find((s) => s.id === id);
        if (!vswitch) throw new Error(`AlicloudPlatform: pod vSwitch ${id} was not found in the region`);
        return vswitch;
      }));
    this.podCidrs = podSwitches.apply((list) => list.map((s) => s.cidrBlock));
    this.podVswitchIds = pulumi.output(this.network.podVswitchIds);
    const lbCidrs = args.loadBalancerAllowedCidrs ?? [];
    if (lbCidrs.length > 0) {
      // A white-list ACL on the CLB listeners: enforced by the load balancer itself, whatever the pods
      // run on (NetworkPolicy ipBlocks need Poseidon on ACS). Entries as attachments: the Acl's own
      // entryLists is deprecated (provider docs, slb/acl.d.ts).
      const acl = new alicloud.slb.Acl(`${name}-lb-acl`, { name: `${args.namePrefix}-agents`, ipVersion: "ipv4", tags }, parent);
      lbCidrs.forEach((entry, i) => new alicloud.slb.AclEntryAttachment(`${name}-lb-acl-${i}`, { aclId: acl.id, entry, comment: "agent callers" }, parent));
      this.loadBalancerAclId = acl.id;
    }
    if (args.redis) {
      this.redis = new ManagedRedis(`${name}-redis`, {
        ...args.redis,
        vswitchId: podSwitches.apply((list) => list[0]!.id),
        zoneId: podSwitches.apply((list) => list[0]!.zoneId),
        // With one zone there is no second one to put the replica in (it would equal zoneId).
        secondaryZoneId: podSwitches.apply((list) => list[1]?.zoneId),
        allowedCidrs: this.podCidrs,
        tags,
        protect,
      }, parent);
    }
    this.registerOutputs({ podCidrs: this.podCidrs });
  }
}
