import { createHash } from "node:crypto";
import { z } from "zod";
import type { Environment } from "./defaults";
import { ENVIRONMENT_DEFAULTS, ENVIRONMENTS } from "./defaults";
import type { ParsedStackConfig, SecretKey } from "./schema";
import { SECRET_KEYS, STRING_KEYS, stackSchema } from "./schema";
import type { RuleViolation } from "./rules";
import { checkRules, standInModelOn } from "./rules";
import { scrapeNamespacesFor } from "./observability";

/** The validated config, with every default and derived choice resolved. */
export type StackConfig = Omit<ParsedStackConfig, "sandbox" | "imageCache" | "standInModel" | "observability"> & {
  readonly region?: string;
  readonly imageCache: boolean;
  /** The stand-in model replaces every agent's model (config/rules.ts standInModelOn). */
  readonly standInModel: boolean;
  readonly sandbox: ParsedStackConfig["sandbox"] & {
    readonly isolation: "acs" | "runtime-class" | "none";
    readonly managerReplicas: number;
    readonly imageTag: string;
  };
  readonly observability: ParsedStackConfig["observability"] & { readonly scrapeNamespaces: string[] };
};

/** Raised with every problem at once; each line names the full Pulumi key. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface RawConfigSource {
  /** Every config value of the stack, as Pulumi hands it over: "namespace:key" → string. */
  readonly values: Readonly<Record<string, string>>;
  readonly project: string;
  readonly stack: string;
  /**
   * Full keys ("ns:key") the stack stores encrypted, when the engine tells the program (undefined:
   * unknown, so plain-text secrets cannot be detected).
   */
  readonly secretKeys?: readonly string[];
}

/** Validates the stack's config; throws ConfigError listing every invalid key, or returns it resolved. */
export function parseStackConfig(source: RawConfigSource): StackConfig {
  const ns = `${source.project}:`;
  const raw = decodeOwnKeys(source.values, ns);
  const environment = resolveEnvironment(raw, source.stack, ns);
  const defaults = ENVIRONMENT_DEFAULTS[environment];
  const input: Record<string, unknown> = { ...raw, environment };
  const platform = input["platform"] ?? defaults.platform;
  if (platform === "alicloud" && input["cluster"] === undefined) input["cluster"] = {};

  const problems: string[] = plainTextSecrets(source, ns);
  const schema = stackSchema(defaults);
  const result = schema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(issue, input, ns, schema));
    throw new ConfigError(problems);
  }
  const parsed = result.data;
  const region = source.values["alicloud:region"];
  const violations: RuleViolation[] = [...checkRules(parsed), ...checkRegion(parsed, region)];
  const resolved = resolve(parsed, region);
  if (!resolved.sandbox.isolation) {
    violations.push({ path: ["sandbox", "isolation"], message: 'must be set when ACS is off outside local: "runtime-class" with sandbox.runtimeClassName' });
  }
  for (const v of violations) problems.push(`${keyName(ns, v.path)}: ${v.message}${describeValue(valueAt(input, v.path), v.path)}`);
  if (problems.length) throw new ConfigError(problems);
  return resolved as StackConfig;
}

/** Secret keys set without --secret sit in Pulumi.<stack>.yaml in plain text: refuse them. */
function plainTextSecrets(source: RawConfigSource, ns: string): string[] {
  const secretKeys = source.secretKeys;
  if (secretKeys === undefined) return [];
  return SECRET_KEYS
    .filter((key) => source.values[`${ns}${key}`] !== undefined && !secretKeys.includes(`${ns}${key}`))
    .map((key) => `${ns}${key}: is stored in plain text in the stack file; remove it and set it with \`pulumi config set --secret ${key} <value>\``);
}

function resolve(c: ParsedStackConfig, region: string | undefined) {
  const isolation = c.sandbox.isolation ?? (c.acs.enabled ? "acs" : c.environment === "local" ? "none" : undefined);
  return {
    ...c,
    ...(region ? { region } : {}),
    imageCache: c.imageCache ?? c.platform === "alicloud",
    standInModel: standInModelOn(c),
    sandbox: { ...c.sandbox, isolation, managerReplicas: c.sandbox.managerReplicas ?? 1, imageTag: sandboxImageTag(c) },
    observability: { ...c.observability, scrapeNamespaces: scrapeNamespacesFor(c) },
  };
}

/**
 * The tag the sandbox manager names its images by. On Alibaba Cloud every type is pinned by digest
 * (config/rules.ts) and pods run the digest, so the default tag is derived from the digests: it
 * changes exactly when they do and never moves on a push. Elsewhere `latest`, as upstream names it.
 */
export function sandboxImageTag(c: ParsedStackConfig): string {
  if (c.sandbox.imageTag !== undefined) return c.sandbox.imageTag;
  if (c.platform !== "alicloud") return "latest";
  const digests = Object.entries(c.sandbox.imageDigests ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return `pinned-${createHash("sha256").update(JSON.stringify(digests)).digest("hex").slice(0, 12)}`;
}

function checkRegion(c: ParsedStackConfig, region: string | undefined): RuleViolation[] {
  if (c.platform !== "alicloud") return [];
  if (!region) return [{ path: ["@alicloud:region"], message: "is required for platform alicloud: pulumi config set alicloud:region cn-hangzhou" }];
  return (c.network?.zones ?? [])
    .map((zone, i) => ({ zone, i }))
    .filter(({ zone }) => !zone.startsWith(`${region}-`))
    .map(({ zone, i }) => ({ path: ["network", "zones", i], message: `${zone} is not a zone of region ${region} (zones look like ${region}-<letter>)` }));
}

function resolveEnvironment(raw: Record<string, unknown>, stack: string, ns: string): Environment {
  const given = raw["environment"];
  if (given === undefined) {
    if ((ENVIRONMENTS as readonly string[]).includes(stack)) return stack as Environment;
    throw new ConfigError([`${ns}environment: is required for stack "${stack}" (allowed: ${ENVIRONMENTS.join(", ")}); it picks the defaults`]);
  }
  if (typeof given === "string" && (ENVIRONMENTS as readonly string[]).includes(given)) return given as Environment;
  throw new ConfigError([`${ns}environment: must be one of ${ENVIRONMENTS.join(", ")}${describeValue(given, ["environment"])}`]);
}

/** Our namespace's keys, with structured values JSON-decoded the way Pulumi's getObject does. */
function decodeOwnKeys(values: Readonly<Record<string, string>>, ns: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(values)) {
    if (!fullKey.startsWith(ns)) continue;
    const key = fullKey.slice(ns.length);
    out[key] = STRING_KEYS.includes(key) ? value : decode(value);
  }
  return out;
}

function decode(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>, ns: string, schema: z.ZodType): string[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(schema, path, valueAt(input, path));
    return issue.keys.map((key) => `${keyName(ns, [...path, key])}: is not a known key${known.length ? ` (known here: ${known.join(", ")})` : ""}`);
  }
  // A record key that fails its own schema: report the key's problem, not zod's generic wrapper.
  const message = issue.code === "invalid_key" ? issue.issues.map((i) => i.message).join("; ") : issue.message;
  return [`${keyName(ns, path)}: ${message}${describeValue(valueAt(input, path), path)}`];
}

function keyName(ns: string, path: readonly (string | number)[]): string {
  const [head, ...rest] = path;
  if (typeof head === "string" && head.startsWith("@")) return head.slice(1);
  const tail = rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
  return `${ns}${String(head ?? "")}${tail}`;
}

function describeValue(value: unknown, path: readonly (string | number)[]): string {
  if (value === undefined) return "";
  if (SECRET_KEYS.includes(path[0] as SecretKey)) return " (value hidden: it is a secret)";
  const text = JSON.stringify(value);
  return ` (got ${text.length > 80 ? `${text.slice(0, 77)}...` : text})`;
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let node: unknown = input;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

/** The keys an object schema accepts at `path`, for "did you mean" style messages. */
function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[], value: unknown): string[] {
  let node: z.ZodType | undefined = unwrap(schema);
  for (const part of path) {
    if (node instanceof z.ZodObject && typeof part === "string") node = unwrap(node.shape[part] as z.ZodType | undefined);
    else if (node instanceof z.ZodArray && typeof part === "number") node = unwrap(node.element as z.ZodType);
    else return [];
  }
  // A union of objects (agents[].source): the option whose literal keys the value matches.
  if (node instanceof z.ZodUnion) node = unwrap(matchingOption(node.options as readonly z.ZodType[], value));
  if (node instanceof z.ZodObject) return Object.keys(node.shape);
  // A record keyed by an enum (e.g. sandbox types): its keys are the enum's options.
  if (node instanceof z.ZodRecord && node.keyType instanceof z.ZodEnum) return node.keyType.options.map(String);
  return [];
}

function matchingOption(options: readonly z.ZodType[], value: unknown): z.ZodType | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  return options.find((option) => {
    const o = unwrap(option);
    return o instanceof z.ZodObject && Object.entries(o.shape as Record<string, z.ZodType>)
      .every(([key, field]) => !(field instanceof z.ZodLiteral) || field.values.has(v[key] as z.core.util.Literal));
  });
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let node = schema;
  while (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodPrefault) {
    node = node.unwrap() as z.ZodType;
  }
  return node;
}
