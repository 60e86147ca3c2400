/**
 * A user's AgentApp with `tasks` (components/workload/agent-task-worker.ts) under mocks: the worker
 * Deployment runs the agent's image as `agent_launcher worker` with the app's environment, hardened
 * and placed as the agent is; the app submits to Redis (AGENT_TASKS); the worker is one of the
 * agents' pods for the NetworkPolicies but never behind the agent's Service, HPA or PDB.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { StackResource } from "../../policy/rules";
import { runRules } from "../../policy/rules";
import type { AgentRuntimeArgs, AgentSpec } from "../../components/workload/agent-runtime";
import { resolveAgentRuntimeArgs } from "../../components/workload/agent-runtime";
import { resolveAgentTaskWorkerArgs } from "../../components/workload/agent-task-worker";
import { NO_ACS } from "../../components/workload/acs";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { REPO_ROOT } from "../support/stack-config";
import { SECRETS, runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const SEED_IMAGE = `agentscope-registry-vpc.cn-hangzhou.cr.aliyuncs.com/agentscope/agent-seed@sha256:${"9".repeat(64)}`;
const seed = (tasks: AgentSpec["tasks"]): AgentSpec => ({
  name: "seed",
  model: { provider: "dashscope", name: "qwen-turbo" },
  replicas: { min: 1, max: 3 },
  cpu: 1,
  memoryGiB: 2,
  sandboxTypes: ["base"],
  source: { kind: "image", image: SEED_IMAGE, framework: "agentscope-runtime" },
  ...(tasks ? { tasks } : {}),
});
const withSeed = (env: "local" | "prod", tasks: AgentSpec["tasks"]): AgentScopeWorkloadsArgs => {
  const base = workloadsArgs(env);
  return { ...base, agents: [...base.agents, seed(tasks)] };
};

const runs = new Map<string, MockRun>();
beforeAll(async () => {
  runs.set("local", await runWorkloads(withSeed("local", {})));
  runs.set("prod", await runWorkloads(withSeed("prod", { workers: 2, concurrency: 4, cpu: 1, memoryGiB: 2 })));
  runs.set("none", await runWorkloads(withSeed("local", undefined)));
});

const one = (run: MockRun, kind: string, name: string): K8sObject => {
  const found = run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
};
const template = (d: K8sObject) => o(o(d["spec"])["template"]);
const podSpec = (d: K8sObject) => o(template(d)["spec"]);
const container = (d: K8sObject, name: string) => arr(podSpec(d)["containers"]).find((c) => c["name"] === name)!;
const envOf = (c: Obj) => Object.fromEntries(arr(c["env"]).map((e) => [String(e["name"]), e]));
const matches = (selector: unknown, labels: unknown) =>
  Object.entries(o(selector)).every(([k, v]) => o(labels)[k] === v);

describe.each(["local", "prod"])("an AgentApp with tasks (%s)", (env) => {
  const run = () => runs.get(env)!;
  const worker = () => one(run(), "Deployment", "agent-seed-tasks");

  it("renders only schema-valid objects, which pass the policy pack", async () => {
    expect(await schemaProblems(run().k8sObjects())).toEqual([]);
    const resources: StackResource[] = run().resources.filter((r) => !r.read)
      .map((r) => ({ type: r.type, name: r.name, urn: `urn:pulumi:${env}::agentscope-ack::${r.type}::${r.name}`, props: r.inputs }));
    const config = JSON.parse(readFileSync(join(REPO_ROOT, "policy", "config", `${env}.json`), "utf8")) as Record<string, unknown>;
    const violations = runRules(resources, { ...config, "acs-network-policy": { poseidonOutsideStack: true } }, new Map([["environment", env]]));
    expect(violations.map((v) => `[${v.policy}] ${v.message}`)).toEqual([]);
  });

  it("runs the agent's image as the worker, with the app's environment and the broker switched on", () => {
    const agent = one(run(), "Deployment", "agent-seed");
    const c = container(worker(), "worker");
    expect(c["image"]).toBe(SEED_IMAGE);
    expect(c["args"]).toEqual(["worker"]);
    expect(c["command"]).toBeUndefined(); // the image's entrypoint: python -m agent_launcher
    const workerEnv = envOf(c);
    const appEnv = envOf(container(agent, "agent"));
    expect(workerEnv["AGENT_TASKS"]).toEqual({ name: "AGENT_TASKS", value: "celery" });
    expect(workerEnv["AGENT_TASK_CONCURRENCY"]).toEqual({ name: "AGENT_TASK_CONCURRENCY", value: env === "prod" ? "4" : "2" });
    // The app submits to the same broker, under the same agent name (the key prefix).
    expect(appEnv["AGENT_TASKS"]).toEqual({ name: "AGENT_TASKS", value: "celery" });
    expect(envOf(container(agent, "gateway"))["AGENT_TASKS"]).toBeUndefined();
    for (const name of ["AGENT_NAME", "REDIS_URL", "REDIS_PASSWORD", "MODEL_API_KEY", "DASHSCOPE_API_KEY", "SANDBOX_MANAGER_URL"]) {
      expect(workerEnv[name], name).toEqual(appEnv[name]);
    }
    expect(o(o(workerEnv["REDIS_PASSWORD"]!["valueFrom"])["secretKeyRef"])).toEqual({ name: "agent-seed", key: "REDIS_PASSWORD" });
    expect(JSON.stringify(worker())).not.toContain(SECRETS.redisPassword);
    // A rotated Secret rolls the workers with the agent.
    expect(o(template(worker())["metadata"])["annotations"]).toMatchObject({
      "agentscope.io/secret-sha256": o(o(template(agent)["metadata"])["annotations"])["agentscope.io/secret-sha256"],
    });
  });

  it("is hardened as the agent is, with no token, requests = limits and probes", () => {
    const spec = podSpec(worker());
    const c = container(worker(), "worker");
    expect(spec["automountServiceAccountToken"]).toBe(false);
    expect(spec["serviceAccountName"]).toBeUndefined();
    expect(spec["enableServiceLinks"]).toBe(false);
    expect(spec["securityContext"]).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } });
    expect(c["securityContext"]).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    // A port for the kubelet's probes alone: ready once it consumes its queues.
    expect(c["ports"]).toEqual([{ name: "health", containerPort: 8080, protocol: "TCP" }]);
    expect(o(c["readinessProbe"])["httpGet"]).toEqual({ path: "/health", port: "health" });
    expect(o(c["livenessProbe"])["tcpSocket"]).toEqual({ port: "health" });
    const resources = o(c["resources"]);
    expect(resources["requests"]).toEqual(resources["limits"]);
    expect(resources["requests"]).toEqual(env === "prod" ? { cpu: "1000m", memory: "2048Mi" } : { cpu: "500m", memory: "1024Mi" });
    expect(o(worker()["spec"])["replicas"]).toBe(env === "prod" ? 2 : 1);
    expect(spec["terminationGracePeriodSeconds"]).toBe(60);
    if (env === "prod") {
      expect(o(template(worker())["metadata"])["labels"]).toMatchObject({ "alibabacloud.com/acs": "true" });
      expect(spec["tolerations"]).toEqual(podSpec(one(run(), "Deployment", "agent-seed"))["tolerations"]);
    }
  });

  it("is one of the agents' pods for the NetworkPolicies, never behind the agent's Service, HPA or PDB", () => {
    const labels = o(template(worker())["metadata"])["labels"];
    const policy = (name: string) => o(o(one(run(), "NetworkPolicy", name)["spec"])["podSelector"])["matchLabels"];
    expect(matches(policy("agents-egress"), labels)).toBe(true);
    expect(matches(policy("agent-seed"), labels)).toBe(false); // no ingress: default deny
    expect(matches(o(one(run(), "Service", "agent-seed")["spec"])["selector"], labels)).toBe(false);
    expect(matches(o(o(one(run(), "PodDisruptionBudget", "agent-seed")["spec"])["selector"])["matchLabels"], labels)).toBe(false);
    expect(o(o(one(run(), "HorizontalPodAutoscaler", "agent-seed")["spec"])["scaleTargetRef"])["name"]).toBe("agent-seed");
    expect(run().k8sObjects().filter((x) => x.kind === "Service" && JSON.stringify(x).includes("agent-seed-tasks"))).toEqual([]);
  });
});

describe("an AgentApp without tasks", () => {
  it("gets no worker, and its app runs tasks as the runtime does", () => {
    const run = runs.get("none")!;
    expect(run.k8sObjects().filter((x) => x.metadata?.name === "agent-seed-tasks")).toEqual([]);
    expect(envOf(container(one(run, "Deployment", "agent-seed"), "agent"))["AGENT_TASKS"]).toBeUndefined();
  });
});

describe("bad task settings", () => {
  const DIGEST = `registry.example.com/agent@sha256:${"a".repeat(64)}`;
  const agentArgs = (agent: Partial<AgentSpec>, over: Partial<AgentRuntimeArgs> = {}): AgentRuntimeArgs => ({
    namespace: "agents",
    partOf: "agentscope",
    image: DIGEST,
    sandboxManagerUrl: "http://sandbox-manager:8000",
    secrets: { agentApiToken: "a".repeat(32), sandboxManagerToken: "b".repeat(32), redisPassword: "c".repeat(32) },
    redis: { host: "redis", port: 6379 },
    agent: { ...seed({}), ...agent },
    ...over,
  });

  it("refuses tasks where no AgentApp of the user's runs them, or without Redis", () => {
    expect(() => resolveAgentRuntimeArgs(agentArgs({ source: { kind: "builtin" } }))).toThrow(/agent\.tasks applies only to an AgentApp of the user's/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({ source: { kind: "image", image: DIGEST, framework: "agentscope2" } }, { secrets: { agentApiToken: "a".repeat(32), sandboxManagerToken: "b".repeat(32), redisPassword: "c".repeat(32), modelApiKey: "k" } })))
      .toThrow(/agent\.tasks applies only to an AgentApp of the user's/);
    const withoutRedis = agentArgs({});
    delete withoutRedis.redis;
    expect(() => resolveAgentRuntimeArgs(withoutRedis)).toThrow(/agent\.tasks needs redis/);
    expect(() => resolveAgentRuntimeArgs(agentArgs({}))).not.toThrow();
  });

  it("names the bad size or count", () => {
    const args = (tasks: AgentSpec["tasks"], acs = false) => ({
      namespace: "agents", partOf: "agentscope", agentName: "seed", image: DIGEST, env: [], tasks: tasks!,
      ...(acs ? { placement: { ...NO_ACS, enabled: true } } : {}),
    });
    expect(() => resolveAgentTaskWorkerArgs(args({ workers: 0 }))).toThrow(/tasks\.workers must be a whole number from 1 to 50, got 0/);
    expect(() => resolveAgentTaskWorkerArgs(args({ concurrency: 1.5 }))).toThrow(/tasks\.concurrency must be a whole number from 1 to 64, got 1.5/);
    expect(() => resolveAgentTaskWorkerArgs(args({ cpu: 0 }))).toThrow(/tasks\.cpu must be a positive number, got 0/);
    expect(() => resolveAgentTaskWorkerArgs(args({ cpu: 0.25, memoryGiB: 0.5 }, true))).toThrow(/tasks\.cpu 0\.25 \/ tasks\.memoryGiB 0\.5 is not an ACS size/);
    expect(resolveAgentTaskWorkerArgs(args({}))).toMatchObject({ workers: 1, concurrency: 2, cpu: 0.5, memoryGiB: 1, resourceName: "agent-seed-tasks" });
  });
});
