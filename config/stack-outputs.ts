import * as pulumi from "@pulumi/pulumi";
import type { AlicloudPlatform } from "../components/alicloud/alicloud-platform";
import type { AgentScopeWorkloads } from "../components/workload/workloads";
import type { KubernetesCluster } from "../components/workload/kubernetes-cluster";
import type { TraceViewer } from "../components/workload/trace-viewer";
import type { StackConfig } from "./load";

/** The components a stack is composed of (index.ts): the cloud layer or an existing cluster, the workloads, the trace viewer when on. */
export interface StackParts {
  readonly cloud?: AlicloudPlatform;
  readonly local?: KubernetesCluster;
  readonly workloads: AgentScopeWorkloads;
  readonly traceViewer?: TraceViewer;
}

/**
 * The stack's outputs: only those this stack has. Pulumi's Node.js SDK warns "Undefined value
 * (<name>) will not show as a stack output" for every top-level output that is (or resolves to)
 * undefined (`massage` in @pulumi/pulumi runtime/stack.js), so the cloud outputs exist only on a
 * cloud stack, `kubeContext` only when a context is named, the stand-in model's only while it is
 * deployed and the trace viewer's only while it runs. index.ts exports this object as the module.
 */
export function stackOutputs(c: StackConfig, { cloud, local, workloads, traceViewer }: StackParts): Record<string, unknown> {
  return {
    environment: c.environment,
    stackName: pulumi.getStack(),
    ...(cloud
      ? {
        clusterId: cloud.cluster.clusterId,
        kubeconfig: cloud.cluster.kubeconfig,
        registryLoginServer: cloud.registry.loginServer,
        registryVpcLoginServer: cloud.registry.vpcLoginServer,
        registryRepositories: cloud.registry.repositoryUrls,
        registryPushUsername: cloud.registry.pushUsername,
        registryPushPassword: cloud.registry.pushPassword,
        ...(cloud.redis ? { managedRedisHost: cloud.redis.host } : {}),
      }
      : {}),
    ...(local?.context ? { kubeContext: local.context } : {}),
    agentsNamespace: workloads.agentsNamespace,
    sandboxNamespace: workloads.sandboxNamespace,
    agentImage: workloads.agentImage,
    sandboxManagerImage: workloads.sandboxManagerImage,
    /** Per agent, the image it runs by digest (Friday's, or the user's own). */
    agentImages: workloads.agentImages,
    agentUrls: workloads.agentUrls,
    agentLoadBalancers: workloads.loadBalancerAddresses,
    sandboxManagerUrl: workloads.sandboxManagerUrl,
    ...(c.standInModel ? { standInModelUrl: workloads.standInModelUrl, standInModelImage: workloads.standInModelImage } : {}),
    agentApiToken: workloads.agentApiToken,
    /** Per agent, a ready `curl` of the seed's request (secret: it holds the token). */
    agentCurls: workloads.agentCurls,
    /** The local trace viewer's OTLP/HTTP endpoint, and how to open its UI and `/api/traces`. */
    ...(traceViewer
      ? {
        traceViewerOtlpEndpoint: traceViewer.otlpHttpEndpoint,
        traceViewerNamespace: traceViewer.namespace,
        traceViewerPortForward: pulumi.interpolate`kubectl -n ${traceViewer.namespace} port-forward svc/${traceViewer.queryService} ${traceViewer.queryPort}:${traceViewer.queryPort}`,
      }
      : {}),
  };
}
