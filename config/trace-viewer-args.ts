import type { AgentScopeWorkloads } from "../components/workload/workloads";
import type { TraceViewerArgs } from "../components/workload/trace-viewer";
import { selectorLabels } from "../components/workload/labels";
import { TRACE_VIEWER_COLLECTOR_SERVICE, TRACE_VIEWER_OTLP_HTTP_PORT, traceViewerIdentity } from "../components/workload/trace-viewer";
import type { OtlpTarget } from "./workload-args";
import type { StackSecrets } from "./index";
import type { StackConfig } from "./load";

/** Namespace of the local trace viewer: `<prefix>-observability`. */
export function traceViewerNamespace(c: StackConfig): string {
  return `${c.namePrefix}-observability`;
}

/**
 * The OTLP/HTTP base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`) of the local trace viewer, known from
 * config alone so that the workloads can be given it before the viewer exists; undefined when off.
 */
export function localTraceViewerEndpoint(c: StackConfig): string | undefined {
  if (!c.observability.localTraceViewer) return undefined;
  return `http://${TRACE_VIEWER_COLLECTOR_SERVICE}.${traceViewerNamespace(c)}.svc.cluster.local:${TRACE_VIEWER_OTLP_HTTP_PORT}`;
}

/**
 * The viewer as the workloads' trace receiver: its endpoint, and their egress to exactly its pod
 * (so TraceViewer need not add the same egress again); undefined when off.
 */
export function localTraceViewerTarget(c: StackConfig): OtlpTarget | undefined {
  const endpoint = localTraceViewerEndpoint(c);
  if (!endpoint) return undefined;
  const podSelector = selectorLabels(traceViewerIdentity(c.namePrefix));
  return { endpoint, egress: { kind: "in-cluster", namespace: traceViewerNamespace(c), podSelector, port: TRACE_VIEWER_OTLP_HTTP_PORT } };
}

/**
 * Maps validated config onto the trace viewer's args: the agents (their gateway runs in the same
 * pod) and the sandbox manager send spans; sandboxes never do. On platform kubernetes the pods pull
 * with the local registry's credentials, as the workloads' do; ACK pulls through its ACR helper.
 */
export function traceViewerArgs(c: StackConfig, secrets: StackSecrets, workloads: AgentScopeWorkloads): TraceViewerArgs {
  const image = c.images.traceViewer;
  if (!image) throw new Error("traceViewerArgs: images.traceViewer is required (config/rules.ts checks it)");
  const server = c.images.registryServer ?? "localhost:5000";
  const username = c.images.registryUsername;
  const password = secrets.localRegistryPassword;
  return {
    namespace: traceViewerNamespace(c),
    partOf: c.namePrefix,
    image,
    clients: [
      { namespace: workloads.agentsNamespace, podSelector: workloads.agentPodSelector },
      { namespace: workloads.agentsNamespace, podSelector: workloads.sandboxManagerPodSelector },
    ],
    // The workloads' own tracing egress already reaches the viewer (localTraceViewerTarget).
    clientEgress: false,
    // Off ACS, laptop-sized: on a 2-core node the default 0.25 vCPU left the agents' HPA no room
    // for a second replica (e2e local.test.ts, step 3). One demo's spans need little.
    ...(c.platform === "kubernetes" ? { cpu: 0.1 } : {}),
    ...(c.platform === "kubernetes" && username && password ? { pullCredentials: { server, username, password } } : {}),
  };
}
