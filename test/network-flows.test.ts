/**
 * Flow table: the NetworkPolicies that AgentScopeWorkloads really renders (under mocks, for the
 * local, dev and prod fixtures), judged by the evaluator in support/netpol.ts, for the flows the
 * design needs and the ones it must refuse.
 *
 * Who is who, from the components: callers are pods of any namespace but the stack's two, plus a
 * load balancer's allow-listed CIDRs; they reach an agent through its Service port 8080, whose
 * target is the path-filtering gateway (8081), never the AgentApp's own 8080 with its
 * unauthenticated /admin routes. Agents call the sandbox manager (8000), Redis, the model API
 * (public internet, 443) and sandboxes (80); the manager calls the API server and sandboxes.
 * Sandboxes run untrusted code: they reach DNS and the public internet, nothing private.
 *
 * Every row is judged twice, because whether ipBlock rules also match pod IPs is left to the
 * implementation (Calico: yes, Cilium: no; Terway enforces through either); a row passes only if
 * both readings give the expected answer.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { layoutZoneSubnets } from "../components/network-layout";
import type { K8sObject } from "./support/mocks";
import { MOCK_API_SERVER } from "./support/mocks";
import type { Cluster, Endpoint, Labels, PodEndpoint, Protocol, Verdict } from "./support/netpol";
import { evaluate, policiesFor, selectorMatches } from "./support/netpol";
import { renderedCluster, renderedSandboxPod, renderedWorkloadPods } from "./support/netpol-cluster";
import type { Env } from "./support/workloads-fixtures";
import { runWorkloads, workloadsArgs } from "./support/workloads-fixtures";

const ENVS = ["local", "dev", "prod"] as const;

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
  "model API (public)": "39.96.10.20",
  "public web": "93.184.216.34",
  "SLB health check": "100.100.0.7",
  "metadata 100.100.100.200": "100.100.100.200",
  "metadata 169.254.169.254": "169.254.169.254",
  "private 10.1.2.3": "10.1.2.3",
  "private 172.16.5.5": "172.16.5.5",
  "private 192.168.1.1": "192.168.1.1",
};

/** A client the fixture's load balancer admits (dev: internal LB for the VPC; prod: public LB for 203.0.113.0/24). */
const LB_CALLER: Partial<Record<Env, string>> = { dev: "10.0.250.9", prod: "203.0.113.10" };

/** The API server as the manager's egress sees it, after the `kubernetes` Service's DNAT. */
function apiServerIp(env: Env): string {
  const given = workloadsArgs(env).network?.apiServer?.cidrs[0];
  return typeof given === "string" ? given.replace(/\/32$/, "") : MOCK_API_SERVER.address;
}

/** Managed Redis (prod): an address inside the block the fixture gives the NetworkPolicies. */
const MANAGED_REDIS_IP = "10.0.64.10";

/** Pod addresses: Terway takes them from the zone's pod vSwitch; kind from 10.244.0.0/16. */
function podIps(env: Env): () => string {
  const cidr = env === "local" ? "10.244.0.0/16" : layoutZoneSubnets("10.0.0.0/16", ["cn-hangzhou-i"])[0]!.podCidr;
  const [a, b, c] = cidr.split(".").map(Number);
  let host = 10;
  return () => `${a}.${b}.${c}.${host++}`;
}

function pod(name: string, namespace: string, labels: Labels, ip: string, ports: PodEndpoint["ports"] = []): PodEndpoint {
  return { kind: "pod", name, namespace, labels, ip, ports };
}

interface World {
  readonly cluster: Cluster;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  readonly objects: readonly K8sObject[];
}

function buildWorld(env: Env, objects: readonly K8sObject[]): World {
  const nextIp = podIps(env);
  const endpoints = new Map<string, Endpoint>();
  for (const [name, p] of renderedWorkloadPods(objects, () => nextIp())) endpoints.set(name, p);
  endpoints.set("sandbox A", renderedSandboxPod(objects, "sandbox-a7k2m9x4q1w8e5r3t6y0u2i4o", nextIp()));
  endpoints.set("sandbox B", renderedSandboxPod(objects, "sandbox-b3n8v5c2x7z1l4k9j6h0g2f5d", nextIp()));
  endpoints.set("kube-dns", pod("coredns", "kube-system", { "k8s-app": "kube-dns" }, nextIp(), [
    { name: "dns", containerPort: 53, protocol: "UDP" },
    { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
  ]));
  endpoints.set("caller pod (ns frontend)", pod("web", "frontend", { app: "web" }, nextIp()));
  endpoints.set("pod in unrelated ns team-x", pod("tool", "team-x", { app: "tool" }, nextIp()));
  for (const [name, ip] of Object.entries(EXTERNAL)) endpoints.set(name, { kind: "external", name, ip });
  endpoints.set("API server", { kind: "external", name: "API server", ip: apiServerIp(env) });
  const lb = LB_CALLER[env];
  if (lb !== undefined) endpoints.set("LB caller", { kind: "external", name: "LB caller", ip: lb });
  if (!endpoints.has("redis")) endpoints.set("redis", { kind: "external", name: "managed Redis", ip: MANAGED_REDIS_IP });
  return { cluster: renderedCluster(objects, OTHER_NAMESPACES), endpoints, objects };
}

// ---------------------------------------------------------------------------------------------
// The table. `service` names a rendered Service: `port` is then its port, judged at the pod port
// it targets (NetworkPolicies see traffic after kube-proxy's DNAT).

interface Flow {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol?: Protocol;
  readonly service?: string;
  readonly expect: "allow" | "deny";
  readonly why: string;
  /** Environments the row applies to (default all). */
  readonly envs?: readonly Env[];
}

const IN_CLUSTER_REDIS: readonly Env[] = ["local", "dev"];
const WITH_LB: readonly Env[] = ["dev", "prod"];

const FLOWS: readonly Flow[] = [
  // DNS, for every workload
  { from: "agent-friday", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS" },
  { from: "agent-scout", to: "kube-dns", port: 53, protocol: "TCP", expect: "allow", why: "DNS over TCP" },
  { from: "sandbox-manager", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS" },
  { from: "sandbox A", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS" },
  { from: "redis", to: "kube-dns", port: 53, protocol: "UDP", expect: "allow", why: "DNS (namespace-wide rule)", envs: IN_CLUSTER_REDIS },
  // callers → agents
  { from: "caller pod (ns frontend)", to: "agent-friday", service: "agent-friday", port: 8080, expect: "allow", why: "callers use the Service, which targets the gateway" },
  { from: "caller pod (ns frontend)", to: "agent-friday", port: 8080, expect: "deny", why: "AgentApp port with unauthenticated /admin" },
  { from: "pod in unrelated ns team-x", to: "agent-scout", port: 8080, expect: "deny", why: "admin port from another namespace" },
  { from: "LB caller", to: "agent-friday", service: "agent-friday-lb", port: 8080, expect: "allow", why: "allow-listed load balancer client", envs: WITH_LB },
  { from: "SLB health check", to: "agent-friday", port: 8081, expect: "allow", why: "ACK's SLB probes ENI/ACS backends from 100.64.0.0/10", envs: WITH_LB },
  { from: "SLB health check", to: "agent-friday", port: 8080, expect: "deny", why: "probes reach the gateway, not the AgentApp", envs: WITH_LB },
  { from: "internet client", to: "agent-friday", port: 8081, expect: "deny", why: "not on the allow-list" },
  { from: "agent-friday", to: "agent-scout", port: 8081, expect: "deny", why: "agents never reach each other" },
  { from: "agent-scout", to: "agent-friday", service: "agent-friday", port: 8080, expect: "deny", why: "agents never reach each other" },
  // agents → their dependencies
  { from: "agent-friday", to: "sandbox-manager", service: "sandbox-manager", port: 8000, expect: "allow", why: "sandbox leases" },
  { from: "agent-scout", to: "sandbox-manager", port: 8000, expect: "allow", why: "sandbox leases" },
  { from: "agent-friday", to: "redis", port: 6379, expect: "allow", why: "sessions" },
  { from: "agent-friday", to: "model API (public)", port: 443, expect: "allow", why: "model calls" },
  { from: "agent-friday", to: "public web", port: 80, expect: "deny", why: "model egress is 443 only" },
  { from: "agent-friday", to: "metadata 100.100.100.200", port: 80, expect: "deny", why: "node RAM credentials" },
  { from: "agent-friday", to: "API server", port: 6443, expect: "deny", why: "agents have no business with the API server" },
  { from: "agent-friday", to: "sandbox A", port: 80, expect: "allow", why: "the component's design: sandboxes are reached by the manager and agents" },
  // sandboxes: untrusted code
  { from: "sandbox A", to: "metadata 100.100.100.200", port: 80, expect: "deny", why: "Alibaba Cloud metadata: node RAM credentials" },
  { from: "sandbox A", to: "metadata 169.254.169.254", port: 80, expect: "deny", why: "link-local metadata" },
  { from: "sandbox A", to: "private 10.1.2.3", port: 443, expect: "deny", why: "VPC / RFC 1918" },
  { from: "sandbox A", to: "private 172.16.5.5", port: 443, expect: "deny", why: "RFC 1918" },
  { from: "sandbox A", to: "private 192.168.1.1", port: 443, expect: "deny", why: "RFC 1918 / Service CIDR" },
  { from: "sandbox A", to: "redis", port: 6379, expect: "deny", why: "session store" },
  { from: "sandbox A", to: "agent-friday", port: 8081, expect: "deny", why: "agent gateway" },
  { from: "sandbox A", to: "agent-friday", port: 8080, expect: "deny", why: "agent admin port" },
  { from: "sandbox A", to: "sandbox-manager", port: 8000, expect: "deny", why: "the manager is called, never calls back" },
  { from: "sandbox A", to: "API server", port: 6443, expect: "deny", why: "cluster control plane" },
  { from: "sandbox A", to: "sandbox B", port: 80, expect: "deny", why: "sessions are isolated from each other" },
  { from: "sandbox A", to: "public web", port: 443, expect: "allow", why: "pip install, web access" },
  { from: "internet client", to: "sandbox A", port: 80, expect: "deny", why: "no ingress from outside" },
  { from: "pod in unrelated ns team-x", to: "sandbox A", port: 80, expect: "deny", why: "only the manager and agents" },
  // sandbox manager
  { from: "sandbox-manager", to: "API server", port: 6443, expect: "allow", why: "creates sandbox pods" },
  { from: "sandbox-manager", to: "sandbox A", port: 80, expect: "allow", why: "proxies tool calls" },
  { from: "sandbox-manager", to: "redis", port: 6379, expect: "allow", why: "pool state" },
  { from: "sandbox-manager", to: "public web", port: 443, expect: "deny", why: "no internet" },
  { from: "sandbox-manager", to: "agent-friday", port: 8081, expect: "deny", why: "the manager never calls agents" },
  { from: "pod in unrelated ns team-x", to: "sandbox-manager", port: 8000, expect: "deny", why: "only agents" },
  // Redis
  { from: "redis", to: "public web", port: 443, expect: "deny", why: "Redis has no egress", envs: IN_CLUSTER_REDIS },
  { from: "redis", to: "agent-friday", port: 8081, expect: "deny", why: "Redis has no egress", envs: IN_CLUSTER_REDIS },
  { from: "pod in unrelated ns team-x", to: "redis", port: 6379, expect: "deny", why: "only agents and the manager", envs: IN_CLUSTER_REDIS },
];

function flowTitle(f: Flow): string {
  const target = f.service ? `Service ${f.service}:${f.port}` : `${f.port}/${f.protocol ?? "TCP"}`;
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
  const port = f.service ? targetPodPort(world, f.service, f.port, to) : f.port;
  const conn = { from, to, port, protocol: f.protocol ?? "TCP" };
  const show = (v: Verdict) => `${v.allowed ? "allow" : "deny"} [port ${port}; ${explain(v)}]`;
  return {
    strict: show(evaluate(world.cluster, conn)),
    podIps: show(evaluate(world.cluster, conn, { ipBlockMatchesPods: true })),
  };
}

// ---------------------------------------------------------------------------------------------

const worlds = new Map<Env, World>();
beforeAll(async () => {
  for (const env of ENVS) worlds.set(env, buildWorld(env, (await runWorkloads(workloadsArgs(env))).k8sObjects()));
});
const world = (env: Env): World => {
  const w = worlds.get(env);
  if (w === undefined) throw new Error(`no rendered world for ${env}`);
  return w;
};

describe.each(ENVS)("network flows (%s)", (env) => {
  const rows = FLOWS.filter((f) => f.envs === undefined || f.envs.includes(env)).map((f) => ({ ...f, title: flowTitle(f) }));

  it("the table has at least 20 flows, allowed and denied", () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
    expect(rows.some((r) => r.expect === "allow")).toBe(true);
    expect(rows.some((r) => r.expect === "deny")).toBe(true);
  });

  it.each(rows.map((r) => [r.title, r] as const))("%s", (_title, row) => {
    const verdict = judge(world(env), row);
    // Compare only the leading word; the bracket explains a failure.
    expect({ ipBlockIgnoresPods: verdict.strict, ipBlockMatchesPods: verdict.podIps }).toEqual({
      ipBlockIgnoresPods: expect.stringMatching(new RegExp(`^${row.expect} `)) as unknown,
      ipBlockMatchesPods: expect.stringMatching(new RegExp(`^${row.expect} `)) as unknown,
    });
  });

  it("every pod the stack runs, sandboxes included, is isolated in both directions (default deny)", () => {
    const w = world(env);
    const ours = [...w.endpoints.values()].filter(
      (e): e is PodEndpoint => e.kind === "pod" && e.namespace in w.cluster.namespaces && !(e.namespace in OTHER_NAMESPACES),
    );
    expect(ours.length).toBeGreaterThanOrEqual(5);
    for (const p of ours) {
      expect(policiesFor(w.cluster, p, "Ingress").length, `${p.name} ingress`).toBeGreaterThan(0);
      expect(policiesFor(w.cluster, p, "Egress").length, `${p.name} egress`).toBeGreaterThan(0);
    }
  });
});

// NetworkPolicies reach an ACS pod only through its network-policy agent, which is off by default:
// without the annotation every verdict above would be moot for that pod.
const ACS_LABEL = "alibabacloud.com/acs";
const POLICY_AGENT = "alibabacloud.com/enable-network-policy-agent";

function acsPodsWithoutPolicyAgent(objects: readonly K8sObject[]): string[] {
  const templates = objects
    .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
    .map((o) => ({ name: `${o.kind}/${o.metadata?.name ?? "?"}`, meta: templateMeta(o) }));
  const settings = objects.find((o) => o.kind === "ConfigMap" && typeof (o["data"] as Record<string, unknown> | undefined)?.["sandbox-pods.json"] === "string");
  const sandbox = settings === undefined ? [] : [{ name: "sandbox pods", meta: JSON.parse((settings["data"] as Record<string, string>)["sandbox-pods.json"]!) as PodMeta }];
  return [...templates, ...sandbox]
    .filter((t) => t.meta.labels?.[ACS_LABEL] === "true" && t.meta.annotations?.[POLICY_AGENT] !== "true")
    .map((t) => t.name);
}

interface PodMeta {
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

function templateMeta(o: K8sObject): PodMeta {
  const spec = o["spec"] as { template?: { metadata?: PodMeta } } | undefined;
  return spec?.template?.metadata ?? {};
}

describe.each(["dev", "prod"] as const)("policy enforcement on ACS pods (%s)", (env) => {
  it("every pod placed on ACS, sandboxes included, turns on the network-policy agent", () => {
    const objects = world(env).objects;
    const sandbox = world(env).endpoints.get("sandbox A");
    expect(sandbox?.kind === "pod" ? sandbox.labels[ACS_LABEL] : undefined).toBe("true");
    expect(acsPodsWithoutPolicyAgent(objects)).toEqual([]);
  });
});
