import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AcsNetwork, AcsPlacement } from "./acs";
import { NO_ACS, acsNetworkAnnotations, acsPodAnnotations, acsPodLabels, acsTolerations, requireAcsSize } from "./acs";
import { requireEgressNames } from "./egress";
import type { WorkloadIdentity } from "./labels";
import { recommendedLabels, selectorLabels } from "./labels";
import { SANDBOX_DENIED_CIDRS, minimalCidrs } from "./network-policies";
import { guaranteedResources } from "./resources";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, tmpVolume, tmpVolumeMount } from "./security-context";
import { renderSquidConfig } from "./squid-config";
import { isIpv4Cidr } from "../shared/cidr";
import { requireDigestRef, requireInt, requirePositive } from "./validate";

/** Squid's port (its documented default, http_port 3128). */
export const EGRESS_PROXY_PORT = 3128;
/** prometheus-squid-exporter's port (its default `-listen :9301`). */
export const EGRESS_PROXY_METRICS_PORT = 9301;
/** `app.kubernetes.io/name` of the proxy's pods. */
export const EGRESS_PROXY_APP_NAME = "agentscope-egress-proxy";
const RESOURCE_NAME = "egress-proxy";
const CONFIG_DIR = "/etc/squid/egress";
const RUN_DIR = "/run/squid";
const BUMP_CERT = `${RUN_DIR}/bump.pem`;

/**
 * The sandboxes' egress proxy: Squid from Debian (`squid-openssl`, target `egress-proxy` of
 * agent-image/), in the sandbox namespace. Sandboxes reach it and nothing else (their
 * NetworkPolicy); it lets HTTP and CONNECT through to the allow-listed names only and checks each
 * TLS SNI against the CONNECT name (squid-config.ts). Beside it, Debian's
 * `prometheus-squid-exporter` turns Squid's own cache-manager counters into metrics:
 * `squid_client_http_errors_total` counts the requests Squid refused (and those it failed to serve).
 */
export interface EgressProxyArgs {
  /** The sandbox namespace. */
  namespace: pulumi.Input<string>;
  /** `app.kubernetes.io/part-of` (the stack's name prefix). */
  partOf: string;
  /** Image pinned by digest (target `egress-proxy` of agent-image/). */
  image: pulumi.Input<string>;
  /** Exact host names the sandboxes may reach (egress.ts rules); empty refuses everything. */
  allow: string[];
  /** Labels of the pods that may use the proxy, in the same namespace (the sandboxes). */
  clientSelector: Record<string, string>;
  /** Other pods of that namespace that use it too, e.g. 2.x workspaces (default none). */
  additionalClientSelectors?: Record<string, string>[];
  /**
   * Address blocks the proxy never connects to, whatever a name resolves to (default
   * SANDBOX_DENIED_CIDRS: metadata service, private, link-local, CGNAT ranges). Pass the cluster's
   * Service CIDR and any other block sandboxes must not reach as well.
   */
  deniedCidrs?: string[];
  /** Ports CONNECT may reach (default [443]). */
  connectPorts?: number[];
  /** Ports plain HTTP may reach (default [80]). */
  httpPorts?: number[];
  /** Pods (default 1). */
  replicas?: number;
  /** vCPU per pod for Squid, requests = limits (default 0.25; 0.5 on ACS with the exporter's share). */
  cpu?: number;
  /** Memory per pod in GiB for Squid (default 0.25; 1 on ACS). */
  memoryGiB?: number;
  placement?: AcsPlacement;
  acsNetwork?: AcsNetwork;
  /** Annotations added to the proxy's pods, e.g. Poseidon's traffic-policy mode (acs-traffic-policy.ts). */
  podAnnotations?: Record<string, string>;
  imagePullSecrets?: string[];
  /** Who may scrape the exporter (default none: the metrics port stays closed). */
  scrape?: { namespaces: string[]; podSelector?: Record<string, string> };
}

export interface ResolvedEgressProxyArgs {
  readonly namespace: pulumi.Input<string>;
  readonly identity: WorkloadIdentity;
  readonly image: pulumi.Input<string>;
  readonly allow: string[];
  readonly clientSelector: Record<string, string>;
  readonly additionalClientSelectors: Record<string, string>[];
  readonly deniedCidrs: string[];
  readonly connectPorts: number[];
  readonly httpPorts: number[];
  readonly replicas: number;
  readonly squid: { cpu: number; memoryGiB: number };
  readonly exporter: { cpu: number; memoryGiB: number };
  readonly placement: AcsPlacement;
  readonly imagePullSecrets: string[];
  readonly scrape?: { namespaces: string[]; podSelector?: Record<string, string> };
}

export function resolveEgressProxyArgs(args: EgressProxyArgs): ResolvedEgressProxyArgs {
  const C = "EgressProxy";
  if (typeof args.image === "string") requireDigestRef(C, "image", args.image);
  requireEgressNames(C, "allow", args.allow);
  if (Object.keys(args.clientSelector).length === 0) {
    throw new Error(`${C}: clientSelector must name the sandboxes' labels; an empty selector would admit every pod of the namespace`);
  }
  for (const [i, sel] of (args.additionalClientSelectors ?? []).entries()) {
    if (Object.keys(sel).length === 0) throw new Error(`${C}: additionalClientSelectors[${i}] is empty; an empty selector would admit every pod of the namespace`);
  }
  const deniedCidrs = minimalCidrs(args.deniedCidrs ?? [...SANDBOX_DENIED_CIDRS]);
  for (const c of deniedCidrs) {
    if (!isIpv4Cidr(c)) throw new Error(`${C}: deniedCidrs entry ${JSON.stringify(c)} is not an IPv4 CIDR block`);
    if (c.endsWith("/0")) throw new Error(`${C}: deniedCidrs entry ${c} would deny everything; use sandbox egress mode none instead`);
  }
  const connectPorts = args.connectPorts ?? [443];
  const httpPorts = args.httpPorts ?? [80];
  if (connectPorts.length + httpPorts.length === 0) throw new Error(`${C}: connectPorts and httpPorts are both empty`);
  for (const p of [...connectPorts, ...httpPorts]) requireInt(C, "connectPorts/httpPorts entry", p, 1, 65535);
  const replicas = args.replicas ?? 1;
  requireInt(C, "replicas", replicas, 1, 10);
  const placement = args.placement ?? NO_ACS;
  // The exporter is small; on ACS the pod's sum must be a valid ACS size (0.5 vCPU / 1 GiB).
  const exporter = { cpu: 0.1, memoryGiB: 0.125 };
  const squid = {
    cpu: args.cpu ?? (placement.enabled ? 0.4 : 0.25),
    memoryGiB: args.memoryGiB ?? (placement.enabled ? 0.875 : 0.25),
  };
  requirePositive(C, "cpu", squid.cpu);
  requirePositive(C, "memoryGiB", squid.memoryGiB);
  if (placement.enabled) requireAcsSize(C, "", squid.cpu + exporter.cpu, squid.memoryGiB + exporter.memoryGiB);
  if (args.scrape && args.scrape.namespaces.length === 0) throw new Error(`${C}: scrape.namespaces must name the monitoring namespace(s)`);
  return {
    namespace: args.namespace,
    identity: { name: EGRESS_PROXY_APP_NAME, instance: `${args.partOf}-${RESOURCE_NAME}`, component: "egress-proxy", partOf: args.partOf },
    image: args.image,
    allow: [...args.allow],
    clientSelector: { ...args.clientSelector },
    additionalClientSelectors: (args.additionalClientSelectors ?? []).map((sel) => ({ ...sel })),
    deniedCidrs,
    connectPorts: [...connectPorts],
    httpPorts: [...httpPorts],
    replicas,
    squid,
    exporter,
    placement,
    imagePullSecrets: args.imagePullSecrets ?? [],
    ...(args.scrape ? { scrape: args.scrape } : {}),
  };
}

/** squid.conf for these args. */
export function egressProxySquidConfig(r: ResolvedEgressProxyArgs): string {
  return renderSquidConfig({
    allow: r.allow,
    listenPort: EGRESS_PROXY_PORT,
    connectPorts: r.connectPorts,
    httpPorts: r.httpPorts,
    deniedCidrs: r.deniedCidrs,
    bumpCertPath: BUMP_CERT,
  });
}

/**
 * The proxy environment a client gets: both spellings, since curl reads only the lower-case
 * `http_proxy` and Python's urllib/requests and pip read either. By address, so that sandboxes
 * need no DNS. NO_PROXY keeps the sandbox's own loopback calls off the proxy.
 */
export function proxyEnv(proxyUrl: string): { name: string; value: string }[] {
  const noProxy = "localhost,127.0.0.1,::1";
  return ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"].map((name) => ({ name, value: proxyUrl }))
    .concat([{ name: "NO_PROXY", value: noProxy }, { name: "no_proxy", value: noProxy }]);
}

export class EgressProxy extends pulumi.ComponentResource {
  /** `http://<ClusterIP>:3128`: what clients put in HTTP(S)_PROXY. */
  public readonly proxyUrl: pulumi.Output<string>;
  /** Environment for client containers (proxyEnv). */
  public readonly clientEnv: pulumi.Output<{ name: string; value: string }[]>;
  /** Labels selecting the proxy's pods. */
  public readonly podSelector: Record<string, string>;
  /** The proxy's Service, in its namespace. */
  public readonly serviceName: string;

  constructor(name: string, args: EgressProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:EgressProxy", name, {}, opts);
    const r = resolveEgressProxyArgs(args);
    const parent = { parent: this };
    const labels = recommendedLabels(r.identity);
    const selector = selectorLabels(r.identity);
    const p = r.placement;
    const squidConf = egressProxySquidConfig(r);
    const clients = [r.clientSelector, ...r.additionalClientSelectors];

    const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
      metadata: { name: RESOURCE_NAME, namespace: r.namespace, labels },
      data: { "squid.conf": squidConf },
    }, { ...parent, deleteBeforeReplace: true });

    const container = restrictedContainerSecurityContext();
    new k8s.apps.v1.Deployment(`${name}-deployment`, {
      metadata: { name: RESOURCE_NAME, namespace: r.namespace, labels },
      spec: {
        replicas: r.replicas,
        revisionHistoryLimit: 3,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: { ...labels, ...acsPodLabels(p) },
            annotations: {
              ...acsPodAnnotations(p),
              ...acsNetworkAnnotations(p, args.acsNetwork),
              ...(args.podAnnotations ?? {}),
              // Roll the pods when the allow-list changes (Squid reads its config at start).
              "agentscope.io/config-sha256": createHash("sha256").update(squidConf).digest("hex"),
            },
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(),
            tolerations: acsTolerations(p),
            imagePullSecrets: r.imagePullSecrets.map((n) => ({ name: n })),
            terminationGracePeriodSeconds: 10,
            initContainers: [{
              // The certificate an ssl-bump port needs to deliver its 403 inside TLS (squid-config.ts);
              // made per pod, never leaves it, signs nothing.
              name: "bump-cert",
              image: r.image,
              command: ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                "-subj", "/CN=agentscope egress proxy", "-keyout", BUMP_CERT, "-out", BUMP_CERT],
              resources: guaranteedResources(r.exporter.cpu, r.exporter.memoryGiB),
              securityContext: container,
              volumeMounts: [{ name: "run", mountPath: RUN_DIR }],
            }],
            containers: [
              {
                name: "squid",
                image: r.image,
                command: ["squid", "-N", "-f", `${CONFIG_DIR}/squid.conf`],
                ports: [{ name: "proxy", containerPort: EGRESS_PROXY_PORT, protocol: "TCP" }],
                resources: guaranteedResources(r.squid.cpu, r.squid.memoryGiB),
                securityContext: container,
                readinessProbe: { tcpSocket: { port: "proxy" }, periodSeconds: 5, timeoutSeconds: 2 },
                livenessProbe: { tcpSocket: { port: "proxy" }, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 3 },
                volumeMounts: [
                  { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                  { name: "run", mountPath: RUN_DIR, readOnly: true },
                  tmpVolumeMount(),
                ],
              },
              {
                name: "exporter",
                image: r.image,
                command: ["prometheus-squid-exporter", "-listen", `:${EGRESS_PROXY_METRICS_PORT}`,
                  "-squid-hostname", "127.0.0.1", "-squid-port", String(EGRESS_PROXY_PORT)],
                ports: [{ name: "metrics", containerPort: EGRESS_PROXY_METRICS_PORT, protocol: "TCP" }],
                resources: guaranteedResources(r.exporter.cpu, r.exporter.memoryGiB),
                securityContext: container,
                readinessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 10, timeoutSeconds: 3 },
                livenessProbe: { tcpSocket: { port: "metrics" }, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 3 },
              },
            ],
            volumes: [
              { name: "config", configMap: { name: config.metadata.name, defaultMode: 0o444 } },
              { name: "run", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
              tmpVolume("64Mi"),
            ],
          },
        },
      },
    }, { ...parent, deleteBeforeReplace: true });

    const service = new k8s.core.v1.Service(`${name}-service`, {
      metadata: { name: RESOURCE_NAME, namespace: r.namespace, labels },
      spec: {
        type: "ClusterIP",
        selector,
        ports: [{ name: "proxy", port: EGRESS_PROXY_PORT, targetPort: "proxy", protocol: "TCP" }],
      },
    }, { ...parent, deleteBeforeReplace: true });

    // On top of the namespace's default deny: the sandboxes reach it; it reaches the public
    // internet on the allowed ports only (the namespace's DNS rule aside), never a denied range.
    const tcp = (port: number) => ({ protocol: "TCP", port });
    new k8s.networking.v1.NetworkPolicy(`${name}-policy`, {
      metadata: { name: RESOURCE_NAME, namespace: r.namespace, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          { from: clients.map((c) => ({ podSelector: { matchLabels: c } })), ports: [tcp(EGRESS_PROXY_PORT)] },
          ...(r.scrape
            ? [{
              from: [{
                namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: r.scrape.namespaces }] },
                ...(r.scrape.podSelector ? { podSelector: { matchLabels: r.scrape.podSelector } } : {}),
              }],
              ports: [tcp(EGRESS_PROXY_METRICS_PORT)],
            }]
            : []),
        ],
        egress: [{
          to: [{ ipBlock: { cidr: "0.0.0.0/0", except: r.deniedCidrs } }],
          ports: [...new Set([...r.connectPorts, ...r.httpPorts])].map(tcp),
        }],
      },
    }, { ...parent, deleteBeforeReplace: true });
    // Each kind of client may reach the proxy (on the namespace's default deny): one policy each.
    clients.forEach((client, i) => {
      const suffix = i === 0 ? "clients" : `clients-${i + 1}`;
      new k8s.networking.v1.NetworkPolicy(`${name}-${suffix}-policy`, {
        metadata: { name: `${RESOURCE_NAME}-${suffix}`, namespace: r.namespace, labels },
        spec: {
          podSelector: { matchLabels: client },
          policyTypes: ["Egress"],
          egress: [{ to: [{ podSelector: { matchLabels: selector } }], ports: [tcp(EGRESS_PROXY_PORT)] }],
        },
      }, { ...parent, deleteBeforeReplace: true });
    });

    this.proxyUrl = pulumi.interpolate`http://${service.spec.clusterIP}:${EGRESS_PROXY_PORT}`;
    this.clientEnv = this.proxyUrl.apply(proxyEnv);
    this.podSelector = selector;
    this.serviceName = RESOURCE_NAME;
    this.registerOutputs({ proxyUrl: this.proxyUrl });
  }
}
