/**
 * The builtin agent's Responses and A2A routes behind its gateway, and the gateway's limits (issue 22,
 * item 8 and leftovers), under mocks: the gateway forwards exactly Friday's routes, the agent card
 * advertises the Service the callers reach, the gateway's deadlines and connection cap come from typed
 * Args (and `agents[].gatewayLimits` in the stack config), and bad values fail naming the key.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { BUILTIN_GATEWAY_PATHS, DEFAULT_GATEWAY_LIMITS, resolveAgentRuntimeArgs } from "../../components/workload/agent-runtime";
import type { AgentRuntimeArgs } from "../../components/workload/agent-runtime";
import { workloadArgs } from "../../config/workload-args";
import { parseStackConfig } from "../../config";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { configProblems } from "../support/config-problems";
import { PROJECT, shippedStackConfig } from "../support/stack-config";
import type { FlatConfig } from "../support/stack-config";
import { SECRETS, runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const IMAGE = `registry.example.com/team/app@sha256:${"5".repeat(64)}`;
const LIMITS = { headerTimeoutSeconds: 5, bodyTimeoutSeconds: 20, maxConnections: 400 };

/** prod: friday with its own gateway limits, scout with the defaults, and a user's AgentApp. */
function args(): AgentScopeWorkloadsArgs {
  const base = workloadsArgs("prod");
  const [friday, scout] = base.agents;
  return {
    ...base,
    agents: [
      { ...friday!, gatewayLimits: LIMITS },
      scout!,
      { ...scout!, name: "app", source: { kind: "image", image: IMAGE, framework: "agentscope-runtime" } },
    ],
  };
}

let run: MockRun;
beforeAll(async () => {
  run = await runWorkloads(args());
});

const one = (kind: string, name: string): K8sObject => {
  const found = run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
};
const container = (agent: string, c: string) =>
  arr(o(o(o(one("Deployment", `agent-${agent}`)["spec"])["template"])["spec"])["containers"]).find((x) => x["name"] === c)!;
const envOf = (c: Obj): Record<string, unknown> => Object.fromEntries(arr(c["env"]).map((e) => [String(e["name"]), e["value"] ?? e["valueFrom"]]));

describe("the builtin agent's protocol routes behind its gateway", () => {
  it("renders only schema-valid objects", async () => {
    expect(await schemaProblems(run.k8sObjects())).toEqual([]);
  });

  it("forwards exactly Friday's routes, the Responses and A2A ones among them", () => {
    for (const agent of ["friday", "scout"]) {
      const allowed = String(envOf(container(agent, "gateway"))["GATEWAY_ALLOW_PATHS"]).split(",");
      expect(allowed.sort()).toEqual(["/", "/.well-known/agent-card.json", "/a2a", "/compatible-mode/v1/responses", "/health", "/process", "/stop"]);
      // The admin prefixes stay denied besides.
      expect(envOf(container(agent, "gateway"))["GATEWAY_DENY_PREFIXES"]).toBe("/shutdown,/admin");
    }
    expect([...BUILTIN_GATEWAY_PATHS]).not.toContain("/ag-ui");
  });

  it("has the agent card advertise the agent's Service, which is the gateway's port", () => {
    const ns = String(one("Deployment", "agent-friday").metadata?.namespace);
    expect(envOf(container("friday", "agent"))["A2A_URL"]).toBe(`http://agent-friday.${ns}.svc.cluster.local:8080/a2a`);
    const service = one("Service", "agent-friday");
    const port = arr(o(service["spec"])["ports"])[0]!;
    expect(port["port"]).toBe(8080);
    expect(port["targetPort"]).toBe("gateway");
  });

  it("leaves a user's app its own routes (only the admin prefixes are denied) and no card URL of ours", () => {
    const env = envOf(container("app", "gateway"));
    expect(env["GATEWAY_ALLOW_PATHS"]).toBeUndefined();
    expect(env["GATEWAY_DENY_PREFIXES"]).toBe("/shutdown,/admin");
    expect(envOf(container("app", "agent"))["A2A_URL"]).toBeUndefined();
  });

  it("passes the gateway's limits from the typed Args, and its defaults otherwise", () => {
    expect(envOf(container("friday", "gateway"))).toMatchObject({
      GATEWAY_HEADER_TIMEOUT_SECONDS: "5", GATEWAY_BODY_TIMEOUT_SECONDS: "20", GATEWAY_MAX_CONNECTIONS: "400",
    });
    expect(envOf(container("scout", "gateway"))).toMatchObject({
      GATEWAY_HEADER_TIMEOUT_SECONDS: String(DEFAULT_GATEWAY_LIMITS.headerTimeoutSeconds),
      GATEWAY_BODY_TIMEOUT_SECONDS: String(DEFAULT_GATEWAY_LIMITS.bodyTimeoutSeconds),
      GATEWAY_MAX_CONNECTIONS: String(DEFAULT_GATEWAY_LIMITS.maxConnections),
    });
  });
});

describe("gateway limits: bad typed Args", () => {
  const friday = workloadsArgs("prod").agents[0]!;
  const resolve = (gatewayLimits: unknown, extra: Partial<AgentRuntimeArgs> = {}) => () => resolveAgentRuntimeArgs({
    namespace: "agents", partOf: "agentscope", agent: { ...friday, gatewayLimits } as AgentRuntimeArgs["agent"],
    image: `registry.example.com/a@sha256:${"1".repeat(64)}`, secrets: SECRETS, sandboxManagerUrl: "http://sm:8000", ...extra,
  });

  it.each([
    [{ headerTimeoutSeconds: 0 }, "agent.gatewayLimits.headerTimeoutSeconds"],
    [{ bodyTimeoutSeconds: 1.5 }, "agent.gatewayLimits.bodyTimeoutSeconds"],
    [{ maxConnections: 5 }, "agent.gatewayLimits.maxConnections"],
  ])("%j fails naming %s", (limits, key) => {
    expect(resolve(limits)).toThrow(key);
  });

  it("refuses limits for a gateway that is off", () => {
    expect(resolve(LIMITS, { gateway: false })).toThrow("agent.gatewayLimits is set but gateway is off");
    expect(resolve(undefined, { gateway: false })).not.toThrow();
  });
});

describe("agents[].gatewayLimits in the stack config", () => {
  const ns = (key: string) => `${PROJECT}:${key}`;
  const withLimits = (gatewayLimits: unknown): FlatConfig => {
    const base = shippedStackConfig("local");
    const agents = JSON.parse(base[ns("agents")]!) as Obj[];
    return { ...base, [ns("agents")]: JSON.stringify(agents.map((a, i) => (i === 0 ? { ...a, gatewayLimits } : a))) };
  };

  it("reaches the workload layer", () => {
    const c = parseStackConfig({ values: withLimits(LIMITS), project: PROJECT, stack: "local" });
    expect(workloadArgs(c, {}, undefined).agents[0]!.gatewayLimits).toEqual(LIMITS);
    const defaults = parseStackConfig({ values: shippedStackConfig("local"), project: PROJECT, stack: "local" });
    expect(workloadArgs(defaults, {}, undefined).agents[0]!.gatewayLimits).toBeUndefined();
  });

  it.each([
    [{ headerTimeoutSeconds: 0 }, ".headerTimeoutSeconds", "Too small"],
    [{ bodyTimeoutSeconds: 7200 }, ".bodyTimeoutSeconds", "Too big"],
    [{ maxConnections: 2.5 }, ".maxConnections", ""],
    [{ headerTimeout: 5 }, ".headerTimeout", "is not a known key"],
  ])("%j is refused at agents[0].gatewayLimits%s", (limits, at, message) => {
    const problems = configProblems(withLimits(limits), "local");
    expect(problems.some((p) => p.startsWith(`${ns(`agents[0].gatewayLimits${at}`)}:`) && p.includes(message)), problems.join("\n")).toBe(true);
  });
});
