/**
 * Flow table: the NetworkPolicies the stack really renders, judged by the evaluator in
 * support/netpol.ts, for the flows the design needs and the ones it must refuse. Two sources:
 * the AgentScopeWorkloads component with the local/dev/prod fixtures (two agents, LBs, managed
 * Redis), and the whole program index.ts with each shipped Pulumi.<stack>.yaml.
 *
 * Who is who, from the components: callers are pods of any namespace but the stack's two, plus a
 * load balancer's allow-listed CIDRs; they reach an agent through its Service port 8080, whose
 * target is the path-filtering gateway (8081), never the AgentApp's own 8080 with its
 * unauthenticated /admin routes. Agents call the sandbox manager (8000), Redis and the model API
 * (public internet, 443), never a sandbox; the manager calls the API server and sandboxes (8090).
 * Sandboxes run untrusted code: they reach DNS and the public internet, nothing private. Where the
 * stand-in model runs (local without a model API key), agents reach it on 8080 and it reaches
 * nothing but DNS. Where users' agents run, an AgentApp's task worker egresses as agents do and
 * takes no traffic but the kubelet's; a 2.x agent alone reaches the API server (its workspace pods,
 * by exec), and those pods, in the sandbox namespace, are as cut off as sandboxes.
 *
 * Every row is judged twice, because whether ipBlock rules also match pod IPs is left to the
 * implementation (Calico: yes, Cilium: no; Terway enforces through either); a row passes only if
 * both readings give the expected answer.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { subnet } from "../components/shared/cidr";
import { parseStackConfig } from "../config/load";
import { DOUBLE_API_SERVER_INTRANET, DOUBLE_REDIS_PRIVATE_IP } from "./support/canned";
import type { K8sObject } from "./support/mocks";
import { MOCK_API_SERVER } from "./support/mocks";
import type { Flow, World } from "./support/flow-table";
import { FLOWS, flowTitle, judge } from "./support/flow-table";
import type { Endpoint, Labels, PodEndpoint } from "./support/netpol";
import { policiesFor } from "./support/netpol";
import { programObjects, renderedCluster, renderedSandboxPod, renderedWorkloadPods, renderedWorkspacePod } from "./support/netpol-cluster";
import { runProgram } from "./support/program";
import type { ShippedStack } from "./support/stack-config";
import { PROJECT, shippedStackConfig } from "./support/stack-config";
import type { AgentSpec } from "../components/workload/agent-runtime";
import type { AgentScopeWorkloadsArgs } from "../components/workload/workloads";
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
  "CGNAT 100.100.0.7": "100.100.0.7",
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
  /** Users' agents run beside ours: an AgentApp with a task worker, a 2.x agent with workspace pods. */
  readonly userAgents: boolean;
  /** sandbox.egress.mode. */
  readonly sandboxEgress: "none" | "allowList" | "internet";
  readonly render: () => Promise<K8sObject[]>;
}

const KIND_POD_CIDR = "10.244.0.0/16";
const FIXTURE_POD_CIDR = "10.0.0.0/19";
/** Managed Redis of the prod fixture: an address inside the block it gives the NetworkPolicies. */
const FIXTURE_MANAGED_REDIS_IP = "10.0.64.10";

/** The users' agents of a setting: `seed` (an AgentApp with tasks) and `helper` (2.x, workspaces as pods), both prebuilt. */
const USER_AGENTS = { taskWorker: "agent-seed-tasks", agentscope2: "agent-helper", workspaceSettings: "agent-helper-workspaces" } as const;

function withUserAgents(args: AgentScopeWorkloadsArgs): AgentScopeWorkloadsArgs {
  const common: Omit<AgentSpec, "name"> = { model: { provider: "openai", name: "qwen-plus", baseUrl: "https://models.example.com/v1" }, replicas: { min: 1, max: 2 }, cpu: 1, memoryGiB: 2, sandboxTypes: ["base"] };
  const workspace = `registry.example.com/agentscope/agentscope2-workspace@sha256:${"7".repeat(64)}`;
  return {
    ...args,
    images: args.images.build
      ? { ...args.images, build: { ...args.images.build, workspaceRepository: "localhost:5000/agentscope/agentscope2-workspace" } }
      : { ...args.images, workspace },
    agents: [
      ...args.agents,
      { ...common, name: "seed", source: { kind: "image", image: `registry.example.com/team/seed@sha256:${"5".repeat(64)}`, framework: "agentscope-runtime" }, tasks: {} },
      { ...common, name: "helper", source: { kind: "image", image: `registry.example.com/team/helper@sha256:${"6".repeat(64)}`, framework: "agentscope2" }, workspaces: { kind: "pods" } },
    ],
  };
}

/** The fixture with sandbox egress by name: the egress proxy built and pushed like the other images. */
function withEgressAllowList(args: AgentScopeWorkloadsArgs): AgentScopeWorkloadsArgs {
  return {
    ...args,
    images: args.images.build
      ? { ...args.images, build: { ...args.images.build, egressProxyRepository: "localhost:5000/agentscope/egress-proxy" } }
      : { ...args.images, egressProxy: `registry.example.com/agentscope/egress-proxy@sha256:${"8".repeat(64)}` },
    sandbox: { ...args.sandbox, egress: { mode: "allowList", allow: ["pypi.org", "files.pythonhosted.org"] } },
  };
}

type Variant = "plain" | "stand-in model" | "users' agents" | "egress allowList" | "users' agents, egress allowList";
const VARIANT_TITLES: Record<Exclude<Variant, "plain">, string> = {
  "stand-in model": "the stand-in model",
  "users' agents": "users' agents",
  "egress allowList": "sandbox egress allowList",
  "users' agents, egress allowList": "users' agents and sandbox egress allowList",
};

function fixtureSetting(env: Env, variant: Variant = "plain"): Setting {
  const fixture = variant.includes("egress allowList") ? withEgressAllowList(workloadsArgs(env)) : workloadsArgs(env);
  const standInModel = variant === "stand-in model";
  const userAgents = variant.startsWith("users' agents");
  const args: AgentScopeWorkloadsArgs = userAgents
    ? withUserAgents(fixture)
    : standInModel && fixture.images.build
      ? { ...fixture, standInModel: true, images: { ...fixture.images, build: { ...fixture.images.build, standInModelRepository: "localhost:5000/agentscope/stand-in-model" } } }
      : fixture;
  const exposure = args.exposure ?? { type: "cluster" };
  const given = args.network?.apiServer?.cidrs[0];
  const lbAllowedCidr = exposure.type === "cluster" ? undefined : exposure.allowedCidrs?.[0];
  return {
    title: `AgentScopeWorkloads fixture ${env}${variant === "plain" ? "" : ` with ${VARIANT_TITLES[variant]}`}`,
    agents: args.agents.map((a) => `agent-${a.name}`),
    podCidr: env === "local" ? KIND_POD_CIDR : FIXTURE_POD_CIDR,
    apiServerIp: typeof given === "string" ? given.replace(/\/32$/, "") : MOCK_API_SERVER.address,
    inClusterRedis: args.redis.mode === "in-cluster",
    ...(args.redis.mode === "external" ? { managedRedisIp: FIXTURE_MANAGED_REDIS_IP } : {}),
    ...(lbAllowedCidr !== undefined ? { lbAllowedCidr } : {}),
    acs: args.acs?.enabled ?? false,
    standInModel: args.standInModel ?? false,
    userAgents,
    sandboxEgress: args.sandbox.egress?.mode ?? "internet",
    render: async () => (await runWorkloads(args)).k8sObjects(),
  };
}

function programSetting(stack: ShippedStack, withSecrets = true): Setting {
  const values = shippedStackConfig(stack, withSecrets);
  const c = parseStackConfig({ values, project: PROJECT, stack });
  const cloud = c.platform === "alicloud";
  const slice = { endpoints: [{ addresses: [MOCK_API_SERVER.address] }] };
  const vpc = c.network?.vpcCidr;
  const managedRedis = cloud && c.redis.mode === "managed";
  const lbAllowedCidr = c.exposure.type === "cluster" ? undefined : c.exposure.allowedCidrs[0];
  return {
    title: `index.ts stack ${stack}${withSecrets ? "" : " without secrets"}`,
    agents: c.agents.map((a) => `agent-${a.name}`),
    // Terway gives pods addresses from the first zone's pod vSwitch: the VPC's first /(p+3).
    podCidr: cloud && vpc !== undefined ? subnet(vpc, Number(vpc.split("/")[1]) + 3, 0) : KIND_POD_CIDR,
    apiServerIp: cloud ? new URL(DOUBLE_API_SERVER_INTRANET).hostname : (slice.endpoints[0]?.addresses[0] ?? ""),
    inClusterRedis: !managedRedis,
    ...(managedRedis ? { managedRedisIp: DOUBLE_REDIS_PRIVATE_IP } : {}),
    ...(lbAllowedCidr !== undefined ? { lbAllowedCidr } : {}),
    acs: c.acs.enabled,
    standInModel: c.standInModel,
    userAgents: false,
    sandboxEgress: c.sandbox.egress.mode,
    render: async () => programObjects((await runProgram(values, stack)).resources),
  };
}

const SETTINGS: readonly Setting[] = [
  ...(["local", "dev", "prod"] as const).map((env) => fixtureSetting(env)),
  fixtureSetting("local", "stand-in model"),
  fixtureSetting("local", "users' agents"),
  fixtureSetting("prod", "users' agents"),
  fixtureSetting("local", "egress allowList"),
  fixtureSetting("prod", "users' agents, egress allowList"),
  ...(["local", "dev", "prod"] as const).map((stack) => programSetting(stack)),
  // No model API key: the stand-in model replaces the model.
  programSetting("local", false),
];

// ---------------------------------------------------------------------------------------------
// Endpoints of one rendering

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
  if (s.userAgents) {
    endpoints.set("task worker", required(pods, USER_AGENTS.taskWorker));
    endpoints.set("2.x agent", required(pods, USER_AGENTS.agentscope2));
    endpoints.set("workspace", renderedWorkspacePod(objects, USER_AGENTS.workspaceSettings, { name: "agentscope-ws-4f2a9c", workspaceId: "4f2a9c", ip: nextIp() }));
  }
  return { cluster: renderedCluster(objects, OTHER_NAMESPACES), endpoints, objects };
}


function applies(f: Flow, s: Setting): boolean {
  if (f.egress === "internet" && s.sandboxEgress !== "internet") return false;
  if (f.egress === "restricted" && s.sandboxEgress === "internet") return false;
  if (f.egress === "allowList" && s.sandboxEgress !== "allowList") return false;
  if (f.needs === "in-cluster redis") return s.inClusterRedis;
  if (f.needs === "load balancer") return s.lbAllowedCidr !== undefined;
  if (f.needs === "stand-in model") return s.standInModel;
  if (f.needs === "users' agents") return s.userAgents;
  return true;
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
