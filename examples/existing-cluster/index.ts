// A stack of your own: one agent and a sandbox pool on an existing cluster, from the package's
// components, with a Redis and images that already exist.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
// The workload layer alone (any cluster): it loads no Alibaba Cloud, Docker or random SDK.
import type { AcsPlacement, SandboxIsolation } from "@agentscope-ack/components/workload";
import { ALL_AGENTS_SELECTOR, AgentRuntime, Namespaces, NetworkPolicies, SANDBOX_MANAGER_PORT, SANDBOX_PORT, SandboxPool } from "@agentscope-ack/components/workload";

const config = new pulumi.Config();
const provider = new k8s.Provider("team-a", { kubeconfig: config.requireSecret("kubeconfig") });
const opts = { provider };
const partOf = "team-a";
const redis = {
  host: config.require("redisHost"),
  port: 6379,
  password: config.requireSecret("redisPassword"),
  cidrs: [config.require("redisCidr")],
};

// `acs: true` on an ACK Pro cluster with ACS: every pod of the example goes to ACS through the
// virtual node, sandboxes as one MicroVM each. Off (default): ordinary nodes, sandboxes under gVisor.
const acs: AcsPlacement | undefined = config.getBoolean("acs")
  ? { enabled: true, computeClass: "general-purpose", computeQos: "default", imageCache: false }
  : undefined;
const isolation: SandboxIsolation = acs ? { kind: "acs", placement: acs } : { kind: "runtime-class", runtimeClassName: "gvisor" };

const namespaces = new Namespaces("team-a", { agentsNamespace: "team-a-agents", sandboxNamespace: "team-a-sandboxes", partOf }, opts);
const inNamespaces = { ...opts, dependsOn: [namespaces] };

const pool = new SandboxPool("team-a-sandboxes", {
  namespace: "team-a-agents",
  sandboxNamespace: "team-a-sandboxes",
  partOf,
  image: config.require("sandboxManagerImage"),
  bearerToken: config.requireSecret("sandboxManagerToken"),
  sandboxTypes: ["base"],
  poolSize: 2,
  redis,
  images: { registry: config.require("sandboxRegistry"), namespace: "agentscope" },
  isolation,
  ...(acs ? { managerPlacement: acs } : {}),
}, inNamespaces);

const agent = new AgentRuntime("team-a-helper", {
  namespace: "team-a-agents",
  partOf,
  agent: {
    name: "helper",
    model: { provider: "dashscope", name: "qwen-turbo" },
    replicas: { min: 2, max: 4 },
    cpu: 1,
    memoryGiB: 2,
    sandboxTypes: ["base"],
  },
  image: config.require("agentImage"),
  secrets: {
    modelApiKey: config.requireSecret("modelApiKey"),
    agentApiToken: config.requireSecret("agentApiToken"),
    sandboxManagerToken: config.requireSecret("sandboxManagerToken"),
    redisPassword: redis.password,
  },
  sandboxManagerUrl: pool.managerUrl,
  redis: { host: redis.host, port: redis.port },
  ...(acs ? { placement: acs } : {}),
}, inNamespaces);

new NetworkPolicies("team-a", {
  agentsNamespace: "team-a-agents",
  sandboxNamespace: "team-a-sandboxes",
  partOf,
  allAgentsSelector: ALL_AGENTS_SELECTOR,
  agents: [{ name: "helper", podSelector: agent.podSelector, callerPort: agent.callerPort }],
  managerSelector: pool.managerPodSelector,
  managerPort: SANDBOX_MANAGER_PORT,
  sandboxPort: SANDBOX_PORT,
  redis: { cidrs: redis.cidrs, port: redis.port },
}, inNamespaces);

export const agentUrl = agent.url;
export const sandboxManagerUrl = pool.managerUrl;
