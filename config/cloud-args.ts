import * as pulumi from "@pulumi/pulumi";
import type { AlicloudPlatform, AlicloudPlatformArgs } from "../components/alicloud/alicloud-platform";
import type { SlsLogCollectionArgs } from "../components/alicloud/log-collection";
import type { StackConfig } from "./load";
import type { StackSecrets } from "./index";
import { managedPrometheusOn, slsLogsOn } from "./observability";
import { podWorkspacesOn } from "./rules";
import { USER_AGENT_KIT_REPOSITORY, userAgentRepositoryName } from "../components/workload/agent-source";

/** Repositories the stack pushes to: the agent and the sandbox manager images. */
export const IMAGE_REPOSITORIES = ["agent", "sandbox-manager"] as const;
/** Pushed to only when the stand-in model is on (`standInModel`). */
export const STAND_IN_MODEL_REPOSITORY = "stand-in-model";

/** The repository a mirrored runtime-sandbox image of one type lives in (README "Sandbox images"). */
export function sandboxRepository(type: string): string {
  return `runtime-sandbox-${type}`;
}

/** Pushed to only while an agentscope2 agent's workspaces are pods (target `agentscope2-workspace`). */
export const WORKSPACE_REPOSITORY = "agentscope2-workspace";

/** Pushed to only while sandbox.egress.mode is allowList (target `egress-proxy`). */
export const EGRESS_PROXY_REPOSITORY = "egress-proxy";

/** The repository the in-cluster Redis image is mirrored into (README "Images on Alibaba Cloud"). */
export const REDIS_REPOSITORY = "redis";

/** A repository per directory agent (`agent-<name>`), and the kit's they are built on. */
export function userAgentRepositories(c: StackConfig): string[] {
  const names = c.agents.filter((a) => a.source.kind === "directory").map((a) => userAgentRepositoryName(a.name));
  return names.length ? [...names, USER_AGENT_KIT_REPOSITORY] : [];
}

/** Maps validated config onto the cloud layer's args; pure, so tests can call it directly. */
export function alicloudPlatformArgs(c: StackConfig, secrets: StackSecrets): AlicloudPlatformArgs {
  const network = c.network!;
  const cluster = c.cluster!;
  const registry = c.registry!;
  return {
    namePrefix: c.namePrefix,
    tags: c.tags,
    protect: c.protect,
    imageCache: c.imageCache,
    ...(c.exposure.type !== "cluster" ? { loadBalancerAllowedCidrs: c.exposure.allowedCidrs } : {}),
    network: network.existingVpcId
      ? {
        existingVpcId: network.existingVpcId,
        existingNodeVswitchIds: network.existingNodeVswitchIds,
        existingPodVswitchIds: network.existingPodVswitchIds,
      }
      : { vpcCidr: network.vpcCidr, zones: network.zones, natBandwidthMbps: network.natBandwidthMbps },
    cluster: {
      existingClusterId: cluster.existingClusterId,
      clusterName: cluster.name ?? `${c.namePrefix}-${c.environment}`,
      clusterSpec: cluster.clusterSpec,
      version: cluster.version,
      serviceCidr: cluster.serviceCidr,
      proxyMode: cluster.proxyMode,
      deletionProtection: cluster.deletionProtection,
      auditLogs: cluster.auditLogs,
      controlPlaneLogs: cluster.controlPlaneLogs,
      logTtlDays: cluster.logTtlDays,
      maintenanceWindow: cluster.maintenanceWindow,
      autoUpgradeChannel: cluster.autoUpgradeChannel,
      systemNodePool: cluster.systemNodePool,
      deleteCloudResourcesOnDestroy: cluster.cleanupOnDestroy,
      acsNetworkPolicy: c.acs.enabled,
      ...(c.acs.trafficPolicy ? { poseidonTrafficPolicy: true } : {}),
      managedPrometheus: managedPrometheusOn(c),
      ...(cluster.acrCredentialHelperConfig ? { acrCredentialHelperConfig: cluster.acrCredentialHelperConfig } : {}),
    },
    registry: {
      existingInstanceId: registry.existingInstanceId,
      instanceName: registry.instanceName,
      instanceType: registry.instanceType,
      periodMonths: registry.periodMonths,
      password: secrets.registryPassword,
      namespace: registry.namespace,
      // Sandbox images are mirrored (skopeo copy) into a repository per configured type: the namespace
      // does not auto-create repositories.
      repositories: [...IMAGE_REPOSITORIES, ...c.sandbox.types.map(sandboxRepository), ...(c.redis.mode === "in-cluster" ? [REDIS_REPOSITORY] : []),
        ...(c.standInModel ? [STAND_IN_MODEL_REPOSITORY] : []), ...userAgentRepositories(c),
        ...(c.agents.some(podWorkspacesOn) ? [WORKSPACE_REPOSITORY] : []),
        ...(c.sandbox.egress.mode === "allowList" ? [EGRESS_PROXY_REPOSITORY] : [])],
      tagImmutability: registry.tagImmutability,
      ...(registry.pushFromCidrs ? { pushFromCidrs: registry.pushFromCidrs } : {}),
    },
    redis: c.redis.mode === "managed"
      ? {
        password: secrets.redisPassword,
        instanceClass: c.redis.instanceClass,
        engineVersion: c.redis.engineVersion,
        instanceName: `${c.namePrefix}-${c.environment}`,
        releaseProtection: c.protect,
      }
      : undefined,
  };
}

/**
 * Args of the SLS log collection, or undefined when it is off. Endpoint default: the VPC ("intranet")
 * form `<region>-intranet.log.aliyuncs.com`, as in SLS "Import trace data from OpenTelemetry to Simple
 * Log Service" (example test-project.cn-hangzhou-intranet.log.aliyuncs.com). Project default
 * `k8s-log-<cluster id>`: the name LoongCollector's Helm chart defaults to; not confirmed in ACK's docs
 * as the cluster's own project, and the operator creates a project it does not find (SLS
 * "AliyunPipelineConfig parameters", spec.project.name), so set observability.logs.project to be sure.
 */
export function logCollectionArgs(c: StackConfig, cloud: AlicloudPlatform, namespace: pulumi.Input<string>): SlsLogCollectionArgs | undefined {
  if (!slsLogsOn(c) || !c.region) return undefined;
  const l = c.observability.logs;
  return {
    project: l.project ?? pulumi.interpolate`k8s-log-${cloud.cluster.clusterId}`,
    logstore: l.logstore,
    region: c.region,
    endpoint: l.endpoint ?? `${c.region}-intranet.log.aliyuncs.com`,
    namespace,
    partOf: c.namePrefix,
  };
}
