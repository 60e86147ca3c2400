/**
 * An evaluator of networking.k8s.io/v1 NetworkPolicy objects, following the API reference
 * (NetworkPolicySpec, NetworkPolicyPeer, NetworkPolicyPort, IPBlock, LabelSelector) and the
 * API server's defaulting (pkg/apis/networking/v1/defaults.go) and validation:
 *
 * - A pod is isolated for a direction iff some policy in its namespace selects it and has that
 *   direction in its (defaulted) policyTypes. A non-isolated direction allows everything.
 * - A connection is allowed iff the source's egress AND the destination's ingress allow it.
 * - Allow-lists union across rules and policies; within a rule, peers AND ports; peers OR among
 *   themselves, ports OR among themselves; an empty or absent list matches everything.
 *
 * Not modelled: the "traffic from the pod's own node is always allowed" exception (kubelet
 * probes), Service VIPs (give post-DNAT endpoint addresses), and hostNetwork pods.
 */
import * as ipaddr from "ipaddr.js";
import { z } from "zod";

export type Protocol = "TCP" | "UDP" | "SCTP";
export type PolicyType = "Ingress" | "Egress";
export type Labels = Readonly<Record<string, string>>;

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface IpBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}

export interface PolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IpBlock;
}

export interface PolicyPort {
  readonly protocol?: Protocol;
  /** A number, or the name of a container port on the destination pod. Absent: every port. */
  readonly port?: number | string;
  readonly endPort?: number;
}

export interface IngressRule {
  readonly from?: readonly PolicyPeer[];
  readonly ports?: readonly PolicyPort[];
}

export interface EgressRule {
  readonly to?: readonly PolicyPeer[];
  readonly ports?: readonly PolicyPort[];
}

export interface NetworkPolicy {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: {
    readonly podSelector: LabelSelector;
    readonly policyTypes?: readonly PolicyType[];
    readonly ingress?: readonly IngressRule[];
    readonly egress?: readonly EgressRule[];
  };
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: Protocol;
}

/** A pod: identity is namespace + labels; `ip` only matters to ipBlock peers (see options). */
export interface PodEndpoint {
  readonly kind: "pod";
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly ip?: string;
  readonly ports?: readonly ContainerPort[];
}

/** Anything that is not a pod: the internet, a node, the API server, a metadata service. */
export interface ExternalEndpoint {
  readonly kind: "external";
  readonly name: string;
  readonly ip: string;
}

export type Endpoint = PodEndpoint | ExternalEndpoint;

export interface Cluster {
  /** Namespace name → labels; `kubernetes.io/metadata.name` is added as the API server does. */
  readonly namespaces: Readonly<Record<string, Labels>>;
  readonly policies: readonly NetworkPolicy[];
}

export interface Connection {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: number;
  readonly protocol?: Protocol;
}

export interface EvaluateOptions {
  /**
   * Whether ipBlock peers also match pod IPs. The spec leaves this to the implementation (it says
   * ipBlock is meant for cluster-external IPs): Calico matches pod IPs, Cilium does not. Default false.
   */
  readonly ipBlockMatchesPods?: boolean;
}

export interface DirectionVerdict {
  /** Some policy selects the pod for this direction. */
  readonly isolated: boolean;
  /** Names of policies with a rule admitting the connection (empty when not isolated). */
  readonly allowedBy: readonly string[];
  readonly allowed: boolean;
}

export interface Verdict {
  readonly allowed: boolean;
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
}

export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

// ---------------------------------------------------------------------------------------------
// Label selectors

/** The label's value, or undefined when absent (own keys only: `constructor` is not a label). */
function labelValue(labels: Labels, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined;
}

function requirementMatches(req: LabelSelectorRequirement, labels: Labels): boolean {
  const value = labelValue(labels, req.key);
  const has = value !== undefined;
  const values = req.values ?? [];
  switch (req.operator) {
    case "In":
      return has && values.includes(value);
    case "NotIn":
      // A pod without the key satisfies NotIn, as in apimachinery's labels.Selector.
      return !has || !values.includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
  }
}

/** matchLabels AND matchExpressions; an empty selector matches everything. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labelValue(labels, key) === value);
  return byLabel && (selector.matchExpressions ?? []).every((req) => requirementMatches(req, labels));
}

// ---------------------------------------------------------------------------------------------
// Addresses

function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 {
  if (!ipaddr.isValid(ip)) throw new Error(`"${ip}" is not an IP address`);
  return ipaddr.parse(ip);
}

function inCidr(ip: string, cidr: string): boolean {
  const address = parseAddress(ip);
  const range = ipaddr.parseCIDR(cidr);
  return address.kind() === range[0].kind() && address.match(range);
}

export function ipBlockMatches(block: IpBlock, ip: string): boolean {
  return inCidr(ip, block.cidr) && !(block.except ?? []).some((cidr) => inCidr(ip, cidr));
}

// ---------------------------------------------------------------------------------------------
// Policies

/** policyTypes as the API server defaults them: Ingress always, Egress iff egress rules exist. */
export function effectivePolicyTypes(policy: NetworkPolicy): readonly PolicyType[] {
  const declared = policy.spec.policyTypes ?? [];
  if (declared.length > 0) return declared;
  return (policy.spec.egress ?? []).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

function namespaceLabels(cluster: Cluster, namespace: string): Labels {
  const labels = cluster.namespaces[namespace];
  if (labels === undefined) throw new Error(`namespace "${namespace}" is not in the cluster model`);
  return { ...labels, [NAMESPACE_NAME_LABEL]: namespace };
}

/** Policies in the pod's namespace that select it for `direction`. */
export function policiesFor(cluster: Cluster, pod: PodEndpoint, direction: PolicyType): NetworkPolicy[] {
  return cluster.policies.filter(
    (p) =>
      p.metadata.namespace === pod.namespace &&
      effectivePolicyTypes(p).includes(direction) &&
      selectorMatches(p.spec.podSelector, pod.labels),
  );
}

/**
 * Does `peer`, written in a policy of `policyNamespace`, denote `endpoint`? podSelector alone means
 * the policy's namespace; namespaceSelector alone means every pod there; both means both must hold.
 */
export function peerMatches(
  cluster: Cluster,
  peer: PolicyPeer,
  policyNamespace: string,
  endpoint: Endpoint,
  options: EvaluateOptions = {},
): boolean {
  if (peer.ipBlock !== undefined) {
    if (endpoint.kind === "external") return ipBlockMatches(peer.ipBlock, endpoint.ip);
    return options.ipBlockMatchesPods === true && endpoint.ip !== undefined && ipBlockMatches(peer.ipBlock, endpoint.ip);
  }
  if (endpoint.kind === "external") return false;
  const namespaceOk =
    peer.namespaceSelector === undefined
      ? endpoint.namespace === policyNamespace
      : selectorMatches(peer.namespaceSelector, namespaceLabels(cluster, endpoint.namespace));
  const podOk = peer.podSelector === undefined || selectorMatches(peer.podSelector, endpoint.labels);
  return namespaceOk && podOk;
}

/** The numeric port a policy port denotes on `destination`, or undefined if a name does not resolve. */
function resolvePort(port: string, protocol: Protocol, destination: Endpoint): number | undefined {
  if (destination.kind !== "pod") return undefined;
  const found = (destination.ports ?? []).find((p) => p.name === port && (p.protocol ?? "TCP") === protocol);
  return found?.containerPort;
}

export function portMatches(policyPort: PolicyPort, port: number, protocol: Protocol, destination: Endpoint): boolean {
  const wanted = policyPort.protocol ?? "TCP";
  if (wanted !== protocol) return false;
  if (policyPort.port === undefined) return true;
  if (typeof policyPort.port === "string") return resolvePort(policyPort.port, wanted, destination) === port;
  const last = policyPort.endPort ?? policyPort.port;
  return port >= policyPort.port && port <= last;
}

function listMatches<T>(items: readonly T[] | undefined, test: (item: T) => boolean): boolean {
  return items === undefined || items.length === 0 || items.some(test);
}

function ruleMatches(
  cluster: Cluster,
  policy: NetworkPolicy,
  peers: readonly PolicyPeer[] | undefined,
  ports: readonly PolicyPort[] | undefined,
  peer: Endpoint,
  conn: Connection,
  options: EvaluateOptions,
): boolean {
  const protocol = conn.protocol ?? "TCP";
  return (
    listMatches(peers, (p) => peerMatches(cluster, p, policy.metadata.namespace, peer, options)) &&
    listMatches(ports, (p) => portMatches(p, conn.port, protocol, conn.to))
  );
}

function policyAllows(cluster: Cluster, policy: NetworkPolicy, direction: PolicyType, conn: Connection, options: EvaluateOptions): boolean {
  if (direction === "Ingress") {
    return (policy.spec.ingress ?? []).some((r) => ruleMatches(cluster, policy, r.from, r.ports, conn.from, conn, options));
  }
  return (policy.spec.egress ?? []).some((r) => ruleMatches(cluster, policy, r.to, r.ports, conn.to, conn, options));
}

function judgeDirection(cluster: Cluster, subject: Endpoint, direction: PolicyType, conn: Connection, options: EvaluateOptions): DirectionVerdict {
  // Policies only ever select pods: an external end is never isolated.
  const selecting = subject.kind === "pod" ? policiesFor(cluster, subject, direction) : [];
  if (selecting.length === 0) return { isolated: false, allowedBy: [], allowed: true };
  const allowedBy = selecting.filter((p) => policyAllows(cluster, p, direction, conn, options)).map((p) => p.metadata.name);
  return { isolated: true, allowedBy, allowed: allowedBy.length > 0 };
}

/** Judges one connection: the source's egress and the destination's ingress must both allow it. */
export function evaluate(cluster: Cluster, conn: Connection, options: EvaluateOptions = {}): Verdict {
  for (const policy of cluster.policies) validatePolicy(policy);
  const egress = judgeDirection(cluster, conn.from, "Egress", conn, options);
  const ingress = judgeDirection(cluster, conn.to, "Ingress", conn, options);
  return { allowed: egress.allowed && ingress.allowed, egress, ingress };
}

// ---------------------------------------------------------------------------------------------
// Validation: the API server rejects these, so a policy that has them would never take effect.

function validateSelector(where: string, selector: LabelSelector): void {
  for (const req of selector.matchExpressions ?? []) {
    const count = (req.values ?? []).length;
    const needsValues = req.operator === "In" || req.operator === "NotIn";
    if (needsValues && count === 0) throw new Error(`${where}: operator ${req.operator} needs values`);
    if (!needsValues && count > 0) throw new Error(`${where}: operator ${req.operator} takes no values`);
  }
}

function validateIpBlock(where: string, block: IpBlock): void {
  if (!ipaddr.isValidCIDR(block.cidr)) throw new Error(`${where}: "${block.cidr}" is not a CIDR`);
  const [network, bits] = ipaddr.parseCIDR(block.cidr);
  for (const cidr of block.except ?? []) {
    if (!ipaddr.isValidCIDR(cidr)) throw new Error(`${where}: except "${cidr}" is not a CIDR`);
    const [inner, innerBits] = ipaddr.parseCIDR(cidr);
    // networking validation: "must be a strict subset of `cidr`".
    const inside = inner.kind() === network.kind() && innerBits > bits && inner.match(network, bits);
    if (!inside) throw new Error(`${where}: except "${cidr}" is not a strict subset of ${block.cidr}`);
  }
}

function validatePeer(where: string, peer: PolicyPeer): void {
  const selectors = peer.podSelector !== undefined || peer.namespaceSelector !== undefined;
  if (peer.ipBlock !== undefined && selectors) throw new Error(`${where}: ipBlock cannot be combined with selectors`);
  if (peer.ipBlock === undefined && !selectors) throw new Error(`${where}: a peer needs a selector or an ipBlock`);
  if (peer.ipBlock !== undefined) validateIpBlock(where, peer.ipBlock);
  if (peer.podSelector !== undefined) validateSelector(`${where}.podSelector`, peer.podSelector);
  if (peer.namespaceSelector !== undefined) validateSelector(`${where}.namespaceSelector`, peer.namespaceSelector);
}

// IANA service name: at most 15 characters, lower-case letters, digits and single '-', one letter.
const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

function validatePort(where: string, port: PolicyPort): void {
  if (typeof port.port === "string" && !PORT_NAME.test(port.port)) throw new Error(`${where}: "${port.port}" is not a valid port name`);
  if (typeof port.port === "number" && (port.port < 1 || port.port > 65535)) throw new Error(`${where}: port ${port.port} out of range`);
  if (port.endPort === undefined) return;
  if (typeof port.port !== "number") throw new Error(`${where}: endPort needs a numeric port`);
  if (port.endPort < port.port || port.endPort > 65535) throw new Error(`${where}: endPort ${port.endPort} is below port or out of range`);
}

function validateRules(where: string, rules: readonly { peers?: readonly PolicyPeer[]; ports?: readonly PolicyPort[] }[]): void {
  rules.forEach((rule, i) => {
    (rule.peers ?? []).forEach((peer, j) => validatePeer(`${where}[${i}] peer ${j}`, peer));
    (rule.ports ?? []).forEach((port, j) => validatePort(`${where}[${i}] port ${j}`, port));
  });
}

/** Throws, naming the policy and field, on anything the API server would refuse. */
export function validatePolicy(policy: NetworkPolicy): void {
  const where = `${policy.metadata.namespace}/${policy.metadata.name}`;
  validateSelector(`${where} podSelector`, policy.spec.podSelector);
  validateRules(`${where} ingress`, (policy.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports })));
  validateRules(`${where} egress`, (policy.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports })));
}

// ---------------------------------------------------------------------------------------------
// Parsing rendered objects (e.g. Pulumi mock inputs). Field names are checked strictly: a typo
// such as `namespaceSelecter` would otherwise read as "no selector" and change the verdict.

const labelsSchema = z.record(z.string(), z.string());
const selectorSchema = z.strictObject({
  matchLabels: labelsSchema.optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string().min(1),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
const peerSchema = z.strictObject({
  podSelector: selectorSchema.optional(),
  namespaceSelector: selectorSchema.optional(),
  ipBlock: z.strictObject({ cidr: z.string(), except: z.array(z.string()).optional() }).optional(),
});
const portSchema = z.strictObject({
  protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
  port: z.union([z.number().int(), z.string()]).optional(),
  endPort: z.number().int().optional(),
});
const specSchema = z.strictObject({
  podSelector: selectorSchema,
  policyTypes: z.array(z.enum(["Ingress", "Egress"])).optional(),
  ingress: z.array(z.strictObject({ from: z.array(peerSchema).optional(), ports: z.array(portSchema).optional() })).optional(),
  egress: z.array(z.strictObject({ to: z.array(peerSchema).optional(), ports: z.array(portSchema).optional() })).optional(),
});
const policySchema = z.object({
  apiVersion: z.literal("networking.k8s.io/v1").optional(),
  kind: z.literal("NetworkPolicy").optional(),
  metadata: z.object({ name: z.string().min(1), namespace: z.string().min(1).optional() }),
  spec: specSchema,
});

/** Reads a rendered NetworkPolicy; `defaultNamespace` stands in when metadata has none. */
export function parseNetworkPolicy(raw: unknown, defaultNamespace = "default"): NetworkPolicy {
  const parsed = policySchema.parse(raw);
  const policy: NetworkPolicy = {
    metadata: { name: parsed.metadata.name, namespace: parsed.metadata.namespace ?? defaultNamespace },
    spec: parsed.spec,
  };
  validatePolicy(policy);
  return policy;
}
