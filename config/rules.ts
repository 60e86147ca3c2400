import { cidrsOverlap, coversPublicInternet, isIpv4Cidr } from "../components/shared/cidr";
import { isAcsSize } from "../components/workload/acs";
import { isAgentscope2 } from "../components/workload/agent-source";
import type { ParsedStackConfig } from "./schema";
import { parseOtlpEndpoint, validOtlpHeaders } from "./observability";

/** One broken cross-key rule: the key path it is reported on, and what is wrong and allowed. */
export interface RuleViolation {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

type Rule = (c: ParsedStackConfig) => RuleViolation[];

const cloudOnlyKeys = ["network", "cluster", "registry", "imageCache", "registryPassword"] as const;

const platformKeys: Rule = (c) => {
  if (c.platform === "alicloud") {
    const v: RuleViolation[] = [];
    if (c.kubernetes.context || c.kubernetes.kubeconfigPath) {
      v.push({ path: ["kubernetes"], message: "applies only to platform kubernetes; the alicloud platform reaches its own cluster" });
    }
    if (!c.network) v.push({ path: ["network"], message: "is required for platform alicloud (zones, or an existing VPC)" });
    if (!c.registry) v.push({ path: ["registry"], message: "is required for platform alicloud (a new ACR EE instance name, or existingInstanceId)" });
    return v;
  }
  const v: RuleViolation[] = cloudOnlyKeys
    .filter((key) => c[key] !== undefined)
    .map((key) => ({ path: [key], message: "applies only to platform alicloud; remove it or set platform: alicloud" }));
  if (c.redis.mode === "managed") {
    v.push({ path: ["redis", "mode"], message: 'managed Redis (Tair) needs platform alicloud; use "in-cluster"' });
  }
  if (c.environment !== "local" && c.environment !== "dev") {
    v.push({ path: ["platform"], message: `environment ${c.environment} runs on platform alicloud only` });
  }
  return v;
};

const network: Rule = (c) => {
  const n = c.network;
  if (!n) return [];
  const v: RuleViolation[] = [];
  const existing = n.existingVpcId !== undefined;
  if (existing) {
    if (!n.existingNodeVswitchIds) v.push({ path: ["network", "existingNodeVswitchIds"], message: "is required with existingVpcId" });
    if (!n.existingPodVswitchIds) v.push({ path: ["network", "existingPodVswitchIds"], message: "is required with existingVpcId" });
    if (n.zones) v.push({ path: ["network", "zones"], message: "conflicts with existingVpcId: zones come from the existing vSwitches" });
  } else {
    if (!n.zones) v.push({ path: ["network", "zones"], message: "is required unless existingVpcId is given" });
    if (n.existingNodeVswitchIds || n.existingPodVswitchIds) {
      v.push({ path: ["network", "existingVpcId"], message: "is required when existing vSwitch ids are given" });
    }
    if (n.zones && new Set(n.zones).size !== n.zones.length) {
      v.push({ path: ["network", "zones"], message: "must list each zone once (one node and one pod vSwitch per zone)" });
    }
  }
  const serviceCidr = c.cluster?.serviceCidr;
  if (!existing && serviceCidr && isIpv4Cidr(serviceCidr) && isIpv4Cidr(n.vpcCidr) && cidrsOverlap(serviceCidr, n.vpcCidr)) {
    v.push({
      path: ["cluster", "serviceCidr"],
      message: `${serviceCidr} overlaps the VPC (pod) range ${n.vpcCidr}; pick a range outside it, e.g. 192.168.0.0/16 with a 10.x VPC`,
    });
  }
  return v;
};

const registry: Rule = (c) => {
  const r = c.registry;
  if (!r) return [];
  if (r.pushFromCidrs && r.pushFromCidrs.every(isIpv4Cidr) && coversPublicInternet(r.pushFromCidrs)) {
    return [{ path: ["registry", "pushFromCidrs"], message: "together admit every internet address to the registry; list the pushers' egress ranges" }];
  }
  if (r.existingInstanceId) {
    return r.instanceName ? [{ path: ["registry", "instanceName"], message: "conflicts with existingInstanceId: name a new instance or adopt one, not both" }] : [];
  }
  const v: RuleViolation[] = [];
  if (!r.instanceName) v.push({ path: ["registry", "instanceName"], message: "is required to create a new ACR EE instance (or set existingInstanceId)" });
  if (!c.registryPassword) {
    v.push({ path: ["registryPassword"], message: "is required to create a new ACR EE instance: pulumi config set --secret registryPassword <value>" });
  }
  return v;
};

/** Whether the stand-in model replaces the agents' models: as set, or by default in `local` with no key and no own endpoint. */
export function standInModelOn(c: ParsedStackConfig): boolean {
  return c.standInModel ?? (c.environment === "local" && c.modelApiKey === undefined && c.agents.every((a) => a.model.baseUrl === undefined));
}

const standInModel: Rule = (c) => {
  const v: RuleViolation[] = [];
  if (c.standInModel === true) {
    if (c.environment === "prod") v.push({ path: ["standInModel"], message: "is refused in prod: the stand-in answers from a script, it is not a model" });
    if (c.modelApiKey !== undefined) v.push({ path: ["standInModel"], message: "conflicts with modelApiKey: the stand-in replaces the model the key is for; unset one of them" });
    c.agents.forEach((a, i) => {
      if (a.model.baseUrl !== undefined) v.push({ path: ["agents", i, "model", "baseUrl"], message: "is unused while standInModel is true (the stand-in replaces every agent's model); remove one of them" });
    });
  }
  if (standInModelOn(c) && !c.images.build && !c.images.standInModel) {
    v.push({ path: ["images", "standInModel"], message: "is required when images.build is false and the stand-in model is on (a prebuilt image by digest)" });
  }
  return v;
};

const agents: Rule = (c) => {
  const v: RuleViolation[] = [];
  const seen = new Set<string>();
  c.agents.forEach((a, i) => {
    if (seen.has(a.name)) v.push({ path: ["agents", i, "name"], message: `"${a.name}" is used by another agent; names must be unique` });
    seen.add(a.name);
    if (a.model.provider === "openai" && !a.model.baseUrl) {
      v.push({ path: ["agents", i, "model", "baseUrl"], message: "is required for provider openai (the OpenAI-compatible endpoint)" });
    }
    if (a.replicas.min > a.replicas.max) {
      v.push({ path: ["agents", i, "replicas"], message: `min (${a.replicas.min}) must not exceed max (${a.replicas.max})` });
    }
    if (c.environment === "prod" && a.replicas.min < 2) {
      v.push({ path: ["agents", i, "replicas", "min"], message: "must be at least 2 in prod, so one pod can be disrupted without an outage" });
    }
    if (c.acs.enabled && !isAcsSize(a.cpu, a.memoryGiB)) {
      v.push({ path: ["agents", i], message: `cpu ${a.cpu} / memoryGiB ${a.memoryGiB} is not an ACS size: use 0.5 vCPU and 1 GiB steps` });
    }
    a.sandboxTypes.forEach((t, j) => {
      if (!c.sandbox.types.includes(t)) {
        v.push({ path: ["agents", i, "sandboxTypes", j], message: `"${t}" is not served by the pool; add it to sandbox.types (${c.sandbox.types.join(", ")})` });
      }
    });
  });
  if (!c.modelApiKey && !standInModelOn(c) && c.agents.some((a) => a.model.provider === "dashscope")) {
    const standIn = c.environment === "prod" ? "" : " (or standInModel: true, for the scripted stand-in model)";
    v.push({ path: ["modelApiKey"], message: `is required for DashScope models: pulumi config set --secret modelApiKey <key>${standIn}` });
  }
  return v;
};

const sandbox: Rule = (c) => {
  const s = c.sandbox;
  const v: RuleViolation[] = [];
  if (s.isolation === "none" && c.environment !== "local") {
    v.push({ path: ["sandbox", "isolation"], message: '"none" is for local laptops only; use "acs" or "runtime-class" so untrusted code runs in its own VM' });
  }
  if (s.isolation === "acs" && !c.acs.enabled) {
    v.push({ path: ["sandbox", "isolation"], message: '"acs" needs acs.enabled: true' });
  }
  if (s.isolation === "runtime-class" && !s.runtimeClassName) {
    v.push({ path: ["sandbox", "runtimeClassName"], message: 'is required with isolation "runtime-class" (runv, gvisor, kata, ...)' });
  }
  if (s.runtimeClassName && s.isolation !== "runtime-class") {
    v.push({ path: ["sandbox", "runtimeClassName"], message: 'applies only with isolation "runtime-class"' });
  }
  if (s.poolSize > s.maxInstances) {
    v.push({ path: ["sandbox", "poolSize"], message: `must not exceed sandbox.maxInstances (${s.maxInstances})` });
  }
  if (c.acs.enabled && !isAcsSize(s.cpu, s.memoryGiB)) {
    v.push({ path: ["sandbox"], message: `cpu ${s.cpu} / memoryGiB ${s.memoryGiB} is not an ACS size: use 0.5 vCPU and 1 GiB steps` });
  }
  const onAcs = s.isolation === "acs" || (s.isolation === undefined && c.acs.enabled);
  if (onAcs && s.cpuLimit !== undefined && s.cpuLimit !== s.cpu) {
    v.push({ path: ["sandbox", "cpuLimit"], message: `must equal sandbox.cpu (${s.cpu}) on ACS, which sizes a pod by one value; leave it unset` });
  }
  // The manager runs on ACS whenever ACS is on (workloads.ts: managerPlacement).
  if (c.acs.enabled && s.managerCpuLimit !== undefined && s.managerCpuLimit !== s.managerCpu) {
    v.push({ path: ["sandbox", "managerCpuLimit"], message: `must equal sandbox.managerCpu (${s.managerCpu}) with acs.enabled (the manager runs on ACS, which sizes a pod by one value); leave it unset` });
  }
  if (c.acs.trafficPolicy && !onAcs) {
    v.push({ path: ["acs", "trafficPolicy"], message: 'needs sandboxes on ACS (acs.enabled, sandbox.isolation "acs"): Poseidon\'s TrafficPolicies bind ACS pods only' });
  }
  if (c.acs.trafficPolicy && c.platform !== "alicloud") {
    v.push({ path: ["acs", "trafficPolicy"], message: "needs platform alicloud: the stack turns Poseidon's TrafficPolicy switch on through the ACK add-on" });
  }
  return v;
};

const cluster: Rule = (c) => {
  const k = c.cluster;
  if (!k) return [];
  const v: RuleViolation[] = [];
  const pool = k.systemNodePool;
  // @pulumi/alicloud NodePool scalingConfig.maxSize: "`maxSize` has to be greater than `minSize`".
  if (pool.minSize >= pool.maxSize) {
    v.push({ path: ["cluster", "systemNodePool"], message: `maxSize (${pool.maxSize}) must be greater than minSize (${pool.minSize}): an auto-scaling node pool needs room to scale` });
  }
  if (k.version && k.autoUpgradeChannel !== "none") {
    // Provider docs (cs.ManagedKubernetes `version`): "Do not specify if cluster auto upgrade is enabled".
    v.push({ path: ["cluster", "version"], message: `conflicts with autoUpgradeChannel "${k.autoUpgradeChannel}": leave version out, or set autoUpgradeChannel "none" to pin it` });
  }
  if (k.existingClusterId && c.network && !c.network.existingVpcId) {
    v.push({ path: ["network", "existingVpcId"], message: "is required when adopting an existing cluster: give the cluster's VPC and vSwitches" });
  }
  if (c.environment === "prod" && !k.deletionProtection) {
    v.push({ path: ["cluster", "deletionProtection"], message: "must stay true in prod" });
  }
  if (c.environment === "prod" && !k.auditLogs) {
    v.push({ path: ["cluster", "auditLogs"], message: "must stay true in prod" });
  }
  return v;
};

/** The safety settings the README promises for prod cannot be switched off by config. */
const prodSafety: Rule = (c) => {
  if (c.environment !== "prod") return [];
  const v: RuleViolation[] = [];
  if (!c.protect) v.push({ path: ["protect"], message: "must stay true in prod (pulumi destroy must not delete cloud resources)" });
  if (c.registry && !c.registry.tagImmutability) {
    v.push({ path: ["registry", "tagImmutability"], message: "must stay true in prod (a pushed tag must never be overwritten)" });
  }
  return v;
};

/**
 * Sandbox types whose image this project builds (agent-image/Dockerfile target `sandbox`: non-root,
 * no nginx, per-sandbox token). Upstream's other images run nginx as root on port 80, which the
 * sandbox namespace's PSA `restricted` level refuses, so a warm pool of them would never start.
 */
export const BUILT_SANDBOX_TYPES: readonly string[] = ["base"];

const sandboxImages: Rule = (c) => {
  const v: RuleViolation[] = [];
  const s = c.sandbox;
  s.types.forEach((t, i) => {
    if (!BUILT_SANDBOX_TYPES.includes(t)) {
      v.push({ path: ["sandbox", "types", i], message: `"${t}" has no image this project builds (only ${BUILT_SANDBOX_TYPES.join(", ")}): upstream's runs nginx as root, which the sandbox namespace's PSA restricted level refuses, so its pods would never start; remove it until a non-root ${t} image exists` });
    }
  });
  if (c.platform !== "alicloud") return v;
  // Sandbox pods run untrusted code; in the cloud they run exactly the image that was reviewed: a
  // re-pushed tag would change it with no diff in the stack.
  const pinned = s.imageDigests ?? {};
  s.types.filter((t) => BUILT_SANDBOX_TYPES.includes(t) && pinned[t] === undefined).forEach((t) => {
    const message = c.environment === "prod"
      ? `is required in prod: pin the ${t} sandbox image by digest (<repository>@sha256:...), never a tag`
      : `is required on Alibaba Cloud: pin the ${t} sandbox image by digest (<repository>@sha256:...); a re-pushed tag would change what new sandboxes run with no diff in the stack`;
    v.push({ path: ["sandbox", "imageDigests", t], message });
  });
  if (s.imageTag === "latest") {
    v.push({ path: ["sandbox", "imageTag"], message: '"latest" is refused on Alibaba Cloud: it moves on every push; leave imageTag out (a tag is derived from the pinned digests) or name a fixed release tag' });
  }
  return v;
};

/** In-cluster Redis's claim must be one the CSI disk driver provisions (ALIBABA_MIN_DISK_GIB). */
const redisStorage: Rule = (c) => {
  const r = c.redis;
  if (c.platform !== "alicloud" || r.mode !== "in-cluster" || r.storageClassName !== undefined || c.kubernetes.storageClassName !== undefined) return [];
  if (r.storageGiB === undefined || r.storageGiB >= ALIBABA_MIN_DISK_GIB) return [];
  return [{ path: ["redis", "storageGiB"], message: `must be at least ${ALIBABA_MIN_DISK_GIB} on Alibaba Cloud: the CSI disk driver provisions no smaller disk, so the claim would stay Pending and Redis would never start; or set redis.storageClassName to a class of smaller volumes` }];
};

const images: Rule = (c) => {
  const i = c.images;
  const v: RuleViolation[] = [];
  if (!i.build) {
    if (!i.agent) v.push({ path: ["images", "agent"], message: "is required when images.build is false (a prebuilt image by digest)" });
    if (!i.sandboxManager) v.push({ path: ["images", "sandboxManager"], message: "is required when images.build is false (a prebuilt image by digest)" });
  }
  if (c.platform === "alicloud" && i.registryServer) {
    v.push({ path: ["images", "registryServer"], message: "applies only to platform kubernetes; alicloud pushes to its ACR EE instance" });
  }
  return v;
};

const exposure: Rule = (c) => {
  const e = c.exposure;
  if (e.type === "cluster") {
    return e.allowedCidrs.length ? [{ path: ["exposure", "allowedCidrs"], message: 'applies only to a load balancer (type "internal-lb" or "public-lb")' }] : [];
  }
  const v: RuleViolation[] = [];
  if (e.allowedCidrs.length === 0) {
    v.push({ path: ["exposure", "allowedCidrs"], message: "must list the callers' CIDR blocks: a load balancer is never open to all" });
  }
  const valid = e.allowedCidrs.filter(isIpv4Cidr);
  if (coversPublicInternet(valid)) {
    // Checked on the union, with or without a known VPC: 0.0.0.0/1 + 128.0.0.0/1 is as open as 0.0.0.0/0.
    v.push({ path: ["exposure", "allowedCidrs"], message: "together cover every public IPv4 address, so the load balancer would be open to everyone; list the callers' ranges" });
  }
  const vpc = c.network && !c.network.existingVpcId && isIpv4Cidr(c.network.vpcCidr) ? c.network.vpcCidr : undefined;
  e.allowedCidrs.forEach((block, i) => {
    if (block.endsWith("/0")) {
      v.push({ path: ["exposure", "allowedCidrs", i], message: `${block} opens the load balancer to everyone; list the callers' ranges` });
    } else if (vpc && isIpv4Cidr(block) && cidrsOverlap(block, vpc)) {
      // The allow-list becomes an ipBlock in the agents' NetworkPolicy: inside the VPC it would admit pods too.
      v.push({ path: ["exposure", "allowedCidrs", i], message: `${block} overlaps the VPC ${vpc}, so it would also admit the cluster's own pods (sandboxes included); list callers outside the VPC` });
    }
  });
  return v;
};

/**
 * Tair's password rules, from @pulumi/alicloud kvstore.Instance `password`: "8 to 32 characters in
 * length and must contain at least three of the following character types: uppercase letters,
 * lowercase letters, special characters, and digits. Special characters include: ! @ # $ % ^ & * ( ) _ + - =".
 * The message never echoes the value.
 */
const managedRedisPassword: Rule = (c) => {
  const p = c.redisPassword;
  if (c.redis.mode !== "managed" || p === undefined) return [];
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[!@#$%^&*()_+\-=]/].filter((re) => re.test(p)).length;
  if (p.length <= 32 && classes >= 3 && /^[A-Za-z0-9!@#$%^&*()_+\-=]+$/.test(p)) return [];
  return [{
    path: ["redisPassword"],
    message: "does not meet Tair's rules for managed Redis: 8 to 32 characters (16 or more here), at least three of upper case, lower case, digits and ! @ # $ % ^ & * ( ) _ + - =, nothing else",
  }];
};

const observability: Rule = (c) => {
  const o = c.observability;
  const v: RuleViolation[] = [];
  const at = (...path: (string | number)[]) => ["observability", ...path];
  if (c.otlpHeaders !== undefined) {
    if (!o.otlpEndpoint) v.push({ path: ["otlpHeaders"], message: "is set but observability.otlpEndpoint is not: set the endpoint the headers are for, or remove them" });
    // The message never echoes the value (it holds a token).
    if (!validOtlpHeaders(c.otlpHeaders)) v.push({ path: ["otlpHeaders"], message: "must be key=value pairs separated by commas, as OTEL_EXPORTER_OTLP_HEADERS takes them (e.g. x-sls-otel-project=<project>,x-sls-otel-ak-id=<id>,...)" });
  }
  if (o.otlpEndpoint) {
    const p = parseOtlpEndpoint(o.otlpEndpoint);
    if (p.url.username || p.url.password) v.push({ path: at("otlpEndpoint"), message: "must not carry credentials in the URL: put them in the otlpHeaders secret" });
    if (p.url.search || p.url.hash) v.push({ path: at("otlpEndpoint"), message: "must be a base URL without query or fragment (the SDK appends /v1/traces)" });
    if (c.otlpHeaders !== undefined && p.url.protocol === "http:" && !p.inClusterNamespace) {
      v.push({ path: at("otlpEndpoint"), message: "is plain http to a host outside the cluster while otlpHeaders holds credentials: use https" });
    }
    if (!o.otlpEgressCidrs && !p.inClusterNamespace && !p.ipv4) {
      v.push({ path: at("otlpEgressCidrs"), message: `is required: ${p.url.hostname} is not a Service of the cluster (<service>.<namespace>[.svc]) and a NetworkPolicy cannot name a host; list the receiver's address blocks` });
    }
  } else if (o.otlpEgressCidrs) {
    v.push({ path: at("otlpEgressCidrs"), message: "applies only with observability.otlpEndpoint" });
  }
  (o.otlpEgressCidrs ?? []).forEach((block, i) => {
    if (block.endsWith("/0")) v.push({ path: at("otlpEgressCidrs", i), message: `${block} would let agents and the manager send anywhere; list the receiver's blocks` });
  });
  if (c.platform !== "alicloud") {
    if (o.managedPrometheus === true) v.push({ path: at("managedPrometheus"), message: "is ACK's add-on: it applies only to platform alicloud" });
    if (o.logs.enabled === true) v.push({ path: at("logs", "enabled"), message: "sends logs to Alibaba Cloud SLS through ACK's LoongCollector: it applies only to platform alicloud" });
  }
  if (!o.metrics && o.prometheusOperator === "on") v.push({ path: at("prometheusOperator"), message: '"on" needs observability.metrics: true (nothing to scrape otherwise)' });
  return v;
};

/** Jaeger with memory storage and no auth: a viewer for local and dev stacks, never prod's trace store. */
const traceViewer: Rule = (c) => {
  if (!c.observability.localTraceViewer) return [];
  const v: RuleViolation[] = [];
  if (c.environment === "prod") {
    v.push({ path: ["observability", "localTraceViewer"], message: "is refused in prod: it keeps traces in memory and has no login; send prod's traces to a managed OTLP endpoint" });
  }
  if (c.observability.otlpEndpoint) {
    v.push({ path: ["observability", "otlpEndpoint"], message: "is set while observability.localTraceViewer is on, which is the trace receiver then: keep one of them" });
  }
  if (!c.images.traceViewer) {
    v.push({ path: ["images", "traceViewer"], message: "is required with observability.localTraceViewer (a Jaeger image by digest: scripts/push-images.sh builds and pushes one; `npm run local` sets it)" });
  }
  return v;
};

/** A directory agent is built by the stack, or (images.build false) given by digest in images.userAgents. */
const agentSources: Rule = (c) => {
  const v: RuleViolation[] = [];
  const prebuilt = c.images.userAgents ?? {};
  c.agents.forEach((a, i) => {
    if (a.source.kind === "directory" && !c.images.build && prebuilt[a.name] === undefined) {
      v.push({ path: ["agents", i, "source"], message: `is a directory, and images.build is false: set images.userAgents.${a.name} to its image by digest (scripts/local.sh builds it), or let the stack build it` });
    }
    if (a.userTokensSecret !== undefined && a.identity !== undefined) {
      v.push({ path: ["agents", i, "userTokensSecret"], message: "conflicts with identity: move it to identity.userTokensSecret (with identity.mode per-user)" });
    }
    if (a.source.kind !== "builtin" && a.maxConcurrentTurns !== undefined) {
      v.push({ path: ["agents", i, "maxConcurrentTurns"], message: "applies only to the builtin agent (its MAX_CONCURRENT_TURNS); a user's app has its own limits" });
    }
    if (isAgentscope2(a.source) && !c.modelApiKey && !standInModelOn(c)) {
      v.push({ path: ["agents", i, "source", "framework"], message: "agentscope2 needs modelApiKey (pulumi config set --secret modelApiKey <key>): its launcher refuses to start without a model key" });
    }
    v.push(...workspaceViolations(c, a, i));
    if (a.tasks !== undefined && (a.source.kind === "builtin" || isAgentscope2(a.source))) {
      v.push({ path: ["agents", i, "tasks"], message: "applies only to an agent with source directory or image and framework agentscope-runtime (its @agent_app.task functions run on the workers)" });
    }
    if (a.tasks !== undefined && c.acs.enabled && !isAcsSize(a.tasks.cpu, a.tasks.memoryGiB)) {
      v.push({ path: ["agents", i, "tasks"], message: `cpu ${a.tasks.cpu} / memoryGiB ${a.tasks.memoryGiB} is not an ACS size (0.5 vCPU and 1 GiB steps)` });
    }
  });
  if (!c.images.build && c.agents.some((a) => podWorkspacesOn(a)) && !c.images.workspace) {
    v.push({ path: ["images", "workspace"], message: "is required when images.build is false and an agentscope2 agent's workspaces are pods (the workspace image by digest: scripts/push-images.sh builds it; `npm run local` sets it)" });
  }
  if (!c.images.build && c.sandbox.egress.mode === "allowList" && !c.images.egressProxy) {
    v.push({ path: ["images", "egressProxy"], message: "is required when images.build is false and sandbox.egress.mode is allowList (the egress proxy image by digest: scripts/push-images.sh builds it)" });
  }
  if (c.images.egressProxy !== undefined && (c.images.build || c.sandbox.egress.mode !== "allowList")) {
    v.push({ path: ["images", "egressProxy"], message: "applies only with images.build false and sandbox.egress.mode allowList" });
  }
  if (c.images.workspace !== undefined && (c.images.build || !c.agents.some((a) => podWorkspacesOn(a)))) {
    v.push({ path: ["images", "workspace"], message: "applies only with images.build false and an agentscope2 agent whose workspaces are pods" });
  }
  for (const name of Object.keys(prebuilt)) {
    if (c.images.build) v.push({ path: ["images", "userAgents", name], message: "applies only with images.build false (the stack builds directory agents itself)" });
    else if (!c.agents.some((a) => a.name === name && a.source.kind === "directory")) v.push({ path: ["images", "userAgents", name], message: `names no agent with a directory source (agents: ${c.agents.map((a) => a.name).join(", ")})` });
  }
  return v;
};

type AgentConfig = ParsedStackConfig["agents"][number];

/** An agentscope2 agent whose workspaces are pods: the default for it. */
export function podWorkspacesOn(a: AgentConfig): boolean {
  return isAgentscope2(a.source) && (a.workspaces?.kind ?? "pods") === "pods";
}

/**
 * The smallest disk of ACK's default disk StorageClasses (ESSD PL1 first): "容量大小最低为20 GiB" (ACK
 * "使用云盘动态存储卷", help.aliyun.com/document_detail/134859.html); ACS's default class tries
 * cloud_essd first too (ACS "Cloud disk storage volume overview"). The CSI driver refuses a smaller
 * request unless the class sets volumeSizeAutoAvailable: kubernetes-sigs/alibaba-cloud-csi-driver
 * pkg/disk (`MinimumDiskSizeInGB = 20`, checked in CreateVolume).
 */
export const ALIBABA_MIN_DISK_GIB = 20;

/** A pod workspace's storage kind: as configured, else emptyDir in local and a claim elsewhere. */
export function workspaceStorageKind(c: Pick<ParsedStackConfig, "environment">, w: AgentConfig["workspaces"]): "emptyDir" | "persistentVolumeClaim" {
  return w?.storage ?? (c.environment === "local" ? "emptyDir" : "persistentVolumeClaim");
}

function workspaceViolations(c: ParsedStackConfig, a: AgentConfig, i: number): RuleViolation[] {
  const w = a.workspaces;
  if (w === undefined) return [];
  const at = (...key: string[]) => ["agents", i, "workspaces", ...key];
  if (!isAgentscope2(a.source)) return [{ path: at(), message: "applies only to an agent with framework agentscope2 (an AgentApp runs code in the sandbox pool)" }];
  const v: RuleViolation[] = [];
  if (w.kind === "local") {
    if (c.environment !== "local") v.push({ path: at("kind"), message: `"local" runs the agent's tool commands inside the agent's own container; it is for the local environment only (use "pods")` });
    for (const key of ["cpu", "memoryGiB", "storage", "storageGiB", "storageClassName"] as const) {
      if (w[key] !== undefined) v.push({ path: at(key), message: `applies only to kind "pods"` });
    }
    return v;
  }
  const storage = workspaceStorageKind(c, w);
  if (storage === "emptyDir" && w.storageClassName !== undefined) v.push({ path: at("storageClassName"), message: `applies only to storage "persistentVolumeClaim"` });
  for (const key of ["retainDays", "reaper"] as const) {
    if (storage === "emptyDir" && w[key] !== undefined) v.push({ path: at(key), message: `applies only to storage "persistentVolumeClaim" (an emptyDir goes with its pod; there is no claim to reap)` });
  }
  if (w.warmPool !== undefined && w.isolation === "per_user") {
    v.push({ path: at("warmPool"), message: `needs isolation per_session or per_agent: per_user workspace ids are a hash of the user id, so no session ever takes a warm workspace` });
  }
  if (storage === "persistentVolumeClaim" && c.platform === "alicloud" && w.storageClassName === undefined && w.storageGiB !== undefined && w.storageGiB < ALIBABA_MIN_DISK_GIB) {
    v.push({ path: at("storageGiB"), message: `must be at least ${ALIBABA_MIN_DISK_GIB} with the default disk StorageClass (ACK's and ACS's smallest ESSD PL1 disk); set storageClassName to a class of smaller disks, or storage "emptyDir"` });
  }
  return v;
}

const RULES: readonly Rule[] = [platformKeys, network, cluster, prodSafety, sandboxImages, redisStorage, registry, agents, agentSources, standInModel, sandbox, images, exposure, managedRedisPassword, observability, traceViewer];

/** Every cross-key rule broken by a config that already passed the schema. */
export function checkRules(config: ParsedStackConfig): RuleViolation[] {
  return RULES.flatMap((rule) => rule(config));
}
