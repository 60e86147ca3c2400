import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../config";
import { alicloudPlatformArgs } from "../config/cloud-args";
import { workloadArgs } from "../config/workload-args";
import type { FlatConfig, ShippedStack } from "./support/stack-config";
import { PROJECT, SHIPPED_STACKS, shippedStackConfig } from "./support/stack-config";

const ns = (key: string) => `${PROJECT}:${key}`;

function parse(config: FlatConfig, stack = "test") {
  return parseStackConfig({ values: config, project: PROJECT, stack });
}

/** The problems a config is rejected with, or [] when it is accepted. */
function problems(config: FlatConfig, stack = "test"): readonly string[] {
  try {
    parse(config, stack);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

/** Shipped config of `stack` with one structured key changed. */
function edit(stack: ShippedStack, key: string, change: (value: Record<string, unknown>) => unknown): FlatConfig {
  const base = shippedStackConfig(stack);
  const current = base[ns(key)] === undefined ? {} : (JSON.parse(base[ns(key)]!) as Record<string, unknown>);
  return { ...base, [ns(key)]: JSON.stringify(change(current)) };
}

function set(stack: ShippedStack, values: Record<string, unknown>): FlatConfig {
  const base = shippedStackConfig(stack);
  for (const [k, v] of Object.entries(values)) {
    const key = k.includes(":") ? k : ns(k);
    if (v === undefined) delete base[key];
    else base[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return base;
}

const agent = (over: Record<string, unknown> = {}) => ({ name: "friday", cpu: 1, memoryGiB: 2, ...over });

describe("shipped stack configs", () => {
  it.each(SHIPPED_STACKS)("Pulumi.%s.yaml is valid once its secrets are set", (stack) => {
    const c = parse(shippedStackConfig(stack), stack);
    expect(c.environment).toBe(stack);
  });

  it.each(["dev", "prod"] as const)("Pulumi.%s.yaml without secrets asks for the model API key by name", (stack) => {
    expect(problems(shippedStackConfig(stack, false), stack).join("\n")).toContain(`${ns("modelApiKey")}: is required for DashScope models`);
  });

  it("Pulumi.local.yaml without a model API key runs the stand-in model; with one, the real model", () => {
    expect(parse(shippedStackConfig("local", false), "local").standInModel).toBe(true);
    expect(parse(shippedStackConfig("local"), "local").standInModel).toBe(false);
    expect(parse(shippedStackConfig("dev"), "dev").standInModel).toBe(false);
    expect(parse(shippedStackConfig("prod"), "prod").standInModel).toBe(false);
  });

  it("Pulumi.local.yaml lets the sandbox manager burst to 1 vCPU; dev and prod keep it Guaranteed", () => {
    const local = parse(shippedStackConfig("local"), "local");
    expect([local.sandbox.managerCpu, local.sandbox.managerCpuLimit]).toEqual([0.25, 1]);
    expect(workloadArgs(local, {}, undefined).sandbox).toMatchObject({ managerCpu: 0.25, managerCpuLimit: 1 });
    for (const stack of ["dev", "prod"] as const) {
      const c = parse(shippedStackConfig(stack), stack);
      expect(c.sandbox.managerCpuLimit, stack).toBeUndefined();
      expect(workloadArgs(c, {}, undefined).sandbox, stack).not.toHaveProperty("managerCpuLimit");
    }
  });

  it("prod resolves to the safe production defaults", () => {
    const c = parse(shippedStackConfig("prod"), "prod");
    expect(c.platform).toBe("alicloud");
    expect(c.protect).toBe(true);
    expect(c.cluster?.deletionProtection).toBe(true);
    expect(c.cluster?.auditLogs).toBe(true);
    expect(c.cluster?.cleanupOnDestroy).toBe(false);
    expect(c.registry?.tagImmutability).toBe(true);
    expect(c.network?.zones?.length).toBeGreaterThanOrEqual(2);
    expect(c.redis.mode).toBe("managed");
    // A password Tair accepts (three character classes, at most 32 characters) passes.
    expect(parse({ ...shippedStackConfig("prod"), [ns("redisPassword")]: "Tair-accepts-Th1s-0ne" }, "prod").redisPassword).toBe("Tair-accepts-Th1s-0ne");
    // One sandbox manager everywhere: more replicas would overfill the shared warm pool.
    expect(c.sandbox).toMatchObject({ isolation: "acs", managerReplicas: 1 });
    expect(c.acs.enabled).toBe(true);
    expect(c.imageCache).toBe(true);
  });

  it("dev destroys cleanly and local needs no cloud", () => {
    const dev = parse(shippedStackConfig("dev"), "dev");
    expect(dev).toMatchObject({ protect: false, cluster: { deletionProtection: false, cleanupOnDestroy: true }, redis: { mode: "in-cluster" } });
    const local = parse(shippedStackConfig("local"), "local");
    expect(local).toMatchObject({ platform: "kubernetes", acs: { enabled: false }, imageCache: false, sandbox: { isolation: "none", managerReplicas: 1 } });
    expect(local.cluster).toBeUndefined();
    expect(local.network).toBeUndefined();
  });

  it("takes the environment from the stack name when the key is absent", () => {
    const c = parse(set("dev", { environment: undefined }), "dev");
    expect(c.environment).toBe("dev");
  });
});

interface BadCase {
  readonly what: string;
  readonly config: FlatConfig;
  /** The full key the message must name, and a fragment of what it says. */
  readonly key: string;
  readonly says: string;
  readonly stack?: string;
}

const BAD: readonly BadCase[] = [
  { what: "unknown environment", config: set("dev", { environment: "staging" }), key: ns("environment"), says: "must be one of local, dev, prod" },
  { what: "no environment on a custom stack", config: set("dev", { environment: undefined }), stack: "team-a", key: ns("environment"), says: "is required" },
  { what: "unknown platform", config: set("local", { platform: "aws" }), key: ns("platform"), says: "expected one of" },
  { what: "unknown top-level key", config: set("local", { agentz: [] }), key: ns("agentz"), says: "is not a known key" },
  { what: "misspelt nested key", config: edit("prod", "cluster", (c) => ({ ...c, spc: "ack.pro.small" })), key: ns("cluster.spc"), says: "known here: existingClusterId" },
  { what: "wrong type", config: edit("dev", "sandbox", (s) => ({ ...s, poolSize: "five" })), key: ns("sandbox.poolSize"), says: "expected number" },
  { what: "pool size out of range", config: edit("dev", "sandbox", (s) => ({ ...s, poolSize: 1000 })), key: ns("sandbox.poolSize"), says: "<=200" },
  { what: "autoscaling min above max", config: edit("dev", "sandbox", (s) => ({ ...s, autoscaling: { base: { min: 5, max: 2 } } })), key: ns("sandbox.autoscaling.base.min"), says: "must not exceed max" },
  { what: "autoscaling a type the pool does not serve", config: edit("dev", "sandbox", (s) => ({ ...s, autoscaling: { browser: { min: 0, max: 2 } } })), key: ns("sandbox.autoscaling.browser"), says: "does not pool \"browser\"" },
  { what: "autoscaling beyond maxInstances", config: edit("dev", "sandbox", (s) => ({ ...s, maxInstances: 10, autoscaling: { base: { min: 1, max: 20 } } })), key: ns("sandbox.autoscaling"), says: "more than maxInstances (10)" },
  { what: "negative headroom", config: edit("dev", "sandbox", (s) => ({ ...s, autoscaling: { base: { min: 1, max: 2, headroom: -1 } } })), key: ns("sandbox.autoscaling.base.headroom"), says: ">=0" },
  { what: "unknown autoscaling key", config: edit("dev", "sandbox", (s) => ({ ...s, autoscaling: { base: { min: 1, max: 2, target: 3 } } })), key: ns("sandbox.autoscaling.base.target"), says: "is not a known key" },
  { what: "owner checks too rare to reap within a minute", config: edit("dev", "sandbox", (s) => ({ ...s, ownerCheckSeconds: 90 })), key: ns("sandbox.ownerCheckSeconds"), says: "within a minute" },
  { what: "session idle timeout too short", config: edit("dev", "sandbox", (s) => ({ ...s, sessionIdleTimeoutSeconds: 5 })), key: ns("sandbox.sessionIdleTimeoutSeconds"), says: ">=30" },
  { what: "zero replicas", config: set("dev", { agents: [agent({ replicas: { min: 0, max: 2 } })] }), key: ns("agents[0].replicas.min"), says: ">=1" },
  { what: "min replicas above max", config: set("dev", { agents: [agent({ replicas: { min: 3, max: 2 } })] }), key: ns("agents[0].replicas"), says: "must not exceed max" },
  { what: "an agent smaller than its gateway sidecar allows", config: set("local", { agents: [agent({ cpu: 0.25 })] }), key: ns("agents[0].cpu"), says: "at least 0.5 vCPU: the gateway sidecar takes 0.25" },
  { what: "an agent with less memory than its gateway sidecar allows", config: set("local", { agents: [agent({ memoryGiB: 0.25 })] }), key: ns("agents[0].memoryGiB"), says: "at least 0.5 GiB" },
  { what: "one replica in prod", config: set("prod", { agents: [agent({ replicas: { min: 1, max: 2 } })] }), key: ns("agents[0].replicas.min"), says: "at least 2 in prod" },
  { what: "one zone in prod", config: edit("prod", "network", (n) => ({ ...n, zones: ["cn-hangzhou-i"] })), key: ns("network.zones"), says: "at least 2 zone" },
  { what: "malformed CIDR", config: edit("dev", "network", (n) => ({ ...n, vpcCidr: "10.0.0.0/33" })), key: ns("network.vpcCidr"), says: "IPv4 CIDR" },
  { what: "CIDR with host bits", config: edit("dev", "network", (n) => ({ ...n, vpcCidr: "10.16.0.1/16" })), key: ns("network.vpcCidr"), says: "IPv4 CIDR" },
  { what: "public VPC range", config: edit("dev", "network", (n) => ({ ...n, vpcCidr: "8.8.0.0/16" })), key: ns("network.vpcCidr"), says: "must lie inside 10.0.0.0/8" },
  { what: "VPC too small for the layout", config: edit("dev", "network", (n) => ({ ...n, vpcCidr: "10.16.0.0/20" })), key: ns("network.vpcCidr"), says: "/13 to /16" },
  { what: "service CIDR overlapping the pod range", config: edit("prod", "cluster", (c) => ({ ...c, serviceCidr: "10.32.128.0/20" })), key: ns("cluster.serviceCidr"), says: "overlaps the VPC (pod) range 10.32.0.0/16" },
  { what: "unknown ACS compute class", config: set("dev", { acs: { computeClass: "turbo" } }), key: ns("acs.computeClass"), says: "general-purpose" },
  { what: "agent size ACS cannot serve", config: set("dev", { agents: [agent({ cpu: 0.7 })] }), key: ns("agents[0]"), says: "cpu 0.7 / memoryGiB 2 is not an ACS size" },
  { what: "sandbox CPU limit below its request", config: edit("local", "sandbox", (s) => ({ ...s, cpu: 0.5, cpuLimit: 0.25 })), key: ns("sandbox.cpuLimit"), says: "must be at least sandbox.cpu (0.5)" },
  { what: "sandbox CPU limit above its request on ACS", config: edit("dev", "sandbox", (s) => ({ ...s, cpuLimit: 2 })), key: ns("sandbox.cpuLimit"), says: "on ACS, which sizes a pod by one value" },
  { what: "manager CPU limit below its request", config: edit("local", "sandbox", (s) => ({ ...s, managerCpu: 0.5, managerCpuLimit: 0.25 })), key: ns("sandbox.managerCpuLimit"), says: "must be at least sandbox.managerCpu (0.5)" },
  { what: "manager CPU limit above its request with ACS on", config: edit("dev", "sandbox", (s) => ({ ...s, managerCpuLimit: 1 })), key: ns("sandbox.managerCpuLimit"), says: "the manager runs on ACS" },
  { what: "sandbox size ACS cannot serve", config: edit("dev", "sandbox", (s) => ({ ...s, memoryGiB: 1.5 })), key: ns("sandbox"), says: "not an ACS size" },
  { what: "duplicate agent names", config: set("dev", { agents: [agent(), agent()] }), key: ns("agents[1].name"), says: "names must be unique" },
  { what: "agent name not a DNS label", config: set("dev", { agents: [agent({ name: "Friday_1" })] }), key: ns("agents[0].name"), says: "DNS label" },
  { what: "OpenAI-compatible model without a URL", config: set("dev", { agents: [agent({ model: { provider: "openai", name: "llama" } })] }), key: ns("agents[0].model.baseUrl"), says: "is required for provider openai" },
  { what: "model URL not http(s)", config: set("dev", { agents: [agent({ model: { provider: "openai", name: "m", baseUrl: "ftp://x" } })] }), key: ns("agents[0].model.baseUrl"), says: "http(s) URL" },
  { what: "no agents", config: set("dev", { agents: [] }), key: ns("agents"), says: "at least one agent" },
  { what: "sandbox type the pool does not serve", config: set("dev", { agents: [agent({ sandboxTypes: ["gui"] })] }), key: ns("agents[0].sandboxTypes[0]"), says: "not served by the pool" },
  { what: "zone of another region", config: edit("dev", "network", (n) => ({ ...n, zones: ["cn-beijing-a"] })), key: ns("network.zones[0]"), says: "not a zone of region cn-hangzhou" },
  { what: "duplicate zones", config: edit("prod", "network", (n) => ({ ...n, zones: ["cn-hangzhou-i", "cn-hangzhou-i"] })), key: ns("network.zones"), says: "each zone once" },
  { what: "no region for alicloud", config: set("dev", { "alicloud:region": undefined }), key: "alicloud:region", says: "is required for platform alicloud" },
  { what: "registry neither new nor existing", config: set("dev", { registry: { namespace: "x" } }), key: ns("registry.instanceName"), says: "is required to create a new ACR EE instance" },
  { what: "new registry without a password", config: set("prod", { registryPassword: undefined }), key: ns("registryPassword"), says: "pulumi config set --secret registryPassword" },
  { what: "malformed registry instance id", config: set("dev", { registry: { existingInstanceId: "registry-1" } }), key: ns("registry.existingInstanceId"), says: "cri-" },
  { what: "no sandbox isolation in prod", config: edit("prod", "sandbox", (s) => ({ ...s, isolation: "none" })), key: ns("sandbox.isolation"), says: "local laptops only" },
  { what: "runtime class without a name", config: edit("dev", "sandbox", (s) => ({ ...s, isolation: "runtime-class" })), key: ns("sandbox.runtimeClassName"), says: "is required with isolation" },
  { what: "unknown runtime class", config: edit("dev", "sandbox", (s) => ({ ...s, isolation: "runtime-class", runtimeClassName: "docker" })), key: ns("sandbox.runtimeClassName"), says: "runv" },
  { what: "public load balancer without allow-list", config: set("prod", { exposure: { type: "public-lb" } }), key: ns("exposure.allowedCidrs"), says: "never open to all" },
  { what: "internal load balancer without allow-list", config: set("prod", { exposure: { type: "internal-lb" } }), key: ns("exposure.allowedCidrs"), says: "never open to all" },
  { what: "allow-list inside the VPC", config: set("prod", { exposure: { type: "internal-lb", allowedCidrs: ["10.32.0.0/16"] } }), key: ns("exposure.allowedCidrs[0]"), says: "would also admit the cluster's own pods" },
  { what: "load balancer open to everyone", config: set("prod", { exposure: { type: "public-lb", allowedCidrs: ["0.0.0.0/0"] } }), key: ns("exposure.allowedCidrs[0]"), says: "opens the load balancer to everyone" },
  { what: "Redis image by tag", config: set("dev", { redis: { image: "redis:7" } }), key: ns("redis.image"), says: "pinned by digest" },
  { what: "a second sandbox manager", config: edit("dev", "sandbox", (s) => ({ ...s, managerReplicas: 2 })), key: ns("sandbox.managerReplicas"), says: "must be 1: every sandbox manager replica refills the shared warm pool" },
  { what: "sandbox digest for an unknown type", config: edit("dev", "sandbox", (s) => ({ ...s, imageDigests: { desktop: `r/x@sha256:${"a".repeat(64)}` } })), key: ns("sandbox.imageDigests.desktop"), says: "is not a known key (known here: base, browser, filesystem, gui)" },
  { what: "prebuilt image by tag", config: set("dev", { images: { agent: "registry.example.com/agent:latest" } }), key: ns("images.agent"), says: "pinned by digest" },
  { what: "no build and no prebuilt images", config: set("dev", { images: { build: false } }), key: ns("images.agent"), says: "is required when images.build is false" },
  { what: "cloud keys on the kubernetes platform", config: set("local", { cluster: { deletionProtection: true } }), key: ns("cluster"), says: "applies only to platform alicloud" },
  { what: "managed Redis password of one character class", config: set("prod", { redisPassword: "a".repeat(24) }), key: ns("redisPassword"), says: "does not meet Tair's rules" },
  { what: "managed Redis password over 32 characters", config: set("prod", { redisPassword: "Ab1".repeat(11) }), key: ns("redisPassword"), says: "8 to 32 characters" },
  { what: "managed Redis password with a character Tair refuses", config: set("prod", { redisPassword: "Abcdefgh12345678~" }), key: ns("redisPassword"), says: "nothing else" },
  { what: "managed Redis without a cloud", config: set("local", { redis: { mode: "managed" } }), key: ns("redis.mode"), says: "needs platform alicloud" },
  { what: "prod without deletion protection", config: edit("prod", "cluster", (c) => ({ ...c, deletionProtection: false })), key: ns("cluster.deletionProtection"), says: "must stay true in prod" },
  { what: "prod without audit logs", config: edit("prod", "cluster", (c) => ({ ...c, auditLogs: false })), key: ns("cluster.auditLogs"), says: "must stay true in prod" },
  { what: "malformed Kubernetes version", config: edit("dev", "cluster", (c) => ({ ...c, version: "1.34" })), key: ns("cluster.version"), says: "1.34.1-aliyun.1" },
  { what: "node pool min above max", config: edit("dev", "cluster", (c) => ({ ...c, systemNodePool: { minSize: 4, maxSize: 3 } })), key: ns("cluster.systemNodePool"), says: "must be greater than minSize" },
  { what: "node pool min equal to max (the provider needs maxSize > minSize)", config: edit("dev", "cluster", (c) => ({ ...c, systemNodePool: { minSize: 3, maxSize: 3 } })), key: ns("cluster.systemNodePool"), says: "must be greater than minSize (3)" },
  { what: "unknown weekday", config: edit("prod", "cluster", (c) => ({ ...c, maintenanceWindow: { weeklyPeriod: ["Caturday"] } })), key: ns("cluster.maintenanceWindow.weeklyPeriod[0]"), says: "Saturday" },
  { what: "reserved tag key", config: set("dev", { tags: { "aliyun:owner": "me" } }), key: ns("tags.aliyun:owner"), says: "must not start with aliyun" },
  { what: "kube context on alicloud", config: set("dev", { kubernetes: { context: "kind" } }), key: ns("kubernetes"), says: "applies only to platform kubernetes" },
  { what: "stand-in model in prod", config: set("prod", { standInModel: true, modelApiKey: undefined }), key: ns("standInModel"), says: "is refused in prod" },
  { what: "stand-in model and a model API key", config: set("local", { standInModel: true }), key: ns("standInModel"), says: "conflicts with modelApiKey" },
  { what: "stand-in model not a boolean", config: set("local", { standInModel: "yes" }), key: ns("standInModel"), says: "expected boolean" },
  { what: "stand-in model over an agent's own endpoint", config: set("local", { standInModel: true, modelApiKey: undefined, agents: [agent({ model: { provider: "openai", name: "m", baseUrl: "http://vllm:8000/v1" } })] }), key: ns("agents[0].model.baseUrl"), says: "is unused while standInModel is true" },
  { what: "stand-in image by tag", config: set("local", { images: { standInModel: "localhost:5000/agentscope/stand-in-model:latest" } }), key: ns("images.standInModel"), says: "pinned by digest" },
  { what: "no build and no stand-in image", config: set("local", { modelApiKey: undefined, images: { build: false, agent: `r/a@sha256:${"1".repeat(64)}`, sandboxManager: `r/m@sha256:${"2".repeat(64)}` } }), key: ns("images.standInModel"), says: "is required when images.build is false and the stand-in model is on" },
  { what: "prod on a bare kubernetes platform", config: set("prod", { platform: "kubernetes", network: undefined, cluster: undefined, registry: undefined, registryPassword: undefined, redis: { mode: "in-cluster" } }), key: ns("platform"), says: "runs on platform alicloud only" },
];

describe("the stand-in model", () => {
  const local = (values: Record<string, unknown>) => parse(set("local", values), "local");

  it("is on by default only in local with no model API key and no agent endpoint of its own", () => {
    expect(local({ modelApiKey: undefined }).standInModel).toBe(true);
    expect(local({}).standInModel).toBe(false);
    const ownEndpoint = local({ modelApiKey: undefined, agents: [agent({ model: { provider: "openai", name: "llama", baseUrl: "http://vllm.models:8000/v1" } })] });
    expect(ownEndpoint.standInModel).toBe(false);
    expect(problems(set("dev", { modelApiKey: undefined }), "dev").join("\n")).toContain(`${ns("modelApiKey")}: is required`);
    // The missing-key message offers the stand-in only where it is allowed.
    expect(problems(set("dev", { modelApiKey: undefined }), "dev").join("\n")).toContain("or standInModel: true");
    expect(problems(shippedStackConfig("prod", false), "prod").join("\n")).not.toContain("standInModel");
  });

  it("can be turned off without a key only by giving agents a model that needs none", () => {
    expect(problems(set("local", { modelApiKey: undefined, standInModel: false }), "local").join("\n")).toContain(`${ns("modelApiKey")}: is required for DashScope models`);
  });

  it("reaches the workload args: built into the registry next to the agent", () => {
    const w = workloadArgs(local({ modelApiKey: undefined }), {}, undefined);
    expect(w.standInModel).toBe(true);
    expect(w.images.build?.standInModelRepository).toBe("localhost:5000/agentscope/stand-in-model");
    const off = workloadArgs(local({}), {}, undefined);
    expect(off.standInModel).toBeUndefined();
    expect(off.images.build?.standInModelRepository).toBeUndefined();
  });

  it("can be turned on in dev, which then declares its ACR repository", () => {
    const on = parse(set("dev", { modelApiKey: undefined, standInModel: true }), "dev");
    expect(on.standInModel).toBe(true);
    // Beside the sandbox image and the in-cluster Redis repositories every dev stack declares.
    const always = ["agent", "sandbox-manager", "runtime-sandbox-base", "redis"];
    expect(alicloudPlatformArgs(on, {}).registry.repositories).toEqual([...always, "stand-in-model"]);
    expect(alicloudPlatformArgs(parse(shippedStackConfig("dev"), "dev"), {}).registry.repositories).toEqual(always);
  });

  it("takes a prebuilt digest when images are not built", () => {
    const digest = `localhost:5000/agentscope/stand-in-model@sha256:${"6".repeat(64)}`;
    const c = local({ modelApiKey: undefined, images: { build: false, agent: `r/a@sha256:${"1".repeat(64)}`, sandboxManager: `r/m@sha256:${"2".repeat(64)}`, standInModel: digest } });
    expect(c).toMatchObject({ standInModel: true, images: { standInModel: digest } });
  });
});

describe("bad configs", () => {
  it("the table covers at least 25 cases", () => {
    expect(BAD.length).toBeGreaterThanOrEqual(25);
  });

  it.each(BAD)("rejects $what, naming $key", ({ config, key, says, stack }) => {
    const found = problems(config, stack);
    expect(found, "the config was accepted").not.toHaveLength(0);
    const line = found.find((p) => p.startsWith(`${key}: `));
    expect(line, `no problem names ${key}; got:\n${found.join("\n")}`).toBeDefined();
    expect(line).toContain(says);
  });

  it("reports every problem at once, each with what was given", () => {
    const config = set("dev", { agents: [agent({ cpu: 0.3, name: "Bad_Name" })], sandbox: { poolSize: -1 } });
    const found = problems(config);
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/^agentscope-ack:agents\[0\]\.name: .*\(got "Bad_Name"\)$/),
      expect.stringMatching(/^agentscope-ack:sandbox\.poolSize: .*\(got -1\)$/),
    ]));
  });

  it("reports a pool size out of range once, not again as an autoscaling problem (no autoscaling set)", () => {
    expect(problems(edit("local", "sandbox", (s) => ({ ...s, poolSize: 1000 })), "local")).toEqual([
      "agentscope-ack:sandbox.poolSize: Too big: expected number to be <=200 (got 1000)",
    ]);
  });

  it("never prints a secret's value", () => {
    const found = problems(set("dev", { agentApiToken: "short-secret" }));
    expect(found.join("\n")).toContain(`${ns("agentApiToken")}: must be at least 16 characters`);
    expect(found.join("\n")).not.toContain("short-secret");
    expect(found.join("\n")).toContain("value hidden");
  });

  it("throws one ConfigError whose message lists every line", () => {
    expect(() => parse(set("dev", { sandbox: { poolSize: "x" }, acs: { computeQos: "fast" } }))).toThrow(
      /Invalid stack configuration \(2 problems\):\n {2}- agentscope-ack:.*\n {2}- agentscope-ack:/,
    );
  });
});
