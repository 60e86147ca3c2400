/**
 * Rule group 2: Container Registry Enterprise Edition. Namespaces and repositories are private,
 * production tags cannot be overwritten, and the cluster pulls over the VPC, never the internet.
 *
 * Property names come from @pulumi/alicloud 3.108.0 (cs/registryEnterpriseNamespace.d.ts,
 * cs/registryEnterpriseRepo.d.ts, cr/vpcEndpointLinkedVpc.d.ts).
 */
import type { Props, StackResource, StackViolation } from "./common";
import { asString, describe, parseImageRef, workloadImages, isWorkloadType } from "./common";
import { ACK_TYPES } from "./ack";

export const ACR_TYPES = {
  instance: "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance",
  namespace: "alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace",
  repo: "alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo",
  vpcLink: "alicloud:cr/vpcEndpointLinkedVpc:VpcEndpointLinkedVpc",
} as const;

export interface AcrRuleConfig {
  /** Production-only checks (tag immutability) apply. */
  readonly production: boolean;
}

/** Violations of the registry rules for one resource; empty for other types. */
export function checkAcrResource(type: string, props: Props, config: AcrRuleConfig): string[] {
  const what = describe(type, props);
  const out: string[] = [];
  if (type === ACR_TYPES.namespace) {
    const visibility = asString(props.defaultVisibility);
    if (visibility?.toUpperCase() !== "PRIVATE") {
      out.push(
        `${what}: defaultVisibility is ${visibility === undefined ? "not set" : JSON.stringify(visibility)}, so repositories created in it can be pulled without credentials. ` +
          `Fix: set defaultVisibility: "PRIVATE".`,
      );
    }
  } else if (type === ACR_TYPES.repo) {
    const repoType = asString(props.repoType);
    if (repoType?.toUpperCase() !== "PRIVATE") {
      out.push(`${what}: repoType is ${JSON.stringify(repoType ?? null)}, so anyone can pull its images. Fix: set repoType: "PRIVATE".`);
    }
    if (config.production && props.tagImmutability !== true) {
      out.push(
        `${what}: tagImmutability is ${JSON.stringify(props.tagImmutability ?? null)} in a production stack, so a pushed tag can be overwritten. ` +
          `Fix: set tagImmutability: true (and deploy images by digest).`,
      );
    }
  } else if (type === ACR_TYPES.vpcLink) {
    const moduleName = asString(props.moduleName);
    if (moduleName !== "Registry") {
      const link = `VpcEndpointLinkedVpc ${asString(props.instanceId) ?? "?"} -> ${asString(props.vpcId) ?? "?"}`;
      out.push(
        `${link}: moduleName is ${JSON.stringify(moduleName ?? null)}, so the VPC endpoint does not serve image pulls. Fix: set moduleName: "Registry".`,
      );
    }
  }
  return out;
}

/** ACR public endpoints: EE `<instance>-registry.<region>.cr.aliyuncs.com`, personal `registry.<region>.aliyuncs.com`. */
const PUBLIC_ACR_HOST = /^(?:[a-z0-9-]+-registry\.[a-z0-9-]+\.cr|registry\.[a-z0-9-]+)\.aliyuncs\.com$/;

export function vpcHostFor(host: string): string {
  return host.replace(/^([a-z0-9-]+-registry|registry)\./, "$1-vpc.");
}

/**
 * Stack rule: with ACR EE in the stack there is a VPC endpoint for image pulls, and workloads on an
 * Alibaba Cloud VPC cluster pull from the registry's VPC domain, not its internet domain.
 */
export function checkAcrPullsOverVpc(resources: readonly StackResource[]): StackViolation[] {
  const out: StackViolation[] = [];
  const registries = resources.filter((r) => r.type === ACR_TYPES.instance || r.type === ACR_TYPES.namespace || r.type === ACR_TYPES.repo);
  const links = resources.filter((r) => r.type === ACR_TYPES.vpcLink && asString(r.props.moduleName) === "Registry");
  const inVpc = links.length > 0 || resources.some((r) => r.type === ACK_TYPES.managedKubernetes);

  const first = registries[0];
  if (first !== undefined && links.length === 0) {
    out.push({
      message:
        `${describe(first.type, first.props, first.name)}: the stack has an ACR Enterprise registry but no VpcEndpointLinkedVpc with moduleName "Registry", ` +
        `so the cluster would pull images over the internet. Fix: add alicloud.cr.VpcEndpointLinkedVpc {instanceId, vpcId, vswitchId, moduleName: "Registry"} for the cluster's VPC.`,
      urn: first.urn,
    });
  }

  if (inVpc) {
    for (const r of resources) {
      if (!isWorkloadType(r.type)) continue;
      // One report per image, even when several containers of the pod run it.
      for (const image of new Set(workloadImages(r.type, r.props))) {
        const host = parseImageRef(image).host;
        if (PUBLIC_ACR_HOST.test(host)) {
          out.push({
            message:
              `${describe(r.type, r.props, r.name)}: image ${image} is pulled from ACR's internet endpoint ${host} although the cluster is in a VPC. ` +
              `Fix: use the VPC endpoint ${vpcHostFor(host)}.`,
            urn: r.urn,
          });
        }
      }
    }
  }
  return out;
}
