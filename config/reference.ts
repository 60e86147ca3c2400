// The configuration reference (docs/configuration-reference.md) and the JSON Schema of a
// `Pulumi.<stack>.yaml` (docs/pulumi-config.schema.json), both derived from the zod schema in
// ./schema.ts: types and allowed values from zod's own JSON Schema export (z.toJSONSchema), defaults
// per environment by parsing a skeleton config with each environment's schema. Written by
// `npm run docs:config`; test/config-reference.test.ts fails when the committed files are stale.
import { z } from "zod";
import type { Environment } from "./defaults";
import { ENVIRONMENTS, ENVIRONMENT_DEFAULTS } from "./defaults";
import { SECRET_KEYS, agentSchema, clusterSchema, networkSchema, registrySchema, stackSchema } from "./schema";

/** The Pulumi project's name: every key of ours is `agentscope-ack:<key>` in a stack file. */
export const CONFIG_NAMESPACE = "agentscope-ack";

type JsonSchema = { [key: string]: unknown };

/** zod's JSON Schema of what a stack file may hold (input side: keys with defaults are optional). */
function inputSchema(env: Environment): JsonSchema {
  return z.toJSONSchema(stackSchema(ENVIRONMENT_DEFAULTS[env]), { io: "input", unrepresentable: "any", target: "draft-2020-12" });
}

/**
 * The values a stack of `env` gets for keys it does not set: a skeleton config parsed by the
 * environment's schema. Objects that are optional as a whole (network, cluster, registry, an
 * agent's workspaces and tasks) are given empty, so their own defaults show.
 */
function resolvedDefaults(env: Environment): { top: Record<string, unknown>; nested: Record<string, unknown> } {
  const d = ENVIRONMENT_DEFAULTS[env];
  const top = stackSchema(d).parse({ environment: env }) as Record<string, unknown>;
  const agent = agentSchema(d).parse({ name: "friday", workspaces: {}, tasks: {} });
  const nested = {
    ...top,
    network: networkSchema(d).parse({}),
    cluster: clusterSchema(d).parse({}),
    registry: registrySchema(d).parse({}),
    agents: [agent],
  };
  return { top, nested };
}

function at(value: unknown, path: readonly string[]): unknown {
  let v: unknown = value;
  for (const p of path) {
    if (Array.isArray(v)) v = v[0];
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

interface Row {
  readonly key: string;
  readonly path: readonly string[];
  readonly type: string;
  readonly allowed: string;
  readonly secret: boolean;
  /** Its keys have rows of their own (their defaults show there). */
  readonly nested: boolean;
}

function typeOf(s: JsonSchema): string {
  const variants = s.anyOf ?? s.oneOf;
  if (Array.isArray(variants)) return [...new Set((variants as JsonSchema[]).map(typeOf))].join(" or ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === "array") return `list of ${typeOf((s.items ?? {}) as JsonSchema)}`;
  if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object" && !s.properties) {
    return `map of ${typeOf(s.additionalProperties as JsonSchema)}`;
  }
  return typeof s.type === "string" ? s.type : "any";
}

function code(v: unknown): string {
  return `\`${typeof v === "string" ? v : JSON.stringify(v)}\``.replace(/\|/g, "\\|");
}

function constraints(s: JsonSchema): string {
  const parts: string[] = [];
  if (Array.isArray(s.enum)) parts.push((s.enum as unknown[]).map(code).join(", "));
  if (Array.isArray(s.anyOf) && (s.anyOf as JsonSchema[]).every((a) => a.const !== undefined)) {
    parts.push((s.anyOf as JsonSchema[]).map((a) => code(a.const)).join(", "));
  }
  // A discriminated union (agents[].source): each variant's keys, with the discriminator's value.
  const variants = (s.oneOf ?? s.anyOf) as JsonSchema[] | undefined;
  if (Array.isArray(variants) && variants.every((v) => v.properties)) {
    const shape = (v: JsonSchema) => Object.entries(v.properties as Record<string, JsonSchema>)
      .map(([k, p]) => (p.const !== undefined ? `${k}: ${typeof p.const === "string" ? p.const : JSON.stringify(p.const)}` : k)).join(", ");
    parts.push(`one of: ${variants.map((v) => `\`{${shape(v)}}\``).join("; ")}`);
  }
  if (s.type === "array" && s.items) {
    const inner = constraints(s.items as JsonSchema);
    if (inner) parts.push(`each: ${inner}`);
  }
  if (s.type === "object" && s.propertyNames) {
    const keys = constraints(s.propertyNames as JsonSchema);
    if (keys) parts.push(`keys: ${keys}`);
  }
  if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object" && !s.properties) {
    const values = constraints(s.additionalProperties as JsonSchema);
    if (values) parts.push(`values: ${values}`);
  }
  const bounds: [string, string][] = [["minimum", "≥"], ["exclusiveMinimum", ">"], ["maximum", "≤"], ["exclusiveMaximum", "<"]];
  for (const [k, sym] of bounds) if (typeof s[k] === "number") parts.push(`${sym} ${String(s[k])}`);
  if (typeof s.minItems === "number") parts.push(`at least ${String(s.minItems)} item(s)`);
  if (typeof s.maxItems === "number") parts.push(`at most ${String(s.maxItems)} items`);
  if (typeof s.minLength === "number" && s.minLength > 0) parts.push(`at least ${String(s.minLength)} characters`);
  if (typeof s.maxLength === "number") parts.push(`at most ${String(s.maxLength)} characters`);
  if (typeof s.format === "string") parts.push(`format ${s.format}`);
  else if (typeof s.pattern === "string") parts.push(`matches ${code(s.pattern)}`);
  return parts.join("; ");
}

/** One row per key and nested key, in the schema's order; list items as `key[].field`. */
function rows(schema: JsonSchema, path: string[] = [], key = ""): Row[] {
  const out: Row[] = [];
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, s] of Object.entries(props)) {
    const k = key === "" ? name : `${key}.${name}`;
    const p = [...path, name];
    out.push({ key: k, path: p, type: typeOf(s), allowed: s.properties ? "" : constraints(s), secret: path.length === 0 && (SECRET_KEYS as readonly string[]).includes(name), nested: s.properties !== undefined });
    if (s.properties) out.push(...rows(s, p, k));
    else if (s.type === "array" && (s.items as JsonSchema | undefined)?.properties) out.push(...rows(s.items as JsonSchema, p, `${k}[]`));
  }
  return out;
}

function defaultCell(v: unknown, nested: boolean): string {
  if (v === undefined) return "–";
  return nested ? "" : code(v);
}

/** Constraints that differ per environment: the shared parts once, then the rest per environment. */
function perEnvironment(allowed: readonly string[]): string {
  const parts = allowed.map((a) => a.split("; ").filter((x) => x !== ""));
  const common = parts[0]!.filter((p) => parts.every((ps) => ps.includes(p)));
  const own = ENVIRONMENTS.map((e, i) => [e, parts[i]!.filter((p) => !common.includes(p)).join("; ")] as const).filter(([, o]) => o !== "");
  return [...common, ...own.map(([e, o]) => `${e}: ${o}`)].join("; ");
}

/** docs/configuration-reference.md. */
export function renderConfigReference(): string {
  const perEnv = Object.fromEntries(ENVIRONMENTS.map((e) => [e, { rows: rows(inputSchema(e)), defaults: resolvedDefaults(e) }])) as Record<Environment, { rows: Row[]; defaults: ReturnType<typeof resolvedDefaults> }>;
  const base = perEnv.dev.rows;
  const lines = [
    "# Configuration reference",
    "",
    "<!-- Generated from config/schema.ts by `npm run docs:config`; do not edit by hand. -->",
    "",
    `Every key of the stack, as \`${CONFIG_NAMESPACE}:<key>\` in \`Pulumi.<stack>.yaml\` (nested keys with`,
    "`pulumi config set --path`). Types and allowed values come from the zod schema",
    "([config/schema.ts](../config/schema.ts)); a default is what a stack of that environment gets when the key",
    "is not set (`–`: unset, decided by a rule in [config/rules.ts](../config/rules.ts) or by the component).",
    "Cross-key rules (what `prod` refuses, what needs what) are in [configuration.md](configuration.md).",
    "Editors can validate a stack file with [pulumi-config.schema.json](pulumi-config.schema.json), e.g. in",
    "VS Code with the YAML extension: `# yaml-language-server: $schema=docs/pulumi-config.schema.json` as the",
    "file's first line.",
    "",
    `| key | type | allowed | ${ENVIRONMENTS.map((e) => `default in \`${e}\``).join(" | ")} |`,
    `| --- | --- | --- | ${ENVIRONMENTS.map(() => "---").join(" | ")} |`,
  ];
  for (const row of base) {
    const allowedPerEnv = ENVIRONMENTS.map((e) => perEnv[e].rows.find((r) => r.key === row.key)?.allowed ?? "");
    const allowed = new Set(allowedPerEnv).size === 1 ? row.allowed : perEnvironment(allowedPerEnv);
    // A top-level key shows what a stack gets; a nested key what it gets once its parent is set.
    const defaults = ENVIRONMENTS.map((e) => defaultCell(at(row.path.length === 1 ? perEnv[e].defaults.top : perEnv[e].defaults.nested, row.path), row.nested));
    const type = row.secret ? `${row.type} (**secret**: \`pulumi config set --secret\`)` : row.type;
    lines.push(`| \`${row.key}\` | ${type} | ${allowed} | ${defaults.join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}

/** A number a stack file may also hold as a string: `pulumi config set --path` stores "0.5" so. */
function numericOrString(s: JsonSchema): JsonSchema {
  return { anyOf: [s, { type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?$" }] };
}

/** Rewrites zod's schema for a stack file: numbers may be numeric strings, no per-environment defaults. */
function forStackFile(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(forStackFile);
  if (s === null || typeof s !== "object") return s;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(s as JsonSchema)) {
    if (k === "default" || k === "$schema") continue;
    out[k] = k === "properties" ? Object.fromEntries(Object.entries(v as JsonSchema).map(([p, ps]) => [p, forStackFile(ps)])) : forStackFile(v);
  }
  return out.type === "number" || out.type === "integer" ? numericOrString(out) : out;
}

/**
 * docs/pulumi-config.schema.json: a JSON Schema of a whole `Pulumi.<stack>.yaml`. Our keys are
 * checked with the least strict environment's constraints (the stack's environment is not known
 * to an editor; the program checks the rest); a secret key may also hold Pulumi's `secure:` form;
 * unknown `agentscope-ack:` keys are refused, as the program refuses them; other providers' keys
 * (`kubernetes:context`, `alicloud:region`) pass.
 */
export function pulumiConfigJsonSchema(): JsonSchema {
  const dev = inputSchema("dev");
  const props = dev.properties as Record<string, JsonSchema>;
  const config: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(props)) {
    const plain = forStackFile(s) as JsonSchema;
    config[`${CONFIG_NAMESPACE}:${name}`] = (SECRET_KEYS as readonly string[]).includes(name)
      ? { anyOf: [plain, { type: "object", properties: { secure: { type: "string" } }, required: ["secure"], additionalProperties: false }] }
      : plain;
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "Pulumi.<stack>.yaml of the agentscope-ack project",
    description: "Generated from config/schema.ts by `npm run docs:config`; reference: docs/configuration-reference.md.",
    type: "object",
    properties: {
      config: {
        type: "object",
        properties: config,
        propertyNames: { anyOf: [{ enum: Object.keys(config) }, { not: { pattern: `^${CONFIG_NAMESPACE}:` } }] },
      },
      secretsprovider: { type: "string" },
      encryptedkey: { type: "string" },
      encryptionsalt: { type: "string" },
    },
  };
}
