/**
 * The trace viewer (Jaeger) under mocks: its namespace, Deployment, Services and policies, the
 * hardening every workload gets, its outputs, and the arguments it refuses.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type { TraceViewerArgs } from "../../components/workload/trace-viewer";
import { TraceViewer, resolveTraceViewerArgs } from "../../components/workload/trace-viewer";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { runWithMocks, valueOf } from "../support/mocks";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const IMAGE = `127.0.0.1:25001/agentscope/jaeger@sha256:${"7".repeat(64)}`;
const NS = "agentscope-observability";
const SELECTOR = { "app.kubernetes.io/name": "jaeger", "app.kubernetes.io/instance": "agentscope-jaeger" };
const AGENTS = { "app.kubernetes.io/name": "agentscope-agent" };
const MANAGER = { "app.kubernetes.io/name": "sandbox-manager", "app.kubernetes.io/instance": "agentscope-sandbox-manager" };
const ARGS: TraceViewerArgs = {
  namespace: NS,
  partOf: "agentscope",
  image: IMAGE,
  clients: [{ namespace: "agentscope-agents", podSelector: AGENTS }, { namespace: "agentscope-agents", podSelector: MANAGER }],
  pullCredentials: { server: "127.0.0.1:25001", username: "agentscope", password: pulumi.secret("registry-canary-password") },
};

interface Rendered {
  run: MockRun;
  viewer: TraceViewer;
  /** Pulumi name of each resource → its parent resource. */
  parents: Map<string, pulumi.Resource>;
}

async function render(args: TraceViewerArgs): Promise<Rendered> {
  let viewer: TraceViewer | undefined;
  const parents = new Map<string, pulumi.Resource>();
  const run = await runWithMocks(() => {
    pulumi.runtime.registerStackTransformation(({ name, opts }) => {
      if (opts.parent) parents.set(name, opts.parent);
      return undefined;
    });
    const provider = new k8s.Provider("cluster", { kubeconfig: "mock-kubeconfig" });
    viewer = new TraceViewer("agentscope-trace-viewer", args, { provider });
  });
  return { run, viewer: viewer!, parents };
}

function named(run: MockRun, kind: string, name: string): K8sObject {
  const found = run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}
const podSpec = (d: K8sObject): Obj => o(o(o(d["spec"])["template"])["spec"]);

let r: Rendered;
beforeAll(async () => {
  r = await render(ARGS);
});

describe("TraceViewer", () => {
  it("renders only objects that pass the Kubernetes OpenAPI schema", async () => {
    expect(await schemaProblems(r.run.k8sObjects())).toEqual([]);
  });

  it("creates its namespace enforcing the restricted Pod Security Standard", () => {
    const ns = named(r.run, "Namespace", NS);
    expect(ns.metadata?.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "app.kubernetes.io/part-of": "agentscope",
      "app.kubernetes.io/managed-by": "pulumi",
    });
  });

  it("runs one hardened pod: restricted contexts, no token, requests = limits, memory storage bounded", () => {
    const d = named(r.run, "Deployment", "jaeger");
    expect(d.metadata?.namespace).toBe(NS);
    expect(o(d["spec"])).toMatchObject({ replicas: 1, strategy: { type: "Recreate" }, selector: { matchLabels: SELECTOR } });
    const spec = podSpec(d);
    expect(spec["automountServiceAccountToken"]).toBe(false);
    expect(spec["enableServiceLinks"]).toBe(false);
    expect(o(spec["securityContext"])).toEqual({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
    const containers = arr(spec["containers"]);
    expect(containers).toHaveLength(1);
    const c = containers[0]!;
    expect(c["image"]).toBe(IMAGE);
    expect(c["args"]).toEqual(["--config", "/etc/jaeger/config.yaml"]);
    expect(o(c["securityContext"])).toEqual({
      runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
      privileged: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
    });
    expect(o(c["resources"])).toEqual({ requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "250m", memory: "512Mi" } });
    const env = Object.fromEntries(arr(c["env"]).map((e) => [String(e["name"]), e["value"]]));
    expect(env).toEqual({ JAEGER_LISTEN_HOST: "0.0.0.0", JAEGER_MAX_TRACES: "10000", GOMEMLIMIT: "409MiB" });
    expect(arr(c["ports"])).toEqual([
      { name: "otlp-http", containerPort: 4318, protocol: "TCP" },
      { name: "http", containerPort: 16686, protocol: "TCP" },
      { name: "health", containerPort: 13133, protocol: "TCP" },
    ]);
    expect(o(o(c["readinessProbe"])["httpGet"])).toEqual({ path: "/status", port: "health" });
    expect(o(o(c["livenessProbe"])["httpGet"])).toEqual({ path: "/status", port: "health" });
    expect(arr(spec["volumes"])).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }]);
    expect(arr(spec["imagePullSecrets"])).toEqual([{ name: "registry-pull" }]);
  });

  it("carries the recommended labels on every object it makes", () => {
    for (const obj of r.run.k8sObjects().filter((x) => x.kind !== "Namespace")) {
      expect(obj.metadata?.labels, `${obj.kind} ${obj.metadata?.name}`).toEqual({
        ...SELECTOR, "app.kubernetes.io/component": "trace-viewer", "app.kubernetes.io/part-of": "agentscope", "app.kubernetes.io/managed-by": "pulumi",
      });
    }
  });

  it("serves the contract's two ClusterIP Services and no health port", () => {
    expect(o(named(r.run, "Service", "jaeger-collector")["spec"])).toEqual({
      type: "ClusterIP", selector: SELECTOR, ports: [{ name: "otlp-http", port: 4318, targetPort: "otlp-http", protocol: "TCP" }],
    });
    expect(o(named(r.run, "Service", "jaeger-query")["spec"])).toEqual({
      type: "ClusterIP", selector: SELECTOR, ports: [{ name: "http", port: 16686, targetPort: "http", protocol: "TCP" }],
    });
    expect(r.run.k8sObjects().filter((x) => x.kind === "Service")).toHaveLength(2);
  });

  it("denies by default, admits only the clients on 4318, and opens each client's egress to it", () => {
    expect(o(named(r.run, "NetworkPolicy", "default-deny")["spec"])).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    const own = named(r.run, "NetworkPolicy", "jaeger");
    expect(own.metadata?.namespace).toBe(NS);
    const peer = (sel: Record<string, string>) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "agentscope-agents" } }, podSelector: { matchLabels: sel } });
    expect(o(own["spec"])).toEqual({
      podSelector: { matchLabels: SELECTOR },
      policyTypes: ["Ingress"],
      ingress: [{ from: [peer(AGENTS), peer(MANAGER)], ports: [{ protocol: "TCP", port: 4318 }] }],
    });
    const toJaeger = [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": NS } }, podSelector: { matchLabels: SELECTOR } }], ports: [{ protocol: "TCP", port: 4318 }] }];
    for (const [i, sel] of [AGENTS, MANAGER].entries()) {
      const p = named(r.run, "NetworkPolicy", `trace-viewer-clients-${i}`);
      expect(p.metadata?.namespace).toBe("agentscope-agents");
      expect(o(p["spec"])).toEqual({ podSelector: { matchLabels: sel }, policyTypes: ["Egress"], egress: toJaeger });
    }
    // Nothing admits the query port: the UI is reached through a port-forward only.
    expect(JSON.stringify(r.run.k8sObjects().filter((x) => x.kind === "NetworkPolicy"))).not.toContain("16686");
  });

  it("keeps the pull password a secret", () => {
    const s = r.run.one("kubernetes:core/v1:Secret", "registry-pull");
    expect(s.secretPaths).toContain("stringData");
    expect(JSON.stringify(s.inputs)).toContain("registry-canary-password");
    const others = r.run.resources.filter((x) => x !== s);
    expect(JSON.stringify(others.map((x) => x.inputs))).not.toContain("registry-canary-password");
  });

  it("parents every object to one TraceViewer component", () => {
    const component = r.run.resources.filter((x) => x.type === "agentscope:k8s:TraceViewer");
    expect(component.map((x) => x.name)).toEqual(["agentscope-trace-viewer"]);
    const children = r.run.k8sObjects().map((x) => x.__pulumiName);
    expect(children).toHaveLength(9); // namespace, pull Secret, Deployment, 2 Services, 4 NetworkPolicies
    for (const child of children) expect(r.parents.get(child) === r.viewer, child).toBe(true);
  });

  it("outputs the OTLP endpoint and the query Service for a port-forward", async () => {
    expect(await valueOf(r.viewer.otlpHttpEndpoint)).toBe(`http://jaeger-collector.${NS}.svc.cluster.local:4318`);
    expect(await valueOf(r.viewer.queryService)).toBe("jaeger-query");
    expect(await valueOf(r.viewer.namespace)).toBe(NS);
    expect(r.viewer.queryPort).toBe(16686);
  });

  it("sizes and bounds as asked", async () => {
    const sized = await render({ ...ARGS, cpu: 0.5, memoryGiB: 1, maxTraces: 500 });
    const c = arr(podSpec(named(sized.run, "Deployment", "jaeger"))["containers"])[0]!;
    expect(o(c["resources"])["limits"]).toEqual({ cpu: "500m", memory: "1024Mi" });
    expect(arr(c["env"])).toContainEqual({ name: "JAEGER_MAX_TRACES", value: "500" });
  });

  it("makes no pull Secret without credentials", async () => {
    const rest: TraceViewerArgs = { ...ARGS };
    delete rest.pullCredentials;
    const plain = await render(rest);
    expect(plain.run.ofType("kubernetes:core/v1:Secret")).toEqual([]);
    expect(podSpec(named(plain.run, "Deployment", "jaeger"))["imagePullSecrets"]).toEqual([]);
  });
});

describe("trace viewer arguments", () => {
  it("rejects an image by tag, no clients, an empty client selector, a bad bound or namespace", () => {
    expect(() => resolveTraceViewerArgs({ ...ARGS, image: "r/jaeger:latest" })).toThrow(/image must be pinned by digest/);
    expect(() => resolveTraceViewerArgs({ ...ARGS, clients: [] })).toThrow(/clients must list/);
    expect(() => resolveTraceViewerArgs({ ...ARGS, clients: [{ namespace: "a", podSelector: {} }] })).toThrow(/would admit every pod/);
    expect(() => resolveTraceViewerArgs({ ...ARGS, maxTraces: 0 })).toThrow(/maxTraces must be a whole number/);
    expect(() => resolveTraceViewerArgs({ ...ARGS, maxTraces: 99 })).toThrow(/maxTraces must be a whole number from 100/);
    expect(() => resolveTraceViewerArgs({ ...ARGS, maxTraces: 150.5 })).toThrow(/maxTraces/);
    expect(() => resolveTraceViewerArgs({ ...ARGS, cpu: 0 })).toThrow(/cpu must be a positive number/);
    expect(() => resolveTraceViewerArgs({ ...ARGS, namespace: "Observability" })).toThrow(/namespace must be a DNS label/);
    expect(resolveTraceViewerArgs(ARGS)).toMatchObject({ maxTraces: 10000, cpu: 0.25, memoryGiB: 0.5 });
  });
});
