import { describe, expect, it } from "vitest";
import { ACK_TYPES, TERWAY_CONFIG, checkAckCluster } from "../../policy/rules";

const T = ACK_TYPES.managedKubernetes;
const good = {
  name: "prod-cluster",
  clusterSpec: "ack.pro.small",
  deletionProtection: true,
  auditLogConfig: { enabled: true },
  addons: [{ name: "terway-eniip", config: TERWAY_CONFIG }, { name: "ack-virtual-node" }],
};
const prod = { production: true };
const dev = { production: false };

describe("ack-cluster", () => {
  it("passes an ACK Pro cluster with Terway NetworkPolicy, deletion protection and audit logs", () => {
    expect(checkAckCluster(T, good, prod)).toEqual([]);
  });

  it("ignores other resource types", () => {
    expect(checkAckCluster("alicloud:vpc/network:Network", {}, prod)).toEqual([]);
  });

  it("rejects a Basic cluster spec, and an unset one", () => {
    expect(checkAckCluster(T, { ...good, clusterSpec: "ack.standard" }, prod)).toEqual([
      expect.stringMatching(/^ManagedKubernetes prod-cluster: clusterSpec is "ack.standard", not an ACK Pro spec\. Fix: set clusterSpec to "ack.pro.small"/),
    ]);
    expect(checkAckCluster(T, { ...good, clusterSpec: undefined }, prod)).toEqual([expect.stringContaining("clusterSpec is not set (ACK then creates a Basic cluster)")]);
  });

  it("accepts every ack.pro tier", () => {
    expect(checkAckCluster(T, { ...good, clusterSpec: "ack.pro.xlarge" }, prod)).toEqual([]);
  });

  it("rejects a cluster without Terway", () => {
    expect(checkAckCluster(T, { ...good, addons: [{ name: "ack-virtual-node" }] }, prod)).toEqual([
      `ManagedKubernetes prod-cluster: addons has no Terway add-on, so NetworkPolicies would not be enforced. Fix: add {name: "terway-eniip", config: '${TERWAY_CONFIG}'} to addons.`,
    ]);
  });

  it("rejects a disabled Terway add-on and Flannel", () => {
    const v = checkAckCluster(T, { ...good, addons: [{ name: "terway-eniip", config: TERWAY_CONFIG, disabled: true }, { name: "flannel" }] }, prod);
    expect(v).toEqual([
      expect.stringContaining("installs the flannel network plug-in, which does not enforce NetworkPolicy"),
      expect.stringContaining("addons has no Terway add-on"),
    ]);
  });

  it("rejects Terway with NetworkPolicy off, unset, or a config that is not JSON", () => {
    const off = checkAckCluster(T, { ...good, addons: [{ name: "terway-eniip", config: '{"IPVlan":"false","NetworkPolicy":"false"}' }] }, prod);
    expect(off).toEqual([
      `ManagedKubernetes prod-cluster: the terway-eniip add-on has NetworkPolicy "false", so Terway would not enforce NetworkPolicies. Fix: set its config to '${TERWAY_CONFIG}'.`,
    ]);
    expect(checkAckCluster(T, { ...good, addons: [{ name: "terway-eniip" }] }, prod)).toEqual([expect.stringContaining("has NetworkPolicy unset")]);
    expect(checkAckCluster(T, { ...good, addons: [{ name: "terway-eniip", config: "NetworkPolicy=true" }] }, prod)).toEqual([
      expect.stringContaining('the terway-eniip add-on config is not JSON ("NetworkPolicy=true")'),
    ]);
  });

  it("accepts NetworkPolicy as a JSON boolean too", () => {
    expect(checkAckCluster(T, { ...good, addons: [{ name: "terway-eniip", config: '{"NetworkPolicy":true}' }] }, prod)).toEqual([]);
  });

  it("checks a Terway add-on managed as its own KubernetesAddon", () => {
    expect(checkAckCluster(ACK_TYPES.kubernetesAddon, { clusterId: "c1", name: "terway-eniip", config: TERWAY_CONFIG }, prod)).toEqual([]);
    expect(checkAckCluster(ACK_TYPES.kubernetesAddon, { clusterId: "c1", name: "terway-eniip", config: "{}" }, prod)).toEqual([
      expect.stringMatching(/^KubernetesAddon terway-eniip: the terway-eniip add-on has NetworkPolicy unset/),
    ]);
    expect(checkAckCluster(ACK_TYPES.kubernetesAddon, { clusterId: "c1", name: "ack-virtual-node" }, prod)).toEqual([]);
  });

  it("requires deletion protection and audit logs in production only", () => {
    const lax = { ...good, deletionProtection: false, auditLogConfig: { enabled: false } };
    expect(checkAckCluster(T, lax, prod)).toEqual([
      "ManagedKubernetes prod-cluster: deletionProtection is false in a production stack, so one API call can delete the cluster. Fix: set deletionProtection: true.",
      "ManagedKubernetes prod-cluster: API-server audit logs are off (auditLogConfig.enabled is false) in a production stack. Fix: set auditLogConfig: {enabled: true} (optionally slsProjectName).",
    ]);
    expect(checkAckCluster(T, lax, dev)).toEqual([]);
    expect(checkAckCluster(T, { ...good, auditLogConfig: undefined, deletionProtection: undefined }, prod)).toEqual([
      expect.stringContaining("deletionProtection is null in a production stack"),
      expect.stringContaining("auditLogConfig.enabled is null"),
    ]);
  });
});
