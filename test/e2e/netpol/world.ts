// The pure half of the real-packet flow table: the local stack's config, the rows that apply to it,
// the probe roles the rendering implies, and the evaluator's world once the probes have addresses.
// Nothing here touches a cluster, so it also runs under the plain unit-test runner.
import type { Flow, World } from "../../support/flow-table";
import { FLOWS } from "../../support/flow-table";
import type { K8sObject } from "../../support/mocks";
import type { Endpoint, Labels, PodEndpoint } from "../../support/netpol";
import { renderedCluster, renderedSandboxPod, renderedWorkloadPods } from "../../support/netpol-cluster";
import type { FlatConfig } from "../../support/stack-config";
import { PROJECT, flatten } from "../../support/stack-config";
import type { LocalTarget } from "../local-config";
import { localStackConfig } from "../local-config";
import { OUTSIDE_HOSTS } from "./outside";
import type { ProbeRole } from "./probe-pods";

export interface NetpolTarget extends LocalTarget {
  readonly registryPassword: string;
  /** The egress proxy image, by digest (the `allowList` variant renders its Deployment). */
  readonly egressProxyImage?: string;
}

/**
 * sandbox.egress as each run of the table has it: `internet` (the local stack as `npm run local`
 * brings it up) and `allowList` (sandboxes reach only the egress proxy; the proxy the internet
 * minus the ranges sandboxes may never reach). `none` renders the same NetworkPolicies as
 * `allowList` without the proxy: sandbox-egress-packets.test.ts shows it on real packets.
 */
export type EgressVariant = "internet" | "allowList";
export const EGRESS_VARIANTS: readonly EgressVariant[] = ["internet", "allowList"];
const ALLOW_LIST = ["pypi.org", "files.pythonhosted.org"];

/** local.test.ts's stack config, with secrets of its own, and sandbox egress as the variant says. */
export function localConfig(t: NetpolTarget, variant: EgressVariant = "internet"): FlatConfig {
  const base = localStackConfig(t) as { images: Record<string, unknown>; sandbox: Record<string, unknown> } & Record<string, unknown>;
  if (variant === "allowList" && t.egressProxyImage === undefined) throw new Error("the allowList variant needs the egress proxy image");
  const egress = variant === "allowList"
    ? { images: { ...base.images, egressProxy: t.egressProxyImage }, sandbox: { ...base.sandbox, egress: { mode: "allowList", allow: ALLOW_LIST } } }
    : {};
  return flatten(Object.fromEntries(Object.entries({
    ...base,
    ...egress,
    agentApiToken: "e2e-netpol-agent-token",
    sandboxManagerToken: "e2e-netpol-manager-token",
    redisPassword: "e2e-netpol-redis-password",
    localRegistryPassword: t.registryPassword,
  }).map(([k, v]) => [`${PROJECT}:${k}`, v])));
}

/** Namespaces the stack does not render, where callers run. */
export const CALLERS: Record<string, Labels> = { frontend: { team: "web" }, "team-x": { team: "x" } };
const CALLER_ROLES = [
  { key: "caller pod (ns frontend)", pod: "web", namespace: "frontend", labels: { app: "web" } },
  { key: "pod in unrelated ns team-x", pod: "tool", namespace: "team-x", labels: { app: "tool" } },
] as const;
const SANDBOX_PODS = { "sandbox A": "sandbox-a7k2m9x4q1w8e5r3t6y0u2i4o", "sandbox B": "sandbox-b3n8v5c2x7z1l4k9j6h0g2f5d" } as const;

/**
 * Every row that applies to the local stack with this sandbox egress (in-cluster Redis, the
 * stand-in model, no load balancer, no users' agents: user-agents.test.ts probes a real workspace
 * pod), but one: with a single agent, "agent B" is agent A's second replica behind the same
 * Service, so "agent B → agent A via the Service" may be handed back to the caller itself by
 * kube-proxy, a pod talking to itself, which no NetworkPolicy governs.
 */
export function rowsFor(variant: EgressVariant): readonly Flow[] {
  return FLOWS.filter((f) => f.needs !== "load balancer" && f.needs !== "users' agents"
    && (f.egress === undefined || egressApplies(f.egress, variant))
    && !(f.via !== undefined && f.from.startsWith("agent ") && f.to.startsWith("agent ")));
}
const egressApplies = (row: NonNullable<Flow["egress"]>, variant: EgressVariant): boolean =>
  row === "internet" ? variant === "internet" : variant === "allowList";
/** The `internet` run's rows (the local stack's). */
export const ROWS: readonly Flow[] = rowsFor("internet");

/** One probe per rendered workload (two for the agent: its replicas), two sandboxes, two callers. */
export function probeRoles(objects: readonly K8sObject[], rows: readonly Flow[] = ROWS): Map<string, ProbeRole> {
  const workloads = renderedWorkloadPods(objects, () => "");
  const agent = [...workloads.values()].find((w) => w.name.startsWith("agent-"));
  if (agent === undefined) throw new Error("no agent workload was rendered");
  const roles = new Map<string, ProbeRole>();
  for (const w of workloads.values()) {
    if (w === agent) continue;
    roles.set(w.name, { key: w.name, pod: `probe-${w.name}`, namespace: w.namespace, labels: w.labels, ports: w.ports ?? [], role: w.name });
  }
  const agentRole = { pod: `probe-${agent.name}`, namespace: agent.namespace, labels: agent.labels, ports: agent.ports ?? [], role: agent.name };
  roles.set("agent A", { ...agentRole, key: "agent A" });
  roles.set("agent B", { ...agentRole, key: "agent B", pod: `probe-${agent.name}-2` });
  for (const [key, name] of Object.entries(SANDBOX_PODS)) {
    const s = renderedSandboxPod(objects, name, "");
    roles.set(key, { key, pod: name, namespace: s.namespace, labels: s.labels, ports: s.ports ?? [], role: name });
  }
  for (const c of CALLER_ROLES) roles.set(c.key, { ...c, ports: [{ containerPort: 80, protocol: "TCP" }], role: c.pod });
  // A listener on every port a row aims at directly (a sandbox serves 8090 but declares 80).
  for (const [key, r] of roles) {
    const aimed = rows.filter((f) => f.to === key && f.via === undefined).map((f) => ({ containerPort: f.port, protocol: f.protocol ?? "TCP" }));
    const seen = new Set<string>();
    const serve = [...r.ports.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol ?? "TCP" })), ...aimed].filter((p) => {
      const id = `${p.containerPort}/${p.protocol}`;
      return seen.has(id) ? false : (seen.add(id), true);
    });
    roles.set(key, { ...r, serve });
  }
  return roles;
}

export interface Observed {
  /** The probe pods' addresses, by role key. */
  readonly ipOf: (role: ProbeRole) => string;
  /** The real CoreDNS pod. */
  readonly dns: PodEndpoint;
  readonly apiServerIp: string;
  readonly kubeSystemLabels: Labels;
}

/** The world the evaluator judges: the rendered policies and namespaces, the real addresses. */
export function probeWorld(objects: readonly K8sObject[], roles: ReadonlyMap<string, ProbeRole>, seen: Observed): { world: World; podOf: Map<Endpoint, ProbeRole> } {
  const endpoints = new Map<string, Endpoint>();
  const podOf = new Map<Endpoint, ProbeRole>();
  for (const r of roles.values()) {
    // The table's endpoint names: the workload's (its Service's name too), or the sandbox pod's.
    const ep: PodEndpoint = { kind: "pod", name: r.role, namespace: r.namespace, labels: r.labels, ip: seen.ipOf(r), ports: r.ports };
    endpoints.set(r.key, ep);
    podOf.set(ep, r);
  }
  endpoints.set("kube-dns", seen.dns);
  for (const h of OUTSIDE_HOSTS) endpoints.set(h.name, { kind: "external", name: h.name, ip: h.ip });
  endpoints.set("API server", { kind: "external", name: "API server", ip: seen.apiServerIp });
  const cluster = renderedCluster(objects, { ...CALLERS, "kube-system": seen.kubeSystemLabels, default: {} });
  return { world: { cluster, endpoints, objects }, podOf };
}
