/**
 * Per-agent source under mocks: a user's directory (built on the user-agent kit) and a prebuilt
 * image run beside Friday with the same pod hardening, gateway, probes, HPA, PDB and NetworkPolicy,
 * each by its own digest; only Friday gets Friday's settings, and the gateway checks callers for a
 * user's app.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { resolveWorkloadsArgs } from "../../components/workload/workloads";
import { resolveAgentRuntimeArgs } from "../../components/workload/agent-runtime";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { MOCK_DIGEST } from "../support/mocks";
import type { Env } from "../support/workloads-fixtures";
import { SECRETS, runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const USER_IMAGE = `registry.example.com/team/seed@sha256:${"9".repeat(64)}`;
const SEED = { kind: "directory", path: "examples/seed-agent", app: "app:agent_app", framework: "agentscope-runtime" } as const;

/** The fixture's stack plus a directory agent (`seed`, when the stack builds) and an image agent (`byo`). */
function withUserAgents(env: Env): AgentScopeWorkloadsArgs {
  const base = workloadsArgs(env);
  const builds = base.images.build !== undefined;
  const user = { model: { provider: "dashscope" as const, name: "qwen-turbo" }, replicas: { min: 1, max: 3 }, cpu: 1, memoryGiB: 2, sandboxTypes: ["base" as const] };
  return {
    ...base,
    images: builds
      ? {
        ...base.images,
        build: {
          ...base.images.build!,
          userAgents: { seed: { repository: "push.example.com/agentscope/agent-seed", pullRepository: "pull.example.com/agentscope/agent-seed" } },
          userAgentKitRepository: "push.example.com/agentscope/user-agent-kit",
        },
      }
      : base.images,
    agents: [
      ...base.agents,
      ...(builds ? [{ ...user, name: "seed", source: SEED }] : []),
      { ...user, name: "byo", source: { kind: "image", image: USER_IMAGE, framework: "agentscope-runtime" } },
    ],
  };
}

function deployment(run: MockRun, name: string): K8sObject {
  const found = run.k8sObjects().filter((x) => x.kind === "Deployment" && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one Deployment ${name}, found ${found.length}`);
  return found[0]!;
}
const podSpec = (d: K8sObject) => o(o(o(d["spec"])["template"])["spec"]);
const container = (d: K8sObject, name: string) => arr(podSpec(d)["containers"]).find((c) => c["name"] === name)!;
const envNames = (c: Obj) => arr(c["env"]).map((e) => String(e["name"]));
const envOf = (c: Obj, name: string) => arr(c["env"]).find((e) => e["name"] === name);

const runs = new Map<Env, MockRun>();
beforeAll(async () => {
  for (const env of ["local", "prod"] as const) runs.set(env, await runWorkloads(withUserAgents(env)));
});

describe("a directory agent (the stack builds it)", () => {
  it("builds the kit, then the user's directory on it, and runs the pushed digest from the pull repository", () => {
    const run = runs.get("local")!;
    const images = run.ofType("docker:index/image:Image");
    const kit = images.find((i) => i.name.endsWith("-user-agent-kit-image-image"))!;
    expect(o(kit.inputs["build"])).toMatchObject({ context: "agent-image", target: "user-agent-kit" });
    const seed = images.find((i) => i.name.endsWith("-agent-seed-image-image"))!;
    expect(o(seed.inputs["build"])).toMatchObject({
      context: "examples/seed-agent",
      dockerfile: "agent-image/user-agent.Dockerfile",
      target: "user-agent",
      args: {
        AGENT_APP: "app:agent_app",
        KIT_IMAGE: `push.example.com/agentscope/user-agent-kit@sha256:${MOCK_DIGEST}`,
        BASE_IMAGE: "localhost:5000/library/python:3.11-slim-bookworm",
      },
    });
    expect(String(seed.inputs["imageName"])).toMatch(/^push\.example\.com\/agentscope\/agent-seed:src-[0-9a-f]{16}$/);
    expect(container(deployment(run, "agent-seed"), "agent")["image"]).toBe(`pull.example.com/agentscope/agent-seed@sha256:${MOCK_DIGEST}`);
    // The gateway runs from our agent image, Friday's: it carries the gateway's tracing and metrics,
    // and the user's lock need not hold httpx and uvicorn.
    const fridayImage = container(deployment(run, "agent-friday"), "agent")["image"];
    expect(fridayImage).toMatch(/@sha256:/);
    expect(container(deployment(run, "agent-seed"), "gateway")["image"]).toBe(fridayImage);
  });
});

describe.each(["local", "prod"] as const)("user agents beside Friday (%s)", (env) => {
  const run = () => runs.get(env)!;
  const users = env === "local" ? ["seed", "byo"] : ["byo"];

  it("renders only schema-valid objects", async () => {
    expect(await schemaProblems(run().k8sObjects())).toEqual([]);
  });

  it("runs an image agent by the digest given, its gateway from our agent image", () => {
    const d = deployment(run(), "agent-byo");
    expect(container(d, "agent")["image"]).toBe(USER_IMAGE);
    expect(container(d, "gateway")["image"]).toBe(container(deployment(run(), "agent-friday"), "gateway")["image"]);
  });

  it.each(users)("gives %s Friday's pod spec but its image and env: hardening, probes, gateway, placement", (name) => {
    const friday = deployment(run(), "agent-friday");
    const user = deployment(run(), `agent-${name}`);
    const strip = (d: K8sObject) => {
      const spec = podSpec(d);
      const containers = arr(spec["containers"]).map((c) => ({ ...c, image: "-", env: "-" }));
      // Per-agent names: the gateway ConfigMap's, and the selector in the zone spread.
      const volumes = arr(spec["volumes"]).map((v) => ({ ...v, configMap: v["configMap"] ? { ...o(v["configMap"]), name: "-" } : undefined }));
      return { ...spec, containers, volumes, topologySpreadConstraints: "-" };
    };
    expect(strip(user)).toEqual(strip(friday));
    expect(container(user, "agent")["startupProbe"]).toEqual({ httpGet: { path: "/health", port: "app" }, periodSeconds: 3, timeoutSeconds: 3, failureThreshold: 60 });
    expect(podSpec(user)["automountServiceAccountToken"]).toBe(false);
    expect(o(o(o(user["spec"])["template"])["metadata"])["labels"]).toEqual({
      ...o(o(o(friday["spec"])["template"])["metadata"])["labels"] as Obj,
      "app.kubernetes.io/instance": `agentscope-${name}`,
    });
  });

  it.each(users)("gives %s the model, Redis and sandbox manager, not Friday's settings, and never the callers' token", (name) => {
    const app = container(deployment(run(), `agent-${name}`), "agent");
    const names = envNames(app);
    for (const n of ["MODEL_PROVIDER", "MODEL_NAME", "MODEL_API_KEY", "DASHSCOPE_API_KEY", "SANDBOX_MANAGER_URL", "SANDBOX_MANAGER_TOKEN", "REDIS_URL", "REDIS_PASSWORD", "HOME"]) expect(names).toContain(n);
    for (const n of ["SANDBOX_TYPE", "SANDBOX_TYPES", "ALLOW_LOCAL_CODE_EXECUTION", "MAX_REQUEST_BYTES", "SHUTDOWN_DRAIN_SECONDS", "AGENT_API_TOKEN"]) expect(names).not.toContain(n);
    expect(o(envOf(app, "DASHSCOPE_API_KEY")?.["valueFrom"])).toEqual({ secretKeyRef: { name: `agent-${name}`, key: "MODEL_API_KEY" } });
    const gateway = container(deployment(run(), `agent-${name}`), "gateway");
    expect(envOf(gateway, "GATEWAY_AUTH")?.["value"]).toBe("bearer");
    expect(o(envOf(gateway, "GATEWAY_TOKEN")?.["valueFrom"])).toEqual({ secretKeyRef: { name: `agent-${name}`, key: "AGENT_API_TOKEN" } });
  });

  it("leaves Friday as it was: its settings, its own token check, no gateway token", () => {
    const friday = deployment(run(), "agent-friday");
    expect(envNames(container(friday, "agent"))).toEqual(expect.arrayContaining(["SANDBOX_TYPE", "AGENT_API_TOKEN", "SHUTDOWN_DRAIN_SECONDS"]));
    expect(envNames(container(friday, "agent"))).not.toContain("DASHSCOPE_API_KEY");
    expect(envNames(container(friday, "gateway"))).not.toContain("GATEWAY_AUTH");
    expect(envNames(container(friday, "gateway"))).not.toContain("GATEWAY_TOKEN");
  });

  it.each(users)("gives %s a Service, HPA, PDB and a NetworkPolicy of its own", (name) => {
    const objs = run().k8sObjects();
    for (const kind of ["Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"]) {
      expect(objs.filter((x) => x.kind === kind && x.metadata?.name === `agent-${name}`), kind).toHaveLength(1);
    }
    const policies = objs.filter((x) => x.kind === "NetworkPolicy" && JSON.stringify(o(o(x["spec"])["podSelector"])).includes(`agentscope-${name}`));
    expect(policies.length).toBeGreaterThan(0);
  });

  it("keeps the model key in the Secret only", () => {
    for (const d of run().k8sObjects().filter((x) => x.kind === "Deployment")) expect(JSON.stringify(d)).not.toContain(SECRETS.modelApiKey);
  });
});

describe("bad sources are refused, naming the agent and the key", () => {
  const args = (source: unknown): AgentScopeWorkloadsArgs => {
    const base = workloadsArgs("local");
    return {
      ...base,
      agents: [...base.agents, { ...base.agents[0]!, name: "mine", source: source as NonNullable<AgentScopeWorkloadsArgs["agents"][number]["source"]> }],
    };
  };
  it.each([
    [{ kind: "image", image: "registry.example.com/x:v1", framework: "agentscope-runtime" }, "agents[mine].source.image must be pinned by digest"],
    [{ kind: "image", image: USER_IMAGE, framework: "langchain" }, "agents[mine].source.framework must be one of agentscope-runtime"],
    [{ kind: "directory", path: "examples/seed-agent", app: "app", framework: "agentscope-runtime" }, "agents[mine].source.app must be module:attribute"],
    [SEED, "images.build.userAgents.mine (its repository) is required"],
  ])("%j", (source, message) => {
    expect(() => resolveWorkloadsArgs(args(source))).toThrow(message);
  });

  it("refuses a directory agent when the stack does not build", () => {
    const prod = workloadsArgs("prod");
    expect(() => resolveWorkloadsArgs({ ...prod, agents: [...prod.agents, { ...prod.agents[0]!, name: "mine", source: SEED }] }))
      .toThrow("agents[mine].source is a directory, which needs images.build");
  });

  it("refuses to turn the gateway off in front of a user's app", () => {
    const agent = { ...workloadsArgs("local").agents[0]!, source: { kind: "image", image: USER_IMAGE, framework: "agentscope-runtime" } as const };
    expect(() => resolveAgentRuntimeArgs({
      namespace: "ns", partOf: "agentscope", agent, image: USER_IMAGE, gateway: false,
      secrets: { agentApiToken: "t".repeat(32), sandboxManagerToken: "s".repeat(32) }, sandboxManagerUrl: "http://m:8000",
    })).toThrow("gateway cannot be off for agent.source image");
  });

  it("refuses a gateway image that is not pinned by digest, or one with the gateway off", () => {
    const agent = { ...workloadsArgs("local").agents[0]! };
    const common = { namespace: "ns", partOf: "agentscope", agent, image: USER_IMAGE, secrets: { agentApiToken: "t".repeat(32), sandboxManagerToken: "s".repeat(32) }, sandboxManagerUrl: "http://m:8000" };
    expect(() => resolveAgentRuntimeArgs({ ...common, gatewayImage: "registry.example.com/agentscope/agent:latest" })).toThrow(/AgentRuntime: gatewayImage must be pinned by digest/);
    expect(() => resolveAgentRuntimeArgs({ ...common, gatewayImage: USER_IMAGE, gateway: false })).toThrow("AgentRuntime: gatewayImage is set but gateway is off");
    // Without a gateway image of ours, a user's app's gateway has no observability to serve.
    const byo = { ...agent, source: { kind: "image", image: USER_IMAGE, framework: "agentscope-runtime" } } as const;
    expect(resolveAgentRuntimeArgs({ ...common, agent: byo })).toMatchObject({ gatewayImage: USER_IMAGE, gatewayObservability: false });
    expect(resolveAgentRuntimeArgs({ ...common, agent: byo, gatewayImage: `registry.example.com/agentscope/agent@sha256:${"1".repeat(64)}` })).toMatchObject({ gatewayObservability: true });
  });
});
