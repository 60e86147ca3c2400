import { z } from "zod";
import { isIpv4Cidr, parseIpv4Cidr } from "../components/shared/cidr";
import { MAX_ZONES } from "../components/alicloud/network-layout";
import { DEFAULT_TAIR_INSTANCE_CLASS } from "../components/alicloud/tair-classes";
import { ACS_COMPUTE_CLASSES, ACS_COMPUTE_QOS } from "../components/workload/acs";
import { SANDBOX_TYPES } from "../components/workload/sandbox-types";
import { EGRESS_MODES, egressNameProblem } from "../components/workload/egress";
import { WORKSPACE_ISOLATIONS } from "../components/workload/agent-workspaces";
import { GATEWAY_CPU, GATEWAY_MEMORY_GIB } from "../components/workload/agent-runtime";
import type { EnvironmentDefaults } from "./defaults";
import { ENVIRONMENTS } from "./defaults";
import { agentSourceSchema } from "./agent-source";
import { identitySchema } from "./identity";

// `pulumi config set --path` stores integers as numbers and everything else as strings ("0.5", "1.10"):
// convert leaves where the schema expects the other type, never by blanket coercion ("" would become 0).
// Source: https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/ ("integers are treated as
// numbers. All other values are treated as strings").
const num = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v), schema);
const str = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === "number" ? String(v) : v), schema);

const dnsLabel = z
  .string()
  .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS label: lower-case letters, digits and '-', starting with a letter")
  .max(30, "must be at most 30 characters (it prefixes Kubernetes object names)");

const cidr = z.string().superRefine((value, ctx) => {
  const problem = cidrProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `must be an IPv4 CIDR block such as 10.0.0.0/16: ${problem}` });
});

function cidrProblem(value: string): string | undefined {
  try {
    parseIpv4Cidr(value);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const privateRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
function insidePrivateRange(value: string): boolean {
  const block = parseIpv4Cidr(value);
  return privateRanges.some((range) => {
    const r = parseIpv4Cidr(range);
    return block.first >= r.first && block.first + block.size <= r.first + r.size;
  });
}

// vSwitch masks must be /16../29 (VPC docs); the layout cuts pods at /(p+3), so p is 13..16.
const vpcCidr = cidr
  .refine((v) => !isIpv4Cidr(v) || insidePrivateRange(v), "must lie inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
  .refine((v) => { const p = Number(v.split("/")[1]); return !isIpv4Cidr(v) || (p >= 13 && p <= 16); }, "must have a prefix length from /13 to /16 (pod vSwitches are cut at prefix+3, and vSwitch masks must be /16 to /29)");

const imageByDigest = z
  .string()
  .regex(/^[^\s@]+@sha256:[0-9a-f]{64}$/, "must be pinned by digest: <repository>@sha256:<64 hex digits>");

const zoneId = z.string().regex(/^[a-z]{2}-[a-z0-9-]+$/, "must be an Alibaba Cloud zone id such as cn-hangzhou-i");

const rfc3339 = z.iso.datetime({ offset: true, error: "must be an RFC 3339 time with offset, e.g. 2026-01-03T02:00:00+08:00" });

const weekday = z.enum(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]);

export function networkSchema(d: EnvironmentDefaults) {
  return z.strictObject({
    vpcCidr: vpcCidr.default("10.0.0.0/16"),
    zones: z.array(zoneId).min(d.minZones, `needs at least ${d.minZones} zone(s) in this environment`).max(MAX_ZONES).optional(),
    existingVpcId: z.string().regex(/^vpc-[a-z0-9]+$/, "must be a VPC id such as vpc-bp1...").optional(),
    existingNodeVswitchIds: z.array(z.string().regex(/^vsw-[a-z0-9]+$/, "must be a vSwitch id such as vsw-bp1...")).min(d.minZones).optional(),
    existingPodVswitchIds: z.array(z.string().regex(/^vsw-[a-z0-9]+$/, "must be a vSwitch id such as vsw-bp1...")).min(d.minZones).optional(),
    natBandwidthMbps: num(z.number().int().min(1).max(1000)).default(100),
  });
}

export function clusterSchema(d: EnvironmentDefaults) {
  return z.strictObject({
    existingClusterId: z.string().regex(/^c[a-z0-9]{10,}$/, "must be an ACK cluster id such as c8a1b2...").optional(),
    name: dnsLabel.optional(),
    clusterSpec: z.enum(["ack.pro.small", "ack.pro.xlarge", "ack.standard"]).default("ack.pro.small"),
    version: z.string().regex(/^1\.\d+\.\d+-aliyun\.\d+$/, "must be an ACK version such as 1.34.1-aliyun.1").optional(),
    serviceCidr: cidr.default("192.168.0.0/16"),
    proxyMode: z.enum(["ipvs", "iptables"]).default("ipvs"),
    deletionProtection: z.boolean().default(d.deletionProtection),
    cleanupOnDestroy: z.boolean().default(d.cleanupOnDestroy),
    auditLogs: z.boolean().default(d.auditLogs),
    controlPlaneLogs: z.boolean().default(d.auditLogs),
    logTtlDays: num(z.number().int().min(1).max(3650)).default(30),
    maintenanceWindow: z
      .strictObject({
        weeklyPeriod: z.array(weekday).min(1).default(["Saturday"]),
        startTime: rfc3339.default("2026-01-03T02:00:00+08:00"),
        duration: z.string().regex(/^([1-9]|1\d|2[0-4])h$/, "must be whole hours from 1h to 24h").default("4h"),
      })
      .prefault({}),
    autoUpgradeChannel: z.enum(["patch", "stable", "rapid", "none"]).default("patch"),
    /** Managed ACR credential helper config, keys as the add-on's schema names them (README "Pull credentials"). */
    acrCredentialHelperConfig: z.record(z.string(), z.unknown()).optional(),
    systemNodePool: z
      .strictObject({
        instanceTypes: z.array(z.string().regex(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, "must be an ECS instance type such as ecs.g7.xlarge")).min(1).default(["ecs.g7.xlarge", "ecs.g8i.xlarge"]),
        minSize: num(z.number().int().min(1).max(50)).default(d.systemNodePool.minSize),
        maxSize: num(z.number().int().min(1).max(100)).default(d.systemNodePool.maxSize),
        systemDiskSizeGiB: num(z.number().int().min(40).max(2048)).default(120),
        systemDiskCategory: z.enum(["cloud_essd", "cloud_auto", "cloud_efficiency"]).default("cloud_essd"),
      })
      .prefault({}),
  });
}

export function registrySchema(d: EnvironmentDefaults) {
  return z.strictObject({
    existingInstanceId: z.string().regex(/^cri-[a-z0-9]+$/, "must be an ACR EE instance id such as cri-abc123").optional(),
    instanceName: dnsLabel.optional(),
    instanceType: z.enum(["Basic", "Standard", "Advanced"]).default("Standard"),
    periodMonths: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(6), z.literal(12), z.literal(24), z.literal(36)]).default(1),
    namespace: dnsLabel.default("agentscope"),
    tagImmutability: z.boolean().default(d.tagImmutability),
    /** Pushers' egress CIDRs for ACR's internet endpoint; omit to push over the VPC endpoint from inside the VPC. */
    pushFromCidrs: z.array(cidr).min(1).optional(),
  });
}

export function acsSchema(d: EnvironmentDefaults) {
  return z
    .strictObject({
      enabled: z.boolean().default(d.acsEnabled),
      computeClass: z.enum(ACS_COMPUTE_CLASSES).default("general-purpose"),
      computeQos: z.enum(ACS_COMPUTE_QOS).default("default"),
      /**
       * Sandboxes (and the egress proxy) also isolated by Poseidon's TrafficPolicies, from the same
       * sandbox.egress config, plus a cluster-wide GlobalTrafficPolicy that denies the metadata
       * service; Poseidon's TrafficPolicy switch is set through the add-on's config. Needs sandboxes
       * on ACS and Poseidon >= v0.7.0. Default false until a first real `up` has checked what
       * docs/first-real-up.md lists (docs/sandbox-egress.md).
       */
      trafficPolicy: z.boolean().default(false),
    })
    .prefault({});
}

const modelSchema = z.strictObject({
  provider: z.enum(["dashscope", "openai"]).default("dashscope"),
  name: str(z.string().min(1)).default("qwen-turbo"),
  baseUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://models.example.com/v1" }).optional(),
});

const warmBound = num(z.number().int().min(0).max(50));
/** agents[].workspaces.warmPool: a fixed `size`, or `min`/`max` with autoscaling (WorkspaceWarmPool). */
const workspaceWarmPoolSchema = z
  .strictObject({
    size: num(z.number().int().min(1).max(50)).optional(),
    min: warmBound.optional(),
    max: num(z.number().int().min(1).max(50)).optional(),
    headroom: warmBound.default(1),
    scaleDownAfterSeconds: num(z.number().int().min(30).max(86_400)).default(300),
  })
  .superRefine((p, ctx) => {
    if (p.size !== undefined && (p.min !== undefined || p.max !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["size"], message: "give either size (fixed) or min and max (autoscaled), not both" });
    } else if (p.size === undefined && (p.min === undefined || p.max === undefined)) {
      ctx.addIssue({ code: "custom", path: [p.min === undefined ? "min" : "max"], message: "give size (fixed), or both min and max (autoscaled)" });
    } else if (p.min !== undefined && p.max !== undefined && p.min > p.max) {
      ctx.addIssue({ code: "custom", path: ["min"], message: "min must not exceed max" });
    }
  });

/**
 * An AgentScope 2.x agent's workspaces (components/workload/agent-workspaces.ts): hardened pods in
 * the sandbox namespace (default), or `local` (the agent's own container; environment local only).
 * Defaults resolved in config/workload-args.ts: size of a sandbox, storage emptyDir in local and a
 * claim elsewhere.
 */
const workspacesSchema = z.strictObject({
  kind: z.enum(["pods", "local"]).default("pods"),
  cpu: num(z.number().positive().max(16)).optional(),
  memoryGiB: num(z.number().positive().max(64)).optional(),
  storage: z.enum(["emptyDir", "persistentVolumeClaim"]).optional(),
  storageGiB: num(z.number().int().min(1).max(2048)).optional(),
  storageClassName: z.string().min(1).optional(),
  isolation: z.enum(WORKSPACE_ISOLATIONS).default("per_agent"),
  idleMinutes: num(z.number().int().min(1).max(10_080)).default(60),
  /**
   * Workspaces started ahead, per agent replica (docs/workspaces.md): `size` keeps that many warm,
   * fixed; `min`/`max` follow the claim rate (plus `headroom`) and fall after
   * `scaleDownAfterSeconds` without demand. Default none.
   */
  warmPool: workspaceWarmPoolSchema.optional(),
  /** storage persistentVolumeClaim: a claim nobody used this many days is deleted by the claim reaper (default 30). */
  retainDays: num(z.number().int().min(1).max(3650)).optional(),
  /** storage persistentVolumeClaim: the claim reaper's CronJob (default daily at 03:17, dry run: it lists, deletes nothing until proved on a real node). */
  reaper: z.strictObject({
    schedule: str(z.string().regex(/^\s*[\d*/,-]+(\s+[\d*/,-]+){4}\s*$/, "must be five cron fields of digits, *, /, - and , such as \"17 3 * * *\"")).default("17 3 * * *"),
    /** List what would be deleted, delete nothing (the default until the reaper has run on a real node: set false to delete). */
    dryRun: z.boolean().default(true),
  }).optional(),
});

/** An AgentApp's `@agent_app.task`s on a worker Deployment (components/workload/agent-task-worker.ts). */
const tasksSchema = z.strictObject({
  workers: num(z.number().int().min(1).max(50)).default(1),
  concurrency: num(z.number().int().min(1).max(64)).default(2),
  cpu: num(z.number().positive().max(16)).default(0.5),
  memoryGiB: num(z.number().positive().max(64)).default(1),
});

export function agentSchema(d: EnvironmentDefaults) {
  return z.strictObject({
    name: dnsLabel,
    displayName: str(z.string().min(1).max(64)).optional(),
    model: modelSchema.prefault({}),
    replicas: z
      .strictObject({ min: num(z.number().int().min(1).max(100)).default(d.agentReplicas.min), max: num(z.number().int().min(1).max(500)).default(d.agentReplicas.max) })
      .prefault({}),
    // The gateway sidecar takes GATEWAY_CPU / GATEWAY_MEMORY_GIB of the pod; the agent needs as much again.
    cpu: num(z.number().min(2 * GATEWAY_CPU, `must be at least ${2 * GATEWAY_CPU} vCPU: the gateway sidecar takes ${GATEWAY_CPU} of the pod and the agent needs at least as much`).max(64, "must be at most 64 vCPU")).default(1),
    memoryGiB: num(z.number().min(2 * GATEWAY_MEMORY_GIB, `must be at least ${2 * GATEWAY_MEMORY_GIB} GiB: the gateway sidecar takes ${GATEWAY_MEMORY_GIB} GiB of the pod and the agent needs at least as much`).max(512, "must be at most 512 GiB")).default(2),
    sandboxTypes: z.array(z.enum(SANDBOX_TYPES)).min(1).default(["base"]),
    /** Where the code comes from: builtin (Friday, default), directory (built by the stack) or image. */
    source: agentSourceSchema.default({ kind: "builtin" }),
    /**
     * A Secret in the agents namespace, managed outside the stack, whose key `tokens.json` maps the
     * SHA-256 (hex) of each user's token to that user's id; its gateway then knows callers one by
     * one (components/assets/gateway.py GATEWAY_USER_TOKENS_FILE). The same as
     * `identity: { mode: per-user, userTokensSecret }`, which is the key to use.
     */
    userTokensSecret: dnsLabel.optional(),
    /**
     * Builtin agent only: turns one pod runs at once, past which a turn gets 429 with Retry-After
     * (MAX_CONCURRENT_TURNS). Default: sized from the pod's cpu and memoryGiB
     * (components/workload/agent-runtime.ts defaultMaxConcurrentTurns).
     */
    maxConcurrentTurns: num(z.number().int().min(1).max(10_000)).optional(),
    /** Who is calling: shared-token (default, the caller names the user) or per-user (docs/identity.md). */
    identity: identitySchema.optional(),
    /**
     * The agent gateway's limits for slow or too many clients (components/assets/gateway.py): seconds a
     * connection has to send its headers (default 10), then its body (default 30), else 408; open
     * connections past which a request gets 503 (default 1000). docs/agent-service.md.
     */
    gatewayLimits: z
      .strictObject({
        headerTimeoutSeconds: num(z.number().int().min(1).max(300)).optional(),
        bodyTimeoutSeconds: num(z.number().int().min(1).max(3600)).optional(),
        maxConnections: num(z.number().int().min(10).max(100_000)).optional(),
      })
      .optional(),
    /** framework agentscope2 only: where its workspaces run (default pods in the sandbox namespace). */
    workspaces: workspacesSchema.optional(),
    /** A user's AgentApp (agentscope-runtime 1.0.x or 1.1.x): run its `@agent_app.task`s on workers, with the stack's Redis as the broker. */
    tasks: tasksSchema.optional(),
  });
}

const poolBound = num(z.number().int().min(0).max(200));
/** Warm pool autoscaling of one sandbox type (SandboxPool `autoscaling`). */
const autoscalingSchema = z
  .strictObject({
    /** Warm sandboxes kept when idle: what the pool costs at rest. */
    min: poolBound,
    /** Most warm sandboxes. */
    max: poolBound,
    /** Warm sandboxes beyond what the claim rate needs (default 1). */
    headroom: poolBound.default(1),
  })
  .refine((a) => a.min <= a.max, { message: "min must not exceed max", path: ["min"] });

const egressName = z.string().superRefine((name, ctx) => {
  const problem = egressNameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: `${JSON.stringify(name)} ${problem}` });
});

/** Where sandboxes may connect (docs/sandbox-egress.md). */
export function egressSchema(d: EnvironmentDefaults) {
  return z
    .strictObject({
      /** none: nowhere; allowList: only `allow`, through the egress proxy; internet: the public internet (default: none in prod, internet elsewhere). */
      mode: z.enum(EGRESS_MODES).default(d.sandboxEgressMode),
      /** Exact host names sandboxes may reach with mode allowList, e.g. pypi.org (no wildcards, no IP addresses). */
      allow: z.array(egressName).max(200).default([]),
    })
    .superRefine((e, ctx) => {
      if (e.mode === "allowList" && e.allow.length === 0) {
        ctx.addIssue({ code: "custom", path: ["allow"], message: "must list at least one host name with mode allowList (to allow nothing, use mode none)" });
      }
      if (e.mode !== "allowList" && e.allow.length > 0) {
        ctx.addIssue({ code: "custom", path: ["allow"], message: `applies only with mode allowList (mode is ${e.mode})` });
      }
      const seen = new Set<string>();
      e.allow.forEach((name, i) => {
        if (seen.has(name)) ctx.addIssue({ code: "custom", path: ["allow", i], message: `lists ${JSON.stringify(name)} twice` });
        seen.add(name);
      });
    })
    .prefault({});
}

export function sandboxSchema(d: EnvironmentDefaults) {
  return z
    .strictObject({
      types: z.array(z.enum(SANDBOX_TYPES)).min(1).default(["base"]),
      poolSize: num(z.number().int().min(0).max(200)).default(d.sandboxPoolSize),
      maxInstances: num(z.number().int().min(1).max(5000)).default(50),
      /** Per type: warm pool scaled from the claim rate within [min, max] (default none: poolSize, fixed). */
      autoscaling: z.partialRecord(z.enum(SANDBOX_TYPES), autoscalingSchema).optional(),
      /** Seconds before an autoscaled pool goes down once its demand fell. */
      scaleDownAfterSeconds: num(z.number().int().min(30).max(86_400)).default(300),
      /** A session idle this long has its sandboxes released (the manager's HEARTBEAT_TIMEOUT). */
      sessionIdleTimeoutSeconds: num(z.number().int().min(30).max(86_400)).default(300),
      /** How often the manager checks that agent pods holding sandboxes exist; a dead one's are released. */
      ownerCheckSeconds: num(z.number().int().min(2).max(50, "must be at most 50, so a dead agent's sandboxes are released within a minute")).default(10),
      isolation: z.enum(["acs", "runtime-class", "none"]).optional(),
      runtimeClassName: z.enum(["runv", "gvisor", "kata", "kata-qemu", "kata-clh"]).optional(),
      /** Must be 1: every manager replica refills the shared warm pool without a lock (SandboxPool). */
      managerReplicas: num(z.number().int().min(1).max(1, "must be 1: every sandbox manager replica refills the shared warm pool without a lock, so more would overfill it")).optional(),
      cpu: num(z.number().positive().max(16)).default(1),
      /**
       * vCPU limit of a sandbox (default: `cpu`, requests = limits). Above `cpu`, a sandbox may use
       * idle CPU of its node, to start faster (Burstable); not on ACS, which sizes a pod by one value.
       */
      cpuLimit: num(z.number().positive().max(16)).optional(),
      memoryGiB: num(z.number().positive().max(64)).default(2),
      /** vCPU of the sandbox manager (default 0.5; 0.25 in local). */
      managerCpu: num(z.number().min(0.1).max(8)).default(d.supportCpu),
      /**
       * vCPU limit of the sandbox manager (default: `managerCpu`, requests = limits). Above it, the
       * manager may use idle CPU of its node in a burst of claims (Burstable); not on ACS.
       */
      managerCpuLimit: num(z.number().positive().max(16)).optional(),
      /**
       * The tag the manager names `runtime-sandbox-<type>` images by; pods run the digest of
       * imageDigests. Default: `latest` on platform kubernetes, on Alibaba Cloud a tag derived from the
       * digests (config/load.ts sandboxImageTag), where `latest` is refused (config/rules.ts).
       */
      imageTag: str(z.string().regex(/^[\w][\w.-]{0,127}$/, "must be an image tag")).optional(),
      /** Pin the mirrored runtime-sandbox images: type → `<repository>@sha256:...` (default: by tag). */
      imageDigests: z.partialRecord(z.enum(SANDBOX_TYPES), imageByDigest).optional(),
      /** Where sandboxes may connect: none, allowList (names, through the egress proxy) or internet. */
      egress: egressSchema(d),
    })
    .superRefine((s, ctx) => {
      if (s.cpuLimit !== undefined && s.cpuLimit < s.cpu) {
        ctx.addIssue({ code: "custom", path: ["cpuLimit"], message: `must be at least sandbox.cpu (${s.cpu})` });
      }
      if (s.managerCpuLimit !== undefined && s.managerCpuLimit < s.managerCpu) {
        ctx.addIssue({ code: "custom", path: ["managerCpuLimit"], message: `must be at least sandbox.managerCpu (${s.managerCpu})` });
      }
      const scaled = Object.entries(s.autoscaling ?? {});
      for (const [type] of scaled) {
        if (!s.types.includes(type as (typeof s.types)[number])) {
          ctx.addIssue({ code: "custom", path: ["autoscaling", type], message: `sandbox.types does not pool "${type}" (it pools ${s.types.join(", ")})` });
        }
      }
      // Without autoscaling, config/rules.ts checks poolSize against maxInstances (one problem, not two).
      const warmMax = scaled.reduce((n, [, a]) => n + (a?.max ?? 0), 0) + s.poolSize * (s.types.length - scaled.length);
      if (scaled.length > 0 && warmMax > s.maxInstances) {
        ctx.addIssue({ code: "custom", path: ["autoscaling"], message: `the warm pools can reach ${warmMax} sandboxes (autoscaling max, poolSize for the other types), more than maxInstances (${s.maxInstances})` });
      }
    })
    .prefault({});
}

export function redisSchema(d: EnvironmentDefaults) {
  return z
    .strictObject({
      mode: z.enum(["in-cluster", "managed"]).default(d.redisMode),
      /** In-cluster Redis's disk (default 5; 20 on Alibaba Cloud, the CSI disk driver's minimum: config/rules.ts). */
      storageGiB: num(z.number().int().min(1).max(1024)).optional(),
      /** vCPU of in-cluster Redis (default 0.5; 0.25 in local). */
      cpu: num(z.number().min(0.1).max(8)).default(d.supportCpu),
      storageClassName: z.string().min(1).optional(),
      /** In-cluster Redis image by digest, e.g. a mirror in ACR (default: the official image). */
      image: imageByDigest.optional(),
      /** Managed Redis's class; the default pairs with engine 6.0/7.0 (components/alicloud/managed-redis.ts). */
      instanceClass: z.string().regex(/^redis\.[\w.]+$/, "must be a Tair/Redis instance class such as redis.shard.small.2.ce").default(DEFAULT_TAIR_INSTANCE_CLASS),
      engineVersion: z.enum(["6.0", "7.0"]).default("7.0"),
    })
    .prefault({});
}

export const exposureSchema = z
  .strictObject({
    type: z.enum(["cluster", "internal-lb", "public-lb"]).default("cluster"),
    allowedCidrs: z.array(cidr).default([]),
  })
  .prefault({});

export function imagesSchema() {
  return z
    .strictObject({
      build: z.boolean().default(true),
      baseImage: z.string().min(1).default("python:3.11-slim-bookworm"), // the locks are for CPython 3.11 (agent-image/README.md)
      platform: z.enum(["linux/amd64", "linux/arm64"]).default("linux/amd64"),
      agent: imageByDigest.optional(),
      sandboxManager: imageByDigest.optional(),
      /** The stand-in model (target `stand-in-model`), used only while `standInModel` is on. */
      standInModel: imageByDigest.optional(),
      /** The trace viewer (e2e/images/jaeger), used only while observability.localTraceViewer is on. */
      traceViewer: imageByDigest.optional(),
      /** The sandboxes' egress proxy (target `egress-proxy`), with build false and sandbox.egress.mode allowList. */
      egressProxy: imageByDigest.optional(),
      /** The AgentScope 2.x workspace image (target `agentscope2-workspace`), with build false and a 2.x agent whose workspaces are pods. */
      workspace: imageByDigest.optional(),
      /** With build false: each directory agent's image by digest, by agent name (scripts/local.sh builds them). */
      userAgents: z.record(dnsLabel, imageByDigest).optional(),
      registryServer: z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a registry host[:port] such as localhost:5000").optional(),
      registryUsername: z.string().min(1).optional(),
      repositoryPrefix: z.string().regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, "must be a lower-case repository path such as agentscope").default("agentscope"),
      sandboxRegistry: z.string().min(1).optional(),
    })
    .prefault({});
}

const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a Kubernetes namespace name (a DNS label of up to 63 characters)");
const labelMap = z.record(
  z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a Kubernetes label key"),
  z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, "must be a Kubernetes label value"),
);

/** Traces, metrics, alerts and (on ACK) log collection; README "Observability". */
export function observabilitySchema() {
  return z
    .strictObject({
      /** Deploy Jaeger (components/workload/trace-viewer.ts) in `<prefix>-observability`; needs images.traceViewer. */
      localTraceViewer: z.boolean().default(false),
      /** OTLP/HTTP base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); unset: no trace export. */
      otlpEndpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://jaeger-collector.agentscope-observability:4318" }).optional(),
      /** The receiver's address blocks, for the NetworkPolicy egress, when otlpEndpoint names a host outside the cluster. */
      otlpEgressCidrs: z.array(cidr).min(1).optional(),
      /** Prompts, model output, tool arguments and code in spans (`AGENTSCOPE_TRACE_CONTENT`); they may hold personal data. */
      traceContent: z.boolean().default(false),
      /** Metrics listeners, `<name>-metrics` Services and the scrape NetworkPolicy. */
      metrics: z.boolean().default(true),
      /**
       * Namespaces whose pods may scrape the metrics ports (default: where the platform's Prometheus
       * runs, config/observability.ts defaultScrapeNamespaces).
       */
      scrapeNamespaces: z.array(k8sName).min(1).optional(),
      /** Narrow the scrapers to pods with these labels (default: any pod of scrapeNamespaces). */
      scrapePodLabels: labelMap.optional(),
      /** ServiceMonitors and the PrometheusRule: `auto` creates them where the stack installs the managed Prometheus add-on. */
      prometheusOperator: z.enum(["on", "off", "auto"]).default("auto"),
      /** Install ACK's managed Prometheus add-on (default: on for platform alicloud). */
      managedPrometheus: z.boolean().optional(),
      /** The PrometheusRule with the stack's alerts (with the scrape objects). */
      alerts: z.boolean().default(true),
      /** Extra labels on the ServiceMonitors and the PrometheusRule (a Prometheus's serviceMonitorSelector / ruleSelector). */
      monitorLabels: labelMap.default({}),
      logs: z
        .strictObject({
          /** Send agent and manager container logs to SLS (default: on for platform alicloud). */
          enabled: z.boolean().optional(),
          /** SLS project (default `k8s-log-<cluster id>`). */
          project: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "must be an SLS project name: 3..63 of lower-case letters, digits and '-'").optional(),
          logstore: z.string().regex(/^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/, "must be a logstore name: 3..63 of lower-case letters, digits, '-' and '_'").default("agentscope"),
          /** SLS endpoint host (default `<region>-intranet.log.aliyuncs.com`). */
          endpoint: z.string().regex(/^[a-z0-9.-]+$/, "must be a host name such as cn-hangzhou-intranet.log.aliyuncs.com").optional(),
        })
        .prefault({}),
    })
    .prefault({});
}

export const kubernetesSchema = z
  .strictObject({
    context: z.string().min(1).optional(),
    kubeconfigPath: z.string().min(1).optional(),
    storageClassName: z.string().min(1).optional(),
  })
  .prefault({});

// Alibaba Cloud tag keys: up to 128 characters, never starting with "aliyun" or "acs:".
const tagKey = z
  .string()
  .min(1)
  .max(128)
  .refine((k) => !/^(aliyun|acs:)/i.test(k), "tag keys must not start with aliyun or acs:");

const secret = z.string().min(1, "must not be empty");
const token = z.string().min(16, "must be at least 16 characters (it guards an API)");

/** The whole stack's config for one environment, defaults filled in. */
export function stackSchema(d: EnvironmentDefaults) {
  return z.strictObject({
    environment: z.enum(ENVIRONMENTS),
    platform: z.enum(["alicloud", "kubernetes"]).default(d.platform),
    namePrefix: dnsLabel.default("agentscope"),
    tags: z.record(tagKey, str(z.string().max(128, "tag values are at most 128 characters"))).default({}),
    protect: z.boolean().default(d.protect),
    network: networkSchema(d).optional(),
    cluster: clusterSchema(d).optional(),
    registry: registrySchema(d).optional(),
    imageCache: z.boolean().optional(),
    acs: acsSchema(d),
    kubernetes: kubernetesSchema,
    images: imagesSchema(),
    // prefault: zod 4 returns a .default() value unparsed, so the agent's own defaults (model, sizes) would be missing.
    agents: z.array(agentSchema(d)).min(1, "needs at least one agent").max(100).prefault([{ name: "friday" }]),
    /**
     * Replace every agent's model by the stand-in (scripted answers, one code-execution tool call,
     * not a language model). Default: on in `local` when modelApiKey is unset and no agent names its
     * own model endpoint (config/rules.ts standInModelOn); refused in prod.
     */
    standInModel: z.boolean().optional(),
    sandbox: sandboxSchema(d),
    redis: redisSchema(d),
    exposure: exposureSchema,
    observability: observabilitySchema(),
    modelApiKey: secret.optional(),
    agentApiToken: token.optional(),
    sandboxManagerToken: token.optional(),
    redisPassword: token.optional(),
    registryPassword: z.string().min(8, "must be at least 8 characters").max(32, "must be at most 32 characters").optional(),
    localRegistryPassword: secret.optional(),
    /** `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,...`), e.g. the SLS trace AccessKey headers. */
    otlpHeaders: secret.optional(),
  });
}

export type StackSchema = ReturnType<typeof stackSchema>;
export type ParsedStackConfig = z.output<StackSchema>;

/** Keys whose values are secrets: they must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = [
  "modelApiKey",
  "agentApiToken",
  "sandboxManagerToken",
  "redisPassword",
  "registryPassword",
  "localRegistryPassword",
  "otlpHeaders",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** Top-level keys read as raw strings (never JSON-decoded), so "0123" stays a string. */
export const STRING_KEYS: readonly string[] = ["environment", "platform", "namePrefix", ...SECRET_KEYS];
