// Traces, metrics, scrape objects and their NetworkPolicies as AgentScopeWorkloads renders them
// (issue 13, OBS contract): the security-relevant wiring first.
import { beforeAll, describe, expect, it } from "vitest";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

/** A header value no object but a Secret may hold. */
const CANARY_HEADERS = "x-sls-otel-project=obs-test,x-sls-otel-ak-secret=CANARY-otlp-secret-7f3a9c";
const JAEGER = "http://jaeger-collector.agentscope-observability:4318";

function withObservability(base: AgentScopeWorkloadsArgs, obs: AgentScopeWorkloadsArgs["observability"]): AgentScopeWorkloadsArgs {
  return { ...base, observability: obs };
}
const containersOf = (obj: K8sObject): Obj[] => arr(o(o(o(obj["spec"])["template"])["spec"])["containers"]);
const deployments = (run: MockRun) => run.k8sObjects().filter((x) => x.kind === "Deployment" && x.metadata?.name !== "redis" && !x.metadata?.name?.startsWith("stand-in"));
const envOf = (c: Obj): Obj[] => arr(c["env"]);
const envValue = (c: Obj, name: string): unknown => envOf(c).find((e) => e["name"] === name)?.["value"];
const policies = (run: MockRun) => run.k8sObjects().filter((x) => x.kind === "NetworkPolicy");
const policy = (run: MockRun, name: string) => policies(run).find((p) => p.metadata?.name === name);
const services = (run: MockRun) => run.k8sObjects().filter((x) => x.kind === "Service");
const METRICS_PORTS = [9464, 9465];

describe("observability on: local Jaeger in the cluster, metrics and Prometheus Operator objects", () => {
  let run: MockRun;
  beforeAll(async () => {
    run = await runWorkloads(withObservability(workloadsArgs("local"), {
      tracing: { endpoint: JAEGER, egress: { kind: "in-cluster", namespace: "agentscope-observability", podSelector: { "app.kubernetes.io/name": "jaeger" }, port: 4318 } },
      metrics: { scrapeNamespaces: ["monitoring"], prometheusOperator: true },
    }));
  });

  it("renders only objects that pass their schema, ServiceMonitors and PrometheusRule included", async () => {
    const kinds = run.k8sObjects().map((x) => x.kind);
    expect(kinds.filter((k) => k === "ServiceMonitor")).toHaveLength(2);
    expect(kinds.filter((k) => k === "PrometheusRule")).toHaveLength(1);
    expect(await schemaProblems(run.k8sObjects())).toEqual([]);
  });

  it("sets the OTel SDK environment per process, with the pod's name and namespace from the downward API", () => {
    const byName = new Map<string, Obj>();
    for (const d of deployments(run)) for (const c of containersOf(d)) byName.set(`${d.metadata!.name}/${String(c["name"])}`, c);
    const expected: Record<string, string> = {
      "agent-friday/agent": "agentscope-agent",
      "agent-friday/gateway": "agentscope-gateway",
      "sandbox-manager/sandbox-manager": "agentscope-sandbox-manager",
    };
    for (const [key, service] of Object.entries(expected)) {
      const c = byName.get(key)!;
      expect(c, key).toBeDefined();
      expect(envValue(c, "OTEL_SERVICE_NAME"), key).toBe(service);
      expect(envValue(c, "OTEL_EXPORTER_OTLP_ENDPOINT"), key).toBe(JAEGER);
      expect(envValue(c, "OTEL_EXPORTER_OTLP_PROTOCOL"), key).toBe("http/protobuf");
      const env = envOf(c).map((e) => String(e["name"]));
      const attrs = String(envValue(c, "OTEL_RESOURCE_ATTRIBUTES"));
      expect(attrs).toMatch(/^k8s\.namespace\.name=\$\(K8S_NAMESPACE_NAME\),k8s\.pod\.name=\$\(K8S_POD_NAME\)/);
      // $(VAR) expands only variables defined earlier in the list.
      expect(env.indexOf("K8S_POD_NAME")).toBeLessThan(env.indexOf("OTEL_RESOURCE_ATTRIBUTES"));
      expect(envOf(c).find((e) => e["name"] === "K8S_POD_NAME")?.["valueFrom"]).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
      expect(envOf(c).find((e) => e["name"] === "K8S_NAMESPACE_NAME")?.["valueFrom"]).toEqual({ fieldRef: { fieldPath: "metadata.namespace" } });
      if (key.startsWith("agent-")) expect(attrs).toContain(",agentscope.agent.name=friday");
    }
  });

  it("keeps prompts and code out of spans by default", () => {
    for (const d of deployments(run)) for (const c of containersOf(d)) expect(envValue(c, "AGENTSCOPE_TRACE_CONTENT"), `${d.metadata?.name}/${String(c["name"])}`).toBe("false");
  });

  it("names the metrics ports and sets METRICS_PORT / GATEWAY_METRICS_PORT", () => {
    const friday = deployments(run).find((d) => d.metadata?.name === "agent-friday")!;
    const [agent, gateway] = ["agent", "gateway"].map((n) => containersOf(friday).find((c) => c["name"] === n)!);
    expect(arr(agent!["ports"])).toContainEqual({ name: "metrics", containerPort: 9464, protocol: "TCP" });
    expect(envValue(agent!, "METRICS_PORT")).toBe("9464");
    expect(arr(gateway!["ports"])).toContainEqual({ name: "gateway-metrics", containerPort: 9465, protocol: "TCP" });
    expect(envValue(gateway!, "GATEWAY_METRICS_PORT")).toBe("9465");
    const manager = containersOf(deployments(run).find((d) => d.metadata?.name === "sandbox-manager")!)[0]!;
    expect(arr(manager["ports"])).toContainEqual({ name: "metrics", containerPort: 9464, protocol: "TCP" });
    expect(envValue(manager, "METRICS_PORT")).toBe("9464");
  });

  it("serves metrics only on separate ClusterIP <name>-metrics Services, which the ServiceMonitors select", () => {
    const metrics = services(run).filter((s) => s.metadata?.name?.endsWith("-metrics"));
    expect(metrics.map((s) => s.metadata?.name).sort()).toEqual(["agent-friday-metrics", "agent-scout-metrics", "sandbox-manager-metrics"]);
    for (const s of metrics) {
      expect(o(s["spec"])["type"]).toBe("ClusterIP");
      expect(s.metadata?.labels?.["agentscope.io/metrics"]).toBe("true");
    }
    for (const s of services(run).filter((x) => !x.metadata?.name?.endsWith("-metrics"))) {
      expect(s.metadata?.labels?.["agentscope.io/metrics"], s.metadata?.name).toBeUndefined();
      for (const p of arr(o(s["spec"])["ports"])) {
        expect(METRICS_PORTS, `${String(s.metadata?.name)} port ${String(p["port"])}`).not.toContain(p["port"]);
        expect(["metrics", "gateway-metrics"]).not.toContain(p["targetPort"]);
      }
    }
    const monitors = run.k8sObjects().filter((x) => x.kind === "ServiceMonitor");
    for (const m of monitors) expect(o(o(m["spec"])["selector"])["matchLabels"]).toMatchObject({ "agentscope.io/metrics": "true" });
  });

  it("lets agents and the manager reach only the receiver's namespace and port for traces", () => {
    for (const name of ["agents-otlp-egress", "sandbox-manager-otlp-egress"]) {
      const spec = o(policy(run, name)?.["spec"]);
      expect(spec["policyTypes"], name).toEqual(["Egress"]);
      expect(spec["egress"]).toEqual([{
        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "agentscope-observability" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "jaeger" } } }],
        ports: [{ protocol: "TCP", port: 4318 }],
      }]);
    }
  });

  it("admits scrapes only from the monitoring namespace, only on the metrics ports, and keeps default-deny", () => {
    const agents = o(policy(run, "agents-metrics-scrape")?.["spec"]);
    expect(agents["policyTypes"]).toEqual(["Ingress"]);
    expect(agents["ingress"]).toEqual([{
      from: [{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["monitoring"] }] } }],
      ports: [{ protocol: "TCP", port: 9464 }, { protocol: "TCP", port: 9465 }],
    }]);
    expect(o(policy(run, "sandbox-manager-metrics-scrape")?.["spec"])["ingress"]).toEqual([{
      from: [{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["monitoring"] }] } }],
      ports: [{ protocol: "TCP", port: 9464 }],
    }]);
    const denies = policies(run).filter((p) => p.metadata?.name === "default-deny");
    expect(denies).toHaveLength(2);
    for (const d of denies) expect(o(d["spec"])).toEqual({ podSelector: { matchLabels: {} }, policyTypes: ["Ingress", "Egress"] });
    // Sandboxes get no telemetry flow at all.
    expect(policies(run).filter((p) => p.metadata?.namespace === "agentscope-sandboxes").map((p) => p.metadata?.name).sort()).toEqual(["allow-dns", "default-deny", "sandboxes"]);
  });
});

describe("observability on in prod: external receiver, secret headers, trace content asked for", () => {
  let run: MockRun;
  beforeAll(async () => {
    run = await runWorkloads(withObservability(workloadsArgs("prod"), {
      tracing: { endpoint: "https://obs-test.cn-hangzhou-intranet.log.aliyuncs.com/opentelemetry", egress: { kind: "cidrs", cidrs: ["100.100.30.0/24"], port: 443 }, headers: CANARY_HEADERS, traceContent: true },
      metrics: { scrapeNamespaces: ["arms-prom"] },
    }));
  });

  it("passes the OTLP headers only by secretKeyRef, never as a value", () => {
    let refs = 0;
    for (const d of deployments(run)) {
      for (const c of containersOf(d)) {
        const h = envOf(c).find((e) => e["name"] === "OTEL_EXPORTER_OTLP_HEADERS");
        expect(h, `${d.metadata?.name}/${String(c["name"])}`).toBeDefined();
        expect(h!["value"]).toBeUndefined();
        expect(o(o(h!["valueFrom"])["secretKeyRef"])["key"]).toBe("OTEL_EXPORTER_OTLP_HEADERS");
        refs++;
      }
    }
    expect(refs).toBe(5); // two agents x (agent, gateway), one manager
  });

  it("keeps the header value in Secrets only, as a Pulumi secret", () => {
    const holders = run.k8sObjects().filter((x) => JSON.stringify(x).includes("CANARY-otlp-secret"));
    expect(holders.map((x) => x.kind)).toEqual(["Secret", "Secret", "Secret"]);
    for (const r of run.resources.filter((x) => x.type === "kubernetes:core/v1:Secret" && JSON.stringify(x.inputs).includes("CANARY-otlp-secret"))) {
      // The key itself, or an enclosing object (the manager's stringData is one secret with its .env).
      expect(r.secretPaths.some((p) => "stringData.OTEL_EXPORTER_OTLP_HEADERS".startsWith(p)), `${r.name}: ${r.secretPaths.join(", ")}`).toBe(true);
    }
  });

  it("sets AGENTSCOPE_TRACE_CONTENT=true only when asked", () => {
    for (const d of deployments(run)) for (const c of containersOf(d)) expect(envValue(c, "AGENTSCOPE_TRACE_CONTENT")).toBe("true");
  });

  it("opens egress to the receiver's blocks only, and no metrics port on the public load balancer", () => {
    expect(o(policy(run, "agents-otlp-egress")?.["spec"])["egress"]).toEqual([{ to: [{ ipBlock: { cidr: "100.100.30.0/24" } }], ports: [{ protocol: "TCP", port: 443 }] }]);
    const lbs = services(run).filter((s) => o(s["spec"])["type"] === "LoadBalancer");
    expect(lbs.length).toBeGreaterThan(0);
    for (const lb of lbs) for (const p of arr(o(lb["spec"])["ports"])) expect(METRICS_PORTS).not.toContain(p["port"]);
  });

  it("makes no scrape objects without prometheusOperator", () => {
    expect(run.k8sObjects().filter((x) => x.apiVersion === "monitoring.coreos.com/v1")).toEqual([]);
  });
});

describe("observability on, with a user's app beside Friday", () => {
  const USER_IMAGE = `registry.example.com/team/byo@sha256:${"9".repeat(64)}`;
  let run: MockRun;
  beforeAll(async () => {
    const base = workloadsArgs("local");
    run = await runWorkloads(withObservability({
      ...base,
      agents: [...base.agents, { ...base.agents[0]!, name: "byo", source: { kind: "image", image: USER_IMAGE, framework: "agentscope-runtime" } }],
    }, {
      tracing: { endpoint: JAEGER, egress: { kind: "in-cluster", namespace: "agentscope-observability", podSelector: { "app.kubernetes.io/name": "jaeger" }, port: 4318 } },
      metrics: { scrapeNamespaces: ["monitoring"], prometheusOperator: true },
    }));
  });
  const byo = () => deployments(run).find((d) => d.metadata?.name === "agent-byo")!;
  const containerOf = (name: string) => containersOf(byo()).find((c) => c["name"] === name)!;

  it("runs its gateway from our agent image, which serves the gateway's metrics and exports its spans", async () => {
    const friday = deployments(run).find((d) => d.metadata?.name === "agent-friday")!;
    expect(containerOf("gateway")["image"]).toBe(containersOf(friday).find((c) => c["name"] === "gateway")!["image"]);
    expect(containerOf("agent")["image"]).toBe(USER_IMAGE);
    expect(arr(containerOf("gateway")["ports"])).toContainEqual({ name: "gateway-metrics", containerPort: 9465, protocol: "TCP" });
    expect(envValue(containerOf("gateway"), "GATEWAY_METRICS_PORT")).toBe("9465");
    expect(envValue(containerOf("gateway"), "OTEL_SERVICE_NAME")).toBe("agentscope-gateway");
    expect(await schemaProblems(run.k8sObjects())).toEqual([]);
  });

  it("opens no metrics port on the user's app, which has no listener", () => {
    const agent = containerOf("agent");
    expect(arr(agent["ports"]).map((p) => p["containerPort"])).toEqual([8080]);
    expect(envOf(agent).map((e) => String(e["name"]))).not.toContain("METRICS_PORT");
    const metrics = services(run).find((x) => x.metadata?.name === "agent-byo-metrics");
    expect(arr(o(metrics?.["spec"])["ports"])).toEqual([{ name: "gateway-metrics", port: 9465, targetPort: "gateway-metrics", protocol: "TCP" }]);
  });
});

describe("observability off (the default)", () => {
  let run: MockRun;
  beforeAll(async () => { run = await runWorkloads(workloadsArgs("dev")); });

  it("exports nothing, opens nothing and still says no trace content", () => {
    for (const d of deployments(run)) {
      for (const c of containersOf(d)) {
        const names = envOf(c).map((e) => String(e["name"]));
        expect(names.filter((n) => n.startsWith("OTEL_") || n.includes("METRICS_PORT"))).toEqual([]);
        expect(envValue(c, "AGENTSCOPE_TRACE_CONTENT")).toBe("false");
        for (const p of arr(c["ports"])) expect(METRICS_PORTS).not.toContain(p["containerPort"]);
      }
    }
    expect(policies(run).filter((p) => /otlp|metrics/.test(p.metadata?.name ?? ""))).toEqual([]);
    expect(services(run).filter((s) => s.metadata?.name?.endsWith("-metrics"))).toEqual([]);
  });
});
