import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AlertThresholds } from "./alert-rules";
import { alertRules } from "./alert-rules";
import { MANAGED_BY } from "./labels";
import { GATEWAY_METRICS_PORT_NAME, METRICS_PATH, METRICS_PORT_NAME, METRICS_SERVICE_LABEL } from "./telemetry";

/**
 * Prometheus Operator objects (`monitoring.coreos.com/v1`): one ServiceMonitor per scraped workload
 * kind and one PrometheusRule. They need those CRDs in the cluster (Prometheus Operator, or on ACK the
 * managed Prometheus add-on; see README "Observability").
 */
export interface MonitoringArgs {
  /** Namespace of the scraped Services (the agents namespace); the objects live there too. */
  namespace: pulumi.Input<string>;
  /** `app.kubernetes.io/part-of` (the stack's name prefix). */
  partOf: string;
  /** Scrape targets: `app.kubernetes.io/name` of the pods' metrics Services, and the Service port names. */
  targets: { name: string; selectorName: string; ports: string[] }[];
  /** Scrape interval (default `30s`). */
  interval?: string;
  /** Create the PrometheusRule (default true). */
  alerts?: boolean;
  thresholds?: AlertThresholds;
  /** Extra labels on every object, e.g. what the Prometheus's `serviceMonitorSelector` / `ruleSelector` match (default none). */
  extraLabels?: Record<string, string>;
}

export const MONITORING_API_VERSION = "monitoring.coreos.com/v1";

/** Targets for the stack's agents and manager; the gateway's port is scraped only when it runs. */
export function defaultScrapeTargets(gateway: boolean): MonitoringArgs["targets"] {
  return [
    { name: "agents", selectorName: "agentscope-agent", ports: [METRICS_PORT_NAME, ...(gateway ? [GATEWAY_METRICS_PORT_NAME] : [])] },
    { name: "sandbox-manager", selectorName: "sandbox-manager", ports: [METRICS_PORT_NAME] },
  ];
}

export class Monitoring extends pulumi.ComponentResource {
  /** Names of the objects made, `<Kind>/<name>`. */
  public readonly objectNames: string[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:Monitoring", name, {}, opts);
    const interval = args.interval ?? "30s";
    if (!/^\d+(s|m)$/.test(interval)) throw new Error(`Monitoring: interval must look like 30s or 1m, got ${JSON.stringify(interval)}`);
    if (args.targets.length === 0) throw new Error("Monitoring: targets must list at least one workload");
    const labels = (component: string) => ({
      ...args.extraLabels,
      "app.kubernetes.io/name": `agentscope-${component}`,
      "app.kubernetes.io/instance": `${args.partOf}-${component}`,
      "app.kubernetes.io/component": "monitoring",
      "app.kubernetes.io/part-of": args.partOf,
      "app.kubernetes.io/managed-by": MANAGED_BY,
    });
    const names: string[] = [];
    for (const t of args.targets) {
      new k8s.apiextensions.CustomResource(`${name}-${t.name}`, {
        apiVersion: MONITORING_API_VERSION,
        kind: "ServiceMonitor",
        metadata: { name: t.name, namespace: args.namespace, labels: labels(`${t.name}-monitor`) },
        spec: {
          // Only the `<name>-metrics` Services carry the label: never the callers' Services.
          selector: { matchLabels: { "app.kubernetes.io/name": t.selectorName, ...METRICS_SERVICE_LABEL } },
          endpoints: t.ports.map((port) => ({ port, path: METRICS_PATH, interval, scheme: "http" })),
        },
      }, { parent: this });
      names.push(`ServiceMonitor/${t.name}`);
    }
    if (args.alerts ?? true) {
      new k8s.apiextensions.CustomResource(`${name}-alerts`, {
        apiVersion: MONITORING_API_VERSION,
        kind: "PrometheusRule",
        metadata: { name: "agentscope-alerts", namespace: args.namespace, labels: labels("alerts") },
        spec: { groups: [{ name: "agentscope", rules: alertRules(args.thresholds).map((r) => ({ ...r })) }] },
      }, { parent: this });
      names.push("PrometheusRule/agentscope-alerts");
    }
    this.objectNames = names;
    this.registerOutputs({ objectNames: names });
  }
}
