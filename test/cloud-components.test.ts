// Pure checks of the cloud components: the rules a first real deployment would otherwise break on.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { checkedAddonConfig, resolveAckClusterArgs } from "../components/ack-cluster";
import { resolveAcrRegistryArgs } from "../components/acr-registry";
import { NO_ACS, acsNetworkAnnotations, zoneSpreadWhenUnsatisfiable } from "../components/acs";
import { coversPublicInternet } from "../components/cidr";
import { contentTag, resolveContainerImageArgs } from "../components/container-image";

const create = { vswitchIds: ["vsw-1"], podVswitchIds: ["vsw-2"] };

describe("cluster version and auto-upgrade", () => {
  it("refuses a pinned version while auto-upgrade is on, accepts it with auto-upgrade off", () => {
    expect(() => resolveAckClusterArgs("c", { ...create, version: "1.34.1-aliyun.1" })).toThrow(/version 1.34.1-aliyun.1 conflicts with auto-upgrade \(channel patch\)/);
    expect(resolveAckClusterArgs("c", { ...create, version: "1.34.1-aliyun.1", autoUpgradeChannel: "none" }).autoUpgradeChannel).toBe("none");
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

describe("coversPublicInternet", () => {
  it("sees through splits and ignores non-public space", () => {
    expect(coversPublicInternet(["0.0.0.0/0"])).toBe(true);
    expect(coversPublicInternet(["0.0.0.0/1", "128.0.0.0/1"])).toBe(true);
    // All public space in four blocks; drop 216.0.0.0/5 from the last one and it is no longer all.
    expect(coversPublicInternet(["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/4", "208.0.0.0/4"])).toBe(true);
    expect(coversPublicInternet(["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/4", "208.0.0.0/5"])).toBe(false);
    expect(coversPublicInternet(["172.20.0.0/16"])).toBe(false);
    expect(coversPublicInternet([])).toBe(false);
  });
});

describe("image tags", () => {
  const build = { context: "ctx", target: "agent", repository: "r.example/ns/agent" };

  it("refuses pushing latest", () => {
    expect(() => resolveContainerImageArgs({ build: { ...build, tag: "latest" } })).toThrow(/build.tag latest is refused/);
  });

  it("tags by content: same inputs, same tag; any change, a new tag", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctx-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
    writeFileSync(join(dir, "app.py"), "print(1)\n");
    const input = { context: dir, dockerfile: join(dir, "Dockerfile"), target: "agent", platform: "linux/amd64", buildArgs: { BASE_IMAGE: "b" } };
    const first = contentTag(input);
    expect(first).toMatch(/^src-[0-9a-f]{16}$/);
    expect(contentTag(input)).toBe(first);
    expect(contentTag({ ...input, target: "sandbox-manager" })).not.toBe(first);
    expect(contentTag({ ...input, buildArgs: { BASE_IMAGE: "c" } })).not.toBe(first);
    writeFileSync(join(dir, "app.py"), "print(2)\n");
    expect(contentTag(input)).not.toBe(first);
  });
});

describe("ACS placement", () => {
  const acs = { enabled: true, computeClass: "general-purpose", computeQos: "default", imageCache: false } as const;

  it("keeps a hard zone spread off ACS only", () => {
    expect(zoneSpreadWhenUnsatisfiable(NO_ACS, "required")).toBe("DoNotSchedule");
    expect(zoneSpreadWhenUnsatisfiable(acs, "required")).toBe("ScheduleAnyway");
    expect(zoneSpreadWhenUnsatisfiable(NO_ACS, "preferred")).toBe("ScheduleAnyway");
  });

  it("stamps ACS pods with every pod vSwitch (and security groups when given), never ECS pods", async () => {
    const a = acsNetworkAnnotations(acs, { vswitchIds: ["vsw-a", "vsw-b"], securityGroupIds: ["sg-1"] });
    expect(await new Promise((r) => pulumi.output(a).apply(r))).toEqual({
      "network.alibabacloud.com/vswitch-ids": "vsw-a,vsw-b",
      "network.alibabacloud.com/security-group-ids": "sg-1",
    });
    expect(acsNetworkAnnotations(NO_ACS, { vswitchIds: ["vsw-a"] })).toEqual({});
  });
});
