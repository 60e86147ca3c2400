// sandbox-egress-allowlist: where sandbox egress is an allow-list, sandbox pods' NetworkPolicies let
// them reach only the egress proxy. Judged both ways: on what AgentScopeWorkloads renders (passes,
// whole pack included), and on that stack with one policy that lets sandboxes around the proxy.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { SandboxAllowListConfig, StackResource } from "../../policy/rules";
import { DEFAULT_SANDBOX_NAMESPACE_LABELS, EGRESS_PROXY_POD_LABELS, K8S, SANDBOX_POD_LABELS, checkSandboxAllowList, runRules } from "../../policy/rules";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { REPO_ROOT } from "../support/stack-config";
import { runWorkloads, workloadsArgs } from "../support/workloads-fixtures";
import { networkPolicy, res, violation } from "./fixtures";

const CONFIG: SandboxAllowListConfig = {
  requireProxy: false,
  sandboxNamespaces: [],
  sandboxNamespaceLabels: DEFAULT_SANDBOX_NAMESPACE_LABELS,
  sandboxPodLabels: SANDBOX_POD_LABELS,
  proxyPodLabels: EGRESS_PROXY_POD_LABELS,
};
const NS = "agentscope-sandboxes";

async function rendered(egress: NonNullable<AgentScopeWorkloadsArgs["sandbox"]["egress"]>): Promise<StackResource[]> {
  const args = workloadsArgs("local");
  const run = await runWorkloads({
    ...args,
    images: { ...args.images, build: { ...args.images.build!, egressProxyRepository: "localhost:5000/agentscope/egress-proxy" } },
    sandbox: { ...args.sandbox, egress },
  });
  return run.resources
    .filter((r) => !r.read)
    .map((r) => ({ type: r.type, name: r.name, urn: `urn:pulumi:local::agentscope-ack::${r.type}::${r.name}`, props: r.inputs }));
}

const sandboxPolicy = (name: string, egress: unknown[]) =>
  res(K8S.networkPolicy, networkPolicy(NS, name, { podSelector: {}, policyTypes: ["Egress"], egress }), name);

let allowList: StackResource[];
let internet: StackResource[];
let none: StackResource[];
beforeAll(async () => {
  // One after the other: the mocks are process-wide.
  allowList = await rendered({ mode: "allowList", allow: ["pypi.org"] });
  internet = await rendered({ mode: "internet" });
  none = await rendered({ mode: "none" });
});

describe("sandbox-egress-allowlist", () => {
  it("passes what the stack renders with mode allowList, and the whole pack passes it too", () => {
    // Not vacuous: the proxy runs in the sandbox namespace, with its clients' policy.
    expect(allowList.some((r) => r.type === K8S.deployment && (r.props["metadata"] as { name: string }).name === "egress-proxy")).toBe(true);
    expect(checkSandboxAllowList(allowList, { ...CONFIG, requireProxy: true })).toEqual([]);
    const config = JSON.parse(readFileSync(join(REPO_ROOT, "policy", "config", "local.json"), "utf8")) as Record<string, unknown>;
    const violations = runRules(allowList, { ...config, "sandbox-egress-allowlist": { allowList: true } }, new Map([["environment", "local"]]));
    expect(violations.map((v) => `[${v.policy}] ${v.message}`)).toEqual([]);
  });

  it("refuses a sandbox policy that opens the internet by address beside the proxy", () => {
    const open = sandboxPolicy("sandbox-internet", [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }] }]);
    expect(checkSandboxAllowList([...allowList, open], CONFIG)).toEqual([
      violation(`NetworkPolicy ${NS}/sandbox-internet lets sandbox pods in "${NS}" reach {"ipBlock":{"cidr":"0.0.0.0/0","except":["10.0.0.0/8"]}} through egress rule 1, bypassing the egress proxy`, open.urn),
    ]);
  });

  it("refuses a rule without `to`, a rule to other pods, and a rule to pods of another namespace", () => {
    const all = sandboxPolicy("all", [{}]);
    const otherPods = sandboxPolicy("other-pods", [{ to: [{ podSelector: { matchLabels: { app: "cache" } } }], ports: [{ protocol: "TCP", port: 6379 }] }]);
    const otherNs = sandboxPolicy("other-ns", [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: EGRESS_PROXY_POD_LABELS } }], ports: [{ protocol: "TCP", port: 3128 }] }]);
    const found = checkSandboxAllowList([...allowList, all, otherPods, otherNs], CONFIG);
    expect(found).toEqual([
      violation("reach every destination (no `to`) through egress rule 1", all.urn),
      violation('reach {"podSelector":{"matchLabels":{"app":"cache"}}}', otherPods.urn),
      violation('reach {"namespaceSelector":{}', otherNs.urn),
    ]);
  });

  it("tolerates a DNS-only rule and a policy that selects no sandbox pod", () => {
    const dns = sandboxPolicy("dns", [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ protocol: "UDP", port: 53 }] }]);
    const proxyOwn = res(K8S.networkPolicy, networkPolicy(NS, "not-sandboxes", { podSelector: { matchLabels: { app: "other" } }, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }] }));
    expect(checkSandboxAllowList([...allowList, dns, proxyOwn], CONFIG)).toEqual([]);
  });

  it("applies only where sandbox egress is an allow-list: internet and none pass, a missing proxy fails when required", () => {
    expect(checkSandboxAllowList(internet, CONFIG)).toEqual([]);
    expect(checkSandboxAllowList(none, CONFIG)).toEqual([]);
    const nsUrn = internet.find((r) => r.type === K8S.namespace && (r.props["metadata"] as { name: string }).name === NS)?.urn;
    expect(checkSandboxAllowList(internet, { ...CONFIG, requireProxy: true })).toEqual([
      violation(`Sandbox namespace "${NS}" has no egress proxy`, nsUrn),
    ]);
    // The rendered internet stack itself opens the internet by address: exactly what the rule refuses once a proxy runs.
    const proxy = allowList.filter((r) => r.type === K8S.deployment && (r.props["metadata"] as { name: string }).name === "egress-proxy");
    expect(checkSandboxAllowList([...internet, ...proxy], CONFIG).length).toBeGreaterThan(0);
  });
});
