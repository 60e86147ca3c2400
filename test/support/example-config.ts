// The config of examples/existing-cluster as a stack would hand it to the program: the example's
// Pulumi.example.yaml plus what `pulumi config set --secret` adds. Shared by the in-repo run
// (test/example.test.ts) and the run from the packed tarball (test/package/).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT, flatten } from "./stack-config";

export const EXAMPLE_DIR = join(REPO_ROOT, "examples", "existing-cluster");
export const EXAMPLE_PROJECT = "agentscope-existing-cluster";
export const EXAMPLE_SECRETS = ["kubeconfig", "modelApiKey", "agentApiToken", "sandboxManagerToken", "redisPassword"] as const;

/** "project:key" → value, every value a string (objects as JSON), as Pulumi passes config. */
export function exampleConfig(): Record<string, string> {
  const file = parse(readFileSync(join(EXAMPLE_DIR, "Pulumi.example.yaml"), "utf8")) as { config: Record<string, unknown> };
  const secrets = EXAMPLE_SECRETS.map((k): [string, string] => [`${EXAMPLE_PROJECT}:${k}`, `example-${k}-0123456789abcdef`]);
  return { ...flatten(file.config), ...Object.fromEntries(secrets) };
}

/** The keys of `config` that are secrets. */
export function exampleSecretKeys(config: Record<string, string>): string[] {
  return Object.keys(config).filter((k) => EXAMPLE_SECRETS.some((s) => k === `${EXAMPLE_PROJECT}:${s}`));
}
