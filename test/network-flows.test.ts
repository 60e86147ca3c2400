/**
 * Flow table: the NetworkPolicies the stack really renders, judged by the evaluator in
 * support/netpol.ts, for the flows the design needs and the ones it must refuse. Two sources:
 * the AgentScopeWorkloads component with the local/dev/prod fixtures (two agents, LBs, managed
 * Redis), and the whole program index.ts with each shipped Pulumi.<stack>.yaml.
 *
 * Who is who, from the components: callers are pods of any namespace but the stack's two, plus a
 * load balancer's allow-listed CIDRs; they reach an agent through its Service port 8080, whose
 * target is the path-filtering gateway (8081), never the AgentApp's own 8080 with its
 * unauthenticated /admin routes. Agents call the sandbox manager (8000), Redis, the model API
 * (public internet, 443) and sandboxes (80); the manager calls the API server and sandboxes.
 * Sandboxes run untrusted code: they reach DNS and the public internet, nothing private. Where the
 * stand-in model runs (local without a model API key), agents reach it on 8080 and it reaches
 * nothing but DNS.
 *
 * Every row is judged twice, because whether ipBlock rules also match pod IPs is left to the
 * implementation (Calico: yes, Cilium: no; Terway enforces through either); a row passes only if
 * both readings give the expected answer.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { subnet } from "../components/cidr";
import { parseStackConfig } from "../config/load";
import { cannedState } from "./support/canned";
import type { K8sObject } from "./support/mocks";
import { MOCK_API_SERVER } from "./support/mocks";
import type { Cluster, Endpoint, Labels, PodEndpoint, Protocol, Verdict } from "./support/netpol";
import { evaluate, policiesFor, selectorMatches } from "./support/netpol";
import { programObjects, renderedCluster, renderedSandboxPod, renderedWorkloadPods } from "./support/netpol-cluster";
import { runProgram } from "./support/program";
import type { ShippedStack } from "./support/stack-config";
import { PROJECT, shippedStackConfig } from "./support/stack-config";
import type { AgentScopeWorkloadsArgs } from "../components/workloads";
import type { Env } from "./support/workloads-fixtures";
import { runWorkloads, workloadsArgs } from "./support/workloads-fixtures";

// ---------------------------------------------------------------------------------------------
// The world around the stack: namespaces and endpoints it does not render.

const OTHER_NAMESPACES: Record<string, Labels> = {
  "kube-system": {},
  default: {},
  frontend: { team: "web" },
  "team-x": { team: "x" },
};

const EXTERNAL: Record<string, string> = {
  "internet client": "198.51.100.50",
  "SLB health check": "100.100.0.7",
  "model API (public)": "39.96.10.20",
  "public web": "93.184.216.34",
  "metadata 100.100.100.200": "100.100.100.200",
  "metadata 169.254.169.254": "169.254.169.254",
  "private 10.1.2.3": "10.1.2.3",
  "private 172.16.5.5": "172.16.5.5",
  "private 192.168.1.1": "192.168.1.1",
};

/** What one rendering needs besides its objects; every value comes from config or canned cloud answers. */
interface Setting {
  readonly title: string;
  /** Deployment names of the agents, in config order. */
  readonly agents: readonly string[];
  readonly podCidr: string;
  /** The API server as the manager's egress sees it, after the `kubernetes` Service's DNAT. */
  readonly apiServerIp: string;
  readonly inClusterRedis: boolean;
  /** Address of a managed Redis (when not in-cluster). */
  readonly managedRedisIp?: string;
  /** First CIDR a load balancer admits, when agents have one. */
  readonly lbAllowedCidr?: string;
  readonly acs: boolean;
  /** The stand-in model replaces the agents' model. */
  readonly standInModel: boolean;
  readonly render: () => Promise<K8sObject[]>;
}

const KIND_POD_CIDR = "10.244.0.0/16";
const FIXTURE_POD_CIDR = "10.0.0.0/19";
/** Managed Redis of the prod fixture: an address inside the block it gives the NetworkPolicies. */
const FIXTURE_MANAGED_REDIS_IP = "10.0.64.10";

function fixtureSetting(env: Env, standInModel = false): Setting {
  const fixture = workloadsArgs(env);
  const args: AgentScopeWorkloadsArgs = standInModel && fixture.images.build
    ? { ...fixture, standInModel: true, images: { ...fixture.images, build: { ...fixture.images.build, standInModelRepository: "localhost:5000/agentscope/stand-in-model" } } }
    : fixture;
  const exposure = args.exposure ?? { type: "cluster" };
  const given = args.network?.apiServer?.cidrs[0];
  const lbAllowedCidr = exposure.type === "cluster" ? undefined : exposure.allowedCidrs?.[0];
  return {
    title: `AgentScopeWorkloads fixture ${env}${standInModel ? " with the stand-in model" : ""}`,
    agents: args.agents.map((a) => `agent-${a.name}`),
    podCidr: env === "local" ? KIND_POD_CIDR : FIXTURE_POD_CIDR,
    apiServerIp: typeof given === "string" ? given.replace(/\/32$/, "") : MOCK_API_SERVER.address,
    inClusterRedis: args.redis.mode === "in-cluster",
    ...(args.redis.mode === "external" ? { managedRedisIp: FIXTURE_MANAGED_REDIS_IP } : {}),
    ...(lbAllowedCidr !== undefined ? { lbAllowedCidr } : {}),
    acs: args.acs?.enabled ?? false,
    standInModel: args.standInModel ?? false,
    render: async () => (await runWorkloads(args)).k8sObjects(),
  };
}

function programSetting(stack: ShippedStack, withSecrets = true): Setting {
  const values = shippedStackConfig(stack, withSecrets);
  const c = parseStackConfig({ values, project: PROJECT, stack });
  const cloud = c.platform === "alicloud";
  const cluster = cannedState("alicloud:cs/managedKubernetes:ManagedKubernetes") as { connections: { apiServerIntranet: string } };
  const slice = { endpoints: [{ addresses: [MOCK_API_SERVER.address] }] };
  const redis = cannedState("alicloud:kvstore/instance:Instance") as { privateIp: string };
  const vpc = c.network?.vpcCidr;
  const managedRedis = cloud && c.redis.mode === "managed";
  const lbAllowedCidr = c.exposure.type === "cluster" ? undefined : c.exposure.allowedCidrs[0];
  return {
    title: `index.ts stack ${stack}${withSecrets ? "" : " without secrets"}`,
    agents: c.agents.map((a) => `agent-${a.name}`),
    // Terway gives pods addresses from the first zone's pod vSwitch: the VPC's first /(p+3).
    podCidr: cloud && vpc !== undefined ? subnet(vpc, Number(vpc.split("/")[1]) + 3, 0) : KIND_POD_CIDR,
    apiServerIp: cloud ? new URL(cluster.connections.apiServerIntranet).hostname : (slice.endpoints[0]?.addresses[0] ?? ""),
    inClusterRedis: !managedRedis,
    ...(managedRedis ? { managedRedisIp: redis.privateIp } : {}),
    ...(lbAllowedCidr !== undefined ? { lbAllowedCidr } : {}),
    acs: c.acs.enabled,
    standInModel: c.standInModel,
    render: async () => programObjects((await runProgram(values, stack)).resources),
  };
}

const SETTINGS: readonly Setting[] = [
  ...(["local", "dev", "prod"] as const).map((env) => fixtureSetting(env)),
  fixtureSetting("local", true),
  ...(["local", "dev", "prod"] as const).map((stack) => programSetting(stack)),
  // No model API key: the stand-in model replaces the model.
  programSetting("local", false),
];

// ---------------------------------------------------------------------------------------------
// Endpoints of one rendering

interface World {
  readonly cluster: Cluster;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  readonly objects: readonly K8sObject[];
}

/** Hands out host addresses of `cidr` from .10 on. */
function addresses(cidr: string): () => string {
  let host = 10;
  return () => subnet(cidr, 32, host++).replace(/\/32$/, "");
}

function pod(name: string, namespace: string, labels: Labels, ip: string, ports: PodEndpoint["ports"] = []): PodEndpoint {
  return { kind: "pod", name, namespace, labels, ip, ports };
}

function required(pods: ReadonlyMap<string, PodEndpoint>, name: string | undefined): PodEndpoint {
  const found = name === undefined ? undefined : pods.get(name);
  if (found === undefined) throw new Error(`no workload ${name ?? "(none)"} was rendered (have: ${[...pods.keys()].join(", ")})`);
  return found;
}

function buildWorld(s: Setting, objects: readonly K8sObject[]): World {
  const nextIp = addresses(s.podCidr);
  const pods = renderedWorkloadPods(objects, () => nextIp());
  const endpoints = new Map<string, Endpoint>(pods);
  const agentA = required(pods, s.agents[0]);
  endpoints.set("agent A", agentA);
  // With one agent, "agent B" is its second replica: replicas must not reach each other either.
  endpoints.set("agent B", s.agents[1] !== undefined ? required(pods, s.agents[1]) : { ...agentA, name: `${agentA.name} (2nd replica)`, ip: nextIp() });
  endpoints.set("sandbox A", renderedSandboxPod(objects, "sandbox-a7k2m9x4q1w8e5r3t6y0u2i4o", nextIp()));
  endpoints.set("sandbox B", renderedSandboxPod(objects, "sandbox-b3n8v5c2x7z1l4k9j6h0g2f5d", nextIp()));
  endpoints.set("kube-dns", pod("coredns", "kube-system", { "k8s-app": "kube-dns" }, nextIp(), [
    { name: "dns", containerPort: 53, protocol: "UDP" },
    { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
  ]));
  endpoints.set("caller pod (ns frontend)", pod("web", "frontend", { app: "web" }, nextIp()));
  endpoints.set("pod in unrelated ns team-x", pod("tool", "team-x", { app: "tool" }, nextIp()));
  for (const [name, ip] of Object.entries(EXTERNAL)) endpoints.set(name, { kind: "external", name, ip });
  endpoints.set("API server", { kind: "external", name: "API server", ip: s.apiServerIp });
  if (s.lbAllowedCidr !== undefined) {
    const size = 2 ** (32 - Number(s.lbAllowedCidr.split("/")[1]));
    endpoints.set("LB caller", { kind: "external", name: "LB caller", ip: subnet(s.lbAllowedCidr, 32, size - 7).replace(/\/32$/, "") });
  }
  if (s.managedRedisIp !== undefined) endpoints.set("redis", { kind: "external", name: "managed Redis", ip: s.managedRedisIp });
  return { cluster: renderedCluster(objects, OTHER_NAMESPACES), endpoints, objects };
}

// ---------------------------------------------------------------------------------------------
// The table. With `via`, `port` is a Service port (the Service named after the destination
// workload, or its `-lb` LoadBalancer), judged at the pod port it targets: NetworkPolicies see
// traffic after kube-proxy's DNAT.

interface Flow {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol?: Protocol;
  readonly via?: "service" | "lb";
  readonly expect: "allow" | "deny";
  readonly why: string;
  /** Only where Redis runs in the cluster, where agents have a load balancer, or where the stand-in model runs. */
  readonly needs?: "in-cluster redis" | "load balancer" | "stand-in model";
}

const FLOWS: readonly Flow[] = [
  // DNS, for every workload
  { from: "agent A", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS" },
  { from: "agent B", to: "kube-dns", port: 53, protocol: "TCP", expect: "allow", why: "DNS over TCP" },
  { from: "sandbox-manager", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS" },
  { from: "sandbox A", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS" },
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
  { from: "sandbox A", to: "private 10.1.2.3", port: 443, expect: "deny", why: "VPC / RFC 1918" },
  { from: "sandbox A", to: "private 172.16.5.5", port: 443, expect: "deny", why: "RFC 1918" },
  { from: "sandbox A", to: "private 192.168.1.1", port: 443, expect: "deny", why: "RFC 1918 / Service CIDR" },
  { from: "sandbox A", to: "redis", port: 6379, expect: "deny", why: "session store" },
  { from: "sandbox A", to: "agent A", port: 8081, expect: "deny", why: "agent gateway" },
  { from: "sandbox A", to: "agent A", port: 8080, expect: "deny", why: "agent admin port" },
  { from: "sandbox A", to: "sandbox-manager", port: 8000, expect: "deny", why: "the manager is called, never calls back" },
  { from: "sandbox A", to: "API server", port: 6443, expect: "deny", why: "cluster control plane" },
  { from: "sandbox A", to: "sandbox B", port: 8090, expect: "deny", why: "sessions are isolated from each other" },
  { from: "sandbox A", to: "public web", port: 443, expect: "allow", why: "pip install, web access" },
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
];

function applies(f: Flow, s: Setting): boolean {
  if (f.needs === "in-cluster redis") return s.inClusterRedis;
  if (f.needs === "load balancer") return s.lbAllowedCidr !== undefined;
  if (f.needs === "stand-in model") return s.standInModel;
  return true;
}

function flowTitle(f: Flow): string {
  const target = f.via ? `${f.via === "lb" ? "LB Service" : "Service"} :${f.port}` : `${f.port}/${f.protocol ?? "TCP"}`;
  return `${f.from} → ${f.to} ${target}: ${f.expect.toUpperCase()} (${f.why})`;
}

// ---------------------------------------------------------------------------------------------
// Judging

interface ServiceSpec {
  readonly selector?: Record<string, string>;
  readonly ports?: readonly { port: number; targetPort?: number | string }[];
}

/** The pod port a Service port sends to, checking the Service really selects `to`. */
function targetPodPort(world: World, service: string, port: number, to: Endpoint): number {
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

function endpoint(world: World, key: string): Endpoint {
  const found = world.endpoints.get(key);
  if (found === undefined) throw new Error(`no endpoint "${key}" (have: ${[...world.endpoints.keys()].join(", ")})`);
  return found;
}

function explain(v: Verdict): string {
  const side = (name: string, d: Verdict["egress"]) =>
    `${name} ${d.isolated ? (d.allowed ? `allowed by ${d.allowedBy.join(", ")}` : "isolated, no rule matches") : "not isolated"}`;
  return `${side("egress", v.egress)}; ${side("ingress", v.ingress)}`;
}

/** The verdict under both ipBlock readings, as `allow`/`deny` with the reason for each. */
function judge(world: World, f: Flow): { strict: string; podIps: string } {
  const from = endpoint(world, f.from);
  const to = endpoint(world, f.to);
  const serviceName = f.via === "lb" ? `${to.name}-lb` : to.name;
  const port = f.via ? targetPodPort(world, serviceName, f.port, to) : f.port;
  const conn = { from, to, port, protocol: f.protocol ?? "TCP" };
  const show = (v: Verdict) => `${v.allowed ? "allow" : "deny"} [port ${port}; ${explain(v)}]`;
  return {
    strict: show(evaluate(world.cluster, conn)),
    podIps: show(evaluate(world.cluster, conn, { ipBlockMatchesPods: true })),
  };
}

// NetworkPolicies reach an ACS pod only through its network-policy agent, which is off by default:
// without the annotation every verdict would be moot for that pod.
const ACS_LABEL = "alibabacloud.com/acs";
const POLICY_AGENT = "alibabacloud.com/enable-network-policy-agent";

interface PodMeta {
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

function acsPodsWithoutPolicyAgent(objects: readonly K8sObject[]): string[] {
  const templates = objects
    .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
    .map((o) => ({ name: `${o.kind}/${o.metadata?.name ?? "?"}`, meta: (o["spec"] as { template?: { metadata?: PodMeta } } | undefined)?.template?.metadata ?? {} }));
  const settings = objects.find((o) => o.kind === "ConfigMap" && typeof (o["data"] as Record<string, unknown> | undefined)?.["sandbox-pods.json"] === "string");
  const sandbox = settings === undefined ? [] : [{ name: "sandbox pods", meta: JSON.parse((settings["data"] as Record<string, string>)["sandbox-pods.json"]!) as PodMeta }];
  return [...templates, ...sandbox]
    .filter((t) => t.meta.labels?.[ACS_LABEL] === "true" && t.meta.annotations?.[POLICY_AGENT] !== "true")
    .map((t) => t.name);
}

// ---------------------------------------------------------------------------------------------

const worlds = new Map<string, World>();
beforeAll(async () => {
  for (const s of SETTINGS) worlds.set(s.title, buildWorld(s, await s.render()));
}, 180_000);
const world = (s: Setting): World => {
  const w = worlds.get(s.title);
  if (w === undefined) throw new Error(`no rendered world for ${s.title}`);
  return w;
};

describe.each(SETTINGS.map((s) => [s.title, s] as const))("network flows: %s", (_title, setting) => {
  const rows = FLOWS.filter((f) => applies(f, setting)).map((f) => [flowTitle(f), f] as const);

  it("the table has at least 20 flows, allowed and denied", () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
    expect(rows.some(([, f]) => f.expect === "allow")).toBe(true);
    expect(rows.some(([, f]) => f.expect === "deny")).toBe(true);
  });

  it("renders what the setting says: Redis in the cluster or not, a load balancer or not", () => {
    const w = world(setting);
    expect(w.endpoints.get("redis")?.kind).toBe(setting.inClusterRedis ? "pod" : "external");
    const lbServices = w.objects.filter((o) => o.kind === "Service" && (o["spec"] as { type?: string } | undefined)?.type === "LoadBalancer");
    expect(lbServices.length > 0).toBe(setting.lbAllowedCidr !== undefined);
    expect(w.endpoints.get("stand-in-model")?.kind).toBe(setting.standInModel ? "pod" : undefined);
  });

  it.each(rows)("%s", (_name, row) => {
    const verdict = judge(world(setting), row);
    // Compare only the leading word; the bracket explains a failure.
    expect({ ipBlockIgnoresPods: verdict.strict, ipBlockMatchesPods: verdict.podIps }).toEqual({
      ipBlockIgnoresPods: expect.stringMatching(new RegExp(`^${row.expect} `)) as unknown,
      ipBlockMatchesPods: expect.stringMatching(new RegExp(`^${row.expect} `)) as unknown,
    });
  });

  it("every pod the stack runs, sandboxes included, is isolated in both directions (default deny)", () => {
    const w = world(setting);
    const ours = [...new Set(w.endpoints.values())].filter(
      (e): e is PodEndpoint => e.kind === "pod" && !(e.namespace in OTHER_NAMESPACES),
    );
    expect(ours.length).toBeGreaterThanOrEqual(4);
    for (const p of ours) {
      expect(policiesFor(w.cluster, p, "Ingress").length, `${p.name} ingress`).toBeGreaterThan(0);
      expect(policiesFor(w.cluster, p, "Egress").length, `${p.name} egress`).toBeGreaterThan(0);
    }
  });

  it("every pod placed on ACS, sandboxes included, turns on the network-policy agent", () => {
    const sandbox = world(setting).endpoints.get("sandbox A");
    expect(sandbox?.kind === "pod" && sandbox.labels[ACS_LABEL] === "true").toBe(setting.acs);
    expect(acsPodsWithoutPolicyAgent(world(setting).objects)).toEqual([]);
  });
});
