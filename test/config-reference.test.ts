// The generated configuration reference and the stack file's JSON Schema (config/reference.ts) are
// committed; these tests fail when either is stale against config/schema.ts. Regenerate both with
// `npm run docs:config` (this file run with --update, which lets vitest rewrite the two files).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { CONFIG_NAMESPACE, pulumiConfigJsonSchema, renderConfigReference } from "../config/reference";
import { REPO_ROOT } from "./support/stack-config";

const REFERENCE = join(REPO_ROOT, "docs", "configuration-reference.md");
const JSON_SCHEMA = join(REPO_ROOT, "docs", "pulumi-config.schema.json");

describe("generated from config/schema.ts (npm run docs:config)", () => {
  it("docs/configuration-reference.md is up to date", async () => {
    await expect(renderConfigReference()).toMatchFileSnapshot(REFERENCE);
  });

  it("docs/pulumi-config.schema.json is up to date", async () => {
    await expect(`${JSON.stringify(pulumiConfigJsonSchema(), null, 2)}\n`).toMatchFileSnapshot(JSON_SCHEMA);
  });
});

describe("the configuration reference", () => {
  const text = renderConfigReference();
  const row = (key: string) => text.split("\n").find((l) => l.startsWith(`| \`${key}\` |`));

  it("lists nested keys with their allowed values and a default per environment", () => {
    expect(row("sandbox.isolation")).toContain("`acs`, `runtime-class`, `none`");
    // Defaults that differ per environment: local | dev | prod.
    expect(row("sandbox.poolSize")).toMatch(/\| `2` \| `2` \| `5` \|$/);
    expect(row("redis.mode")).toMatch(/\| `in-cluster` \| `in-cluster` \| `managed` \|$/);
    expect(row("cluster.deletionProtection")).toMatch(/\| `false` \| `false` \| `true` \|$/);
    // Defaults inside list items and optional objects.
    expect(row("agents[].tasks.concurrency")).toMatch(/\| `2` \| `2` \| `2` \|$/);
    expect(row("agents[].model.name")).toContain("`qwen-turbo`");
    // A constraint that differs per environment is given per environment.
    expect(row("network.zones")).toContain("prod: at least 2 item(s)");
    expect(row("modelApiKey")).toContain("**secret**");
    // A top-level key's default is what a stack gets, not the skeleton used for nested defaults.
    expect(row("agents")).toContain('`[{"name":"friday",');
    expect(row("agents")).not.toContain("workspaces");
    expect(row("network")).toMatch(/\| – \| – \| – \|$/);
    // A discriminated union lists its variants.
    expect(row("agents[].source")).toContain("one of: `{kind: builtin}`; `{kind: directory, path, app, framework}`; `{kind: image, image, framework}`");
    expect(row("agents[].source")).toMatch(/\| `\{"kind":"builtin"\}` \| `\{"kind":"builtin"\}` \| `\{"kind":"builtin"\}` \|$/);
  });
});

describe("the stack file's JSON Schema", () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(pulumiConfigJsonSchema());
  const errors = (doc: unknown) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`));
  const key = (k: string) => `${CONFIG_NAMESPACE}:${k}`;

  it.each(["local", "dev", "prod"])("accepts the repository's Pulumi.%s.yaml", (stack) => {
    const doc = parse(readFileSync(join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as unknown;
    expect(errors(doc)).toEqual([]);
  });

  it("accepts what `pulumi config set` writes: numbers as strings, secrets in secure form, other providers' keys", () => {
    expect(errors({ config: {
      [key("agents")]: [{ name: "friday", cpu: "0.5", replicas: { min: 2 } }],
      [key("modelApiKey")]: { secure: "v1:abc" },
      "kubernetes:context": "kind-x",
    } })).toEqual([]);
  });

  it("refuses an unknown key of ours, a wrong enum value, a tag instead of a digest", () => {
    expect(errors({ config: { [key("clustr")]: {} } }).length).toBeGreaterThan(0);
    expect(errors({ config: { [key("sandbox")]: { isolation: "docker" } } }).join("\n")).toContain("/config/agentscope-ack:sandbox/isolation");
    expect(errors({ config: { [key("images")]: { agent: "registry/agent:latest" } } }).join("\n")).toContain("/config/agentscope-ack:images/agent");
    expect(errors({ config: { [key("agents")]: [{ name: "friday", cpu: "lots" }] } }).length).toBeGreaterThan(0);
  });
});
