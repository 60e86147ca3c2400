import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";

/**
 * ACS image caches: the `image-cache-operator` add-on makes a cache from the images of pods that opt
 * in, so the next ACS pod with the same image skips the pull (ACS docs: "Automate image cache creation
 * with image-cache-operator"; the opt-in is the pod annotation in components/workload/acs.ts). No
 * @pulumi/alicloud resource creates ACS caches directly, and the operator's own CR is unverified.
 */
export interface AcsImageCacheArgs {
  clusterId: pulumi.Input<string>;
  /** Add-on version (default: the one ACK installs by default). */
  version?: string;
}

export class AcsImageCache extends pulumi.ComponentResource {
  /** Annotations a pod template adds to use (and seed) the caches. */
  public readonly podAnnotations: Record<string, string> = { "image.alibabacloud.com/enable-image-cache": "true" };

  constructor(name: string, args: AcsImageCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:alicloud:AcsImageCache", name, {}, opts);
    new alicloud.cs.KubernetesAddon(`${name}-operator`, {
      clusterId: args.clusterId,
      name: "image-cache-operator",
      ...(args.version ? { version: args.version } : {}),
    }, { parent: this });
    this.registerOutputs({ podAnnotations: this.podAnnotations });
  }
}
