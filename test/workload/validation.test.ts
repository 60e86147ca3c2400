/** Argument checks: every component rejects bad args before any resource exists, naming the argument. */
import { describe, expect, it } from "vitest";
import { NO_ACS } from "../../components/workload/acs";
import { ALL_AGENTS_SELECTOR } from "../../components/workload/labels";
import type { AgentRuntimeArgs } from "../../components/workload/agent-runtime";
import { resolveAgentRuntimeArgs } from "../../components/workload/agent-runtime";
import { resolveContainerImageArgs } from "../../components/workload/container-image";
import { resolveNamespacesArgs } from "../../components/workload/namespaces";
import { minimalCidrs, resolveNetworkPoliciesArgs } from "../../components/workload/network-policies";
import { podSecurityLabels } from "../../components/workload/psa";
import { guaranteedResources } from "../../components/workload/resources";
import { DEFAULT_REDIS_IMAGE, renderRedisConfig, resolveInClusterRedisArgs } from "../../components/workload/redis";
import type { SandboxPoolArgs } from "../../components/workload/sandbox-pool";
import { SANDBOX_PORT, dotenvQuote, renderAutoscaling, renderManagerEnv, resolveSandboxPoolArgs, sandboxPodSettings } from "../../components/workload/sandbox-pool";
import { resolveWorkloadsArgs } from "../../components/workload/workloads";
import { workloadsArgs } from "../support/workloads-fixtures";

const DIGEST = `acr.example/agentscope/x@sha256:${"c".repeat(64)}`;

const agentArgs = (over: Partial<AgentRuntimeArgs> = {}, agent: Partial<AgentRuntimeArgs["agent"]> = {}): AgentRuntimeArgs => ({
  namespace: "agents",
  partOf: "agentscope",
  image: DIGEST,
  sandboxManagerUrl: "http://sandbox-manager:8000",
  secrets: { agentApiToken: "a".repeat(32), sandboxManagerToken: "b".repeat(32) },
  agent: { name: "friday", model: { provider: "dashscope", name: "qwen-turbo" }, replicas: { min: 1, max: 2 }, cpu: 1, memoryGiB: 2, sandboxTypes: ["base"], ...agent },
  ...over,
});

const poolArgs = (over: Partial<SandboxPoolArgs> = {}): SandboxPoolArgs => ({
  namespace: "agents",
  sandboxNamespace: "sandboxes",
  partOf: "agentscope",
  image: DIGEST,
  bearerToken: "t".repeat(32),
  images: { registry: "acr.example" },
  isolation: { kind: "none" },
  ...over,
});

describe("ContainerImage args", () => {
  it("needs exactly one of build and prebuilt, and a prebuilt digest", () => {
    expect(() => resolveContainerImageArgs({})).toThrow(/give build .* or prebuilt/);
    expect(() => resolveContainerImageArgs({ prebuilt: "acr.example/agent:latest" })).toThrow(/prebuilt must be pinned by digest/);
    const build = { context: "agent-image", target: "agent", repository: "r/agent", registry: { server: "r", username: "u", password: "p" } };
    expect(() => resolveContainerImageArgs({ prebuilt: DIGEST, build })).toThrow(/mutually exclusive/);
    expect(resolveContainerImageArgs({ build })).toMatchObject({ kind: "build", build: { platform: "linux/amd64", dockerfile: "agent-image/Dockerfile", tag: "" } });
    expect(resolveContainerImageArgs({ prebuilt: DIGEST })).toEqual({ kind: "prebuilt", ref: DIGEST });
  });
});

describe("Namespaces args", () => {
  it("wants two different DNS labels and enforces restricted in both", () => {
    expect(() => resolveNamespacesArgs({ agentsNamespace: "Agents", sandboxNamespace: "s", partOf: "p" })).toThrow(/agentsNamespace must be a DNS label/);
    expect(() => resolveNamespacesArgs({ agentsNamespace: "a", sandboxNamespace: "a", partOf: "p" })).toThrow(/must differ/);
    expect(resolveNamespacesArgs({ agentsNamespace: "a", sandboxNamespace: "s", partOf: "p" })).toMatchObject({ agentsLevel: "restricted", sandboxLevel: "restricted" });
    expect(podSecurityLabels("baseline")).toMatchObject({ "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/audit": "restricted" });
  });
});

describe("AgentRuntime args", () => {
  it("rejects bad agents, naming the argument", () => {
    expect(() => resolveAgentRuntimeArgs(agentArgs({}, { name: "Friday" }))).toThrow(/agent\.name must be a DNS label/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({ image: "acr.example/agent:latest" }))).toThrow(/image must be pinned by digest/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({}, { replicas: { min: 3, max: 2 } }))).toThrow(/replicas\.min \(3\) must not exceed/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({}, { model: { provider: "openai", name: "m" } }))).toThrow(/baseUrl is required/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({ placement: { ...NO_ACS, enabled: true } }, { cpu: 0.75 }))).toThrow(/not an ACS size/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({}, { cpu: 0.25 }))).toThrow(/gateway takes/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({ redis: { host: "r", port: 6379 } }))).toThrow(/redisPassword is required/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({ loadBalancer: { allowedCidrs: [] } }))).toThrow(/never open to all/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({ loadBalancer: { allowedCidrs: ["0.0.0.0/0"] } }))).toThrow(/opens the load balancer to everyone/);
  });

  it("carves the gateway out of the pod's size, so the total stays what the agent asked for", () => {
    expect(resolveAgentRuntimeArgs(agentArgs())).toMatchObject({ appCpu: 0.75, appMemoryGiB: 1.75, gateway: true });
    expect(resolveAgentRuntimeArgs(agentArgs({ gateway: false }))).toMatchObject({ appCpu: 1, appMemoryGiB: 2, gateway: false });
    expect(guaranteedResources(0.75, 1.75)).toEqual({ requests: { cpu: "750m", memory: "1792Mi" }, limits: { cpu: "750m", memory: "1792Mi" } });
  });
});

describe("SandboxPool args", () => {
  it("rejects what the manager cannot run", () => {
    // One pool-refilling replica: upstream's watcher refills the shared pool without a lock.
    expect(() => resolveSandboxPoolArgs(poolArgs({ replicas: 2 }))).toThrow(/replicas must be 1, got 2: every replica refills the shared warm pool/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ images: { registry: "" } }))).toThrow(/images\.registry must name/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ images: { registry: "r", digests: { base: "r/base:1" } } }))).toThrow(/images\.digests\.base must be pinned/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ isolation: { kind: "acs", placement: NO_ACS } }))).toThrow(/enabled ACS placement/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ isolation: { kind: "runtime-class", runtimeClassName: "Kata_QEMU" } }))).toThrow(/runtimeClassName must be a DNS label/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ poolSize: 30, maxInstances: 50, sandboxTypes: ["base", "browser"] }))).toThrow(/exceeds maxInstances/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ containerPrefix: "runtime_sandbox_container_" }))).toThrow(/containerPrefix/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ sandboxTypes: ["desktop" as never] }))).toThrow(/unknown type "desktop"/);
  });

  it("takes a CPU limit above the request only where the pod is not sized by one value", () => {
    expect(() => resolveSandboxPoolArgs(poolArgs({ sandboxCpu: 0.5, sandboxCpuLimit: 0.25 }))).toThrow(/sandboxCpuLimit \(0\.25\) must be at least sandboxCpu \(0\.5\)/);
    const acs = { kind: "acs" as const, placement: { enabled: true, computeClass: "general-purpose" as const, computeQos: "default" as const, imageCache: false } };
    expect(() => resolveSandboxPoolArgs(poolArgs({ isolation: acs, sandboxCpuLimit: 2 }))).toThrow(/must equal sandboxCpu \(1\) with ACS isolation/);
    const burstable = resolveSandboxPoolArgs(poolArgs({ sandboxCpu: 0.25, sandboxCpuLimit: 1, sandboxMemoryGiB: 0.5 }));
    expect(sandboxPodSettings(burstable, "acr.example").resources).toEqual({ requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1000m", memory: "512Mi" } });
    // Unset: requests = limits (Guaranteed), as before.
    expect(sandboxPodSettings(resolveSandboxPoolArgs(poolArgs({ sandboxCpu: 0.25, sandboxMemoryGiB: 0.5 })), "acr.example").resources)
      .toEqual({ requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "250m", memory: "512Mi" } });
  });

  it("takes a manager CPU limit above its request only off ACS, and renders it on the manager alone", () => {
    expect(() => resolveSandboxPoolArgs(poolArgs({ managerCpu: 0.5, managerCpuLimit: 0.25 }))).toThrow(/managerCpuLimit \(0\.25\) must be at least managerCpu \(0\.5\)/);
    const onAcs = { enabled: true, computeClass: "general-purpose" as const, computeQos: "default" as const, imageCache: false };
    expect(() => resolveSandboxPoolArgs(poolArgs({ managerPlacement: onAcs, managerCpu: 0.5, managerCpuLimit: 1 }))).toThrow(/must equal managerCpu \(0\.5\) with an ACS placement/);
    expect(resolveSandboxPoolArgs(poolArgs({ managerPlacement: onAcs, managerCpu: 0.5, managerCpuLimit: 0.5 })).managerCpuLimit).toBe(0.5);
    const burstable = resolveSandboxPoolArgs(poolArgs({ managerCpu: 0.25, managerCpuLimit: 1 }));
    expect([burstable.managerCpu, burstable.managerCpuLimit]).toEqual([0.25, 1]);
    // The sandboxes keep their own sizing.
    expect(sandboxPodSettings(burstable, "acr.example").resources).toEqual({ requests: { cpu: "1000m", memory: "2048Mi" }, limits: { cpu: "1000m", memory: "2048Mi" } });
    // Unset: the limit is the request (Guaranteed), as before.
    expect(resolveSandboxPoolArgs(poolArgs({ managerCpu: 0.25 })).managerCpuLimit).toBe(0.25);
  });

  it("rejects autoscaling the pool could not follow, naming the argument", () => {
    expect(() => resolveSandboxPoolArgs(poolArgs({ autoscaling: { base: { min: 3, max: 2 } } }))).toThrow(/autoscaling\.base\.min \(3\) exceeds autoscaling\.base\.max \(2\)/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ autoscaling: { browser: { min: 0, max: 1 } } }))).toThrow(/autoscaling\.browser: sandboxTypes does not pool "browser"/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ autoscaling: { base: { min: 0, max: 1, headroom: 1.5 } } }))).toThrow(/autoscaling\.base\.headroom must be a whole number/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ maxInstances: 10, autoscaling: { base: { min: 1, max: 11 } } }))).toThrow(/can reach 11 sandboxes .* more than maxInstances \(10\)/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ ownerCheckSeconds: 60 }))).toThrow(/ownerCheckSeconds must be a whole number from 2 to 50/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ scaleDownAfterSeconds: 0 }))).toThrow(/scaleDownAfterSeconds/);
  });

  it("renders the autoscaling the manager's autoscale.parse_policy reads, headroom defaulted", () => {
    const r = resolveSandboxPoolArgs(poolArgs({ sandboxTypes: ["base", "browser"], autoscaling: { base: { min: 1, max: 8 } }, scaleDownAfterSeconds: 120 }));
    expect(JSON.parse(renderAutoscaling(r))).toEqual({ types: { base: { min: 1, max: 8, headroom: 1 } }, scaleDownAfterSeconds: 120 });
    expect(JSON.parse(renderAutoscaling(resolveSandboxPoolArgs(poolArgs())))).toEqual({ types: {}, scaleDownAfterSeconds: 300 });
  });

  it("renders a .env that python-dotenv reads back literally", () => {
    expect(dotenvQuote("a'b\\c")).toBe("'a\\'b\\\\c'");
    expect(() => dotenvQuote("two\nlines")).toThrow(/single-line/);
    const text = renderManagerEnv(resolveSandboxPoolArgs(poolArgs()), { bearerToken: "tok", registry: "acr.example" });
    expect(text).toContain("CONTAINER_DEPLOYMENT='k8s'\n");
    expect(text).toContain("DEFAULT_MOUNT_DIR=''\n");
    expect(text).toContain("REDIS_ENABLED='False'\n");
    expect(text).not.toContain("REDIS_PASSWORD");
  });
});

describe("InClusterRedis args", () => {
  it("needs a digest-pinned image and keeps the password in the config file", () => {
    expect(() => resolveInClusterRedisArgs({ namespace: "a", partOf: "p", password: "x", image: "redis:7" })).toThrow(/image must be pinned by digest/);
    expect(() => resolveInClusterRedisArgs({ namespace: "a", partOf: "p", password: "x", storageGiB: 0 })).toThrow(/storageGiB must be a whole number/);
    expect(resolveInClusterRedisArgs({ namespace: "a", partOf: "p", password: "x" })).toMatchObject({ image: DEFAULT_REDIS_IMAGE, maxMemoryMiB: 768 });
    expect(renderRedisConfig('p"w\\d', 768)).toContain('requirepass "p\\"w\\\\d"\n');
    expect(renderRedisConfig("pw", 768)).toContain("maxmemory-policy noeviction");
  });
});

describe("NetworkPolicies args", () => {
  const base = {
    agentsNamespace: "a",
    sandboxNamespace: "s",
    partOf: "p",
    allAgentsSelector: { ...ALL_AGENTS_SELECTOR },
    agents: [],
    managerSelector: { "app.kubernetes.io/name": "sandbox-manager", "app.kubernetes.io/instance": "p-sandbox-manager" },
    managerPort: 8000,
    sandboxPort: SANDBOX_PORT,
  };
  const agent = { name: "x", podSelector: { "app.kubernetes.io/name": "agentscope-agent", "app.kubernetes.io/instance": "p-x" }, callerPort: 1 };
  it("refuses a sandbox port other than the sandbox image's, and selectors that miss the pods", () => {
    expect(SANDBOX_PORT).toBe(8090);
    expect(() => resolveNetworkPoliciesArgs({ ...base, sandboxPort: 80 })).toThrow("NetworkPolicies: sandboxPort must be 8090 (SANDBOX_PORT), the port sandbox pods listen on, got 80");
    const minimal = { agentsNamespace: "a", sandboxNamespace: "s", partOf: "p", agents: [], managerSelector: base.managerSelector, managerPort: 8000 };
    expect(resolveNetworkPoliciesArgs(minimal)).toMatchObject({ sandboxPort: 8090, allAgentsSelector: { "app.kubernetes.io/name": "agentscope-agent" }, policyPrefix: "" });
    expect(() => resolveNetworkPoliciesArgs({ ...base, allAgentsSelector: { "app.kubernetes.io/name": "agentscope-agnet" } })).toThrow(/allAgentsSelector must hold app\.kubernetes\.io\/name: agentscope-agent/);
    expect(() => resolveNetworkPoliciesArgs({ ...base, agents: [{ ...agent, podSelector: { app: "x" } }] })).toThrow(/agents\[x\]\.podSelector must hold allAgentsSelector's app\.kubernetes\.io\/name: agentscope-agent/);
    expect(() => resolveNetworkPoliciesArgs({ ...base, managerSelector: { app: "m" } })).toThrow(/managerSelector must hold app\.kubernetes\.io\/name: sandbox-manager/);
    expect(() => resolveNetworkPoliciesArgs({ ...base, namePrefix: "Team_B" })).toThrow(/namePrefix/);
    expect(resolveNetworkPoliciesArgs({ ...base, agents: [agent], namePrefix: "team-b" }).policyPrefix).toBe("team-b-");
  });
  it("folds covered blocks and rejects open or malformed allow-lists", () => {
    expect(minimalCidrs(["10.0.0.0/8", "10.1.0.0/16", "100.64.0.0/10", "100.100.100.200/32", "10.0.0.0/8"])).toEqual(["10.0.0.0/8", "100.64.0.0/10"]);
    expect(resolveNetworkPoliciesArgs({ ...base, serviceCidr: "172.21.0.0/20" }).sandboxExcept).not.toContain("172.21.0.0/20");
    expect(resolveNetworkPoliciesArgs({ ...base, sandboxDeniedCidrs: ["47.96.1.2/32"] }).sandboxExcept).toContain("47.96.1.2/32");
    expect(() => resolveNetworkPoliciesArgs({ ...base, serviceCidr: "10.0.0.1/8" })).toThrow(/not an IPv4 CIDR/);
    expect(() => resolveNetworkPoliciesArgs({ ...base, agents: [{ ...agent, callerCidrs: ["0.0.0.0/0"] }] })).toThrow(/would admit everyone/);
    expect(() => resolveNetworkPoliciesArgs({ ...base, callerNamespaces: ["s"] })).toThrow(/must not include the sandbox namespace/);
    expect(() => resolveNetworkPoliciesArgs({ ...base, redis: { cidrs: [], port: 6379 } })).toThrow(/redis\.cidrs must list/);
    expect(() => resolveNetworkPoliciesArgs({ ...base, workspacePodLabel: { key: "", value: "w" } })).toThrow(/workspacePodLabel needs a key and a value/);
  });
});

describe("AgentScopeWorkloads args", () => {
  it("resolves per environment and rejects conflicting choices", () => {
    expect(resolveWorkloadsArgs(workloadsArgs("prod"))).toMatchObject({ zoneSpread: "required", agentsNamespace: "agentscope-agents", isolation: { kind: "acs" } });
    expect(resolveWorkloadsArgs(workloadsArgs("local"))).toMatchObject({ zoneSpread: "preferred", isolation: { kind: "none" } });
    const dev = workloadsArgs("dev");
    expect(() => resolveWorkloadsArgs({ ...dev, sandbox: { ...dev.sandbox, isolation: "none" } })).toThrow(/"none" is for local clusters only/);
    expect(() => resolveWorkloadsArgs({ ...dev, acs: NO_ACS })).toThrow(/needs acs\.enabled/);
    expect(() => resolveWorkloadsArgs({ ...dev, sandbox: { ...dev.sandbox, isolation: "runtime-class" } })).toThrow(/runtimeClassName is required/);
    expect(() => resolveWorkloadsArgs({ ...dev, exposure: { type: "public-lb" } })).toThrow(/never open to all/);
    expect(() => resolveWorkloadsArgs({ ...dev, exposure: { type: "cluster", allowedCidrs: ["10.0.0.0/8"] } })).toThrow(/applies only to a load balancer/);
    expect(() => resolveWorkloadsArgs({ ...dev, platform: "kubernetes", exposure: { type: "internal-lb" } })).toThrow(/implemented for platform alicloud/);
    expect(() => resolveWorkloadsArgs({ ...dev, images: { ...dev.images, agent: DIGEST } })).toThrow(/conflicts with images\.agent/);
    expect(() => resolveWorkloadsArgs({ ...dev, images: {} })).toThrow(/required when images\.build is omitted/);
    expect(() => resolveWorkloadsArgs({ ...dev, agents: [dev.agents[0]!, dev.agents[0]!] })).toThrow(/"friday" twice/);
    expect(() => resolveWorkloadsArgs({ ...dev, agents: [{ ...dev.agents[0]!, sandboxTypes: ["gui"] }] })).toThrow(/sandbox\.types does not serve/);
    // Checked for every agent before any child exists: the second agent's runtime would otherwise
    // throw while the first one's rollout is in flight, and `pulumi up` waits that out.
    const second = { ...dev.agents[0]!, name: "second", cpu: 0.25 };
    expect(() => resolveWorkloadsArgs({ ...dev, agents: [dev.agents[0]!, second] })).toThrow(/agents\[second\]\.cpu must be at least 0\.5 .* got 0\.25 \/ 2 \(the gateway takes 0\.25 vCPU/);
    expect(() => resolveWorkloadsArgs({ ...dev, adminRouteGateway: false, agents: [{ ...second, memoryGiB: 0.2 }] })).toThrow(/agents\[second\]\.cpu must be at least 0\.25 and agents\[second\]\.memoryGiB at least 0\.25, got 0\.25 \/ 0\.2$/);
    expect(() => resolveWorkloadsArgs({ ...dev, adminRouteGateway: false, agents: [second] })).not.toThrow();
    expect(() => resolveWorkloadsArgs({ ...dev, exposure: { type: "internal-lb" } })).toThrow(/allowedCidrs must list the callers' CIDR blocks \(outside the cluster's pod ranges\)/);
    expect(resolveWorkloadsArgs({ ...dev, exposure: { type: "internal-lb", allowedCidrs: ["172.20.0.0/16"] } }).loadBalancer?.allowedCidrs).toEqual(["172.20.0.0/16"]);
  });
});
