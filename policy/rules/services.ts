/**
 * Rule group 5: no LoadBalancer Service open to the whole internet. An internet-facing load
 * balancer needs a source allow-list: spec.loadBalancerSourceRanges without a /0 entry, or (on
 * ACK) a CLB whitelist ACL through the CCM annotations. Internal load balancers are fine.
 *
 * Annotation names: ACK Cloud Controller Manager docs ("Use annotations to configure CLB instances")
 * and the in-tree annotations of the other clouds.
 */
import type { Props } from "./common";
import { K8S, asObject, asString, asStringArray, asStringMap, describe } from "./common";

const ALIBABA = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer";
/** Annotations (and values) that make a LoadBalancer Service internal-only. */
const INTERNAL_ANNOTATIONS: readonly { readonly key: string; readonly values: readonly string[] }[] = [
  { key: `${ALIBABA}-address-type`, values: ["intranet"] },
  { key: "service.beta.kubernetes.io/alicloud-loadbalancer-address-type", values: ["intranet"] },
  { key: "service.beta.kubernetes.io/aws-load-balancer-internal", values: ["true"] },
  { key: "service.beta.kubernetes.io/aws-load-balancer-scheme", values: ["internal"] },
  { key: "networking.gke.io/load-balancer-type", values: ["Internal"] },
  { key: "cloud.google.com/load-balancer-type", values: ["Internal", "internal"] },
  { key: "service.beta.kubernetes.io/azure-load-balancer-internal", values: ["true"] },
];

export function isInternalLoadBalancer(annotations: Readonly<Record<string, string>>): boolean {
  return INTERNAL_ANNOTATIONS.some((a) => {
    const v = annotations[a.key];
    return v !== undefined && a.values.includes(v);
  });
}

/** An ACK CLB whitelist: acl-status on, acl-type white, and an acl-id. */
export function hasAlibabaWhitelistAcl(annotations: Readonly<Record<string, string>>): boolean {
  return annotations[`${ALIBABA}-acl-status`] === "on" && annotations[`${ALIBABA}-acl-type`] === "white" && (annotations[`${ALIBABA}-acl-id`] ?? "") !== "";
}

const OPEN_RANGE = /\/0$/;

/** Violations of the load-balancer rule for one resource; empty for other types. */
export function checkLoadBalancer(type: string, props: Props): string[] {
  if (type !== K8S.service) return [];
  const spec = asObject(props.spec);
  if (asString(spec?.type) !== "LoadBalancer") return [];
  const annotations = asStringMap(asObject(props.metadata)?.annotations);
  if (isInternalLoadBalancer(annotations)) return [];

  const what = describe(type, props);
  const ranges = asStringArray(spec?.loadBalancerSourceRanges);
  const open = ranges.filter((r) => OPEN_RANGE.test(r.trim()));
  if (open.length > 0) {
    return [
      `${what}: an internet-facing LoadBalancer whose loadBalancerSourceRanges include ${open.join(", ")}, which admits every address. ` +
        `Fix: list only the client CIDRs that need access, or make it internal (annotation ${ALIBABA}-address-type: "intranet" on ACK).`,
    ];
  }
  if (ranges.length > 0 || hasAlibabaWhitelistAcl(annotations)) return [];
  return [
    `${what}: an internet-facing LoadBalancer with no source allow-list, open to the whole internet. ` +
      `Fix: set spec.loadBalancerSourceRanges to the client CIDRs (or, on ACK, a whitelist ACL with the ${ALIBABA}-acl-status/-acl-id/-acl-type annotations), ` +
      `or make it internal with annotation ${ALIBABA}-address-type: "intranet".`,
  ];
}

/**
 * Rule group 5b: metrics endpoints never on a Service that reaches beyond the cluster. A `/metrics`
 * listener is plain, unauthenticated HTTP and tells an outsider what runs (pool sizes, models, token
 * counts); it belongs on a ClusterIP Service (or a PodMonitor) that only the monitoring namespace reaches.
 * Matches a port named `metrics` or ending in `-metrics` (name or named targetPort), or the
 * Prometheus exporter ports the stack uses (9464, 9465: the OpenTelemetry Prometheus exporter's 9464 and the gateway's).
 */
export const METRICS_PORT_NUMBERS: readonly number[] = [9464, 9465];
const METRICS_NAME = /(^|-)metrics$/;

export function checkMetricsExposure(type: string, props: Props): string[] {
  if (type !== K8S.service) return [];
  const spec = asObject(props.spec);
  const kind = asString(spec?.type) ?? "ClusterIP";
  if (kind !== "LoadBalancer" && kind !== "NodePort") return [];
  const ports = Array.isArray(spec?.ports) ? spec.ports : [];
  const exposed = ports.flatMap((p) => {
    const port = asObject(p);
    const name = asString(port?.name) ?? "";
    const target = port?.targetPort;
    const numbers = [port?.port, target].filter((n): n is number => typeof n === "number");
    const hit = METRICS_NAME.test(name) || (typeof target === "string" && METRICS_NAME.test(target)) || numbers.some((n) => METRICS_PORT_NUMBERS.includes(n));
    return hit ? [name || String(port?.port)] : [];
  });
  if (exposed.length === 0) return [];
  return [
    `${describe(type, props)}: a ${kind} Service exposes metrics port(s) ${exposed.join(", ")} outside the cluster. ` +
      "Fix: serve metrics on a separate ClusterIP `<name>-metrics` Service (or scrape with a PodMonitor) and admit only the monitoring namespace in a NetworkPolicy.",
  ];
}
