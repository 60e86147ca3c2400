import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { isIpv4Cidr, parseIpv4Cidr } from "../shared/cidr";
import { ALL_AGENTS_SELECTOR, MANAGED_BY, SANDBOX_APP_NAME, SANDBOX_MANAGER_APP_NAME } from "./labels";
import { SANDBOX_PORT } from "./sandbox-pool";
import { requireDnsLabel } from "./validate";
import type { OtlpEgress } from "./telemetry";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Port = k8s.types.input.networking.v1.NetworkPolicyPort;
type Rule = {
  to?: pulumi.Input<pulumi.Input<Peer>[]>;
  from?: pulumi.Input<pulumi.Input<Peer>[]>;
  ports?: pulumi.Input<pulumi.Input<Port>[]>;
};

/** Addresses sandboxes must never reach, besides the cluster's own ranges passed in as args. */
export const SANDBOX_DENIED_CIDRS = [
  "0.0.0.0/8",
  "10.0.0.0/8", // RFC 1918: VPC, pods, nodes, the intranet API server endpoint
  "100.64.0.0/10", // carrier-grade NAT: Alibaba Cloud service addresses
  "100.100.100.200/32", // Alibaba Cloud metadata service (node RAM credentials); inside 100.64/10, listed for the record
  "127.0.0.0/8",
  "169.254.0.0/16", // link-local: cloud metadata elsewhere, NodeLocal DNSCache
  "172.16.0.0/12",
  "192.168.0.0/16",
  "224.0.0.0/4",
  "240.0.0.0/4",
] as const;

/** Private and special ranges that "the public internet" excludes for agents' model API egress too. */
export const NON_PUBLIC_CIDRS = SANDBOX_DENIED_CIDRS;

/** Egress to one set of CIDR blocks on some ports. */
export interface CidrEgress {
  /** CIDR blocks. */
  cidrs: pulumi.Input<string>[];
  /** TCP ports (default: any port). */
  ports?: number[];
}

/** One agent: how to select its pods, which port callers use, and who may call it. */
export interface AgentPolicySpec {
  /** Agent name (names its policy `agent-<name>`). */
  name: string;
  /** Labels selecting only this agent's pods. */
  podSelector: Record<string, string>;
  /** Port callers reach (the gateway's). */
  callerPort: number;
  /** CIDRs of callers outside the cluster (a LoadBalancer's allow-list; default none). */
  callerCidrs?: string[];
  /**
   * The agent calls the API server (an AgentScope 2.x agent whose workspaces are pods: it creates
   * them and execs into them); its own policy `agent-<name>-api-server` (default false).
   */
  apiServerEgress?: boolean;
  /**
   * The agent's gateway fetches its identity provider's JWKS (agent.jwt.jwksUrl): its own policy
   * `agent-<name>-jwks`, only then (default none).
   */
  jwksEgress?: CidrEgress;
}

/** Default-deny NetworkPolicies for both namespaces, then only the flows the system needs. */
export interface NetworkPoliciesArgs {
  agentsNamespace: pulumi.Input<string>;
  sandboxNamespace: pulumi.Input<string>;
  /** `app.kubernetes.io/part-of` (the stack's name prefix). */
  partOf: string;
  /**
   * Prefix of the policies' names (`<namePrefix>-default-deny`, ...), so that a second set, e.g. for
   * a second SandboxPool in the same namespaces, does not replace the first (default none).
   */
  namePrefix?: string;
  /**
   * Labels that select every agent pod of the namespace (default ALL_AGENTS_SELECTOR). Refused unless
   * they hold `app.kubernetes.io/name: agentscope-agent` (AGENT_APP_NAME), which every agent pod carries.
   */
  allAgentsSelector?: Record<string, string>;
  /** Each agent; its `podSelector` must hold allAgentsSelector (AgentRuntime.podSelector does). */
  agents: AgentPolicySpec[];
  /** Labels selecting the sandbox manager's pods (SandboxPool.managerPodSelector). */
  managerSelector: Record<string, string>;
  /** The manager's port (SANDBOX_MANAGER_PORT). */
  managerPort: number;
  /**
   * Port of sandbox pods: SANDBOX_PORT (8090), the port of our sandbox image, which SandboxPool's
   * extension maps upstream's 80 to. Any other value is refused: it would block manager → sandbox.
   */
  sandboxPort?: number;
  /** Redis: its pods (in-cluster) or its addresses (managed); default none. */
  redis?: { podSelector: Record<string, string>; port: pulumi.Input<number> } | { cidrs: pulumi.Input<pulumi.Input<string>[]>; port: pulumi.Input<number> };
  /**
   * Namespaces whose pods may call agents, by name (default: every namespace except the agents'
   * and the sandboxes', so agents never reach each other and sandboxes never reach an agent).
   */
  callerNamespaces?: string[];
  /** Model API egress from agents (default: the public internet on 443). */
  modelApi?: CidrEgress;
  /**
   * API server endpoints the manager calls (after the `kubernetes` Service's DNAT), e.g. the
   * intranet endpoint `a.b.c.d/32` on 6443. Default: read from the `default/kubernetes` EndpointSlice.
   */
  apiServer?: CidrEgress;
  /** The cluster's Service CIDR: sandboxes never reach it (default none beyond the private ranges). */
  serviceCidr?: string;
  /** More blocks sandboxes must not reach, e.g. the API server's public address (default none). */
  sandboxDeniedCidrs?: string[];
  /**
   * One label every AgentScope 2.x workspace pod of the sandbox namespace carries and no sandbox pod
   * does (default none: the sandbox namespace holds sandboxes only). Workspaces get the sandboxes'
   * egress and no ingress at all (their agent reaches them by exec through the API server); the
   * sandboxes' policy, which admits the manager, leaves them out.
   */
  workspacePodLabel?: { key: string; value: string };
  /**
   * Other pods of the agents namespace that call the API server, e.g. a 2.x agent's workspace claim
   * reaper (WorkspaceClaimReaper): their own policy `<name>-api-server` each, egress to the API
   * server only (default none).
   */
  apiServerClients?: { name: string; podSelector: Record<string, string> }[];
  /**
   * Where sandboxes (and 2.x workspaces) may connect (docs/sandbox-egress.md). `internet` (default):
   * the public internet by address. `restricted`: no egress rule at all, and no DNS for sandbox pods
   * (DNS answers carry data out too); an EgressProxy adds the one way out (egress mode allowList),
   * or nothing does (mode none).
   */
  sandboxEgress?: "internet" | "restricted";
  /** Cluster DNS: namespace and pod labels (default `kube-system`, `k8s-app: kube-dns`). */
  dns?: { namespace: string; podSelector: Record<string, string> };
  /** Telemetry flows (default none: no egress to a trace receiver, metrics ports closed). */
  telemetry?: TelemetryPolicyArgs;
}

/** Egress to the trace receiver and ingress to the metrics ports, each only when given. */
export interface TelemetryPolicyArgs {
  /** Agents and the manager export traces here. */
  otlp?: OtlpEgress;
  /** Pods that may scrape the metrics ports: by namespace name, optionally narrowed by pod labels. */
  scrape?: {
    namespaces: string[];
    podSelector?: Record<string, string>;
    /** Metrics ports of agent pods (agent and gateway) and of manager pods. */
    agentPorts: number[];
    managerPorts: number[];
  };
}

export interface ResolvedNetworkPoliciesArgs extends Omit<NetworkPoliciesArgs, "dns" | "modelApi" | "sandboxDeniedCidrs" | "allAgentsSelector" | "sandboxPort" | "namePrefix" | "sandboxEgress"> {
  readonly allAgentsSelector: Record<string, string>;
  readonly sandboxEgress: "internet" | "restricted";
  readonly sandboxPort: number;
  /** `<namePrefix>-`, or empty. */
  readonly policyPrefix: string;
  readonly dns: { namespace: string; podSelector: Record<string, string> };
  readonly modelApi: CidrEgress;
  /** Blocks excepted from sandboxes' 0.0.0.0/0, covered blocks removed. */
  readonly sandboxExcept: string[];
}

/** Drops blocks that another block of the list already covers, keeping order. */
export function minimalCidrs(blocks: readonly string[]): string[] {
  const parsed = [...new Set(blocks)].map((b) => parseIpv4Cidr(b));
  return parsed
    .filter((b) => !parsed.some((o) => o !== b && o.prefix < b.prefix && o.first <= b.first && b.first + b.size <= o.first + o.size))
    .map((b) => b.cidr);
}

export function resolveNetworkPoliciesArgs(args: NetworkPoliciesArgs): ResolvedNetworkPoliciesArgs {
  const C = "NetworkPolicies";
  if (args.sandboxPort !== undefined && args.sandboxPort !== SANDBOX_PORT) {
    throw new Error(`${C}: sandboxPort must be ${SANDBOX_PORT} (SANDBOX_PORT), the port sandbox pods listen on, got ${args.sandboxPort}: a policy on another port blocks the manager from its sandboxes`);
  }
  const allAgentsSelector = args.allAgentsSelector ?? { ...ALL_AGENTS_SELECTOR };
  if (allAgentsSelector["app.kubernetes.io/name"] !== ALL_AGENTS_SELECTOR["app.kubernetes.io/name"]) {
    throw new Error(`${C}: allAgentsSelector must hold app.kubernetes.io/name: ${ALL_AGENTS_SELECTOR["app.kubernetes.io/name"]!} (ALL_AGENTS_SELECTOR), which every agent pod carries, got ${JSON.stringify(allAgentsSelector)}`);
  }
  for (const a of args.agents) {
    const missing = Object.entries(allAgentsSelector).filter(([k, v]) => a.podSelector[k] !== v);
    if (missing.length > 0) {
      throw new Error(`${C}: agents[${a.name}].podSelector must hold allAgentsSelector's ${missing.map(([k, v]) => `${k}: ${v}`).join(", ")} (pass AgentRuntime.podSelector), or the agent's pods get no egress`);
    }
  }
  if (args.managerSelector["app.kubernetes.io/name"] !== SANDBOX_MANAGER_APP_NAME) {
    throw new Error(`${C}: managerSelector must hold app.kubernetes.io/name: ${SANDBOX_MANAGER_APP_NAME} (pass SandboxPool.managerPodSelector), got ${JSON.stringify(args.managerSelector)}`);
  }
  if (args.namePrefix !== undefined) requireDnsLabel(C, "namePrefix", args.namePrefix);
  for (const block of [...(args.serviceCidr ? [args.serviceCidr] : []), ...(args.sandboxDeniedCidrs ?? [])]) {
    if (!isIpv4Cidr(block)) throw new Error(`${C}: ${JSON.stringify(block)} in serviceCidr/sandboxDeniedCidrs is not an IPv4 CIDR block`);
  }
  for (const a of args.agents) {
    for (const c of a.callerCidrs ?? []) {
      if (!isIpv4Cidr(c)) throw new Error(`${C}: agents[${a.name}].callerCidrs entry ${JSON.stringify(c)} is not an IPv4 CIDR block`);
      if (c.endsWith("/0")) throw new Error(`${C}: agents[${a.name}].callerCidrs entry ${c} would admit everyone`);
    }
  }
  const ws = args.workspacePodLabel;
  if (ws && (ws.key === "" || ws.value === "")) throw new Error(`${C}: workspacePodLabel needs a key and a value, got ${JSON.stringify(ws)}`);
  if (args.callerNamespaces?.some((n) => n === args.sandboxNamespace)) {
    throw new Error(`${C}: callerNamespaces must not include the sandbox namespace: sandboxes run untrusted code`);
  }
  if (args.redis && "cidrs" in args.redis && Array.isArray(args.redis.cidrs) && args.redis.cidrs.length === 0) {
    throw new Error(`${C}: redis.cidrs must list the managed Redis's address blocks (a NetworkPolicy cannot name a host)`);
  }
  const t = args.telemetry;
  if (t?.otlp?.kind === "cidrs") {
    for (const c of t.otlp.cidrs) {
      if (typeof c === "string" && (!isIpv4Cidr(c) || c.endsWith("/0"))) throw new Error(`${C}: telemetry.otlp.cidrs entry ${JSON.stringify(c)} must be an IPv4 CIDR block narrower than /0 (the trace receiver's addresses)`);
    }
  }
  if (t?.scrape) {
    if (t.scrape.namespaces.length === 0) throw new Error(`${C}: telemetry.scrape.namespaces must name the monitoring namespace(s)`);
    if (t.scrape.namespaces.some((n) => n === args.sandboxNamespace)) throw new Error(`${C}: telemetry.scrape.namespaces must not include the sandbox namespace: sandboxes run untrusted code`);
  }
  if (args.sandboxEgress !== undefined && args.sandboxEgress !== "internet" && args.sandboxEgress !== "restricted") {
    throw new Error(`${C}: sandboxEgress must be "internet" or "restricted", got ${JSON.stringify(args.sandboxEgress)}`);
  }
  const { dns, modelApi, sandboxDeniedCidrs, namePrefix, sandboxEgress, ...rest } = args;
  return {
    ...rest,
    allAgentsSelector,
    sandboxEgress: sandboxEgress ?? "internet",
    sandboxPort: SANDBOX_PORT,
    policyPrefix: namePrefix ? `${namePrefix}-` : "",
    dns: dns ?? { namespace: "kube-system", podSelector: { "k8s-app": "kube-dns" } },
    modelApi: modelApi ?? { cidrs: ["0.0.0.0/0"], ports: [443] },
    sandboxExcept: minimalCidrs([...SANDBOX_DENIED_CIDRS, ...(args.serviceCidr ? [args.serviceCidr] : []), ...(sandboxDeniedCidrs ?? [])]),
  };
}

const tcp = (port: pulumi.Input<number>): Port => ({ protocol: "TCP", port });
const nsSelector = (ns: pulumi.Input<string>): k8s.types.input.meta.v1.LabelSelector => ({ matchLabels: { "kubernetes.io/metadata.name": ns } });

/** ipBlock peers; 0.0.0.0/0 always excepts the non-public ranges. */
function cidrPeers(cidrs: pulumi.Input<string>[]): Peer[] {
  return cidrs.map((cidr) => ({
    ipBlock: pulumi.output(cidr).apply((c) => (c === "0.0.0.0/0" ? { cidr: c, except: [...minimalCidrs(NON_PUBLIC_CIDRS)] } : { cidr: c })),
  }));
}

export class NetworkPolicies extends pulumi.ComponentResource {
  /** `<namespace role>/<policy name>` of every policy made. */
  public readonly policyNames: string[];

  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:NetworkPolicies", name, {}, opts);
    const r = resolveNetworkPoliciesArgs(args);
    const names: string[] = [];
    const labels = {
      "app.kubernetes.io/name": "agentscope-network-policy",
      "app.kubernetes.io/instance": `${r.partOf}-network-policy`,
      "app.kubernetes.io/component": "network-policy",
      "app.kubernetes.io/part-of": r.partOf,
      "app.kubernetes.io/managed-by": MANAGED_BY,
    };
    /** One policy; `ingress`/`egress` present (even empty) means that direction is restricted to the rules. */
    const policy = (
      nsRole: "agents" | "sandboxes",
      policyName: string,
      podSelector: k8s.types.input.meta.v1.LabelSelector,
      rules: { ingress?: Rule[]; egress?: Rule[] },
    ) => {
      new k8s.networking.v1.NetworkPolicy(`${name}-${nsRole}-${policyName}`, {
        metadata: { name: `${r.policyPrefix}${policyName}`, namespace: nsRole === "agents" ? r.agentsNamespace : r.sandboxNamespace, labels },
        spec: {
          podSelector,
          policyTypes: [...(rules.ingress ? ["Ingress"] : []), ...(rules.egress ? ["Egress"] : [])],
          ...(rules.ingress?.length ? { ingress: rules.ingress } : {}),
          ...(rules.egress?.length ? { egress: rules.egress } : {}),
        },
      }, { parent: this, deleteBeforeReplace: true });
      names.push(`${nsRole}/${r.policyPrefix}${policyName}`);
    };

    const sandboxNs = nsSelector(r.sandboxNamespace);
    const dnsRule: Rule = {
      to: [{ namespaceSelector: nsSelector(r.dns.namespace), podSelector: { matchLabels: r.dns.podSelector } }],
      ports: [{ protocol: "UDP", port: 53 }, tcp(53)],
    };
    const agentPods: Peer = { podSelector: { matchLabels: r.allAgentsSelector } };
    const managerPods: Peer = { podSelector: { matchLabels: r.managerSelector } };
    const toSandboxes: Rule = { to: [{ namespaceSelector: sandboxNs, podSelector: {} }], ports: [tcp(r.sandboxPort)] };
    const redisEgress: Rule[] = !r.redis
      ? []
      : "podSelector" in r.redis
        ? [{ to: [{ podSelector: { matchLabels: r.redis.podSelector } }], ports: [tcp(r.redis.port)] }]
        : [{
          to: pulumi.output(r.redis.cidrs).apply((cidrs) => {
            if (cidrs.length === 0) throw new Error("NetworkPolicies: redis.cidrs resolved to no address block");
            return cidrs.map((cidr) => ({ ipBlock: { cidr } }));
          }),
          ports: [tcp(r.redis.port)],
        }];

    // ---------- both namespaces: deny all, then DNS (not for sandboxes whose egress is restricted) ----------
    const restricted = r.sandboxEgress === "restricted";
    for (const nsRole of ["agents", "sandboxes"] as const) {
      policy(nsRole, "default-deny", { matchLabels: {} }, { ingress: [], egress: [] });
      const dnsPods: k8s.types.input.meta.v1.LabelSelector = nsRole === "sandboxes" && restricted
        ? { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "NotIn", values: [SANDBOX_APP_NAME] }] }
        : { matchLabels: {} };
      policy(nsRole, "allow-dns", dnsPods, { egress: [dnsRule] });
    }

    // ---------- agents ----------
    const callerNamespaces: Peer = r.callerNamespaces
      ? { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: r.callerNamespaces }] } }
      : {
        namespaceSelector: {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: [r.agentsNamespace, r.sandboxNamespace] }],
        },
      };
    for (const a of r.agents) {
      // Only the caller port (the gateway); the AgentApp's own port gets no ingress rule at all.
      policy("agents", `agent-${a.name}`, { matchLabels: a.podSelector }, {
        ingress: [{ from: [callerNamespaces, ...cidrPeers(a.callerCidrs ?? [])], ports: [tcp(a.callerPort)] }],
      });
    }
    policy("agents", "agents-egress", { matchLabels: r.allAgentsSelector }, {
      egress: [
        // Agents use sandboxes through the manager (create_from_pool, call_tool), never directly.
        { to: [managerPods], ports: [tcp(r.managerPort)] },
        ...redisEgress,
        { to: cidrPeers(r.modelApi.cidrs), ...(r.modelApi.ports ? { ports: r.modelApi.ports.map(tcp) } : {}) },
      ],
    });

    // ---------- the API server: the manager, and agents whose workspaces are pods ----------
    const apiServerRule: Rule = r.apiServer
      ? { to: r.apiServer.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ...(r.apiServer.ports ? { ports: r.apiServer.ports.map(tcp) } : {}) }
      : this.apiServerFromCluster(name);
    for (const a of r.agents.filter((agent) => agent.apiServerEgress)) {
      policy("agents", `agent-${a.name}-api-server`, { matchLabels: a.podSelector }, { egress: [apiServerRule] });
    }
    for (const c of r.apiServerClients ?? []) {
      policy("agents", `${c.name}-api-server`, { matchLabels: c.podSelector }, { egress: [apiServerRule] });
    }
    for (const a of r.agents) {
      if (!a.jwksEgress) continue;
      policy("agents", `agent-${a.name}-jwks`, { matchLabels: a.podSelector }, {
        egress: [{ to: cidrPeers(a.jwksEgress.cidrs), ...(a.jwksEgress.ports ? { ports: a.jwksEgress.ports.map(tcp) } : {}) }],
      });
    }

    // ---------- sandbox manager ----------
    policy("agents", "sandbox-manager", { matchLabels: r.managerSelector }, {
      ingress: [{ from: [agentPods], ports: [tcp(r.managerPort)] }],
      egress: [
        apiServerRule,
        toSandboxes,
        ...redisEgress,
      ],
    });

    // ---------- in-cluster Redis ----------
    if (r.redis && "podSelector" in r.redis) {
      policy("agents", "redis", { matchLabels: r.redis.podSelector }, { ingress: [{ from: [agentPods, managerPods], ports: [tcp(r.redis.port)] }] });
    }

    // ---------- telemetry: trace export out, scrapes in; each its own policy, only when configured ----------
    const otlp = r.telemetry?.otlp;
    if (otlp) {
      const to: Peer[] = otlp.kind === "in-cluster"
        ? [{ namespaceSelector: nsSelector(otlp.namespace), podSelector: { matchLabels: otlp.podSelector ?? {} } }]
        : otlp.cidrs.map((cidr) => ({ ipBlock: { cidr } }));
      const rule: Rule = { to, ports: [tcp(otlp.port)] };
      policy("agents", "agents-otlp-egress", { matchLabels: r.allAgentsSelector }, { egress: [rule] });
      policy("agents", "sandbox-manager-otlp-egress", { matchLabels: r.managerSelector }, { egress: [rule] });
    }
    const scrape = r.telemetry?.scrape;
    if (scrape) {
      const from: Peer[] = [{
        namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: scrape.namespaces }] },
        ...(scrape.podSelector ? { podSelector: { matchLabels: scrape.podSelector } } : {}),
      }];
      if (scrape.agentPorts.length) policy("agents", "agents-metrics-scrape", { matchLabels: r.allAgentsSelector }, { ingress: [{ from, ports: scrape.agentPorts.map(tcp) }] });
      if (scrape.managerPorts.length) policy("agents", "sandbox-manager-metrics-scrape", { matchLabels: r.managerSelector }, { ingress: [{ from, ports: scrape.managerPorts.map(tcp) }] });
    }

    // ---------- sandboxes: reached by the manager only; reach only the public internet, or nothing ----------
    // (upstream routes agents' tool calls through the manager: sandbox_manager.py call_tool)
    const sandboxEgress: Rule[] = restricted ? [] : [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: r.sandboxExcept } }] }];
    const ws = r.workspacePodLabel;
    policy("sandboxes", "sandboxes", ws ? { matchExpressions: [{ key: ws.key, operator: "NotIn", values: [ws.value] }] } : { matchLabels: {} }, {
      ingress: [{
        from: [{ namespaceSelector: nsSelector(r.agentsNamespace), podSelector: { matchLabels: r.managerSelector } }],
        ports: [tcp(r.sandboxPort)],
      }],
      egress: sandboxEgress,
    });
    // ---------- 2.x workspaces: what sandboxes reach, and nothing reaches them ----------
    if (ws) policy("sandboxes", "workspaces", { matchLabels: { [ws.key]: ws.value } }, { egress: sandboxEgress });

    this.policyNames = names;
    this.registerOutputs({ policyNames: this.policyNames });
  }

  /**
   * The API server's real endpoints, read from the `default/kubernetes` EndpointSlice: a
   * NetworkPolicy sees traffic to `kubernetes.default` after kube-proxy's DNAT, so it must allow
   * the endpoint address and port, not the Service's ClusterIP.
   */
  private apiServerFromCluster(name: string): Rule {
    const slice = k8s.discovery.v1.EndpointSlice.get(`${name}-apiserver-endpoints`, "default/kubernetes", { parent: this });
    const to = slice.endpoints.apply((eps) => {
      const peers = (eps ?? []).flatMap((e) => e.addresses).map((ip) => ({ ipBlock: { cidr: ip.includes(":") ? `${ip}/128` : `${ip}/32` } }));
      if (peers.length === 0) throw new Error("NetworkPolicies: the default/kubernetes EndpointSlice lists no API server address; pass apiServer explicitly");
      return peers;
    });
    const ports = slice.ports.apply((ps) => (ps ?? []).flatMap((p) => (typeof p.port === "number" ? [tcp(p.port)] : [])));
    return { to, ports };
  }
}
