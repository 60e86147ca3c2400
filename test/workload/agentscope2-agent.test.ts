/**
 * An AgentScope 2.x agent (framework `agentscope2`) under mocks: built on the user-agent kit's 2.x
 * stage, started by agentscope2_launcher with exactly the environment it reads, probed with the
 * X-User-ID its /health requires, behind the gateway that sets that header from the caller's token,
 * with the pod hardening every agent gets and nothing in its environment that its workspace tools
 * must not see.
 */
import { createHmac } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { resolveWorkloadsArgs } from "../../components/workload/workloads";
import { PROBE_USER_ID, resolveAgentRuntimeArgs } from "../../components/workload/agent-runtime";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { MOCK_DIGEST } from "../support/mocks";
import { SECRETS, runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const AS2 = { kind: "directory", path: "examples/agentscope2-agent", app: "agent_hooks", framework: "agentscope2" } as const;
const AS2_IMAGE = `registry.example.com/team/helper@sha256:${"8".repeat(64)}`;
const WORKSPACE_IMAGE = `registry.example.com/agentscope/agentscope2-workspace@sha256:${"7".repeat(64)}`;
const user = { model: { provider: "openai" as const, name: "qwen-plus", baseUrl: "https://models.example.com/v1" }, replicas: { min: 2, max: 4 }, cpu: 1, memoryGiB: 2, sandboxTypes: ["base" as const] };

/** local: the stack builds the 2.x directory agent `helper`; prod: it runs `helper` by digest. */
function withAgentscope2(env: "local" | "prod"): AgentScopeWorkloadsArgs {
  const base = workloadsArgs(env);
  if (env === "prod") {
    return {
      ...base,
      images: { ...base.images, workspace: WORKSPACE_IMAGE },
      agents: [...base.agents, { ...user, name: "helper", source: { kind: "image", image: AS2_IMAGE, framework: "agentscope2" }, userTokensSecret: "helper-user-tokens" }],
    };
  }
  return {
    ...base,
    images: {
      ...base.images,
      build: {
        ...base.images.build!,
        userAgents: { helper: { repository: "push.example.com/agentscope/agent-helper" } },
        userAgentKitRepository: "push.example.com/agentscope/user-agent-kit",
        workspaceRepository: "push.example.com/agentscope/agentscope2-workspace",
      },
    },
    agents: [...base.agents, { ...user, name: "helper", source: AS2 }],
  };
}

const runs = new Map<string, MockRun>();
beforeAll(async () => {
  for (const env of ["local", "prod"] as const) runs.set(env, await runWorkloads(withAgentscope2(env)));
});

const one = (run: MockRun, kind: string, name: string): K8sObject => {
  const found = run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
};
const podSpec = (d: K8sObject) => o(o(o(d["spec"])["template"])["spec"]);
const container = (d: K8sObject, name: string) => arr(podSpec(d)["containers"]).find((c) => c["name"] === name)!;
const env = (c: Obj) => Object.fromEntries(arr(c["env"]).map((e) => [String(e["name"]), e["value"] ?? o(o(e["valueFrom"])["secretKeyRef"])["key"]]));

describe.each(["local", "prod"])("an agentscope2 agent (%s)", (stackEnv) => {
  const run = () => runs.get(stackEnv)!;
  const helper = () => one(run(), "Deployment", "agent-helper");

  it("renders only schema-valid objects", async () => {
    expect(await schemaProblems(run().k8sObjects())).toEqual([]);
  });

  it("gives the launcher exactly what agentscope2_launcher (config.py, tracing.py) reads, secrets by reference", () => {
    expect(env(container(helper(), "agent"))).toEqual({
      AGENT_ID: "helper",
      AGENT_NAME: "helper",
      HOST: "0.0.0.0",
      PORT: "8080",
      LOG_LEVEL: "INFO",
      MODEL_PROVIDER: "openai",
      MODEL_NAME: "qwen-plus",
      MODEL_BASE_URL: "https://models.example.com/v1",
      REDIS_URL: expect.stringMatching(/^rediss?:\/\/[^@/]+:\d+\/0$/) as unknown,
      HOME: "/tmp",
      PYTHONDONTWRITEBYTECODE: "1",
      AGENTSCOPE_ENABLE_SCHEDULER: "false",
      AGENTSCOPE_ENABLE_CHANNEL_WORKER: "false",
      // From the agent's Secret; the launcher removes them from its environment at start-up.
      MODEL_API_KEY: "MODEL_API_KEY",
      REDIS_PASSWORD: "REDIS_PASSWORD",
      AGENTSCOPE_DOWNLOAD_SECRET: "AGENTSCOPE_DOWNLOAD_SECRET",
      // observability.tracing's content switch; these stacks send no traces (see the block below).
      AGENTSCOPE_TRACE_CONTENT: "false",
      // Its workspaces are pods (the default): agentscope2_launcher/k8s_workspaces.py reads this file.
      AGENTSCOPE_WORKSPACE_POD_SETTINGS: "/etc/agentscope/workspaces/workspace-pods.json",
    });
  });

  it("leaves out what its workspace tools must not see: SDK key variables, the callers' and the sandbox manager's tokens", () => {
    const names = Object.keys(env(container(helper(), "agent")));
    for (const name of ["DASHSCOPE_API_KEY", "OPENAI_API_KEY", "AGENT_API_TOKEN", "SANDBOX_MANAGER_TOKEN", "SANDBOX_MANAGER_URL", "OTEL_EXPORTER_OTLP_HEADERS"]) {
      expect(names).not.toContain(name);
    }
    const secret = one(run(), "Secret", "agent-helper");
    expect(Object.keys(o(secret["stringData"])).sort()).toEqual(["AGENTSCOPE_DOWNLOAD_SECRET", "AGENT_API_TOKEN", "MODEL_API_KEY", "REDIS_PASSWORD"]);
  });

  it("derives one download secret for every replica from the callers' token, without revealing it", () => {
    const data = o(one(run(), "Secret", "agent-helper")["stringData"]);
    const expected = createHmac("sha256", SECRETS.agentApiToken).update("agentscope2-download-secret:helper").digest("hex");
    expect(data["AGENTSCOPE_DOWNLOAD_SECRET"]).toBe(expected);
    expect(data["AGENTSCOPE_DOWNLOAD_SECRET"]).not.toContain(SECRETS.agentApiToken);
  });

  it("probes /health with the X-User-ID it requires, and liveness on the socket only", () => {
    const agent = container(helper(), "agent");
    for (const probe of ["startupProbe", "readinessProbe"]) {
      expect(o(o(agent[probe])["httpGet"])).toEqual({ path: "/health", port: "app", httpHeaders: [{ name: "X-User-ID", value: PROBE_USER_ID }] });
    }
    expect(o(agent["livenessProbe"])["tcpSocket"]).toEqual({ port: "app" });
  });

  it("puts the gateway in front in bearer mode, so it sets X-User-ID from the caller's token", () => {
    const gateway = env(container(helper(), "gateway"));
    expect(gateway).toMatchObject({ GATEWAY_AUTH: "bearer", GATEWAY_TOKEN: "AGENT_API_TOKEN", GATEWAY_UPSTREAM: "http://127.0.0.1:8080" });
    const service = one(run(), "Service", "agent-helper");
    expect(arr(o(service["spec"])["ports"])).toEqual([{ name: "http", port: 8080, targetPort: "gateway", protocol: "TCP" }]);
  });

  it("hardens the pod like every agent's: non-root, read-only root, no token, no capabilities", () => {
    const spec = podSpec(helper());
    expect(spec["automountServiceAccountToken"]).toBe(false);
    expect(o(spec["securityContext"])).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    for (const c of arr(spec["containers"])) {
      expect(o(c["securityContext"])).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    }
  });
});

describe("per-user tokens (userTokensSecret)", () => {
  it("mounts the Secret's tokens.json in the gateway only, group-readable, and points the gateway at it", () => {
    const d = one(runs.get("prod")!, "Deployment", "agent-helper");
    expect(arr(podSpec(d)["volumes"]).find((v) => v["name"] === "user-tokens")).toEqual({
      name: "user-tokens", secret: { secretName: "helper-user-tokens", items: [{ key: "tokens.json", path: "tokens.json" }], defaultMode: 0o440 },
    });
    const gateway = container(d, "gateway");
    expect(arr(gateway["volumeMounts"])).toContainEqual({ name: "user-tokens", mountPath: "/etc/agentscope/user-tokens", readOnly: true });
    expect(env(gateway)["GATEWAY_USER_TOKENS_FILE"]).toBe("/etc/agentscope/user-tokens/tokens.json");
    // The app (and what its workspace tools run) never sees the token map.
    expect(arr(container(d, "agent")["volumeMounts"]).map((m) => m["name"])).not.toContain("user-tokens");
  });

  it("is absent unless asked for", () => {
    const d = one(runs.get("local")!, "Deployment", "agent-helper");
    expect(arr(podSpec(d)["volumes"]).map((v) => v["name"])).not.toContain("user-tokens");
    expect(env(container(d, "gateway"))["GATEWAY_USER_TOKENS_FILE"]).toBeUndefined();
  });

  it("is refused without the gateway, which is what checks them", () => {
    const friday = { ...workloadsArgs("local").agents[0]!, userTokensSecret: "tokens" };
    expect(() => resolveAgentRuntimeArgs({
      namespace: "ns", partOf: "agentscope", agent: friday, image: AS2_IMAGE, sandboxManagerUrl: "http://m:8000", gateway: false,
      secrets: { agentApiToken: "t".repeat(32), sandboxManagerToken: "s".repeat(32) },
    })).toThrow("agent.userTokensSecret and agent.jwt need the gateway");
  });
});

describe("its image", () => {
  it("is the user's directory on the kit's 2.x stage, with the hooks module as AGENT_APP (the stack builds)", () => {
    const images = runs.get("local")!.ofType("docker:index/image:Image");
    const helper = images.find((i) => i.name.endsWith("-agent-helper-image-image"))!;
    expect(o(helper.inputs["build"])).toMatchObject({
      context: "examples/agentscope2-agent",
      dockerfile: "agent-image/user-agent.Dockerfile",
      target: "user-agent-agentscope2",
      args: { AGENT_APP: "agent_hooks", KIT_IMAGE: `push.example.com/agentscope/user-agent-kit@sha256:${MOCK_DIGEST}` },
    });
    expect(container(one(runs.get("local")!, "Deployment", "agent-helper"), "agent")["image"]).toBe(`push.example.com/agentscope/agent-helper@sha256:${MOCK_DIGEST}`);
  });

  it("is the digest given (prebuilt)", () => {
    expect(container(one(runs.get("prod")!, "Deployment", "agent-helper"), "agent")["image"]).toBe(AS2_IMAGE);
  });
});

describe("bad agentscope2 agents are refused, naming the agent and the key", () => {
  const agent = { ...user, name: "helper", source: { kind: "image", image: AS2_IMAGE, framework: "agentscope2" } as const };
  const runtimeArgs = { namespace: "ns", partOf: "agentscope", agent, image: AS2_IMAGE, sandboxManagerUrl: "http://m:8000" };
  const secrets = { agentApiToken: "t".repeat(32), sandboxManagerToken: "s".repeat(32), modelApiKey: "k".repeat(32), redisPassword: "r".repeat(32) };

  it("without Redis (its storage and message bus)", () => {
    expect(() => resolveAgentRuntimeArgs({ ...runtimeArgs, secrets })).toThrow("agent.source framework agentscope2 needs redis");
  });

  it("without a model key (the launcher would not start)", () => {
    const keyless = { agentApiToken: secrets.agentApiToken, sandboxManagerToken: secrets.sandboxManagerToken, redisPassword: secrets.redisPassword };
    expect(() => resolveAgentRuntimeArgs({ ...runtimeArgs, secrets: keyless, redis: { host: "redis", port: 6379 } }))
      .toThrow("agent.source framework agentscope2 needs secrets.modelApiKey");
  });

  it.each([
    ["app:agent_app", "agents[helper].source.app must be the module of the agent's hooks"],
    ["agent hooks", "agents[helper].source.app must be the module of the agent's hooks"],
  ])("with app %j", (app, message) => {
    const base = withAgentscope2("local");
    const agents = base.agents.map((a) => (a.name === "helper" ? { ...a, source: { ...AS2, app } } : a));
    expect(() => resolveWorkloadsArgs({ ...base, agents })).toThrow(message);
  });
});

describe("traces from a 2.x agent (observability.tracing set)", () => {
  const HEADERS = "x-sls-otel-ak-secret=CANARY-as2-otlp-5e1f";
  let run: MockRun;
  beforeAll(async () => {
    run = await runWorkloads({
      ...withAgentscope2("prod"),
      observability: {
        tracing: { endpoint: "https://otel.example.com:4318", egress: { kind: "cidrs", cidrs: ["100.100.30.0/24"], port: 4318 }, headers: HEADERS },
      },
    });
  });

  it("gives the launcher Friday's OTLP settings, naming the agent, and the headers by secretKeyRef only", () => {
    const agent = container(one(run, "Deployment", "agent-helper"), "agent");
    const vars = arr(agent["env"]);
    const byName = (n: string) => vars.find((e) => e["name"] === n);
    expect(byName("OTEL_EXPORTER_OTLP_ENDPOINT")?.["value"]).toBe("https://otel.example.com:4318");
    expect(byName("OTEL_EXPORTER_OTLP_PROTOCOL")?.["value"]).toBe("http/protobuf");
    expect(byName("OTEL_SERVICE_NAME")?.["value"]).toBe("agentscope-agent");
    expect(String(byName("OTEL_RESOURCE_ATTRIBUTES")?.["value"])).toContain("agentscope.agent.name=helper");
    expect(byName("AGENTSCOPE_TRACE_CONTENT")?.["value"]).toBe("false");
    const headers = byName("OTEL_EXPORTER_OTLP_HEADERS")!;
    expect(headers["value"]).toBeUndefined();
    expect(o(o(headers["valueFrom"])["secretKeyRef"])).toEqual({ name: "agent-helper", key: "OTEL_EXPORTER_OTLP_HEADERS" });
    expect(JSON.stringify(vars)).not.toContain("CANARY");
  });

  it("still leaves out the SDK key variables and the callers' and manager's tokens", () => {
    const names = arr(container(one(run, "Deployment", "agent-helper"), "agent")["env"]).map((e) => e["name"]);
    for (const name of ["DASHSCOPE_API_KEY", "OPENAI_API_KEY", "AGENT_API_TOKEN", "SANDBOX_MANAGER_TOKEN", "SANDBOX_MANAGER_URL"]) {
      expect(names).not.toContain(name);
    }
  });

  it("renders only schema-valid objects", async () => {
    expect(await schemaProblems(run.k8sObjects())).toEqual([]);
  });
});
