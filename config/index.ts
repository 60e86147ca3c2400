import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./load";
import { parseStackConfig } from "./load";
import type { SecretKey } from "./schema";
import { SECRET_KEYS } from "./schema";

export { ConfigError, parseStackConfig } from "./load";
export type { StackConfig } from "./load";
export { ENVIRONMENT_DEFAULTS, ENVIRONMENTS } from "./defaults";
export type { Environment } from "./defaults";

/** Secret config values, wrapped so they stay Pulumi secrets in every output and in state. */
export type StackSecrets = { readonly [K in SecretKey]?: pulumi.Output<string> };

/** Reads and validates this stack's config; throws ConfigError before any resource exists. */
export function loadStackConfig(): { config: StackConfig; secrets: StackSecrets } {
  const values = pulumi.runtime.allConfig();
  const secretKeys = configSecretKeys(Object.keys(values));
  const config = parseStackConfig({
    values,
    project: pulumi.getProject(),
    stack: pulumi.getStack(),
    ...(secretKeys ? { secretKeys } : {}),
  });
  const secrets: { [K in SecretKey]?: pulumi.Output<string> } = {};
  for (const key of SECRET_KEYS) {
    const value = config[key];
    if (value !== undefined) secrets[key] = pulumi.secret(value);
  }
  return { config, secrets };
}

/**
 * The config keys the stack stores as secrets, or undefined when the engine did not say. @pulumi/pulumi
 * 3.248.0 exports `runtime.isConfigSecret` (marked @internal, so untyped) which reads the
 * PULUMI_CONFIG_SECRET_KEYS list the CLI hands the program; an empty list cannot be told apart from
 * an engine that sends none, so a list with no secret in it counts as known only when that variable is set.
 */
export function configSecretKeys(keys: readonly string[]): string[] | undefined {
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (typeof isSecret !== "function") return undefined;
  const secret = keys.filter((k) => isSecret(k));
  if (secret.length > 0 || (process.env["PULUMI_CONFIG_SECRET_KEYS"] ?? "") !== "") return secret;
  return undefined;
}
