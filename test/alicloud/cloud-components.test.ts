// Pure checks of the cloud components: the rules a first real deployment would otherwise break on.
import { describe, expect, it } from "vitest";
import { resolveAckClusterArgs } from "../../components/alicloud/ack-cluster";
import { checkedAddonConfig, settingBySchema } from "../../components/alicloud/addon-config";
import { resolveAcrRegistryArgs } from "../../components/alicloud/acr-registry";

const create = { vswitchIds: ["vsw-1"], podVswitchIds: ["vsw-2"] };

describe("cluster version and auto-upgrade", () => {
  it("refuses a pinned version while auto-upgrade is on, accepts it with auto-upgrade off", () => {
    expect(() => resolveAckClusterArgs("c", { ...create, version: "1.34.1-aliyun.1" })).toThrow(/version 1.34.1-aliyun.1 conflicts with auto-upgrade \(channel patch\)/);
    expect(resolveAckClusterArgs("c", { ...create, version: "1.34.1-aliyun.1", autoUpgradeChannel: "none" }).autoUpgradeChannel).toBe("none");
  });
});

describe("system node pool size", () => {
  it("refuses maxSize not above minSize (the provider's NodePool needs maxSize > minSize), accepts room to scale", () => {
    const pool = (minSize: number, maxSize: number) => ({ ...create, systemNodePool: { instanceTypes: ["ecs.g7.xlarge"], minSize, maxSize } });
    expect(() => resolveAckClusterArgs("c", pool(3, 3))).toThrow(/maxSize \(3\) must be greater than minSize \(3\)/);
    expect(() => resolveAckClusterArgs("c", pool(4, 3))).toThrow(/must be greater than minSize/);
    expect(() => resolveAckClusterArgs("c", pool(2, 3))).not.toThrow();
  });
});

describe("add-on config against the add-on's own schema", () => {
  const schema = JSON.stringify({ type: "object", properties: { a: {}, b: {} } });

  it("passes known keys through as JSON", () => {
    expect(checkedAddonConfig("x", schema, { a: "1", b: ["n"] })).toBe('{"a":"1","b":["n"]}');
  });

  it("names every unknown key and the known ones", () => {
    expect(() => checkedAddonConfig("x", schema, { a: "1", c: 2, d: 3 })).toThrow("x config has key(s) c, d that its schema does not define (known: a, b)");
  });

  it("refuses a schema that is not JSON", () => {
    expect(() => checkedAddonConfig("x", "<html>", {})).toThrow("the x add-on's config schema is not JSON");
  });
});

describe("registry push allow-list", () => {
  const base = { existingInstanceId: "cri-1", repositories: ["agent"], vpcId: "vpc-1", vswitchId: "vsw-1" };

  it("keeps the internet endpoint off by default", () => {
    expect(resolveAcrRegistryArgs(base).pushFromCidrs).toEqual([]);
  });

  it("refuses CIDRs that together admit every internet address", () => {
    expect(() => resolveAcrRegistryArgs({ ...base, pushFromCidrs: ["0.0.0.0/1", "128.0.0.0/1"] })).toThrow(/together admit every internet address/);
    expect(resolveAcrRegistryArgs({ ...base, pushFromCidrs: ["203.0.113.7/32"] }).pushFromCidrs).toEqual(["203.0.113.7/32"]);
  });
});

describe("a dotted add-on setting, spelt as the add-on's schema spells it", () => {
  const schema = (properties: Record<string, unknown>) => JSON.stringify({ type: "object", properties });

  it("nests it when the schema nests it", () => {
    const s = schema({ rbac: { type: "object", properties: { secret: { type: "boolean" } } } });
    expect(settingBySchema("image-cache-operator", s, "rbac.secret", true)).toEqual({ rbac: { secret: true } });
  });

  it("keeps the dotted key when the schema has that key", () => {
    expect(settingBySchema("image-cache-operator", schema({ "rbac.secret": { type: "boolean" } }), "rbac.secret", true)).toEqual({ "rbac.secret": true });
  });

  it("gives nothing when the schema has neither, or only the parent", () => {
    expect(settingBySchema("image-cache-operator", schema({ other: { type: "string" } }), "rbac.secret", true)).toBeUndefined();
    expect(settingBySchema("image-cache-operator", schema({ rbac: { type: "object" } }), "rbac.secret", true)).toBeUndefined();
    expect(settingBySchema("image-cache-operator", schema({ rbac: { type: "object", properties: { create: {} } } }), "rbac.secret", true)).toBeUndefined();
  });

  it("refuses a schema that is not JSON", () => {
    expect(() => settingBySchema("image-cache-operator", "<html>", "rbac.secret", true)).toThrow(/image-cache-operator add-on's config schema is not JSON/);
  });
});
