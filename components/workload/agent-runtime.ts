import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AcsNetwork, AcsPlacement } from "./acs";
import { NO_ACS, acsNetworkAnnotations, acsPodAnnotations, acsPodLabels, acsTolerations, requireAcsSize, zoneSpreadWhenUnsatisfiable } from "./acs";
import type { WorkloadIdentity } from "./labels";
import { AGENT_APP_NAME, recommendedLabels, selectorLabels } from "./labels";
import { guaranteedResources } from "./resources";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, tmpVolume, tmpVolumeMount } from "./security-context";
import { requireDigestRef, requireDnsLabel, requireInt, requirePositive } from "./validate";
import type { SandboxType } from "./sandbox-types";
import type { WorkloadTelemetry } from "./telemetry";
import { GATEWAY_METRICS_PORT, GATEWAY_METRICS_PORT_NAME, METRICS_PORT, METRICS_PORT_NAME, METRICS_SERVICE_LABEL, OTEL_SERVICE_NAMES, OTLP_HEADERS_ENV, otelEnv } from "./telemetry";
import type { AgentSource } from "./agent-source";
import type { AgentWorkspacesBinding, WorkspaceIsolation, WorkspaceStorage, WorkspaceWarmPool } from "./agent-workspaces";
import { WORKSPACE_SETTINGS_DIR, WORKSPACE_SETTINGS_ENV, WORKSPACE_SETTINGS_FILE } from "./agent-workspaces";
import { BUILTIN_SOURCE, isAgentscope2, requireAgentSource } from "./agent-source";
import type { AgentTasksSpec } from "./agent-task-worker";
import { AgentTaskWorker, TASKS_ENV, resolveAgentTasks } from "./agent-task-worker";
import type { AgentJwtIdentity } from "./gateway-identity";
import { gatewayIdentity, requireGatewayIdentity } from "./gateway-identity";

/** One agent of the stack's list. */
export interface AgentSpec {
  /** DNS label, unique in the stack; names the Deployment `agent-<name>`. */
  name: string;
  /** Model the agent calls. */
  model: {
    /** `dashscope` or `openai` (an OpenAI-compatible endpoint). */
    provider: "dashscope" | "openai";
    /** Model name, e.g. `qwen-turbo`. */
    name: string;
    /** Endpoint; required for `openai`, optional for DashScope (default: DashScope's public endpoint). */
    baseUrl?: pulumi.Input<string>;
  };
  /** HPA bounds; `min` is also the initial replica count. */
  replicas: { min: number; max: number };
  /** vCPU of the whole pod, requests = limits (ACS: 0.5 steps). */
  cpu: number;
  /** Memory of the whole pod in GiB, requests = limits (ACS: 1 GiB steps). */
  memoryGiB: number;
  /** Sandbox types the agent uses; the first is its default (`SANDBOX_TYPE`, Friday only). */
  sandboxTypes: SandboxType[];
  /** Where its code comes from (default `{ kind: "builtin" }`: our Friday image). */
  source?: AgentSource;
  /**
   * Builtin agent only: turns one pod runs at once (`MAX_CONCURRENT_TURNS`); past it a turn gets
   * 429 with Retry-After, and the pod's Redis connection pools are sized to it. Default
   * `defaultMaxConcurrentTurns` of the app container's CPU and memory.
   */
  maxConcurrentTurns?: number;
  /**
   * Per-user tokens for the gateway: the name of a Secret in the namespace, managed outside the
   * stack, whose key `tokens.json` maps the SHA-256 (hex) of each user's token to the user's id.
   * Callers with those tokens reach the app as that user (`X-User-ID`, and the body's `user_id`
   * for /process and /stop of an AgentApp); `agentApiToken` still works, as the user `default`.
   * Default none (docs/identity.md).
   */
  userTokensSecret?: string;
  /** JWTs of the team's identity provider, verified by the gateway, as per-user credentials. Default none. */
  jwt?: AgentJwtIdentity;
  /** The gateway's deadlines for slow clients and its connection cap (default `DEFAULT_GATEWAY_LIMITS`). */
  gatewayLimits?: GatewayLimits;
  /**
   * AgentScope 2.x agents only: where their workspaces (and so the commands their tools run) live.
   * Default `{ kind: "pods" }`: hardened pods in the sandbox namespace (AgentWorkspaces).
   */
  workspaces?: AgentWorkspacesSpec;
  /**
   * A user's AgentApp's `@agent_app.task`s (agentscope-runtime 1.0.x or 1.1.x; source directory
   * or image): the app submits them to the stack's Redis and a worker Deployment
   * `agent-<name>-tasks` runs them (AgentTaskWorker). Default none: the runtime runs them in the
   * app process, status per process.
   */
  tasks?: AgentTasksSpec;
}

/**
 * `pods`: one hardened pod per workspace in the sandbox namespace, placed as sandboxes are;
 * `local`: 2.x's LocalWorkspaceManager inside the agent's own container (for a local cluster only).
 */
export type AgentWorkspacesSpec =
  | { kind: "local" }
  | {
    kind: "pods";
    /** vCPU / GiB per workspace pod (default: the sandboxes' size). */
    cpu?: number;
    memoryGiB?: number;
    /** Default `{ kind: "emptyDir", sizeGiB: 1 }`. */
    storage?: WorkspaceStorage;
    /** Default `per_agent`: one workspace per (user, agent). */
    isolation?: WorkspaceIsolation;
    /** Idle pods go after this long (default 3600). */
    idleSeconds?: number;
    /** Workspaces started ahead, per agent replica (default none). */
    warmPool?: WorkspaceWarmPool;
    /**
     * With storage persistentVolumeClaim: the reaper of the agent's claims (WorkspaceClaimReaper;
     * default on: 30 days, daily, deleting); `false`: none, claims stay until deleted by hand.
     */
    claimReaper?: false | { retainDays?: number; schedule?: string; dryRun?: boolean };
  };

/**
 * What the gateway (components/assets/gateway.py) allows a client: a connection must send its
 * request line and headers within `headerTimeoutSeconds` (`GATEWAY_HEADER_TIMEOUT_SECONDS`), then its
 * body within `bodyTimeoutSeconds` (`GATEWAY_BODY_TIMEOUT_SECONDS`), else 408 and closed; past
 * `maxConnections` open connections (`GATEWAY_MAX_CONNECTIONS`) a request gets 503. A turn's
 * stream runs under neither deadline.
 */
export interface GatewayLimits {
  headerTimeoutSeconds?: number;
  bodyTimeoutSeconds?: number;
  maxConnections?: number;
}

/** gateway.py's own defaults. */
export const DEFAULT_GATEWAY_LIMITS: Required<GatewayLimits> = { headerTimeoutSeconds: 10, bodyTimeoutSeconds: 30, maxConnections: 1000 };

/**
 * The builtin agent's routes (agent-image/friday/app.py and protocols.py), the only paths its gateway
 * forwards (`GATEWAY_ALLOW_PATHS`): the runtime's admin routes, AG-UI and any other path get the
 * gateway's 404. A user's app has its own routes, so its gateway only denies the admin prefixes.
 */
export const BUILTIN_GATEWAY_PATHS = [
  "/", "/health", "/process", "/stop",
  // agentscope-runtime 1.1.6.post2 RESPONSES_ENDPOINT_PATH, A2A_JSON_RPC_URL; a2a-sdk 0.3.26 AGENT_CARD_WELL_KNOWN_PATH.
  "/compatible-mode/v1/responses", "/a2a", "/.well-known/agent-card.json",
] as const;

/** Secret values the agent reads, all Pulumi secrets; they reach the pod only through a Secret. */
export interface AgentSecrets {
  /** Model API key (`MODEL_API_KEY`); optional for endpoints without keys. */
  modelApiKey?: pulumi.Input<string>;
  /** Bearer token callers present on every route but /health (`AGENT_API_TOKEN`). */
  agentApiToken: pulumi.Input<string>;
  /** Bearer token of the sandbox manager (`SANDBOX_MANAGER_TOKEN`). */
  sandboxManagerToken: pulumi.Input<string>;
  /** Redis password (`REDIS_PASSWORD`); required when `redis` is set. */
  redisPassword?: pulumi.Input<string>;
}

/** A LoadBalancer for callers outside the cluster, always allow-listed. */
export interface AgentLoadBalancer {
  /** Caller CIDRs (`loadBalancerSourceRanges` and the NetworkPolicy); never empty, never /0. */
  allowedCidrs: string[];
  /** Cloud annotations, e.g. ACK's `service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet`. */
  annotations?: Record<string, pulumi.Input<string>>;
}

/** The AgentScope `AgentApp` of one agent: Deployment, Services, HPA, PDB and its Secret. */
export interface AgentRuntimeArgs {
  /** Namespace (the agents namespace). */
  namespace: pulumi.Input<string>;
  /** `app.kubernetes.io/part-of` (the stack's name prefix). */
  partOf: string;
  agent: AgentSpec;
  /** Agent image pinned by digest (target `agent` of agent-image/, or the user's image for another source). */
  image: pulumi.Input<string>;
  /**
   * Image the gateway container runs, by digest (default `image`). For a user's app, pass our agent
   * image (target `agent`): it ships agent-image/observability, so that gateway exports traces and
   * serves metrics as the builtin agent's does. From the user's own image the gateway runs without
   * either, and no gateway metrics port is opened.
   */
  gatewayImage?: pulumi.Input<string>;
  secrets: AgentSecrets;
  /** `SANDBOX_MANAGER_URL`, e.g. `http://sandbox-manager.<ns>.svc.cluster.local:8000`. */
  sandboxManagerUrl: pulumi.Input<string>;
  /** Redis for sessions (`REDIS_URL`, no password in it); default none (the agent keeps sessions in memory). */
  redis?: { host: pulumi.Input<string>; port: pulumi.Input<number>; db?: number; tls?: boolean };
  /** ACS placement of the pods (default NO_ACS). */
  placement?: AcsPlacement;
  /** ACS pods' vSwitches (and security groups), stamped on the pods; ignored off ACS. */
  acsNetwork?: AcsNetwork;
  /** Zone spread: `required` (DoNotSchedule, prod, off ACS) or `preferred` (ScheduleAnyway). Default `preferred`. */
  zoneSpread?: "required" | "preferred";
  /** Optional LoadBalancer (default none: the ClusterIP Service only). */
  loadBalancer?: AgentLoadBalancer;
  /**
   * Path-filtering gateway in front of the AgentApp (default true). AgentApp serves `/shutdown` and
   * `/admin/*` without authentication; NetworkPolicies work on ports, not paths, so Services and
   * callers reach the gateway, which refuses those paths, and nothing outside the pod reaches 8080.
   */
  gateway?: boolean;
  /** `LOG_LEVEL` (default `INFO`). */
  logLevel?: "DEBUG" | "INFO" | "WARNING" | "ERROR";
  /** `MAX_REQUEST_BYTES` (default 1 MiB). */
  maxRequestBytes?: number;
  /** HPA CPU utilisation target in percent (default 70). */
  targetCpuUtilization?: number;
  /** Names of image pull Secrets in the namespace (default none). */
  imagePullSecrets?: string[];
  /** Trace export and metrics listeners of the agent and its gateway (default: both off). */
  telemetry?: WorkloadTelemetry;
  /**
   * An AgentScope 2.x agent's workspaces as pods in the sandbox namespace (an `AgentWorkspaces`):
   * the app container alone gets its service account's token and the settings. Default none: 2.x's
   * LocalWorkspaceManager, in the agent's own container.
   */
  workspaces?: AgentWorkspacesBinding;
}

export const AGENT_PORT = 8080;
export const GATEWAY_PORT = 8081;
/** Port of the agent's Services (ClusterIP and LoadBalancer). */
export const AGENT_SERVICE_PORT = 8080;
/**
 * The user id the kubelet's probes send to an AgentScope 2.x app, whose /health requires an
 * `X-User-ID` header (agentscope/app/deps.py; 422 without it, test/python/test_agentscope2.py).
 */
export const PROBE_USER_ID = "kubelet-probe";
/** Share of the pod the gateway takes (carved out of the agent's size, so the pod total stays an ACS size). */
export const GATEWAY_CPU = 0.25;
export const GATEWAY_MEMORY_GIB = 0.25;
const GATEWAY_DIR = "/etc/agentscope/gateway";
/** Where the gateway reads the per-user tokens (the Secret's key `tokens.json`). */
export { JWT_ALGORITHMS, USER_TOKENS_KEY } from "./gateway-identity";
export type { AgentJwtIdentity, JwtAlgorithm } from "./gateway-identity";

// Pod shutdown, in seconds. Both containers sleep in preStop (endpoints go first), then get SIGTERM.
const PRE_STOP_SECONDS = 5;
/** The app lets open turns run on for this long (`SHUTDOWN_DRAIN_SECONDS`, agent-image/README.md)... */
const APP_DRAIN_SECONDS = 30;
/** ...then stops, saves and ends them: its uvicorn waits drain + 15 s at most (agent-image/friday/server.py). */
const APP_SHUTDOWN_SECONDS = APP_DRAIN_SECONDS + 15;
/** The gateway forwards open streams until the app has ended them, and cuts what is left after that. */
const GATEWAY_SHUTDOWN_SECONDS = APP_SHUTDOWN_SECONDS + 5;
const TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + GATEWAY_SHUTDOWN_SECONDS + 5;

/**
 * Concurrent turns one vCPU and one GiB of the app container carry. A turn costs the agent about
 * 0.05 CPU-seconds plus its model's streaming, and holds a few MiB while it waits on the model
 * (docs/agent-service.md, "Admission"): CPU is what runs out first.
 */
const TURNS_PER_CPU = 32;
const TURNS_PER_GIB = 64;

/** `MAX_CONCURRENT_TURNS` for an app container of this size: what its CPU and its memory both carry, at least 4. */
function defaultMaxConcurrentTurns(appCpu: number, appMemoryGiB: number): number {
  return Math.max(4, Math.floor(Math.min(appCpu * TURNS_PER_CPU, appMemoryGiB * TURNS_PER_GIB)));
}

export interface ResolvedAgentRuntimeArgs {
  readonly namespace: pulumi.Input<string>;
  readonly identity: WorkloadIdentity;
  readonly resourceName: string;
  readonly agent: AgentSpec;
  readonly source: AgentSource;
  readonly image: pulumi.Input<string>;
  readonly secrets: AgentSecrets;
  readonly sandboxManagerUrl: pulumi.Input<string>;
  readonly redis?: { host: pulumi.Input<string>; port: pulumi.Input<number>; db: number; tls: boolean };
  readonly placement: AcsPlacement;
  readonly zoneSpread: "required" | "preferred";
  readonly loadBalancer?: { allowedCidrs: string[]; annotations: Record<string, pulumi.Input<string>> };
  readonly gateway: boolean;
  readonly gatewayImage: pulumi.Input<string>;
  /** The gateway's image ships agent-image/observability (ours: the builtin agent's, or `gatewayImage`). */
  readonly gatewayObservability: boolean;
  readonly logLevel: "DEBUG" | "INFO" | "WARNING" | "ERROR";
  readonly maxRequestBytes: number;
  /** `MAX_CONCURRENT_TURNS` of the builtin agent. */
  readonly maxConcurrentTurns: number;
  readonly gatewayLimits: Required<GatewayLimits>;
  readonly targetCpuUtilization: number;
  readonly imagePullSecrets: string[];
  readonly telemetry: WorkloadTelemetry;
  /** requests = limits of the app and the gateway containers. */
  readonly appCpu: number;
  readonly appMemoryGiB: number;
  readonly workspaces?: AgentWorkspacesBinding;
}

/** The agent container's share of the pod; at least 0.25 vCPU / 0.25 GiB beside the gateway sidecar. */
export function requireRoomBesideGateway(C: string, key: string, cpu: number, memoryGiB: number, gateway: boolean): { appCpu: number; appMemoryGiB: number } {
  const appCpu = gateway ? cpu - GATEWAY_CPU : cpu;
  const appMemoryGiB = gateway ? memoryGiB - GATEWAY_MEMORY_GIB : memoryGiB;
  if (appCpu < 0.25 || appMemoryGiB < 0.25) {
    throw new Error(`${C}: ${key}cpu must be at least ${gateway ? 0.5 : 0.25} and ${key}memoryGiB at least ${gateway ? 0.5 : 0.25}, got ${cpu} / ${memoryGiB}${gateway ? ` (the gateway takes ${GATEWAY_CPU} vCPU / ${GATEWAY_MEMORY_GIB} GiB of the pod)` : ""}`);
  }
  return { appCpu, appMemoryGiB };
}

export function resolveAgentRuntimeArgs(args: AgentRuntimeArgs): ResolvedAgentRuntimeArgs {
  const C = "AgentRuntime";
  const a = args.agent;
  requireDnsLabel(C, "agent.name", a.name, 30);
  if (typeof args.image === "string") requireDigestRef(C, "image", args.image);
  if (typeof args.gatewayImage === "string") requireDigestRef(C, "gatewayImage", args.gatewayImage);
  requireInt(C, "agent.replicas.min", a.replicas.min, 1, 100);
  requireInt(C, "agent.replicas.max", a.replicas.max, 1, 500);
  if (a.replicas.min > a.replicas.max) throw new Error(`${C}: agent.replicas.min (${a.replicas.min}) must not exceed agent.replicas.max (${a.replicas.max})`);
  requirePositive(C, "agent.cpu", a.cpu);
  requirePositive(C, "agent.memoryGiB", a.memoryGiB);
  if (a.model.provider === "openai" && !a.model.baseUrl) throw new Error(`${C}: agent.model.baseUrl is required for provider openai`);
  if (a.sandboxTypes.length === 0) throw new Error(`${C}: agent.sandboxTypes must list at least one sandbox type`);
  const source = a.source ?? BUILTIN_SOURCE;
  requireAgentSource(C, "agent.source", source);
  const placement = args.placement ?? NO_ACS;
  if (placement.enabled) requireAcsSize(C, "agent.", a.cpu, a.memoryGiB);
  const gateway = args.gateway ?? true;
  requireGatewayIdentity(C, a.userTokensSecret, a.jwt, gateway);
  // Friday checks the bearer token itself; a user's app does not, so its gateway does.
  if (!gateway && source.kind !== "builtin") throw new Error(`${C}: gateway cannot be off for agent.source ${source.kind}: the gateway is what checks callers' bearer token in front of the user's app`);
  if (!gateway && args.gatewayImage !== undefined) throw new Error(`${C}: gatewayImage is set but gateway is off`);
  const { appCpu, appMemoryGiB } = requireRoomBesideGateway(C, "agent.", a.cpu, a.memoryGiB, gateway);
  if (args.redis && args.secrets.redisPassword === undefined) throw new Error(`${C}: secrets.redisPassword is required with redis`);
  if (isAgentscope2(source)) {
    if (!args.redis) throw new Error(`${C}: agent.source framework agentscope2 needs redis: its RedisStorage and RedisMessageBus hold the sessions and carry the events between replicas`);
    if (args.secrets.modelApiKey === undefined) throw new Error(`${C}: agent.source framework agentscope2 needs secrets.modelApiKey: agentscope2_launcher refuses to start without MODEL_API_KEY`);
  } else if (args.workspaces) {
    throw new Error(`${C}: workspaces applies only to agent.source framework agentscope2 (an AgentApp runs code in the sandbox pool)`);
  }
  if (a.tasks) {
    if (source.kind === "builtin" || isAgentscope2(source)) throw new Error(`${C}: agent.tasks applies only to an AgentApp of the user's (source directory or image, framework agentscope-runtime): it runs the app's @agent_app.task functions`);
    if (!args.redis) throw new Error(`${C}: agent.tasks needs redis: it is the tasks' broker and result store`);
    resolveAgentTasks(C, a.tasks, placement);
  }
  const lb = args.loadBalancer;
  if (lb) {
    if (lb.allowedCidrs.length === 0) throw new Error(`${C}: loadBalancer.allowedCidrs must list the callers' CIDR blocks; a load balancer is never open to all`);
    for (const c of lb.allowedCidrs) {
      if (c.endsWith("/0")) throw new Error(`${C}: loadBalancer.allowedCidrs entry ${c} opens the load balancer to everyone`);
    }
  }
  const maxRequestBytes = args.maxRequestBytes ?? 1_048_576;
  requireInt(C, "maxRequestBytes", maxRequestBytes, 1024, 104_857_600);
  if (a.maxConcurrentTurns !== undefined) {
    if (source.kind !== "builtin") throw new Error(`${C}: agent.maxConcurrentTurns applies only to the builtin agent (MAX_CONCURRENT_TURNS of Friday); a user's app has its own limits`);
    requireInt(C, "agent.maxConcurrentTurns", a.maxConcurrentTurns, 1, 10_000);
  }
  const maxConcurrentTurns = a.maxConcurrentTurns ?? defaultMaxConcurrentTurns(appCpu, appMemoryGiB);
  if (a.gatewayLimits !== undefined && !gateway) throw new Error(`${C}: agent.gatewayLimits is set but gateway is off`);
  const g = a.gatewayLimits;
  const gatewayLimits: Required<GatewayLimits> = {
    headerTimeoutSeconds: g?.headerTimeoutSeconds ?? DEFAULT_GATEWAY_LIMITS.headerTimeoutSeconds,
    bodyTimeoutSeconds: g?.bodyTimeoutSeconds ?? DEFAULT_GATEWAY_LIMITS.bodyTimeoutSeconds,
    maxConnections: g?.maxConnections ?? DEFAULT_GATEWAY_LIMITS.maxConnections,
  };
  requireInt(C, "agent.gatewayLimits.headerTimeoutSeconds", gatewayLimits.headerTimeoutSeconds, 1, 300);
  requireInt(C, "agent.gatewayLimits.bodyTimeoutSeconds", gatewayLimits.bodyTimeoutSeconds, 1, 3600);
  requireInt(C, "agent.gatewayLimits.maxConnections", gatewayLimits.maxConnections, 10, 100_000);
  const targetCpuUtilization = args.targetCpuUtilization ?? 70;
  requireInt(C, "targetCpuUtilization", targetCpuUtilization, 10, 100);
  return {
    namespace: args.namespace,
    identity: { name: AGENT_APP_NAME, instance: `${args.partOf}-${a.name}`, component: "agent-runtime", partOf: args.partOf },
    resourceName: `agent-${a.name}`,
    agent: a,
    source,
    image: args.image,
    secrets: args.secrets,
    sandboxManagerUrl: args.sandboxManagerUrl,
    ...(args.redis ? { redis: { host: args.redis.host, port: args.redis.port, db: args.redis.db ?? 0, tls: args.redis.tls ?? false } } : {}),
    placement,
    zoneSpread: args.zoneSpread ?? "preferred",
    ...(lb ? { loadBalancer: { allowedCidrs: [...lb.allowedCidrs], annotations: lb.annotations ?? {} } } : {}),
    gateway,
    gatewayImage: args.gatewayImage ?? args.image,
    gatewayObservability: source.kind === "builtin" || args.gatewayImage !== undefined,
    logLevel: args.logLevel ?? "INFO",
    maxRequestBytes,
    maxConcurrentTurns,
    gatewayLimits,
    targetCpuUtilization,
    imagePullSecrets: args.imagePullSecrets ?? [],
    telemetry: args.telemetry ?? {},
    appCpu,
    appMemoryGiB,
    ...(args.workspaces ? { workspaces: args.workspaces } : {}),
  };
}

/**
 * The gateway: a small ASGI reverse proxy (components/assets/gateway.py) run with the agent image's
 * own Python. It refuses the AgentApp's unauthenticated admin routes and paths not in normal form,
 * and streams everything else (SSE included) to 127.0.0.1:8080 unchanged. The file sits one level
 * up from this module, in components/assets/ of the sources and bin/components/assets/ of the
 * built package.
 */
export const GATEWAY_PY_PATH = join(__dirname, "..", "assets", "gateway.py");

/** The gateway's source, as its ConfigMap holds it. */
export function readGatewayPy(): string {
  return readFileSync(GATEWAY_PY_PATH, "utf-8");
}

/**
 * The model SDKs' own variables for a user's app, so code written against them (the seed's sample
 * reads DASHSCOPE_API_KEY) finds the stack's model: dashscope/common/constants.py
 * `DASHSCOPE_API_KEY_ENV`, openai/_client.py `OPENAI_API_KEY` and `OPENAI_BASE_URL`. The key comes
 * from the agent's Secret (`fromKey`), never as a literal value.
 */
export function providerSdkEnv(
  provider: AgentSpec["model"]["provider"],
  hasKey: boolean,
  baseUrl: pulumi.Input<string> | undefined,
): { name: string; fromKey?: string; value?: pulumi.Input<string> }[] {
  if (provider === "dashscope") return hasKey ? [{ name: "DASHSCOPE_API_KEY", fromKey: "MODEL_API_KEY" }] : [];
  return [
    ...(hasKey ? [{ name: "OPENAI_API_KEY", fromKey: "MODEL_API_KEY" }] : []),
    ...(baseUrl !== undefined ? [{ name: "OPENAI_BASE_URL", value: baseUrl }] : []),
  ];
}

/**
 * The environment of an AgentScope 2.x app, as agentscope2_launcher/config.py reads it. Nothing
 * else: code its workspace tools run inherits this environment (the launcher removes the secret
 * ones, the OTLP headers among them, at start-up), so no SDK key variables and no sandbox-manager
 * token.
 */
function agentscope2Env(
  a: AgentSpec,
  logLevel: ResolvedAgentRuntimeArgs["logLevel"],
  redisUrl: pulumi.Input<string>,
  secrets: k8s.types.input.core.v1.EnvVar[],
  otel: k8s.types.input.core.v1.EnvVar[],
): k8s.types.input.core.v1.EnvVar[] {
  return [
    { name: "AGENT_ID", value: a.name },
    { name: "AGENT_NAME", value: a.name },
    { name: "HOST", value: "0.0.0.0" },
    { name: "PORT", value: String(AGENT_PORT) },
    { name: "LOG_LEVEL", value: logLevel },
    { name: "MODEL_PROVIDER", value: a.model.provider },
    { name: "MODEL_NAME", value: a.model.name },
    ...(a.model.baseUrl ? [{ name: "MODEL_BASE_URL", value: a.model.baseUrl }] : []),
    { name: "REDIS_URL", value: redisUrl },
    { name: "HOME", value: "/tmp" },
    { name: "PYTHONDONTWRITEBYTECODE", value: "1" },
    // Schedules and channel bots belong on one replica only (create_app's docstring): off here.
    { name: "AGENTSCOPE_ENABLE_SCHEDULER", value: "false" },
    { name: "AGENTSCOPE_ENABLE_CHANNEL_WORKER", value: "false" },
    ...secrets,
    // agentscope2_launcher/tracing.py: 2.x's TracingMiddleware, exported as Friday's spans are.
    ...otel,
  ];
}

/** Where in-cluster clients read the pod's service-account credentials (kubernetes_asyncio's incluster_config.py). */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The volume the kubelet would mount in every container with automountServiceAccountToken: a bound,
 * expiring token, the cluster's CA and the namespace ("Bound service account token volume",
 * kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/). Mounted by hand, it
 * reaches only the container that calls the API server. Group-readable: fsGroup is the app's gid.
 */
export function serviceAccountTokenVolume(name: string): k8s.types.input.core.v1.Volume {
  return {
    name,
    projected: {
      defaultMode: 0o440,
      sources: [
        { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
      ],
    },
  };
}

export class AgentRuntime extends pulumi.ComponentResource {
  /** In-cluster URL callers use. */
  public readonly url: pulumi.Output<string>;
  /** Name of the ClusterIP Service. */
  public readonly serviceName: pulumi.Output<string>;
  /** Address of the LoadBalancer, when one is made. */
  public readonly loadBalancerAddress: pulumi.Output<string | undefined>;
  /** Labels selecting this agent's pods. */
  public readonly podSelector: Record<string, string>;
  /** Port NetworkPolicies open to callers (the gateway's, or the app's when the gateway is off). */
  public readonly callerPort: number;
  /** Metrics ports of the pod (empty when metrics are off), for the scrape NetworkPolicy. */
  public readonly metricsPorts: number[];

  constructor(name: string, args: AgentRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:AgentRuntime", name, {}, opts);
    const r = resolveAgentRuntimeArgs(args);
    const parent = { parent: this };
    const labels = recommendedLabels(r.identity);
    const selector = selectorLabels(r.identity);
    const a = r.agent;
    const s = r.secrets;

    const builtin = r.source.kind === "builtin";
    // An AgentScope 2.x service (agentscope2_launcher) runs its own workspaces, not our sandboxes.
    const agentscope2 = isAgentscope2(r.source);
    const secretData: Record<string, pulumi.Input<string>> = {
      AGENT_API_TOKEN: pulumi.secret(s.agentApiToken),
      ...(agentscope2 ? {} : { SANDBOX_MANAGER_TOKEN: pulumi.secret(s.sandboxManagerToken) }),
      // 2.x signs workspace download links with it; every replica must share it (create_app's
      // `download_secret`). Derived from the callers' token (HMAC, so it reveals nothing of it):
      // no generator plugin is needed, and it rotates with that token.
      ...(agentscope2 ? { AGENTSCOPE_DOWNLOAD_SECRET: pulumi.secret(pulumi.output(s.agentApiToken).apply((t) => createHmac("sha256", t).update(`agentscope2-download-secret:${a.name}`).digest("hex"))) } : {}),
      ...(s.modelApiKey !== undefined ? { MODEL_API_KEY: pulumi.secret(s.modelApiKey) } : {}),
      ...(r.redis && s.redisPassword !== undefined ? { REDIS_PASSWORD: pulumi.secret(s.redisPassword) } : {}),
      ...(r.telemetry.tracing?.headers !== undefined ? { [OTLP_HEADERS_ENV]: pulumi.secret(r.telemetry.tracing.headers) } : {}),
    };
    const secret = new k8s.core.v1.Secret(`${name}-secret`, {
      metadata: { name: r.resourceName, namespace: r.namespace, labels },
      type: "Opaque",
      stringData: secretData,
    }, { ...parent, deleteBeforeReplace: true });
    const secretKeys = Object.keys(secretData).sort();
    // Env from a Secret is read at pod start: hash the values so a rotated key rolls the pods. The
    // digest of high-entropy tokens reveals nothing, and unsecret keeps the whole pod spec from
    // becoming a secret (which would hide every diff of the Deployment in previews).
    const secretHash = pulumi.unsecret(pulumi.all(secretKeys.map((k) => secretData[k]!)).apply((values) => {
      const h = createHash("sha256");
      values.forEach((v, i) => h.update(`${secretKeys[i]}=${v}\n`));
      return h.digest("hex");
    }));
    const fromSecret = (envName: string) => ({ name: envName, valueFrom: { secretKeyRef: { name: secret.metadata.name, key: envName } } });

    const tracing = r.telemetry.tracing;
    // The listeners live in agent-image/observability, which only our agent image ships (a user's
    // app runs without it; its gateway has it when it runs from our image): no port that nothing
    // would answer on.
    const metrics = r.telemetry.metrics === true && builtin;
    const gatewayMetrics = r.telemetry.metrics === true && r.gateway && r.gatewayObservability;

    const redisUrl = r.redis ? pulumi.interpolate`${r.redis.tls ? "rediss" : "redis"}://${r.redis.host}:${r.redis.port}/${r.redis.db}` : undefined;
    const ws = r.workspaces;
    // agent_launcher/tasks.py: the app submits its tasks to Redis; the worker below runs them.
    const tasksEnv = a.tasks ? [{ name: TASKS_ENV, value: "celery" }] : [];
    const env: k8s.types.input.core.v1.EnvVar[] = agentscope2
      ? [
        ...agentscope2Env(a, r.logLevel, redisUrl!, secretKeys.filter((k) => k !== "AGENT_API_TOKEN" && k !== OTLP_HEADERS_ENV).map(fromSecret),
          otelEnv(OTEL_SERVICE_NAMES.agent, tracing, secret.metadata.name, { "agentscope.agent.name": a.name })),
        // agentscope2_launcher/k8s_workspaces.py: workspaces as hardened pods in the sandbox namespace.
        ...(ws ? [{ name: WORKSPACE_SETTINGS_ENV, value: `${WORKSPACE_SETTINGS_DIR}/${WORKSPACE_SETTINGS_FILE}` }] : []),
      ]
      : [
      { name: "AGENT_NAME", value: a.name },
      { name: "HOST", value: "0.0.0.0" },
      { name: "PORT", value: String(AGENT_PORT) },
      { name: "LOG_LEVEL", value: r.logLevel },
      { name: "MODEL_PROVIDER", value: a.model.provider },
      { name: "MODEL_NAME", value: a.model.name },
      ...(a.model.baseUrl ? [{ name: "MODEL_BASE_URL", value: a.model.baseUrl }] : []),
      { name: "SANDBOX_MANAGER_URL", value: r.sandboxManagerUrl },
      // Friday's own settings (agent-image/friday/settings.py); a user's app has its own.
      ...(builtin
        ? [
          { name: "SANDBOX_TYPE", value: a.sandboxTypes[0]! },
          { name: "SANDBOX_TYPES", value: a.sandboxTypes.join(",") },
          { name: "ALLOW_LOCAL_CODE_EXECUTION", value: "false" },
          { name: "MAX_REQUEST_BYTES", value: String(r.maxRequestBytes) },
          { name: "MAX_CONCURRENT_TURNS", value: String(r.maxConcurrentTurns) },
          { name: "SHUTDOWN_DRAIN_SECONDS", value: String(APP_DRAIN_SECONDS) },
          // The JSON-RPC URL its A2A agent card advertises: the in-cluster Service, i.e. the gateway when it is on.
          { name: "A2A_URL", value: pulumi.interpolate`http://${r.resourceName}.${r.namespace}.svc.cluster.local:${AGENT_SERVICE_PORT}/a2a` },
        ]
        : []),
      { name: "HOME", value: "/tmp" },
      { name: "PYTHONDONTWRITEBYTECODE", value: "1" },
      ...(redisUrl ? [{ name: "REDIS_URL", value: redisUrl }] : []),
      // The user's app never sees the callers' token: its gateway checks it.
      ...secretKeys.filter((k) => k !== OTLP_HEADERS_ENV && (builtin || k !== "AGENT_API_TOKEN")).map(fromSecret),
      ...(builtin ? [] : providerSdkEnv(a.model.provider, s.modelApiKey !== undefined, a.model.baseUrl).map(({ name: envName, fromKey, value }) =>
        fromKey ? { name: envName, valueFrom: { secretKeyRef: { name: secret.metadata.name, key: fromKey } } } : { name: envName, value: value! })),
      ...otelEnv(OTEL_SERVICE_NAMES.agent, tracing, secret.metadata.name, { "agentscope.agent.name": a.name }),
      ...(metrics ? [{ name: "METRICS_PORT", value: String(METRICS_PORT) }] : []),
      ...tasksEnv,
    ];

    let gatewayConfig: k8s.core.v1.ConfigMap | undefined;
    // Read only when used: a stack without the gateway needs no asset.
    const gatewayPy = r.gateway ? readGatewayPy() : undefined;
    if (gatewayPy !== undefined) {
      gatewayConfig = new k8s.core.v1.ConfigMap(`${name}-gateway`, {
        metadata: { name: `${r.resourceName}-gateway`, namespace: r.namespace, labels },
        data: { "gateway.py": gatewayPy },
      }, { ...parent, deleteBeforeReplace: true });
    }

    // 2.x's /health needs an X-User-ID; Friday's and the runtime's take none.
    const health = { path: "/health", port: "app", ...(agentscope2 ? { httpHeaders: [{ name: "X-User-ID", value: PROBE_USER_ID }] } : {}) };
    const appContainer: k8s.types.input.core.v1.Container = {
      name: "agent",
      image: r.image,
      ports: [
        { name: "app", containerPort: AGENT_PORT, protocol: "TCP" },
        ...(metrics ? [{ name: METRICS_PORT_NAME, containerPort: METRICS_PORT, protocol: "TCP" }] : []),
      ],
      env,
      resources: guaranteedResources(r.appCpu, r.appMemoryGiB),
      securityContext: restrictedContainerSecurityContext(),
      startupProbe: { httpGet: health, periodSeconds: 3, timeoutSeconds: 3, failureThreshold: 60 },
      readinessProbe: { httpGet: health, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
      // Liveness asks only "is the server accepting connections": a slow /health (a slow dependency, a
      // busy event loop) takes the pod out of rotation through readiness but must not restart it.
      livenessProbe: { tcpSocket: { port: "app" }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
      lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
      volumeMounts: [
        tmpVolumeMount(),
        ...(ws
          ? [
            { name: "workspace-settings", mountPath: WORKSPACE_SETTINGS_DIR, readOnly: true },
            { name: "api-access", mountPath: SERVICE_ACCOUNT_DIR, readOnly: true },
          ]
          : []),
      ],
    };
    const containers: k8s.types.input.core.v1.Container[] = [appContainer];
    const volumes: k8s.types.input.core.v1.Volume[] = [tmpVolume("512Mi")];
    if (ws) {
      volumes.push({ name: "workspace-settings", configMap: { name: ws.settingsConfigMap, defaultMode: 0o444 } });
      volumes.push(serviceAccountTokenVolume("api-access"));
    }
    if (gatewayConfig) {
      const identity = gatewayIdentity(a.userTokensSecret, a.jwt, {
        secretName: secret.metadata.name, builtin, bodyUserPaths: !agentscope2,
      });
      containers.push({
        name: "gateway",
        image: r.gatewayImage,
        command: ["python", `${GATEWAY_DIR}/gateway.py`],
        ports: [
          { name: "gateway", containerPort: GATEWAY_PORT, protocol: "TCP" },
          ...(gatewayMetrics ? [{ name: GATEWAY_METRICS_PORT_NAME, containerPort: GATEWAY_METRICS_PORT, protocol: "TCP" }] : []),
        ],
        env: [
          { name: "GATEWAY_UPSTREAM", value: `http://127.0.0.1:${AGENT_PORT}` },
          { name: "GATEWAY_PORT", value: String(GATEWAY_PORT) },
          { name: "GATEWAY_DENY_PREFIXES", value: ["/shutdown", "/admin", ...identity.denyPrefixes].join(",") },
          ...(builtin ? [{ name: "GATEWAY_ALLOW_PATHS", value: BUILTIN_GATEWAY_PATHS.join(",") }] : []),
          { name: "GATEWAY_SHUTDOWN_TIMEOUT_SECONDS", value: String(GATEWAY_SHUTDOWN_SECONDS) },
          { name: "GATEWAY_HEADER_TIMEOUT_SECONDS", value: String(r.gatewayLimits.headerTimeoutSeconds) },
          { name: "GATEWAY_BODY_TIMEOUT_SECONDS", value: String(r.gatewayLimits.bodyTimeoutSeconds) },
          { name: "GATEWAY_MAX_CONNECTIONS", value: String(r.gatewayLimits.maxConnections) },
          // components/assets/gateway.py: GATEWAY_AUTH=bearer checks GATEWAY_TOKEN on every path but
          // GATEWAY_OPEN_PATHS (default /health) and does not forward the Authorization header.
          ...(builtin ? [] : [
            { name: "GATEWAY_AUTH", value: "bearer" },
            { name: "GATEWAY_TOKEN", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "AGENT_API_TOKEN" } } },
          ]),
          // Per-user credentials (components/workload/gateway-identity.ts).
          ...identity.env,
          { name: "PYTHONDONTWRITEBYTECODE", value: "1" },
          ...otelEnv(OTEL_SERVICE_NAMES.gateway, tracing, secret.metadata.name, { "agentscope.agent.name": a.name }),
          ...(gatewayMetrics ? [{ name: "GATEWAY_METRICS_PORT", value: String(GATEWAY_METRICS_PORT) }] : []),
        ],
        resources: guaranteedResources(GATEWAY_CPU, GATEWAY_MEMORY_GIB),
        securityContext: restrictedContainerSecurityContext(),
        readinessProbe: { httpGet: { path: "/health", port: "gateway" }, periodSeconds: 10, timeoutSeconds: 3 },
        livenessProbe: { tcpSocket: { port: "gateway" }, periodSeconds: 20, failureThreshold: 3 },
        lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
        volumeMounts: [
          { name: "gateway", mountPath: GATEWAY_DIR, readOnly: true },
          ...identity.volumeMounts,
          tmpVolumeMount(),
        ],
      });
      volumes.push({ name: "gateway", configMap: { name: gatewayConfig.metadata.name, defaultMode: 0o444 } }, ...identity.volumes);
    }

    const p = r.placement;
    const deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, {
      metadata: { name: r.resourceName, namespace: r.namespace, labels },
      spec: {
        // The HPA owns the count after creation (ignoreChanges below).
        replicas: a.replicas.min,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        // Surge first, never below the desired count: a rollout keeps every ready pod until its replacement is ready.
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: {
            labels: { ...labels, ...acsPodLabels(p) },
            annotations: {
              ...acsPodAnnotations(p),
              ...acsNetworkAnnotations(p, args.acsNetwork),
              "agentscope.io/secret-sha256": secretHash,
              // A gateway change edits only its ConfigMap: hashing it here rolls the pods that mount it.
              ...(gatewayPy !== undefined ? { "agentscope.io/gateway-sha256": createHash("sha256").update(gatewayPy).digest("hex") } : {}),
              // The launcher reads its workspace settings at start: a change rolls the pods.
              ...(ws ? { "agentscope.io/workspace-settings-sha256": ws.settingsSha256 } : {}),
            },
          },
          spec: {
            // Never mounted in every container: a 2.x agent's app container alone gets its token (above).
            automountServiceAccountToken: false,
            ...(ws ? { serviceAccountName: ws.serviceAccountName } : {}),
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(),
            tolerations: acsTolerations(p),
            imagePullSecrets: r.imagePullSecrets.map((n) => ({ name: n })),
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            topologySpreadConstraints: [{
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: zoneSpreadWhenUnsatisfiable(p, r.zoneSpread),
              labelSelector: { matchLabels: selector },
            }],
            containers,
            volumes,
          },
        },
      },
    }, {
      ...parent,
      ignoreChanges: ["spec.replicas"],
      deleteBeforeReplace: true,
      // The provider waits 10 minutes for a ready Deployment (@pulumi/kubernetes apps/v1/deployment.d.ts);
      // ACS pods each start a MicroVM and pull their image, so a surge rollout can take longer.
      ...(p.enabled ? { customTimeouts: { create: "20m", update: "20m" } } : {}),
    });

    if (a.tasks) {
      new AgentTaskWorker(`${name}-tasks`, {
        namespace: r.namespace,
        partOf: r.identity.partOf,
        agentName: a.name,
        image: r.image,
        env,
        tasks: a.tasks,
        placement: p,
        ...(args.acsNetwork ? { acsNetwork: args.acsNetwork } : {}),
        imagePullSecrets: r.imagePullSecrets,
        podAnnotations: { "agentscope.io/secret-sha256": secretHash },
      }, parent);
    }

    const targetPort = r.gateway ? "gateway" : "app";
    const service = new k8s.core.v1.Service(`${name}-service`, {
      metadata: { name: r.resourceName, namespace: r.namespace, labels },
      spec: {
        type: "ClusterIP",
        selector,
        ports: [{ name: "http", port: AGENT_SERVICE_PORT, targetPort, protocol: "TCP" }],
      },
    }, { ...parent, deleteBeforeReplace: true });

    // Metrics go on their own ClusterIP Service, never on the callers' Services (ClusterIP or LoadBalancer).
    const metricsPorts = [
      ...(metrics ? [{ name: METRICS_PORT_NAME, port: METRICS_PORT, targetPort: METRICS_PORT_NAME, protocol: "TCP" }] : []),
      ...(gatewayMetrics ? [{ name: GATEWAY_METRICS_PORT_NAME, port: GATEWAY_METRICS_PORT, targetPort: GATEWAY_METRICS_PORT_NAME, protocol: "TCP" }] : []),
    ];
    if (metricsPorts.length) {
      new k8s.core.v1.Service(`${name}-metrics`, {
        metadata: { name: `${r.resourceName}-metrics`, namespace: r.namespace, labels: { ...labels, ...METRICS_SERVICE_LABEL } },
        spec: { type: "ClusterIP", selector, ports: metricsPorts },
      }, { ...parent, deleteBeforeReplace: true });
    }

    let lbAddress: pulumi.Output<string | undefined> = pulumi.output(undefined);
    if (r.loadBalancer) {
      const lb = new k8s.core.v1.Service(`${name}-lb`, {
        metadata: { name: `${r.resourceName}-lb`, namespace: r.namespace, labels, annotations: r.loadBalancer.annotations },
        spec: {
          type: "LoadBalancer",
          selector,
          // Local keeps the caller's address, so the NetworkPolicy's allow-list sees who is calling.
          externalTrafficPolicy: "Local",
          loadBalancerSourceRanges: r.loadBalancer.allowedCidrs,
          ports: [{ name: "http", port: AGENT_SERVICE_PORT, targetPort, protocol: "TCP" }],
        },
      }, { ...parent, deleteBeforeReplace: true });
      lbAddress = lb.status.loadBalancer.ingress.apply((ingress) => ingress?.[0]?.ip ?? ingress?.[0]?.hostname);
    }

    new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-hpa`, {
      metadata: { name: r.resourceName, namespace: r.namespace, labels },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
        minReplicas: a.replicas.min,
        maxReplicas: a.replicas.max,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: r.targetCpuUtilization } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      },
    }, { ...parent, deleteBeforeReplace: true });

    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, {
      metadata: { name: r.resourceName, namespace: r.namespace, labels },
      spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: "AlwaysAllow" },
    }, { ...parent, deleteBeforeReplace: true });

    this.url = pulumi.interpolate`http://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${AGENT_SERVICE_PORT}`;
    this.serviceName = service.metadata.name;
    this.loadBalancerAddress = lbAddress;
    this.podSelector = selector;
    this.callerPort = r.gateway ? GATEWAY_PORT : AGENT_PORT;
    this.metricsPorts = metricsPorts.map((p) => p.port);
    this.registerOutputs({ url: this.url, serviceName: this.serviceName, loadBalancerAddress: this.loadBalancerAddress });
  }
}
