import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

// Facts from ../shared/reference/platform-facts.md ("ACS pods on an ACK Pro cluster", "Image cache"),
// taken from Alibaba Cloud's ACS pod and image-cache docs.
export const ACS_COMPUTE_CLASSES = ["general-purpose", "performance", "gpu", "gpu-hpn"] as const;
export const ACS_COMPUTE_QOS = ["default", "best-effort"] as const;
export type AcsComputeClass = (typeof ACS_COMPUTE_CLASSES)[number];
export type AcsComputeQos = (typeof ACS_COMPUTE_QOS)[number];

/** ACS sizes move in 0.5 vCPU and 1 GiB steps. */
export const ACS_CPU_STEP = 0.5;
export const ACS_MEMORY_STEP_GIB = 1;

/** How pods of a workload are placed: on ACS through the virtual node, or on ordinary nodes. */
export interface AcsPlacement {
  readonly enabled: boolean;
  readonly computeClass: AcsComputeClass;
  readonly computeQos: AcsComputeQos;
  /** Opt pods into ACS image caches (annotation); off leaves every pull to the registry. */
  readonly imageCache: boolean;
}

export const NO_ACS: AcsPlacement = { enabled: false, computeClass: "general-purpose", computeQos: "default", imageCache: false };

/** Pod-template labels that send a pod to ACS. Never put these in a selector: they are placement, not identity. */
export function acsPodLabels(p: AcsPlacement): Record<string, string> {
  if (!p.enabled) return {};
  return {
    "alibabacloud.com/acs": "true",
    "alibabacloud.com/compute-class": p.computeClass,
    "alibabacloud.com/compute-qos": p.computeQos,
  };
}

/**
 * The ACS pod annotations that switch the network-policy agent on, under both keys current docs name:
 * ACS "Pod annotation reference" (doc-detail/2584701, Jan 2026) spells `alibabacloud.com/...`;
 * "Manage agent network access with TrafficPolicy" (Apr 2026, Poseidon >= v0.7.0) spells
 * `network.alibabacloud.com/...`. Which one a given Poseidon reads is unsettled: docs/first-real-up.md.
 */
export const ACS_NETWORK_POLICY_ANNOTATIONS = ["alibabacloud.com/enable-network-policy-agent", "network.alibabacloud.com/enable-network-policy-agent"] as const;

/**
 * Pod-template annotations for ACS: the network-policy agent (off by default on ACS pods, so our
 * NetworkPolicies would not apply without it; ACS_NETWORK_POLICY_ANNOTATIONS) and,
 * when chosen, the image-cache opt-in. The annotation only opts the pod in: the cluster must also run
 * the Poseidon add-on (AckCluster installs it), because Terway enforces policies on ECS nodes only. The cache
 * itself is made in the ACS console (no @pulumi/alicloud resource exists for ACS caches, and the
 * image-cache-operator CR is unverified); see docs "Use ImageCache to accelerate ACS pod startup".
 */
export function acsPodAnnotations(p: AcsPlacement): Record<string, string> {
  if (!p.enabled) return {};
  return {
    ...Object.fromEntries(ACS_NETWORK_POLICY_ANNOTATIONS.map((key) => [key, "true"])),
    ...(p.imageCache ? { "image.alibabacloud.com/enable-image-cache": "true" } : {}),
  };
}

/** The virtual node's taint, tolerated by ACS pods. */
export const VIRTUAL_NODE_TOLERATION: k8s.types.input.core.v1.Toleration = {
  key: "virtual-kubelet.io/provider",
  operator: "Equal",
  value: "alibabacloud",
  effect: "NoSchedule",
};

export function acsTolerations(p: AcsPlacement): k8s.types.input.core.v1.Toleration[] {
  return p.enabled ? [VIRTUAL_NODE_TOLERATION] : [];
}

/** True when `cpu` vCPU and `memoryGiB` GiB are a size ACS serves (requests = limits in its steps). */
export function isAcsSize(cpu: number, memoryGiB: number): boolean {
  return isMultiple(cpu, ACS_CPU_STEP) && isMultiple(memoryGiB, ACS_MEMORY_STEP_GIB);
}

/** Throws, naming `component` and the keys (`<prefix>cpu`, `<prefix>memoryGiB`), unless ACS serves the size. */
export function requireAcsSize(component: string, prefix: string, cpu: number, memoryGiB: number): void {
  if (!isAcsSize(cpu, memoryGiB)) {
    throw new Error(`${component}: ${prefix}cpu ${cpu} / ${prefix}memoryGiB ${memoryGiB} is not an ACS size (0.5 vCPU and 1 GiB steps)`);
  }
}

function isMultiple(value: number, step: number): boolean {
  const ratio = value / step;
  return value > 0 && Math.abs(ratio - Math.round(ratio)) < 1e-9;
}

/** Where ACS pods take their network: the pod vSwitches (one per zone) and, optionally, security groups. */
export interface AcsNetwork {
  readonly vswitchIds: pulumi.Input<pulumi.Input<string>[]>;
  readonly securityGroupIds?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * Pod annotations that pin ACS pods to our pod vSwitches (so the Tair allow-list, which is those
 * vSwitches' CIDRs, admits them) across every zone listed. Source: ACS "Pod annotation reference"
 * (doc-detail/2584701): `network.alibabacloud.com/vswitch-ids` ("specify multiple vSwitch IDs to create
 * pods in multiple zones"; when set, "the affinity configuration is ignored") and
 * `network.alibabacloud.com/security-group-ids`.
 */
export function acsNetworkAnnotations(p: AcsPlacement, n: AcsNetwork | undefined): Record<string, pulumi.Input<string>> {
  if (!p.enabled || n === undefined) return {};
  const join = (ids: pulumi.Input<pulumi.Input<string>[]>) => pulumi.output(ids).apply((list) => list.join(","));
  return {
    "network.alibabacloud.com/vswitch-ids": join(n.vswitchIds),
    ...(n.securityGroupIds !== undefined ? { "network.alibabacloud.com/security-group-ids": join(n.securityGroupIds) } : {}),
  };
}

/**
 * Zone spread for a workload: a hard constraint only off ACS. The virtual node honours topology spread
 * only once ACK's "virtual node-based pod scheduling policy" is enabled (ACK docs "Enable the virtual
 * node-based pod scheduling policy"), which this stack does not switch on; the vSwitch annotation above
 * spreads ACS pods across zones instead.
 */
export function zoneSpreadWhenUnsatisfiable(p: AcsPlacement, spread: "required" | "preferred"): "DoNotSchedule" | "ScheduleAnyway" {
  return spread === "required" && !p.enabled ? "DoNotSchedule" : "ScheduleAnyway";
}
