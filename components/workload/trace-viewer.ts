import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RegistryCredentials } from "./container-image";
import { MANAGED_BY, recommendedLabels, selectorLabels } from "./labels";
import type { WorkloadIdentity } from "./labels";
import { podSecurityLabels } from "./psa";
import { guaranteedResources } from "./resources";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, tmpVolume, tmpVolumeMount } from "./security-context";
import { requireDigestRef, requireDnsLabel, requireInt, requirePositive } from "./validate";

/** OTLP over HTTP (the OTel SDKs' `http/protobuf`), Service `jaeger-collector` port `otlp-http`. */
export const TRACE_VIEWER_OTLP_HTTP_PORT = 4318;
/** Jaeger's query API (`/api/traces`) and UI, Service `jaeger-query` port `http`. */
export const TRACE_VIEWER_QUERY_PORT = 16686;
/** Jaeger's health check (healthcheckv2 extension): probes only, never on a Service. */
export const TRACE_VIEWER_HEALTH_PORT = 13133;
export const TRACE_VIEWER_COLLECTOR_SERVICE = "jaeger-collector";
export const TRACE_VIEWER_QUERY_SERVICE = "jaeger-query";
/** Where the image (e2e/images/jaeger/Containerfile) keeps the config it runs with. */
const CONFIG_PATH = "/etc/jaeger/config.yaml";
const RESOURCE_NAME = "jaeger";
const PULL_SECRET = "registry-pull";

/** Pods that send spans to the collector: their namespace and labels. */
export interface TraceClient {
  /** Namespace of the pods. */
  namespace: pulumi.Input<string>;
  /** Labels selecting them in that namespace (never empty: that would be every pod, sandboxes' neighbours included). */
  podSelector: Record<string, string>;
}

/**
 * A Jaeger v2 "all-in-one" for local and dev stacks: OTLP/HTTP in, traces in memory (bounded, lost
 * on restart), the query API and UI out. Cluster-internal only: a person reaches the UI with
 * `kubectl port-forward svc/jaeger-query 16686`, which NetworkPolicies do not filter.
 */
export interface TraceViewerArgs {
  /** Namespace it creates and runs in (the stack's `<prefix>-observability`). */
  namespace: string;
  /** `app.kubernetes.io/part-of` (the stack's name prefix). */
  partOf: string;
  /** Image pinned by digest (e2e/images/jaeger/Containerfile). */
  image: pulumi.Input<string>;
  /** Pods allowed to send spans (ingress on 4318, and their own egress to it). At least one. */
  clients: TraceClient[];
  /** Most traces kept in memory; the oldest go first (default 10000, at least 100). */
  maxTraces?: number;
  /** vCPU, requests = limits (default 0.25). */
  cpu?: number;
  /** Memory in GiB, requests = limits (default 0.5). */
  memoryGiB?: number;
  /** Credentials for pulling the image from a private registry (default none). */
  pullCredentials?: RegistryCredentials;
  /** Extra labels on every object (default none). */
  labels?: Record<string, string>;
  /**
   * Also create each client's egress policy to the collector (default true). False when the clients'
   * own policies already allow it, as AgentScopeWorkloads' tracing egress does.
   */
  clientEgress?: boolean;
}

export interface ResolvedTraceViewerArgs {
  readonly namespace: string;
  readonly identity: WorkloadIdentity;
  readonly image: pulumi.Input<string>;
  readonly clients: TraceClient[];
  readonly maxTraces: number;
  readonly cpu: number;
  readonly memoryGiB: number;
  readonly labels: Record<string, string>;
  readonly clientEgress: boolean;
}

/** The viewer's recommended-labels identity; its selector labels pick Jaeger's pod. */
export function traceViewerIdentity(partOf: string): WorkloadIdentity {
  return { name: "jaeger", instance: `${partOf}-jaeger`, component: "trace-viewer", partOf };
}

export function resolveTraceViewerArgs(args: TraceViewerArgs): ResolvedTraceViewerArgs {
  const C = "TraceViewer";
  requireDnsLabel(C, "namespace", args.namespace);
  if (typeof args.image === "string") requireDigestRef(C, "image", args.image);
  if (args.clients.length === 0) throw new Error(`${C}: clients must list the pods that send spans`);
  args.clients.forEach((c, i) => {
    if (Object.keys(c.podSelector).length === 0) throw new Error(`${C}: clients[${i}].podSelector must name labels; an empty selector would admit every pod of the namespace`);
  });
  const maxTraces = args.maxTraces ?? 10000;
  // At least 100: the query API's default search limit is 100, and the memory store refuses a limit
  // above max_traces (jaeger v1.76.0 cmd/query/app/query_parser.go, internal/storage/v2/memory/tenant.go).
  requireInt(C, "maxTraces", maxTraces, 100, 1_000_000);
  const cpu = args.cpu ?? 0.25;
  const memoryGiB = args.memoryGiB ?? 0.5;
  requirePositive(C, "cpu", cpu);
  requirePositive(C, "memoryGiB", memoryGiB);
  return {
    namespace: args.namespace,
    identity: traceViewerIdentity(args.partOf),
    image: args.image,
    clients: args.clients.map((c) => ({ namespace: c.namespace, podSelector: { ...c.podSelector } })),
    maxTraces,
    cpu,
    memoryGiB,
    labels: args.labels ?? {},
    clientEgress: args.clientEgress ?? true,
  };
}

const nsSelector = (ns: pulumi.Input<string>) => ({ matchLabels: { "kubernetes.io/metadata.name": ns } });

export class TraceViewer extends pulumi.ComponentResource {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` for the stack's pods: the collector Service's base URL. */
  public readonly otlpHttpEndpoint: pulumi.Output<string>;
  /** Namespace it runs in. */
  public readonly namespace: pulumi.Output<string>;
  /** Name and port of the query Service (UI and `/api/traces`), for a port-forward. */
  public readonly queryService: pulumi.Output<string>;
  public readonly queryPort: number;
  /** Labels selecting Jaeger's pod. */
  public readonly podSelector: Record<string, string>;

  constructor(name: string, args: TraceViewerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:TraceViewer", name, {}, opts);
    const r = resolveTraceViewerArgs(args);
    const labels = { ...r.labels, ...recommendedLabels(r.identity) };
    const selector = selectorLabels(r.identity);

    const ns = new k8s.core.v1.Namespace(`${name}-namespace`, {
      metadata: {
        name: r.namespace,
        labels: {
          ...r.labels,
          "app.kubernetes.io/name": r.namespace,
          "app.kubernetes.io/instance": r.namespace,
          "app.kubernetes.io/component": "observability",
          "app.kubernetes.io/part-of": r.identity.partOf,
          "app.kubernetes.io/managed-by": MANAGED_BY,
          ...podSecurityLabels("restricted"),
        },
      },
    }, { parent: this });
    const inNs = { parent: this, dependsOn: [ns], deleteBeforeReplace: true };

    let pullSecrets: string[] = [];
    const pc = args.pullCredentials;
    if (pc) {
      const dockerConfig = pulumi.secret(pulumi.all([pc.server, pc.username, pc.password]).apply(([server, username, password]) =>
        JSON.stringify({ auths: { [server]: { username, password, auth: Buffer.from(`${username}:${password}`).toString("base64") } } })));
      new k8s.core.v1.Secret(`${name}-registry-pull`, {
        metadata: { name: PULL_SECRET, namespace: r.namespace, labels },
        type: "kubernetes.io/dockerconfigjson",
        stringData: { ".dockerconfigjson": dockerConfig },
      }, inNs);
      pullSecrets = [PULL_SECRET];
    }

    new k8s.apps.v1.Deployment(`${name}-deployment`, {
      metadata: { name: RESOURCE_NAME, namespace: r.namespace, labels },
      spec: {
        replicas: 1, // memory storage: a second replica would hold other traces
        strategy: { type: "Recreate" },
        revisionHistoryLimit: 3,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(),
            imagePullSecrets: pullSecrets.map((n) => ({ name: n })),
            terminationGracePeriodSeconds: 10,
            containers: [{
              name: "jaeger",
              image: r.image,
              args: ["--config", CONFIG_PATH],
              ports: [
                { name: "otlp-http", containerPort: TRACE_VIEWER_OTLP_HTTP_PORT, protocol: "TCP" },
                { name: "http", containerPort: TRACE_VIEWER_QUERY_PORT, protocol: "TCP" },
                { name: "health", containerPort: TRACE_VIEWER_HEALTH_PORT, protocol: "TCP" },
              ],
              // Read by the image's config.yaml (${env:...}).
              env: [
                { name: "JAEGER_LISTEN_HOST", value: "0.0.0.0" },
                { name: "JAEGER_MAX_TRACES", value: String(r.maxTraces) },
                { name: "GOMEMLIMIT", value: `${Math.floor(r.memoryGiB * 1024 * 0.8)}MiB` },
              ],
              resources: guaranteedResources(r.cpu, r.memoryGiB),
              securityContext: restrictedContainerSecurityContext(),
              readinessProbe: { httpGet: { path: "/status", port: "health" }, periodSeconds: 5, timeoutSeconds: 2 },
              livenessProbe: { httpGet: { path: "/status", port: "health" }, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 3 },
              volumeMounts: [tmpVolumeMount()],
            }],
            volumes: [tmpVolume("16Mi")],
          },
        },
      },
    }, inNs);

    const service = (svcName: string, portName: string, port: number) =>
      new k8s.core.v1.Service(`${name}-${svcName}`, {
        metadata: { name: svcName, namespace: r.namespace, labels },
        spec: { type: "ClusterIP", selector, ports: [{ name: portName, port, targetPort: portName, protocol: "TCP" }] },
      }, inNs);
    const collector = service(TRACE_VIEWER_COLLECTOR_SERVICE, "otlp-http", TRACE_VIEWER_OTLP_HTTP_PORT);
    const query = service(TRACE_VIEWER_QUERY_SERVICE, "http", TRACE_VIEWER_QUERY_PORT);

    // Default deny in its namespace, then only the clients on 4318. The query port gets no rule:
    // a port-forward enters the pod's own network namespace, which NetworkPolicies do not filter.
    new k8s.networking.v1.NetworkPolicy(`${name}-default-deny`, {
      metadata: { name: "default-deny", namespace: r.namespace, labels },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    }, inNs);
    const otlp = { protocol: "TCP", port: TRACE_VIEWER_OTLP_HTTP_PORT };
    new k8s.networking.v1.NetworkPolicy(`${name}-policy`, {
      metadata: { name: RESOURCE_NAME, namespace: r.namespace, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ["Ingress"],
        ingress: [{
          from: r.clients.map((c) => ({ namespaceSelector: nsSelector(c.namespace), podSelector: { matchLabels: c.podSelector } })),
          ports: [otlp],
        }],
      },
    }, inNs);
    // Each client's own egress to the collector, beside its namespace's default deny.
    if (r.clientEgress) r.clients.forEach((c, i) => {
      new k8s.networking.v1.NetworkPolicy(`${name}-clients-${i}`, {
        metadata: { name: `trace-viewer-clients-${i}`, namespace: c.namespace, labels },
        spec: {
          podSelector: { matchLabels: c.podSelector },
          policyTypes: ["Egress"],
          egress: [{ to: [{ namespaceSelector: nsSelector(r.namespace), podSelector: { matchLabels: selector } }], ports: [otlp] }],
        },
      }, inNs);
    });

    this.namespace = ns.metadata.name;
    this.otlpHttpEndpoint = pulumi.interpolate`http://${collector.metadata.name}.${collector.metadata.namespace}.svc.cluster.local:${TRACE_VIEWER_OTLP_HTTP_PORT}`;
    this.queryService = query.metadata.name;
    this.queryPort = TRACE_VIEWER_QUERY_PORT;
    this.podSelector = selector;
    this.registerOutputs({
      otlpHttpEndpoint: this.otlpHttpEndpoint,
      namespace: this.namespace,
      queryService: this.queryService,
      queryPort: this.queryPort,
    });
  }
}
