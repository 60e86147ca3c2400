/**
 * Sandbox egress by name under mocks: what AgentScopeWorkloads renders for each mode (the egress
 * proxy, its squid.conf, the sandboxes' proxy env and NetworkPolicies), and what the NetworkPolicy
 * evaluator (test/support/netpol.ts) says those policies allow. Real packets: docs/sandbox-egress.md.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { NO_ACS } from "../../components/workload/acs";
import { egressNameProblem } from "../../components/workload/egress";
import { resolveEgressProxyArgs } from "../../components/workload/egress-proxy";
import { renderSquidConfig } from "../../components/workload/squid-config";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { resolveWorkloadsArgs } from "../../components/workload/workloads";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { MOCK_CLUSTER_IP, MOCK_DIGEST } from "../support/mocks";
import type { Endpoint, ExternalEndpoint, PodEndpoint } from "../support/netpol";
import { evaluate } from "../support/netpol";
import { renderedCluster, renderedSandboxPod, renderedWorkloadPods } from "../support/netpol-cluster";
import { runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const PROXY_REPO = "localhost:5000/agentscope/egress-proxy";
const PROXY_SELECTOR = { "app.kubernetes.io/name": "agentscope-egress-proxy", "app.kubernetes.io/instance": "agentscope-egress-proxy" };
const SANDBOXES = { "app.kubernetes.io/name": "agentscope-sandbox" };
const ALLOW = ["pypi.org", "files.pythonhosted.org"];

function withEgress(env: "local" | "prod", egress: NonNullable<AgentScopeWorkloadsArgs["sandbox"]["egress"]>): AgentScopeWorkloadsArgs {
  const args = workloadsArgs(env);
  const images = args.images.build
    ? { ...args.images, build: { ...args.images.build, egressProxyRepository: PROXY_REPO } }
    : { ...args.images, egressProxy: `${PROXY_REPO}@sha256:${"7".repeat(64)}` };
  return { ...args, images: egress.mode === "allowList" ? images : args.images, sandbox: { ...args.sandbox, egress } };
}

function named(run: MockRun, kind: string, name: string): K8sObject {
  const found = run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}
const podSpec = (d: K8sObject): Obj => o(o(o(d["spec"])["template"])["spec"]);
const sandboxSettings = (run: MockRun): Obj => {
  const map = run.k8sObjects().find((x) => x.kind === "ConfigMap" && "sandbox-pods.json" in o(x["data"]));
  return JSON.parse(String(o(map?.["data"])["sandbox-pods.json"])) as Obj;
};

/** The evaluator's world from a run: rendered pods, a sandbox pod as the manager makes it, outside hosts. */
function world(run: MockRun) {
  const objects = run.k8sObjects();
  let n = 10;
  const pods = renderedWorkloadPods(objects, () => `10.244.0.${n++}`);
  const cluster = renderedCluster(objects, { "kube-system": {} });
  const sandbox = renderedSandboxPod(objects, "sandbox-abc", "10.244.1.5");
  const dns: PodEndpoint = { kind: "pod", name: "coredns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ip: "10.244.9.9", ports: [{ containerPort: 53, protocol: "UDP" }] };
  const publicHost: ExternalEndpoint = { kind: "external", name: "pypi.org", ip: "151.101.0.223" };
  const metadata: ExternalEndpoint = { kind: "external", name: "metadata", ip: "100.100.100.200" };
  const vpcHost: ExternalEndpoint = { kind: "external", name: "vpc", ip: "10.0.5.5" };
  const allowed = (from: Endpoint, to: Endpoint, port: number, protocol: "TCP" | "UDP" = "TCP") => evaluate(cluster, { from, to, port, protocol }).allowed;
  return { pods, sandbox, dns, publicHost, metadata, vpcHost, allowed };
}

describe("sandbox egress allowList", () => {
  let run: MockRun;
  beforeAll(async () => {
    run = await runWorkloads(withEgress("local", { mode: "allowList", allow: ALLOW }));
  });

  it("renders only objects that pass the Kubernetes OpenAPI schema", async () => {
    expect(await schemaProblems(run.k8sObjects())).toEqual([]);
  });

  it("builds target egress-proxy and runs Squid and its exporter by the pushed digest", () => {
    const built = run.one("docker:index/image:Image", "egress-proxy-image-image").inputs;
    expect(o(built["build"])).toMatchObject({ context: "agent-image", target: "egress-proxy" });
    const d = named(run, "Deployment", "egress-proxy");
    const images = [...arr(podSpec(d)["initContainers"]), ...arr(podSpec(d)["containers"])].map((c) => c["image"]);
    expect(new Set(images)).toEqual(new Set([`${PROXY_REPO}@sha256:${MOCK_DIGEST}`]));
    expect(d.metadata?.namespace).toBe("agentscope-sandboxes");
  });

  it("hardens the proxy like every other workload: restricted, read-only, no token, limits, probes", () => {
    const d = named(run, "Deployment", "egress-proxy");
    const spec = podSpec(d);
    expect(spec["automountServiceAccountToken"]).toBe(false);
    expect(o(spec["securityContext"])).toEqual({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
    const all = [...arr(spec["initContainers"]), ...arr(spec["containers"])];
    expect(all.map((c) => c["name"])).toEqual(["bump-cert", "squid", "exporter"]);
    for (const c of all) {
      expect(o(c["securityContext"])).toEqual({
        runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
        privileged: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
      });
      const res = o(c["resources"]);
      expect(res["limits"]).toEqual(res["requests"]);
    }
    const [squid, exporter] = arr(spec["containers"]);
    expect(squid!["command"]).toEqual(["squid", "-N", "-f", "/etc/squid/egress/squid.conf"]);
    expect(o(squid!["readinessProbe"])["tcpSocket"]).toEqual({ port: "proxy" });
    expect(o(squid!["livenessProbe"])["tcpSocket"]).toEqual({ port: "proxy" });
    expect(o(o(exporter!["readinessProbe"])["httpGet"])).toEqual({ path: "/metrics", port: "metrics" });
    // Writable: the pod's certificate (memory) and /tmp; the config is a read-only ConfigMap.
    expect(arr(squid!["volumeMounts"])).toEqual([
      { name: "config", mountPath: "/etc/squid/egress", readOnly: true },
      { name: "run", mountPath: "/run/squid", readOnly: true },
      { name: "tmp", mountPath: "/tmp" },
    ]);
    expect(o(o(o(d["spec"])["template"])["metadata"])["annotations"]).toHaveProperty("agentscope.io/config-sha256");
  });

  it("renders squid.conf from the allow-list: names only, denied ranges, the SNI pair check, JSON log", () => {
    const conf = String(o(named(run, "ConfigMap", "egress-proxy")["data"])["squid.conf"]);
    for (const [i, name] of ALLOW.entries()) {
      expect(conf).toContain(`acl allowed_${i} dstdomain ${name}\n`);
      expect(conf).toContain(`acl sni_${i} ssl::server_name --client-requested ${name}\n`);
      expect(conf).toContain(`ssl_bump splice step2 connected_${i} sni_${i}\n`);
    }
    expect(conf).toMatch(/acl denied_destinations dst .*100\.64\.0\.0\/10.*\nhttp_access deny denied_destinations/);
    expect(conf).toContain("acl connect_ports port 443\n");
    expect(conf).toContain("acl http_ports port 80\n");
    // Nothing passes that the lines above did not allow; nothing spliced unless a pair matched.
    expect(conf.indexOf("http_access deny all")).toBeGreaterThan(conf.lastIndexOf("http_access allow allowed_"));
    expect(conf.trimEnd().endsWith("ssl_bump terminate all")).toBe(true);
    expect(conf).toContain("access_log stdio:/dev/stdout logformat=stackjson");
  });

  it("gives every sandbox HTTP(S)_PROXY by the proxy's ClusterIP, so sandboxes need no DNS", () => {
    const env = arr(sandboxSettings(run)["env"]);
    const byName = Object.fromEntries(env.map((e) => [String(e["name"]), String(e["value"])]));
    for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) expect(byName[k]).toBe(`http://${MOCK_CLUSTER_IP}:3128`);
    expect(byName["NO_PROXY"]).toBe("localhost,127.0.0.1,::1");
  });

  it("gives a 2.x agent's workspace pods the same proxy env, and the proxy admits them", async () => {
    const args = withEgress("local", { mode: "allowList", allow: ALLOW });
    const helper = { name: "helper", model: { provider: "openai" as const, name: "m", baseUrl: "https://models.example.com/v1" }, replicas: { min: 1, max: 1 }, cpu: 1, memoryGiB: 2, sandboxTypes: ["base" as const],
      source: { kind: "image" as const, image: `registry.example.com/team/helper@sha256:${"6".repeat(64)}`, framework: "agentscope2" as const }, workspaces: { kind: "pods" as const } };
    const images = args.images.build ? { ...args.images, build: { ...args.images.build, workspaceRepository: "localhost:5000/agentscope/agentscope2-workspace" } } : args.images;
    const withWorkspaces = await runWorkloads({ ...args, images, agents: [...args.agents, helper] });
    const settings = JSON.parse(String(o(named(withWorkspaces, "ConfigMap", "agent-helper-workspaces")["data"])["workspace-pods.json"])) as Obj;
    expect(settings["env"]).toEqual(sandboxSettings(withWorkspaces)["env"]);
    const clients = named(withWorkspaces, "NetworkPolicy", "egress-proxy-clients-2");
    expect(o(o(clients["spec"])["podSelector"])["matchLabels"]).toEqual({ "app.kubernetes.io/name": "agentscope-workspace" });
    const ingress = arr(o(named(withWorkspaces, "NetworkPolicy", "egress-proxy")["spec"])["ingress"])[0]!;
    expect(arr(ingress["from"]).map((f) => o(f["podSelector"])["matchLabels"])).toEqual([SANDBOXES, { "app.kubernetes.io/name": "agentscope-workspace" }]);
    // Without workspaces, the one client kind: no second policy.
    expect(run.k8sObjects().filter((x) => x.kind === "NetworkPolicy" && x.metadata?.name === "egress-proxy-clients-2")).toHaveLength(0);
  });

  it("lets a sandbox reach the proxy and nothing else; the proxy reaches the internet on 443/80 only, never a denied range", () => {
    const w = world(run);
    const proxy = w.pods.get("egress-proxy")!;
    expect(proxy.labels).toMatchObject(PROXY_SELECTOR);
    expect(w.allowed(w.sandbox, proxy, 3128)).toBe(true);
    expect(w.allowed(w.sandbox, w.publicHost, 443)).toBe(false);
    expect(w.allowed(w.sandbox, w.metadata, 80)).toBe(false);
    expect(w.allowed(w.sandbox, w.dns, 53, "UDP")).toBe(false);
    expect(w.allowed(w.sandbox, proxy, 9301)).toBe(false);
    expect(w.allowed(proxy, w.publicHost, 443)).toBe(true);
    expect(w.allowed(proxy, w.publicHost, 80)).toBe(true);
    expect(w.allowed(proxy, w.publicHost, 22)).toBe(false);
    expect(w.allowed(proxy, w.metadata, 80)).toBe(false);
    expect(w.allowed(proxy, w.vpcHost, 443)).toBe(false);
    expect(w.allowed(proxy, w.dns, 53, "UDP")).toBe(true);
    // Nobody else may use the proxy: not an agent, not the manager.
    expect(w.allowed(w.pods.get("agent-friday")!, proxy, 3128)).toBe(false);
    expect(w.allowed(w.pods.get("sandbox-manager")!, proxy, 3128)).toBe(false);
  });
});

describe("sandbox egress none and internet", () => {
  it("none: no proxy, no proxy env, and a sandbox reaches nothing, DNS included", async () => {
    const run = await runWorkloads(withEgress("prod", { mode: "none" }));
    expect(run.k8sObjects().filter((x) => x.metadata?.name?.startsWith("egress-proxy"))).toEqual([]);
    expect(sandboxSettings(run)["env"]).toEqual([]);
    const w = world(run);
    expect(w.allowed(w.sandbox, w.publicHost, 443)).toBe(false);
    expect(w.allowed(w.sandbox, w.dns, 53, "UDP")).toBe(false);
    expect(w.allowed(w.sandbox, w.metadata, 80)).toBe(false);
    // The manager still reaches the sandbox (ingress is unchanged).
    expect(w.allowed(w.pods.get("sandbox-manager")!, w.sandbox, 8090)).toBe(true);
  });

  it("internet (the default here): as before, the public internet by address, the denied ranges excepted", async () => {
    const run = await runWorkloads(workloadsArgs("local"));
    expect(run.k8sObjects().filter((x) => x.metadata?.name?.startsWith("egress-proxy"))).toEqual([]);
    const w = world(run);
    expect(w.allowed(w.sandbox, w.publicHost, 443)).toBe(true);
    expect(w.allowed(w.sandbox, w.dns, 53, "UDP")).toBe(true);
    expect(w.allowed(w.sandbox, w.metadata, 80)).toBe(false);
    expect(w.allowed(w.sandbox, w.vpcHost, 443)).toBe(false);
  });
});

describe("sandbox egress arguments", () => {
  it("refuses wildcards, addresses and malformed names, each with its reason", () => {
    expect(egressNameProblem("*.example.com")).toMatch(/wildcards are refused: Poseidon's FQDN rules/);
    expect(egressNameProblem(".example.com")).toMatch(/wildcards are refused/);
    expect(egressNameProblem("203.0.113.7")).toMatch(/is an IP address/);
    expect(egressNameProblem("2001:db8::1")).toMatch(/is an IP address/);
    expect(egressNameProblem("PyPI.org")).toMatch(/lower case/);
    expect(egressNameProblem("pypi.org.")).toMatch(/must not end with a dot/);
    expect(egressNameProblem("localhost")).toMatch(/at least two labels/);
    expect(egressNameProblem("bad_.example.com")).toMatch(/invalid label "bad_"/);
    expect(egressNameProblem("-a.example.com")).toMatch(/invalid label/);
    expect(egressNameProblem("example.123")).toMatch(/top-level domain/);
    expect(egressNameProblem(`${"a".repeat(64)}.com`)).toMatch(/invalid label/);
    expect(egressNameProblem("pypi.org")).toBeUndefined();
    expect(egressNameProblem("a-b.c-d.example")).toBeUndefined();
  });

  it("needs names and the proxy image for allowList, and refuses a bad name by its index", () => {
    const local = workloadsArgs("local");
    expect(() => resolveWorkloadsArgs({ ...local, sandbox: { ...local.sandbox, egress: { mode: "allowList", allow: [] } } })).toThrow(/sandbox\.egress\.allow must list at least one host name/);
    expect(() => resolveWorkloadsArgs({ ...local, sandbox: { ...local.sandbox, egress: { mode: "allowList", allow: ["pypi.org"] } } })).toThrow(/images\.build\.egressProxyRepository/);
    expect(() => resolveWorkloadsArgs(withEgress("local", { mode: "allowList", allow: ["pypi.org", "*.pythonhosted.org"] }))).toThrow(/sandbox\.egress\.allow\[1\] "\*\.pythonhosted\.org" wildcards are refused/);
    expect(() => resolveWorkloadsArgs(withEgress("local", { mode: "allowList", allow: ["pypi.org", "pypi.org"] }))).toThrow(/lists "pypi\.org" twice/);
    expect(resolveWorkloadsArgs(withEgress("local", { mode: "allowList", allow: ALLOW })).egress).toEqual({ mode: "allowList", allow: ALLOW });
  });

  it("refuses a proxy by tag, an empty client selector, a /0 denied block and a non-ACS size on ACS", () => {
    const base = { namespace: "ns", partOf: "agentscope", image: `r/x@sha256:${"a".repeat(64)}`, allow: ALLOW, clientSelector: SANDBOXES };
    expect(() => resolveEgressProxyArgs({ ...base, image: "r/x:latest" })).toThrow(/image must be pinned by digest/);
    expect(() => resolveEgressProxyArgs({ ...base, clientSelector: {} })).toThrow(/would admit every pod/);
    expect(() => resolveEgressProxyArgs({ ...base, deniedCidrs: ["0.0.0.0/0"] })).toThrow(/would deny everything/);
    expect(() => resolveEgressProxyArgs({ ...base, placement: { ...NO_ACS, enabled: true }, cpu: 0.3 })).toThrow(/not an ACS size/);
    expect(resolveEgressProxyArgs(base)).toMatchObject({ connectPorts: [443], httpPorts: [80], replicas: 1 });
  });

  it("renders a config that refuses everything for an empty list, and never a port outside 1..65535", () => {
    const conf = renderSquidConfig({ allow: [], listenPort: 3128, connectPorts: [443], httpPorts: [], deniedCidrs: [], bumpCertPath: "/c.pem" });
    expect(conf).not.toContain("http_access allow allowed_");
    expect(conf).toContain("http_access deny !connect_method\n");
    expect(() => renderSquidConfig({ allow: [], listenPort: 3128, connectPorts: [70000], httpPorts: [], deniedCidrs: [], bumpCertPath: "/c.pem" })).toThrow(/not a TCP port/);
  });
});
