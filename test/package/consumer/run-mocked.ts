// The consumer's side of test/package/package.test.ts: in a project outside the repository, runs
// its program (index.ts, a copy of examples/existing-cluster/index.ts that imports the installed
// package) under Pulumi mocks with the project's one @pulumi/pulumi, and writes every resource the
// engine saw as JSON.
//   node bin/run-mocked.js <input.json> <output.json>
// input.json: { "project", "stack", "config": { "project:key": "value" }, "secretKeys": [...] }
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { runWithMocks } from "./mocks";

interface Input {
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
}

async function main(): Promise<void> {
  const [inputFile, outputFile] = process.argv.slice(2);
  if (!inputFile || !outputFile) throw new Error("usage: node bin/run-mocked.js <input.json> <output.json>");
  const input = JSON.parse(readFileSync(inputFile, "utf8")) as Input;
  pulumi.runtime.setAllConfig(input.config, input.secretKeys);
  // The program reads its config when loaded: load it only now, inside the mocked stack.
  const run = await runWithMocks(() => import(join(__dirname, "index.js")), { project: input.project, stack: input.stack });
  writeFileSync(outputFile, JSON.stringify(run.resources));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
