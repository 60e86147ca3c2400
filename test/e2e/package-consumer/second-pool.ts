// A second sandbox pool in the example's namespaces (test/e2e/package.test.ts step 5): what a team
// adds when a second workload needs sandboxes of its own. `namePrefix` keeps its objects, its
// cluster-scoped RBAC and its NetworkPolicies apart from the first pool's; its own Redis database
// keeps the two warm pools apart. Imported by the consumer's copy of examples/existing-cluster, after
// the namespaces exist (the first `pulumi up`).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AcsPlacement, SandboxIsolation } from "@agentscope-ack/components/workload";
import { NetworkPolicies, SANDBOX_MANAGER_PORT, SANDBOX_PORT, SandboxPool } from "@agentscope-ack/components/workload";

const config = new pulumi.Config();
const opts = { provider: new k8s.Provider("team-a-batch", { kubeconfig: config.requireSecret("kubeconfig") }) };
const partOf = "team-a";
const namePrefix = "batch";
const redis = { host: config.require("redisHost"), port: 6379, password: config.requireSecret("redisPassword"), cidrs: [config.require("redisCidr")] };
const acs: AcsPlacement | undefined = config.getBoolean("acs")
  ? { enabled: true, computeClass: "general-purpose", computeQos: "default", imageCache: false }
  : undefined;
const isolation: SandboxIsolation = acs ? { kind: "acs", placement: acs } : { kind: "runtime-class", runtimeClassName: "gvisor" };

const pool = new SandboxPool("team-a-batch-sandboxes", {
  namespace: "team-a-agents",
  sandboxNamespace: "team-a-sandboxes",
  partOf,
  namePrefix,
  image: config.require("sandboxManagerImage"),
  bearerToken: config.requireSecret("sandboxManagerToken"),
  sandboxTypes: ["base"],
  poolSize: 1,
  redis,
  redisDb: 2,
  images: { registry: config.require("sandboxRegistry"), namespace: "agentscope" },
  isolation,
  ...(acs ? { managerPlacement: acs } : {}),
}, opts);

new NetworkPolicies("team-a-batch", {
  agentsNamespace: "team-a-agents",
  sandboxNamespace: "team-a-sandboxes",
  partOf,
  namePrefix,
  agents: [],
  managerSelector: pool.managerPodSelector,
  managerPort: SANDBOX_MANAGER_PORT,
  sandboxPort: SANDBOX_PORT,
  redis: { cidrs: redis.cidrs, port: redis.port },
}, opts);
