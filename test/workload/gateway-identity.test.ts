/**
 * Identity the gateway vouches for (issue 22, item 3; docs/identity.md), under mocks: per-user
 * credentials (a token Secret, JWTs of the team's identity provider) reach the gateway container
 * only, for every framework; the agent's token stays a Secret reference; the JWKS endpoint gets an
 * egress NetworkPolicy of its own only when that mode is on; bad input fails naming the key.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import type { AgentJwtIdentity } from "../../components/workload/gateway-identity";
import { resolveAgentRuntimeArgs } from "../../components/workload/agent-runtime";
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
const AS2_IMAGE = `registry.example.com/team/helper@sha256:${"8".repeat(64)}`;
const JWT_URL: AgentJwtIdentity = {
  issuer: "https://idp.example.com/realms/team", audience: "agents", userClaim: "preferred_username",
  jwksUrl: "https://idp.example.com/realms/team/certs", jwksCidrs: ["203.0.113.10/32"],
};
const JWT_SECRET: AgentJwtIdentity = { issuer: "https://idp.example.com/realms/team", audience: "agents", jwksSecret: "team-jwks" };
const user = { model: { provider: "openai" as const, name: "qwen-plus", baseUrl: "https://models.example.com/v1" }, replicas: { min: 1, max: 2 }, cpu: 1, memoryGiB: 2, sandboxTypes: ["base" as const] };

/** prod: friday per-user (tokens and a JWKS URL), scout as before, an AgentApp (JWKS Secret), a 2.x agent (JWKS URL). */
function withIdentities(): AgentScopeWorkloadsArgs {
  const base = workloadsArgs("prod");
  const [friday, scout] = base.agents;
  return {
    ...base,
    images: { ...base.images, workspace: `registry.example.com/agentscope/ws@sha256:${"7".repeat(64)}` },
    agents: [
      { ...friday!, userTokensSecret: "friday-tokens", jwt: JWT_URL },
      scout!,
      { ...user, name: "app", source: { kind: "image", image: IMAGE, framework: "agentscope-runtime" }, jwt: JWT_SECRET },
      { ...user, name: "helper", source: { kind: "image", image: AS2_IMAGE, framework: "agentscope2" }, jwt: { ...JWT_URL, userClaim: "sub" } },
    ],
  };
}

let run: MockRun;
beforeAll(async () => {
  run = await runWorkloads(withIdentities());
});

const one = (kind: string, name: string): K8sObject => {
  const found = run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
};
const podSpec = (d: K8sObject) => o(o(o(d["spec"])["template"])["spec"]);
const container = (name: string, c: string) => arr(podSpec(one("Deployment", `agent-${name}`))["containers"]).find((x) => x["name"] === c)!;
const envOf = (c: Obj): Record<string, unknown> => Object.fromEntries(arr(c["env"]).map((e) => [String(e["name"]), e["value"] ?? e["valueFrom"]]));
const secretRef = (key: string) => ({ secretKeyRef: { name: "agent-friday", key } });

describe("per-user identity at the gateway", () => {
  it("renders only schema-valid objects", async () => {
    expect(await schemaProblems(run.k8sObjects())).toEqual([]);
  });

  it("builtin agent: the gateway authenticates, sends Friday its own token and binds the body's user", () => {
    const env = envOf(container("friday", "gateway"));
    expect(env).toMatchObject({
      GATEWAY_AUTH: "bearer",
      GATEWAY_TOKEN: secretRef("AGENT_API_TOKEN"),
      GATEWAY_UPSTREAM_TOKEN: secretRef("AGENT_API_TOKEN"),
      GATEWAY_BODY_USER_PATHS: "/process,/stop,/compatible-mode/v1/responses",
      GATEWAY_USER_TOKENS_FILE: "/etc/agentscope/user-tokens/tokens.json",
      GATEWAY_JWT_ISSUER: "https://idp.example.com/realms/team",
      GATEWAY_JWT_AUDIENCE: "agents",
      GATEWAY_JWT_USER_CLAIM: "preferred_username",
      GATEWAY_JWT_ALGORITHMS: "RS256,ES256",
      GATEWAY_JWT_JWKS_URL: "https://idp.example.com/realms/team/certs",
    });
    expect(env["GATEWAY_JWT_JWKS_FILE"]).toBeUndefined();
    // The token is a reference to the agent's Secret, never a value in the pod spec.
    expect(JSON.stringify(one("Deployment", "agent-friday"))).not.toContain(SECRETS.agentApiToken);
    // The app container gets neither the token map nor any identity setting.
    expect(arr(container("friday", "agent")["volumeMounts"]).map((m) => m["name"])).not.toContain("user-tokens");
    expect(Object.keys(envOf(container("friday", "agent"))).filter((k) => k.startsWith("GATEWAY_"))).toEqual([]);
  });

  it("shared-token mode (the default) stays as it was: Friday checks the token, the caller names the user", () => {
    const env = envOf(container("scout", "gateway"));
    for (const k of ["GATEWAY_AUTH", "GATEWAY_TOKEN", "GATEWAY_UPSTREAM_TOKEN", "GATEWAY_BODY_USER_PATHS", "GATEWAY_JWT_ISSUER"]) expect(env[k]).toBeUndefined();
    expect(env["GATEWAY_DENY_PREFIXES"]).toBe("/shutdown,/admin");
  });

  it("an AgentApp: the JWKS from a Secret, mounted in the gateway only, group-readable; the body's user bound", () => {
    const d = one("Deployment", "agent-app");
    expect(arr(podSpec(d)["volumes"]).find((v) => v["name"] === "jwks")).toEqual({
      name: "jwks", secret: { secretName: "team-jwks", items: [{ key: "jwks.json", path: "jwks.json" }], defaultMode: 0o440 },
    });
    expect(arr(container("app", "gateway")["volumeMounts"])).toContainEqual({ name: "jwks", mountPath: "/etc/agentscope/jwks", readOnly: true });
    expect(arr(container("app", "agent")["volumeMounts"]).map((m) => m["name"])).not.toContain("jwks");
    const env = envOf(container("app", "gateway"));
    expect(env).toMatchObject({ GATEWAY_AUTH: "bearer", GATEWAY_JWT_JWKS_FILE: "/etc/agentscope/jwks/jwks.json", GATEWAY_JWT_USER_CLAIM: "sub", GATEWAY_BODY_USER_PATHS: "/process,/stop,/compatible-mode/v1/responses" });
    // A user's app never gets the agent's token, upstream or otherwise.
    expect(env["GATEWAY_UPSTREAM_TOKEN"]).toBeUndefined();    // The runtime's A2A and AG-UI routes take their session from the body's context/thread id, which
    // no user binds: refused at the gateway once each caller is a user of their own.
    expect(env["GATEWAY_DENY_PREFIXES"]).toBe("/shutdown,/admin,/a2a,/ag-ui");
  });

  it("an AgentScope 2.x agent: X-User-ID only (2.x takes the user from it, not from a body)", () => {
    const env = envOf(container("helper", "gateway"));
    expect(env["GATEWAY_JWT_JWKS_URL"]).toBe(JWT_URL.jwksUrl);
    expect(env["GATEWAY_BODY_USER_PATHS"]).toBeUndefined();
    expect(env["GATEWAY_UPSTREAM_TOKEN"]).toBeUndefined();
    expect(env["GATEWAY_DENY_PREFIXES"]).toBe("/shutdown,/admin");
  });

  it("opens egress to the JWKS host, on its port, only for agents that fetch one", () => {
    const policies = run.k8sObjects().filter((x) => x.kind === "NetworkPolicy").map((p) => p.metadata?.name);
    expect(policies.filter((n) => n?.endsWith("-jwks")).sort()).toEqual(["agent-friday-jwks", "agent-helper-jwks"]);
    const spec = o(one("NetworkPolicy", "agent-friday-jwks")["spec"]);
    expect(spec["policyTypes"]).toEqual(["Egress"]);
    expect(spec["egress"]).toEqual([{ to: [{ ipBlock: { cidr: "203.0.113.10/32" } }], ports: [{ protocol: "TCP", port: 443 }] }]);
    expect(o(spec["podSelector"])["matchLabels"]).toEqual(o(o(o(one("Deployment", "agent-friday")["spec"])["selector"])["matchLabels"]));
  });
});

describe("bad identity input fails naming the argument", () => {
  const resolve = (jwt: AgentJwtIdentity | undefined, extra: { gateway?: boolean; userTokensSecret?: string } = {}) => () => resolveAgentRuntimeArgs({
    namespace: "ns", partOf: "agentscope", image: IMAGE, sandboxManagerUrl: "http://m:8000",
    agent: { ...workloadsArgs("local").agents[0]!, ...(jwt ? { jwt } : {}), ...(extra.userTokensSecret ? { userTokensSecret: extra.userTokensSecret } : {}) },
    ...(extra.gateway !== undefined ? { gateway: extra.gateway } : {}),
    secrets: { agentApiToken: "t".repeat(32), sandboxManagerToken: "s".repeat(32) },
  });

  it.each([
    [{ ...JWT_URL, jwksCidrs: undefined }, "agent.jwt.jwksCidrs must list the addresses of idp.example.com"],
    [{ ...JWT_URL, jwksSecret: "x" }, "agent.jwt needs exactly one of jwksUrl and jwksSecret"],
    [{ ...JWT_SECRET, jwksSecret: undefined }, "agent.jwt needs exactly one of jwksUrl and jwksSecret"],
    [{ ...JWT_URL, jwksUrl: "http://idp.example.com/certs" }, "agent.jwt.jwksUrl must be an https:// URL"],
    [{ ...JWT_URL, jwksCidrs: ["0.0.0.0/0"] }, "narrower than /0"],
    [{ ...JWT_URL, issuer: "idp" }, "agent.jwt.issuer must be an https:// URL"],
    [{ ...JWT_URL, audience: " " }, "agent.jwt.audience must not be empty"],
    [{ ...JWT_URL, algorithms: ["HS256"] } as unknown as AgentJwtIdentity, "agent.jwt.algorithms must list some of RS256"],
    [{ ...JWT_SECRET, jwksCidrs: ["203.0.113.10/32"] }, "agent.jwt.jwksCidrs applies only with jwksUrl"],
  ])("jwt %#", (jwt, message) => {
    expect(resolve(jwt)).toThrow(message);
  });

  it("needs the gateway", () => {
    expect(resolve(JWT_SECRET, { gateway: false })).toThrow("agent.userTokensSecret and agent.jwt need the gateway");
    expect(resolve(undefined, { userTokensSecret: "Bad_Name" })).toThrow("agent.userTokensSecret");
  });
});

describe("agents[].identity in the stack config", () => {
  const ns = (key: string) => `${PROJECT}:${key}`;
  const withIdentity = (identity: unknown): FlatConfig => {
    const base = shippedStackConfig("local");
    const agents = JSON.parse(base[ns("agents")]!) as Obj[];
    return { ...base, [ns("agents")]: JSON.stringify(agents.map((a, i) => (i === 0 ? { ...a, identity } : a))) };
  };
  const problems = (identity: unknown) => configProblems(withIdentity(identity), "local").join("\n");
  const key = (k: string) => ns(`agents[0].identity${k}`);

  it("reaches the workload layer", () => {
    const jwt = { issuer: JWT_URL.issuer, audience: "agents", jwksUrl: JWT_URL.jwksUrl, jwksCidrs: JWT_URL.jwksCidrs };
    const c = parseStackConfig({ values: withIdentity({ mode: "per-user", userTokensSecret: "friday-tokens", jwt }), project: PROJECT, stack: "local" });
    const agent = workloadArgs(c, {}, undefined).agents[0]!;
    expect(agent.userTokensSecret).toBe("friday-tokens");
    expect(agent.jwt).toEqual({ ...jwt, userClaim: "sub", algorithms: ["RS256", "ES256"] });
    expect(configProblems(withIdentity({ mode: "shared-token" }), "local")).toEqual([]);
  });

  it.each([
    [{ mode: "per-user" }, ".mode", "per-user needs userTokensSecret, jwt, or both"],
    [{ mode: "shared-token", userTokensSecret: "t" }, ".mode", "is shared-token, yet userTokensSecret or jwt is set: set mode per-user to use them"],
    [{ mode: "anyone" }, ".mode", "must be shared-token"],
    [{ mode: "per-user", jwt: { issuer: JWT_URL.issuer, audience: "a", jwksUrl: JWT_URL.jwksUrl } }, ".jwt.jwksCidrs", "is required with jwksUrl"],
    [{ mode: "per-user", jwt: { issuer: JWT_URL.issuer, audience: "a" } }, ".jwt.jwksUrl", "set exactly one of jwksUrl"],
    [{ mode: "per-user", jwt: { issuer: "http://idp.example.com", audience: "a", jwksSecret: "k" } }, ".jwt.issuer", "must be an https:// URL"],
    [{ mode: "per-user", jwt: { issuer: JWT_URL.issuer, audience: "a", jwksSecret: "k", algorithms: ["HS256"] } }, ".jwt.algorithms[0]", "must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (asymmetric only)"],
    [{ mode: "per-user", jwt: { issuer: JWT_URL.issuer, audience: "a", jwksUrl: JWT_URL.jwksUrl, jwksCidrs: ["0.0.0.0/0"] } }, ".jwt.jwksCidrs[0]", "must be an IPv4 CIDR block narrower than /0"],
    [{ mode: "per-user", userTokensSecret: "Tokens!" }, ".userTokensSecret", "must be a Secret name"],
  ])("%j", (identity, at, message) => {
    expect(problems(identity)).toContain(`${key(at)}: ${message}`);
  });
});
