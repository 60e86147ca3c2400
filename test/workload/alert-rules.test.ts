// The alert rules: valid PromQL (parsed with Prometheus's own lezer grammar, @prometheus-io/lezer-promql),
// only the contract's metric names, a runbook line each, and the PrometheusRule schema.
import { parser } from "@prometheus-io/lezer-promql";
import { describe, expect, it } from "vitest";
import { alertRules } from "../../components/workload/alert-rules";
import { CONTRACT_METRICS } from "../../components/workload/telemetry";
import { validateK8sObject } from "../support/k8s-schema";

/** Syntax errors and the metric names a PromQL expression selects. */
function analyse(expr: string): { errors: string[]; metrics: string[] } {
  const errors: string[] = [];
  const metrics: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) errors.push(`syntax error at ${n.from}: ${JSON.stringify(expr.slice(n.from, n.from + 20))}`);
      if (n.name === "VectorSelector") {
        const id = n.node.getChild("Identifier");
        if (id) metrics.push(expr.slice(id.from, id.to));
      }
    },
  });
  return { errors, metrics };
}

const CONTRACT: readonly string[] = Object.values(CONTRACT_METRICS).flat();
/** A histogram is exported as its _bucket, _sum and _count series. */
const base = (m: string) => m.replace(/_(bucket|sum|count)$/, "");

describe("alert rules", () => {
  const rules = alertRules();

  it("cover what pages a person: error rate, p95 latency, pool exhausted and slow refill, create failures, Redis", () => {
    expect(rules.map((r) => r.alert)).toEqual([
      "AgentScopeTurnErrorRate",
      "AgentScopeGatewayErrorRate",
      "AgentScopeTurnLatencyP95",
      "AgentScopeSandboxPoolExhausted",
      "AgentScopeSandboxPoolRefillSlow",
      "AgentScopeSandboxCreateFailures",
      "AgentScopeRedisUnreachable",
    ]);
  });

  it("parse as PromQL and select only metrics of the contract", () => {
    for (const r of rules) {
      const { errors, metrics } = analyse(r.expr);
      expect(errors, r.alert).toEqual([]);
      expect(metrics.length, r.alert).toBeGreaterThan(0);
      for (const m of metrics) expect(CONTRACT, `${r.alert}: ${m}`).toContain(base(m));
    }
  });

  it("the parser used here does reject broken PromQL and unknown names are caught", () => {
    expect(analyse("sum(rate(agentscope_agent_turns_total[5m]) >").errors.length).toBeGreaterThan(0);
    expect(analyse("agentscope_sandbox_warm_total == 0").metrics.map(base).every((m) => CONTRACT.includes(m))).toBe(false);
  });

  it("use the exact contract conditions for the pool and Redis", () => {
    const by = (name: string) => rules.find((r) => r.alert === name)!.expr;
    expect(by("AgentScopeSandboxPoolExhausted")).toBe("sum by (sandbox_type) (agentscope_sandbox_warm) == 0 and sum by (sandbox_type) (agentscope_sandbox_in_use) > 0");
    expect(by("AgentScopeRedisUnreachable")).toBe("agentscope_redis_up == 0");
    expect(by("AgentScopeTurnLatencyP95")).toContain("histogram_quantile(0.95,");
  });

  it("each carry a summary, a description and a runbook line, and a severity", () => {
    for (const r of rules) {
      expect(r.annotations.runbook.length, r.alert).toBeGreaterThan(20);
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      expect(r.annotations.description.length).toBeGreaterThan(10);
      expect(["page", "ticket"]).toContain(r.labels.severity);
      expect(r.for).toMatch(/^\d+m$/);
    }
  });

  it("take thresholds, and refuse nonsense ones", () => {
    const custom = alertRules({ errorRatio: 0.2, p95TurnSeconds: 12, refillMinutes: 30, createFailures: 1 });
    expect(custom.find((r) => r.alert === "AgentScopeTurnErrorRate")!.expr).toMatch(/> 0\.2$/);
    expect(custom.find((r) => r.alert === "AgentScopeTurnLatencyP95")!.expr).toMatch(/> 12$/);
    expect(custom.find((r) => r.alert === "AgentScopeSandboxPoolRefillSlow")!.for).toBe("30m");
    for (const r of custom) expect(analyse(r.expr).errors).toEqual([]);
    expect(() => alertRules({ errorRatio: 1.5 })).toThrow("errorRatio must be below 1");
    expect(() => alertRules({ p95TurnSeconds: 0 })).toThrow("p95TurnSeconds must be a positive number");
  });

  it("fit the PrometheusRule schema, which does reject a malformed rule", async () => {
    const rule = (rs: unknown[]) => ({ apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "agentscope-alerts", namespace: "agentscope-agents" }, spec: { groups: [{ name: "agentscope", rules: rs }] } });
    await validateK8sObject(rule(rules.map((r) => ({ ...r }))));
    await expect(validateK8sObject(rule([{ alert: "X", for: "five minutes" }]))).rejects.toThrow("fails the Kubernetes schema");
  });
});
