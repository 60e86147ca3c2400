/**
 * Traces and metrics wiring shared by the agent runtime and the sandbox manager: the OpenTelemetry
 * SDK environment, the metrics ports and names. Names follow the observability contract between
 * the stack and the agent image (issue 13): the image reads exactly these variables.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** Agent and sandbox manager metrics listener (`METRICS_PORT`), container port name `metrics`. */
export const METRICS_PORT = 9464;
export const METRICS_PORT_NAME = "metrics";
/** The gateway's metrics listener (`GATEWAY_METRICS_PORT`), container port name `gateway-metrics`. */
export const GATEWAY_METRICS_PORT = 9465;
export const GATEWAY_METRICS_PORT_NAME = "gateway-metrics";
export const METRICS_PATH = "/metrics";
/** Marks the `<name>-metrics` Services, so a ServiceMonitor selects them and never the callers' Services. */
export const METRICS_SERVICE_LABEL = { "agentscope.io/metrics": "true" } as const;

/** `OTEL_SERVICE_NAME` per process. */
export const OTEL_SERVICE_NAMES = {
  gateway: "agentscope-gateway",
  agent: "agentscope-agent",
  sandboxManager: "agentscope-sandbox-manager",
} as const;

/** Key of the OTLP headers in a workload's Secret, and the env var the SDK reads. */
export const OTLP_HEADERS_ENV = "OTEL_EXPORTER_OTLP_HEADERS";

/** Every metric the images export (contract), by process; alert rules may use only these. */
export const CONTRACT_METRICS = {
  gateway: ["agentscope_gateway_requests_total", "agentscope_gateway_request_duration_seconds"],
  agent: [
    "agentscope_agent_turns_total",
    "agentscope_agent_turn_duration_seconds",
    "agentscope_agent_active_sessions",
    "agentscope_model_tokens_total",
    "agentscope_model_call_duration_seconds",
  ],
  sandboxManager: [
    "agentscope_sandbox_pool_target",
    "agentscope_sandbox_warm",
    "agentscope_sandbox_in_use",
    "agentscope_sandbox_creating",
    "agentscope_sandbox_reaped_total",
    "agentscope_sandbox_claims_total",
    "agentscope_sandbox_claim_duration_seconds",
    "agentscope_sandbox_create_failures_total",
    "agentscope_redis_up",
  ],
} as const;

/** Where the OTLP receiver is, for the NetworkPolicy egress rule (a policy cannot name a host). */
export type OtlpEgress =
  /** A Service in the cluster: its pods, by namespace (and pod labels when known), on the pods' port. */
  | { kind: "in-cluster"; namespace: pulumi.Input<string>; podSelector?: Record<string, string>; port: number }
  /** Addresses outside the cluster (e.g. the VPC address of SLS's intranet endpoint). */
  | { kind: "cidrs"; cidrs: pulumi.Input<string>[]; port: number };

/** OTLP/HTTP trace export. */
export interface TracingArgs {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`: base URL, the SDK appends `/v1/traces`. */
  endpoint: pulumi.Input<string>;
  /** Where the endpoint is, for egress. */
  egress: OtlpEgress;
  /** `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,...`, e.g. the SLS AccessKey headers), a Pulumi secret: it reaches pods only through a Secret. */
  headers?: pulumi.Input<string>;
  /** `AGENTSCOPE_TRACE_CONTENT`: put prompts, model output, tool arguments and code in spans (default false). */
  traceContent?: boolean;
}

/** What AgentRuntime and SandboxPool take: both parts optional, each off when omitted. */
export interface WorkloadTelemetry {
  /** Trace export (default none: no OTLP variables, tracing off in the process). */
  tracing?: TracingArgs;
  /** Metrics listeners and a `<name>-metrics` ClusterIP Service (default off). */
  metrics?: boolean;
}

const POD_NAME_ENV = "K8S_POD_NAME";
const POD_NAMESPACE_ENV = "K8S_NAMESPACE_NAME";

/**
 * The OpenTelemetry SDK environment of one container. Pod name and namespace come from the downward
 * API into two variables first, because `$(VAR)` in a later value expands only earlier variables
 * (Kubernetes "Define dependent environment variables"). `headersFrom` is the Secret holding the
 * headers under OTLP_HEADERS_ENV; never a plain value.
 */
export function otelEnv(
  service: string,
  tracing: TracingArgs | undefined,
  headersFrom: pulumi.Input<string> | undefined,
  attributes: Record<string, string> = {},
): k8s.types.input.core.v1.EnvVar[] {
  const traceContent: k8s.types.input.core.v1.EnvVar = { name: "AGENTSCOPE_TRACE_CONTENT", value: tracing?.traceContent ? "true" : "false" };
  if (!tracing) return [traceContent];
  if (tracing.headers !== undefined && headersFrom === undefined) throw new Error("telemetry: tracing.headers needs the Secret that holds them (headersFrom)");
  const extra = Object.entries(attributes).map(([k, v]) => {
    if (/[,=\s]/.test(k) || /[,=\s]/.test(v)) throw new Error(`telemetry: resource attribute ${k}=${v} must not contain ',', '=' or spaces`);
    return `,${k}=${v}`;
  }).join("");
  return [
    { name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: tracing.endpoint },
    { name: "OTEL_EXPORTER_OTLP_PROTOCOL", value: "http/protobuf" },
    { name: "OTEL_SERVICE_NAME", value: service },
    { name: POD_NAME_ENV, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: POD_NAMESPACE_ENV, valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "OTEL_RESOURCE_ATTRIBUTES", value: `k8s.namespace.name=$(${POD_NAMESPACE_ENV}),k8s.pod.name=$(${POD_NAME_ENV})${extra}` },
    ...(tracing.headers !== undefined && headersFrom !== undefined
      ? [{ name: OTLP_HEADERS_ENV, valueFrom: { secretKeyRef: { name: headersFrom, key: OTLP_HEADERS_ENV } } }]
      : []),
    traceContent,
  ];
}
