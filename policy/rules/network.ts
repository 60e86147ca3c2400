/**
 * Rule group 4: network isolation, checked over the whole stack.
 * - Every namespace that runs workloads (and every sandbox namespace) has default-deny
 *   NetworkPolicies for ingress and egress: podSelector {} with no rules for that direction.
 * - Pods in a sandbox namespace (created by the sandbox manager at run time, so not in the stack:
 *   only the stack's NetworkPolicies can be checked) cannot reach the cloud metadata service
 *   (100.100.100.200 on Alibaba Cloud: it hands out the node's RAM credentials), private ranges
 *   (the VPC, other pods, Redis) or the API server.
 *
 * Semantics follow networking.k8s.io/v1: policyTypes defaults to Ingress, plus Egress when egress
 * rules are present; an empty rule list denies, an absent or empty `to` matches every destination,
 * ipBlock is cidr minus except; pod and namespace selectors match pods only.
 */
import type { Ipv4Range, Props, StackResource, StackViolation } from "./common";
import {
  K8S,
  asArray,
  asObject,
  asString,
  asStringArray,
  asStringMap,
  containersOf,
  describe,
  formatRange,
  intersectRange,
  isWorkloadType,
  namespaceOf,
  parseIpv4Cidr,
  podTemplateOf,
  readKnown,
  subtractRanges,
} from "./common";

// ---------------------------------------------------------------------------------------------
// NetworkPolicy reading

type Direction = "Ingress" | "Egress";

/** The policyTypes the API server stores for this spec (defaulting in networking/v1). */
export function effectivePolicyTypes(spec: Props): Direction[] {
  const declared = asStringArray(spec.policyTypes).filter((t): t is Direction => t === "Ingress" || t === "Egress");
  if (declared.length > 0) return declared;
  return asArray(spec.egress).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

export function isEmptySelector(selector: unknown): boolean {
  const s = asObject(selector);
  if (s === undefined) return true;
  return Object.keys(asStringMap(s.matchLabels)).length === 0 && asArray(s.matchExpressions).length === 0;
}

/** The directions for which this policy denies everything to every pod of its namespace. */
export function defaultDenyDirections(props: Props): Direction[] {
  const spec = asObject(props.spec);
  if (!spec || !isEmptySelector(spec.podSelector)) return [];
  return effectivePolicyTypes(spec).filter((d) => asArray(d === "Ingress" ? spec.ingress : spec.egress).length === 0);
}

/** Whether a label selector matches a set of labels (apimachinery semantics). */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  const s = asObject(selector) ?? {};
  for (const [k, v] of Object.entries(asStringMap(s.matchLabels))) if (labels[k] !== v) return false;
  for (const e of asArray(s.matchExpressions)) {
    const req = asObject(e);
    const key = asString(req?.key);
    if (!req || key === undefined) return false;
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const values = asStringArray(req.values);
    switch (req.operator) {
      case "In": if (!has || !values.includes(labels[key] ?? "")) return false; break;
      case "NotIn": if (has && values.includes(labels[key] ?? "")) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Default deny per namespace

export interface DefaultDenyConfig {
  /** Namespaces the rule skips (e.g. kube-system when the stack installs an add-on there). */
  readonly exemptNamespaces: readonly string[];
  /** Sandbox namespaces: they need default deny even though their pods are not in the stack. */
  readonly sandbox: SandboxNamespaceConfig;
}

const DENY_FIX = (ns: string) =>
  `Fix: add a NetworkPolicy in namespace "${ns}" with podSelector: {}, policyTypes: ["Ingress", "Egress"] and no ingress or egress rules, ` +
  `then allow only the traffic each workload needs with narrower policies.`;

export function checkNamespaceDefaultDeny(resources: readonly StackResource[], config: DefaultDenyConfig): StackViolation[] {
  const namespaces = new Map<string, StackResource[]>();
  for (const r of resources) {
    if (!isWorkloadType(r.type)) continue;
    const ns = namespaceOf(r);
    namespaces.set(ns, [...(namespaces.get(ns) ?? []), r]);
  }
  for (const ns of sandboxNamespaces(resources, config.sandbox)) if (!namespaces.has(ns)) namespaces.set(ns, []);

  const denied = deniedDirectionsByNamespace(resources);
  const out: StackViolation[] = [];
  for (const [ns, workloads] of namespaces) {
    if (config.exemptNamespaces.includes(ns)) continue;
    const have = denied.get(ns) ?? new Set<Direction>();
    const missing = (["Ingress", "Egress"] as const).filter((d) => !have.has(d));
    if (missing.length === 0) continue;
    const nsResource = resources.find((r) => r.type === K8S.namespace && asString((asObject(r.props.metadata) ?? {}).name) === ns);
    const runs = workloads.length > 0
      ? `runs ${workloads.slice(0, 3).map((w) => describe(w.type, w.props, w.name)).join(", ")}${workloads.length > 3 ? ` and ${workloads.length - 3} more` : ""}`
      : "is a sandbox namespace";
    out.push({
      message: `Namespace "${ns}" ${runs} but has no default-deny NetworkPolicy for ${missing.join(" and ")}. ${DENY_FIX(ns)}`,
      urn: nsResource?.urn ?? workloads[0]?.urn,
    });
  }
  return out;
}

function deniedDirectionsByNamespace(resources: readonly StackResource[]): Map<string, Set<Direction>> {
  const denied = new Map<string, Set<Direction>>();
  for (const r of resources) {
    if (r.type !== K8S.networkPolicy) continue;
    const ns = namespaceOf(r);
    const set = denied.get(ns) ?? new Set<Direction>();
    for (const d of defaultDenyDirections(r.props)) set.add(d);
    denied.set(ns, set);
  }
  return denied;
}

// ---------------------------------------------------------------------------------------------
// Sandbox egress

export interface SandboxNamespaceConfig {
  /** Sandbox namespaces named outright. */
  readonly sandboxNamespaces: readonly string[];
  /** Namespace labels that mark a Namespace resource of the stack as a sandbox namespace. */
  readonly sandboxNamespaceLabels: Readonly<Record<string, string>>;
}

export interface SandboxEgressConfig extends SandboxNamespaceConfig {
  /**
   * Labels the sandbox manager puts on sandbox pods, if known: policies whose podSelector cannot
   * match them are ignored. Unset: every policy in the sandbox namespace is assumed to apply.
   */
  readonly sandboxPodLabels?: Readonly<Record<string, string>>;
  /** CIDRs of the API server as pods reach it (its endpoint addresses). */
  readonly apiServerCidrs: readonly string[];
  /** Further CIDRs sandboxes must not reach. */
  readonly extraForbiddenCidrs: readonly string[];
}

/** Destinations a sandbox must never reach, besides the API server. */
export const FORBIDDEN_EGRESS: readonly { readonly cidr: string; readonly label: string }[] = [
  { cidr: "100.100.100.200/32", label: "the Alibaba Cloud metadata service 100.100.100.200 (it hands out the node's RAM credentials)" },
  { cidr: "169.254.169.254/32", label: "the cloud metadata service 169.254.169.254" },
  { cidr: "10.0.0.0/8", label: "the private range 10.0.0.0/8" },
  { cidr: "172.16.0.0/12", label: "the private range 172.16.0.0/12" },
  { cidr: "192.168.0.0/16", label: "the private range 192.168.0.0/16" },
];

/** The env keys runtime-sandbox-server reads to place sandboxes (see platform-facts.md). */
const SANDBOX_MANAGER_ENV = { deployment: "CONTAINER_DEPLOYMENT", namespace: "K8S_NAMESPACE" } as const;

/**
 * Sandbox namespaces: named in config, Namespace resources carrying the configured labels, and
 * the K8S_NAMESPACE of any sandbox manager in the stack that runs with CONTAINER_DEPLOYMENT=k8s.
 */
export function sandboxNamespaces(resources: readonly StackResource[], config: SandboxNamespaceConfig): string[] {
  const found = new Set(config.sandboxNamespaces);
  const wanted = Object.entries(config.sandboxNamespaceLabels);
  for (const r of resources) {
    if (r.type === K8S.namespace && wanted.length > 0) {
      const meta = asObject(r.props.metadata) ?? {};
      const labels = asStringMap(meta.labels);
      const name = asString(meta.name);
      if (name !== undefined && wanted.every(([k, v]) => labels[k] === v)) found.add(name);
    }
    if (isWorkloadType(r.type)) {
      for (const { container } of containersOf(podTemplateOf(r.type, r.props)?.spec)) {
        const env = new Map<string, string>();
        for (const e of asArray(container.env)) {
          const o = asObject(e);
          const n = asString(o?.name);
          const read = readKnown(() => asString(o?.value));
          const v = read.known ? read.value : undefined;
          if (n !== undefined && v !== undefined) env.set(n, v);
        }
        const ns = env.get(SANDBOX_MANAGER_ENV.namespace);
        if (env.get(SANDBOX_MANAGER_ENV.deployment) === "k8s" && ns) found.add(ns);
      }
    }
  }
  return [...found].sort();
}

interface Target {
  readonly cidr: string;
  readonly range: Ipv4Range;
  readonly label: string;
}

function targetsFor(config: SandboxEgressConfig): Target[] {
  const out: Target[] = [];
  const add = (cidr: string, label: string) => {
    const range = parseIpv4Cidr(cidr);
    if (range) out.push({ cidr, range, label });
  };
  for (const t of FORBIDDEN_EGRESS) add(t.cidr, t.label);
  for (const c of config.apiServerCidrs) add(c, `the API server (${c})`);
  for (const c of config.extraForbiddenCidrs) add(c, `the forbidden range ${c}`);
  return out;
}

export function checkSandboxEgress(resources: readonly StackResource[], config: SandboxEgressConfig): StackViolation[] {
  const out: StackViolation[] = [];
  const targets = targetsFor(config);
  const policies = resources.filter((r) => r.type === K8S.networkPolicy);
  for (const ns of sandboxNamespaces(resources, config)) {
    const inNs = policies.filter((p) => namespaceOf(p) === ns);
    const nsResource = resources.find((r) => r.type === K8S.namespace && asString((asObject(r.props.metadata) ?? {}).name) === ns);

    if (!inNs.some((p) => defaultDenyDirections(p.props).includes("Egress"))) {
      out.push({
        message:
          `Sandbox namespace "${ns}" has no default-deny egress NetworkPolicy, so sandbox pods (created at run time) can reach ${targets.map((t) => t.label).join(", ")}. ` +
          `Fix: add a NetworkPolicy in "${ns}" with podSelector: {}, policyTypes: ["Egress"] and no egress rules, then allow only DNS and the internet with ` +
          `ipBlock {cidr: 0.0.0.0/0, except: [100.100.100.200/32, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, <API server>]}.`,
        urn: nsResource?.urn,
      });
    }

    for (const p of inNs) {
      const spec = asObject(p.props.spec);
      if (!spec || !effectivePolicyTypes(spec).includes("Egress")) continue;
      if (config.sandboxPodLabels !== undefined && !selectorMatches(spec.podSelector, config.sandboxPodLabels)) continue;
      asArray(spec.egress).forEach((rule, i) => {
        for (const reach of ruleReaches(asObject(rule) ?? {}, targets)) {
          out.push({
            message:
              `${describe(p.type, p.props, p.name)} lets sandbox pods in "${ns}" reach ${reach.what} through egress rule ${i + 1} (${reach.via}). ` +
              `Fix: ${reach.fix}`,
            urn: p.urn,
          });
        }
      });
    }
  }
  return out;
}

interface Reach {
  readonly what: string;
  readonly via: string;
  readonly fix: string;
}

function ruleReaches(rule: Props, targets: readonly Target[]): Reach[] {
  const peers = asArray(rule.to).map(asObject).filter((p): p is Props => p !== undefined);
  if (peers.length === 0) {
    return [{
      what: targets.map((t) => t.label).join(", "),
      via: "no `to`, which allows every destination",
      fix: "list destinations in `to`; for the internet use ipBlock {cidr: 0.0.0.0/0, except: [100.100.100.200/32, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, <API server>]}.",
    }];
  }
  const out: Reach[] = [];
  for (const peer of peers) {
    const ipBlock = asObject(peer.ipBlock);
    if (ipBlock) {
      const cidr = asString(ipBlock.cidr) ?? "";
      const block = parseIpv4Cidr(cidr);
      if (!block) continue; // IPv6 blocks cannot reach IPv4 destinations.
      const holes = asStringArray(ipBlock.except).map(parseIpv4Cidr).filter((r): r is Ipv4Range => r !== undefined);
      const open = subtractRanges(block, holes);
      for (const t of targets) {
        const hits = open.map((piece) => intersectRange(piece, t.range)).filter((r): r is Ipv4Range => r !== undefined);
        if (hits.length === 0) continue;
        out.push({
          what: t.label,
          via: `ipBlock ${cidr}${holes.length > 0 ? ` except ${asStringArray(ipBlock.except).join(", ")}` : ""} leaves ${hits.slice(0, 2).map(formatRange).join(", ")}${hits.length > 2 ? ", ..." : ""} open`,
          fix: `add ${t.cidr} to that ipBlock's except list.`,
        });
      }
      continue;
    }
    if (peer.namespaceSelector !== undefined && isEmptySelector(peer.namespaceSelector) && isEmptySelector(peer.podSelector)) {
      out.push({
        what: "every pod in every namespace (pod addresses are in private ranges: agents, Redis, the sandbox manager)",
        via: "namespaceSelector {} with no podSelector",
        fix: "narrow the peer to the pods sandboxes need, e.g. namespaceSelector {kubernetes.io/metadata.name: kube-system} with podSelector {k8s-app: kube-dns} for DNS.",
      });
    }
  }
  return out;
}
