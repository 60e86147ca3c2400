import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Examples import the package by name, as another stack would; tests resolve it to the source.
  // Most specific first: the subpath entries (package.json "exports"), then the root.
  resolve: {
    alias: [
      { find: /^@agentscope-ack\/components\/(workload|alicloud)$/, replacement: join(__dirname, "components", "$1", "index.ts") },
      { find: /^@agentscope-ack\/components$/, replacement: join(__dirname, "components", "index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "test/package/**", "node_modules/**"],
    // Each file runs the Pulumi program under its own mocks; isolation keeps runtime state apart.
    pool: "forks",
    isolate: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
