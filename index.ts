// The stack: validate config, then compose components. All logic lives in config/ and components/.
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config";
import { alicloudPlatformArgs, logCollectionArgs } from "./config/cloud-args";
import { localTraceViewerTarget, traceViewerArgs } from "./config/trace-viewer-args";
import { workloadArgs } from "./config/workload-args";
import { AgentScopeWorkloads, AlicloudPlatform, KubernetesCluster, SlsLogCollection, TraceViewer } from "./components";

const { config, secrets } = loadStackConfig();

const cloud = config.platform === "alicloud"
  ? new AlicloudPlatform(config.namePrefix, alicloudPlatformArgs(config, secrets))
  : undefined;
const local = cloud
  ? undefined
  : new KubernetesCluster(config.namePrefix, { context: config.kubernetes.context, kubeconfig: config.kubernetes.kubeconfigPath });

// The local Jaeger (observability.localTraceViewer), when on, is the trace receiver; otherwise
// observability.otlpEndpoint is.
const workloads = new AgentScopeWorkloads(config.namePrefix, workloadArgs(config, secrets, cloud, localTraceViewerTarget(config)), {
  provider: cloud?.provider ?? local!.provider,
  dependsOn: cloud ? [cloud] : [],
});

const logs = cloud ? logCollectionArgs(config, cloud, workloads.agentsNamespace) : undefined;
if (cloud && logs) new SlsLogCollection(`${config.namePrefix}-logs`, logs, { provider: cloud.provider, dependsOn: [cloud] });
// Jaeger for local/dev stacks (observability.localTraceViewer): reached through a port-forward.
const traceViewer = config.observability.localTraceViewer
  ? new TraceViewer(`${config.namePrefix}-trace-viewer`, traceViewerArgs(config, secrets, workloads), {
    provider: cloud?.provider ?? local!.provider,
    dependsOn: [workloads],
  })
  : undefined;

export const environment = config.environment;
export const stackName = pulumi.getStack();
export const clusterId = cloud?.cluster.clusterId;
export const kubeconfig = cloud?.cluster.kubeconfig;
export const kubeContext = local?.context;
export const registryLoginServer = cloud?.registry.loginServer;
export const registryVpcLoginServer = cloud?.registry.vpcLoginServer;
export const registryRepositories = cloud?.registry.repositoryUrls;
export const registryPushUsername = cloud?.registry.pushUsername;
export const registryPushPassword = cloud?.registry.pushPassword;
export const managedRedisHost = cloud?.redis?.host;
export const agentsNamespace = workloads.agentsNamespace;
export const sandboxNamespace = workloads.sandboxNamespace;
export const agentImage = workloads.agentImage;
export const sandboxManagerImage = workloads.sandboxManagerImage;
/** Per agent, the image it runs by digest (Friday's, or the user's own). */
export const agentImages = workloads.agentImages;
export const agentUrls = workloads.agentUrls;
export const agentLoadBalancers = workloads.loadBalancerAddresses;
export const sandboxManagerUrl = workloads.sandboxManagerUrl;
export const standInModelUrl = workloads.standInModelUrl;
export const standInModelImage = workloads.standInModelImage;
export const agentApiToken = workloads.agentApiToken;
/** Per agent, a ready `curl` of the seed's request (secret: it holds the token). */
export const agentCurls = workloads.agentCurls;
/** The local trace viewer's OTLP/HTTP endpoint, and how to open its UI and `/api/traces` (when it is on). */
export const traceViewerOtlpEndpoint = traceViewer?.otlpHttpEndpoint;
export const traceViewerNamespace = traceViewer?.namespace;
export const traceViewerPortForward = traceViewer
  ? pulumi.interpolate`kubectl -n ${traceViewer.namespace} port-forward svc/${traceViewer.queryService} ${traceViewer.queryPort}:${traceViewer.queryPort}`
  : undefined;
