import type * as k8s from "@pulumi/kubernetes";

/** Container sizing: vCPU and GiB as Kubernetes quantities, with requests = limits. */

/** CPU in millicores ("1500m"), exact for the 0.5 vCPU steps ACS uses. */
export function cpuQuantity(vcpu: number): string {
  return `${Math.round(vcpu * 1000)}m`;
}

/** Memory in MiB ("2048Mi"), exact for GiB steps and fractions of them. */
export function memoryQuantity(gib: number): string {
  return `${Math.round(gib * 1024)}Mi`;
}

/**
 * Requests = limits (Guaranteed QoS). ACS bills and sizes a pod by these and wants them equal; on
 * other clusters it keeps a noisy agent from starving its neighbours.
 */
export function guaranteedResources(vcpu: number, memoryGiB: number): k8s.types.input.core.v1.ResourceRequirements {
  const quantities = { cpu: cpuQuantity(vcpu), memory: memoryQuantity(memoryGiB) };
  return { requests: { ...quantities }, limits: { ...quantities } };
}

/**
 * Requests = limits but for a higher CPU limit (Burstable QoS: the container may use its node's
 * idle CPU up to `cpuLimit`); Guaranteed when `cpuLimit` equals `vcpu`. Memory stays requests =
 * limits, so the pod is never killed for memory its node lent it.
 */
export function resourcesWithCpuLimit(vcpu: number, memoryGiB: number, cpuLimit: number): k8s.types.input.core.v1.ResourceRequirements {
  const res = guaranteedResources(vcpu, memoryGiB) as { requests: Record<string, string>; limits: Record<string, string> };
  if (cpuLimit !== vcpu) res.limits = { ...res.limits, cpu: cpuQuantity(cpuLimit) };
  return res;
}
