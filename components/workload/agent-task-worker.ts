import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AcsNetwork, AcsPlacement } from "./acs";
import { NO_ACS, acsNetworkAnnotations, acsPodAnnotations, acsPodLabels, acsTolerations, requireAcsSize } from "./acs";
import type { WorkloadIdentity } from "./labels";
import { AGENT_APP_NAME, recommendedLabels, selectorLabels } from "./labels";
import { guaranteedResources } from "./resources";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, tmpVolume, tmpVolumeMount } from "./security-context";
import { requireDnsLabel, requireInt, requirePositive } from "./validate";

/** How an AgentApp's `@agent_app.task`s run: a worker Deployment beside the agent. */
export interface AgentTasksSpec {
  /** Worker pods (default 1). */
  workers?: number;
  /** Tasks one pod runs at once, on threads (`AGENT_TASK_CONCURRENCY`, default 2). */
  concurrency?: number;
  /** vCPU / GiB per worker pod, requests = limits (default 0.5 / 1: an ACS size). */
  cpu?: number;
  memoryGiB?: number;
}

/** agent_launcher/tasks.py: `celery` makes the app submit its tasks to the stack's Redis. */
export const TASKS_ENV = "AGENT_TASKS";
export const TASK_CONCURRENCY_ENV = "AGENT_TASK_CONCURRENCY";
/**
 * SIGTERM starts Celery's warm shutdown: no new tasks, running ones finish. One cut at SIGKILL is
 * not lost: tasks are acknowledged after they ran (tasks.py `task_acks_late`), so Redis gives it
 * to a worker again once kombu's visibility timeout (1 hour by default) has passed.
 */
export const TASK_WORKER_STOP_SECONDS = 60;
/** Where the worker answers its probes (agent_launcher/tasks.py serve_health on HOST:PORT). */
export const TASK_WORKER_HEALTH_PORT = 8080;

export interface AgentTaskWorkerArgs {
  namespace: pulumi.Input<string>;
  /** `app.kubernetes.io/part-of` (the stack's name prefix). */
  partOf: string;
  /** The agent's name: names the Deployment `agent-<name>-tasks`. */
  agentName: string;
  /** The agent's image (its entrypoint is agent_launcher; `worker` is the mode). */
  image: pulumi.Input<string>;
  /** The app container's environment (model, Redis, Secret references): the tasks run the app's code. */
  env: k8s.types.input.core.v1.EnvVar[];
  tasks: AgentTasksSpec;
  placement?: AcsPlacement;
  acsNetwork?: AcsNetwork;
  imagePullSecrets?: string[];
  /** Pod annotations that roll the workers with the agent (its Secret's hash). */
  podAnnotations?: Record<string, pulumi.Input<string>>;
}

/** `AgentTasksSpec` with its defaults, checked. */
export type ResolvedAgentTasks = Required<AgentTasksSpec>;

/**
 * The defaults and checks of `tasks`, named after `component`: AgentRuntime runs them before it
 * registers any resource, AgentTaskWorker for a stack that uses it alone.
 */
export function resolveAgentTasks(component: string, tasks: AgentTasksSpec, placement: AcsPlacement): ResolvedAgentTasks {
  const resolved = { workers: tasks.workers ?? 1, concurrency: tasks.concurrency ?? 2, cpu: tasks.cpu ?? 0.5, memoryGiB: tasks.memoryGiB ?? 1 };
  requireInt(component, "tasks.workers", resolved.workers, 1, 50);
  requireInt(component, "tasks.concurrency", resolved.concurrency, 1, 64);
  requirePositive(component, "tasks.cpu", resolved.cpu);
  requirePositive(component, "tasks.memoryGiB", resolved.memoryGiB);
  if (placement.enabled) requireAcsSize(component, "tasks.", resolved.cpu, resolved.memoryGiB);
  return resolved;
}

export interface ResolvedAgentTaskWorkerArgs extends ResolvedAgentTasks {
  readonly identity: WorkloadIdentity;
  readonly resourceName: string;
  readonly placement: AcsPlacement;
}

export function resolveAgentTaskWorkerArgs(args: AgentTaskWorkerArgs): ResolvedAgentTaskWorkerArgs {
  const C = "AgentTaskWorker";
  requireDnsLabel(C, "agentName", args.agentName, 30);
  const placement = args.placement ?? NO_ACS;
  return {
    ...resolveAgentTasks(C, args.tasks, placement),
    // Name agentscope-agent: the agents' NetworkPolicies (egress to Redis, the model, the sandbox
    // manager; Redis's ingress) select it. Its own instance: the agent's Service, HPA and PDB do not.
    identity: { name: AGENT_APP_NAME, instance: `${args.partOf}-${args.agentName}-tasks`, component: "agent-task-worker", partOf: args.partOf },
    resourceName: `agent-${args.agentName}-tasks`,
    placement,
  };
}

/**
 * The worker of one AgentApp's tasks (`python -m agent_launcher worker`): the agent's image and
 * environment, hardened as the agent is, and no Service: its port answers the kubelet's probes only.
 */
export class AgentTaskWorker extends pulumi.ComponentResource {
  public readonly deploymentName: pulumi.Output<string>;
  /** Labels selecting the worker pods. */
  public readonly podSelector: Record<string, string>;

  constructor(name: string, args: AgentTaskWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:AgentTaskWorker", name, {}, opts);
    const r = resolveAgentTaskWorkerArgs(args);
    const labels = recommendedLabels(r.identity);
    const selector = selectorLabels(r.identity);
    const p = r.placement;
    const deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, {
      metadata: { name: r.resourceName, namespace: args.namespace, labels },
      spec: {
        replicas: r.workers,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: { ...labels, ...acsPodLabels(p) },
            annotations: { ...acsPodAnnotations(p), ...acsNetworkAnnotations(p, args.acsNetwork), ...args.podAnnotations },
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(),
            tolerations: acsTolerations(p),
            imagePullSecrets: (args.imagePullSecrets ?? []).map((n) => ({ name: n })),
            terminationGracePeriodSeconds: TASK_WORKER_STOP_SECONDS,
            containers: [{
              name: "worker",
              image: args.image,
              args: ["worker"],
              env: [
                ...args.env.filter((e) => e.name !== TASKS_ENV && e.name !== "PORT"),
                { name: "PORT", value: String(TASK_WORKER_HEALTH_PORT) },
                { name: TASKS_ENV, value: "celery" },
                { name: TASK_CONCURRENCY_ENV, value: String(r.concurrency) },
              ],
              // Ready once the worker consumes its queues; for the kubelet's probes only, no Service.
              ports: [{ name: "health", containerPort: TASK_WORKER_HEALTH_PORT, protocol: "TCP" }],
              resources: guaranteedResources(r.cpu, r.memoryGiB),
              securityContext: restrictedContainerSecurityContext(),
              startupProbe: { httpGet: { path: "/health", port: "health" }, periodSeconds: 3, timeoutSeconds: 3, failureThreshold: 60 },
              readinessProbe: { httpGet: { path: "/health", port: "health" }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
              livenessProbe: { tcpSocket: { port: "health" }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
              volumeMounts: [tmpVolumeMount()],
            }],
            volumes: [tmpVolume("256Mi")],
          },
        },
      },
    }, { parent: this, deleteBeforeReplace: true });
    this.deploymentName = deployment.metadata.name;
    this.podSelector = selector;
    this.registerOutputs({ deploymentName: this.deploymentName });
  }
}
