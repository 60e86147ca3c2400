import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * Sends the agents' and the sandbox manager's container output (JSON lines, each with trace_id and
 * span_id while a span is active) to a Simple Log Service logstore, through the cluster's
 * LoongCollector (the `loongcollector` add-on, installed with the cluster: ack-cluster.ts).
 *
 * One `ClusterAliyunPipelineConfig` (cluster-scoped). Sources:
 * - apiVersion/kind and spec.project.name, spec.config.inputs/flushers: SLS "AliyunPipelineConfig
 *   parameters" (help.aliyun.com/zh/sls/kubernetes-cr-parameter-description); the legacy
 *   AliyunLogConfig "is no longer maintained" (SLS "Collect container logs ... using a Kubernetes CRD",
 *   alibabacloud.com/help/doc-detail/2950474.html).
 * - spec.logstores (name): Alibaba Cloud community blog "A Guide to Mastering the CRD - AliyunPipelineConfig".
 * - input_container_stdio with ContainerFilters.K8sNamespaceRegex / IncludeK8sLabel, and flusher_sls
 *   with Logstore, Region, Endpoint: LoongCollector plugin docs (github.com/alibaba/loongcollector,
 *   docs/cn/plugins/input/native/input-container-stdio.md, docs/cn/plugins/flusher/native/flusher-sls.md).
 * - processor_parse_json_native with SourceKey content: SLS API CreateLogtailPipelineConfig's example.
 * Not verified here: that the CRD's operator accepts flusher Region/Endpoint and spec.logstores exactly
 * as above on every LoongCollector version; check `kubectl get clusteraliyunpipelineconfig -o yaml` status.
 */
export interface SlsLogCollectionArgs {
  /** SLS project (e.g. the cluster's `k8s-log-<cluster id>` project, or your own). */
  project: pulumi.Input<string>;
  /** Logstore the lines go to (created by the operator when missing). */
  logstore: string;
  /** Region of the project, e.g. `cn-hangzhou` (flusher_sls Region). */
  region: string;
  /** SLS endpoint (flusher_sls Endpoint), e.g. `cn-hangzhou-intranet.log.aliyuncs.com` from inside the VPC. */
  endpoint: string;
  /** Namespace of the agents and the manager. */
  namespace: pulumi.Input<string>;
  /** `app.kubernetes.io/name` values of the pods to collect (default: the agents and the sandbox manager). */
  appNames?: string[];
  /** Name of the config (default `<namespace>-logs`; unique in the project, 2..128 of [a-z0-9_-]). */
  configName?: string;
  /** `app.kubernetes.io/part-of` (default `agentscope`). */
  partOf?: string;
}

export const PIPELINE_CONFIG_API_VERSION = "telemetry.alibabacloud.com/v1alpha1";

const escapeRegex = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The CR's spec, pure, for tests. */
export function pipelineConfigSpec(a: { project: string; logstore: string; region: string; endpoint: string; namespace: string; appNames: string[] }): Record<string, unknown> {
  return {
    project: { name: a.project },
    logstores: [{ name: a.logstore }],
    config: {
      inputs: [{
        Type: "input_container_stdio",
        IgnoringStdout: false,
        IgnoringStderr: false,
        ContainerFilters: {
          K8sNamespaceRegex: `^(${escapeRegex(a.namespace)})$`,
          // A value wrapped in ^...$ is matched as a regex (input-container-stdio.md, table 2).
          IncludeK8sLabel: { "app.kubernetes.io/name": `^(${a.appNames.map(escapeRegex).join("|")})$` },
        },
      }],
      // The images log one JSON object per line: parse it so trace_id and span_id are fields.
      processors: [{ Type: "processor_parse_json_native", SourceKey: "content" }],
      flushers: [{ Type: "flusher_sls", Logstore: a.logstore, Region: a.region, Endpoint: a.endpoint }],
    },
  };
}

export class SlsLogCollection extends pulumi.ComponentResource {
  public readonly configName: pulumi.Output<string>;

  constructor(name: string, args: SlsLogCollectionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:alicloud:SlsLogCollection", name, {}, opts);
    const C = "SlsLogCollection";
    if (!/^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/.test(args.logstore)) throw new Error(`${C}: logstore must be 3..63 of lower-case letters, digits, '-' and '_', got ${JSON.stringify(args.logstore)}`);
    if (!/^[a-z]{2}-[a-z0-9-]+$/.test(args.region)) throw new Error(`${C}: region must be a region id such as cn-hangzhou, got ${JSON.stringify(args.region)}`);
    if (!/^[a-z0-9.-]+$/.test(args.endpoint)) throw new Error(`${C}: endpoint must be a host name such as cn-hangzhou-intranet.log.aliyuncs.com, got ${JSON.stringify(args.endpoint)}`);
    const appNames = args.appNames ?? ["agentscope-agent", "sandbox-manager"];
    const configName = pulumi.output(args.configName ?? pulumi.interpolate`${args.namespace}-logs`).apply((n) => {
      if (!/^[a-z0-9][a-z0-9_-]{0,126}[a-z0-9]$/.test(n)) throw new Error(`${C}: configName ${JSON.stringify(n)} must be 2..128 of [a-z0-9_-], starting and ending with a letter or digit`);
      return n;
    });
    const spec = pulumi.all([args.project, args.namespace]).apply(([project, namespace]) =>
      pipelineConfigSpec({ project, logstore: args.logstore, region: args.region, endpoint: args.endpoint, namespace, appNames }));
    const cr = new k8s.apiextensions.CustomResource(`${name}-pipeline`, {
      apiVersion: PIPELINE_CONFIG_API_VERSION,
      kind: "ClusterAliyunPipelineConfig",
      metadata: {
        name: configName,
        labels: {
          "app.kubernetes.io/name": "agentscope-logs",
          "app.kubernetes.io/instance": `${args.partOf ?? "agentscope"}-logs`,
          "app.kubernetes.io/component": "log-collection",
          "app.kubernetes.io/part-of": args.partOf ?? "agentscope",
          "app.kubernetes.io/managed-by": "pulumi",
        },
      },
      spec,
    }, { parent: this });
    this.configName = cr.metadata.name;
    this.registerOutputs({ configName: this.configName });
  }
}
