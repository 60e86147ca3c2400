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
  const config = parseStackConfig({
    values: pulumi.runtime.allConfig(),
    project: pulumi.getProject(),
    stack: pulumi.getStack(),
  });
  const secrets: { [K in SecretKey]?: pulumi.Output<string> } = {};
  for (const key of SECRET_KEYS) {
    const value = config[key];
    if (value !== undefined) secrets[key] = pulumi.secret(value);
  }
  return { config, secrets };
}
