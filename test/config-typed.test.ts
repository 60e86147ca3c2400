// Config as users type it: `pulumi config set --path` values, omitted keys, plain-text secrets, and
// prod's safety settings. Each case runs the real parser on a shipped stack with one change.
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../config";
import { configProblems } from "./support/config-problems";
import type { FlatConfig } from "./support/stack-config";
import { PROJECT, secretKeysOf, shippedStackConfig } from "./support/stack-config";

const ns = (key: string) => `${PROJECT}:${key}`;

const problems = configProblems;

/** The shipped stack with `key` (a structured value) changed by `change`. */
function edit(stack: "dev" | "prod", key: string, change: (value: Record<string, unknown>) => unknown): FlatConfig {
  const base = shippedStackConfig(stack);
  const current = base[ns(key)] === undefined ? {} : (JSON.parse(base[ns(key)]!) as Record<string, unknown>);
  return { ...base, [ns(key)]: JSON.stringify(change(current)) };
}

describe("values stored by pulumi config set --path", () => {
  it("accepts a fractional cpu stored as a string (--path keeps only integers as numbers)", () => {
    const config = edit("dev", "agents", () => [{ name: "friday", cpu: "0.5", memoryGiB: 1 }]);
    const c = parseStackConfig({ values: config, project: PROJECT, stack: "dev" });
    expect(c.agents[0]!.cpu).toBe(0.5);
  });

  it("accepts a numeric image tag and a numeric tag value as strings", () => {
    const config = { ...edit("dev", "sandbox", (s) => ({ ...s, imageTag: 1 })), [ns("tags")]: JSON.stringify({ costcenter: 1234 }) };
    const c = parseStackConfig({ values: config, project: PROJECT, stack: "dev" });
    expect(c.sandbox.imageTag).toBe("1");
    expect(c.tags).toEqual({ costcenter: "1234" });
  });

  it("does not turn an empty string into 0", () => {
    const config = edit("dev", "agents", () => [{ name: "friday", cpu: "", memoryGiB: 2 }]);
    expect(problems(config, "dev")).toEqual([expect.stringContaining(`${ns("agents")}[0].cpu:`)]);
  });

  it("gives the default agent, fully defaulted, when agents is omitted", () => {
    const config = shippedStackConfig("dev");
    delete config[ns("agents")];
    const c = parseStackConfig({ values: config, project: PROJECT, stack: "dev" });
    expect(c.agents).toEqual([expect.objectContaining({ name: "friday", model: { provider: "dashscope", name: "qwen-turbo" }, cpu: 1, memoryGiB: 2 })]);
  });
});

describe("secrets in plain config", () => {
  it("refuses a secret key the stack stores in plain text, naming the --secret command", () => {
    const config = shippedStackConfig("dev");
    const secretKeys = secretKeysOf(config).filter((k) => k !== ns("modelApiKey"));
    expect(problems(config, "dev", secretKeys)).toEqual([
      `${ns("modelApiKey")}: is stored in plain text in the stack file; remove it and set it with \`pulumi config set --secret modelApiKey <value>\``,
    ]);
  });

  it("accepts the same value stored as a secret", () => {
    const config = shippedStackConfig("dev");
    expect(problems(config, "dev", secretKeysOf(config))).toEqual([]);
  });
});

describe("prod safety settings cannot be switched off", () => {
  it("refuses protect false and tag immutability off", () => {
    const config = { ...edit("prod", "registry", (r) => ({ ...r, tagImmutability: false })), [ns("protect")]: "false" };
    expect(problems(config, "prod")).toEqual([
      `${ns("protect")}: must stay true in prod (pulumi destroy must not delete cloud resources) (got false)`,
      `${ns("registry")}.tagImmutability: must stay true in prod (a pushed tag must never be overwritten) (got false)`,
    ]);
  });

  it("requires every configured sandbox type's image pinned by digest", () => {
    const config = edit("prod", "sandbox", (s) => ({ ...s, imageDigests: undefined }));
    expect(problems(config, "prod")).toEqual([
      `${ns("sandbox")}.imageDigests.base: is required in prod: pin the base sandbox image by digest (<repository>@sha256:...), never a tag`,
    ]);
  });
});

describe("cloud settings", () => {
  it("refuses a pinned cluster version while auto-upgrade is on", () => {
    const config = edit("dev", "cluster", (k) => ({ ...k, version: "1.34.1-aliyun.1" }));
    expect(problems(config, "dev")).toEqual([expect.stringContaining(`${ns("cluster")}.version: conflicts with autoUpgradeChannel "patch"`)]);
    const pinned = edit("dev", "cluster", (k) => ({ ...k, version: "1.34.1-aliyun.1", autoUpgradeChannel: "none" }));
    expect(problems(pinned, "dev")).toEqual([]);
  });

  it("refuses load-balancer allow-lists that together cover the internet, without a known VPC", () => {
    const config = {
      ...edit("dev", "exposure", () => ({ type: "public-lb", allowedCidrs: ["0.0.0.0/1", "128.0.0.0/1"] })),
      [ns("network")]: JSON.stringify({ existingVpcId: "vpc-bp1team", existingNodeVswitchIds: ["vsw-bp1n"], existingPodVswitchIds: ["vsw-bp1p"] }),
    };
    expect(problems(config, "dev")).toEqual([expect.stringContaining(`${ns("exposure")}.allowedCidrs: together cover every public IPv4 address`)]);
  });

  it("refuses registry push CIDRs that together admit the internet", () => {
    const config = edit("dev", "registry", (r) => ({ ...r, pushFromCidrs: ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"] }));
    expect(problems(config, "dev")).toEqual([expect.stringContaining(`${ns("registry")}.pushFromCidrs: together admit every internet address`)]);
  });
});
