import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MANAGED_BY } from "./labels";
import type { PodSecurityLevel } from "./psa";
import { podSecurityLabels } from "./psa";
import { requireDnsLabel } from "./validate";

/** The two namespaces of the stack: agents (and their manager, Redis) and sandboxes. */
export interface NamespacesArgs {
  /** Name of the namespace for agent runtimes, the sandbox manager and in-cluster Redis. */
  agentsNamespace: string;
  /** Name of the namespace the sandbox manager creates sandbox pods in. */
  sandboxNamespace: string;
  /** `app.kubernetes.io/part-of` on both namespaces (the stack's name prefix). */
  partOf: string;
  /** Extra labels on both namespaces (default none). */
  labels?: Record<string, string>;
}

export interface ResolvedNamespacesArgs {
  readonly agentsNamespace: string;
  readonly sandboxNamespace: string;
  readonly partOf: string;
  readonly labels: Record<string, string>;
  /** PSA level enforced per namespace. */
  readonly agentsLevel: PodSecurityLevel;
  readonly sandboxLevel: PodSecurityLevel;
}

/**
 * Every pod of the stack runs as uid 10001 with a read-only root and no capabilities, so both
 * namespaces enforce `restricted`. Sandbox pods too: the stack's sandbox image (agent-image
 * `--target sandbox`) needs no root, no nginx and no port below 1024, and the manager's extension
 * gives every sandbox pod the restricted security contexts. Upstream's `runtime-sandbox-*` images
 * (nginx and supervisord as root on port 80) are refused here, which is intended. Isolation for
 * untrusted code is still the MicroVM (ACS) or sandboxed runtime class, plus the NetworkPolicies.
 */
export function resolveNamespacesArgs(args: NamespacesArgs): ResolvedNamespacesArgs {
  requireDnsLabel("Namespaces", "agentsNamespace", args.agentsNamespace);
  requireDnsLabel("Namespaces", "sandboxNamespace", args.sandboxNamespace);
  if (args.agentsNamespace === args.sandboxNamespace) {
    throw new Error("Namespaces: agentsNamespace and sandboxNamespace must differ (sandboxes run untrusted code and get their own namespace)");
  }
  return {
    agentsNamespace: args.agentsNamespace,
    sandboxNamespace: args.sandboxNamespace,
    partOf: args.partOf,
    labels: args.labels ?? {},
    agentsLevel: "restricted",
    sandboxLevel: "restricted",
  };
}

export class Namespaces extends pulumi.ComponentResource {
  /** Name of the agents namespace (resolves once the namespace exists). */
  public readonly agentsNamespace: pulumi.Output<string>;
  /** Name of the sandbox namespace (resolves once the namespace exists). */
  public readonly sandboxNamespace: pulumi.Output<string>;

  constructor(name: string, args: NamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:Namespaces", name, {}, opts);
    const r = resolveNamespacesArgs(args);
    const make = (role: "agents" | "sandboxes", nsName: string, level: PodSecurityLevel) =>
      new k8s.core.v1.Namespace(`${name}-${role}`, {
        metadata: {
          name: nsName,
          labels: {
            ...r.labels,
            "app.kubernetes.io/name": nsName,
            "app.kubernetes.io/instance": nsName,
            "app.kubernetes.io/component": role,
            "app.kubernetes.io/part-of": r.partOf,
            "app.kubernetes.io/managed-by": MANAGED_BY,
            ...podSecurityLabels(level),
          },
        },
      }, { parent: this });
    const agents = make("agents", r.agentsNamespace, r.agentsLevel);
    const sandboxes = make("sandboxes", r.sandboxNamespace, r.sandboxLevel);
    this.agentsNamespace = agents.metadata.name;
    this.sandboxNamespace = sandboxes.metadata.name;
    this.registerOutputs({ agentsNamespace: this.agentsNamespace, sandboxNamespace: this.sandboxNamespace });
  }
}
