import { describe, expect, it } from "vitest";
import type { SandboxEgressConfig } from "../../policy/rules";
import { K8S, checkNamespaceDefaultDeny, checkSandboxEgress, defaultDenyDirections, sandboxNamespaces, selectorMatches } from "../../policy/rules";
import { DENY_ALL, deployment, goodContainer, networkPolicy, podSpec, res, violation } from "./fixtures";

const sandboxCfg: SandboxEgressConfig = {
  sandboxNamespaces: [],
  sandboxNamespaceLabels: { "app.kubernetes.io/component": "sandboxes" },
  apiServerCidrs: [],
  extraForbiddenCidrs: [],
};
const denyCfg = { exemptNamespaces: [], sandbox: sandboxCfg };
const PRIVATE_EXCEPT = ["100.100.100.200/32", "169.254.169.254/32", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

const agentsNs = res(K8S.namespace, { metadata: { name: "agents", labels: { "app.kubernetes.io/component": "agents" } } }, "ns-agents");
const sandboxNs = res(K8S.namespace, { metadata: { name: "sandboxes", labels: { "app.kubernetes.io/component": "sandboxes" } } }, "ns-sandboxes");
const agent = res(K8S.deployment, deployment());
const deny = (ns: string) => res(K8S.networkPolicy, networkPolicy(ns, "default-deny", DENY_ALL), `${ns}-deny`);
const internetEgress = (except: string[]) =>
  res(K8S.networkPolicy, networkPolicy("sandboxes", "internet", {
    podSelector: {},
    policyTypes: ["Egress"],
    egress: [
      { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ protocol: "UDP", port: 53 }] },
      { to: [{ ipBlock: { cidr: "0.0.0.0/0", except } }] },
    ],
  }), "sandbox-internet");

describe("network-isolation: default deny", () => {
  it("passes when every namespace with workloads, and the sandbox namespace, denies by default", () => {
    expect(checkNamespaceDefaultDeny([agentsNs, sandboxNs, agent, deny("agents"), deny("sandboxes")], denyCfg)).toEqual([]);
  });

  it("accepts separate ingress and egress default-deny policies", () => {
    const ingress = res(K8S.networkPolicy, networkPolicy("agents", "deny-in", { podSelector: {} }));
    const egress = res(K8S.networkPolicy, networkPolicy("agents", "deny-out", { podSelector: {}, policyTypes: ["Egress"], egress: [] }));
    expect(checkNamespaceDefaultDeny([agent, ingress, egress], denyCfg)).toEqual([]);
  });

  it("reports a namespace with workloads and no default deny, on its Namespace", () => {
    expect(checkNamespaceDefaultDeny([agentsNs, agent], denyCfg)).toEqual([
      {
        message:
          'Namespace "agents" runs Deployment agents/friday but has no default-deny NetworkPolicy for Ingress and Egress. Fix: add a NetworkPolicy in namespace "agents" with podSelector: {}, ' +
          'policyTypes: ["Ingress", "Egress"] and no ingress or egress rules, then allow only the traffic each workload needs with narrower policies.',
        urn: agentsNs.urn,
      },
    ]);
  });

  it("does not count a policy that selects some pods, or allows traffic, as default deny", () => {
    const narrow = res(K8S.networkPolicy, networkPolicy("agents", "n", { ...DENY_ALL, podSelector: { matchLabels: { app: "x" } } }));
    const allowAll = res(K8S.networkPolicy, networkPolicy("agents", "a", { ...DENY_ALL, egress: [{}] }));
    expect(checkNamespaceDefaultDeny([agent, narrow, allowAll], denyCfg)).toEqual([
      violation('Namespace "agents" runs Deployment agents/friday but has no default-deny NetworkPolicy for Egress.', agent.urn),
    ]);
    // Without policyTypes, a policy with egress rules is defaulted to Ingress+Egress, and without any only to Ingress.
    expect(defaultDenyDirections({ spec: { podSelector: {} } })).toEqual(["Ingress"]);
    expect(defaultDenyDirections({ spec: { podSelector: {}, egress: [{ to: [] }] } })).toEqual(["Ingress"]);
  });

  it("requires default deny in a sandbox namespace that has no workloads of the stack", () => {
    expect(checkNamespaceDefaultDeny([sandboxNs], denyCfg)).toEqual([
      violation('Namespace "sandboxes" is a sandbox namespace but has no default-deny NetworkPolicy for Ingress and Egress.', sandboxNs.urn),
    ]);
  });

  it("skips exempt namespaces and defaults the namespace as the API server does", () => {
    expect(checkNamespaceDefaultDeny([agent], { ...denyCfg, exemptNamespaces: ["agents"] })).toEqual([]);
    const bare = res(K8S.deployment, { ...deployment(), metadata: { name: "x" } });
    expect(checkNamespaceDefaultDeny([bare], denyCfg)).toEqual([violation('Namespace "default" runs Deployment x', bare.urn)]);
    expect(checkNamespaceDefaultDeny([{ ...bare, providerNamespace: "agents" }, deny("agents")], denyCfg)).toEqual([]);
  });
});

describe("network-isolation: sandbox egress", () => {
  it("finds sandbox namespaces by config, by label and from the sandbox manager's env", () => {
    const manager = res(K8S.deployment, deployment(podSpec({}, goodContainer({ env: [{ name: "CONTAINER_DEPLOYMENT", value: "k8s" }, { name: "K8S_NAMESPACE", value: "sbx" }] }))));
    expect(sandboxNamespaces([agentsNs, sandboxNs, manager], { ...sandboxCfg, sandboxNamespaces: ["extra"] })).toEqual(["extra", "sandboxes", "sbx"]);
  });

  it("passes a sandbox namespace that allows DNS and the internet minus the forbidden ranges", () => {
    expect(checkSandboxEgress([sandboxNs, deny("sandboxes"), internetEgress(PRIVATE_EXCEPT)], sandboxCfg)).toEqual([]);
  });

  it("reports a sandbox namespace without default-deny egress", () => {
    expect(checkSandboxEgress([sandboxNs], sandboxCfg)).toEqual([
      violation(/^Sandbox namespace "sandboxes" has no default-deny egress NetworkPolicy, so sandbox pods \(created at run time\) can reach the Alibaba Cloud metadata service 100\.100\.100\.200/, sandboxNs.urn),
    ]);
  });

  it("reports an ipBlock that leaves the metadata service open", () => {
    const p = internetEgress(PRIVATE_EXCEPT.filter((c) => c !== "100.100.100.200/32"));
    expect(checkSandboxEgress([sandboxNs, deny("sandboxes"), p], sandboxCfg)).toEqual([
      {
        message:
          "NetworkPolicy sandboxes/internet lets sandbox pods in \"sandboxes\" reach the Alibaba Cloud metadata service 100.100.100.200 (it hands out the node's RAM credentials) " +
          "through egress rule 2 (ipBlock 0.0.0.0/0 except 169.254.169.254/32, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 leaves 100.100.100.200 open). Fix: add 100.100.100.200/32 to that ipBlock's except list.",
        urn: p.urn,
      },
    ]);
  });

  it("reports private ranges left open, even in part", () => {
    const p = internetEgress(["100.100.100.200/32", "169.254.169.254/32", "10.0.0.0/9", "172.16.0.0/12", "192.168.0.0/16"]);
    expect(checkSandboxEgress([sandboxNs, deny("sandboxes"), p], sandboxCfg)).toEqual([
      violation("reach the private range 10.0.0.0/8 through egress rule 2 (ipBlock 0.0.0.0/0 except 100.100.100.200/32, 169.254.169.254/32, 10.0.0.0/9, 172.16.0.0/12, 192.168.0.0/16 leaves 10.128.0.0-10.255.255.255 open). Fix: add 10.0.0.0/8 to that ipBlock's except list.", p.urn),
    ]);
  });

  it("reports the API server when its address is configured", () => {
    const p = internetEgress(PRIVATE_EXCEPT);
    expect(checkSandboxEgress([sandboxNs, deny("sandboxes"), p], { ...sandboxCfg, apiServerCidrs: ["47.96.1.2/32"] })).toEqual([
      violation("reach the API server (47.96.1.2/32) through egress rule 2", p.urn),
    ]);
  });

  it("reports a rule without `to`, and a peer that selects every pod in the cluster", () => {
    const open = res(K8S.networkPolicy, networkPolicy("sandboxes", "open", { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: [{ port: 80 }] }] }));
    const allPods = res(K8S.networkPolicy, networkPolicy("sandboxes", "pods", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: {} }] }] }));
    expect(checkSandboxEgress([sandboxNs, deny("sandboxes"), open, allPods], sandboxCfg)).toEqual([
      violation(/^NetworkPolicy sandboxes\/open lets sandbox pods in "sandboxes" reach the Alibaba Cloud metadata service .* through egress rule 1 \(no `to`, which allows every destination\)\. Fix: list destinations in `to`/, open.urn),
      violation("reach every pod in every namespace (pod addresses are in private ranges: agents, Redis, the sandbox manager) through egress rule 1 (namespaceSelector {} with no podSelector)", allPods.urn),
    ]);
  });

  it("ignores policies that cannot select sandbox pods when their labels are configured", () => {
    const managerEgress = res(K8S.networkPolicy, networkPolicy("sandboxes", "manager", {
      podSelector: { matchLabels: { "app.kubernetes.io/name": "sandbox-manager" } },
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }],
    }));
    const resources = [sandboxNs, deny("sandboxes"), managerEgress];
    expect(checkSandboxEgress(resources, sandboxCfg)).toHaveLength(1);
    expect(checkSandboxEgress(resources, { ...sandboxCfg, sandboxPodLabels: { "runtime.agentscope.io/sandbox": "true" } })).toEqual([]);
  });

  it("ignores namespaces that are not sandbox namespaces, and IPv6 blocks", () => {
    const agentsEgress = res(K8S.networkPolicy, networkPolicy("agents", "e", { podSelector: {}, policyTypes: ["Egress"], egress: [{}] }));
    const v6 = res(K8S.networkPolicy, networkPolicy("sandboxes", "v6", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "::/0" } }] }] }));
    expect(checkSandboxEgress([agentsNs, sandboxNs, deny("sandboxes"), agentsEgress, v6], sandboxCfg)).toEqual([]);
  });

  it("evaluates label selectors as the API server does", () => {
    const labels = { app: "a", tier: "web" };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "a" } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "b" } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "In", values: ["web"] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["web"] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "x", operator: "DoesNotExist" }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "x", operator: "Exists" }] }, labels)).toBe(false);
  });
});
