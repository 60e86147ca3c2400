/** Pod Security Admission levels (https://kubernetes.io/docs/concepts/security/pod-security-admission/). */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/**
 * Namespace labels that enforce `level` and warn/audit at `restricted`, so a workload that only
 * meets `baseline` is still reported against the stricter standard.
 */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return {
    "pod-security.kubernetes.io/enforce": level,
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/audit-version": "latest",
  };
}
