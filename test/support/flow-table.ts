/**
 * The flow table of test/network-flows.test.ts and its judge, shared with the real-packet run in
 * test/e2e/netpol-packets.test.ts: one list of rows, one evaluator, two worlds (mocks, real pods).
 */
import type { K8sObject } from "./mocks";
import type { Cluster, Connection, Endpoint, Protocol, Verdict } from "./netpol";
import { evaluate, selectorMatches } from "./netpol";

/** The stack's objects, the evaluator's model of them, and every named endpoint of the table. */
export interface World {
  readonly cluster: Cluster;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  readonly objects: readonly K8sObject[];
}

// ---------------------------------------------------------------------------------------------
// The table. With `via`, `port` is a Service port (the Service named after the destination
// workload, or its `-lb` LoadBalancer), judged at the pod port it targets: NetworkPolicies see
// traffic after kube-proxy's DNAT.

export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol?: Protocol;
  readonly via?: "service" | "lb";
  readonly expect: "allow" | "deny";
  readonly why: string;
  /**
   * Only where Redis runs in the cluster, where agents have a load balancer, where the stand-in
   * model runs, or where users' agents run (an AgentApp with a task worker, a 2.x agent whose
   * workspaces are pods).
   */
  readonly needs?: "in-cluster redis" | "load balancer" | "stand-in model" | "users' agents";
  /**
   * Only where sandboxes' egress (sandbox.egress.mode) is `internet`; `restricted`: none or
   * allowList (no internet by address, no DNS); `allowList`: where the egress proxy runs.
   */
  readonly egress?: "internet" | "restricted" | "allowList";
}

export const FLOWS: readonly Flow[] = [
  // DNS, for every workload
  { from: "agent A", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS" },
  { from: "agent B", to: "kube-dns", port: 53, protocol: "TCP", expect: "allow", why: "DNS over TCP" },
  { from: "sandbox-manager", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS" },
  { from: "sandbox A", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS", egress: "internet" },
  { from: "sandbox A", to: "kube-dns", port: 53, protocol: "UDP", expect: "deny", why: "no DNS where egress is restricted: its answers carry data out too", egress: "restricted" },
  { from: "redis", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS (namespace-wide rule)", needs: "in-cluster redis" },
  // callers → agents
  { from: "caller pod (ns frontend)", to: "agent A", via: "service", port: 8080, expect: "allow", why: "callers use the Service, which targets the gateway" },
  { from: "caller pod (ns frontend)", to: "agent A", port: 8080, expect: "deny", why: "AgentApp port with unauthenticated /admin" },
  { from: "pod in unrelated ns team-x", to: "agent B", port: 8080, expect: "deny", why: "admin port from another namespace" },
  { from: "LB caller", to: "agent A", via: "lb", port: 8080, expect: "allow", why: "allow-listed load balancer client", needs: "load balancer" },
  { from: "SLB health check", to: "agent A", port: 8081, expect: "allow", why: "ACK's SLB probes ENI/ACS backends from 100.64.0.0/10", needs: "load balancer" },
  { from: "SLB health check", to: "agent A", port: 8080, expect: "deny", why: "probes reach the gateway, not the AgentApp", needs: "load balancer" },
  { from: "internet client", to: "agent A", port: 8081, expect: "deny", why: "not on the allow-list" },
  { from: "agent A", to: "agent B", port: 8081, expect: "deny", why: "agents never reach each other" },
  { from: "agent B", to: "agent A", via: "service", port: 8080, expect: "deny", why: "agents never reach each other" },
  // agents → their dependencies
  { from: "agent A", to: "sandbox-manager", via: "service", port: 8000, expect: "allow", why: "sandbox leases" },
  { from: "agent B", to: "sandbox-manager", port: 8000, expect: "allow", why: "sandbox leases" },
  { from: "agent A", to: "redis", port: 6379, expect: "allow", why: "sessions" },
  { from: "agent A", to: "model API (public)", port: 443, expect: "allow", why: "model calls" },
  { from: "agent A", to: "public web", port: 80, expect: "deny", why: "model egress is 443 only" },
  { from: "agent A", to: "metadata 100.100.100.200", port: 80, expect: "deny", why: "node RAM credentials" },
  { from: "agent A", to: "API server", port: 6443, expect: "deny", why: "agents have no business with the API server" },
  { from: "agent A", to: "sandbox A", port: 8090, expect: "deny", why: "agents use sandboxes through the manager's call_tool, never directly" },
  // sandboxes: untrusted code
  { from: "sandbox A", to: "metadata 100.100.100.200", port: 80, expect: "deny", why: "Alibaba Cloud metadata: node RAM credentials" },
  { from: "sandbox A", to: "metadata 169.254.169.254", port: 80, expect: "deny", why: "link-local metadata" },
  { from: "sandbox A", to: "CGNAT 100.100.0.7", port: 443, expect: "deny", why: "100.64.0.0/10: Alibaba Cloud service addresses" },
  { from: "sandbox A", to: "private 10.1.2.3", port: 443, expect: "deny", why: "VPC / RFC 1918" },
  { from: "sandbox A", to: "private 172.16.5.5", port: 443, expect: "deny", why: "RFC 1918" },
  { from: "sandbox A", to: "private 192.168.1.1", port: 443, expect: "deny", why: "RFC 1918 / Service CIDR" },
  { from: "sandbox A", to: "redis", port: 6379, expect: "deny", why: "session store" },
  { from: "sandbox A", to: "agent A", port: 8081, expect: "deny", why: "agent gateway" },
  { from: "sandbox A", to: "agent A", port: 8080, expect: "deny", why: "agent admin port" },
  { from: "sandbox A", to: "sandbox-manager", port: 8000, expect: "deny", why: "the manager is called, never calls back" },
  { from: "sandbox A", to: "API server", port: 6443, expect: "deny", why: "cluster control plane" },
  { from: "sandbox A", to: "sandbox B", port: 8090, expect: "deny", why: "sessions are isolated from each other" },
  { from: "sandbox A", to: "public web", port: 443, expect: "allow", why: "pip install, web access", egress: "internet" },
  { from: "sandbox A", to: "public web", port: 443, expect: "deny", why: "egress none or allowList: no address is reachable directly", egress: "restricted" },
  // the egress proxy (sandbox.egress.mode allowList): the sandboxes' only way out, by name
  { from: "sandbox A", to: "egress-proxy", via: "service", port: 3128, expect: "allow", why: "HTTP(S)_PROXY", egress: "allowList" },
  { from: "sandbox B", to: "egress-proxy", port: 3128, expect: "allow", why: "HTTP(S)_PROXY", egress: "allowList" },
  { from: "sandbox A", to: "egress-proxy", port: 9301, expect: "deny", why: "the exporter is for the scrapers", egress: "allowList" },
  { from: "agent A", to: "egress-proxy", port: 3128, expect: "deny", why: "the proxy is the sandboxes'", egress: "allowList" },
  { from: "sandbox-manager", to: "egress-proxy", port: 3128, expect: "deny", why: "the proxy is the sandboxes'", egress: "allowList" },
  { from: "pod in unrelated ns team-x", to: "egress-proxy", port: 3128, expect: "deny", why: "the proxy is the sandboxes'", egress: "allowList" },
  { from: "egress-proxy", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "it resolves the allowed names", egress: "allowList" },
  { from: "egress-proxy", to: "public web", port: 443, expect: "allow", why: "CONNECT to an allowed name", egress: "allowList" },
  { from: "egress-proxy", to: "public web", port: 80, expect: "allow", why: "plain HTTP to an allowed name", egress: "allowList" },
  { from: "egress-proxy", to: "public web", port: 22, expect: "deny", why: "443 and 80 only", egress: "allowList" },
  { from: "egress-proxy", to: "metadata 100.100.100.200", port: 80, expect: "deny", why: "an allowed name resolving to the metadata service", egress: "allowList" },
  { from: "egress-proxy", to: "private 10.1.2.3", port: 443, expect: "deny", why: "VPC / RFC 1918", egress: "allowList" },
  { from: "egress-proxy", to: "API server", port: 6443, expect: "deny", why: "cluster control plane", egress: "allowList" },
  { from: "egress-proxy", to: "sandbox A", port: 8090, expect: "deny", why: "it never calls a sandbox", egress: "allowList" },
  { from: "egress-proxy", to: "redis", port: 6379, expect: "deny", why: "session store", egress: "allowList" },
  { from: "internet client", to: "sandbox A", port: 8090, expect: "deny", why: "no ingress from outside" },
  { from: "pod in unrelated ns team-x", to: "sandbox A", port: 8090, expect: "deny", why: "only the manager" },
  // sandbox manager
  { from: "sandbox-manager", to: "API server", port: 6443, expect: "allow", why: "creates sandbox pods" },
  { from: "sandbox-manager", to: "sandbox A", port: 8090, expect: "allow", why: "proxies tool calls" },
  { from: "sandbox-manager", to: "redis", port: 6379, expect: "allow", why: "pool state" },
  { from: "sandbox-manager", to: "public web", port: 443, expect: "deny", why: "no internet" },
  { from: "sandbox-manager", to: "agent A", port: 8081, expect: "deny", why: "the manager never calls agents" },
  { from: "pod in unrelated ns team-x", to: "sandbox-manager", port: 8000, expect: "deny", why: "only agents" },
  // Redis
  { from: "redis", to: "public web", port: 443, expect: "deny", why: "Redis has no egress", needs: "in-cluster redis" },
  { from: "redis", to: "agent A", port: 8081, expect: "deny", why: "Redis has no egress", needs: "in-cluster redis" },
  { from: "pod in unrelated ns team-x", to: "redis", port: 6379, expect: "deny", why: "only agents and the manager", needs: "in-cluster redis" },
  // the stand-in model (scripted answers in place of the model API)
  { from: "agent A", to: "stand-in-model", via: "service", port: 8080, expect: "allow", why: "the agents' model", needs: "stand-in model" },
  { from: "agent B", to: "stand-in-model", port: 8080, expect: "allow", why: "the agents' model", needs: "stand-in model" },
  { from: "sandbox A", to: "stand-in-model", port: 8080, expect: "deny", why: "untrusted code never reaches the agents' model", needs: "stand-in model" },
  { from: "sandbox A", to: "stand-in-model", via: "service", port: 8080, expect: "deny", why: "nor through its Service", needs: "stand-in model" },
  { from: "sandbox-manager", to: "stand-in-model", port: 8080, expect: "deny", why: "only agents", needs: "stand-in model" },
  { from: "caller pod (ns frontend)", to: "stand-in-model", via: "service", port: 8080, expect: "deny", why: "callers reach agents, not their model", needs: "stand-in model" },
  { from: "pod in unrelated ns team-x", to: "stand-in-model", port: 8080, expect: "deny", why: "only agents", needs: "stand-in model" },
  { from: "stand-in-model", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS (namespace-wide rule)", needs: "stand-in model" },
  { from: "stand-in-model", to: "public web", port: 443, expect: "deny", why: "it reaches nothing", needs: "stand-in model" },
  { from: "stand-in-model", to: "model API (public)", port: 443, expect: "deny", why: "it reaches nothing", needs: "stand-in model" },
  { from: "stand-in-model", to: "metadata 100.100.100.200", port: 80, expect: "deny", why: "it reaches nothing", needs: "stand-in model" },
  { from: "stand-in-model", to: "agent A", port: 8081, expect: "deny", why: "it answers agents, never calls them", needs: "stand-in model" },
  { from: "stand-in-model", to: "sandbox-manager", port: 8000, expect: "deny", why: "it reaches nothing", needs: "stand-in model" },
  { from: "stand-in-model", to: "sandbox A", port: 80, expect: "deny", why: "it reaches nothing", needs: "stand-in model" },
  { from: "stand-in-model", to: "redis", port: 6379, expect: "deny", why: "it reaches nothing", needs: "stand-in model" },
  { from: "stand-in-model", to: "API server", port: 6443, expect: "deny", why: "it reaches nothing", needs: "stand-in model" },
  // users' agents: an AgentApp's task worker, a 2.x agent and its workspace pods
  { from: "task worker", to: "redis", port: 6379, expect: "allow", why: "Redis is the tasks' broker", needs: "users' agents" },
  { from: "task worker", to: "model API (public)", port: 443, expect: "allow", why: "tasks call the model as the app does", needs: "users' agents" },
  { from: "task worker", to: "sandbox-manager", port: 8000, expect: "allow", why: "tasks lease sandboxes as the app does", needs: "users' agents" },
  { from: "task worker", to: "metadata 100.100.100.200", port: 80, expect: "deny", why: "node RAM credentials", needs: "users' agents" },
  { from: "task worker", to: "API server", port: 6443, expect: "deny", why: "an AgentApp's worker has no business with the API server", needs: "users' agents" },
  { from: "caller pod (ns frontend)", to: "task worker", port: 8080, expect: "deny", why: "its port is for the kubelet's probes; callers submit tasks through the agent's gateway", needs: "users' agents" },
  { from: "sandbox A", to: "task worker", port: 8080, expect: "deny", why: "untrusted code never reaches an agent's pods", needs: "users' agents" },
  { from: "2.x agent", to: "API server", port: 6443, expect: "allow", why: "creates its workspace pods and execs into them", needs: "users' agents" },
  { from: "2.x agent", to: "redis", port: 6379, expect: "allow", why: "RedisStorage and RedisMessageBus", needs: "users' agents" },
  { from: "2.x agent", to: "workspace", port: 8080, expect: "deny", why: "it reaches its workspace only through exec on the API server", needs: "users' agents" },
  { from: "2.x agent", to: "metadata 100.100.100.200", port: 80, expect: "deny", why: "node RAM credentials", needs: "users' agents" },
  { from: "workspace", to: "metadata 100.100.100.200", port: 80, expect: "deny", why: "the model's commands run here: node RAM credentials", needs: "users' agents" },
  { from: "workspace", to: "API server", port: 6443, expect: "deny", why: "cluster control plane", needs: "users' agents" },
  { from: "workspace", to: "redis", port: 6379, expect: "deny", why: "the agents' state and message bus", needs: "users' agents" },
  { from: "workspace", to: "2.x agent", port: 8081, expect: "deny", why: "its own agent's gateway", needs: "users' agents" },
  { from: "workspace", to: "task worker", port: 8080, expect: "deny", why: "an agent's pods", needs: "users' agents" },
  { from: "workspace", to: "sandbox-manager", port: 8000, expect: "deny", why: "the manager", needs: "users' agents" },
  { from: "workspace", to: "sandbox A", port: 8090, expect: "deny", why: "sessions are isolated from each other", needs: "users' agents" },
  { from: "workspace", to: "private 10.1.2.3", port: 443, expect: "deny", why: "VPC / RFC 1918", needs: "users' agents" },
  { from: "workspace", to: "public web", port: 443, expect: "allow", why: "pip install, web access, as from a sandbox", needs: "users' agents", egress: "internet" },
  { from: "workspace", to: "public web", port: 443, expect: "deny", why: "as from a sandbox where egress is restricted", needs: "users' agents", egress: "restricted" },
  { from: "workspace", to: "egress-proxy", port: 3128, expect: "allow", why: "HTTP(S)_PROXY, as from a sandbox", needs: "users' agents", egress: "allowList" },
  { from: "workspace", to: "egress-proxy", port: 9301, expect: "deny", why: "the exporter is for the scrapers", needs: "users' agents", egress: "allowList" },
  { from: "2.x agent", to: "egress-proxy", port: 3128, expect: "deny", why: "the proxy is the sandboxes' and workspaces'", needs: "users' agents", egress: "allowList" },
  { from: "sandbox A", to: "workspace", port: 8080, expect: "deny", why: "sandboxes and workspaces are isolated from each other", needs: "users' agents" },
  { from: "pod in unrelated ns team-x", to: "workspace", port: 8080, expect: "deny", why: "no ingress at all", needs: "users' agents" },
  { from: "sandbox-manager", to: "workspace", port: 8090, expect: "deny", why: "the sandboxes' ingress rule leaves workspaces out", needs: "users' agents" },
  { from: "sandbox-manager", to: "sandbox A", port: 8090, expect: "allow", why: "still reaches the sandboxes beside the workspaces", needs: "users' agents" },
];

/** A row as a test name: who, where, the expected verdict and why. */
export function flowTitle(f: Flow): string {
  const target = f.via ? `${f.via === "lb" ? "LB Service" : "Service"} :${f.port}` : `${f.port}/${f.protocol ?? "TCP"}`;
  return `${f.from} → ${f.to} ${target}: ${f.expect.toUpperCase()} (${f.why})`;
}

// ---------------------------------------------------------------------------------------------
// Judging

export interface ServiceSpec {
  readonly selector?: Record<string, string>;
  readonly ports?: readonly { port: number; targetPort?: number | string }[];
}

/** The pod port a Service port sends to, checking the Service really selects `to`. */
export function targetPodPort(world: World, service: string, port: number, to: Endpoint): number {
  const svc = world.objects.find((o) => o.kind === "Service" && o.metadata?.name === service);
  const spec = svc?.["spec"] as ServiceSpec | undefined;
  const entry = (spec?.ports ?? []).find((p) => p.port === port);
  if (svc === undefined || entry === undefined) throw new Error(`no Service ${service} with port ${port} was rendered`);
  // A Service without a selector gets no endpoints of its own: it must name the pod's labels.
  const selector = spec?.selector ?? {};
  const selects = to.kind === "pod" && svc.metadata?.namespace === to.namespace && Object.keys(selector).length > 0 && selectorMatches({ matchLabels: selector }, to.labels);
  if (!selects || to.kind !== "pod") throw new Error(`Service ${service} does not select ${to.name}`);
  const target = entry.targetPort ?? port;
  if (typeof target === "number") return target;
  const named = to.ports?.find((p) => p.name === target);
  if (named === undefined) throw new Error(`Service ${service} targets port "${target}", which ${to.name} does not declare`);
  return named.containerPort;
}

export function endpoint(world: World, key: string): Endpoint {
  const found = world.endpoints.get(key);
  if (found === undefined) throw new Error(`no endpoint "${key}" (have: ${[...world.endpoints.keys()].join(", ")})`);
  return found;
}

export function explain(v: Verdict): string {
  const side = (name: string, d: Verdict["egress"]) =>
    `${name} ${d.isolated ? (d.allowed ? `allowed by ${d.allowedBy.join(", ")}` : "isolated, no rule matches") : "not isolated"}`;
  return `${side("egress", v.egress)}; ${side("ingress", v.ingress)}`;
}

/** The connection a row stands for, at the pod port NetworkPolicies see (after a Service's DNAT). */
export function connectionOf(world: World, f: Flow): Connection {
  const from = endpoint(world, f.from);
  const to = endpoint(world, f.to);
  const serviceName = f.via === "lb" ? `${to.name}-lb` : to.name;
  const port = f.via ? targetPodPort(world, serviceName, f.port, to) : f.port;
  return { from, to, port, protocol: f.protocol ?? "TCP" };
}

/** The verdict under both ipBlock readings, as `allow`/`deny` with the reason for each. */
export function judge(world: World, f: Flow): { strict: string; podIps: string } {
  const conn = connectionOf(world, f);
  const port = conn.port;
  const show = (v: Verdict) => `${v.allowed ? "allow" : "deny"} [port ${port}; ${explain(v)}]`;
  return {
    strict: show(evaluate(world.cluster, conn)),
    podIps: show(evaluate(world.cluster, conn, { ipBlockMatchesPods: true })),
  };
}
