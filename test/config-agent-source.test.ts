/**
 * `agents[i].source` in the stack config: the three kinds, the checks of a user's directory on
 * disk, and how each reaches the workload layer (built by the stack, or by digest).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unhashedRequirements } from "../config/agent-source";
import { workloadArgs } from "../config/workload-args";
import { userAgentRepositories } from "../config/cloud-args";
import { parseStackConfig } from "../config";
import { configProblems } from "./support/config-problems";
import type { FlatConfig } from "./support/stack-config";
import { PROJECT, shippedStackConfig } from "./support/stack-config";

const ns = (key: string) => `${PROJECT}:${key}`;
const DIGEST = `registry.example.com/team/seed@sha256:${"9".repeat(64)}`;
const SEED = { kind: "directory", path: "examples/seed-agent", app: "app:agent_app", framework: "agentscope-runtime" };
const HASH = `--hash=sha256:${"a".repeat(64)}`;
const AS2 = { kind: "directory", path: "examples/agentscope2-agent", app: "agent_hooks", framework: "agentscope2" };

/** The shipped local stack with a second agent whose source is `source`, and extra keys. */
function local(source: unknown, extra: Record<string, unknown> = {}): FlatConfig {
  const base = shippedStackConfig("local");
  const agents = JSON.parse(base[ns("agents")]!) as unknown[];
  const out: FlatConfig = { ...base, [ns("agents")]: JSON.stringify([...agents, { name: "seed", source }]) };
  for (const [k, v] of Object.entries(extra)) out[ns(k)] = JSON.stringify(v);
  return out;
}

const problems = (config: FlatConfig) => configProblems(config, "local");
const parse = (config: FlatConfig) => parseStackConfig({ values: config, project: PROJECT, stack: "local" });

/** A user's directory in a temporary folder. */
function userDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "agent-source-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe("agents[].source", () => {
  it("defaults to the built-in Friday, so existing stacks are unchanged", () => {
    const c = parse(shippedStackConfig("local"));
    expect(c.agents.map((a) => a.source)).toEqual([{ kind: "builtin" }]);
    expect(workloadArgs(c, {}, undefined).agents[0]!.source).toEqual({ kind: "builtin" });
  });

  it("builds a directory agent when the stack builds: its own repository and the kit's", () => {
    const c = parse(local(SEED));
    const w = workloadArgs(c, {}, undefined);
    expect(w.agents[1]!.source).toEqual(SEED);
    expect(w.images.build?.userAgents).toEqual({ seed: { repository: "localhost:5000/agentscope/agent-seed" } });
    expect(w.images.build?.userAgentKitRepository).toBe("localhost:5000/agentscope/user-agent-kit");
    expect(userAgentRepositories(c)).toEqual(["agent-seed", "user-agent-kit"]);
  });

  it("runs a directory agent from images.userAgents when the stack does not build (scripts/local.sh)", () => {
    const prebuilt = { build: false, agent: `r/agent@sha256:${"1".repeat(64)}`, sandboxManager: `r/sm@sha256:${"2".repeat(64)}`, standInModel: `r/sim@sha256:${"3".repeat(64)}`, userAgents: { seed: DIGEST } };
    const w = workloadArgs(parse(local(SEED, { images: prebuilt })), {}, undefined);
    expect(w.agents[1]!.source).toEqual({ kind: "image", image: DIGEST, framework: "agentscope-runtime" });
    expect(w.images.build).toBeUndefined();
  });

  it("passes an image agent's digest through", () => {
    const source = { kind: "image", image: DIGEST, framework: "agentscope-runtime" };
    expect(workloadArgs(parse(local(source)), {}, undefined).agents[1]!.source).toEqual(source);
  });

  it.each([
    ["a tag instead of a digest", { kind: "image", image: "registry.example.com/seed:v1", framework: "agentscope-runtime" }, "agents[1].source.image: must be pinned by digest"],
    ["an unknown framework", { ...SEED, framework: "langchain" }, "agents[1].source.framework: must be one of agentscope-runtime"],
    ["an app without an attribute", { ...SEED, app: "app" }, "agents[1].source.app: must be module:attribute"],
    ["an app whose module is not there", { ...SEED, app: "main:agent_app" }, "agents[1].source.app: names module main, but neither main.py nor main/__init__.py is in examples/seed-agent"],
    ["a missing directory", { ...SEED, path: "examples/no-such-agent" }, "agents[1].source.path: must be a directory of the agent's code"],
    ["an unknown kind", { kind: "git", url: "x" }, `agents[1].source.kind: must have kind "builtin", "directory"`],
    ["an unknown key", { ...SEED, entrypoint: "x" }, "agents[1].source.entrypoint: is not a known key (known here: kind, path, app, framework)"],
    ["no framework", { kind: "image", image: DIGEST }, "agents[1].source.framework: must be one of agentscope-runtime"],
  ])("refuses %s, naming the agent and the key", (_, source, message) => {
    expect(problems(local(source)).join("\n")).toContain(ns(message.split(":")[0]!) + message.slice(message.indexOf(":")));
  });

  it("refuses requirements without hashes, naming them", () => {
    const dir = userDir({ "app.py": "agent_app = None\n", "requirements.txt": `fastapi==0.1 \\\n    ${HASH}\nuvicorn==0.30\nhttpx>=0.27  # via x\n` });
    expect(problems(local({ ...SEED, path: dir })).join("\n")).toContain(`${ns("agents[1].source.path")}: requirements.txt must pin every requirement with --hash=sha256:... (the image installs with --require-hashes); without one: uvicorn==0.30, httpx>=0.27`);
  });

  it("refuses a directory without requirements.txt, and finds a package module", () => {
    const dir = userDir({ "pkg/agent/__init__.py": "app = None\n" });
    const found = problems(local({ ...SEED, path: dir, app: "pkg.agent:app" }));
    expect(found.join("\n")).toContain(`${ns("agents[1].source.path")}: must hold requirements.txt, hash-locked`);
    expect(found.join("\n")).not.toContain("source.app");
  });

  it("needs images.userAgents.<name> for a directory agent when the stack does not build, and refuses stray entries", () => {
    const noBuild = { build: false, agent: `r/agent@sha256:${"1".repeat(64)}`, sandboxManager: `r/sm@sha256:${"2".repeat(64)}`, standInModel: `r/sim@sha256:${"3".repeat(64)}` };
    expect(problems(local(SEED, { images: noBuild })).join("\n")).toContain(`${ns("agents[1].source")}: is a directory, and images.build is false: set images.userAgents.seed`);
    expect(problems(local(SEED, { images: { ...noBuild, userAgents: { seed: DIGEST, other: DIGEST } } })).join("\n")).toContain(`${ns("images.userAgents.other")}: names no agent with a directory source`);
    expect(problems(local(SEED, { images: { userAgents: { seed: DIGEST } } })).join("\n")).toContain(`${ns("images.userAgents.seed")}: applies only with images.build false`);
  });
});

describe("agents[].source with framework agentscope2", () => {
  it("takes the shipped example's hooks module as app, and reaches the workload layer as given", () => {
    expect(problems(local(AS2))).toEqual([]);
    expect(workloadArgs(parse(local(AS2)), {}, undefined).agents[1]!.source).toEqual(AS2);
  });

  it.each([
    ["module:attribute (an AgentApp's form)", { ...AS2, app: "agent_hooks:tools" }, "agents[1].source.app: must be the module of the agent's hooks (extra_agent_tools, custom_agent_cls, ...), such as agent_hooks (framework agentscope2)"],
    ["a hooks module that is not there", { ...AS2, app: "my_hooks" }, "agents[1].source.app: names module my_hooks, but neither my_hooks.py nor my_hooks/__init__.py is in examples/agentscope2-agent"],
    ["a bare module for an AgentApp", { ...SEED, app: "app" }, "agents[1].source.app: must be module:attribute of the AgentApp object, such as app:agent_app (framework agentscope-runtime); a bare module is what framework agentscope2 takes"],
  ])("refuses %s, naming the agent and the key", (_, source, message) => {
    expect(problems(local(source)).join("\n")).toContain(ns(message.split(":")[0]!) + message.slice(message.indexOf(":")));
  });

  it("reports a bad app even when the directory is missing too", () => {
    const found = problems(local({ ...AS2, path: "examples/no-such-agent", app: "a b" })).join("\n");
    expect(found).toContain(`${ns("agents[1].source.app")}: must be the module of the agent's hooks`);
    expect(found).toContain(`${ns("agents[1].source.path")}: must be a directory of the agent's code`);
  });

  it("needs a model key outside the stand-in: its launcher refuses to start without one", () => {
    const keyless = (c: FlatConfig): FlatConfig => {
      return Object.fromEntries(Object.entries(c).filter(([k]) => k !== ns("modelApiKey")));
    };
    const withOwnModel = (c: FlatConfig): FlatConfig => {
      const agents = JSON.parse(c[ns("agents")]!) as Record<string, unknown>[];
      return { ...c, [ns("agents")]: JSON.stringify(agents.map((a) => ({ ...a, model: { provider: "openai", name: "m", baseUrl: "http://models.example.com/v1" } }))) };
    };
    expect(problems(local(AS2))).toEqual([]);
    expect(problems(keyless(withOwnModel(local(AS2))))).toEqual([`${ns("agents[1].source.framework")}: agentscope2 needs modelApiKey (pulumi config set --secret modelApiKey <key>): its launcher refuses to start without a model key (got "agentscope2")`]);
    // The stand-in (local, no key, no endpoint) hands every agent its key.
    expect(problems(keyless(local(AS2)))).toEqual([]);
  });
});

describe("agents[].userTokensSecret", () => {
  it("reaches the workload layer for a user's agent", () => {
    const c = parse(local(AS2));
    const agents = JSON.parse(local(AS2)[ns("agents")]!) as Record<string, unknown>[];
    const withTokens = { ...local(AS2), [ns("agents")]: JSON.stringify(agents.map((a) => (a["name"] === "seed" ? { ...a, userTokensSecret: "seed-tokens" } : a))) };
    expect(c.agents[1]!.userTokensSecret).toBeUndefined();
    expect(workloadArgs(parse(withTokens), {}, undefined).agents[1]!.userTokensSecret).toBe("seed-tokens");
  });

  it("is refused beside identity, naming the key (identity.userTokensSecret replaces it)", () => {
    const base = shippedStackConfig("local");
    const agents = JSON.parse(base[ns("agents")]!) as Record<string, unknown>[];
    const config = { ...base, [ns("agents")]: JSON.stringify(agents.map((a) => ({ ...a, userTokensSecret: "tokens", identity: { mode: "per-user", userTokensSecret: "tokens" } }))) };
    expect(problems(config).join("\n")).toContain(`${ns("agents[0].userTokensSecret")}: conflicts with identity: move it to identity.userTokensSecret`);
  });
});

describe("agents[].maxConcurrentTurns", () => {
  it("reaches the workload layer for the builtin agent, and defaults to the pod's size there", () => {
    const base = shippedStackConfig("local");
    const agents = JSON.parse(base[ns("agents")]!) as Record<string, unknown>[];
    const config = { ...base, [ns("agents")]: JSON.stringify(agents.map((a) => ({ ...a, maxConcurrentTurns: 12 }))) };
    expect(workloadArgs(parse(config), {}, undefined).agents[0]!.maxConcurrentTurns).toBe(12);
    expect(workloadArgs(parse(base), {}, undefined).agents[0]!.maxConcurrentTurns).toBeUndefined();
    expect(problems({ ...base, [ns("agents")]: JSON.stringify(agents.map((a) => ({ ...a, maxConcurrentTurns: 0 }))) }).join("\n"))
      .toContain(`${ns("agents[0].maxConcurrentTurns")}`);
  });

  it("is refused on a user's agent, naming the key", () => {
    const config = local({ ...SEED });
    const agents = JSON.parse(config[ns("agents")]!) as Record<string, unknown>[];
    const withLimit = { ...config, [ns("agents")]: JSON.stringify(agents.map((a) => (a["name"] === "seed" ? { ...a, maxConcurrentTurns: 8 } : a))) };
    expect(problems(withLimit).join("\n")).toContain(`${ns("agents[1].maxConcurrentTurns")}: applies only to the builtin agent`);
  });
});

describe("unhashedRequirements", () => {
  it("reads pip's format: continuations, comments and options", () => {
    expect(unhashedRequirements(`# top\n--index-url https://pypi.org/simple\na==1 \\\n    ${HASH} \\\n    ${HASH}\n    # via b\nb==2\n-r other.txt\n`)).toEqual(["b==2"]);
    expect(unhashedRequirements("")).toEqual([]);
  });
});

describe("agents[].workspaces (framework agentscope2)", () => {
  const withWorkspaces = (stack: "local" | "dev" | "prod", workspaces: unknown, source: unknown = { ...AS2, kind: "image", image: DIGEST, path: undefined, app: undefined }): FlatConfig => {
    const base = shippedStackConfig(stack);
    const agents = JSON.parse(base[ns("agents")]!) as unknown[];
    const agent = { name: "helper", source: JSON.parse(JSON.stringify(source)) as unknown, ...(workspaces === undefined ? {} : { workspaces }) };
    return { ...base, [ns("agents")]: JSON.stringify([...agents, agent]) };
  };
  const helperOf = (stack: "local" | "dev" | "prod", config: FlatConfig) =>
    workloadArgs(parseStackConfig({ values: config, project: PROJECT, stack }), {}, undefined).agents.find((a) => a.name === "helper")!;

  it("defaults to pods: emptyDir in local, sized as a sandbox; the stack builds the workspace image", () => {
    const config = withWorkspaces("local", undefined, AS2);
    expect(problems(config)).toEqual([]);
    const sandbox = parse(config).sandbox;
    expect(helperOf("local", config).workspaces).toEqual({ kind: "pods", cpu: sandbox.cpu, memoryGiB: sandbox.memoryGiB, storage: { kind: "emptyDir", sizeGiB: 1 }, isolation: "per_agent", idleSeconds: 3600 });
    const w = workloadArgs(parse(config), {}, undefined);
    expect(w.images.build?.workspaceRepository).toBe("localhost:5000/agentscope/agentscope2-workspace");
  });

  it("on Alibaba Cloud defaults to a 20 GiB claim of alicloud-disk-topology-alltype", () => {
    const config = withWorkspaces("prod", {});
    expect(configProblems(config, "prod")).toEqual([]);
    expect(helperOf("prod", config).workspaces).toMatchObject({ kind: "pods", storage: { kind: "persistentVolumeClaim", sizeGiB: 20, storageClassName: "alicloud-disk-topology-alltype" } });
  });

  it("takes a warm pool, fixed (size) or autoscaled (min, max), and a reaper by default with claims", () => {
    const fixed = withWorkspaces("local", { isolation: "per_session", warmPool: { size: 2 } }, AS2);
    expect(problems(fixed)).toEqual([]);
    expect(helperOf("local", fixed).workspaces).toMatchObject({ warmPool: { min: 2, max: 2, headroom: 0, scaleDownAfterSeconds: 300 } });
    expect(helperOf("local", fixed).workspaces).not.toHaveProperty("claimReaper");
    const scaled = withWorkspaces("prod", { warmPool: { min: 1, max: 5, headroom: 2 }, retainDays: 14, reaper: { dryRun: true } });
    expect(configProblems(scaled, "prod")).toEqual([]);
    expect(helperOf("prod", scaled).workspaces).toMatchObject({
      warmPool: { min: 1, max: 5, headroom: 2, scaleDownAfterSeconds: 300 },
      claimReaper: { retainDays: 14, schedule: "17 3 * * *", dryRun: true },
    });
    expect(helperOf("prod", withWorkspaces("prod", {})).workspaces).toMatchObject({ claimReaper: { retainDays: 30, schedule: "17 3 * * *", dryRun: true } });
  });

  it("takes local workspaces in the local environment only, without pod keys", () => {
    expect(problems(withWorkspaces("local", { kind: "local" }, AS2))).toEqual([]);
    expect(helperOf("local", withWorkspaces("local", { kind: "local" }, AS2)).workspaces).toEqual({ kind: "local" });
    expect(configProblems(withWorkspaces("prod", { kind: "local" }), "prod").join("\n")).toContain(`${ns("agents[2].workspaces.kind")}: "local" runs the agent's tool commands inside the agent's own container; it is for the local environment only`);
    expect(problems(withWorkspaces("local", { kind: "local", cpu: 2 }, AS2)).join("\n")).toContain(`${ns("agents[1].workspaces.cpu")}: applies only to kind "pods"`);
  });

  it.each([
    ["a storage class for an emptyDir", "local", { storage: "emptyDir", storageClassName: "fast" }, "agents[1].workspaces.storageClassName: applies only to storage \"persistentVolumeClaim\""],
    ["a disk under ACK's smallest on the default class", "prod", { storageGiB: 5 }, "agents[2].workspaces.storageGiB: must be at least 20 with the default disk StorageClass"],
    ["an unknown isolation", "local", { isolation: "per_tenant" }, "agents[1].workspaces.isolation: "],
    ["an unknown key", "local", { replicas: 2 }, "agents[1].workspaces.replicas: is not a known key"],
    ["a warm pool with both size and min/max", "local", { warmPool: { size: 2, min: 1, max: 3 } }, "agents[1].workspaces.warmPool.size: give either size (fixed) or min and max (autoscaled), not both"],
    ["a warm pool with min alone", "local", { warmPool: { min: 1 } }, "agents[1].workspaces.warmPool.max: give size (fixed), or both min and max (autoscaled)"],
    ["a warm pool whose min exceeds its max", "local", { warmPool: { min: 4, max: 2 } }, "agents[1].workspaces.warmPool.min: min must not exceed max"],
    ["a warm pool over 50", "local", { warmPool: { size: 51 } }, "agents[1].workspaces.warmPool.size: "],
    ["a warm pool with per_user workspaces", "local", { isolation: "per_user", warmPool: { size: 1 } }, "agents[1].workspaces.warmPool: needs isolation per_session or per_agent"],
    ["a retention on emptyDir workspaces", "local", { retainDays: 7 }, "agents[1].workspaces.retainDays: applies only to storage \"persistentVolumeClaim\""],
    ["a reaper on emptyDir workspaces", "local", { reaper: { dryRun: true } }, "agents[1].workspaces.reaper: applies only to storage \"persistentVolumeClaim\""],
    ["a retention of 0 days", "prod", { retainDays: 0 }, "agents[2].workspaces.retainDays: "],
    ["a reaper schedule that is not five cron fields", "prod", { reaper: { schedule: "@daily" } }, "agents[2].workspaces.reaper.schedule: must be five cron fields"],
  ] as const)("refuses %s, naming the key", (_, stack, workspaces, message) => {
    const config = withWorkspaces(stack, workspaces, stack === "local" ? AS2 : undefined);
    const found = configProblems(config, stack).join("\n");
    expect(found).toContain(ns(message.split(":")[0]!) + message.slice(message.indexOf(":")));
  });

  it("is refused on an agent that is not agentscope2", () => {
    expect(problems(withWorkspaces("local", { kind: "pods" }, SEED)).join("\n")).toContain(`${ns("agents[1].workspaces")}: applies only to an agent with framework agentscope2`);
  });

  it("needs images.workspace when the stack does not build, and refuses it when unused", () => {
    const noBuild = { build: false, agent: `r/agent@sha256:${"1".repeat(64)}`, sandboxManager: `r/sm@sha256:${"2".repeat(64)}`, standInModel: `r/sim@sha256:${"3".repeat(64)}`, userAgents: { helper: DIGEST } };
    const config = (images: unknown) => ({ ...withWorkspaces("local", undefined, AS2), [ns("images")]: JSON.stringify(images) });
    expect(problems(config(noBuild)).join("\n")).toContain(`${ns("images.workspace")}: is required when images.build is false and an agentscope2 agent's workspaces are pods`);
    const given = { ...noBuild, workspace: `r/ws@sha256:${"4".repeat(64)}` };
    expect(problems(config(given))).toEqual([]);
    expect(workloadArgs(parse(config(given)), {}, undefined).images.workspace).toBe(given.workspace);
    expect(problems({ ...shippedStackConfig("local"), [ns("images")]: JSON.stringify({ workspace: given.workspace }) }).join("\n")).toContain(`${ns("images.workspace")}: applies only with images.build false`);
  });
});

describe("agents[].tasks (an AgentApp's @agent_app.task workers)", () => {
  const withTasks = (stack: "local" | "prod", tasks: unknown, source: unknown = { kind: "image", image: DIGEST, framework: "agentscope-runtime" }): FlatConfig => {
    const base = shippedStackConfig(stack);
    const agents = JSON.parse(base[ns("agents")]!) as unknown[];
    return { ...base, [ns("agents")]: JSON.stringify([...agents, { name: "seed", source, tasks }]) };
  };
  const seedOf = (stack: "local" | "prod", config: FlatConfig) =>
    workloadArgs(parseStackConfig({ values: config, project: PROJECT, stack }), {}, undefined).agents.find((a) => a.name === "seed")!;

  it("defaults to one worker of two threads, 0.5 vCPU and 1 GiB, and reaches the workload layer", () => {
    const config = withTasks("local", {}, SEED);
    expect(problems(config)).toEqual([]);
    expect(seedOf("local", config).tasks).toEqual({ workers: 1, concurrency: 2, cpu: 0.5, memoryGiB: 1 });
    const prod = withTasks("prod", { workers: 3, concurrency: 8 });
    expect(configProblems(prod, "prod")).toEqual([]);
    expect(seedOf("prod", prod).tasks).toEqual({ workers: 3, concurrency: 8, cpu: 0.5, memoryGiB: 1 });
    // An agent without the key keeps the runtime's own in-process tasks.
    expect(seedOf("local", local(SEED)).tasks).toBeUndefined();
  });

  it.each([
    ["the builtin agent", "local", {}, { kind: "builtin" }, "agents[1].tasks: applies only to an agent with source directory or image and framework agentscope-runtime"],
    ["an agentscope2 agent", "local", {}, AS2, "agents[1].tasks: applies only to an agent with source directory or image and framework agentscope-runtime"],
    ["no workers", "local", { workers: 0 }, SEED, "agents[1].tasks.workers: "],
    ["a fractional concurrency", "local", { concurrency: 1.5 }, SEED, "agents[1].tasks.concurrency: "],
    ["an unknown key", "local", { replicas: 2 }, SEED, "agents[1].tasks.replicas: is not a known key"],
    ["a size ACS cannot run", "prod", { cpu: 0.25, memoryGiB: 0.5 }, undefined, "agents[2].tasks: cpu 0.25 / memoryGiB 0.5 is not an ACS size"],
  ] as const)("refuses %s, naming the key", (_, stack, tasks, source, message) => {
    const found = configProblems(withTasks(stack, tasks, source), stack).join("\n");
    expect(found).toContain(ns(message.split(":")[0]!) + message.slice(message.indexOf(":")));
  });
});
