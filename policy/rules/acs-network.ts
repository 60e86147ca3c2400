/**
 * Rule group 10: NetworkPolicies for pods on ACS. Terway enforces NetworkPolicy only for pods on ECS
 * nodes; pods on the ACK virtual node (ECI and ACS) are fenced by the Poseidon add-on, and an ACS pod
 * opts in with an annotation. Without both, every NetworkPolicy in the stack silently does nothing
 * for those pods.
 *
 * Sources: ACK "Use network policies" (ACK Serverless): "In elastic container instances of ACK
 * Serverless clusters or ACK Pro clusters, network policies are implemented by Poseidon"; Poseidon
 * changelog: "NetworkPolicy is supported only in ACK Serverless clusters, on ECI in ACK clusters, and
 * on ACS CPU instances"; ACS "Pod annotation reference" (doc-detail/2584701):
 * `alibabacloud.com/enable-network-policy-agent: "true"`, default false. The add-on name `poseidon` is
 * the changelog's slug (unverified against the add-on API); components/alicloud/ack-cluster.ts uses the same.
 */
import type { StackResource, StackViolation } from "./common";
import { K8S, asArray, asObject, asString, asStringMap, describe, isTrue, podTemplateOf } from "./common";
import { isAcsPod } from "./acs";
import { ACK_TYPES } from "./ack";

export const POSEIDON_ADDON = "poseidon";
export const ACS_NETWORK_POLICY_ANNOTATION = "alibabacloud.com/enable-network-policy-agent";

export interface AcsNetworkConfig {
  /** Poseidon is installed on the cluster outside this stack (e.g. an adopted cluster). */
  readonly poseidonOutsideStack: boolean;
}

function installsPoseidon(r: StackResource): boolean {
  if (r.type === ACK_TYPES.kubernetesAddon) return asString(r.props.name) === POSEIDON_ADDON;
  if (r.type === ACK_TYPES.managedKubernetes) {
    return asArray(r.props.addons).map(asObject).some((a) => asString(a?.name) === POSEIDON_ADDON && !isTrue(a?.disabled));
  }
  return false;
}

/** ACS workloads in a stack with NetworkPolicies need Poseidon in the cluster and the opt-in annotation. */
export function checkAcsNetworkPolicies(resources: readonly StackResource[], config: AcsNetworkConfig): StackViolation[] {
  if (!resources.some((r) => r.type === K8S.networkPolicy)) return [];
  const acs = resources.filter((r) => {
    const t = podTemplateOf(r.type, r.props);
    return t !== undefined && isAcsPod(asStringMap(t.metadata.labels));
  });
  if (acs.length === 0) return [];
  const out: StackViolation[] = [];
  const first = acs[0]!;
  if (!config.poseidonOutsideStack && !resources.some(installsPoseidon)) {
    out.push({
      message:
        `${describe(first.type, first.props, first.name)}: runs on ACS in a stack with NetworkPolicies, but the stack installs no Poseidon add-on, ` +
        `and Terway does not enforce NetworkPolicy for virtual-node pods. Fix: add alicloud.cs.KubernetesAddon {clusterId, name: "${POSEIDON_ADDON}"} ` +
        `(or set poseidonOutsideStack when the cluster already has it).`,
      urn: first.urn,
    });
  }
  for (const r of acs) {
    const annotations = asStringMap(podTemplateOf(r.type, r.props)!.metadata.annotations);
    if (annotations[ACS_NETWORK_POLICY_ANNOTATION] !== "true") {
      out.push({
        message:
          `${describe(r.type, r.props, r.name)}: runs on ACS without the pod annotation ${ACS_NETWORK_POLICY_ANNOTATION}: "true" (ACS default false), ` +
          `so NetworkPolicies do not apply to its pods. Fix: add the annotation to the pod template.`,
        urn: r.urn,
      });
    }
  }
  return out;
}
