/**
 * Sandbox egress by name (docs/sandbox-egress.md): where sandboxes' egress is an allow-list
 * (sandbox.egress.mode allowList), their only way out is the egress proxy in their namespace, which
 * lets through only the listed names. A NetworkPolicy that lets sandbox pods reach anything else
 * directly (an ipBlock, another pod, every destination) makes the allow-list advisory: code in the
 * sandbox would simply not use the proxy. This rule refuses such a policy.
 *
 * Sandbox pods are created at run time by the sandbox manager, so, as for network-isolation, the
 * stack's NetworkPolicies in the sandbox namespace are what is judged, for the labels sandbox pods
 * carry. The rule applies where the stack runs the egress proxy (a workload whose pod template
 * carries the proxy's labels) or where the pack config says sandbox egress is an allow-list (`allowList: true`); in the latter
 * case a missing proxy is itself a violation. A rule whose ports are all 53 (DNS) is tolerated:
 * names must resolve somewhere if a deployment chooses to give sandboxes DNS.
 */
import type { Props, StackResource, StackViolation } from "./common";
import { K8S, asArray, asObject, asString, asStringMap, describe, isWorkloadType, namespaceOf, podTemplateOf } from "./common";
import { effectivePolicyTypes, sandboxNamespaces, selectorMatches } from "./network";

/** The labels components/workload/egress-proxy.ts puts on the proxy's pods (selector subset). */
export const EGRESS_PROXY_POD_LABELS: Readonly<Record<string, string>> = { "app.kubernetes.io/name": "agentscope-egress-proxy" };
/** The label every sandbox pod carries (components/workload/labels.ts SANDBOX_APP_NAME). */
export const SANDBOX_POD_LABELS: Readonly<Record<string, string>> = { "app.kubernetes.io/name": "agentscope-sandbox" };

export interface SandboxAllowListConfig {
  /** The stack's sandbox egress is an allow-list, so it must run the proxy (else the rule applies where a proxy runs). */
  readonly requireProxy: boolean;
  readonly sandboxNamespaces: readonly string[];
  readonly sandboxNamespaceLabels: Readonly<Record<string, string>>;
  /** Labels sandbox pods carry (default SANDBOX_POD_LABELS). */
  readonly sandboxPodLabels: Readonly<Record<string, string>>;
  /** Labels selecting the proxy's pods (default EGRESS_PROXY_POD_LABELS). */
  readonly proxyPodLabels: Readonly<Record<string, string>>;
}

const NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * True when the peer can select only proxy pods of namespace `ns`: no ipBlock, no other namespace,
 * and a podSelector whose matchLabels hold every proxy label (matchExpressions only narrow it).
 */
function isProxyPeer(peer: Props, ns: string, proxyLabels: Readonly<Record<string, string>>): boolean {
  if (peer.ipBlock !== undefined) return false;
  const nsSelector = asObject(peer.namespaceSelector);
  if (nsSelector !== undefined) {
    const only = asStringMap(nsSelector.matchLabels);
    if (asArray(nsSelector.matchExpressions).length > 0 || Object.keys(only).length !== 1 || only[NAME_LABEL] !== ns) return false;
  }
  const matchLabels = asStringMap(asObject(peer.podSelector)?.matchLabels);
  return Object.keys(proxyLabels).length > 0 && Object.entries(proxyLabels).every(([k, v]) => matchLabels[k] === v);
}

function isDnsOnly(rule: Props): boolean {
  const ports = asArray(rule.ports).map(asObject);
  if (ports.length === 0) return false;
  const peers = asArray(rule.to).map(asObject);
  return peers.length > 0 && peers.every((p) => p !== undefined && p.ipBlock === undefined)
    && ports.every((p) => p !== undefined && p.port === 53 && p.endPort === undefined);
}

export function checkSandboxAllowList(resources: readonly StackResource[], config: SandboxAllowListConfig): StackViolation[] {
  const out: StackViolation[] = [];
  const policies = resources.filter((r) => r.type === K8S.networkPolicy);
  for (const ns of sandboxNamespaces(resources, config)) {
    const proxies = resources
      .filter((r) => isWorkloadType(r.type) && namespaceOf(r) === ns)
      .map((r) => asStringMap(podTemplateOf(r.type, r.props)?.metadata.labels))
      .filter((labels) => selectorMatches({ matchLabels: config.proxyPodLabels }, labels));
    if (proxies.length === 0) {
      if (config.requireProxy) {
        const nsResource = resources.find((r) => r.type === K8S.namespace && asString(asObject(r.props.metadata)?.name) === ns);
        out.push({
          message: `Sandbox namespace "${ns}" has no egress proxy (a workload with labels ${JSON.stringify(config.proxyPodLabels)}), but sandbox egress is an allow-list: ` +
            "sandboxes would reach no allowed name, or a policy would have to open addresses. Fix: deploy the EgressProxy component (sandbox.egress.mode allowList does) in that namespace.",
          ...(nsResource?.urn !== undefined ? { urn: nsResource.urn } : {}),
        });
      }
      continue;
    }
    for (const p of policies.filter((x) => namespaceOf(x) === ns)) {
      const spec = asObject(p.props.spec);
      if (!spec || !effectivePolicyTypes(spec).includes("Egress")) continue;
      if (!selectorMatches(spec.podSelector, config.sandboxPodLabels)) continue;
      asArray(spec.egress).forEach((raw, i) => {
        const rule = asObject(raw) ?? {};
        if (isDnsOnly(rule)) return;
        const peers = asArray(rule.to).map(asObject);
        const bad = peers.length === 0 ? ["every destination (no `to`)"] : peers.flatMap((peer) => (peer !== undefined && isProxyPeer(peer, ns, config.proxyPodLabels) ? [] : [JSON.stringify(peer)]));
        if (bad.length === 0) return;
        out.push({
          message: `${describe(p.type, p.props, p.name)} lets sandbox pods in "${ns}" reach ${bad.join(", ")} through egress rule ${i + 1}, bypassing the egress proxy, ` +
            "while sandbox egress is an allow-list. Fix: sandboxes' egress goes only to the proxy's pods (podSelector with its labels); names are allowed in sandbox.egress.allow, not by address.",
          urn: p.urn,
        });
      });
    }
  }
  return out;
}
