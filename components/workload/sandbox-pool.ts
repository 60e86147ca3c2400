import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AcsNetwork, AcsPlacement } from "./acs";
import { NO_ACS, acsNetworkAnnotations, acsPodAnnotations, acsPodLabels, acsTolerations } from "./acs";
import type { WorkloadIdentity } from "./labels";
import { SANDBOX_APP_NAME, SANDBOX_MANAGER_APP_NAME, recommendedLabels, selectorLabels } from "./labels";
import { resourcesWithCpuLimit } from "./resources";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, tmpVolume, tmpVolumeMount } from "./security-context";
import { requireDigestRef, requireDnsLabel, requireInt, requirePositive } from "./validate";
import type { RedisEndpoint } from "./redis";
import type { SandboxType } from "./sandbox-types";
import { SANDBOX_TYPES } from "./sandbox-types";
import type { WorkloadTelemetry } from "./telemetry";
import { METRICS_PORT, METRICS_PORT_NAME, METRICS_SERVICE_LABEL, OTEL_SERVICE_NAMES, OTLP_HEADERS_ENV, otelEnv } from "./telemetry";

/** How each sandbox pod is isolated from the host and from other sandboxes. */
export type SandboxIsolation =
  /** One ACS pod (a MicroVM) per sandbox, through the virtual node. */
  | { readonly kind: "acs"; readonly placement: AcsPlacement }
  /** A sandboxed RuntimeClass on ordinary nodes: `runv` (ECS bare metal), gVisor, Kata. */
  | { readonly kind: "runtime-class"; readonly runtimeClassName: string }
  /** Plain containers: for a laptop cluster only. */
  | { readonly kind: "none" };

/** Where the `runtime-sandbox-<type>` images come from (for `base`: agent-image `--target sandbox`, pushed under that name). */
export interface SandboxImagesArgs {
  /** Registry host, e.g. our ACR's VPC domain (`RUNTIME_SANDBOX_REGISTRY`; empty means Docker Hub and is refused). */
  registry: pulumi.Input<string>;
  /** Image namespace in that registry (`RUNTIME_SANDBOX_IMAGE_NAMESPACE`, default `agentscope`). */
  namespace?: string;
  /** Tag of the `runtime-sandbox-<type>` images (`RUNTIME_SANDBOX_IMAGE_TAG`, default `latest`). */
  tag?: string;
  /**
   * Digest per sandbox type (`<repository>@sha256:...`). The manager names images by tag only; the
   * extension swaps in these digests so sandbox pods run pinned images (default none: the tag).
   */
  digests?: Partial<Record<SandboxType, string>>;
}

/**
 * Warm pool autoscaling of one sandbox type (agent-image/sandbox_manager_ext/autoscale.py): the warm
 * pool holds what the claim rate takes during one refill plus `headroom`, within [`min`, `max`].
 */
export interface SandboxAutoscaling {
  /** Warm sandboxes kept even when idle: the floor, and what the pool costs at rest. */
  readonly min: number;
  /** Most warm sandboxes (claimed ones do not count; maxInstances caps all). */
  readonly max: number;
  /** Warm sandboxes beyond what the claim rate needs (default 1). */
  readonly headroom?: number;
}

/** The AgentScope Runtime sandbox manager (`runtime-sandbox-server`, k8s mode) and its sandbox pool. */
export interface SandboxPoolArgs {
  /** Namespace the manager runs in (the agents namespace). */
  namespace: pulumi.Input<string>;
  /** Namespace sandbox pods are created in; the manager's Role is limited to it. */
  sandboxNamespace: pulumi.Input<string>;
  /** `app.kubernetes.io/part-of` (the stack's name prefix); also prefixes the cluster-scoped RBAC names. */
  partOf: string;
  /**
   * Prefix of the pool's object names, its selector's instance label and its sandbox pods' names
   * (`<namePrefix>-sandbox-manager`, `<namePrefix>-sandbox`, `<namePrefix>-sandbox-<id>`, the ClusterRole
   * `<partOf>-<namePrefix>-sandbox-manager`), so that two pools can share namespaces and a cluster.
   * Default none: `sandbox-manager`, `sandbox`, `<partOf>-sandbox-manager`, as before.
   */
  namePrefix?: string;
  /** Manager image pinned by digest (target `sandbox-manager` of agent-image/). */
  image: pulumi.Input<string>;
  /** Bearer token agents present (`BEARER_TOKEN`), a Pulumi secret. */
  bearerToken: pulumi.Input<string>;
  /** Sandbox types to pre-warm (`DEFAULT_SANDBOX_TYPE`, default `["base"]`). */
  sandboxTypes?: SandboxType[];
  /** Warm sandboxes kept per type (`POOL_SIZE`, default 1). */
  poolSize?: number;
  /** Most sandboxes alive at once (`MAX_SANDBOX_INSTANCES`, default 50). */
  maxInstances?: number;
  /** Idle seconds before a session's sandboxes are released (`HEARTBEAT_TIMEOUT`, default 300). */
  heartbeatTimeoutSeconds?: number;
  /** Autoscaling per type (default none: `poolSize` warm, fixed). A type not listed keeps `poolSize`. */
  autoscaling?: Partial<Record<SandboxType, SandboxAutoscaling>>;
  /** Seconds without a reason to stay up before the autoscaler lowers a pool (default 300). */
  scaleDownAfterSeconds?: number;
  /**
   * Seconds between checks that the agent pods holding sandboxes still exist (default 10): a
   * sandbox of a dead agent pod is released within about this long plus one pod deletion.
   */
  ownerCheckSeconds?: number;
  /**
   * Manager replicas: exactly 1 (the default). Every replica runs upstream's pool watcher, which
   * refills the shared pool without a lock (`scan_pool_once`: "multi-instance may overfill"), so two
   * replicas can double the warm pool. One replica with a Recreate strategy never overlaps itself.
   */
  replicas?: number;
  /**
   * Redis for the pool and session mapping (default none: in memory). With Redis, live sandboxes and
   * the warm pool survive a manager restart or roll (AUTO_CLEANUP off); without it they cannot.
   * Takes `InClusterRedis.endpoint` as it is. Two pools sharing a Redis need their own `redisDb`.
   */
  redis?: pulumi.Input<RedisEndpoint>;
  /** Redis database the manager uses (default 1; agents use 0). */
  redisDb?: number;
  /** Sandbox images. */
  images: SandboxImagesArgs;
  /** Isolation of sandbox pods. */
  isolation: SandboxIsolation;
  /** vCPU per sandbox pod, requests = limits (default 1). */
  sandboxCpu?: number;
  /**
   * vCPU limit per sandbox pod (default `sandboxCpu`: Guaranteed). Above it, a sandbox may use idle
   * CPU of its node, e.g. to start its server faster on a laptop (Burstable); refused with ACS
   * isolation, which sizes a pod by one value.
   */
  sandboxCpuLimit?: number;
  /** Memory per sandbox pod in GiB, requests = limits (default 2). */
  sandboxMemoryGiB?: number;
  /** Placement of the manager's own pods (default NO_ACS). */
  managerPlacement?: AcsPlacement;
  /** ACS pods' vSwitches (and security groups): stamped on the manager's and the sandboxes' ACS pods. */
  acsNetwork?: AcsNetwork;
  /** vCPU of the manager, requests = limits (default 0.5). */
  managerCpu?: number;
  /**
   * vCPU limit of the manager (default `managerCpu`: Guaranteed). Above it, the manager may use idle
   * CPU of its node while a burst of claims, their code runs and refills arrive at once (Burstable);
   * refused with an ACS placement, which sizes a pod by one value.
   */
  managerCpuLimit?: number;
  /** Memory of the manager in GiB, requests = limits (default 1). */
  managerMemoryGiB?: number;
  /** Seconds the manager waits for a new sandbox pod to be ready (default 180; upstream waits 60). */
  podReadyTimeoutSeconds?: number;
  /** Names of image pull Secrets in the sandbox namespace for sandbox pods (default none). */
  sandboxImagePullSecrets?: string[];
  /** Names of image pull Secrets in the manager's namespace (default none). */
  imagePullSecrets?: string[];
  /** Prefix of sandbox pod names (`CONTAINER_PREFIX_KEY`, default `sandbox-`). */
  containerPrefix?: string;
  /** Manager log level (default `INFO`). */
  logLevel?: "DEBUG" | "INFO" | "WARNING" | "ERROR";
  /** Trace export and the metrics listener of the manager (default: both off). */
  telemetry?: WorkloadTelemetry;
  /**
   * Environment added to every sandbox container, replacing variables of the same name, e.g. the
   * egress proxy's HTTP(S)_PROXY (EgressProxy.clientEnv; default none).
   */
  sandboxEnv?: pulumi.Input<{ name: string; value: string }[]>;
  /** Annotations added to every sandbox pod, e.g. Poseidon's traffic-policy mode (acs-traffic-policy.ts). */
  sandboxPodAnnotations?: Record<string, string>;
}

export const SANDBOX_MANAGER_PORT = 8000;
/** The port upstream's manager asks for (`ports=["80/tcp"]` in sandbox_manager.py: its images' nginx). */
export const UPSTREAM_SANDBOX_PORT = 80;
/**
 * Port of our sandbox image (agent-image `--target sandbox`, non-root, so not 80). The extension maps
 * upstream's 80 to it on the pod, the Service and the URL the manager stores.
 */
export const SANDBOX_PORT = 8090;
export const MANAGER_CONFIG_PATH = "/etc/agentscope/sandbox-manager.env";
const EXTENSION_DIR = "/etc/agentscope/extension";
/** The extension module baked into the sandbox-manager image (agent-image/sandbox_manager_ext). */
export const EXTENSION_MODULE = "sandbox_manager_ext.activate";
const POD_SETTINGS_FILE = "sandbox-pods.json";
/** The shortuuid the manager appends to CONTAINER_PREFIX_KEY is 25 characters. */
const SESSION_ID_LENGTH = 25;

export interface ResolvedSandboxPoolArgs {
  readonly namespace: pulumi.Input<string>;
  readonly sandboxNamespace: pulumi.Input<string>;
  readonly partOf: string;
  readonly image: pulumi.Input<string>;
  readonly bearerToken: pulumi.Input<string>;
  readonly sandboxTypes: SandboxType[];
  readonly poolSize: number;
  readonly maxInstances: number;
  readonly heartbeatTimeoutSeconds: number;
  readonly autoscaling: Partial<Record<SandboxType, Required<SandboxAutoscaling>>>;
  readonly scaleDownAfterSeconds: number;
  readonly ownerCheckSeconds: number;
  readonly replicas: number;
  readonly redis?: pulumi.Input<RedisEndpoint>;
  readonly redisDb: number;
  /** Kubernetes names of the pool's objects (namePrefix applied). */
  readonly names: { readonly manager: string; readonly managerConfig: string; readonly managerExtension: string; readonly managerMetrics: string; readonly sandboxServiceAccount: string; readonly clusterRole: string };
  readonly images: Required<Omit<SandboxImagesArgs, "digests">> & { readonly digests: Partial<Record<SandboxType, string>> };
  readonly isolation: SandboxIsolation;
  readonly sandboxCpu: number;
  readonly sandboxCpuLimit: number;
  readonly sandboxMemoryGiB: number;
  readonly managerPlacement: AcsPlacement;
  readonly managerCpu: number;
  readonly managerCpuLimit: number;
  readonly managerMemoryGiB: number;
  readonly podReadyTimeoutSeconds: number;
  readonly sandboxImagePullSecrets: string[];
  readonly imagePullSecrets: string[];
  readonly containerPrefix: string;
  readonly logLevel: "DEBUG" | "INFO" | "WARNING" | "ERROR";
  readonly managerIdentity: WorkloadIdentity;
  readonly sandboxIdentity: WorkloadIdentity;
}

export function resolveSandboxPoolArgs(args: SandboxPoolArgs): ResolvedSandboxPoolArgs {
  const C = "SandboxPool";
  if (typeof args.sandboxNamespace === "string") requireDnsLabel(C, "sandboxNamespace", args.sandboxNamespace);
  if (typeof args.image === "string") requireDigestRef(C, "image", args.image);
  const sandboxTypes = args.sandboxTypes ?? ["base"];
  if (sandboxTypes.length === 0) throw new Error(`${C}: sandboxTypes must list at least one type (${SANDBOX_TYPES.join(", ")})`);
  for (const t of sandboxTypes) {
    if (!(SANDBOX_TYPES as readonly string[]).includes(t)) throw new Error(`${C}: sandboxTypes has unknown type ${JSON.stringify(t)} (known: ${SANDBOX_TYPES.join(", ")})`);
  }
  const poolSize = args.poolSize ?? 1;
  const maxInstances = args.maxInstances ?? 50;
  requireInt(C, "poolSize", poolSize, 0, 200);
  requireInt(C, "maxInstances", maxInstances, 1, 5000);
  if (poolSize * sandboxTypes.length > maxInstances) {
    throw new Error(`${C}: poolSize (${poolSize}) x ${sandboxTypes.length} type(s) exceeds maxInstances (${maxInstances}); the pool could never fill`);
  }
  const heartbeatTimeoutSeconds = args.heartbeatTimeoutSeconds ?? 300;
  requireInt(C, "heartbeatTimeoutSeconds", heartbeatTimeoutSeconds, 30, 86_400);
  const autoscaling: Partial<Record<SandboxType, Required<SandboxAutoscaling>>> = {};
  let warmMax = poolSize * (sandboxTypes.length - Object.keys(args.autoscaling ?? {}).length);
  for (const [type, a] of Object.entries(args.autoscaling ?? {}) as [SandboxType, SandboxAutoscaling][]) {
    if (!sandboxTypes.includes(type)) throw new Error(`${C}: autoscaling.${type}: sandboxTypes does not pool "${type}" (${sandboxTypes.join(", ")})`);
    const headroom = a.headroom ?? 1;
    requireInt(C, `autoscaling.${type}.min`, a.min, 0, 200);
    requireInt(C, `autoscaling.${type}.max`, a.max, 0, 200);
    requireInt(C, `autoscaling.${type}.headroom`, headroom, 0, 200);
    if (a.min > a.max) throw new Error(`${C}: autoscaling.${type}.min (${a.min}) exceeds autoscaling.${type}.max (${a.max})`);
    autoscaling[type] = { min: a.min, max: a.max, headroom };
    warmMax += a.max;
  }
  if (warmMax > maxInstances) {
    throw new Error(`${C}: the warm pools can reach ${warmMax} sandboxes (autoscaling max, poolSize for the other types), more than maxInstances (${maxInstances}); no claim could be served then`);
  }
  const scaleDownAfterSeconds = args.scaleDownAfterSeconds ?? 300;
  requireInt(C, "scaleDownAfterSeconds", scaleDownAfterSeconds, 30, 86_400);
  const ownerCheckSeconds = args.ownerCheckSeconds ?? 10;
  requireInt(C, "ownerCheckSeconds", ownerCheckSeconds, 2, 50);
  const replicas = args.replicas ?? 1;
  if (replicas !== 1) {
    throw new Error(`${C}: replicas must be 1, got ${replicas}: every replica refills the shared warm pool without a lock (agentscope-runtime scan_pool_once), so more would overfill it`);
  }
  const redisDb = args.redisDb ?? 1;
  requireInt(C, "redisDb", redisDb, 0, 15);
  if (args.images.registry === "") throw new Error(`${C}: images.registry must name the registry holding the runtime-sandbox images (an empty one means Docker Hub)`);
  const digests = args.images.digests ?? {};
  for (const [type, ref] of Object.entries(digests)) requireDigestRef(C, `images.digests.${type}`, ref);
  if (args.isolation.kind === "acs" && !args.isolation.placement.enabled) {
    throw new Error(`${C}: isolation "acs" needs an enabled ACS placement`);
  }
  if (args.isolation.kind === "runtime-class") requireDnsLabel(C, "isolation.runtimeClassName", args.isolation.runtimeClassName);
  const sandboxCpu = args.sandboxCpu ?? 1;
  const sandboxMemoryGiB = args.sandboxMemoryGiB ?? 2;
  const managerCpu = args.managerCpu ?? 0.5;
  const managerMemoryGiB = args.managerMemoryGiB ?? 1;
  for (const [k, v] of Object.entries({ sandboxCpu, sandboxMemoryGiB, managerCpu, managerMemoryGiB })) requirePositive(C, k, v);
  const sandboxCpuLimit = args.sandboxCpuLimit ?? sandboxCpu;
  if (!(sandboxCpuLimit >= sandboxCpu)) throw new Error(`${C}: sandboxCpuLimit (${sandboxCpuLimit}) must be at least sandboxCpu (${sandboxCpu})`);
  if (args.isolation.kind === "acs" && sandboxCpuLimit !== sandboxCpu) {
    throw new Error(`${C}: sandboxCpuLimit (${sandboxCpuLimit}) must equal sandboxCpu (${sandboxCpu}) with ACS isolation, which sizes a pod by one value`);
  }
  const managerCpuLimit = args.managerCpuLimit ?? managerCpu;
  if (!(managerCpuLimit >= managerCpu)) throw new Error(`${C}: managerCpuLimit (${managerCpuLimit}) must be at least managerCpu (${managerCpu})`);
  if (args.managerPlacement?.enabled && managerCpuLimit !== managerCpu) {
    throw new Error(`${C}: managerCpuLimit (${managerCpuLimit}) must equal managerCpu (${managerCpu}) with an ACS placement, which sizes a pod by one value`);
  }
  const podReadyTimeoutSeconds = args.podReadyTimeoutSeconds ?? 180;
  requireInt(C, "podReadyTimeoutSeconds", podReadyTimeoutSeconds, 10, 1800);
  if (args.namePrefix !== undefined) requireDnsLabel(C, "namePrefix", args.namePrefix, 20);
  const pre = args.namePrefix ? `${args.namePrefix}-` : "";
  const manager = `${pre}${SANDBOX_MANAGER_APP_NAME}`;
  const containerPrefix = args.containerPrefix ?? `${pre}sandbox-`;
  // Pod `<prefix><25-char id>` and Service `<pod>-service` must both be DNS labels of at most 63 characters.
  const maxPrefix = 63 - SESSION_ID_LENGTH - "-service".length;
  if (!/^[a-z][-a-z0-9]*-$/.test(containerPrefix) || containerPrefix.length > maxPrefix) {
    throw new Error(`${C}: containerPrefix must be lower-case letters, digits and '-', start with a letter, end with '-', and be at most ${maxPrefix} characters, got ${JSON.stringify(containerPrefix)}`);
  }
  return {
    namespace: args.namespace,
    sandboxNamespace: args.sandboxNamespace,
    partOf: args.partOf,
    image: args.image,
    bearerToken: args.bearerToken,
    sandboxTypes: [...sandboxTypes],
    poolSize,
    maxInstances,
    heartbeatTimeoutSeconds,
    autoscaling,
    scaleDownAfterSeconds,
    ownerCheckSeconds,
    replicas,
    ...(args.redis ? { redis: args.redis } : {}),
    redisDb,
    images: { registry: args.images.registry, namespace: args.images.namespace ?? "agentscope", tag: args.images.tag ?? "latest", digests },
    isolation: args.isolation,
    sandboxCpu,
    sandboxCpuLimit,
    sandboxMemoryGiB,
    managerPlacement: args.managerPlacement ?? NO_ACS,
    managerCpu,
    managerCpuLimit,
    managerMemoryGiB,
    podReadyTimeoutSeconds,
    sandboxImagePullSecrets: args.sandboxImagePullSecrets ?? [],
    imagePullSecrets: args.imagePullSecrets ?? [],
    containerPrefix,
    logLevel: args.logLevel ?? "INFO",
    names: {
      manager,
      managerConfig: `${manager}-config`,
      managerExtension: `${manager}-extension`,
      managerMetrics: `${manager}-metrics`,
      sandboxServiceAccount: `${pre}${SANDBOX_SERVICE_ACCOUNT}`,
      clusterRole: `${args.partOf}-${manager}`,
    },
    managerIdentity: { name: SANDBOX_MANAGER_APP_NAME, instance: `${args.partOf}-${manager}`, component: "sandbox-manager", partOf: args.partOf },
    sandboxIdentity: { name: SANDBOX_APP_NAME, instance: `${args.partOf}-${pre}sandbox`, component: "sandbox", partOf: args.partOf },
  };
}

// ---------- the manager's .env ----------

/** python-dotenv single-quoted value: literal except `\\` and `\'`. */
export function dotenvQuote(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error("SandboxPool: config values must be single-line");
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Upstream image name for a sandbox type (sandbox/utils.py `build_image_uri`). */
export function upstreamSandboxImage(images: { registry: string; namespace: string; tag: string }, type: SandboxType): string {
  return `${images.registry}/${images.namespace}/runtime-sandbox-${type}:${images.tag}`;
}

/** Values the .env needs that are known only at deployment: the secrets and the sandbox registry. */
export interface ManagerSecrets {
  readonly bearerToken: string;
  /** RUNTIME_SANDBOX_REGISTRY, resolved. */
  readonly registry: string;
  /** K8S_NAMESPACE, resolved (default: the pool's sandboxNamespace, when that is a plain string). */
  readonly sandboxNamespace?: string;
  readonly redis?: { host: string; port: number; password: string; username?: string };
}

/** How long a released sandbox's record stays in Redis (RELEASE_KET_TTL; upstream keeps an hour). */
const RELEASED_RECORD_TTL_SECONDS = 600;

/**
 * The `runtime-sandbox-server --config` file (keys of sandbox/manager/server/config.py `Settings`).
 * Everything the server reads is here; the sandbox image settings are also set as container env,
 * because sandbox/constant.py reads them with os.getenv when the package is imported.
 */
export function renderManagerEnv(r: ResolvedSandboxPoolArgs, s: ManagerSecrets): string {
  const sandboxNamespace = s.sandboxNamespace ?? (typeof r.sandboxNamespace === "string" ? r.sandboxNamespace : undefined);
  if (sandboxNamespace === undefined) throw new Error("SandboxPool: renderManagerEnv needs the resolved sandboxNamespace");
  requireDnsLabel("SandboxPool", "sandboxNamespace", sandboxNamespace);
  const lines: [string, string][] = [
    ["HOST", "0.0.0.0"],
    ["PORT", String(SANDBOX_MANAGER_PORT)],
    // One uvicorn worker: --extension is imported in this process only.
    ["WORKERS", "1"],
    ["DEBUG", "False"],
    ["BEARER_TOKEN", s.bearerToken],
    ["DEFAULT_SANDBOX_TYPE", r.sandboxTypes.join(",")],
    ["POOL_SIZE", String(r.poolSize)],
    ["MAX_SANDBOX_INSTANCES", String(r.maxInstances)],
    // On shutdown upstream's cleanup() releases every sandbox in the pool it sees. With Redis that is
    // the shared, persistent pool: keep it, so a restart or roll keeps live sandboxes and warm ones
    // (idle sessions are still reaped after HEARTBEAT_TIMEOUT). In memory the pool dies with the
    // process, so clean up rather than orphan its pods. Manual cleanup: see agent-image/README.md.
    ["AUTO_CLEANUP", r.redis ? "False" : "True"],
    ["HEARTBEAT_TIMEOUT", String(r.heartbeatTimeoutSeconds)],
    // A released sandbox's record (upstream's spelling): kept for a client that asks after it, 10 min
    // rather than upstream's hour. The metrics poll and the owner check read every record every 10 s
    // (sandbox_manager_ext/records.py: Redis expires them), so what is kept costs the manager CPU.
    ["RELEASE_KET_TTL", String(RELEASED_RECORD_TTL_SECONDS)],
    ["CONTAINER_PREFIX_KEY", r.containerPrefix],
    ["CONTAINER_DEPLOYMENT", "k8s"],
    // Empty: no per-session hostPath at /workspace (it cannot work on ACS, and PSA refuses it).
    ["DEFAULT_MOUNT_DIR", ""],
    ["ALLOW_MOUNT_DIR", "False"],
    ["FILE_SYSTEM", "local"],
    ["K8S_NAMESPACE", sandboxNamespace],
    ["RUNTIME_SANDBOX_REGISTRY", s.registry],
    ["RUNTIME_SANDBOX_IMAGE_NAMESPACE", r.images.namespace],
    ["RUNTIME_SANDBOX_IMAGE_TAG", r.images.tag],
  ];
  if (s.redis) {
    lines.push(
      ["REDIS_ENABLED", "True"],
      ["REDIS_SERVER", s.redis.host],
      ["REDIS_PORT", String(s.redis.port)],
      ["REDIS_DB", String(r.redisDb)],
      ["REDIS_PASSWORD", s.redis.password],
    );
    if (s.redis.username) lines.push(["REDIS_USER", s.redis.username]);
  } else {
    lines.push(["REDIS_ENABLED", "False"]);
  }
  return `${lines.map(([k, v]) => `${k}=${dotenvQuote(v)}`).join("\n")}\n`;
}

/** AGENTSCOPE_POOL_AUTOSCALING, read by agent-image/sandbox_manager_ext/autoscale.py `parse_policy`. */
export function renderAutoscaling(r: ResolvedSandboxPoolArgs): string {
  return JSON.stringify({ types: r.autoscaling, scaleDownAfterSeconds: r.scaleDownAfterSeconds });
}

// ---------- sandbox pod settings applied by the extension ----------

/** What the extension applies to every sandbox pod (camelCase Pod fields, merged into the manager's pod). */
export interface SandboxPodSettings {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly serviceAccountName: string;
  readonly runtimeClassName?: string;
  readonly tolerations: k8s.types.input.core.v1.Toleration[];
  readonly resources: { requests: Record<string, string>; limits: Record<string, string> };
  readonly podSecurityContext: Record<string, unknown>;
  readonly containerSecurityContext: Record<string, unknown>;
  readonly imagePullSecrets: { name: string }[];
  readonly images: Record<string, string>;
  readonly podReadyTimeoutSeconds: number;
  /** Upstream port → our image's port, applied to the pod, its Service and the manager's URL. */
  readonly ports: Record<string, number>;
  /** Added to the pod / its container: the writable /tmp of a read-only root. */
  readonly volumes: k8s.types.input.core.v1.Volume[];
  readonly volumeMounts: k8s.types.input.core.v1.VolumeMount[];
  /** So that the manager's wait_for_pod_ready (all containers ready) waits for the server. */
  readonly readinessProbe: k8s.types.input.core.v1.Probe;
  /** Set on every container, replacing same-named variables (e.g. the egress proxy's). */
  readonly env: { name: string; value: string }[];
}

export const SANDBOX_SERVICE_ACCOUNT = "sandbox";

/** The labels every sandbox pod carries (plus upstream's `created-by` and `app`). */
export function sandboxPodLabels(r: ResolvedSandboxPoolArgs): Record<string, string> {
  return { ...recommendedLabels(r.sandboxIdentity), "app.kubernetes.io/managed-by": "runtime-sandbox-server" };
}

/** `registry` is `r.images.registry` resolved; `network` the ACS network annotations resolved. */
export function sandboxPodSettings(r: ResolvedSandboxPoolArgs, registry: string, network: Record<string, string> = {}, env: { name: string; value: string }[] = []): SandboxPodSettings {
  if (registry === "") throw new Error("SandboxPool: images.registry resolved to an empty string (that means Docker Hub)");
  const acs = r.isolation.kind === "acs" ? r.isolation.placement : NO_ACS;
  const res = resourcesWithCpuLimit(r.sandboxCpu, r.sandboxMemoryGiB, r.sandboxCpuLimit) as { requests: Record<string, string>; limits: Record<string, string> };
  const images: Record<string, string> = {};
  for (const type of r.sandboxTypes) {
    const digest = r.images.digests[type];
    if (digest) images[upstreamSandboxImage({ ...r.images, registry }, type)] = digest;
  }
  return {
    labels: { ...sandboxPodLabels(r), ...acsPodLabels(acs) },
    annotations: { ...acsPodAnnotations(acs), ...network },
    serviceAccountName: r.names.sandboxServiceAccount,
    ...(r.isolation.kind === "runtime-class" ? { runtimeClassName: r.isolation.runtimeClassName } : {}),
    tolerations: acsTolerations(acs),
    resources: res,
    // Our sandbox image (agent-image --target sandbox) runs as 10001 on a read-only root: PSA restricted.
    podSecurityContext: restrictedPodSecurityContext() as Record<string, unknown>,
    containerSecurityContext: restrictedContainerSecurityContext() as Record<string, unknown>,
    imagePullSecrets: r.sandboxImagePullSecrets.map((name) => ({ name })),
    images,
    podReadyTimeoutSeconds: r.podReadyTimeoutSeconds,
    ports: { [String(UPSTREAM_SANDBOX_PORT)]: SANDBOX_PORT },
    volumes: [tmpVolume("1Gi")],
    volumeMounts: [tmpVolumeMount()],
    // /healthz is the image's open probe path; everything under /fastapi needs the sandbox's token.
    readinessProbe: { httpGet: { path: "/healthz", port: SANDBOX_PORT }, periodSeconds: 1, failureThreshold: 120 },
    env,
  };
}

// ---------- RBAC ----------

/**
 * Exactly what the manager calls (agentscope-runtime 1.1.x, kubernetes_client.py, with the
 * extension above), in the sandbox namespace: `create_namespaced_pod`, `read_namespaced_pod`
 * (inspect, get_status, start), a watch of one new pod (`list_namespaced_pod(watch=True)` with a
 * name fieldSelector: the extension's wait_for_pod_ready), `delete_namespaced_pod` (stop, remove),
 * `delete_namespaced_service` (upstream's remove; the extension addresses pods by IP and creates
 * no Service, so this only removes those of sandboxes an earlier version made). The manager never
 * lists or patches pods, never reads their logs, and never creates or reads Services.
 */
export const SANDBOX_MANAGER_ROLE_RULES: k8s.types.input.rbac.v1.PolicyRule[] = [
  { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "watch", "delete"] },
  { apiGroups: [""], resources: ["services"], verbs: ["delete"] },
];

/**
 * Cluster-wide: `KubernetesClient.__init__` calls `list_namespace()` as its connection test and
 * fails to start without it. Upstream also reads `nodes` to find a NodePort's address; the
 * ClusterIP extension removes that call, so no node access is granted.
 */
/**
 * In the agents' namespace (agent-image/sandbox_manager_ext/owners.py): the pod that claimed a
 * sandbox, found by its IP (`list` with a status.podIP fieldSelector), and whether it still exists
 * (`get`), so that a dead agent's sandboxes are released.
 */
export const SANDBOX_MANAGER_AGENT_POD_RULES: k8s.types.input.rbac.v1.PolicyRule[] = [
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
];

export const SANDBOX_MANAGER_CLUSTER_RULES: k8s.types.input.rbac.v1.PolicyRule[] = [
  { apiGroups: [""], resources: ["namespaces"], verbs: ["list"] },
];

export class SandboxPool extends pulumi.ComponentResource {
  /** In-cluster URL agents use (`SANDBOX_MANAGER_URL`). */
  public readonly managerUrl: pulumi.Output<string>;
  /** Labels selecting the manager's pods. */
  public readonly managerPodSelector: Record<string, string>;
  /** Labels every sandbox pod carries. */
  public readonly sandboxPodLabels: Record<string, string>;
  /** The manager's Service (in the manager's namespace): what sandboxes accept connections from. */
  public readonly managerServiceName: string;
  public readonly serviceAccountName: pulumi.Output<string>;
  /** Metrics ports of the manager pod (empty when metrics are off), for the scrape NetworkPolicy. */
  public readonly metricsPorts: number[];

  constructor(name: string, args: SandboxPoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:SandboxPool", name, {}, opts);
    const r = resolveSandboxPoolArgs(args);
    const parent = { parent: this };
    const labels = recommendedLabels(r.managerIdentity);
    const selector = selectorLabels(r.managerIdentity);

    const redis = r.redis;
    const env = pulumi.secret(
      pulumi
        .all([
          r.bearerToken,
          r.images.registry,
          r.sandboxNamespace,
          redis ? pulumi.output(redis).apply((e) => [e.host, e.port, e.password, e.username] as const) : undefined,
        ])
        .apply(([bearerToken, registry, sandboxNamespace, rd]) =>
          renderManagerEnv(r, {
            bearerToken,
            registry,
            sandboxNamespace,
            ...(rd ? { redis: { host: rd[0], port: rd[1], password: rd[2], ...(rd[3] ? { username: rd[3] } : {}) } } : {}),
          }),
        ),
    );
    const sandboxNetwork = pulumi.output({ ...acsNetworkAnnotations(r.isolation.kind === "acs" ? r.isolation.placement : NO_ACS, args.acsNetwork), ...(args.sandboxPodAnnotations ?? {}) });
    const settingsJson = pulumi.all([r.images.registry, sandboxNetwork, args.sandboxEnv ?? []]).apply(([registry, network, env]) =>
      JSON.stringify(sandboxPodSettings(r, registry, network, env), null, 2));

    const tracing = args.telemetry?.tracing;
    const metrics = args.telemetry?.metrics === true;
    // The OTLP headers (a token) sit in the same Secret as the manager's config, read by secretKeyRef.
    const otlpHeaders = tracing?.headers !== undefined ? pulumi.secret(tracing.headers) : undefined;
    const config = new k8s.core.v1.Secret(`${name}-config`, {
      metadata: { name: r.names.managerConfig, namespace: r.namespace, labels },
      type: "Opaque",
      stringData: { "sandbox-manager.env": env, ...(otlpHeaders ? { [OTLP_HEADERS_ENV]: otlpHeaders } : {}) },
    }, { ...parent, deleteBeforeReplace: true });

    const extension = new k8s.core.v1.ConfigMap(`${name}-extension`, {
      metadata: { name: r.names.managerExtension, namespace: r.namespace, labels },
      data: { [POD_SETTINGS_FILE]: settingsJson },
    }, { ...parent, deleteBeforeReplace: true });

    const managerSa = new k8s.core.v1.ServiceAccount(`${name}-manager-sa`, {
      metadata: { name: r.names.manager, namespace: r.namespace, labels },
      // The manager is the one workload that talks to the API server, so it keeps its token.
      automountServiceAccountToken: true,
    }, { ...parent, deleteBeforeReplace: true });

    // Sandbox pods run untrusted code: their ServiceAccount has no token and no bindings.
    new k8s.core.v1.ServiceAccount(`${name}-sandbox-sa`, {
      metadata: { name: r.names.sandboxServiceAccount, namespace: r.sandboxNamespace, labels: recommendedLabels(r.sandboxIdentity) },
      automountServiceAccountToken: false,
    }, { ...parent, deleteBeforeReplace: true });

    const role = new k8s.rbac.v1.Role(`${name}-role`, {
      metadata: { name: r.names.manager, namespace: r.sandboxNamespace, labels },
      rules: SANDBOX_MANAGER_ROLE_RULES,
    }, { ...parent, deleteBeforeReplace: true });
    const roleBinding = new k8s.rbac.v1.RoleBinding(`${name}-rolebinding`, {
      metadata: { name: r.names.manager, namespace: r.sandboxNamespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: managerSa.metadata.name, namespace: managerSa.metadata.namespace }],
    }, { ...parent, deleteBeforeReplace: true });
    const agentPodsRole = new k8s.rbac.v1.Role(`${name}-agent-pods-role`, {
      metadata: { name: `${r.names.manager}-agent-pods`, namespace: r.namespace, labels },
      rules: SANDBOX_MANAGER_AGENT_POD_RULES,
    }, { ...parent, deleteBeforeReplace: true });
    const agentPodsRoleBinding = new k8s.rbac.v1.RoleBinding(`${name}-agent-pods-rolebinding`, {
      metadata: { name: `${r.names.manager}-agent-pods`, namespace: r.namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: agentPodsRole.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: managerSa.metadata.name, namespace: managerSa.metadata.namespace }],
    }, { ...parent, deleteBeforeReplace: true });
    const clusterRole = new k8s.rbac.v1.ClusterRole(`${name}-clusterrole`, {
      metadata: { name: r.names.clusterRole, labels },
      rules: SANDBOX_MANAGER_CLUSTER_RULES,
    }, { ...parent, deleteBeforeReplace: true });
    const clusterRoleBinding = new k8s.rbac.v1.ClusterRoleBinding(`${name}-clusterrolebinding`, {
      metadata: { name: r.names.clusterRole, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: managerSa.metadata.name, namespace: managerSa.metadata.namespace }],
    }, { ...parent, deleteBeforeReplace: true });

    // Roll the manager whenever its config, extension or sandbox settings change. unsecret: a digest
    // reveals nothing, and a secret annotation would turn the whole pod spec into a secret.
    const configHash = pulumi.unsecret(pulumi.all([env, settingsJson, otlpHeaders ?? ""]).apply(([text, json, headers]) =>
      createHash("sha256").update(text).update(json).update(headers).digest("hex")));
    const p = r.managerPlacement;
    new k8s.apps.v1.Deployment(`${name}-deployment`, {
      metadata: { name: r.names.manager, namespace: r.namespace, labels },
      spec: {
        replicas: r.replicas,
        selector: { matchLabels: selector },
        // Recreate: the old pod stops before the new one starts, so two pool watchers never overlap.
        strategy: { type: "Recreate" },
        template: {
          metadata: {
            labels: { ...labels, ...acsPodLabels(p) },
            annotations: { ...acsPodAnnotations(p), ...acsNetworkAnnotations(p, args.acsNetwork), "agentscope.io/config-sha256": configHash },
          },
          spec: {
            serviceAccountName: managerSa.metadata.name,
            automountServiceAccountToken: true,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(),
            tolerations: acsTolerations(p),
            imagePullSecrets: r.imagePullSecrets.map((n) => ({ name: n })),
            containers: [{
              name: "sandbox-manager",
              image: r.image,
              command: ["runtime-sandbox-server"],
              args: ["--config", MANAGER_CONFIG_PATH, "--extension", EXTENSION_MODULE, "--log-level", r.logLevel],
              ports: [
                { name: "http", containerPort: SANDBOX_MANAGER_PORT, protocol: "TCP" },
                ...(metrics ? [{ name: METRICS_PORT_NAME, containerPort: METRICS_PORT, protocol: "TCP" }] : []),
              ],
              env: [
                { name: "SANDBOX_MANAGER_CONFIG", value: MANAGER_CONFIG_PATH },
                { name: "AGENTSCOPE_SANDBOX_POD_SETTINGS", value: `${EXTENSION_DIR}/${POD_SETTINGS_FILE}` },
                // Read by sandbox/constant.py at import time, before --config is loaded.
                { name: "RUNTIME_SANDBOX_REGISTRY", value: r.images.registry },
                { name: "RUNTIME_SANDBOX_IMAGE_NAMESPACE", value: r.images.namespace },
                { name: "RUNTIME_SANDBOX_IMAGE_TAG", value: r.images.tag },
                { name: "RUNTIME_SANDBOX_TIMEOUT", value: "60" },
                // The pool controller, autoscaler and owner reaper of the extension (pool.py, owners.py).
                { name: "AGENTSCOPE_POOL_AUTOSCALING", value: renderAutoscaling(r) },
                { name: "AGENTSCOPE_AGENT_NAMESPACE", value: r.namespace },
                { name: "AGENTSCOPE_OWNER_CHECK_SECONDS", value: String(r.ownerCheckSeconds) },
                { name: "HOME", value: "/tmp" },
                { name: "PYTHONDONTWRITEBYTECODE", value: "1" },
                ...otelEnv(OTEL_SERVICE_NAMES.sandboxManager, tracing, config.metadata.name),
                ...(metrics ? [{ name: "METRICS_PORT", value: String(METRICS_PORT) }] : []),
              ],
              resources: resourcesWithCpuLimit(r.managerCpu, r.managerMemoryGiB, r.managerCpuLimit),
              securityContext: restrictedContainerSecurityContext(),
              startupProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 3, failureThreshold: 40 },
              readinessProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 10, timeoutSeconds: 3 },
              livenessProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
              volumeMounts: [
                { name: "config", mountPath: MANAGER_CONFIG_PATH, subPath: "sandbox-manager.env", readOnly: true },
                { name: "extension", mountPath: EXTENSION_DIR, readOnly: true },
                tmpVolumeMount(),
              ],
            }],
            volumes: [
              { name: "config", secret: { secretName: config.metadata.name, defaultMode: 0o440 } },
              { name: "extension", configMap: { name: extension.metadata.name, defaultMode: 0o444 } },
              tmpVolume("512Mi"),
            ],
          },
        },
      },
    }, { ...parent, dependsOn: [roleBinding, agentPodsRoleBinding, clusterRoleBinding], deleteBeforeReplace: true });

    const service = new k8s.core.v1.Service(`${name}-service`, {
      metadata: { name: r.names.manager, namespace: r.namespace, labels },
      spec: {
        type: "ClusterIP",
        selector,
        ports: [{ name: "http", port: SANDBOX_MANAGER_PORT, targetPort: "http", protocol: "TCP" }],
      },
    }, { ...parent, deleteBeforeReplace: true });

    if (metrics) {
      // Its own ClusterIP Service: the agents' port 8000 Service never carries metrics.
      new k8s.core.v1.Service(`${name}-metrics`, {
        metadata: { name: r.names.managerMetrics, namespace: r.namespace, labels: { ...labels, ...METRICS_SERVICE_LABEL } },
        spec: { type: "ClusterIP", selector, ports: [{ name: METRICS_PORT_NAME, port: METRICS_PORT, targetPort: METRICS_PORT_NAME, protocol: "TCP" }] },
      }, { ...parent, deleteBeforeReplace: true });
    }

    this.managerUrl = pulumi.interpolate`http://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${SANDBOX_MANAGER_PORT}`;
    this.managerPodSelector = selector;
    this.sandboxPodLabels = sandboxPodLabels(r);
    this.managerServiceName = r.names.manager;
    this.serviceAccountName = managerSa.metadata.name;
    this.metricsPorts = metrics ? [METRICS_PORT] : [];
    this.registerOutputs({ managerUrl: this.managerUrl, serviceAccountName: this.serviceAccountName });
  }
}

