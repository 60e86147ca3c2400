import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { addonConfigSchema, settingBySchema } from "./addon-config";

/** The add-on that creates ACS image caches from pods that opt in. */
export const IMAGE_CACHE_ADDON = "image-cache-operator";

/**
 * ACS image caches: the `image-cache-operator` add-on makes a cache from the images of pods that opt
 * in, so the next ACS pod with the same image skips the pull (ACS docs: "Automate image cache creation
 * with image-cache-operator"; the opt-in is the pod annotation in components/workload/acs.ts). No
 * @pulumi/alicloud resource creates ACS caches directly, and the operator's own CR is unverified.
 * The same page warns that an auto-created cache is not updated when a tag is re-pushed: the stack
 * deploys by digest, so a new image is a new cache.
 */
export interface AcsImageCacheArgs {
  clusterId: pulumi.Input<string>;
  /** Add-on version (default: the one ACK installs by default). */
  version?: string;
  /**
   * Let the operator read the pods' imagePullSecrets to pull private images (default true). ACS docs,
   * same page: "We recommend that you set rbac.secret to true." The key is spelt as the add-on's
   * schema (cs.getKubernetesAddonMetadata) spells it; public docs do not show the JSON.
   */
  readPullSecrets?: boolean;
}

export class AcsImageCache extends pulumi.ComponentResource {
  /** Annotations a pod template adds to use (and seed) the caches. */
  public readonly podAnnotations: Record<string, string> = { "image.alibabacloud.com/enable-image-cache": "true" };

  constructor(name: string, args: AcsImageCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:alicloud:AcsImageCache", name, {}, opts);
    const config = (args.readPullSecrets ?? true)
      ? addonConfigSchema(args.clusterId, IMAGE_CACHE_ADDON, { parent: this }).apply((schema) => {
        const setting = settingBySchema(IMAGE_CACHE_ADDON, schema, "rbac.secret", true);
        if (setting === undefined) {
          // Installing without it still works for images the operator can pull anonymously or through the credential helper.
          void pulumi.log.warn(`${IMAGE_CACHE_ADDON}: its config schema has no rbac.secret; installed without it, so caches of private images may fail`, this);
          return undefined;
        }
        return JSON.stringify(setting);
      })
      : undefined;
    new alicloud.cs.KubernetesAddon(`${name}-operator`, {
      clusterId: args.clusterId,
      name: IMAGE_CACHE_ADDON,
      ...(args.version ? { version: args.version } : {}),
      ...(config ? { config } : {}),
    }, { parent: this });
    this.registerOutputs({ podAnnotations: this.podAnnotations });
  }
}
