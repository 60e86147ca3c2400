import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AcsNetwork } from "./acs";
import { NO_ACS, acsNetworkAnnotations, acsPodAnnotations, acsPodLabels, acsTolerations, requireAcsSize } from "./acs";
import { recommendedLabels } from "./labels";
import type { WorkloadIdentity } from "./labels";
import { guaranteedResources } from "./resources";
import type { SandboxIsolation } from "./sandbox-pool";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./security-context";
import { requireDigestRef, requireDnsLabel, requireInt, requirePositive } from "./validate";

/**
 * AgentScope 2.x workspaces as pods in the sandbox namespace (agent-image/agentscope2_launcher/
 * k8s_workspaces.py): per agent, the settings the launcher builds each pod from, the service account
 * the agent calls the API server as, and a Role granting exactly the calls upstream's K8sWorkspace
 * makes there.
 */

/** Workspace isolation grain (agentscope/app/workspace_manager/_base.py IsolationPolicy). */
export const WORKSPACE_ISOLATIONS = ["per_session", "per_agent", "per_user"] as const;
export type WorkspaceIsolation = (typeof WORKSPACE_ISOLATIONS)[number];

/** Where a workspace's files (/workspace) live. */
export type WorkspaceStorage =
  /** On the pod: gone when it is (idle timeout, and each rollout of the agent, which closes its workspaces). */
  | { readonly kind: "emptyDir"; readonly sizeGiB: number }
  /** A ReadWriteOnce claim per workspace, kept when its pod goes (and until the namespace goes). */
  | { readonly kind: "persistentVolumeClaim"; readonly sizeGiB: number; readonly storageClassName?: string };

/**
 * Workspaces started ahead, per agent replica (agentscope2_launcher/workspace_pool.py): the target
 * follows the claim rate within [min, max] plus `headroom`, and falls after `scaleDownAfterSeconds`
 * without demand, as the sandbox pool's autoscaling does.
 */
export interface WorkspaceWarmPool {
  readonly min: number;
  readonly max: number;
  /** Default 1. */
  readonly headroom?: number;
  /** Default 300. */
  readonly scaleDownAfterSeconds?: number;
}

export interface AgentWorkspacesArgs {
  /** The agent's name (its Deployment is `agent-<name>`). */
  agentName: string;
  /** The agents namespace, where the agent and its service account live. */
  agentsNamespace: pulumi.Input<string>;
  /** The sandbox namespace, where the workspace pods go. */
  sandboxNamespace: string;
  /** `app.kubernetes.io/part-of`. */
  partOf: string;
  /** The workspace image by digest (agent-image `--target agentscope2-workspace`). */
  image: pulumi.Input<string>;
  /** The sandboxes' placement: workspace pods run user-directed code too, so they go where sandboxes go. */
  isolation: SandboxIsolation;
  /** ACS pods' vSwitches (and security groups), stamped on the pods when `isolation` is `acs`. */
  acsNetwork?: AcsNetwork;
  /** vCPU per workspace pod, requests = limits (default 1). */
  cpu?: number;
  /** GiB per workspace pod (default 2). */
  memoryGiB?: number;
  /** Default `{ kind: "emptyDir", sizeGiB: 1 }`. */
  storage?: WorkspaceStorage;
  /** One workspace per session, per (user, agent) (default) or per user. */
  workspaceIsolation?: WorkspaceIsolation;
  /** An idle workspace's pod is deleted after this long (default 3600; upstream's `ttl`). */
  idleSeconds?: number;
  /** How long a turn waits for a new workspace pod to run, unschedulable time included (default 180). */
  podReadyTimeoutSeconds?: number;
  /** Pull Secrets in the sandbox namespace (default none). */
  imagePullSecrets?: string[];
  /** Workspaces started ahead (default none: every new workspace is created when its session needs it). */
  warmPool?: WorkspaceWarmPool;
  /** Environment of the workspace container, e.g. the egress proxy's HTTP(S)_PROXY (EgressProxy.clientEnv; default none). */
  env?: pulumi.Input<{ name: string; value: string }[]>;
}

/**
 * The stack's own labels and annotation on workspace pods and claims (prefix `agentscope.io`, as
 * telemetry.ts's): the agent, the user's hash, the warm-pool state, the replica holding a warm
 * pod, and a claim's last use. Written by the launcher (agentscope2_launcher/workspace_settings.py),
 * read by the claim reaper (agent-image/workspace_reaper).
 */
export const WORKSPACE_AGENT_LABEL = "agentscope.io/agent";
export const WORKSPACE_USER_HASH_LABEL = "agentscope.io/user-hash";
export const WORKSPACE_POOL_LABEL = "agentscope.io/workspace-pool";
export const WORKSPACE_LAST_USED_ANNOTATION = "agentscope.io/last-used";

/** The label that tells workspace pods from sandbox pods in the sandbox namespace (their identity's name). */
export const WORKSPACE_POD_LABEL = { key: "app.kubernetes.io/name", value: "agentscope-workspace" } as const;

/** The agent-image/Dockerfile target of the workspace image. */
export const WORKSPACE_IMAGE_TARGET = "agentscope2-workspace";
/** The venv the workspace image's gateway runs from (agent-image/install-deps.sh makes /opt/venv). */
export const WORKSPACE_GATEWAY_VENV = "/opt/venv";
/** Where the agent's container reads the settings (`AGENTSCOPE_WORKSPACE_POD_SETTINGS`). */
export const WORKSPACE_SETTINGS_DIR = "/etc/agentscope/workspaces";
export const WORKSPACE_SETTINGS_FILE = "workspace-pods.json";
export const WORKSPACE_SETTINGS_ENV = "AGENTSCOPE_WORKSPACE_POD_SETTINGS";

/**
 * Exactly what upstream's K8sWorkspace calls (agentscope 2.0.11, workspace/_k8s/_k8s_workspace.py and
 * _k8s_backend.py), in the sandbox namespace: `read_namespaced_pod`, `create_namespaced_pod`,
 * `delete_namespaced_pod`, and `connect_get_namespaced_pod_exec` (a WebSocket: `get` on pods/exec;
 * `create` for the POST form). Claims only with persistent storage: `read_namespaced_persistent_volume_claim`
 * and `create_namespaced_persistent_volume_claim` (it never deletes them: delete_pvc_on_close is off),
 * and `patch` for the last-used stamp and owner labels (k8s_workspaces.py `touch`). With a warm pool:
 * `patch` on pods (a claimed pod's labels) and `list` (a restarted replica's leftover warm pods).
 * Namespaces: never (k8s_workspaces.py does not read or create its namespace).
 */
export function workspaceRoleRules(persistent: boolean, warmPool = false): k8s.types.input.rbac.v1.PolicyRule[] {
  return [
    { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "delete", ...(warmPool ? ["list", "patch"] : [])] },
    { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
    ...(persistent ? [{ apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["create", "get", "patch"] }] : []),
  ];
}

/** The settings file's content (agentscope2_launcher/workspace_settings.py WorkspacePodSettings.from_json). */
export interface WorkspacePodSettingsJson {
  readonly namespace: string;
  readonly image: string;
  readonly gatewayVenv: string;
  readonly resources: { requests: Record<string, string>; limits: Record<string, string> };
  readonly podSecurityContext: Record<string, unknown>;
  readonly containerSecurityContext: Record<string, unknown>;
  readonly storage: { kind: "emptyDir"; sizeLimit: string } | { kind: "persistentVolumeClaim"; size: string; storageClassName?: string };
  readonly tmpSizeLimit: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly tolerations: k8s.types.input.core.v1.Toleration[];
  readonly runtimeClassName?: string;
  readonly imagePullSecrets: { name: string }[];
  readonly isolation: WorkspaceIsolation;
  readonly ttlSeconds: number;
  readonly podReadyTimeoutSeconds: number;
  readonly agentName: string;
  readonly warmPool?: { min: number; max: number; headroom: number; scaleDownAfterSeconds: number };
  readonly env?: { name: string; value: string }[];
}

export interface ResolvedAgentWorkspacesArgs {
  readonly agentName: string;
  readonly resourceName: string;
  readonly sandboxNamespace: string;
  readonly identity: WorkloadIdentity;
  readonly isolation: SandboxIsolation;
  readonly cpu: number;
  readonly memoryGiB: number;
  readonly storage: WorkspaceStorage;
  readonly workspaceIsolation: WorkspaceIsolation;
  readonly idleSeconds: number;
  readonly podReadyTimeoutSeconds: number;
  readonly imagePullSecrets: string[];
  readonly warmPool?: Required<WorkspaceWarmPool>;
}

export function resolveAgentWorkspacesArgs(args: AgentWorkspacesArgs): ResolvedAgentWorkspacesArgs {
  const C = "AgentWorkspaces";
  requireDnsLabel(C, "agentName", args.agentName, 30);
  requireDnsLabel(C, "sandboxNamespace", args.sandboxNamespace);
  if (typeof args.image === "string") requireDigestRef(C, "image", args.image);
  const cpu = args.cpu ?? 1;
  const memoryGiB = args.memoryGiB ?? 2;
  requirePositive(C, "cpu", cpu);
  requirePositive(C, "memoryGiB", memoryGiB);
  if (args.isolation.kind === "acs") requireAcsSize(C, "", cpu, memoryGiB);
  const storage = args.storage ?? { kind: "emptyDir", sizeGiB: 1 };
  requireInt(C, "storage.sizeGiB", storage.sizeGiB, 1, 2048);
  if (storage.kind === "persistentVolumeClaim" && storage.storageClassName !== undefined) requireDnsLabel(C, "storage.storageClassName", storage.storageClassName, 253);
  const workspaceIsolation = args.workspaceIsolation ?? "per_agent";
  if (!(WORKSPACE_ISOLATIONS as readonly string[]).includes(workspaceIsolation)) {
    throw new Error(`${C}: workspaceIsolation must be one of ${WORKSPACE_ISOLATIONS.join(", ")}, got ${JSON.stringify(workspaceIsolation)}`);
  }
  const idleSeconds = args.idleSeconds ?? 3600;
  requireInt(C, "idleSeconds", idleSeconds, 60, 604_800);
  const podReadyTimeoutSeconds = args.podReadyTimeoutSeconds ?? 180;
  requireInt(C, "podReadyTimeoutSeconds", podReadyTimeoutSeconds, 10, 1800);
  const warmPool = args.warmPool === undefined ? undefined : resolveWarmPool(C, args.warmPool, workspaceIsolation);
  return {
    agentName: args.agentName,
    resourceName: `agent-${args.agentName}-workspaces`,
    sandboxNamespace: args.sandboxNamespace,
    identity: { name: WORKSPACE_POD_LABEL.value, instance: `${args.partOf}-${args.agentName}-workspace`, component: "workspace", partOf: args.partOf },
    isolation: args.isolation,
    cpu,
    memoryGiB,
    storage,
    workspaceIsolation,
    idleSeconds,
    podReadyTimeoutSeconds,
    imagePullSecrets: args.imagePullSecrets ?? [],
    ...(warmPool ? { warmPool } : {}),
  };
}

function resolveWarmPool(C: string, p: WorkspaceWarmPool, isolation: WorkspaceIsolation): Required<WorkspaceWarmPool> {
  requireInt(C, "warmPool.min", p.min, 0, 50);
  requireInt(C, "warmPool.max", p.max, 1, 50);
  if (p.min > p.max) throw new Error(`${C}: warmPool.min (${p.min}) must not exceed warmPool.max (${p.max})`);
  const headroom = p.headroom ?? 1;
  requireInt(C, "warmPool.headroom", headroom, 0, 50);
  const scaleDownAfterSeconds = p.scaleDownAfterSeconds ?? 300;
  requireInt(C, "warmPool.scaleDownAfterSeconds", scaleDownAfterSeconds, 30, 86_400);
  // per_user ids are a hash of the user id, minted nowhere: upstream's buffer never serves them.
  if (isolation === "per_user") throw new Error(`${C}: warmPool needs workspaceIsolation per_session or per_agent (per_user workspace ids are a hash of the user id, never a warm workspace's)`);
  return { min: p.min, max: p.max, headroom, scaleDownAfterSeconds };
}

/** The settings the launcher builds each workspace pod from; `image` and `network` resolved. */
export function workspacePodSettings(r: ResolvedAgentWorkspacesArgs, image: string, network: Record<string, string> = {}, env: { name: string; value: string }[] = []): WorkspacePodSettingsJson {
  // HOME is the launcher's (workspace_settings.py: /tmp on a read-only root).
  const reserved = env.find((e) => e.name === "HOME");
  if (reserved) throw new Error("AgentWorkspaces: env may not set HOME (the workspace's writable /tmp)");
  const acs = r.isolation.kind === "acs" ? r.isolation.placement : NO_ACS;
  // The pods' managed-by is upstream's ("agentscope": the agent makes them), set by the launcher.
  const identity: Record<string, string> = recommendedLabels(r.identity);
  delete identity["app.kubernetes.io/managed-by"];
  return {
    namespace: r.sandboxNamespace,
    image,
    gatewayVenv: WORKSPACE_GATEWAY_VENV,
    resources: guaranteedResources(r.cpu, r.memoryGiB) as WorkspacePodSettingsJson["resources"],
    // The workspace image runs as 10001 on a read-only root: PSA restricted, as the sandbox namespace enforces.
    podSecurityContext: restrictedPodSecurityContext() as Record<string, unknown>,
    containerSecurityContext: restrictedContainerSecurityContext() as Record<string, unknown>,
    storage: r.storage.kind === "emptyDir"
      ? { kind: "emptyDir", sizeLimit: `${r.storage.sizeGiB}Gi` }
      : { kind: "persistentVolumeClaim", size: `${r.storage.sizeGiB}Gi`, ...(r.storage.storageClassName ? { storageClassName: r.storage.storageClassName } : {}) },
    tmpSizeLimit: "256Mi",
    labels: { ...identity, ...acsPodLabels(acs) },
    annotations: { ...acsPodAnnotations(acs), ...network },
    tolerations: acsTolerations(acs),
    ...(r.isolation.kind === "runtime-class" ? { runtimeClassName: r.isolation.runtimeClassName } : {}),
    imagePullSecrets: r.imagePullSecrets.map((name) => ({ name })),
    isolation: r.workspaceIsolation,
    ttlSeconds: r.idleSeconds,
    podReadyTimeoutSeconds: r.podReadyTimeoutSeconds,
    agentName: r.agentName,
    ...(r.warmPool ? { warmPool: r.warmPool } : {}),
    ...(env.length ? { env } : {}),
  };
}

/**
 * What an agent's pod needs to run its workspaces as pods: its service account, and the settings
 * ConfigMap with the hash of its content (a change rolls the agent).
 */
export interface AgentWorkspacesBinding {
  readonly serviceAccountName: pulumi.Output<string>;
  readonly settingsConfigMap: pulumi.Output<string>;
  readonly settingsSha256: pulumi.Output<string>;
}

/**
 * One 2.x agent's workspaces: the settings ConfigMap and ServiceAccount in the agents namespace, and
 * the Role and RoleBinding in the sandbox namespace.
 */
export class AgentWorkspaces extends pulumi.ComponentResource implements AgentWorkspacesBinding {
  public readonly serviceAccountName: pulumi.Output<string>;
  public readonly settingsConfigMap: pulumi.Output<string>;
  public readonly settingsSha256: pulumi.Output<string>;
  /** Labels of the workspace pods (besides upstream's), e.g. for policies and queries. */
  public readonly podLabels: Record<string, string>;

  constructor(name: string, args: AgentWorkspacesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:AgentWorkspaces", name, {}, opts);
    const r = resolveAgentWorkspacesArgs(args);
    const parent = { parent: this };
    const labels = recommendedLabels(r.identity);
    const acs = r.isolation.kind === "acs" ? r.isolation.placement : NO_ACS;
    const network = pulumi.output(acsNetworkAnnotations(acs, args.acsNetwork));
    const settings = pulumi.all([pulumi.output(args.image), network, args.env ?? []]).apply(([image, net, env]) =>
      `${JSON.stringify(workspacePodSettings(r, image, net, env), null, 2)}\n`);

    const account = new k8s.core.v1.ServiceAccount(`${name}-account`, {
      metadata: { name: r.resourceName, namespace: args.agentsNamespace, labels },
      // The agent mounts a token for its app container alone (AgentRuntime), never by default.
      automountServiceAccountToken: false,
    }, { ...parent, deleteBeforeReplace: true });
    const config = new k8s.core.v1.ConfigMap(`${name}-settings`, {
      metadata: { name: r.resourceName, namespace: args.agentsNamespace, labels },
      data: { [WORKSPACE_SETTINGS_FILE]: settings },
    }, { ...parent, deleteBeforeReplace: true });
    const role = new k8s.rbac.v1.Role(`${name}-role`, {
      metadata: { name: r.resourceName, namespace: r.sandboxNamespace, labels },
      rules: workspaceRoleRules(r.storage.kind === "persistentVolumeClaim", r.warmPool !== undefined),
    }, { ...parent, deleteBeforeReplace: true });
    new k8s.rbac.v1.RoleBinding(`${name}-binding`, {
      metadata: { name: r.resourceName, namespace: r.sandboxNamespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: args.agentsNamespace }],
    }, { ...parent, deleteBeforeReplace: true });

    this.serviceAccountName = account.metadata.name;
    this.settingsConfigMap = config.metadata.name;
    this.settingsSha256 = settings.apply((text) => createHash("sha256").update(text).digest("hex"));
    this.podLabels = { ...labels, "app.kubernetes.io/managed-by": "agentscope" };
    this.registerOutputs({ serviceAccountName: this.serviceAccountName, settingsConfigMap: this.settingsConfigMap });
  }
}
