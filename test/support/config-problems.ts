import { ConfigError, parseStackConfig } from "../../config";
import type { FlatConfig } from "./stack-config";
import { PROJECT } from "./stack-config";

/** What parseStackConfig refuses in `config` (empty when it passes); other errors are thrown. */
export function configProblems(config: FlatConfig, stack: string, secretKeys?: readonly string[]): readonly string[] {
  try {
    parseStackConfig({ values: config, project: PROJECT, stack, ...(secretKeys ? { secretKeys } : {}) });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}
