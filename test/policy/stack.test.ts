// The whole program, for each shipped stack, under mocks: every registered resource goes through
// every rule of the policy pack (with that stack's pack config), as `pulumi preview --policy-pack
// policy --policy-pack-config policy/config/<stack>.json` would, and nothing may be reported.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { StackResource } from "../../policy/rules";
import { runRules } from "../../policy/rules";
import { runProgram } from "../support/program";
import { PROJECT, REPO_ROOT, SHIPPED_STACKS, shippedStackConfig } from "../support/stack-config";

function packConfig(stack: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(REPO_ROOT, "policy", "config", `${stack}.json`), "utf8")) as Record<string, unknown>;
}

describe.each(SHIPPED_STACKS)("policy pack on the %s stack", (stack) => {
  it("reports no violation for any registered resource", async () => {
    const run = await runProgram(shippedStackConfig(stack), stack);
    const resources: StackResource[] = run.resources.map((r) => ({
      type: r.type,
      name: r.name,
      urn: `urn:pulumi:${stack}::${PROJECT}::${r.type}::${r.name}`,
      props: r.inputs,
    }));
    // The pack must have had something to judge: a program that registers nothing proves nothing.
    expect(resources.length).toBeGreaterThan(0);
    const violations = runRules(resources, packConfig(stack), new Map([["environment", stack]]));
    expect(violations.map((v) => `[${v.policy}] ${v.message}`)).toEqual([]);

    // The harness hands the rules what the engine would: breaking one input is caught.
    const cluster = resources.find((r) => r.type === "alicloud:cs/managedKubernetes:ManagedKubernetes");
    if (cluster) {
      const broken = resources.map((r) => (r === cluster ? { ...r, props: { ...r.props, clusterSpec: "ack.standard" } } : r));
      expect(runRules(broken, packConfig(stack)).map((v) => v.policy)).toEqual(["ack-cluster"]);
    }
  });
});

describe("policy pack on the local stack without a model API key (the stand-in model)", () => {
  it("reports no violation, the stand-in's Deployment, Service and policies included", async () => {
    const run = await runProgram(shippedStackConfig("local", false), "local");
    const resources: StackResource[] = run.resources.map((r) => ({
      type: r.type,
      name: r.name,
      urn: `urn:pulumi:local::${PROJECT}::${r.type}::${r.name}`,
      props: r.inputs,
    }));
    expect(resources.filter((r) => r.name.includes("stand-in-model")).map((r) => r.type).sort()).toEqual([
      "docker:index/image:Image",
      "kubernetes:apps/v1:Deployment",
      "kubernetes:core/v1:Service",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    ]);
    expect(runRules(resources, packConfig("local"), new Map([["environment", "local"]])).map((v) => `[${v.policy}] ${v.message}`)).toEqual([]);
  });
});
