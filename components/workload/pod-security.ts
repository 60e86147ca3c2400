import type * as k8s from "@pulumi/kubernetes";

/**
 * Shared pieces of every workload this stack renders: Kubernetes recommended labels, the
 * `restricted` Pod Security Standard's security contexts, requests = limits resources, and argument
 * checks. Pure functions only; no resources are created here.
 */

/** uid/gid every image of this stack runs as (agent-image/ creates the user). */
export const APP_UID = 10001;

/** `app.kubernetes.io/managed-by` on every object. */
export const MANAGED_BY = "pulumi";

/** Identity of one workload: the stable labels that selectors use, and the rest of the recommended set. */
export interface WorkloadIdentity {
  /** `app.kubernetes.io/name`: what the application is (e.g. `agentscope-agent`). */
  readonly name: string;
  /** `app.kubernetes.io/instance`: which one of them (e.g. `agentscope-friday`). */
  readonly instance: string;
  /** `app.kubernetes.io/component`: its role in the system (e.g. `agent-runtime`). */
  readonly component: string;
  /** `app.kubernetes.io/part-of`: the stack it belongs to (the name prefix). */
  readonly partOf: string;
  /** `app.kubernetes.io/version`, when known. */
  readonly version?: string;
}

/** The Kubernetes recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */
export function recommendedLabels(id: WorkloadIdentity): Record<string, string> {
  return {
    "app.kubernetes.io/name": id.name,
    "app.kubernetes.io/instance": id.instance,
    "app.kubernetes.io/component": id.component,
    "app.kubernetes.io/part-of": id.partOf,
    "app.kubernetes.io/managed-by": MANAGED_BY,
    ...(id.version ? { "app.kubernetes.io/version": id.version } : {}),
  };
}

/**
 * The labels a selector may use: name and instance only. They never change for the life of a
 * workload (a Deployment's selector is immutable), and never include placement labels such as ACS's.
 */
export function selectorLabels(id: WorkloadIdentity): Record<string, string> {
  return { "app.kubernetes.io/name": id.name, "app.kubernetes.io/instance": id.instance };
}

/** Pod-level security context of the `restricted` Pod Security Standard, running as APP_UID. */
export function restrictedPodSecurityContext(): k8s.types.input.core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: APP_UID,
    runAsGroup: APP_UID,
    fsGroup: APP_UID,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Container security context: no privilege escalation, read-only root, all capabilities dropped. */
export function restrictedContainerSecurityContext(): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: APP_UID,
    runAsGroup: APP_UID,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** The only writable path of a read-only container: an `emptyDir` for /tmp. */
export const TMP_VOLUME_NAME = "tmp";
export function tmpVolume(sizeLimit = "256Mi"): k8s.types.input.core.v1.Volume {
  return { name: TMP_VOLUME_NAME, emptyDir: { sizeLimit } };
}
export function tmpVolumeMount(): k8s.types.input.core.v1.VolumeMount {
  return { name: TMP_VOLUME_NAME, mountPath: "/tmp" };
}

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

// ---------- argument checks shared by the components ----------

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Throws unless `value` is an RFC 1035 label of at most `max` characters; the message names `arg`. */
export function requireDnsLabel(component: string, arg: string, value: string, max = 63): void {
  if (!DNS_LABEL.test(value) || value.length > max) {
    throw new Error(`${component}: ${arg} must be a DNS label of at most ${max} characters (lower-case letters, digits, '-', starting with a letter), got ${JSON.stringify(value)}`);
  }
}

/** Throws unless `value` is a whole number in [min, max]. */
export function requireInt(component: string, arg: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${component}: ${arg} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

/** Throws unless `value` is a positive number. */
export function requirePositive(component: string, arg: string, value: number): void {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new Error(`${component}: ${arg} must be a positive number, got ${value}`);
  }
}

const DIGEST_REF = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

/** True when `ref` is pinned by digest: `<repository>@sha256:<64 hex>`. */
export function isDigestRef(ref: string): boolean {
  return DIGEST_REF.test(ref);
}

/** Throws unless `ref` is pinned by digest. */
export function requireDigestRef(component: string, arg: string, ref: string): void {
  if (!isDigestRef(ref)) {
    throw new Error(`${component}: ${arg} must be pinned by digest (<repository>@sha256:<64 hex digits>), got ${JSON.stringify(ref)}`);
  }
}
