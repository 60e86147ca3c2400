// The local stack's config as `npm run local` sets it (no model API key, so the stand-in model runs),
// shared by local.test.ts and the real-packet flow table. Free of the e2e environment, so the
// packet table's pure half also runs under the plain unit-test runner.

/** Where the local stack goes: the cluster and the images pushed for it. */
export interface LocalTarget {
  readonly kubeconfig: string;
  readonly agentImage: string;
  readonly managerImage: string;
  readonly standInModelImage: string;
  readonly sandboxImage: string;
  readonly redisImage: string;
  readonly registry: string;
  readonly registryUser: string;
}

/** The stack config (without secrets), keys as in Pulumi.local.yaml. */
export function localStackConfig(t: LocalTarget): Record<string, unknown> {
  return {
    environment: "local",
    platform: "kubernetes",
    kubernetes: { kubeconfigPath: t.kubeconfig },
    images: {
      build: false, agent: t.agentImage, sandboxManager: t.managerImage, standInModel: t.standInModelImage,
      registryServer: t.registry, registryUsername: t.registryUser,
    },
    agents: [{ name: "friday", displayName: "Friday", model: { provider: "dashscope", name: "qwen-turbo" }, cpu: 0.5, memoryGiB: 1 }],
    sandbox: { types: ["base"], poolSize: 2, cpu: 0.1, cpuLimit: 1, memoryGiB: 0.5, imageTag: "e2e", imageDigests: { base: t.sandboxImage } },
    redis: { mode: "in-cluster", image: t.redisImage },
  };
}
