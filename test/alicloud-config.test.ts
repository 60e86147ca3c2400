// Config rules and defaults that exist because of how Alibaba Cloud behaves (issue 21, items B, E, I, K):
// each case names the key a user would have to change, and the platform fact behind it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../config";
import { alicloudPlatformArgs } from "../config/cloud-args";
import { inClusterRedisStorage, observabilityArgs } from "../config/workload-args";
import { configProblems } from "./support/config-problems";
import type { FlatConfig, ShippedStack } from "./support/stack-config";
import { PROJECT, REPO_ROOT, shippedStackConfig } from "./support/stack-config";

const ns = (key: string) => `${PROJECT}:${key}`;
const DIGEST = `sha256:${"ab".repeat(32)}`;
const parse = (config: FlatConfig, stack: string) => parseStackConfig({ values: config, project: PROJECT, stack });

/** The shipped config of `stack` with one structured key changed. */
function edit(stack: ShippedStack, key: string, change: (value: Record<string, unknown>) => unknown): FlatConfig {
  const base = shippedStackConfig(stack);
  const current = base[ns(key)] === undefined ? {} : (JSON.parse(base[ns(key)]!) as Record<string, unknown>);
  return { ...base, [ns(key)]: JSON.stringify(change(current)) };
}

describe("B: in-cluster Redis on Alibaba Cloud asks for a disk the CSI driver provisions", () => {
  it("defaults to 20 GiB on alicloud-disk-topology-alltype in dev, and keeps 5 GiB where no Alibaba disk is involved", () => {
    expect(inClusterRedisStorage(parse(shippedStackConfig("dev"), "dev"))).toEqual({ storageGiB: 20, storageClassName: "alicloud-disk-topology-alltype" });
    expect(inClusterRedisStorage(parse(shippedStackConfig("local"), "local"))).toEqual({ storageGiB: 5 });
  });

  it("refuses a smaller disk on the default class, naming redis.storageGiB", () => {
    const small = edit("dev", "redis", (r) => ({ ...r, storageGiB: 5 }));
    expect(configProblems(small, "dev")).toEqual([expect.stringMatching(new RegExp(`^${ns("redis")}\\.storageGiB: must be at least 20 .*\\(got 5\\)$`))]);
    // A class of the user's own (e.g. NAS) may take a smaller claim; managed Redis has no claim at all.
    expect(configProblems(edit("dev", "redis", (r) => ({ ...r, storageGiB: 5, storageClassName: "team-nas" })), "dev")).toEqual([]);
    expect(configProblems(edit("dev", "redis", (r) => ({ ...r, storageGiB: 20 })), "dev")).toEqual([]);
    expect(configProblems(edit("local", "redis", (r) => ({ ...r, storageGiB: 1 })), "local")).toEqual([]);
  });
});

describe("E: sandbox type browser is refused until a non-root browser image exists", () => {
  it("refuses browser in sandbox.types, with the reason", () => {
    const withBrowser = edit("dev", "sandbox", (s) => ({ ...s, types: ["base", "browser"] }));
    const problems = configProblems(withBrowser, "dev");
    expect(problems).toEqual([expect.stringContaining(`${ns("sandbox")}.types[1]: "browser" has no image this project builds`)]);
    expect(problems[0]).toContain("restricted");
  });

  it("ships a prod stack that lists only the base type", () => {
    const file = parseYaml(readFileSync(join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, { types?: string[] }> };
    expect(file.config[ns("sandbox")]!.types).toEqual(["base"]);
    expect(parse(shippedStackConfig("prod"), "prod").sandbox.types).toEqual(["base"]);
  });
});

describe("I: the scrape NetworkPolicy admits the namespace the platform's Prometheus runs in", () => {
  it("is arms-prom where the managed Prometheus add-on is installed, monitoring elsewhere", () => {
    expect(observabilityArgs(parse(shippedStackConfig("dev"), "dev"), {})?.metrics?.scrapeNamespaces).toEqual(["arms-prom"]);
    expect(observabilityArgs(parse(shippedStackConfig("prod"), "prod"), {})?.metrics?.scrapeNamespaces).toEqual(["arms-prom"]);
    expect(observabilityArgs(parse(shippedStackConfig("local"), "local"), {})?.metrics?.scrapeNamespaces).toEqual(["monitoring"]);
    // Managed Prometheus off on ACK: a self-run Prometheus, in `monitoring` by default.
    const own = edit("dev", "observability", (o) => ({ ...o, managedPrometheus: false }));
    expect(observabilityArgs(parse(own, "dev"), {})?.metrics?.scrapeNamespaces).toEqual(["monitoring"]);
  });

  it("keeps an explicit scrapeNamespaces as given", () => {
    const both = edit("dev", "observability", (o) => ({ ...o, scrapeNamespaces: ["arms-prom", "monitoring"] }));
    expect(observabilityArgs(parse(both, "dev"), {})?.metrics?.scrapeNamespaces).toEqual(["arms-prom", "monitoring"]);
  });
});

describe("K: sandbox images are pinned in every cloud environment", () => {
  it("requires sandbox.imageDigests.<type> in dev, naming the key", () => {
    const unpinned = edit("dev", "sandbox", (s) => ({ ...s, imageDigests: undefined }));
    expect(configProblems(unpinned, "dev")).toEqual([
      `${ns("sandbox")}.imageDigests.base: is required on Alibaba Cloud: pin the base sandbox image by digest (<repository>@sha256:...); a re-pushed tag would change what new sandboxes run with no diff in the stack`,
    ]);
  });

  it("refuses the tag latest on Alibaba Cloud, naming sandbox.imageTag", () => {
    const latest = edit("dev", "sandbox", (s) => ({ ...s, imageTag: "latest" }));
    expect(configProblems(latest, "dev")).toEqual([expect.stringContaining(`${ns("sandbox")}.imageTag: "latest" is refused on Alibaba Cloud`)]);
  });

  it("defaults the tag to one derived from the pinned digests, never latest, in the cloud", () => {
    const dev = parse(shippedStackConfig("dev"), "dev");
    expect(dev.sandbox.imageTag).toMatch(/^pinned-[0-9a-f]{12}$/);
    const other = parse(edit("dev", "sandbox", (s) => ({ ...s, imageDigests: { base: `r.example/agentscope/runtime-sandbox-base@${DIGEST}` } })), "dev");
    expect(other.sandbox.imageTag).toMatch(/^pinned-[0-9a-f]{12}$/);
    expect(other.sandbox.imageTag).not.toBe(dev.sandbox.imageTag);
    expect(parse(shippedStackConfig("local"), "local").sandbox.imageTag).toBe("latest");
    const given = parse(edit("dev", "sandbox", (s) => ({ ...s, imageTag: "1.0.3" })), "dev");
    expect(given.sandbox.imageTag).toBe("1.0.3");
  });
});

describe("Tair: managed Redis asks for an engine and class pair Alibaba sells", () => {
  it("defaults to the 1 GB cloud-native standard class with engine 7.0, not a classic local-disk class", () => {
    const prod = parse(shippedStackConfig("prod"), "prod");
    // Instance types for Redis Open-Source Edition cloud native instances: 1 GB standard = redis.shard.small.2.ce;
    // the provider's examples and tests pair 6.0/7.0 with `.ce` classes only, `*.default` with 4.0/5.0.
    expect(alicloudPlatformArgs(prod, {}).redis).toMatchObject({ instanceClass: "redis.shard.small.2.ce", engineVersion: "7.0" });
  });
});
