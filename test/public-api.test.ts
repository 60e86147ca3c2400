// Pins the package's public API (components/index.ts): a name added, renamed or dropped, value or
// type, fails here, so a change to what other stacks import is made on purpose.
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as api from "../components";

const VALUES = [
  "ACK_ADDONS", "ACK_VERSION_SOURCE", "ACR_HELPER_ADDON", "ACS_COMPUTE_CLASSES", "ACS_COMPUTE_QOS",
  "ACS_CPU_STEP", "ACS_MEMORY_STEP_GIB", "AGENT_FRAMEWORKS", "AGENT_PORT", "AGENT_SERVICE_PORT", "ALIBABA_SLB_HEALTH_CHECK_CIDRS",
  "APP_SPEC", "APP_SPECS", "APP_UID", "AckCluster", "BUILTIN_SOURCE", "AcrRegistry", "AcsImageCache", "AgentRuntime", "AgentScopeWorkloads", "AgentWorkspaces",
  "AlicloudPlatform", "ContainerImage", "DEFAULT_REDIS_IMAGE", "EXTENSION_MODULE", "GATEWAY_CPU",
  "GATEWAY_MEMORY_GIB", "GATEWAY_METRICS_PORT", "GATEWAY_METRICS_PORT_NAME", "GATEWAY_PORT", "GATEWAY_PY_PATH", "IMAGE_CACHE_ADDON", "InClusterRedis", "KubernetesCluster", "MANAGED_BY",
  "MANAGED_PROMETHEUS_ADDON", "MANAGER_CONFIG_PATH", "MAX_ZONES", "METRICS_PATH", "METRICS_PORT", "METRICS_PORT_NAME",
  "METRICS_SERVICE_LABEL", "MODULE_SPEC", "MONITORING_API_VERSION", "ManagedRedis", "Monitoring", "NON_PUBLIC_CIDRS", "NO_ACS", "Namespaces", "Network",
  "NetworkPolicies", "OTEL_SERVICE_NAMES", "OTLP_HEADERS_ENV", "PIPELINE_CONFIG_API_VERSION", "POSEIDON_ADDON", "PROBE_USER_ID", "REDIS_PORT", "SANDBOX_DENIED_CIDRS", "SANDBOX_MANAGER_CLUSTER_RULES",
  "SANDBOX_MANAGER_AGENT_POD_RULES", "SANDBOX_MANAGER_PORT", "SANDBOX_MANAGER_ROLE_RULES", "SANDBOX_PORT", "SANDBOX_SERVICE_ACCOUNT",
  "SANDBOX_TYPES", "CONTRACT_METRICS", "STAND_IN_MODEL_API_KEY", "STAND_IN_MODEL_NAME", "STAND_IN_MODEL_PORT", "SandboxPool",
  "SlsLogCollection", "StandInModel", "TMP_VOLUME_NAME", "TRACE_VIEWER_COLLECTOR_SERVICE", "TRACE_VIEWER_HEALTH_PORT",
  "JWT_ALGORITHMS", "TRACE_VIEWER_OTLP_HTTP_PORT", "TRACE_VIEWER_QUERY_PORT", "TRACE_VIEWER_QUERY_SERVICE", "TraceViewer", "UPSTREAM_SANDBOX_PORT", "USER_TOKENS_KEY", "VIRTUAL_NODE_ADDON", "VIRTUAL_NODE_MIN_VERSION",
  "VIRTUAL_NODE_TOLERATION", "acsNetworkAnnotations", "acsPodAnnotations", "acsPodLabels", "acsTolerations",
  "addonConfigSchema", "alertRules", "appModuleFiles", "checkedAddonConfig", "isAgentscope2", "cidrsOverlap", "contentTag", "coversPublicInternet", "cpuQuantity", "defaultScrapeTargets", "dotenvQuote",
  "guaranteedResources", "isAcsSize", "isDigestRef", "isIpv4Cidr", "layoutZoneSubnets", "memoryQuantity",
  "minimalCidrs", "otelEnv", "parseIpv4Cidr", "pipelineConfigSpec", "podSecurityLabels", "providerSdkEnv", "readGatewayPy", "recommendedLabels",
  "renderAutoscaling", "renderManagerEnv", "renderRedisConfig", "requireDigestRef", "requireDnsLabel", "requireInt",
  "requireAgentSource", "requirePositive", "resolveAckClusterArgs", "resolveAcrRegistryArgs", "resolveAgentRuntimeArgs",
  "resolveContainerImageArgs", "resolveInClusterRedisArgs", "resolveNamespacesArgs", "resolveNetworkArgs",
  "resolveNetworkPoliciesArgs", "resolveSandboxPoolArgs", "resolveStandInModelArgs", "resolveTraceViewerArgs", "resolveWorkloadsArgs", "resourcesWithCpuLimit",
  "restrictedContainerSecurityContext", "restrictedPodSecurityContext", "sandboxPodLabels",
  "sandboxPodSettings", "selectorLabels", "settingBySchema", "subnet", "tmpVolume", "traceViewerIdentity", "tmpVolumeMount", "USER_AGENT_DOCKERFILE", "USER_AGENT_KIT_REPOSITORY",
  "USER_AGENT_KIT_TARGET", "USER_AGENT_TARGET", "USER_AGENT_TARGETS", "upstreamSandboxImage", "userAgentRepositoryName",
  "zoneSpreadWhenUnsatisfiable", "SERVICE_ACCOUNT_DIR", "WORKSPACE_GATEWAY_VENV", "WORKSPACE_IMAGE_TARGET", "WORKSPACE_ISOLATIONS", "WORKSPACE_POD_LABEL",
  "WORKSPACE_AGENT_LABEL", "WORKSPACE_USER_HASH_LABEL", "WORKSPACE_POOL_LABEL", "WORKSPACE_LAST_USED_ANNOTATION",
  "WorkspaceClaimReaper", "resolveWorkspaceClaimReaperArgs", "reaperRoleRules", "reaperClaimSelector", "reaperDeleteValidation", "REAPER_DIR", "REAPER_APP_NAME",
  "WORKSPACE_SETTINGS_DIR", "WORKSPACE_SETTINGS_ENV", "WORKSPACE_SETTINGS_FILE", "podWorkspaces", "resolveAgentWorkspacesArgs",
  "serviceAccountTokenVolume", "workspacePodSettings", "workspaceRoleRules",
  "AgentTaskWorker", "TASKS_ENV", "TASK_CONCURRENCY_ENV", "TASK_WORKER_STOP_SECONDS", "TASK_WORKER_HEALTH_PORT", "resolveAgentTaskWorkerArgs",
  "requireAcsSize", "resolveAgentTasks",
  "ACS_NETWORK_POLICY_ANNOTATIONS", "AUTOSCALER_ROLE", "AUTOSCALER_ROLE_CONSOLE", "requireAutoscalerRole", "schemaKeys",
  "AGENT_APP_NAME", "ALL_AGENTS_SELECTOR", "SANDBOX_MANAGER_APP_NAME",
  "BUILTIN_GATEWAY_PATHS", "DEFAULT_GATEWAY_LIMITS",
  "AGENT_IMAGE_TARGETS", "agentImageContext",
  "SANDBOX_APP_NAME", "EGRESS_MODES", "egressNameProblem", "requireEgressNames", "EGRESS_PROXY_PORT", "EGRESS_PROXY_METRICS_PORT",
  "SandboxTrafficPolicies", "resolveSandboxTrafficPoliciesArgs", "sandboxTrafficRules", "proxyTrafficRules", "TRAFFIC_POLICY_API_VERSION",
  "TRAFFIC_POLICY_MODE_ANNOTATIONS", "METADATA_CIDR", "POSEIDON_TRAFFIC_POLICY_CONFIG", "poseidonTrafficPolicyConfig", "requireRoomBesideGateway",
  "EGRESS_PROXY_APP_NAME", "EgressProxy", "resolveEgressProxyArgs", "egressProxySquidConfig", "proxyEnv", "SQUID_JSON_LOGFORMAT", "renderSquidConfig",
];

const TYPES = [
  "AckClusterArgs", "AckClusterSpec", "AcrRegistryArgs", "AcsComputeClass", "AcsComputeQos",
  "AcsImageCacheArgs", "AcsNetwork", "AcsPlacement", "AgentFramework", "AgentLoadBalancer", "AgentPolicySpec", "AgentRuntimeArgs",
  "AgentScopeWorkloadsArgs", "AgentSecrets", "AgentSource", "AgentSpec", "AlertRule", "AlertThresholds", "AlicloudPlatformArgs", "CidrEgress",
  "ContainerImageArgs", "ImageBuildArgs", "InClusterRedisArgs", "Ipv4Block", "KubernetesClusterArgs",
  "ManagedRedisArgs", "ManagerSecrets", "MonitoringArgs", "NamespacesArgs", "NetworkArgs", "NetworkPoliciesArgs",
  "OtlpEgress", "PodSecurityLevel", "RedisEndpoint", "RegistryCredentials", "ResolvedAckClusterArgs",
  "ResolvedAgentRuntimeArgs", "ResolvedContainerImageArgs", "ResolvedInClusterRedisArgs",
  "ResolvedNamespacesArgs", "ResolvedNetworkPoliciesArgs", "ResolvedSandboxPoolArgs",
  "ResolvedStandInModelArgs", "ResolvedTraceViewerArgs", "ResolvedWorkloadsArgs", "SandboxAutoscaling", "SandboxImagesArgs", "SandboxIsolation",
  "SandboxPodSettings", "SandboxPoolArgs", "SandboxType", "SlsLogCollectionArgs", "StandInModelArgs", "TelemetryPolicyArgs", "TraceClient", "TraceViewerArgs", "TracingArgs", "Weekday", "WorkloadIdentity", "WorkloadTelemetry",
  "ZoneSubnets", "AgentWorkspacesArgs", "AgentWorkspacesBinding", "AgentWorkspacesSpec", "ResolvedAgentWorkspacesArgs",
  "WorkspaceIsolation", "WorkspacePodSettingsJson", "WorkspaceStorage", "WorkspaceWarmPool",
  "WorkspaceClaimReaperArgs", "ResolvedWorkspaceClaimReaperArgs",
  "AgentTaskWorkerArgs", "AgentTasksSpec", "ResolvedAgentTaskWorkerArgs", "ResolvedAgentTasks",
  "AgentJwtIdentity", "JwtAlgorithm", "GatewayLimits",
  "TrafficPeer", "TrafficRule", "SandboxTrafficPoliciesArgs",
  "EgressMode", "SandboxEgress", "EgressProxyArgs", "ResolvedEgressProxyArgs", "SquidConfigArgs",
];

/** Every name components/index.ts exports, types included, as the TypeScript checker sees them. */
function exportedNames(): { values: string[]; types: string[] } {
  const file = join(__dirname, "..", "components", "index.ts");
  const program = ts.createProgram([file], { strict: true, module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error("components/index.ts did not load");
  const values: string[] = [];
  const types: string[] = [];
  for (const s of checker.getExportsOfModule(moduleSymbol)) {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    (target.flags & ts.SymbolFlags.Value ? values : types).push(s.name);
  }
  return { values: values.sort(), types: types.sort() };
}

describe("public API of components/index.ts", () => {
  it("exports exactly the pinned runtime values", () => {
    expect(Object.keys(api).sort()).toEqual([...VALUES].sort());
  });

  it("exports exactly the pinned names, types included", () => {
    const names = exportedNames();
    expect(names.values).toEqual([...VALUES].sort());
    expect(names.types).toEqual([...TYPES].sort());
  }, 300_000); // a whole type-check of the package: two minutes on a loaded 2-core machine
});
