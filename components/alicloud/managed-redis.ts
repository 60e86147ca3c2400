import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DEFAULT_TAIR_INSTANCE_CLASS } from "./tair-classes";

/** Alibaba Cloud Tair/Redis in the cluster's VPC, reachable only from the pod vSwitches. */
export interface ManagedRedisArgs {
  /** vSwitch the instance lives in (a pod or node vSwitch of the cluster's VPC). */
  vswitchId: pulumi.Input<string>;
  /** Zone of that vSwitch. */
  zoneId: pulumi.Input<string>;
  /**
   * Second zone for the replica (recommended in prod); leave it unset with one zone. @pulumi/alicloud
   * kvstore.Instance: "the master node and replica node of the instance can be deployed in different zones".
   */
  secondaryZoneId?: pulumi.Input<string | undefined>;
  /** CIDRs allowed to connect: the pod vSwitches (Terway gives pods VPC addresses). */
  allowedCidrs: pulumi.Input<pulumi.Input<string>[]>;
  /** Password (a secret; default: generated). Authentication is always required. */
  password?: pulumi.Input<string>;
  /**
   * Instance class (default DEFAULT_TAIR_INSTANCE_CLASS). Engines 6.0 and 7.0 run on cloud-native
   * (`.ce`) classes: the provider's own 7.0 example and acceptance tests use `redis.shard.*.ce`, and pair
   * the classic local-disk `*.default` classes only with 4.0/5.0 (terraform-provider-alicloud
   * website/docs/r/kvstore_instance.html.markdown, alicloud/resource_alicloud_kvstore_instance_test.go).
   */
  instanceClass?: string;
  /** Redis engine version (default 7.0). */
  engineVersion?: "6.0" | "7.0";
  /** Instance name (default: the component name). */
  instanceName?: string;
  /** Refuse release through the API (default true). */
  releaseProtection?: boolean;
  tags?: Record<string, string>;
  /** Pulumi `protect` on the instance (default false). */
  protect?: boolean;
}

export class ManagedRedis extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  /** The instance's VPC address, for NetworkPolicy egress (a policy cannot name a host). */
  public readonly privateIp: pulumi.Output<string>;
  public readonly instanceId: pulumi.Output<string>;
  /** The password clients use (a secret). */
  public readonly password: pulumi.Output<string>;

  constructor(name: string, args: ManagedRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:alicloud:ManagedRedis", name, {}, opts);
    // Tair wants three of upper, lower, digits, specials; letters and digits keep it URL-safe.
    this.password = pulumi.secret(args.password ?? new random.RandomPassword(`${name}-password`, {
      length: 32, special: false, minUpper: 2, minLower: 2, minNumeric: 2,
    }, { parent: this }).result);
    const instance = new alicloud.kvstore.Instance(`${name}-instance`, {
      dbInstanceName: args.instanceName ?? name,
      instanceType: "Redis",
      instanceClass: args.instanceClass ?? DEFAULT_TAIR_INSTANCE_CLASS,
      engineVersion: args.engineVersion ?? "7.0",
      paymentType: "PostPaid",
      vswitchId: args.vswitchId,
      zoneId: args.zoneId,
      secondaryZoneId: args.secondaryZoneId,
      password: this.password,
      // Authentication stays on inside the VPC too; the allow-list is the second fence.
      vpcAuthMode: "Open",
      securityIps: args.allowedCidrs,
      instanceReleaseProtection: args.releaseProtection ?? true,
      tags: args.tags ?? {},
    }, { parent: this, protect: args.protect ?? false, additionalSecretOutputs: ["password"] });
    this.host = instance.connectionDomain;
    this.port = instance.port.apply((p) => p ?? 6379);
    this.privateIp = instance.privateIp;
    this.instanceId = instance.id;
    this.registerOutputs({ host: this.host, port: this.port, privateIp: this.privateIp, instanceId: this.instanceId });
  }
}
