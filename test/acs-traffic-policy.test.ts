// acs.trafficPolicy (issue 24, "On ACS"): Poseidon's TrafficPolicy / GlobalTrafficPolicy rendered from
// sandbox.egress, the sandboxes and the proxy in traffic-policy mode, Poseidon's switch through its
// add-on config. Each field against the sources components/workload/acs-traffic-policy.ts cites.
import { describe, expect, it } from "vitest";
import { poseidonTrafficPolicyConfig } from "../components/alicloud/ack-cluster";
import { METADATA_CIDR, proxyTrafficRules, resolveSandboxTrafficPoliciesArgs, sandboxTrafficRules } from "../components/workload/acs-traffic-policy";
import { SANDBOX_DENIED_CIDRS } from "../components/workload/network-policies";
import { ADDON_CATALOGUE } from "./support/alicloud-facts";
import { configProblems } from "./support/config-problems";
import type { ProgramRun, RecordedResource } from "./support/program";
import { runProgram } from "./support/program";
import type { FlatConfig } from "./support/stack-config";
import { PROJECT, shippedStackConfig } from "./support/stack-config";

const TP = "kubernetes:network.alibabacloud.com/v1alpha1:TrafficPolicy";
const GTP = "kubernetes:network.alibabacloud.com/v1alpha1:GlobalTrafficPolicy";
const ADDON = "alicloud:cs/kubernetesAddon:KubernetesAddon";
const MODE = "network.alibabacloud.com/network-policy-mode";

function withKeys(stack: "prod" | "dev" | "local", over: Record<string, (v: Record<string, unknown>) => unknown>): FlatConfig {
  const c = shippedStackConfig(stack);
  for (const [key, edit] of Object.entries(over)) {
    const k = `${PROJECT}:${key}`;
    c[k] = JSON.stringify(edit(c[k] === undefined ? {} : (JSON.parse(c[k]) as Record<string, unknown>)));
  }
  return c;
}
const trafficPolicyOn = (v: Record<string, unknown>) => ({ ...v, trafficPolicy: true });
const allowList = (v: Record<string, unknown>) => ({ ...v, egress: { mode: "allowList", allow: ["pypi.org", "files.pythonhosted.org"] } });

type Rule = { action: string; to?: unknown[]; from?: unknown[] };
interface PolicyInputs { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: { priority: number; selector: { matchLabels?: Record<string, string> }; ingress?: { rules: Rule[] }; egress?: { rules: Rule[] } } }
const inputsOf = (r: RecordedResource) => r.inputs as unknown as PolicyInputs;
const named = (run: ProgramRun, type: string, name: string) => {
  const found = run.ofType(type).filter((r) => inputsOf(r).metadata.name === name);
  expect(found, `${type} ${name}`).toHaveLength(1);
  return inputsOf(found[0]!);
};
function sandboxSettings(run: ProgramRun): { labels: Record<string, string>; annotations: Record<string, string> } {
  const secret = run.ofType("kubernetes:core/v1:ConfigMap").find((r) => JSON.stringify(r.inputs).includes("podReadyTimeoutSeconds"));
  const data = (secret?.inputs["data"] ?? {}) as Record<string, string>;
  const json = Object.values(data).find((v) => v.includes("podReadyTimeoutSeconds"));
  if (json === undefined) throw new Error("no sandbox pod settings rendered");
  return JSON.parse(json) as { labels: Record<string, string>; annotations: Record<string, string> };
}

describe("prod with acs.trafficPolicy (sandbox egress none, the prod default)", async () => {
  const run = await runProgram(withKeys("prod", { acs: trafficPolicyOn }), "prod");

  it("turns Poseidon's TrafficPolicy switch on through the add-on's config, as Alibaba's ACS template spells it", () => {
    const poseidon = run.ofType(ADDON).find((a) => a.inputs["name"] === "poseidon")!;
    expect(JSON.parse(String(poseidon.inputs["config"]))).toEqual({ TrafficPolicy: true, NetworkPolicy: true, ACKNetworkPolicy: true });
  });

  it("puts sandbox pods in traffic-policy mode, beside the network-policy agent annotations", () => {
    const s = sandboxSettings(run);
    expect(s.annotations[MODE]).toBe("traffic-policy");
    expect(s.annotations["network.alibabacloud.com/enable-network-policy-agent"]).toBe("true");
  });

  it("renders the sandboxes' TrafficPolicy: the manager's Service in, nothing out", () => {
    const tp = named(run, TP, "sandboxes");
    expect(tp.apiVersion).toBe("network.alibabacloud.com/v1alpha1");
    expect(tp.metadata.namespace).toBe("agentscope-sandboxes");
    expect(tp.spec.priority).toBe(100);
    expect(tp.spec.selector).toEqual({ matchLabels: { "app.kubernetes.io/name": "agentscope-sandbox" } });
    expect(sandboxSettings(run).labels["app.kubernetes.io/name"]).toBe("agentscope-sandbox");
    expect(tp.spec.ingress!.rules).toEqual([
      { action: "allow", from: [{ service: { name: "sandbox-manager", namespace: "agentscope-agents" } }] },
      { action: "deny", from: [{ cidr: "0.0.0.0/0" }] },
    ]);
    expect(tp.spec.egress!.rules).toEqual([{ action: "deny", to: [{ cidr: "0.0.0.0/0" }] }]);
    // The manager's Service is really that name, in that namespace.
    const svc = run.ofType("kubernetes:core/v1:Service").map((r) => r.inputs["metadata"] as { name: string; namespace: string });
    expect(svc).toContainEqual(expect.objectContaining({ name: "sandbox-manager", namespace: "agentscope-agents" }));
  });

  it("denies the metadata service cluster-wide, first of all, with a GlobalTrafficPolicy (cluster-scoped)", () => {
    const g = named(run, GTP, "agentscope-deny-metadata");
    expect(g.metadata.namespace).toBeUndefined();
    expect(g.spec).toEqual({ priority: 1, selector: {}, egress: { rules: [{ action: "deny", to: [{ cidr: "100.100.100.200/32" }] }] } });
  });

  it("keeps every NetworkPolicy: they bind every other pod, and these if Poseidon enforces both", async () => {
    const off = await runProgram(shippedStackConfig("prod"), "prod");
    const names = (r: ProgramRun) => r.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((p) => p.name).sort();
    expect(names(run)).toEqual(names(off));
    expect(off.ofType(TP)).toHaveLength(0);
    expect(off.ofType(GTP)).toHaveLength(0);
    expect(sandboxSettings(off).annotations[MODE]).toBeUndefined();
    expect(off.ofType(ADDON).find((a) => a.inputs["name"] === "poseidon")!.inputs["config"]).toBeUndefined();
  });
});

describe("prod with acs.trafficPolicy and sandbox egress allowList", async () => {
  const run = await runProgram(withKeys("prod", { acs: trafficPolicyOn, sandbox: allowList }), "prod");

  it("lets sandboxes reach the egress proxy's Service and nothing else (no DNS: its URL is a ClusterIP)", () => {
    expect(named(run, TP, "sandboxes").spec.egress!.rules).toEqual([
      { action: "allow", to: [{ service: { name: "egress-proxy", namespace: "agentscope-sandboxes" } }] },
      { action: "deny", to: [{ cidr: "0.0.0.0/0" }] },
    ]);
  });

  it("limits the proxy itself to the allowed names by fqdn, after DNS and the denied ranges", () => {
    const proxy = named(run, TP, "egress-proxy");
    const deployment = run.ofType("kubernetes:apps/v1:Deployment").find((d) => (d.inputs["metadata"] as { name: string }).name === "egress-proxy")!;
    const template = (deployment.inputs as { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { annotations: Record<string, string> } } } }).spec;
    expect(proxy.spec.selector).toEqual({ matchLabels: template.selector.matchLabels });
    expect(template.template.metadata.annotations[MODE]).toBe("traffic-policy");
    const rules = proxy.spec.egress!.rules;
    expect(rules[0]).toEqual({ action: "allow", to: [{ service: { name: "kube-dns", namespace: "kube-system" } }] });
    expect(rules[1]!.action).toBe("deny");
    expect(rules[1]!.to).toEqual(expect.arrayContaining([{ cidr: "10.0.0.0/8" }, { cidr: "100.64.0.0/10" }, { cidr: "169.254.0.0/16" }]));
    expect(rules[2]).toEqual({ action: "allow", to: [{ fqdn: "pypi.org" }, { fqdn: "files.pythonhosted.org" }] });
    expect(rules[3]).toEqual({ action: "deny", to: [{ cidr: "0.0.0.0/0" }] });
    expect(proxy.spec.ingress).toBeUndefined();
  });
});

describe("the rules per sandbox.egress mode", () => {
  const base = {
    partOf: "agentscope", sandboxNamespace: "sbx", sandboxSelector: { "app.kubernetes.io/name": "agentscope-sandbox" },
    manager: { serviceName: "sandbox-manager", namespace: "agents" }, deniedCidrs: [...SANDBOX_DENIED_CIDRS],
  };

  it("internet: the metadata deny, DNS, the denied ranges, then the internet: Alibaba's template's own order", () => {
    const rules = sandboxTrafficRules({ ...base, egress: { mode: "internet" } }).egress;
    expect(rules.map((r) => r.action)).toEqual(["deny", "allow", "deny", "allow"]);
    expect(rules[0]!.to).toEqual([{ cidr: METADATA_CIDR }]);
    expect(rules[2]!.to).toEqual(SANDBOX_DENIED_CIDRS.map((cidr) => ({ cidr })));
    expect(rules[3]!.to).toEqual([{ cidr: "0.0.0.0/0" }]);
  });

  it("each peer names one of cidr, fqdn or service (Poseidon's API reference: peers are exclusive)", () => {
    const rules = [
      ...Object.values(sandboxTrafficRules({ ...base, egress: { mode: "internet" } })).flat(),
      ...proxyTrafficRules(base.deniedCidrs, ["pypi.org"]),
    ];
    for (const peer of rules.flatMap((r) => [...(r.to ?? []), ...(r.from ?? [])])) expect(Object.keys(peer)).toHaveLength(1);
  });

  it("refuses what the objects could not express", () => {
    expect(() => resolveSandboxTrafficPoliciesArgs({ ...base, sandboxSelector: {}, egress: { mode: "none" } })).toThrow(/empty selector would take every pod/);
    expect(() => resolveSandboxTrafficPoliciesArgs({ ...base, egress: { mode: "allowList", allow: ["pypi.org"] } })).toThrow(/allowList needs the proxy/);
    const proxy = { serviceName: "egress-proxy", podSelector: { app: "p" } };
    expect(() => resolveSandboxTrafficPoliciesArgs({ ...base, proxy, egress: { mode: "allowList", allow: ["*.pypi.org"] } })).toThrow(/egress\.allow\[0\] "\*\.pypi\.org"/);
    expect(() => resolveSandboxTrafficPoliciesArgs({ ...base, proxy, egress: { mode: "none" } })).toThrow(/proxy applies only with egress allowList/);
    expect(() => resolveSandboxTrafficPoliciesArgs({ ...base, deniedCidrs: [], egress: { mode: "none" } })).toThrow(/deniedCidrs must list/);
  });
});

describe("Poseidon's config: only the keys its schema defines, and TrafficPolicy required", () => {
  it("takes the template's three keys where the schema has them", () => {
    expect(JSON.parse(poseidonTrafficPolicyConfig(ADDON_CATALOGUE["poseidon"]!.schema))).toEqual({ TrafficPolicy: true, NetworkPolicy: true, ACKNetworkPolicy: true });
    const onlyTwo = JSON.stringify({ properties: { TrafficPolicy: { type: "boolean" }, NetworkPolicy: { type: "boolean" } } });
    expect(JSON.parse(poseidonTrafficPolicyConfig(onlyTwo))).toEqual({ TrafficPolicy: true, NetworkPolicy: true });
  });

  it("stops the up, naming the add-on, where the installed Poseidon has no TrafficPolicy switch", () => {
    // The KubernetesAddon's config is this function's answer on the schema read first (AckCluster.manageAddons).
    expect(() => poseidonTrafficPolicyConfig("")).toThrow("this cluster's poseidon add-on has no TrafficPolicy switch in its config schema (known: none); acs.trafficPolicy needs Poseidon >= v0.7.0");
    expect(() => poseidonTrafficPolicyConfig(JSON.stringify({ properties: { NetworkPolicy: { type: "boolean" } } }))).toThrow(/\(known: NetworkPolicy\)/);
  });
});

describe("acs.trafficPolicy in config", () => {
  it("is off by default in every shipped stack", () => {
    for (const stack of ["local", "dev", "prod"] as const) {
      expect(shippedStackConfig(stack)[`${PROJECT}:acs`] ?? "{}").not.toContain("trafficPolicy");
    }
  });

  it("is refused, naming the key, where sandboxes are not on ACS or the platform is not Alibaba Cloud", () => {
    const local = configProblems(withKeys("local", { acs: trafficPolicyOn }), "local");
    expect(local).toEqual(expect.arrayContaining([
      expect.stringMatching(/^agentscope-ack:acs\.trafficPolicy: needs sandboxes on ACS/),
      expect.stringMatching(/^agentscope-ack:acs\.trafficPolicy: needs platform alicloud/),
    ]));
    const runtimeClass = configProblems(withKeys("dev", { acs: trafficPolicyOn, sandbox: (s) => ({ ...s, isolation: "runtime-class", runtimeClassName: "runv" }) }), "dev");
    expect(runtimeClass).toEqual([expect.stringMatching(/^agentscope-ack:acs\.trafficPolicy: needs sandboxes on ACS/)]);
    expect(configProblems(withKeys("dev", { acs: (v) => ({ ...v, trafficPolicy: "yes" }) }), "dev")).toEqual([expect.stringMatching(/^agentscope-ack:acs\.trafficPolicy: .*expected boolean/)]);
  });
});
