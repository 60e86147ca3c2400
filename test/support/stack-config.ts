import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "yaml";

export const PROJECT = "agentscope-ack";
/** The folder with Pulumi.yaml above this file (also from a compiled copy, as the benchmark runs it). */
export const REPO_ROOT = findUp(__dirname, "Pulumi.yaml");

function findUp(dir: string, file: string): string {
  if (existsSync(join(dir, file))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error(`no ${file} above ${__dirname}`);
  return findUp(parent, file);
}
export const SHIPPED_STACKS = ["local", "dev", "prod"] as const;
export type ShippedStack = (typeof SHIPPED_STACKS)[number];

/** Test-only secret values: what `pulumi config set --secret` would add to each shipped stack. */
export const TEST_SECRETS: Record<string, string> = {
  modelApiKey: "sk-test-model-key-0123456789",
  registryPassword: "Regpass123word",
};

/** A stack's config as Pulumi hands it to the program: "ns:key" → string, objects as JSON. */
export type FlatConfig = Record<string, string>;

export function flatten(config: Record<string, unknown>): FlatConfig {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}

/** Reads Pulumi.<stack>.yaml and adds the test secrets under the project's namespace. */
export function shippedStackConfig(stack: ShippedStack, withSecrets = true): FlatConfig {
  const file = parse(readFileSync(join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
  const secrets = withSecrets ? Object.fromEntries(Object.entries(TEST_SECRETS).map(([k, v]) => [`${PROJECT}:${k}`, v])) : {};
  // registryPassword only matters where a new ACR instance is created; keep the config minimal elsewhere.
  const cfg = flatten(withTestSandboxDigests(stack, file.config ?? {}));
  if (!cfg[`${PROJECT}:registry`] || cfg[`${PROJECT}:registry`]!.includes("existingInstanceId")) delete secrets[`${PROJECT}:registryPassword`];
  return { ...cfg, ...secrets };
}

/** Test-only digests: the cloud stacks refuse sandbox images by tag, and the shipped files leave them for the team to pin. */
export const TEST_SANDBOX_DIGEST = `sha256:${"cd".repeat(32)}`;

function withTestSandboxDigests(stack: ShippedStack, config: Record<string, unknown>): Record<string, unknown> {
  const key = `${PROJECT}:sandbox`;
  const sandbox = (config[key] ?? {}) as { types?: string[]; imageDigests?: Record<string, string> };
  if (stack === "local" || sandbox.imageDigests) return config;
  const types = sandbox.types ?? ["base"];
  const imageDigests = Object.fromEntries(types.map((t) => [t, `registry.example.com/agentscope/runtime-sandbox-${t}@${TEST_SANDBOX_DIGEST}`]));
  return { ...config, [key]: { ...sandbox, imageDigests } };
}

/** Names of the config keys that hold secrets in a flattened config. */
export function secretKeysOf(config: FlatConfig): string[] {
  return Object.keys(config).filter((k) => Object.keys(TEST_SECRETS).some((s) => k === `${PROJECT}:${s}`) || /(Token|Password|ApiKey|Headers)$/.test(k));
}
