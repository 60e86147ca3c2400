import * as pulumi from "@pulumi/pulumi";
import type { AlicloudPlatform } from "../components/alicloud/alicloud-platform";
import { DEFAULT_REDIS_IMAGE } from "../components/workload/redis";
import { REDIS_REPOSITORY } from "./cloud-args";
import type { RegistryCredentials } from "../components/workload/container-image";
import type { AgentScopeWorkloadsArgs } from "../components/workload/workloads";
import type { StackSecrets } from "./index";
import type { StackConfig } from "./load";
import { EGRESS_PROXY_REPOSITORY, STAND_IN_MODEL_REPOSITORY, WORKSPACE_REPOSITORY } from "./cloud-args";
import type { AgentWorkspacesSpec } from "../components/workload/agent-runtime";
import type { WorkspaceStorage, WorkspaceWarmPool } from "../components/workload/agent-workspaces";
import { isAgentscope2 } from "../components/workload/agent-source";
import { ALIBABA_MIN_DISK_GIB, podWorkspacesOn, workspaceStorageKind } from "./rules";
import type { OtlpEgress } from "../components/workload/telemetry";
import { otlpEgressFor, prometheusOperatorOn } from "./observability";

/** A trace receiver another component provides (e.g. an in-cluster Jaeger): replaces observability.otlpEndpoint. */
export interface OtlpTarget {
  /** OTLP/HTTP base URL. */
  readonly endpoint: pulumi.Input<string>;
  /** Where its pods are, for the NetworkPolicy egress. */
  readonly egress: OtlpEgress;
}

/** Maps the observability block (and an optional component-provided receiver) onto the workload layer's args. */
export function observabilityArgs(c: StackConfig, secrets: StackSecrets, otlp?: OtlpTarget): AgentScopeWorkloadsArgs["observability"] {
  const o = c.observability;
  let target = otlp;
  if (!target && o.otlpEndpoint) {
    const egress = otlpEgressFor(o);
    if (!egress) throw new Error(`observability.otlpEndpoint ${o.otlpEndpoint}: its addresses are unknown (set observability.otlpEgressCidrs)`);
    target = { endpoint: o.otlpEndpoint, egress };
  }
  return {
    ...(target
      ? { tracing: { endpoint: target.endpoint, egress: target.egress, traceContent: o.traceContent, ...(secrets.otlpHeaders ? { headers: secrets.otlpHeaders } : {}) } }
      : {}),
    ...(o.metrics
      ? {
        metrics: {
          scrapeNamespaces: c.observability.scrapeNamespaces,
          ...(o.scrapePodLabels ? { scrapePodSelector: o.scrapePodLabels } : {}),
          prometheusOperator: prometheusOperatorOn(c),
          alerts: o.alerts,
          ...(Object.keys(o.monitorLabels).length ? { extraLabels: o.monitorLabels } : {}),
        },
      }
      : {}),
  };
}
import type { AgentSource } from "../components/workload/agent-source";
import { USER_AGENT_KIT_REPOSITORY, userAgentRepositoryName } from "../components/workload/agent-source";

/** Where images are pushed and pulled, and with which credentials. */
interface ImageRegistry {
  /** Push credentials (omitted for a registry without auth). */
  readonly push?: RegistryCredentials;
  /** Credentials pods pull with; ACK pulls through the ACR credential helper instead. */
  readonly pull?: RegistryCredentials;
  readonly agentRepository: pulumi.Input<string>;
  readonly sandboxManagerRepository: pulumi.Input<string>;
  readonly standInModelRepository?: pulumi.Input<string>;
  /** Where pods pull the pushed images from (default: where they were pushed). */
  readonly agentPullRepository?: pulumi.Input<string>;
  readonly sandboxManagerPullRepository?: pulumi.Input<string>;
  readonly standInModelPullRepository?: pulumi.Input<string>;
  /** A directory agent's repository (push, pull) and the kit's (pulled by the builder from where it was pushed). */
  readonly userAgentRepository: (agentName: string) => { repository: pulumi.Input<string>; pullRepository?: pulumi.Input<string> };
  readonly userAgentKitRepository: pulumi.Input<string>;
  /** The 2.x workspace image's repository, and where pods pull it from. */
  readonly workspaceRepository: pulumi.Input<string>;
  readonly workspacePullRepository?: pulumi.Input<string>;
  /** The egress proxy's repository, and where pods pull it from. */
  readonly egressProxyRepository: pulumi.Input<string>;
  readonly egressProxyPullRepository?: pulumi.Input<string>;
  /** Registry and namespace the sandbox manager pulls `runtime-sandbox-<type>` images from. */
  readonly sandboxRegistry: pulumi.Input<string>;
  readonly sandboxNamespace: string;
}

function cloudRegistry(c: StackConfig, cloud: AlicloudPlatform): ImageRegistry {
  const r = cloud.registry;
  return {
    push: { server: r.loginServer, username: r.pushUsername, password: r.pushPassword },
    agentRepository: r.repositoryUrls["agent"]!,
    sandboxManagerRepository: r.repositoryUrls["sandbox-manager"]!,
    // Declared (config/cloud-args.ts) only while the stand-in is on, the only time it is used.
    ...(r.repositoryUrls[STAND_IN_MODEL_REPOSITORY] ? { standInModelRepository: r.repositoryUrls[STAND_IN_MODEL_REPOSITORY] } : {}),
    // Push where the registry allows (internet endpoint with registry.pushFromCidrs, else the VPC one),
    // pull over the VPC one: the same repository, the same digest.
    agentPullRepository: pulumi.interpolate`${r.vpcLoginServer}/${r.namespace}/agent`,
    sandboxManagerPullRepository: pulumi.interpolate`${r.vpcLoginServer}/${r.namespace}/sandbox-manager`,
    standInModelPullRepository: pulumi.interpolate`${r.vpcLoginServer}/${r.namespace}/${STAND_IN_MODEL_REPOSITORY}`,
    // Declared per directory agent (config/cloud-args.ts).
    userAgentRepository: (agentName) => {
      const repo = userAgentRepositoryName(agentName);
      return { repository: r.repositoryUrls[repo]!, pullRepository: pulumi.interpolate`${r.vpcLoginServer}/${r.namespace}/${repo}` };
    },
    userAgentKitRepository: r.repositoryUrls[USER_AGENT_KIT_REPOSITORY]!,
    // Declared (config/cloud-args.ts) only while an agentscope2 agent's workspaces are pods.
    workspaceRepository: r.repositoryUrls[WORKSPACE_REPOSITORY]!,
    workspacePullRepository: pulumi.interpolate`${r.vpcLoginServer}/${r.namespace}/${WORKSPACE_REPOSITORY}`,
    // Declared (config/cloud-args.ts) only while sandbox.egress.mode is allowList.
    egressProxyRepository: r.repositoryUrls[EGRESS_PROXY_REPOSITORY]!,
    egressProxyPullRepository: pulumi.interpolate`${r.vpcLoginServer}/${r.namespace}/${EGRESS_PROXY_REPOSITORY}`,
    // Sandboxes start often: they pull the mirrored runtime images over the VPC endpoint.
    sandboxRegistry: c.images.sandboxRegistry ?? r.vpcLoginServer,
    sandboxNamespace: r.namespace,
  };
}

function localRegistry(c: StackConfig, secrets: StackSecrets): ImageRegistry {
  const server = c.images.registryServer ?? "localhost:5000";
  const username = c.images.registryUsername;
  const password = secrets.localRegistryPassword;
  const credentials = username && password ? { server, username, password } : undefined;
  return {
    ...(credentials ? { push: credentials, pull: credentials } : {}),
    agentRepository: `${server}/${c.images.repositoryPrefix}/agent`,
    sandboxManagerRepository: `${server}/${c.images.repositoryPrefix}/sandbox-manager`,
    standInModelRepository: `${server}/${c.images.repositoryPrefix}/${STAND_IN_MODEL_REPOSITORY}`,
    userAgentRepository: (agentName) => ({ repository: `${server}/${c.images.repositoryPrefix}/${userAgentRepositoryName(agentName)}` }),
    userAgentKitRepository: `${server}/${c.images.repositoryPrefix}/${USER_AGENT_KIT_REPOSITORY}`,
    workspaceRepository: `${server}/${c.images.repositoryPrefix}/${WORKSPACE_REPOSITORY}`,
    egressProxyRepository: `${server}/${c.images.repositoryPrefix}/${EGRESS_PROXY_REPOSITORY}`,
    sandboxRegistry: c.images.sandboxRegistry ?? server,
    sandboxNamespace: c.images.repositoryPrefix,
  };
}

/** `https://10.0.0.5:6443` → a /32 egress rule for the sandbox manager's API calls. */
function apiServerEgress(url: pulumi.Output<string>) {
  const parsed = url.apply((u) => new URL(u));
  return {
    cidrs: [parsed.apply((p) => `${p.hostname}/32`)],
    ports: [6443],
  };
}

/** Maps validated config (and the cloud layer, when there is one) onto the workload layer's args. */
export function workloadArgs(c: StackConfig, secrets: StackSecrets, cloud: AlicloudPlatform | undefined, otlp?: OtlpTarget): AgentScopeWorkloadsArgs {
  const registry = cloud ? cloudRegistry(c, cloud) : localRegistry(c, secrets);
  const i = c.images;
  const newCluster = cloud && !c.cluster?.existingClusterId;
  const directoryAgents = c.agents.filter((a) => a.source.kind === "directory");
  const workspacePods = c.agents.some(podWorkspacesOn);
  const egressProxy = c.sandbox.egress.mode === "allowList";
  return {
    environment: c.environment,
    platform: c.platform,
    namePrefix: c.namePrefix,
    acs: { enabled: c.acs.enabled, computeClass: c.acs.computeClass, computeQos: c.acs.computeQos, imageCache: c.acs.enabled && c.imageCache },
    ...(cloud && c.acs.enabled ? { acsNetwork: { vswitchIds: cloud.podVswitchIds } } : {}),
    ...(c.acs.trafficPolicy ? { acsTrafficPolicy: true } : {}),
    images: {
      ...(i.build
        ? {
          build: {
            context: "agent-image",
            platform: i.platform,
            baseImage: i.baseImage,
            ...(registry.push ? { registry: registry.push } : {}),
            agentRepository: registry.agentRepository,
            sandboxManagerRepository: registry.sandboxManagerRepository,
            ...(registry.agentPullRepository ? { agentPullRepository: registry.agentPullRepository } : {}),
            ...(registry.sandboxManagerPullRepository ? { sandboxManagerPullRepository: registry.sandboxManagerPullRepository } : {}),
            ...(c.standInModel && registry.standInModelRepository ? { standInModelRepository: registry.standInModelRepository } : {}),
            ...(c.standInModel && registry.standInModelPullRepository ? { standInModelPullRepository: registry.standInModelPullRepository } : {}),
            ...(directoryAgents.length
              ? {
                userAgents: Object.fromEntries(directoryAgents.map((a) => [a.name, registry.userAgentRepository(a.name)])),
                userAgentKitRepository: registry.userAgentKitRepository,
              }
              : {}),
            ...(workspacePods
              ? {
                workspaceRepository: registry.workspaceRepository,
                ...(registry.workspacePullRepository ? { workspacePullRepository: registry.workspacePullRepository } : {}),
              }
              : {}),
            ...(egressProxy
              ? {
                egressProxyRepository: registry.egressProxyRepository,
                ...(registry.egressProxyPullRepository ? { egressProxyPullRepository: registry.egressProxyPullRepository } : {}),
              }
              : {}),
          },
        }
        : {
          agent: i.agent,
          sandboxManager: i.sandboxManager,
          ...(c.standInModel ? { standInModel: i.standInModel } : {}),
          ...(workspacePods && i.workspace ? { workspace: i.workspace } : {}),
          ...(egressProxy && i.egressProxy ? { egressProxy: i.egressProxy } : {}),
        }),
      ...(registry.pull ? { pullCredentials: registry.pull } : {}),
    },
    agents: c.agents.map((a) => ({
      name: a.name,
      model: { provider: a.model.provider, name: a.model.name, ...(a.model.baseUrl ? { baseUrl: a.model.baseUrl } : {}) },
      replicas: a.replicas,
      cpu: a.cpu,
      memoryGiB: a.memoryGiB,
      sandboxTypes: a.sandboxTypes,
      source: agentSource(a.name, a.source, c),
      ...(a.identity?.userTokensSecret ?? a.userTokensSecret ? { userTokensSecret: a.identity?.userTokensSecret ?? a.userTokensSecret } : {}),
      ...(a.identity?.jwt ? { jwt: { ...a.identity.jwt } } : {}),
      ...(a.maxConcurrentTurns !== undefined ? { maxConcurrentTurns: a.maxConcurrentTurns } : {}),
      ...(a.gatewayLimits ? { gatewayLimits: { ...a.gatewayLimits } } : {}),
      ...(isAgentscope2(a.source) ? { workspaces: agentWorkspaces(a.workspaces, c) } : {}),
      ...(a.tasks ? { tasks: { ...a.tasks } } : {}),
    })),
    ...(c.standInModel ? { standInModel: true } : {}),
    secrets: {
      modelApiKey: secrets.modelApiKey,
      agentApiToken: secrets.agentApiToken,
      sandboxManagerToken: secrets.sandboxManagerToken,
      redisPassword: cloud?.redis?.password ?? secrets.redisPassword,
    },
    sandbox: {
      types: c.sandbox.types,
      poolSize: c.sandbox.poolSize,
      maxInstances: c.sandbox.maxInstances,
      ...(c.sandbox.autoscaling ? { autoscaling: c.sandbox.autoscaling } : {}),
      scaleDownAfterSeconds: c.sandbox.scaleDownAfterSeconds,
      sessionIdleTimeoutSeconds: c.sandbox.sessionIdleTimeoutSeconds,
      ownerCheckSeconds: c.sandbox.ownerCheckSeconds,
      isolation: c.sandbox.isolation,
      ...(c.sandbox.runtimeClassName ? { runtimeClassName: c.sandbox.runtimeClassName } : {}),
      managerReplicas: c.sandbox.managerReplicas,
      managerCpu: c.sandbox.managerCpu,
      ...(c.sandbox.managerCpuLimit !== undefined ? { managerCpuLimit: c.sandbox.managerCpuLimit } : {}),
      cpu: c.sandbox.cpu,
      ...(c.sandbox.cpuLimit !== undefined ? { cpuLimit: c.sandbox.cpuLimit } : {}),
      memoryGiB: c.sandbox.memoryGiB,
      images: {
        registry: registry.sandboxRegistry,
        namespace: registry.sandboxNamespace,
        tag: c.sandbox.imageTag,
        ...(c.sandbox.imageDigests ? { digests: c.sandbox.imageDigests } : {}),
      },
      egress: c.sandbox.egress.mode === "allowList" ? { mode: "allowList", allow: c.sandbox.egress.allow } : { mode: c.sandbox.egress.mode },
    },
    redis: cloud?.redis
      ? {
        mode: "external",
        endpoint: {
          host: cloud.redis.host,
          port: cloud.redis.port,
          password: cloud.redis.password,
          cidrs: [cloud.redis.privateIp.apply((ip) => `${ip}/32`)],
        },
      }
      : {
        mode: "in-cluster",
        ...inClusterRedisStorage(c),
        cpu: c.redis.cpu,
        ...(c.redis.image ? { image: c.redis.image } : cloud ? { image: mirroredRedisImage(cloud) } : {}),
      },
    exposure: { ...c.exposure, ...(cloud?.loadBalancerAclId ? { clbAclId: cloud.loadBalancerAclId } : {}) },
    observability: observabilityArgs(c, secrets, otlp),
    network: {
      ...(c.cluster ? { serviceCidr: c.cluster.serviceCidr } : {}),
      ...(newCluster ? { apiServer: apiServerEgress(cloud.cluster.apiServerIntranet) } : {}),
    },
  };
}

/**
 * The workload layer's source: a directory is built by the stack when images.build is on, else it
 * runs the digest images.userAgents gives for it (config/rules.ts requires one).
 */
function agentSource(name: string, s: StackConfig["agents"][number]["source"], c: StackConfig): AgentSource {
  if (s.kind !== "directory" || c.images.build) return s;
  return { kind: "image", image: c.images.userAgents![name]!, framework: s.framework };
}

/**
 * The disk StorageClass both ACK and ACS create and recommend: "alicloud-disk-topology-alltype(推荐)…
 * WaitForFirstConsumer" (ACK "使用云盘动态存储卷", help.aliyun.com/document_detail/134859.html);
 * "ACS provides a default StorageClass named alicloud-disk-topology-alltype" (ACS "Cloud disk
 * storage volume overview", alibabacloud.com/help/en/cs/latest/cloud-disk-storage-volume-overview).
 */
export const ALIBABA_WORKSPACE_STORAGE_CLASS = "alicloud-disk-topology-alltype";

/** An agentscope2 agent's workspaces with the defaults resolved (config/schema.ts workspacesSchema). */
function agentWorkspaces(w: StackConfig["agents"][number]["workspaces"], c: StackConfig): AgentWorkspacesSpec {
  if (w?.kind === "local") return { kind: "local" };
  const kind = workspaceStorageKind(c, w);
  const storageClassName = w?.storageClassName ?? c.kubernetes.storageClassName ?? (c.platform === "alicloud" ? ALIBABA_WORKSPACE_STORAGE_CLASS : undefined);
  const storage: WorkspaceStorage = kind === "emptyDir"
    ? { kind, sizeGiB: w?.storageGiB ?? 1 }
    : { kind, sizeGiB: w?.storageGiB ?? (c.platform === "alicloud" ? ALIBABA_MIN_DISK_GIB : 1), ...(storageClassName ? { storageClassName } : {}) };
  return {
    kind: "pods",
    cpu: w?.cpu ?? c.sandbox.cpu,
    memoryGiB: w?.memoryGiB ?? c.sandbox.memoryGiB,
    storage,
    isolation: w?.isolation ?? "per_agent",
    idleSeconds: (w?.idleMinutes ?? 60) * 60,
    ...(w?.warmPool ? { warmPool: warmPool(w.warmPool) } : {}),
    ...(kind === "persistentVolumeClaim"
      ? { claimReaper: { retainDays: w?.retainDays ?? 30, schedule: w?.reaper?.schedule ?? "17 3 * * *", dryRun: w?.reaper?.dryRun ?? true } }
      : {}),
  };
}

/** `size` is min = max with no headroom (a fixed pool); else min/max as given. */
function warmPool(p: NonNullable<NonNullable<StackConfig["agents"][number]["workspaces"]>["warmPool"]>): WorkspaceWarmPool {
  return p.size !== undefined
    ? { min: p.size, max: p.size, headroom: 0, scaleDownAfterSeconds: p.scaleDownAfterSeconds }
    : { min: p.min ?? 0, max: p.max ?? 1, headroom: p.headroom, scaleDownAfterSeconds: p.scaleDownAfterSeconds };
}

/**
 * On ACK, the official Redis image as mirrored into the stack's ACR (`skopeo copy --all` keeps the
 * index digest), pulled over the VPC: Docker Hub is often unreachable from the cluster.
 */
function mirroredRedisImage(cloud: AlicloudPlatform): pulumi.Output<string> {
  const digest = DEFAULT_REDIS_IMAGE.slice(DEFAULT_REDIS_IMAGE.indexOf("@"));
  return pulumi.interpolate`${cloud.registry.vpcLoginServer}/${cloud.registry.namespace}/${REDIS_REPOSITORY}${digest}`;
}

/**
 * In-cluster Redis's claim. On Alibaba Cloud: ACK's and ACS's default disk class
 * (ALIBABA_WORKSPACE_STORAGE_CLASS: the StorageClass list of ACK "存储类(StorageClass)",
 * alibabacloud.com/help/zh/ack/ack-managed-and-ack-dedicated/user-guide/storage-class, has no
 * `alicloud-disk-topology` any more) at the CSI disk driver's minimum size (ALIBABA_MIN_DISK_GIB):
 * a smaller claim stays Pending. Elsewhere 5 GiB on the cluster's default class.
 */
export function inClusterRedisStorage(c: StackConfig): { storageGiB: number; storageClassName?: string } {
  const storageClassName = c.redis.storageClassName ?? c.kubernetes.storageClassName ?? (c.platform === "alicloud" ? ALIBABA_WORKSPACE_STORAGE_CLASS : undefined);
  const storageGiB = c.redis.storageGiB ?? (c.platform === "alicloud" ? ALIBABA_MIN_DISK_GIB : 5);
  return { storageGiB, ...(storageClassName ? { storageClassName } : {}) };
}
