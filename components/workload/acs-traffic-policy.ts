// Poseidon's TrafficPolicy and GlobalTrafficPolicy (ACS pods, Poseidon >= v0.7.0) for the sandboxes:
// their isolation and egress in the form ACS enforces, rendered from the same sandbox.egress config
// as the NetworkPolicies and the egress proxy. Every field is the one these sources spell:
// - [ACK] "使用TrafficPolicy管理Agent网络访问" (help.aliyun.com/zh/ack/ack-managed-and-ack-dedicated/
//   user-guide/use-trafficpolicy-to-manage-agent-network-access) and its ACS page (alibabacloud.com/
//   help/en/cs/user-guide/use-trafficpolicy-to-manage-agent-network-access-1): the kinds, namespaced
//   TrafficPolicy and cluster-scoped GlobalTrafficPolicy, priorities 1-1000 (smaller first), first
//   match wins, a selected pod's unmatched traffic denied, fqdn egress-only, no wildcard domains;
// - [ROS] Alibaba's own template aliyun-computenest/openclaw-acs-sandbox, acs-production.yaml @ d8649933
//   (lines 1813-1852): `apiVersion: network.alibabacloud.com/v1alpha1`, `spec.selector.matchLabels`,
//   `spec.priority`, `spec.egress.rules[]` / `spec.ingress.rules[]` of `action: allow|deny` with
//   `to` / `from` peers `cidr`, `service: {name, namespace}`; and the pod annotation
//   `network.alibabacloud.com/network-policy-mode: "traffic-policy"` (lines 1893-1894);
// - [API] the same repository's docs/index-production.md @ c059d3bf, a copy of Poseidon's API
//   reference: one of cidr/fqdn/service per peer, `fqdn: "api.example.com"`, `selector: {}` for all.
// What no source settles (whether NetworkPolicies still bind a pod in traffic-policy mode, whether a
// policy without ingress rules leaves ingress open) is in docs/first-real-up.md; the sandboxes' own
// policy is therefore complete in both directions.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SandboxEgress } from "./egress";
import { requireEgressNames } from "./egress";
import { recommendedLabels } from "./labels";
import { requireDnsLabel } from "./validate";

export const TRAFFIC_POLICY_API_VERSION = "network.alibabacloud.com/v1alpha1";
/** [ROS] lines 1893-1894: the pod annotation that hands a pod's isolation to TrafficPolicies. */
export const TRAFFIC_POLICY_MODE_ANNOTATIONS: Readonly<Record<string, string>> = { "network.alibabacloud.com/network-policy-mode": "traffic-policy" };
/** The metadata service: node RAM credentials. */
export const METADATA_CIDR = "100.100.100.200/32";
/** Where ACK runs CoreDNS ([ROS]: the `kube-dns` Service in `kube-system`). */
const CLUSTER_DNS_SERVICE = { name: "kube-dns", namespace: "kube-system" } as const;
/** Our policies' priority: after a cluster's own higher-priority ones (smaller numbers), before defaults. */
const SANDBOX_POLICY_PRIORITY = 100;
/** The cluster-wide metadata deny comes first of all. */
const METADATA_DENY_PRIORITY = 1;

export type TrafficPeer = { cidr: string } | { fqdn: string } | { service: { name: string; namespace: pulumi.Input<string> } };
export interface TrafficRule {
  action: "allow" | "deny";
  to?: TrafficPeer[];
  from?: TrafficPeer[];
}

export interface SandboxTrafficPoliciesArgs {
  /** `app.kubernetes.io/part-of`; also names the cluster-scoped GlobalTrafficPolicy. */
  partOf: string;
  sandboxNamespace: pulumi.Input<string>;
  /** Labels every sandbox pod carries (and no other pod). */
  sandboxSelector: Record<string, string>;
  /** The sandbox manager's Service: the only peer a sandbox accepts connections from. */
  manager: { serviceName: string; namespace: pulumi.Input<string> };
  egress: SandboxEgress;
  /** With egress allowList: the proxy's Service (in the sandbox namespace) and its pods' labels. */
  proxy?: { serviceName: string; podSelector: Record<string, string> };
  /** Ranges a sandbox never reaches with egress internet (the NetworkPolicies' except list). */
  deniedCidrs: string[];
  /** A GlobalTrafficPolicy that denies the metadata service to every pod in traffic-policy mode (default true). */
  clusterMetadataDeny?: boolean;
}

const C = "SandboxTrafficPolicies";

/** The sandboxes' rules: ingress from the manager only; egress as sandbox.egress says. */
export function sandboxTrafficRules(a: SandboxTrafficPoliciesArgs): { ingress: TrafficRule[]; egress: TrafficRule[] } {
  const everything: TrafficPeer[] = [{ cidr: "0.0.0.0/0" }];
  const ingress: TrafficRule[] = [
    { action: "allow", from: [{ service: { name: a.manager.serviceName, namespace: a.manager.namespace } }] },
    { action: "deny", from: everything },
  ];
  let egress: TrafficRule[];
  if (a.egress.mode === "none") {
    egress = [{ action: "deny", to: everything }];
  } else if (a.egress.mode === "allowList") {
    // Names are the proxy's to check (with the SNI): a sandbox reaches the proxy and nothing else,
    // not even DNS (the proxy URL is its ClusterIP), as with the NetworkPolicies.
    egress = [
      { action: "allow", to: [{ service: { name: a.proxy!.serviceName, namespace: a.sandboxNamespace } }] },
      { action: "deny", to: everything },
    ];
  } else {
    // [ROS]'s own order: the metadata deny, DNS, the private ranges denied, then the internet.
    egress = [
      { action: "deny", to: [{ cidr: METADATA_CIDR }] },
      { action: "allow", to: [{ service: { ...CLUSTER_DNS_SERVICE } }] },
      { action: "deny", to: a.deniedCidrs.map((cidr) => ({ cidr })) },
      { action: "allow", to: everything },
    ];
  }
  return { ingress, egress };
}

/** The proxy's egress: DNS, never a denied range, the allowed names ([API]: one fqdn per peer), nothing else. */
export function proxyTrafficRules(deniedCidrs: readonly string[], allow: readonly string[]): TrafficRule[] {
  return [
    { action: "allow", to: [{ service: { ...CLUSTER_DNS_SERVICE } }] },
    { action: "deny", to: deniedCidrs.map((cidr) => ({ cidr })) },
    { action: "allow", to: allow.map((fqdn) => ({ fqdn })) },
    { action: "deny", to: [{ cidr: "0.0.0.0/0" }] },
  ];
}

export function resolveSandboxTrafficPoliciesArgs(args: SandboxTrafficPoliciesArgs): SandboxTrafficPoliciesArgs & { clusterMetadataDeny: boolean } {
  requireDnsLabel(C, "partOf", args.partOf, 40);
  if (Object.keys(args.sandboxSelector).length === 0) throw new Error(`${C}: sandboxSelector must name the sandboxes' labels: an empty selector would take every pod of the namespace`);
  if (args.deniedCidrs.length === 0) throw new Error(`${C}: deniedCidrs must list the ranges sandboxes never reach (at least ${METADATA_CIDR})`);
  if (args.egress.mode === "allowList") {
    if (!args.proxy) throw new Error(`${C}: egress allowList needs the proxy's Service and pod labels`);
    if (Object.keys(args.proxy.podSelector).length === 0) throw new Error(`${C}: proxy.podSelector must name the proxy's labels`);
    // Poseidon skips a wildcard fqdn with a warning ([API]); requireEgressNames refuses one up front.
    requireEgressNames(C, "egress.allow", args.egress.allow);
  } else if (args.proxy) {
    throw new Error(`${C}: proxy applies only with egress allowList (mode is ${args.egress.mode})`);
  }
  return { ...args, clusterMetadataDeny: args.clusterMetadataDeny ?? true };
}

/**
 * The sandboxes' (and the egress proxy's) isolation as Poseidon TrafficPolicies, for ACS pods that
 * carry TRAFFIC_POLICY_MODE_ANNOTATIONS. The NetworkPolicies stay: they are what binds every other
 * cluster, and the pods here if Poseidon also enforces them in this mode.
 */
export class SandboxTrafficPolicies extends pulumi.ComponentResource {
  /** `namespace/name` of the namespaced policies, and the cluster-scoped one's name. */
  public readonly policyNames: pulumi.Output<string[]>;

  constructor(name: string, args: SandboxTrafficPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:SandboxTrafficPolicies", name, {}, opts);
    const r = resolveSandboxTrafficPoliciesArgs(args);
    const parent = { parent: this };
    const labels = recommendedLabels({ name: "agentscope-traffic-policy", instance: `${r.partOf}-traffic-policy`, component: "traffic-policy", partOf: r.partOf });
    const names: pulumi.Output<string>[] = [];

    const sandboxRules = sandboxTrafficRules(r);
    const sandboxes = new k8s.apiextensions.CustomResource(`${name}-sandboxes`, {
      apiVersion: TRAFFIC_POLICY_API_VERSION,
      kind: "TrafficPolicy",
      metadata: { name: "sandboxes", namespace: r.sandboxNamespace, labels },
      spec: {
        priority: SANDBOX_POLICY_PRIORITY,
        selector: { matchLabels: r.sandboxSelector },
        ingress: { rules: sandboxRules.ingress },
        egress: { rules: sandboxRules.egress },
      },
    }, parent);
    names.push(pulumi.interpolate`${r.sandboxNamespace}/sandboxes`);

    if (r.egress.mode === "allowList") {
      new k8s.apiextensions.CustomResource(`${name}-egress-proxy`, {
        apiVersion: TRAFFIC_POLICY_API_VERSION,
        kind: "TrafficPolicy",
        metadata: { name: "egress-proxy", namespace: r.sandboxNamespace, labels },
        spec: {
          priority: SANDBOX_POLICY_PRIORITY,
          selector: { matchLabels: r.proxy!.podSelector },
          egress: { rules: proxyTrafficRules(r.deniedCidrs, r.egress.allow) },
        },
      }, { ...parent, dependsOn: [sandboxes] });
      names.push(pulumi.interpolate`${r.sandboxNamespace}/egress-proxy`);
    }

    if (r.clusterMetadataDeny) {
      const global = `${r.partOf}-deny-metadata`;
      new k8s.apiextensions.CustomResource(`${name}-deny-metadata`, {
        apiVersion: TRAFFIC_POLICY_API_VERSION,
        kind: "GlobalTrafficPolicy",
        metadata: { name: global, labels },
        spec: {
          priority: METADATA_DENY_PRIORITY,
          // [API]: an empty selector takes every pod (in traffic-policy mode) of the cluster.
          selector: {},
          egress: { rules: [{ action: "deny", to: [{ cidr: METADATA_CIDR }] }] },
        },
      }, parent);
      names.push(pulumi.output(global));
    }

    this.policyNames = pulumi.all(names);
    this.registerOutputs({ policyNames: this.policyNames });
  }
}
