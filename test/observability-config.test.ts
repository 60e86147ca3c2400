// The `observability` config block and `otlpHeaders`: validation before any resource, the mapping
// onto the components' Args, and what the whole program renders for `local` and `dev`.
import { describe, expect, it } from "vitest";
import { observabilityArgs } from "../config/workload-args";
import { pipelineConfigSpec } from "../components/alicloud/log-collection";
import type { ProgramRun } from "./support/program";
import { runProgram } from "./support/program";
import { parseStackConfig } from "../config";
import { configProblems } from "./support/config-problems";
import type { FlatConfig, ShippedStack } from "./support/stack-config";
import { PROJECT, shippedStackConfig } from "./support/stack-config";
import { providerIdOf } from "./support/canned";

const ns = (key: string) => `${PROJECT}:${key}`;
const CANARY = "x-sls-otel-project=obs,x-sls-otel-instance-id=obs,x-sls-otel-ak-id=AKID,x-sls-otel-ak-secret=CANARY-ak-secret-91c2";
const JAEGER = "http://jaeger-collector.agentscope-observability:4318";
const SLS = "https://obs.cn-hangzhou-intranet.log.aliyuncs.com/opentelemetry";

function withObs(stack: ShippedStack, observability: Record<string, unknown> | undefined, extra: Record<string, string> = {}): FlatConfig {
  return { ...shippedStackConfig(stack), ...(observability ? { [ns("observability")]: JSON.stringify(observability) } : {}), ...extra };
}
const problems = (config: FlatConfig, stack: string, secretKeys?: string[]) => configProblems(config, stack, secretKeys);
const parse = (config: FlatConfig, stack: string) => parseStackConfig({ values: config, project: PROJECT, stack });

describe("observability config", () => {
  it("defaults: no trace export, no trace content, metrics on, managed Prometheus and SLS logs only on ACK", () => {
    const local = parse(withObs("local", undefined), "local");
    expect(local.observability).toMatchObject({ traceContent: false, metrics: true, scrapeNamespaces: ["monitoring"], prometheusOperator: "auto", alerts: true });
    expect(local.observability.otlpEndpoint).toBeUndefined();
    const args = observabilityArgs(local, {});
    expect(args?.tracing).toBeUndefined();
    expect(args?.metrics).toMatchObject({ prometheusOperator: false, scrapeNamespaces: ["monitoring"] });
    const dev = parse(withObs("dev", undefined), "dev");
    expect(observabilityArgs(dev, {})?.metrics?.prometheusOperator).toBe(true);
  });

  it("maps an in-cluster endpoint to a namespace egress on the URL's port", () => {
    const c = parse(withObs("local", { otlpEndpoint: JAEGER }), "local");
    expect(observabilityArgs(c, {})?.tracing).toEqual({
      endpoint: JAEGER,
      egress: { kind: "in-cluster", namespace: "agentscope-observability", port: 4318 },
      traceContent: false,
    });
  });

  it("names key, problem and what is allowed for every mistake", () => {
    expect(problems(withObs("local", { otlpEndpoint: "ftp://x.example.com" }), "local")).toEqual([
      expect.stringMatching(/^agentscope-ack:observability\.otlpEndpoint: must be an http\(s\) URL/),
    ]);
    expect(problems(withObs("dev", { otlpEndpoint: SLS }), "dev")).toEqual([
      expect.stringMatching(/^agentscope-ack:observability\.otlpEgressCidrs: is required: obs\.cn-hangzhou-intranet\.log\.aliyuncs\.com is not a Service of the cluster/),
    ]);
    expect(problems(withObs("local", { managedPrometheus: true, logs: { enabled: true } }), "local")).toEqual([
      expect.stringMatching(/^agentscope-ack:observability\.managedPrometheus: is ACK's add-on: it applies only to platform alicloud/),
      expect.stringMatching(/^agentscope-ack:observability\.logs\.enabled: .* applies only to platform alicloud/),
    ]);
    expect(problems(withObs("local", { metrics: false, prometheusOperator: "on" }), "local")).toEqual([
      expect.stringMatching(/observability\.prometheusOperator: "on" needs observability\.metrics: true/),
    ]);
    expect(problems(withObs("dev", { otlpEndpoint: SLS, otlpEgressCidrs: ["0.0.0.0/0"] }), "dev")).toEqual([
      expect.stringMatching(/observability\.otlpEgressCidrs\[0\]: 0\.0\.0\.0\/0 would let agents and the manager send anywhere/),
    ]);
    expect(problems(withObs("local", { tracing: true }), "local")).toEqual([expect.stringMatching(/observability\.tracing: is not a known key \(known here: localTraceViewer, otlpEndpoint, /)]);
  });

  it("keeps otlpHeaders a secret: refused in plain text, needs an endpoint and https off-cluster, never echoed", () => {
    const headers = { [ns("otlpHeaders")]: CANARY };
    const plain = problems(withObs("dev", { otlpEndpoint: SLS, otlpEgressCidrs: ["100.100.30.0/24"] }, headers), "dev", [ns("modelApiKey")]);
    expect(plain).toEqual([expect.stringMatching(/^agentscope-ack:otlpHeaders: is stored in plain text in the stack file; .*pulumi config set --secret otlpHeaders/)]);
    expect(problems(withObs("dev", undefined, headers), "dev")).toEqual([expect.stringMatching(/^agentscope-ack:otlpHeaders: is set but observability\.otlpEndpoint is not/)]);
    expect(problems(withObs("dev", { otlpEndpoint: "http://obs.example.net/otel", otlpEgressCidrs: ["198.51.100.0/24"] }, headers), "dev")).toEqual([
      expect.stringMatching(/observability\.otlpEndpoint: is plain http to a host outside the cluster while otlpHeaders holds credentials: use https/),
    ]);
    const bad = problems(withObs("dev", { otlpEndpoint: SLS, otlpEgressCidrs: ["100.100.30.0/24"] }, { [ns("otlpHeaders")]: "CANARY-no-equals-sign" }), "dev");
    expect(bad).toEqual([expect.stringMatching(/^agentscope-ack:otlpHeaders: must be key=value pairs/)]);
    expect(bad.join("\n")).not.toContain("CANARY");
    expect(problems(withObs("dev", { otlpEndpoint: "https://user:pw@obs.example.net", otlpEgressCidrs: ["198.51.100.0/24"] }), "dev")).toEqual([
      expect.stringMatching(/otlpEndpoint: must not carry credentials in the URL/),
    ]);
  });
});

describe("the program with observability (local: the in-cluster Jaeger endpoint)", async () => {
  const run: ProgramRun = await runProgram(withObs("local", { otlpEndpoint: JAEGER }), "local");
  const k8s = (kind: string) => run.resources.filter((r) => r.type.endsWith(`:${kind}`) && r.type.startsWith("kubernetes:"));

  it("opens egress to the Jaeger namespace on 4318 and makes no Prometheus Operator objects (auto, no add-on)", () => {
    const egress = k8s("NetworkPolicy").find((p) => (p.inputs["metadata"] as { name: string }).name === "agents-otlp-egress");
    expect((egress!.inputs["spec"] as { egress: unknown }).egress).toEqual([{
      to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "agentscope-observability" } }, podSelector: { matchLabels: {} } }],
      ports: [{ protocol: "TCP", port: 4318 }],
    }]);
    expect(run.resources.filter((r) => r.type.startsWith("kubernetes:monitoring.coreos.com"))).toEqual([]);
    expect(run.resources.filter((r) => r.type.includes("AliyunPipelineConfig"))).toEqual([]);
  });
});

describe("the program with observability (dev: SLS trace endpoint, secret headers)", async () => {
  const config = { ...withObs("dev", { otlpEndpoint: SLS, otlpEgressCidrs: ["100.100.30.0/24"] }), [ns("otlpHeaders")]: CANARY };
  const run: ProgramRun = await runProgram(config, "dev");

  it("installs the managed Prometheus add-on and renders ServiceMonitors and the PrometheusRule", () => {
    expect(run.ofType("alicloud:cs/kubernetesAddon:KubernetesAddon").map((a) => a.inputs["name"])).toContain("ack-arms-prometheus");
    expect(run.ofType("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")).toHaveLength(2);
    expect(run.ofType("kubernetes:monitoring.coreos.com/v1:PrometheusRule")).toHaveLength(1);
  });

  it("collects the agents' and the manager's logs into SLS with a ClusterAliyunPipelineConfig", () => {
    const cr = run.one("kubernetes:telemetry.alibabacloud.com/v1alpha1:ClusterAliyunPipelineConfig");
    const spec = cr.inputs["spec"] as Record<string, unknown>;
    expect(spec).toEqual(pipelineConfigSpec({
      project: `k8s-log-${providerIdOf(run.one("alicloud:cs/managedKubernetes:ManagedKubernetes"))}`,
      logstore: "agentscope",
      region: "cn-hangzhou",
      endpoint: "cn-hangzhou-intranet.log.aliyuncs.com",
      namespace: "agentscope-agents",
      appNames: ["agentscope-agent", "sandbox-manager"],
    }));
    const input = ((spec["config"] as { inputs: Record<string, unknown>[] }).inputs)[0]!;
    expect(input["ContainerFilters"]).toEqual({ K8sNamespaceRegex: "^(agentscope-agents)$", IncludeK8sLabel: { "app.kubernetes.io/name": "^(agentscope-agent|sandbox-manager)$" } });
  });

  it("keeps the header canary out of every object but Secrets", () => {
    const holders = run.resources.filter((r) => JSON.stringify(r.inputs).includes("CANARY-ak-secret"));
    expect(holders.map((r) => r.type)).toEqual(["kubernetes:core/v1:Secret", "kubernetes:core/v1:Secret"]);
    expect(JSON.stringify(run.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment").map((r) => r.inputs))).not.toContain("CANARY");
  });
});
