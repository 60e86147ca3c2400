// The Kubernetes half of the stack (AgentScopeWorkloads), as each environment's fixture renders it
// under mocks, goes through every rule of the policy pack with that environment's pack config.
// stack.test.ts does the same for the whole program; this keeps the components covered on their own.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { StackResource } from "../../policy/rules";
import { DEFAULT_SANDBOX_NAMESPACE_LABELS, K8S, runRules, sandboxNamespaces } from "../../policy/rules";
import { REPO_ROOT } from "../support/stack-config";
import { runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

describe.each(["local", "dev", "prod"] as const)("policy pack on AgentScopeWorkloads (%s)", (env) => {
  it("reports no violation", async () => {
    const run = await runWorkloads(workloadsArgs(env));
    const resources: StackResource[] = run.resources
      .filter((r) => !r.read)
      .map((r) => ({ type: r.type, name: r.name, urn: `urn:pulumi:${env}::agentscope-ack::${r.type}::${r.name}`, props: r.inputs }));
    // Not vacuous: the rules see the workloads, their policies and the sandbox namespace.
    expect(resources.filter((r) => r.type === K8S.deployment).length).toBeGreaterThan(0);
    expect(resources.filter((r) => r.type === K8S.networkPolicy).length).toBeGreaterThan(0);
    expect(sandboxNamespaces(resources, { sandboxNamespaces: [], sandboxNamespaceLabels: DEFAULT_SANDBOX_NAMESPACE_LABELS })).toHaveLength(1);

    const config = JSON.parse(readFileSync(join(REPO_ROOT, "policy", "config", `${env}.json`), "utf8")) as Record<string, unknown>;
    // Only the workloads half: the cluster (and its Poseidon add-on) lives in the cloud layer, which
    // stack.test.ts checks with the whole program.
    const violations = runRules(resources, { ...config, "acs-network-policy": { poseidonOutsideStack: true } }, new Map([["environment", env]]));
    expect(violations.map((v) => `[${v.policy}] ${v.message}`)).toEqual([]);
  });
});
