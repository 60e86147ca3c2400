import { describe, expect, it } from "vitest";
import type { Props } from "../../policy/rules";
import { ACK_TYPES, K8S, checkAckCluster, checkAcsNetworkPolicies } from "../../policy/rules";
import { DENY_ALL, deployment, networkPolicy, podSpec, res } from "./fixtures";

const ACS_LABELS = { "app.kubernetes.io/name": "agent", "alibabacloud.com/acs": "true" };
const acsDeployment = (annotations: Record<string, string> = { "alibabacloud.com/enable-network-policy-agent": "true" }): Props => {
  const d = deployment(podSpec(), ACS_LABELS);
  const spec = d["spec"] as { template: { metadata: Record<string, unknown> } };
  spec.template.metadata["annotations"] = annotations;
  return d;
};
const policy = res(K8S.networkPolicy, networkPolicy("agents", "deny", DENY_ALL), "deny");
const poseidon = res(ACK_TYPES.kubernetesAddon, { clusterId: "c1", name: "poseidon" }, "poseidon");
const cfg = { poseidonOutsideStack: false };

describe("acs-network-policy", () => {
  it("passes annotated ACS pods with Poseidon in the stack", () => {
    expect(checkAcsNetworkPolicies([policy, poseidon, res(K8S.deployment, acsDeployment(), "agent")], cfg)).toEqual([]);
  });

  it("accepts Poseidon among the cluster's create-time add-ons", () => {
    const cluster = res(ACK_TYPES.managedKubernetes, { name: "c", addons: [{ name: "poseidon" }] }, "cluster");
    expect(checkAcsNetworkPolicies([policy, cluster, res(K8S.deployment, acsDeployment(), "agent")], cfg)).toEqual([]);
  });

  it("requires Poseidon when ACS pods share a stack with NetworkPolicies", () => {
    const agent = res(K8S.deployment, acsDeployment(), "agent");
    expect(checkAcsNetworkPolicies([policy, agent], cfg)).toEqual([
      { message: expect.stringContaining('Deployment agents/friday: runs on ACS in a stack with NetworkPolicies, but the stack installs no Poseidon add-on') as string, urn: agent.urn },
    ]);
    expect(checkAcsNetworkPolicies([policy, agent], { poseidonOutsideStack: true })).toEqual([]);
  });

  it("requires the ACS network-policy annotation on every ACS pod template", () => {
    const agent = res(K8S.deployment, acsDeployment({}), "agent");
    expect(checkAcsNetworkPolicies([policy, poseidon, agent], cfg)).toEqual([
      { message: expect.stringContaining('without the pod annotation alibabacloud.com/enable-network-policy-agent: "true"') as string, urn: agent.urn },
    ]);
  });

  it("leaves stacks without NetworkPolicies or without ACS pods alone", () => {
    expect(checkAcsNetworkPolicies([res(K8S.deployment, acsDeployment({}), "agent")], cfg)).toEqual([]);
    expect(checkAcsNetworkPolicies([policy, res(K8S.deployment, deployment(), "ecs")], cfg)).toEqual([]);
  });
});

describe("ack-cluster: virtual node and version", () => {
  const good = { name: "c", clusterSpec: "ack.pro.small", deletionProtection: true, auditLogConfig: { enabled: true }, addons: [{ name: "terway-eniip", config: '{"NetworkPolicy":"true"}' }] };
  const prod = { production: true };

  it("refuses acs-virtual-node and an ack-virtual-node older than 2.13.0", () => {
    expect(checkAckCluster(ACK_TYPES.managedKubernetes, { ...good, addons: [...good.addons, { name: "acs-virtual-node" }] }, prod)).toEqual([
      expect.stringContaining("installs acs-virtual-node, the component of ACS clusters"),
    ]);
    expect(checkAckCluster(ACK_TYPES.kubernetesAddon, { clusterId: "c1", name: "ack-virtual-node", version: "v2.12.0-acs.8" }, prod)).toEqual([
      expect.stringContaining("ack-virtual-node v2.12.0-acs.8 is older than 2.13.0"),
    ]);
    expect(checkAckCluster(ACK_TYPES.kubernetesAddon, { clusterId: "c1", name: "ack-virtual-node", version: "v2.13.1" }, prod)).toEqual([]);
  });

  it("refuses a version with auto-upgrade on", () => {
    const pinned = { ...good, version: "1.34.1-aliyun.1" };
    expect(checkAckCluster(ACK_TYPES.managedKubernetes, { ...pinned, operationPolicy: { clusterAutoUpgrade: { enabled: true, channel: "patch" } } }, prod)).toEqual([
      expect.stringContaining('sets version "1.34.1-aliyun.1" while cluster auto-upgrade is on'),
    ]);
    expect(checkAckCluster(ACK_TYPES.managedKubernetes, { ...pinned, operationPolicy: { clusterAutoUpgrade: { enabled: false } } }, prod)).toEqual([]);
  });
});
