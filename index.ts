// The stack: validate config, then compose components. All logic lives in config/ and components/.
import { loadStackConfig } from "./config";
import { alicloudPlatformArgs, logCollectionArgs } from "./config/cloud-args";
import { stackOutputs } from "./config/stack-outputs";
import { localTraceViewerTarget, traceViewerArgs } from "./config/trace-viewer-args";
import { workloadArgs } from "./config/workload-args";
import { AgentScopeWorkloads, AlicloudPlatform, KubernetesCluster, SlsLogCollection, TraceViewer } from "./components";

const { config, secrets } = loadStackConfig();

const cloud = config.platform === "alicloud"
  ? new AlicloudPlatform(config.namePrefix, alicloudPlatformArgs(config, secrets))
  : undefined;
const local = cloud
  ? undefined
  : new KubernetesCluster(config.namePrefix, { context: config.kubernetes.context, kubeconfig: config.kubernetes.kubeconfigPath });

// The local Jaeger (observability.localTraceViewer), when on, is the trace receiver; otherwise
// observability.otlpEndpoint is.
const workloads = new AgentScopeWorkloads(config.namePrefix, workloadArgs(config, secrets, cloud, localTraceViewerTarget(config)), {
  provider: cloud?.provider ?? local!.provider,
  dependsOn: cloud ? [cloud] : [],
});

const logs = cloud ? logCollectionArgs(config, cloud, workloads.agentsNamespace) : undefined;
if (cloud && logs) new SlsLogCollection(`${config.namePrefix}-logs`, logs, { provider: cloud.provider, dependsOn: [cloud] });
// Jaeger for local/dev stacks (observability.localTraceViewer): reached through a port-forward.
const traceViewer = config.observability.localTraceViewer
  ? new TraceViewer(`${config.namePrefix}-trace-viewer`, traceViewerArgs(config, secrets, workloads), {
    provider: cloud?.provider ?? local!.provider,
    dependsOn: [workloads],
  })
  : undefined;

// Only the outputs this stack has (config/stack-outputs.ts): a local stack has no cloud outputs.
export = stackOutputs(config, { cloud, local, workloads, traceViewer });
