import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Any existing Kubernetes cluster, reached through a kubeconfig context: no cloud resources at all. */
export interface KubernetesClusterArgs {
  /** kubeconfig context to use (default: the kubeconfig's current context). */
  context?: string;
  /** kubeconfig file or its contents (default: $KUBECONFIG or ~/.kube/config, as kubectl does). */
  kubeconfig?: pulumi.Input<string>;
}

export class KubernetesCluster extends pulumi.ComponentResource {
  public readonly provider: k8s.Provider;
  public readonly context: string | undefined;

  constructor(name: string, args: KubernetesClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:KubernetesCluster", name, {}, opts);
    this.context = args.context;
    this.provider = new k8s.Provider(`${name}-k8s`, {
      ...(args.context ? { context: args.context } : {}),
      ...(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}),
      enableServerSideApply: true,
    }, { parent: this });
    this.registerOutputs({ context: this.context });
  }
}
