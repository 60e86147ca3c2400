import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AcsNetwork, AcsPlacement } from "./acs";
import { NO_ACS, acsNetworkAnnotations, acsPodAnnotations, acsPodLabels, acsTolerations } from "./acs";
import { WORKSPACE_AGENT_LABEL, WORKSPACE_POD_LABEL } from "./agent-workspaces";
import type { WorkloadIdentity } from "./labels";
import { recommendedLabels, selectorLabels } from "./labels";
import { guaranteedResources } from "./resources";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, tmpVolume, tmpVolumeMount } from "./security-context";
import { requireDigestRef, requireDnsLabel, requireInt } from "./validate";

/**
 * The claim reaper of one AgentScope 2.x agent's workspaces: a CronJob in the agents namespace that
 * runs agent-image/workspace_reaper from the workspace image and deletes the agent's workspace
 * claims in the sandbox namespace that nobody used for `retainDays` (or that a warm workspace left
 * unclaimed), its ServiceAccount, and a Role there with `list` and `delete` on claims and nothing else.
 *
 * RBAC cannot narrow a rule by label. The program lists with the workspace labels as the selector
 * and checks them again before each delete, which is conditional on the claim's UID and
 * resourceVersion (agent-image/workspace_reaper/reaper.py); and a ValidatingAdmissionPolicy
 * (admissionregistration.k8s.io/v1, GA in Kubernetes 1.30) denies the reaper's account any delete of
 * a claim without this agent's workspace labels, whatever the program does.
 */

/** Where the program lives in the workspace image (agent-image/Dockerfile `agentscope2-workspace`). */
export const REAPER_DIR = "/opt/workspace-reaper";
/** `app.kubernetes.io/name` of the reaper's pods; NetworkPolicies selects them by name and instance. */
export const REAPER_APP_NAME = "workspace-claim-reaper";

export interface WorkspaceClaimReaperArgs {
  /** The agent whose claims are reaped (label `agentscope.io/agent`). */
  agentName: string;
  /** Where the CronJob and its ServiceAccount live. */
  agentsNamespace: pulumi.Input<string>;
  /** Where the claims are (the Role is there). */
  sandboxNamespace: string;
  /** `app.kubernetes.io/part-of`. */
  partOf: string;
  /** The workspace image by digest (it carries the program and a kubernetes client). */
  image: pulumi.Input<string>;
  /** A claim unused this many days is deleted (default 30). */
  retainDays?: number;
  /** Cron schedule (default `17 3 * * *`: daily, off the hour). */
  schedule?: string;
  /** Print what would be deleted, delete nothing (default true: deleting users' disks is opt-in until the reaper is proved on a real node). */
  dryRun?: boolean;
  /** ACS placement of the reaper's pod, as the agents' (default none). */
  placement?: AcsPlacement;
  acsNetwork?: AcsNetwork;
  imagePullSecrets?: string[];
}

/**
 * The admission rule on the reaper's deletes: the claim being deleted (`oldObject`; `object` is null
 * on DELETE) must carry the workspace labels of this agent. CEL over the admission request
 * (kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/).
 */
export function reaperDeleteValidation(agentName: string): string {
  const labels = reaperClaimSelector(agentName);
  return ["has(oldObject.metadata.labels)",
    ...Object.entries(labels).map(([k, v]) => `'${k}' in oldObject.metadata.labels && oldObject.metadata.labels['${k}'] == '${v}'`)].join(" && ");
}

/** The Role's rules: list and delete claims, in the sandbox namespace; nothing else. */
export function reaperRoleRules(): k8s.types.input.rbac.v1.PolicyRule[] {
  return [{ apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["list", "delete"] }];
}

// Five fields of digits, `*`, `/`, `-` and `,` (no names, no @-macros): what CronJob's parser takes.
const CRON = /^(\S+\s+){4}\S+$/;
const CRON_FIELD = /^[\d*/,-]+$/;

export interface ResolvedWorkspaceClaimReaperArgs {
  readonly name: string;
  readonly identity: WorkloadIdentity;
  readonly retainDays: number;
  readonly schedule: string;
  readonly dryRun: boolean;
  readonly placement: AcsPlacement;
}

export function resolveWorkspaceClaimReaperArgs(args: WorkspaceClaimReaperArgs): ResolvedWorkspaceClaimReaperArgs {
  const C = "WorkspaceClaimReaper";
  requireDnsLabel(C, "agentName", args.agentName, 30);
  requireDnsLabel(C, "sandboxNamespace", args.sandboxNamespace);
  if (typeof args.image === "string") requireDigestRef(C, "image", args.image);
  const retainDays = args.retainDays ?? 30;
  requireInt(C, "retainDays", retainDays, 1, 3650);
  const schedule = args.schedule ?? "17 3 * * *";
  if (!CRON.test(schedule.trim()) || !schedule.trim().split(/\s+/).every((f) => CRON_FIELD.test(f))) {
    throw new Error(`${C}: schedule must be five cron fields of digits, *, /, - and , (e.g. "17 3 * * *"), got ${JSON.stringify(schedule)}`);
  }
  return {
    name: `agent-${args.agentName}-claim-reaper`,
    identity: { name: REAPER_APP_NAME, instance: `${args.partOf}-${args.agentName}-claim-reaper`, component: "claim-reaper", partOf: args.partOf },
    retainDays,
    schedule: schedule.trim(),
    dryRun: args.dryRun ?? true,
    placement: args.placement ?? NO_ACS,
  };
}

export class WorkspaceClaimReaper extends pulumi.ComponentResource {
  /** Labels that select the reaper's pods (for its NetworkPolicy to the API server). */
  public readonly podSelector: Record<string, string>;
  public readonly cronJobName: pulumi.Output<string>;
  /** `agent-<name>-claim-reaper`: the CronJob, its ServiceAccount, Role and RoleBinding. */
  public readonly resourceName: string;

  constructor(name: string, args: WorkspaceClaimReaperArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:WorkspaceClaimReaper", name, {}, opts);
    const r = resolveWorkspaceClaimReaperArgs(args);
    const parent = { parent: this };
    const labels = recommendedLabels(r.identity);
    const p = r.placement;

    const account = new k8s.core.v1.ServiceAccount(`${name}-account`, {
      metadata: { name: r.name, namespace: args.agentsNamespace, labels },
      // Mounted by the reaper's pod alone (its spec asks for it): the one token it needs.
      automountServiceAccountToken: false,
    }, { ...parent, deleteBeforeReplace: true });
    const role = new k8s.rbac.v1.Role(`${name}-role`, {
      metadata: { name: r.name, namespace: args.sandboxNamespace, labels },
      rules: reaperRoleRules(),
    }, { ...parent, deleteBeforeReplace: true });
    new k8s.rbac.v1.RoleBinding(`${name}-binding`, {
      metadata: { name: r.name, namespace: args.sandboxNamespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: args.agentsNamespace }],
    }, { ...parent, deleteBeforeReplace: true });

    // Cluster-scoped: named after the stack's prefix and the agent, as the Role's name is per namespace.
    const policyName = `${args.partOf}-${r.name}-deletes`;
    const username = pulumi.interpolate`system:serviceaccount:${args.agentsNamespace}:${r.name}`;
    const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(`${name}-deletes`, {
      metadata: { name: policyName, labels },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["DELETE"], resources: ["persistentvolumeclaims"] }],
        },
        matchConditions: [{ name: "the-claim-reaper", expression: pulumi.interpolate`request.userInfo.username == '${username}'` }],
        validations: [{
          expression: reaperDeleteValidation(args.agentName),
          message: `the claim reaper of agent ${args.agentName} deletes only claims labelled ${Object.entries(reaperClaimSelector(args.agentName)).map(([k, v]) => `${k}=${v}`).join(",")}`,
        }],
      },
    }, { ...parent, deleteBeforeReplace: true });
    new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(`${name}-deletes-binding`, {
      metadata: { name: policyName, labels },
      spec: { policyName: policy.metadata.name, validationActions: ["Deny"] },
    }, { ...parent, deleteBeforeReplace: true });

    const job = new k8s.batch.v1.CronJob(`${name}-cronjob`, {
      metadata: { name: r.name, namespace: args.agentsNamespace, labels },
      spec: {
        schedule: r.schedule,
        // One run at a time; a run missed by more than an hour is skipped, the next one catches up.
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 600,
            ttlSecondsAfterFinished: 86_400,
            template: {
              metadata: {
                labels: { ...labels, ...acsPodLabels(p) },
                annotations: { ...acsPodAnnotations(p), ...acsNetworkAnnotations(p, args.acsNetwork) },
              },
              spec: {
                serviceAccountName: account.metadata.name,
                automountServiceAccountToken: true,
                enableServiceLinks: false,
                restartPolicy: "Never",
                securityContext: restrictedPodSecurityContext(),
                tolerations: acsTolerations(p),
                imagePullSecrets: (args.imagePullSecrets ?? []).map((n) => ({ name: n })),
                containers: [{
                  name: "reaper",
                  image: args.image,
                  imagePullPolicy: "IfNotPresent",
                  workingDir: REAPER_DIR,
                  command: ["python", "-m", "workspace_reaper"],
                  args: [
                    "--namespace", args.sandboxNamespace,
                    "--agent", args.agentName,
                    "--retain-days", String(r.retainDays),
                    ...(r.dryRun ? ["--dry-run"] : []),
                  ],
                  // The run lists one namespace's claims: ACS's smallest size there, less elsewhere.
                  resources: p.enabled ? guaranteedResources(0.5, 1) : guaranteedResources(0.25, 0.5),
                  securityContext: restrictedContainerSecurityContext(),
                  volumeMounts: [tmpVolumeMount()],
                }],
                volumes: [tmpVolume("64Mi")],
              },
            },
          },
        },
      },
    }, parent);

    this.resourceName = r.name;
    this.podSelector = selectorLabels(r.identity);
    this.cronJobName = job.metadata.name;
    this.registerOutputs({ cronJobName: this.cronJobName });
  }
}

/** The label selector the program lists with (agent-image/workspace_reaper/reaper.py `selector`). */
export function reaperClaimSelector(agentName: string): Record<string, string> {
  return { [WORKSPACE_POD_LABEL.key]: WORKSPACE_POD_LABEL.value, [WORKSPACE_AGENT_LABEL]: agentName };
}
