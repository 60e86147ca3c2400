/**
 * The Kubernetes recommended labels every object of this stack carries, and the subset selectors
 * use (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/).
 */

/** `app.kubernetes.io/managed-by` on every object. */
export const MANAGED_BY = "pulumi";

/** `app.kubernetes.io/name` of every agent pod (AgentRuntime, AgentTaskWorker). */
export const AGENT_APP_NAME = "agentscope-agent";
/** `app.kubernetes.io/name` of the sandbox manager's pods (SandboxPool). */
export const SANDBOX_MANAGER_APP_NAME = "sandbox-manager";
/** `app.kubernetes.io/name` of every sandbox pod (SandboxPool). */
export const SANDBOX_APP_NAME = "agentscope-sandbox";
/** Selects every agent pod of a namespace (NetworkPoliciesArgs.allAgentsSelector's default). */
export const ALL_AGENTS_SELECTOR: Readonly<Record<string, string>> = Object.freeze({ "app.kubernetes.io/name": AGENT_APP_NAME });

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
