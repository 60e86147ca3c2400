// The package suite (test/package): `npm pack`, the tarball installed into a project outside the
// repository, compiled and run there. Too slow for `npm test` (a build, an install and a strict
// compile of the SDK typings: see the README's Testing table); `npm run test:package` and .ci/run.
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The in-repo run of the example that the consumer's run is compared with resolves the package to the source.
  resolve: {
    alias: [
      { find: /^@agentscope-ack\/components\/(workload|alicloud)$/, replacement: join(__dirname, "..", "..", "components", "$1", "index.ts") },
      { find: /^@agentscope-ack\/components$/, replacement: join(__dirname, "..", "..", "components", "index.ts") },
    ],
  },
  test: {
    root: __dirname,
    include: ["package.test.ts"],
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 600_000,
    reporters: ["verbose"],
  },
});
