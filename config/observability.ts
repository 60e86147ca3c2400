import type { OtlpEgress } from "../components/workload/telemetry";
import type { ParsedStackConfig } from "./schema";

/** A Service's DNS name: `<service>.<namespace>`, optionally `.svc` or `.svc.cluster.local`. */
const IN_CLUSTER_HOST = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.svc(\.cluster\.local)?)?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export interface ParsedOtlpEndpoint {
  readonly url: URL;
  readonly port: number;
  /** The namespace when the host is a Service name in the cluster. */
  readonly inClusterNamespace?: string;
  /** The host when it is an IPv4 literal. */
  readonly ipv4?: string;
}

export function parseOtlpEndpoint(endpoint: string): ParsedOtlpEndpoint {
  const url = new URL(endpoint);
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  const host = url.hostname;
  const inCluster = IN_CLUSTER_HOST.exec(host);
  return {
    url,
    port,
    // `a.b` could also be a public name (example.com): without `.svc`, it counts as a Service only when
    // `b` does not look like a top-level domain (2..6 letters); write `.svc` to be explicit.
    ...(inCluster && (inCluster[5] !== undefined || !/^[a-z]{2,6}$/.test(inCluster[3]!)) ? { inClusterNamespace: inCluster[3]! } : {}),
    ...(IPV4.test(host) ? { ipv4: host } : {}),
  };
}

/**
 * The NetworkPolicy egress for the configured endpoint: a namespace selector for a Service in the
 * cluster (the policy sees the pods' port after the Service's DNAT: the Service must map its port to
 * the same container port, as the local Jaeger's 4318 does), else the given blocks or the IPv4 literal.
 * Undefined when the endpoint is not set or its addresses are unknown (config/rules.ts reports that).
 */
export function otlpEgressFor(o: ParsedStackConfig["observability"]): OtlpEgress | undefined {
  if (!o.otlpEndpoint) return undefined;
  const p = parseOtlpEndpoint(o.otlpEndpoint);
  if (o.otlpEgressCidrs) return { kind: "cidrs", cidrs: o.otlpEgressCidrs, port: p.port };
  if (p.inClusterNamespace) return { kind: "in-cluster", namespace: p.inClusterNamespace, port: p.port };
  if (p.ipv4) return { kind: "cidrs", cidrs: [`${p.ipv4}/32`], port: p.port };
  return undefined;
}

/** `key=value,key=value` as OTEL_EXPORTER_OTLP_HEADERS takes it (OpenTelemetry SDK environment spec). */
export function validOtlpHeaders(value: string): boolean {
  return value.split(",").every((pair) => /^\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=\s*\S.*$/.test(pair));
}

/** ACK's managed Prometheus add-on: on by default for platform alicloud while metrics are on. */
export function managedPrometheusOn(c: ParsedStackConfig): boolean {
  return c.platform === "alicloud" && c.observability.metrics && (c.observability.managedPrometheus ?? true);
}

/** ServiceMonitors and the PrometheusRule: `auto` means where the stack installs the managed Prometheus add-on. */
export function prometheusOperatorOn(c: ParsedStackConfig): boolean {
  const mode = c.observability.prometheusOperator;
  return c.observability.metrics && (mode === "on" || (mode === "auto" && managedPrometheusOn(c)));
}

/** Log collection to SLS: on by default for platform alicloud. */
export function slsLogsOn(c: ParsedStackConfig): boolean {
  return c.platform === "alicloud" && (c.observability.logs.enabled ?? true);
}

/**
 * Where ACK's managed Prometheus agent (ack-arms-prometheus) runs: namespace `arms-prom`, pods labelled
 * `app: arms-prometheus-ack-arms-prometheus`. Source: @pulumi/alicloud 3.108.0 arms/envServiceMonitor.d.ts
 * and arms/envPodMonitor.d.ts (the provider's own ServiceMonitor/PodMonitor examples live in `arms-prom`
 * and select the agent by that label); terraform-provider-alicloud docs arms_env_service_monitor.
 */
export const MANAGED_PROMETHEUS_NAMESPACE = "arms-prom";
/** Where a self-run Prometheus conventionally runs (kube-prometheus; ACK's open-source Prometheus chart too). */
export const SELF_RUN_PROMETHEUS_NAMESPACE = "monitoring";

/** The namespaces admitted to scrape: as configured, else the one the platform's Prometheus runs in. */
export function scrapeNamespacesFor(c: ParsedStackConfig): string[] {
  return c.observability.scrapeNamespaces ?? [managedPrometheusOn(c) ? MANAGED_PROMETHEUS_NAMESPACE : SELF_RUN_PROMETHEUS_NAMESPACE];
}
