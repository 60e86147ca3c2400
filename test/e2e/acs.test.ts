// Issue 5 on a stack with the ACS settings of Pulumi.dev.yaml (environment dev: ACS on, sandbox
// isolation acs), on platform kubernetes pointed at the embedded cluster: its pods must carry the ACS
// labels and the virtual node's toleration, and land on the kwok virtual node (ACS pods cannot run
// here: no MicroVM); Redis runs for real on the real node.
import { describe, expect, it } from "vitest";
import type { Expected } from "./deployed";
import {
  checkHpaAndPdb, checkNamespaces, checkNetworkPolicies, checkNoLeaks, checkPlacement, checkRbac, checkSecrets, checkServices,
  checkWorkloads, leftovers, snapshot,
} from "./deployed";
import { Stack, env, ok, recordTime, settled } from "./support";

const expected: Expected = {
  // Its own prefix: namespaces and cluster-scoped names apart from the local stack's.
  prefix: "agentscope-dev",
  agent: "friday",
  replicas: { min: 1, max: 3 }, // the dev environment's defaults
  acs: true,
  poolSize: 2,
  standInModel: false, // a model API key is set
  secrets: {
    modelApiKey: "sk-e2e-dev-model-key-1d2e3f4a5b",
    agentApiToken: "e2e-dev-agent-api-token-8a7b6c",
    sandboxManagerToken: "e2e-dev-sandbox-manager-tok-2f4e",
    redisPassword: "e2e-dev-redis-password-c0ffee12",
    localRegistryPassword: env.registryPassword,
  },
};

// The ACS, agent and sandbox settings of Pulumi.dev.yaml; the cloud keys (network, cluster, registry)
// give way to platform kubernetes, the local registry and the fake cluster.
const config = {
  environment: "dev",
  platform: "kubernetes",
  namePrefix: expected.prefix,
  tags: { env: "dev", owner: "agent-platform" },
  acs: { enabled: true },
  // Redis runs on ACS with the other pods (its pull needs no credential helper there): on the fake
  // virtual node its disk is kwok's volume class, standing in for ACK's disk CSI plugin.
  kubernetes: { kubeconfigPath: env.kubeconfig },
  images: { build: false, agent: env.agentImage, sandboxManager: env.managerImage, registryServer: env.registry, registryUsername: env.registryUser },
  agents: [{ name: "friday", displayName: "Friday", model: { provider: "dashscope", name: "qwen-turbo" }, cpu: 1, memoryGiB: 2 }],
  sandbox: { types: ["base"], poolSize: 2 },
  redis: { image: env.redisImage, storageClassName: "kwok-volume" },
};

const stack = new Stack("dev-acs");

describe.sequential("ACS-like dev stack on the real engine", () => {
  it("4. a bad config (sandbox isolation none in dev): preview fails with our message, nothing is created", () => {
    stack.init({ ...config, sandbox: { ...config.sandbox, isolation: "none" } }, {
      modelApiKey: "sk-e2e-dev-model-key-1d2e3f4a5b",
      agentApiToken: expected.secrets.agentApiToken,
      sandboxManagerToken: expected.secrets.sandboxManagerToken,
      redisPassword: expected.secrets.redisPassword,
      localRegistryPassword: expected.secrets.localRegistryPassword,
    });
    try {
      const before = snapshot();
      const bad = stack.pulumi(["preview"]);
      expect(bad.code).not.toBe(0);
      expect(bad.stdout + bad.stderr).toContain('agentscope-ack:sandbox.isolation: "none" is for local laptops only');
      expect(snapshot()).toEqual(before);
      expect(leftovers(expected)).toEqual([]);
    } finally {
      // The tests after this one need the good config, whatever happened here.
      ok(stack.pulumi(["config", "rm", "--path", "sandbox.isolation"]), "pulumi config rm");
    }
  });

  it("1. pulumi up --yes succeeds; agents and manager run as ACS pods on the virtual node", async () => {
    const up = ok(stack.pulumi(["up", "--yes", "--skip-preview"]), "pulumi up");
    recordTime("dev-acs: first pulumi up", up.seconds);
    await settled("Deployments Available", () => checkWorkloads(expected, expected.replicas.min));
    checkNamespaces(expected);
    await settled("Services with ready endpoints", () => checkServices(expected));
    checkSecrets(expected);
    checkNetworkPolicies(expected);
    checkRbac(expected);
    await settled("HPA and PDB", () => checkHpaAndPdb(expected, expected.replicas));
    await settled("pods placed and Ready", () => checkPlacement(expected));
    checkNoLeaks(expected, stack.configFile());
  });

  it("2. pulumi preview --expect-no-changes passes right after", () => {
    const preview = ok(stack.pulumi(["preview", "--expect-no-changes"]), "pulumi preview --expect-no-changes");
    recordTime("dev-acs: no-change preview", preview.seconds);
  });

  it("5. pulumi destroy --yes leaves no object of ours; pulumi stack rm succeeds", async () => {
    const destroy = ok(stack.pulumi(["destroy", "--yes", "--skip-preview"]), "pulumi destroy");
    recordTime("dev-acs: pulumi destroy", destroy.seconds);
    expect(destroy.stdout).toMatch(/- \d+ deleted/);
    await settled("nothing of ours left", () => expect(leftovers(expected)).toEqual([]), 60);
    ok(stack.pulumi(["stack", "rm", "--yes"]), "pulumi stack rm");
  });
});
