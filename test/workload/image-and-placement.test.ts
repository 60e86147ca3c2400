// Pure checks of workload helpers: content-addressed image tags and ACS pod placement.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { NO_ACS, acsNetworkAnnotations, zoneSpreadWhenUnsatisfiable } from "../../components/workload/acs";
import { contentTag, resolveContainerImageArgs } from "../../components/workload/container-image";

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
