import type * as k8s from "@pulumi/kubernetes";

/**
 * The `restricted` Pod Security Standard's security contexts for every pod of this stack, and the
 * one writable path a read-only container gets (/tmp).
 */

/** uid/gid every image of this stack runs as (agent-image/ creates the user). */
export const APP_UID = 10001;

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
