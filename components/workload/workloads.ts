import { relative } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";
import { requireOptionalPeer } from "../shared/optional-peer";
import type { AcsNetwork, AcsPlacement } from "./acs";
import { NO_ACS } from "./acs";
import type { AgentSpec } from "./agent-runtime";
import { USER_AGENT_DOCKERFILE, USER_AGENT_KIT_TARGET, USER_AGENT_TARGETS, isAgentscope2, requireAgentSource } from "./agent-source";
import { AgentWorkspaces, WORKSPACE_IMAGE_TARGET, WORKSPACE_POD_LABEL } from "./agent-workspaces";
import { WorkspaceClaimReaper } from "./workspace-claim-reaper";
import { SandboxTrafficPolicies, TRAFFIC_POLICY_MODE_ANNOTATIONS } from "./acs-traffic-policy";
import { AgentRuntime, requireRoomBesideGateway } from "./agent-runtime";
import type { RegistryCredentials } from "./container-image";
import { ContainerImage } from "./container-image";
import { agentImageContext } from "./image-context";
import { jwksPort } from "./gateway-identity";
import { Namespaces } from "./namespaces";
import type { CidrEgress } from "./network-policies";
import { NetworkPolicies, SANDBOX_DENIED_CIDRS, minimalCidrs } from "./network-policies";
import type { SandboxEgress } from "./egress";
import { requireEgressNames } from "./egress";
import { EgressProxy } from "./egress-proxy";
import { ALL_AGENTS_SELECTOR, MANAGED_BY, SANDBOX_APP_NAME } from "./labels";
import { requireDnsLabel } from "./validate";
import type { RedisEndpoint } from "./redis";
import { InClusterRedis, REDIS_PORT } from "./redis";
import { seedRequestCurl } from "./try-it";
import type { SandboxAutoscaling, SandboxIsolation } from "./sandbox-pool";
import { SANDBOX_MANAGER_PORT, SANDBOX_PORT, SandboxPool } from "./sandbox-pool";
import type { SandboxType } from "./sandbox-types";
import { STAND_IN_MODEL_API_KEY, STAND_IN_MODEL_NAME, StandInModel } from "./stand-in-model";
import type { AlertThresholds } from "./alert-rules";
import { Monitoring, defaultScrapeTargets } from "./monitoring";
import type { TracingArgs, WorkloadTelemetry } from "./telemetry";

/** Everything the Kubernetes half of the stack needs, typed; index.ts maps the stack config onto it. */
export interface AgentScopeWorkloadsArgs {
  /** `local`, `dev` or `prod`; prod gets the production settings (zone spread required). */
  environment: "local" | "dev" | "prod";
  /** `alicloud` (ACK: CLB annotations on load balancers) or `kubernetes` (any cluster). */
  platform: "alicloud" | "kubernetes";
  /** Prefix of namespaces and cluster-scoped names, and `app.kubernetes.io/part-of` (default `agentscope`). */
  namePrefix?: string;
  /** Namespace names (default `<prefix>-agents` and `<prefix>-sandboxes`). */
  namespaces?: { agents?: string; sandboxes?: string };
  /** ACS placement of agents and the manager; sandboxes too when `sandbox.isolation` is `acs` (default NO_ACS). */
  acs?: AcsPlacement;
  /** ACS pods' vSwitches (and security groups) on platform alicloud: keeps them in the allow-listed pod ranges. */
  acsNetwork?: AcsNetwork;
  /**
   * Sandboxes (and the egress proxy) on ACS also isolated by Poseidon's TrafficPolicies
   * (acs-traffic-policy.ts), with a cluster-wide GlobalTrafficPolicy denying the metadata service.
   * Needs `sandbox.isolation` "acs" and Poseidon >= v0.7.0 with its TrafficPolicy switch on. Default false.
   */
  acsTrafficPolicy?: boolean;
  images: {
    /** Build both images from agent-image/ and push them; omit to run the prebuilt refs below. */
    build?: {
      /** Build context (default: the package's own agent-image/, found from the module's location, not the working directory). */
      context?: string;
      /** Target platform (default `linux/amd64`). */
      platform?: "linux/amd64" | "linux/arm64";
      /** `BASE_IMAGE` build arg (default: the Dockerfile's). */
      baseImage?: string;
      /** Registry credentials for the push (default none: the Docker daemon's own login). */
      registry?: RegistryCredentials;
      /** Repository of the agent image to push to, `<registry>/<namespace>/<name>`. */
      agentRepository: pulumi.Input<string>;
      /** Repository of the sandbox manager image to push to. */
      sandboxManagerRepository: pulumi.Input<string>;
      /** The agent repository as the cluster pulls it, e.g. ACR's `-registry-vpc` domain (default: agentRepository). */
      agentPullRepository?: pulumi.Input<string>;
      /** The sandbox manager repository as the cluster pulls it (default: sandboxManagerRepository). */
      sandboxManagerPullRepository?: pulumi.Input<string>;
      /** Repository of the stand-in model image (required with `standInModel`). */
      standInModelRepository?: pulumi.Input<string>;
      /** The stand-in model repository as the cluster pulls it (default: standInModelRepository). */
      standInModelPullRepository?: pulumi.Input<string>;
      /**
       * Per agent with a `directory` source, keyed by agent name: where its image is pushed and (if
       * different) pulled from. Required for each such agent.
       */
      userAgents?: Record<string, { repository: pulumi.Input<string>; pullRepository?: pulumi.Input<string> }>;
      /**
       * Repository of the AgentScope 2.x workspace image (target `agentscope2-workspace`), required
       * with an agentscope2 agent whose workspaces are pods; and where the cluster pulls it from.
       */
      workspaceRepository?: pulumi.Input<string>;
      workspacePullRepository?: pulumi.Input<string>;
      /** Repository of the egress proxy image (target `egress-proxy`), required with sandbox.egress allowList; and where the cluster pulls it. */
      egressProxyRepository?: pulumi.Input<string>;
      egressProxyPullRepository?: pulumi.Input<string>;
      /**
       * Repository of the `user-agent-kit` image (our launcher and install script, FROM scratch),
       * required with a `directory` agent: user-agent.Dockerfile copies from it by digest, so the
       * builder pulls it from where it was pushed.
       */
      userAgentKitRepository?: pulumi.Input<string>;
    };
    /** Prebuilt agent image by digest (when `build` is omitted). */
    agent?: string;
    /** Prebuilt sandbox manager image by digest (when `build` is omitted). */
    sandboxManager?: string;
    /** Prebuilt stand-in model image by digest (when `build` is omitted and `standInModel` is on). */
    standInModel?: string;
    /** Prebuilt 2.x workspace image by digest (when `build` is omitted and a 2.x agent's workspaces are pods). */
    workspace?: string;
    /** Prebuilt egress proxy image by digest (when `build` is omitted and sandbox.egress is allowList). */
    egressProxy?: string;
    /** Credentials for pulling from a private registry without a node-level helper (default none; ACK uses the ACR credential helper). */
    pullCredentials?: RegistryCredentials;
  };
  /**
   * The agents; one Deployment, Service, HPA and PDB each. `source` `directory` needs `images.build`
   * (the stack builds it); `image` runs the given digest.
   */
  agents: AgentSpec[];
  /**
   * Deploy the stand-in model (components/workload/stand-in-model.ts: scripted answers, one code-execution
   * tool call, not a language model) and point every agent at it instead of its own model, with a
   * placeholder key (default false; refused in prod). For demos without a model API key or internet.
   */
  standInModel?: boolean;
  /** Secrets, as Pulumi secrets; tokens and the in-cluster Redis password are generated when omitted. */
  secrets?: {
    modelApiKey?: pulumi.Input<string>;
    agentApiToken?: pulumi.Input<string>;
    sandboxManagerToken?: pulumi.Input<string>;
    redisPassword?: pulumi.Input<string>;
  };
  sandbox: {
    /** Types the pool pre-warms (default `["base"]`). */
    types?: SandboxType[];
    /** Warm sandboxes per type (default 1). */
    poolSize?: number;
    /** Most sandboxes at once (default 50). */
    maxInstances?: number;
    /** Warm pool autoscaling per type (default none: poolSize, fixed); see SandboxPool. */
    autoscaling?: Partial<Record<SandboxType, SandboxAutoscaling>>;
    /** Seconds before an autoscaled pool goes down after its demand fell (default 300). */
    scaleDownAfterSeconds?: number;
    /** Idle seconds before a session's sandboxes are released (default 300). */
    sessionIdleTimeoutSeconds?: number;
    /** Seconds between checks that agent pods holding sandboxes still exist (default 10). */
    ownerCheckSeconds?: number;
    /** `acs` (one MicroVM per pod), `runtime-class` (with runtimeClassName) or `none` (local only). */
    isolation: "acs" | "runtime-class" | "none";
    /** RuntimeClass for `runtime-class` isolation: `runv`, `gvisor`, `kata`... */
    runtimeClassName?: string;
    /** Manager replicas: must be 1 (one pool-refilling replica, Recreate strategy; see SandboxPool). */
    managerReplicas?: number;
    /** vCPU of the sandbox manager (default 0.5). */
    managerCpu?: number;
    /** vCPU limit of the sandbox manager (default `managerCpu`); see SandboxPoolArgs.managerCpuLimit. */
    managerCpuLimit?: number;
    /** vCPU per sandbox pod (default 1). */
    cpu?: number;
    /** vCPU limit per sandbox pod (default `cpu`); see SandboxPoolArgs.sandboxCpuLimit. */
    cpuLimit?: number;
    /** GiB per sandbox pod (default 2). */
    memoryGiB?: number;
    /** Registry, namespace and tag of the runtime-sandbox images (mirrored into our registry), digests optional. */
    images: { registry: pulumi.Input<string>; namespace?: string; tag?: string; digests?: Partial<Record<SandboxType, string>> };
    /**
     * Where sandboxes (and 2.x workspaces) may connect (docs/sandbox-egress.md; default internet).
     * allowList deploys the EgressProxy and points the sandboxes at it.
     */
    egress?: SandboxEgress;
  };
  /** Redis: in-cluster (local, dev) or an external endpoint such as Tair (prod). */
  redis:
    | { mode: "in-cluster"; storageGiB?: number; storageClassName?: string; image?: pulumi.Input<string>; cpu?: number }
    | { mode: "external"; endpoint: RedisEndpoint };
  /** How callers reach agents (default: inside the cluster only). */
  exposure?: {
    type: "cluster" | "internal-lb" | "public-lb";
    allowedCidrs?: string[];
    /**
     * An Alibaba CLB white-list ACL (slb.Acl holding allowedCidrs) for platform alicloud: attached with
     * CCM's ACL annotations so the load balancer itself drops other callers.
     */
    clbAclId?: pulumi.Input<string>;
  };
  /**
   * Run the path-filtering gateway beside each agent (default true). Turn it off only for an agent
   * image that removes AgentApp's unauthenticated `/shutdown` and `/admin/*` routes itself.
   */
  adminRouteGateway?: boolean;
  /** Traces and metrics (default: both off). */
  observability?: {
    /** OTLP/HTTP trace export from agents, gateways and the manager, with its NetworkPolicy egress. */
    tracing?: TracingArgs;
    /** Metrics listeners, `<name>-metrics` ClusterIP Services and the scrape NetworkPolicy. */
    metrics?: {
      /** Namespaces whose pods may scrape the metrics ports (the Prometheus or its agent). */
      scrapeNamespaces: string[];
      /** Narrow the scrapers to pods with these labels (default: any pod of those namespaces). */
      scrapePodSelector?: Record<string, string>;
      /** Create ServiceMonitors (and the PrometheusRule): needs the monitoring.coreos.com CRDs (default false). */
      prometheusOperator?: boolean;
      /** The PrometheusRule with the stack's alerts, when prometheusOperator is on (default true). */
      alerts?: boolean;
      thresholds?: AlertThresholds;
      /** Extra labels on the ServiceMonitors and the PrometheusRule, for the Prometheus's selectors. */
      extraLabels?: Record<string, string>;
    };
  };
  /** NetworkPolicy inputs the cluster knows (all optional). */
  network?: {
    /** Service CIDR: sandboxes never reach it. */
    serviceCidr?: string;
    /** API server endpoints (after DNAT) for the manager's egress (default: read from `default/kubernetes`). */
    apiServer?: CidrEgress;
    /** Namespaces allowed to call agents (default: every namespace but the stack's two). */
    callerNamespaces?: string[];
    /** Model API egress (default: the public internet on 443). */
    modelApi?: CidrEgress;
    /** More blocks sandboxes must not reach (e.g. the API server's public address). */
    sandboxDeniedCidrs?: string[];
  };
}

/**
 * Source of Alibaba Cloud SLB health checks (SLB docs: allow 100.64.0.0/10 for health checks).
 * With Terway's ENI backends (and always for ACS pods) they reach the pod itself, so the agent's
 * NetworkPolicy admits them on the gateway port; they are not callers and stay out of the LB's ACL.
 */
export const ALIBABA_SLB_HEALTH_CHECK_CIDRS = ["100.64.0.0/10"];
const ALIBABA_LB = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer";

/** An AgentScope 2.x agent whose workspaces are pods (the default for them). */
export function podWorkspaces(a: AgentSpec): boolean {
  return a.source !== undefined && isAgentscope2(a.source) && (a.workspaces?.kind ?? "pods") === "pods";
}

export interface ResolvedWorkloadsArgs {
  readonly prefix: string;
  readonly agentsNamespace: string;
  readonly sandboxNamespace: string;
  readonly acs: AcsPlacement;
  readonly isolation: SandboxIsolation;
  readonly loadBalancer?: { allowedCidrs: string[]; annotations: Record<string, pulumi.Input<string>> };
  /** CIDRs the agents' NetworkPolicies admit on the caller port besides in-cluster callers. */
  readonly policyCallerCidrs: string[];
  readonly zoneSpread: "required" | "preferred";
  readonly egress: SandboxEgress;
}

export function resolveWorkloadsArgs(args: AgentScopeWorkloadsArgs): ResolvedWorkloadsArgs {
  const C = "AgentScopeWorkloads";
  const prefix = args.namePrefix ?? "agentscope";
  requireDnsLabel(C, "namePrefix", prefix, 30);
  if (args.agents.length === 0) throw new Error(`${C}: agents must list at least one agent`);
  const seen = new Set<string>();
  for (const a of args.agents) {
    if (seen.has(a.name)) throw new Error(`${C}: agents has "${a.name}" twice; names must be unique`);
    seen.add(a.name);
    const served = args.sandbox.types ?? ["base"];
    for (const t of a.sandboxTypes) {
      if (!served.includes(t)) throw new Error(`${C}: agents[${a.name}].sandboxTypes has "${t}", which sandbox.types does not serve (${served.join(", ")})`);
    }
    if (a.source) requireAgentSource(C, `agents[${a.name}].source`, a.source);
    // Before any child is registered: a throw from one agent's runtime would leave the others' rollouts in flight.
    requireRoomBesideGateway(C, `agents[${a.name}].`, a.cpu, a.memoryGiB, args.adminRouteGateway ?? true);
    if (a.source?.kind === "directory") {
      const b = args.images.build;
      if (!b) throw new Error(`${C}: agents[${a.name}].source is a directory, which needs images.build; without it, build the image outside the stack and give source kind image`);
      if (!b.userAgents?.[a.name]) throw new Error(`${C}: images.build.userAgents.${a.name} (its repository) is required for agents[${a.name}].source directory`);
      if (b.userAgentKitRepository === undefined) throw new Error(`${C}: images.build.userAgentKitRepository is required with a directory agent (agents[${a.name}])`);
    }
  }
  for (const a of args.agents) {
    if (!a.workspaces) continue;
    if (!a.source || !isAgentscope2(a.source)) throw new Error(`${C}: agents[${a.name}].workspaces applies only to framework agentscope2 (an AgentApp runs code in the sandbox pool)`);
    if (a.workspaces.kind === "local" && args.environment !== "local") {
      throw new Error(`${C}: agents[${a.name}].workspaces "local" runs the agent's tool commands in the agent's own container; it is for local clusters only (use "pods")`);
    }
  }
  if (args.agents.some(podWorkspaces)) {
    if (args.images.build ? args.images.build.workspaceRepository === undefined : !args.images.workspace) {
      throw new Error(`${C}: an agentscope2 agent's workspaces are pods, which need the workspace image: ${args.images.build ? "images.build.workspaceRepository" : "images.workspace (a digest)"}`);
    }
  }
  for (const name of Object.keys(args.images.build?.userAgents ?? {})) {
    if (!args.agents.some((a) => a.name === name && a.source?.kind === "directory")) throw new Error(`${C}: images.build.userAgents.${name} names no agent with a directory source`);
  }
  const i = args.images;
  if (i.build && (i.agent || i.sandboxManager)) throw new Error(`${C}: images.build conflicts with images.agent/images.sandboxManager: build them, or run prebuilt digests`);
  if (!i.build && (!i.agent || !i.sandboxManager)) throw new Error(`${C}: images.agent and images.sandboxManager (digests) are required when images.build is omitted`);
  if (args.standInModel) {
    if (args.environment === "prod") throw new Error(`${C}: standInModel answers from a script, not a model; it is refused in prod`);
    if (i.build && i.build.standInModelRepository === undefined) throw new Error(`${C}: images.build.standInModelRepository is required with standInModel`);
    if (!i.build && !i.standInModel) throw new Error(`${C}: images.standInModel (a digest) is required with standInModel when images.build is omitted`);
  }
  if (i.build && i.standInModel) throw new Error(`${C}: images.build conflicts with images.standInModel: build it, or run a prebuilt digest`);
  const egress: SandboxEgress = args.sandbox.egress ?? { mode: "internet" };
  if (egress.mode === "allowList") {
    if (egress.allow.length === 0) throw new Error(`${C}: sandbox.egress.allow must list at least one host name with mode allowList (to allow nothing, use mode none)`);
    requireEgressNames(C, "sandbox.egress.allow", egress.allow);
    if (i.build ? i.build.egressProxyRepository === undefined : !i.egressProxy) {
      throw new Error(`${C}: sandbox.egress allowList needs the egress proxy image: ${i.build ? "images.build.egressProxyRepository" : "images.egressProxy (a digest)"}`);
    }
  }
  if (i.build && i.egressProxy) throw new Error(`${C}: images.build conflicts with images.egressProxy: build it, or run a prebuilt digest`);
  const acs = args.acs ?? NO_ACS;
  const s = args.sandbox;
  let isolation: SandboxIsolation;
  if (s.isolation === "acs") {
    if (!acs.enabled) throw new Error(`${C}: sandbox.isolation "acs" needs acs.enabled`);
    isolation = { kind: "acs", placement: acs };
  } else if (s.isolation === "runtime-class") {
    if (!s.runtimeClassName) throw new Error(`${C}: sandbox.runtimeClassName is required with isolation "runtime-class"`);
    isolation = { kind: "runtime-class", runtimeClassName: s.runtimeClassName };
  } else {
    if (args.environment !== "local") throw new Error(`${C}: sandbox.isolation "none" is for local clusters only; untrusted code needs ACS or a sandboxed runtime class`);
    isolation = { kind: "none" };
  }
  if (args.acsTrafficPolicy && isolation.kind !== "acs") throw new Error(`${C}: acsTrafficPolicy needs sandbox.isolation "acs": Poseidon's TrafficPolicies bind ACS pods only`);
  if (s.isolation !== "runtime-class" && s.runtimeClassName) throw new Error(`${C}: sandbox.runtimeClassName applies only with isolation "runtime-class"`);
  const e = args.exposure ?? { type: "cluster" };
  const cidrs = e.allowedCidrs ?? [];
  let loadBalancer: ResolvedWorkloadsArgs["loadBalancer"];
  if (e.type === "cluster") {
    if (cidrs.length) throw new Error(`${C}: exposure.allowedCidrs applies only to a load balancer ("internal-lb" or "public-lb")`);
  } else if (e.type === "public-lb") {
    if (cidrs.length === 0) throw new Error(`${C}: exposure.allowedCidrs must list the callers' CIDR blocks: a public load balancer is never open to all`);
    loadBalancer = { allowedCidrs: cidrs, annotations: {} };
  } else {
    if (args.platform !== "alicloud") throw new Error(`${C}: exposure "internal-lb" is implemented for platform alicloud (ACK's intranet CLB); use "cluster" or "public-lb" elsewhere`);
    // No default allow-list: all private ranges would also admit the cluster's own pods through the agents' ipBlock.
    if (cidrs.length === 0) throw new Error(`${C}: exposure.allowedCidrs must list the callers' CIDR blocks (outside the cluster's pod ranges) for an internal load balancer`);
    loadBalancer = { allowedCidrs: cidrs, annotations: { [`${ALIBABA_LB}-address-type`]: "intranet" } };
  }
  if (loadBalancer && e.clbAclId !== undefined) {
    if (args.platform !== "alicloud") throw new Error(`${C}: exposure.clbAclId applies only to platform alicloud`);
    // CCM annotations for a CLB access-control list (ACK "Configure a CLB instance by using annotations";
    // CCM v1.9.3 release notes: acl-status, acl-id, acl-type).
    loadBalancer = {
      ...loadBalancer,
      annotations: { ...loadBalancer.annotations, [`${ALIBABA_LB}-acl-status`]: "on", [`${ALIBABA_LB}-acl-id`]: e.clbAclId, [`${ALIBABA_LB}-acl-type`]: "white" },
    };
  }
  return {
    prefix,
    agentsNamespace: args.namespaces?.agents ?? `${prefix}-agents`,
    sandboxNamespace: args.namespaces?.sandboxes ?? `${prefix}-sandboxes`,
    acs,
    isolation,
    ...(loadBalancer ? { loadBalancer } : {}),
    policyCallerCidrs: loadBalancer ? [...loadBalancer.allowedCidrs, ...(args.platform === "alicloud" ? ALIBABA_SLB_HEALTH_CHECK_CIDRS : [])] : [],
    zoneSpread: args.environment === "prod" ? "required" : "preferred",
    egress,
  };
}

/**
 * The Kubernetes half of the stack: namespaces, images, Redis, the sandbox pool, one runtime per
 * agent and the NetworkPolicies. Pass the cluster's `k8s.Provider` in `opts.provider`.
 */
export class AgentScopeWorkloads extends pulumi.ComponentResource {
  public readonly agentsNamespace: pulumi.Output<string>;
  public readonly sandboxNamespace: pulumi.Output<string>;
  /** Digest-pinned images the pods run. */
  public readonly agentImage: pulumi.Output<string>;
  public readonly sandboxManagerImage: pulumi.Output<string>;
  /** Digest-pinned image per agent (Friday's, or the user's for another source). */
  public readonly agentImages: pulumi.Output<Record<string, string>>;
  /** In-cluster URL per agent. */
  public readonly agentUrls: pulumi.Output<Record<string, string>>;
  /** Load balancer address per agent (empty without a load balancer). */
  public readonly loadBalancerAddresses: pulumi.Output<Record<string, string | undefined>>;
  public readonly sandboxManagerUrl: pulumi.Output<string>;
  /** The stand-in model's base URL, when it is deployed. */
  public readonly standInModelUrl: pulumi.Output<string | undefined>;
  /** Digest-pinned stand-in model image, when it is deployed. */
  public readonly standInModelImage: pulumi.Output<string | undefined>;
  /**
   * Per agent, a copy-paste `curl` of the seed's request to its in-cluster URL, token included (a
   * secret). From outside the cluster, swap the URL for a load balancer's or a port-forward's.
   */
  public readonly agentCurls: pulumi.Output<Record<string, string>>;
  /** Bearer token for the agents' API (a secret). */
  public readonly agentApiToken: pulumi.Output<string>;
  /** Redis host the stack uses. */
  public readonly redisHost: pulumi.Output<string>;
  /** Labels selecting every agent pod (the gateway runs in the same pod), e.g. for telemetry policies. */
  public readonly agentPodSelector: Record<string, string>;
  /** Labels selecting the sandbox manager's pods. */
  public readonly sandboxManagerPodSelector: Record<string, string>;

  constructor(name: string, args: AgentScopeWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:AgentScopeWorkloads", name, {}, opts);
    const r = resolveWorkloadsArgs(args);
    const parent = { parent: this };

    const ns = new Namespaces(`${name}-namespaces`, { agentsNamespace: r.agentsNamespace, sandboxNamespace: r.sandboxNamespace, partOf: r.prefix }, parent);
    const inNs = { parent: this, dependsOn: [ns] };

    // ---------- secrets: given, or generated once and kept in state ----------
    const token = (role: string, given: pulumi.Input<string> | undefined): pulumi.Output<string> => {
      if (given !== undefined) return pulumi.secret(given);
      const { RandomPassword } = requireOptionalPeer<typeof random>("@pulumi/random", "AgentScopeWorkloads (a generated secret)");
      return new RandomPassword(`${name}-${role}`, { length: 48, special: false }, parent).result;
    };
    const secrets = args.secrets ?? {};
    const agentApiToken = token("agent-api-token", secrets.agentApiToken);
    const sandboxManagerToken = token("sandbox-manager-token", secrets.sandboxManagerToken);

    // ---------- images ----------
    const b = args.images.build;
    const buildArgs = b?.baseImage ? { BASE_IMAGE: b.baseImage } : undefined;
    // The package's own context, written relative to the program's directory (`agent-image` in this
    // repository, `node_modules/@agentscope-ack/components/bin/agent-image` in a consumer's), so the
    // image's inputs in the state are the same on every machine.
    const defaultContext = () => relative(process.cwd(), agentImageContext());
    const image = (
      role: "agent" | "sandbox-manager" | "stand-in-model" | "egress-proxy" | typeof USER_AGENT_KIT_TARGET | typeof WORKSPACE_IMAGE_TARGET,
      prebuilt: string | undefined,
      repository: pulumi.Input<string> | undefined,
      pullRepository: pulumi.Input<string> | undefined,
    ) =>
      new ContainerImage(`${name}-${role}-image`, b && repository !== undefined
        ? {
          build: {
            context: b.context ?? defaultContext(),
            target: role,
            ...(b.platform ? { platform: b.platform } : {}),
            ...(buildArgs ? { buildArgs } : {}),
            repository,
            ...(pullRepository !== undefined ? { pullRepository } : {}),
            ...(b.registry ? { registry: b.registry } : {}),
          },
        }
        : { prebuilt: prebuilt ?? "" }, parent);
    const agentImage = image("agent", args.images.agent, b?.agentRepository, b?.agentPullRepository);
    const managerImage = image("sandbox-manager", args.images.sandboxManager, b?.sandboxManagerRepository, b?.sandboxManagerPullRepository);
    const standInImage = args.standInModel
      ? image("stand-in-model", args.images.standInModel, b?.standInModelRepository, b?.standInModelPullRepository)
      : undefined;
    const workspaceImage = args.agents.some(podWorkspaces)
      ? image(WORKSPACE_IMAGE_TARGET, args.images.workspace, b?.workspaceRepository, b?.workspacePullRepository)
      : undefined;
    // A user's directory: built on our kit, which the build pulls by digest from where it was pushed.
    const directoryAgents = args.agents.filter((a) => a.source?.kind === "directory");
    const kitImage = b && b.userAgentKitRepository !== undefined && directoryAgents.length > 0
      ? image(USER_AGENT_KIT_TARGET, undefined, b.userAgentKitRepository, undefined)
      : undefined;
    const imageOf = (agent: AgentSpec): pulumi.Output<string> => {
      const source = agent.source;
      if (source?.kind === "image") return pulumi.output(source.image);
      if (source?.kind !== "directory" || !b || !kitImage) return agentImage.imageRef;
      const repos = b.userAgents![agent.name]!;
      const context = b.context ?? defaultContext();
      return new ContainerImage(`${name}-agent-${agent.name}-image`, {
        build: {
          context: source.path,
          dockerfile: `${context}/${USER_AGENT_DOCKERFILE}`,
          target: USER_AGENT_TARGETS[source.framework],
          ...(b.platform ? { platform: b.platform } : {}),
          buildArgs: { ...(buildArgs ?? {}), KIT_IMAGE: kitImage.imageRef, AGENT_APP: source.app },
          repository: repos.repository,
          ...(repos.pullRepository !== undefined ? { pullRepository: repos.pullRepository } : {}),
          ...(b.registry ? { registry: b.registry } : {}),
        },
      }, parent).imageRef;
    };

    // ---------- pull credentials (optional) ----------
    const pullSecretName = "registry-pull";
    let pullSecrets: string[] = [];
    const pc = args.images.pullCredentials;
    if (pc) {
      const dockerConfig = pulumi.secret(pulumi.all([pc.server, pc.username, pc.password]).apply(([server, username, password]) =>
        JSON.stringify({ auths: { [server]: { username, password, auth: Buffer.from(`${username}:${password}`).toString("base64") } } })));
      for (const [role, namespace] of [["agents", r.agentsNamespace], ["sandboxes", r.sandboxNamespace]] as const) {
        new k8s.core.v1.Secret(`${name}-${role}-registry-pull`, {
          metadata: { name: pullSecretName, namespace, labels: { "app.kubernetes.io/name": "registry-pull", "app.kubernetes.io/instance": `${r.prefix}-registry-pull`, "app.kubernetes.io/component": "image-pull", "app.kubernetes.io/part-of": r.prefix, "app.kubernetes.io/managed-by": MANAGED_BY } },
          type: "kubernetes.io/dockerconfigjson",
          stringData: { ".dockerconfigjson": dockerConfig },
        }, { ...inNs, deleteBeforeReplace: true });
      }
      pullSecrets = [pullSecretName];
    }

    // ---------- Redis ----------
    let redisEndpoint: RedisEndpoint;
    let redisPolicy: { podSelector: Record<string, string>; port: pulumi.Input<number> } | { cidrs: pulumi.Input<pulumi.Input<string>[]>; port: pulumi.Input<number> };
    if (args.redis.mode === "in-cluster") {
      const password = token("redis-password", secrets.redisPassword);
      const redis = new InClusterRedis(`${name}-redis`, {
        namespace: r.agentsNamespace,
        partOf: r.prefix,
        password,
        ...(args.redis.storageGiB !== undefined ? { storageGiB: args.redis.storageGiB } : {}),
        ...(args.redis.storageClassName ? { storageClassName: args.redis.storageClassName } : {}),
        ...(args.redis.image ? { image: args.redis.image } : {}),
        ...(args.redis.cpu !== undefined ? { cpu: args.redis.cpu } : {}),
        // On ACS with the other pods: on an ECS node its pull from ACR EE would need the credential helper.
        acs: r.acs,
      }, inNs);
      redisEndpoint = { host: redis.host, port: REDIS_PORT, password };
      redisPolicy = { podSelector: redis.podSelector, port: REDIS_PORT };
    } else {
      const ep = args.redis.endpoint;
      if (ep.cidrs === undefined || (Array.isArray(ep.cidrs) && ep.cidrs.length === 0)) throw new Error("AgentScopeWorkloads: redis.endpoint.cidrs must list the external Redis's address blocks, for the NetworkPolicies");
      redisEndpoint = ep;
      redisPolicy = { cidrs: ep.cidrs, port: ep.port };
    }

    // ---------- telemetry ----------
    const obs = args.observability ?? {};
    const telemetry: WorkloadTelemetry = {
      ...(obs.tracing ? { tracing: obs.tracing } : {}),
      ...(obs.metrics ? { metrics: true } : {}),
    };

    // ---------- sandboxes' egress proxy (mode allowList) ----------
    const s = args.sandbox;
    const net = args.network ?? {};
    const egress = r.egress;
    // Every sandbox pod, whichever pool made it: the proxy's clients and the TrafficPolicies' selector.
    const anySandbox = { "app.kubernetes.io/name": SANDBOX_APP_NAME };
    // What sandboxes may never reach; the proxy never connects to either.
    const sandboxDenied = minimalCidrs([...SANDBOX_DENIED_CIDRS, ...(net.serviceCidr ? [net.serviceCidr] : []), ...(net.sandboxDeniedCidrs ?? [])]);
    const egressProxy = egress.mode === "allowList"
      ? new EgressProxy(`${name}-egress-proxy`, {
        namespace: r.sandboxNamespace,
        partOf: r.prefix,
        image: image("egress-proxy", args.images.egressProxy, b?.egressProxyRepository, b?.egressProxyPullRepository).imageRef,
        allow: [...egress.allow],
        clientSelector: anySandbox,
        ...(args.agents.some(podWorkspaces) ? { additionalClientSelectors: [{ [WORKSPACE_POD_LABEL.key]: WORKSPACE_POD_LABEL.value }] } : {}),
        deniedCidrs: sandboxDenied,
        replicas: args.environment === "prod" ? 2 : 1,
        placement: r.acs,
        ...(args.acsNetwork ? { acsNetwork: args.acsNetwork } : {}),
        ...(args.acsTrafficPolicy ? { podAnnotations: { ...TRAFFIC_POLICY_MODE_ANNOTATIONS } } : {}),
        imagePullSecrets: pullSecrets,
        ...(obs.metrics ? { scrape: { namespaces: obs.metrics.scrapeNamespaces, ...(obs.metrics.scrapePodSelector ? { podSelector: obs.metrics.scrapePodSelector } : {}) } } : {}),
      }, inNs)
      : undefined;

    // ---------- sandbox pool ----------
    const pool = new SandboxPool(`${name}-sandbox-pool`, {
      namespace: r.agentsNamespace,
      sandboxNamespace: r.sandboxNamespace,
      partOf: r.prefix,
      image: managerImage.imageRef,
      bearerToken: sandboxManagerToken,
      ...(s.types ? { sandboxTypes: s.types } : {}),
      ...(s.poolSize !== undefined ? { poolSize: s.poolSize } : {}),
      ...(s.maxInstances !== undefined ? { maxInstances: s.maxInstances } : {}),
      ...(s.autoscaling ? { autoscaling: s.autoscaling } : {}),
      ...(s.scaleDownAfterSeconds !== undefined ? { scaleDownAfterSeconds: s.scaleDownAfterSeconds } : {}),
      ...(s.sessionIdleTimeoutSeconds !== undefined ? { heartbeatTimeoutSeconds: s.sessionIdleTimeoutSeconds } : {}),
      ...(s.ownerCheckSeconds !== undefined ? { ownerCheckSeconds: s.ownerCheckSeconds } : {}),
      ...(s.managerReplicas !== undefined ? { replicas: s.managerReplicas } : {}),
      ...(s.managerCpu !== undefined ? { managerCpu: s.managerCpu } : {}),
      ...(s.managerCpuLimit !== undefined ? { managerCpuLimit: s.managerCpuLimit } : {}),
      redis: redisEndpoint,
      images: s.images,
      isolation: r.isolation,
      ...(s.cpu !== undefined ? { sandboxCpu: s.cpu } : {}),
      ...(s.cpuLimit !== undefined ? { sandboxCpuLimit: s.cpuLimit } : {}),
      ...(s.memoryGiB !== undefined ? { sandboxMemoryGiB: s.memoryGiB } : {}),
      managerPlacement: r.acs,
      ...(args.acsNetwork ? { acsNetwork: args.acsNetwork } : {}),
      imagePullSecrets: pullSecrets,
      sandboxImagePullSecrets: pullSecrets,
      telemetry,
      ...(egressProxy ? { sandboxEnv: egressProxy.clientEnv } : {}),
      ...(args.acsTrafficPolicy ? { sandboxPodAnnotations: { ...TRAFFIC_POLICY_MODE_ANNOTATIONS } } : {}),
    }, inNs);

    // ---------- the stand-in model (demos only): it replaces every agent's model ----------
    const allAgentsSelector = { ...ALL_AGENTS_SELECTOR };
    const standIn = standInImage && new StandInModel(`${name}-stand-in-model`, {
      namespace: r.agentsNamespace,
      partOf: r.prefix,
      image: standInImage.imageRef,
      clientSelector: allAgentsSelector,
      placement: r.acs,
      ...(args.acsNetwork ? { acsNetwork: args.acsNetwork } : {}),
      imagePullSecrets: pullSecrets,
    }, inNs);
    const modelApiKey = standIn ? STAND_IN_MODEL_API_KEY : secrets.modelApiKey;

    // ---------- 2.x workspaces as pods: placed as sandboxes are ----------
    const workspacesOf = (agent: AgentSpec): AgentWorkspaces | undefined => {
      const w = agent.workspaces ?? { kind: "pods" };
      if (!podWorkspaces(agent) || w.kind !== "pods" || !workspaceImage) return undefined;
      return new AgentWorkspaces(`${name}-agent-${agent.name}-workspaces`, {
        agentName: agent.name,
        agentsNamespace: r.agentsNamespace,
        sandboxNamespace: r.sandboxNamespace,
        partOf: r.prefix,
        image: workspaceImage.imageRef,
        isolation: r.isolation,
        ...(args.acsNetwork ? { acsNetwork: args.acsNetwork } : {}),
        cpu: w.cpu ?? s.cpu ?? 1,
        memoryGiB: w.memoryGiB ?? s.memoryGiB ?? 2,
        ...(w.storage ? { storage: w.storage } : {}),
        ...(w.isolation ? { workspaceIsolation: w.isolation } : {}),
        ...(w.idleSeconds !== undefined ? { idleSeconds: w.idleSeconds } : {}),
        ...(w.warmPool ? { warmPool: w.warmPool } : {}),
        // The model's commands run there as in a sandbox: out through the egress proxy only.
        ...(egressProxy ? { env: egressProxy.clientEnv } : {}),
        imagePullSecrets: pullSecrets,
      }, inNs);
    };
    // Claims with a lifecycle: each agent's reaper deletes the ones nobody used for retainDays.
    const reapers = args.agents.flatMap((agent) => {
      const w = agent.workspaces;
      if (!podWorkspaces(agent) || w?.kind !== "pods" || w.storage?.kind !== "persistentVolumeClaim" || w.claimReaper === false || !workspaceImage) return [];
      return [new WorkspaceClaimReaper(`${name}-agent-${agent.name}-claim-reaper`, {
        agentName: agent.name,
        agentsNamespace: r.agentsNamespace,
        sandboxNamespace: r.sandboxNamespace,
        partOf: r.prefix,
        image: workspaceImage.imageRef,
        ...(w.claimReaper ?? {}),
        placement: r.acs,
        ...(args.acsNetwork ? { acsNetwork: args.acsNetwork } : {}),
        imagePullSecrets: pullSecrets,
      }, inNs)];
    });

    // ---------- agents ----------
    const runtimes = args.agents.map((agent) => ({ agent, image: imageOf(agent), workspaces: workspacesOf(agent) })).map(({ agent, image: agentRef, workspaces }) => ({
      agent,
      image: agentRef,
      workspaces,
      runtime: new AgentRuntime(`${name}-agent-${agent.name}`, {
        namespace: r.agentsNamespace,
        partOf: r.prefix,
        agent: standIn ? { ...agent, model: { provider: "openai", name: STAND_IN_MODEL_NAME, baseUrl: standIn.baseUrl } } : agent,
        image: agentRef,
        // A user's app gets its gateway from our agent image, which carries the gateway's traces and metrics.
        ...(agent.source !== undefined && agent.source.kind !== "builtin" ? { gatewayImage: agentImage.imageRef } : {}),
        secrets: {
          ...(modelApiKey !== undefined ? { modelApiKey } : {}),
          agentApiToken,
          sandboxManagerToken,
          redisPassword: redisEndpoint.password,
        },
        sandboxManagerUrl: pool.managerUrl,
        redis: { host: redisEndpoint.host, port: redisEndpoint.port, db: 0 },
        placement: r.acs,
        ...(args.acsNetwork ? { acsNetwork: args.acsNetwork } : {}),
        zoneSpread: r.zoneSpread,
        ...(r.loadBalancer ? { loadBalancer: r.loadBalancer } : {}),
        ...(args.adminRouteGateway !== undefined ? { gateway: args.adminRouteGateway } : {}),
        imagePullSecrets: pullSecrets,
        telemetry,
        ...(workspaces ? { workspaces } : {}),
      }, inNs),
    }));

    // ---------- NetworkPolicies ----------
    new NetworkPolicies(`${name}-network-policies`, {
      agentsNamespace: r.agentsNamespace,
      sandboxNamespace: r.sandboxNamespace,
      partOf: r.prefix,
      allAgentsSelector,
      agents: runtimes.map(({ agent, runtime, workspaces }) => ({
        name: agent.name,
        podSelector: runtime.podSelector,
        callerPort: runtime.callerPort,
        ...(workspaces ? { apiServerEgress: true } : {}),
        ...(agent.jwt?.jwksUrl !== undefined && agent.jwt.jwksCidrs ? { jwksEgress: { cidrs: agent.jwt.jwksCidrs, ports: [jwksPort(agent.jwt.jwksUrl)] } } : {}),
        ...(r.policyCallerCidrs.length ? { callerCidrs: r.policyCallerCidrs } : {}),
      })),
      managerSelector: pool.managerPodSelector,
      ...(runtimes.some(({ workspaces }) => workspaces !== undefined) ? { workspacePodLabel: WORKSPACE_POD_LABEL } : {}),
      ...(reapers.length ? { apiServerClients: reapers.map((x) => ({ name: x.resourceName, podSelector: x.podSelector })) } : {}),
      managerPort: SANDBOX_MANAGER_PORT,
      sandboxPort: SANDBOX_PORT,
      redis: redisPolicy,
      ...(net.callerNamespaces ? { callerNamespaces: net.callerNamespaces } : {}),
      ...(net.modelApi ? { modelApi: net.modelApi } : {}),
      ...(net.apiServer ? { apiServer: net.apiServer } : {}),
      ...(net.serviceCidr ? { serviceCidr: net.serviceCidr } : {}),
      ...(net.sandboxDeniedCidrs ? { sandboxDeniedCidrs: net.sandboxDeniedCidrs } : {}),
      ...(egress.mode !== "internet" ? { sandboxEgress: "restricted" } : {}),
      ...(obs.tracing || obs.metrics
        ? {
          telemetry: {
            ...(obs.tracing ? { otlp: obs.tracing.egress } : {}),
            ...(obs.metrics
              ? {
                scrape: {
                  namespaces: obs.metrics.scrapeNamespaces,
                  ...(obs.metrics.scrapePodSelector ? { podSelector: obs.metrics.scrapePodSelector } : {}),
                  agentPorts: [...new Set(runtimes.flatMap(({ runtime }) => runtime.metricsPorts))],
                  managerPorts: pool.metricsPorts,
                },
              }
              : {}),
          },
        }
        : {}),
    }, inNs);

    // ---------- the same isolation as Poseidon TrafficPolicies, for sandboxes on ACS ----------
    if (args.acsTrafficPolicy) {
      new SandboxTrafficPolicies(`${name}-traffic-policies`, {
        partOf: r.prefix,
        sandboxNamespace: r.sandboxNamespace,
        sandboxSelector: anySandbox,
        manager: { serviceName: pool.managerServiceName, namespace: r.agentsNamespace },
        egress,
        ...(egressProxy ? { proxy: { serviceName: egressProxy.serviceName, podSelector: egressProxy.podSelector } } : {}),
        deniedCidrs: sandboxDenied,
      }, inNs);
    }

    // ---------- scrape objects and alerts (Prometheus Operator CRDs) ----------
    const m = obs.metrics;
    if (m?.prometheusOperator) {
      new Monitoring(`${name}-monitoring`, {
        namespace: r.agentsNamespace,
        partOf: r.prefix,
        targets: defaultScrapeTargets(args.adminRouteGateway ?? true),
        ...(m.alerts !== undefined ? { alerts: m.alerts } : {}),
        ...(m.thresholds ? { thresholds: m.thresholds } : {}),
        ...(m.extraLabels ? { extraLabels: m.extraLabels } : {}),
      }, inNs);
    }

    this.agentsNamespace = ns.agentsNamespace;
    this.sandboxNamespace = ns.sandboxNamespace;
    this.agentImage = agentImage.imageRef;
    this.sandboxManagerImage = managerImage.imageRef;
    this.agentImages = pulumi.all(Object.fromEntries(runtimes.map(({ agent, image: ref }) => [agent.name, ref])));
    this.agentUrls = pulumi.all(Object.fromEntries(runtimes.map(({ agent, runtime }) => [agent.name, runtime.url])));
    this.loadBalancerAddresses = pulumi.all(Object.fromEntries(runtimes.map(({ agent, runtime }) => [agent.name, runtime.loadBalancerAddress])));
    this.sandboxManagerUrl = pool.managerUrl;
    this.standInModelUrl = standIn ? standIn.baseUrl : pulumi.output(undefined);
    this.standInModelImage = standInImage ? standInImage.imageRef : pulumi.output(undefined);
    this.agentApiToken = pulumi.secret(agentApiToken);
    this.agentCurls = pulumi.secret(pulumi.all([this.agentUrls, agentApiToken]).apply(([urls, t]) =>
      Object.fromEntries(Object.entries(urls).map(([agent, url]) => [agent, seedRequestCurl(url, t)]))));
    this.redisHost = pulumi.output(redisEndpoint.host);
    this.agentPodSelector = { ...allAgentsSelector };
    this.sandboxManagerPodSelector = { ...pool.managerPodSelector };
    this.registerOutputs({
      agentsNamespace: this.agentsNamespace,
      sandboxNamespace: this.sandboxNamespace,
      agentImage: this.agentImage,
      sandboxManagerImage: this.sandboxManagerImage,
      agentImages: this.agentImages,
      agentUrls: this.agentUrls,
      loadBalancerAddresses: this.loadBalancerAddresses,
      sandboxManagerUrl: this.sandboxManagerUrl,
      standInModelUrl: this.standInModelUrl,
      standInModelImage: this.standInModelImage,
      agentApiToken: this.agentApiToken,
      agentCurls: this.agentCurls,
      redisHost: this.redisHost,
    });
  }
}
