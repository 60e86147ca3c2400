/**
 * observability.localTraceViewer: the config that turns the local trace viewer on, what it refuses,
 * and what the program renders and exports with it (index.ts under mocks).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { StackResource } from "../policy/rules";
import { runRules } from "../policy/rules";
import { localTraceViewerEndpoint, traceViewerNamespace } from "../config/trace-viewer-args";
import { valueOf } from "./support/mocks";
import { runProgram } from "./support/program";
import { parseStackConfig } from "../config";
import { configProblems } from "./support/config-problems";
import type { FlatConfig } from "./support/stack-config";
import { PROJECT, REPO_ROOT, shippedStackConfig } from "./support/stack-config";

const ns = (key: string) => `${PROJECT}:${key}`;
const IMAGE = `localhost:5000/agentscope/jaeger@sha256:${"7".repeat(64)}`;

function withKeys(stack: "local" | "dev" | "prod", values: Record<string, unknown>): FlatConfig {
  const base = shippedStackConfig(stack);
  for (const [k, v] of Object.entries(values)) {
    const merged = k === "images" ? { ...(JSON.parse(base[ns("images")] ?? "{}") as object), ...(v as object) } : v;
    base[ns(k)] = JSON.stringify(merged);
  }
  return base;
}

const problems = (config: FlatConfig, stack: string) => [...configProblems(config, stack)];

const ON = { observability: { localTraceViewer: true }, images: { traceViewer: IMAGE } };

describe("observability.localTraceViewer", () => {
  it("is off by default in every shipped stack", () => {
    for (const stack of ["local", "dev", "prod"] as const) {
      const c = parseStackConfig({ values: shippedStackConfig(stack), project: PROJECT, stack });
      expect(c.observability.localTraceViewer).toBe(false);
      expect(localTraceViewerEndpoint(c)).toBeUndefined();
    }
  });

  it("turns on with an image by digest, and names the contract's endpoint", () => {
    const c = parseStackConfig({ values: withKeys("local", ON), project: PROJECT, stack: "local" });
    expect(c.observability.localTraceViewer).toBe(true);
    expect(traceViewerNamespace(c)).toBe("agentscope-observability");
    expect(localTraceViewerEndpoint(c)).toBe("http://jaeger-collector.agentscope-observability.svc.cluster.local:4318");
  });

  it("asks for the image by name when it is on without one", () => {
    expect(problems(withKeys("local", { observability: { localTraceViewer: true } }), "local"))
      .toEqual([expect.stringContaining(`${ns("images.traceViewer")}: is required with observability.localTraceViewer`)]);
  });

  it("refuses an image by tag, a non-boolean switch and an unknown key", () => {
    expect(problems(withKeys("local", { ...ON, images: { traceViewer: "localhost:5000/agentscope/jaeger:latest" } }), "local").join("\n"))
      .toContain(`${ns("images.traceViewer")}: must be pinned by digest`);
    expect(problems(withKeys("local", { observability: { localTraceViewer: "yes" } }), "local").join("\n"))
      .toContain(`${ns("observability.localTraceViewer")}: Invalid input: expected boolean`);
    expect(problems(withKeys("local", { observability: { jaeger: true } }), "local").join("\n"))
      .toContain(`${ns("observability.jaeger")}: is not a known key (known here: localTraceViewer`);
  });

  it("is refused in prod", () => {
    expect(problems(withKeys("prod", ON), "prod").join("\n")).toContain(`${ns("observability.localTraceViewer")}: is refused in prod`);
  });
});

describe("the program with the local trace viewer on", async () => {
  const withRegistryAuth = {
    ...withKeys("local", { ...ON, images: { ...ON.images, registryUsername: "agentscope" } }),
    [ns("localRegistryPassword")]: "registry-canary-password",
  };
  const run = await runProgram(withRegistryAuth, "local");

  it("deploys Jaeger in <prefix>-observability with the contract's Services", () => {
    const objects = run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs["metadata"]);
    const names = objects
      .filter((r) => (r.inputs["metadata"] as { namespace?: string }).namespace === "agentscope-observability")
      .map((r) => `${String(r.inputs["kind"])}/${String((r.inputs["metadata"] as { name: string }).name)}`)
      .sort();
    expect(names).toEqual([
      "Deployment/jaeger", "NetworkPolicy/default-deny", "NetworkPolicy/jaeger",
      "Secret/registry-pull", "Service/jaeger-collector", "Service/jaeger-query",
    ]);
    const d = run.one("kubernetes:apps/v1:Deployment", "trace-viewer-deployment");
    expect(JSON.stringify(d.inputs)).toContain(IMAGE);
  });

  it("lets the agents and the sandbox manager, and nothing in the sandbox namespace, send spans", () => {
    const own = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "trace-viewer-policy");
    const from = ((own.inputs["spec"] as { ingress: { from: { namespaceSelector: unknown; podSelector: unknown }[] }[] }).ingress[0]!).from;
    expect(from).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "agentscope-agents" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "agentscope-agent" } } },
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "agentscope-agents" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "sandbox-manager", "app.kubernetes.io/instance": "agentscope-sandbox-manager" } } },
    ]);
    expect(JSON.stringify(own.inputs)).not.toContain("agentscope-sandboxes");
  });

  it("is the workloads' trace receiver: their OTLP endpoint, and their egress to exactly Jaeger's pod on 4318", () => {
    const agent = run.one("kubernetes:apps/v1:Deployment", "agentscope-agent-friday-deployment");
    expect(JSON.stringify(agent.inputs)).toContain("http://jaeger-collector.agentscope-observability.svc.cluster.local:4318");
    const egress = run.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .map((r) => r.inputs["spec"] as { egress?: { to?: { namespaceSelector?: unknown; podSelector?: { matchLabels?: Record<string, string> } }[]; ports?: { port: number }[] }[] })
      .flatMap((spec) => spec.egress ?? [])
      .filter((rule) => (rule.to ?? []).some((t) => t.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "jaeger"));
    expect(egress.length).toBeGreaterThan(0);
    for (const rule of egress) expect(rule.ports).toEqual([expect.objectContaining({ port: 4318 })]);
    // TraceViewer's own per-client egress is off: the workloads' policy already is that egress.
    expect(run.resources.filter((r) => r.name.includes("trace-viewer-clients"))).toHaveLength(0);
  });

  it("passes the policy pack with the local stack's pack config", () => {
    const resources: StackResource[] = run.resources.map((r) => ({
      type: r.type, name: r.name, urn: `urn:pulumi:local::${PROJECT}::${r.type}::${r.name}`, props: r.inputs,
    }));
    expect(resources.filter((r) => r.name.includes("trace-viewer"))).toHaveLength(7);
    const packConfig = JSON.parse(readFileSync(join(REPO_ROOT, "policy", "config", "local.json"), "utf8")) as Record<string, unknown>;
    expect(runRules(resources, packConfig, new Map([["environment", "local"]])).map((v) => `[${v.policy}] ${v.message}`)).toEqual([]);
  });

  it("exports the OTLP endpoint and the port-forward that opens the UI", async () => {
    expect(await valueOf(run.outputs["traceViewerOtlpEndpoint"] as never)).toBe("http://jaeger-collector.agentscope-observability.svc.cluster.local:4318");
    expect(await valueOf(run.outputs["traceViewerNamespace"] as never)).toBe("agentscope-observability");
    expect(await valueOf(run.outputs["traceViewerPortForward"] as never)).toBe("kubectl -n agentscope-observability port-forward svc/jaeger-query 16686:16686");
  });
});

describe("the program with the local trace viewer off", async () => {
  const run = await runProgram(shippedStackConfig("local"), "local");

  it("renders none of it and exports nothing for it", () => {
    expect(run.resources.filter((r) => r.name.includes("trace-viewer"))).toEqual([]);
    expect(run.outputs["traceViewerPortForward"]).toBeUndefined();
    expect(run.outputs["traceViewerOtlpEndpoint"]).toBeUndefined();
  });
});
