// The end-to-end suite (issue 5): run by scripts/test-e2e.sh, which starts the cluster, the
// registry and the images first. One file at a time, in order, with long time-outs: each step
// runs the real Pulumi CLI.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: __dirname,
    include: ["policy.test.ts", "node-netns.test.ts", "local.test.ts", "user-agents.test.ts", "sandbox-pool.test.ts", "workspaces.test.ts", "acs.test.ts", "expiring-kubeconfig.test.ts", "netpol-packets.test.ts", "sandbox-egress-packets.test.ts", "package.test.ts"],
    pool: "forks",
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 20 * 60_000,
    hookTimeout: 5 * 60_000,
    reporters: ["verbose"],
  },
});
