/**
 * AgentScopeWorkloads args for the three environments, mirroring what the stack config resolves
 * to for `local`, `dev` and `prod` (config/defaults.ts), plus a runner under mocks.
 */
import * as k8s from "@pulumi/kubernetes";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { AgentScopeWorkloads } from "../../components/workload/workloads";
import type { MockRun } from "./mocks";
import { runWithMocks } from "./mocks";

export type Env = "local" | "dev" | "prod";

/** Secret values the fixtures pass in; no test may find them outside a Secret. */
export const SECRETS = {
  modelApiKey: "sk-test-model-key-0123456789abcdefXYZ",
  agentApiToken: "agent-api-token-0123456789abcdef",
  sandboxManagerToken: "sandbox-manager-token-0123456789",
  redisPassword: "redis-password-0123456789abcdef",
  registryPassword: "registry-password-0123",
} as const;

const ACR = "agentscope-registry-vpc.cn-hangzhou.cr.aliyuncs.com";
export const PREBUILT_AGENT = `${ACR}/agentscope/agent@sha256:${"1".repeat(64)}`;
export const PREBUILT_MANAGER = `${ACR}/agentscope/sandbox-manager@sha256:${"2".repeat(64)}`;

const acsOn = { enabled: true, computeClass: "general-purpose", computeQos: "default", imageCache: true } as const;

export function workloadsArgs(env: Env): AgentScopeWorkloadsArgs {
  const agents: AgentScopeWorkloadsArgs["agents"] = [
    { name: "friday", model: { provider: "dashscope", name: "qwen-turbo" }, replicas: env === "prod" ? { min: 2, max: 10 } : { min: 1, max: env === "dev" ? 3 : 2 }, cpu: 1, memoryGiB: 2, sandboxTypes: ["base"] },
    { name: "scout", model: { provider: "openai", name: "gpt-4o-mini", baseUrl: "https://models.example.com/v1" }, replicas: env === "prod" ? { min: 2, max: 4 } : { min: 1, max: 2 }, cpu: 0.5, memoryGiB: 1, sandboxTypes: ["browser", "base"] },
  ];
  const common = {
    environment: env,
    agents,
    secrets: { modelApiKey: SECRETS.modelApiKey, agentApiToken: SECRETS.agentApiToken, sandboxManagerToken: SECRETS.sandboxManagerToken, redisPassword: SECRETS.redisPassword },
  } as const;
  switch (env) {
    case "local":
      return {
        ...common,
        platform: "kubernetes",
        images: {
          build: {
            registry: { server: "localhost:5000", username: "agentscope", password: SECRETS.registryPassword },
            agentRepository: "localhost:5000/agentscope/agent",
            sandboxManagerRepository: "localhost:5000/agentscope/sandbox-manager",
            baseImage: "localhost:5000/library/python:3.11-slim-bookworm",
          },
          pullCredentials: { server: "localhost:5000", username: "agentscope", password: SECRETS.registryPassword },
        },
        sandbox: { types: ["base", "browser"], poolSize: 1, isolation: "none", images: { registry: "localhost:5000" } },
        redis: { mode: "in-cluster", storageGiB: 1 },
        network: { apiServer: { cidrs: ["172.18.0.2/32"], ports: [6443] } },
      };
    case "dev":
      return {
        ...common,
        platform: "alicloud",
        acs: acsOn,
        images: {
          build: {
            registry: { server: `agentscope-registry.cn-hangzhou.cr.aliyuncs.com`, username: "cr_temp_user", password: SECRETS.registryPassword },
            agentRepository: `agentscope-registry.cn-hangzhou.cr.aliyuncs.com/agentscope/agent`,
            sandboxManagerRepository: `agentscope-registry.cn-hangzhou.cr.aliyuncs.com/agentscope/sandbox-manager`,
            agentPullRepository: `${ACR}/agentscope/agent`,
            sandboxManagerPullRepository: `${ACR}/agentscope/sandbox-manager`,
          },
        },
        sandbox: { types: ["base", "browser"], poolSize: 2, isolation: "acs", images: { registry: ACR, tag: "1.1.5" } },
        redis: { mode: "in-cluster", image: `${ACR}/mirror/redis@sha256:${"3".repeat(64)}` },
        exposure: { type: "internal-lb", allowedCidrs: ["10.0.0.0/16"] },
        network: { serviceCidr: "192.168.0.0/16" },
      };
    case "prod":
      return {
        ...common,
        platform: "alicloud",
        acs: acsOn,
        images: { agent: PREBUILT_AGENT, sandboxManager: PREBUILT_MANAGER },
        sandbox: {
          types: ["base", "browser"],
          poolSize: 5,
          isolation: "acs",
          managerReplicas: 1,
          images: { registry: ACR, tag: "1.1.5", digests: { base: `${ACR}/agentscope/runtime-sandbox-base@sha256:${"4".repeat(64)}` } },
        },
        redis: { mode: "external", endpoint: { host: "r-prod.redis.rds.aliyuncs.com", port: 6379, password: SECRETS.redisPassword, cidrs: ["10.0.64.0/19", "10.0.96.0/19"] } },
        exposure: { type: "public-lb", allowedCidrs: ["203.0.113.0/24"] },
        network: { serviceCidr: "172.21.0.0/20", apiServer: { cidrs: ["10.0.0.5/32"], ports: [6443] }, sandboxDeniedCidrs: ["47.96.1.2/32"] },
      };
  }
}

/** Runs AgentScopeWorkloads with `args` under mocks, through a kubernetes Provider as index.ts would. */
export function runWorkloads(args: AgentScopeWorkloadsArgs, stack: string = args.environment): Promise<MockRun> {
  return runWithMocks(() => {
    const provider = new k8s.Provider("cluster", { kubeconfig: "mock-kubeconfig" });
    new AgentScopeWorkloads("agentscope", args, { provider });
  }, { stack });
}
