/**
 * The alert rules of the stack, as plain data: a PrometheusRule holds them (monitoring.ts) and the
 * tests parse every expression. Each uses only the contract's metric names (telemetry.ts).
 */

/** Thresholds of the alerts; every field has a default. */
export interface AlertThresholds {
  /** Share of failed turns (or 5xx gateway answers) over 5 minutes that pages (default 0.05). */
  errorRatio?: number;
  /** p95 of a turn's duration in seconds that pages (default 30). */
  p95TurnSeconds?: number;
  /** Minutes the warm pool may stay below its target before it counts as refilling too slowly (default 15). */
  refillMinutes?: number;
  /** Sandbox create failures in 15 minutes that page (default 3). */
  createFailures?: number;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { severity: "page" | "ticket" };
  readonly annotations: { summary: string; description: string; runbook: string };
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`Monitoring: alerts.${name} must be a positive number, got ${v}`);
  return v;
}

export function alertRules(t: AlertThresholds = {}): AlertRule[] {
  const ratio = positive("errorRatio", t.errorRatio ?? 0.05);
  if (ratio >= 1) throw new Error(`Monitoring: alerts.errorRatio must be below 1, got ${ratio}`);
  const p95 = positive("p95TurnSeconds", t.p95TurnSeconds ?? 30);
  const refill = positive("refillMinutes", t.refillMinutes ?? 15);
  const failures = positive("createFailures", t.createFailures ?? 3);
  return [
    {
      alert: "AgentScopeTurnErrorRate",
      expr: `sum by (agent) (rate(agentscope_agent_turns_total{outcome="error"}[5m])) / sum by (agent) (rate(agentscope_agent_turns_total[5m])) > ${ratio}`,
      for: "10m",
      labels: { severity: "page" },
      annotations: {
        summary: "Agent {{ $labels.agent }}: more than " + `${ratio * 100}` + "% of turns fail",
        description: "Share of agent turns ending with outcome=error over 5 minutes.",
        runbook: "Open a failed turn's trace (Jaeger or ARMS/SLS trace) and the agent's logs by trace_id; a model API error or a sandbox failure is the usual cause.",
      },
    },
    {
      alert: "AgentScopeGatewayErrorRate",
      expr: `sum(rate(agentscope_gateway_requests_total{code=~"5.."}[5m])) / sum(rate(agentscope_gateway_requests_total[5m])) > ${ratio}`,
      for: "10m",
      labels: { severity: "page" },
      annotations: {
        summary: "Gateway answers 5xx to more than " + `${ratio * 100}` + "% of requests",
        description: "Share of gateway responses with a 5xx code over 5 minutes, all agents.",
        runbook: "Check that the agent container is Ready (kubectl get pods -l app.kubernetes.io/name=agentscope-agent) and read its logs; a 502 means the app behind the gateway is down.",
      },
    },
    {
      alert: "AgentScopeTurnLatencyP95",
      expr: `histogram_quantile(0.95, sum by (le, agent) (rate(agentscope_agent_turn_duration_seconds_bucket[10m]))) > ${p95}`,
      for: "15m",
      labels: { severity: "page" },
      annotations: {
        summary: `Agent {{ $labels.agent }}: p95 turn latency above ${p95} s`,
        description: "95th percentile of agent turn duration over 10 minutes.",
        runbook: "Compare agentscope_model_call_duration_seconds and agentscope_sandbox_claim_duration_seconds: a slow model or cold sandbox creates; open a slow trace to see which span dominates.",
      },
    },
    {
      alert: "AgentScopeSandboxPoolExhausted",
      expr: "sum by (sandbox_type) (agentscope_sandbox_warm) == 0 and sum by (sandbox_type) (agentscope_sandbox_in_use) > 0",
      for: "5m",
      labels: { severity: "page" },
      annotations: {
        summary: "Sandbox pool {{ $labels.sandbox_type }} has no warm sandbox while sandboxes are in use",
        description: "Every claim now waits for a cold create (about 10 s or more).",
        runbook: "Raise sandbox.poolSize (and maxInstances) or check why sandbox pods stay Pending: kubectl -n <prefix>-sandboxes get pods, events, ACS quota.",
      },
    },
    {
      alert: "AgentScopeSandboxPoolRefillSlow",
      expr: "sum by (sandbox_type) (agentscope_sandbox_warm) < sum by (sandbox_type) (agentscope_sandbox_pool_target)",
      for: `${refill}m`,
      labels: { severity: "ticket" },
      annotations: {
        summary: `Sandbox pool {{ $labels.sandbox_type }} below its target for ${refill} minutes`,
        description: "The manager refills the warm pool too slowly (or cannot create sandboxes).",
        runbook: "Read the sandbox manager's logs for create errors and check agentscope_sandbox_create_failures_total; check image pulls and the sandbox namespace's events.",
      },
    },
    {
      alert: "AgentScopeSandboxCreateFailures",
      expr: `sum by (sandbox_type) (increase(agentscope_sandbox_create_failures_total[15m])) > ${failures}`,
      for: "0m",
      labels: { severity: "page" },
      annotations: {
        summary: `Sandbox manager failed to create more than ${failures} {{ $labels.sandbox_type }} sandboxes in 15 minutes`,
        description: "Sandbox pod or Service creation failed (API errors, image pull, readiness timeout).",
        runbook: "kubectl -n <prefix>-sandboxes get events; the manager's logs name the failing call; check its Role and the sandbox image digest.",
      },
    },
    {
      alert: "AgentScopeRedisUnreachable",
      expr: "agentscope_redis_up == 0",
      for: "2m",
      labels: { severity: "page" },
      annotations: {
        summary: "Sandbox manager {{ $labels.pod }} cannot reach Redis",
        description: "The last Redis ping failed: sessions and the shared warm pool are unavailable.",
        runbook: "Check the Redis pod (in-cluster) or the Tair instance and its whitelist (managed), and the NetworkPolicy egress to Redis.",
      },
    },
  ];
}
