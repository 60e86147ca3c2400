/**
 * Where an agent's code comes from: our built-in Friday, a directory of the user's code that the
 * stack builds into the user-agent image (agent-image/user-agent.Dockerfile on the `user-agent-kit`
 * target), or a prebuilt image by digest.
 */
import { isDigestRef, requireDnsLabel } from "./validate";

/**
 * The frameworks a user's app may be written for.
 * - `agentscope-runtime`: an `AgentApp` of agentscope-runtime 1.0.x or 1.1.x, started by
 *   agent-image/agent_launcher (its `run(host=, port=)`); `app` is `module:attribute` of the app.
 * - `agentscope2`: an AgentScope 2.x service, `agentscope.app.create_app` with RedisStorage and
 *   RedisMessageBus, started by agent-image/agentscope2_launcher; `app` is the module of the user's
 *   hooks (`extra_agent_tools`, `custom_agent_cls`, ...: agentscope2_launcher/hooks.py).
 */
export const AGENT_FRAMEWORKS = ["agentscope-runtime", "agentscope2"] as const;
export type AgentFramework = (typeof AGENT_FRAMEWORKS)[number];

export type AgentSource =
  /** Our Friday image (target `agent` of agent-image/Dockerfile). */
  | { kind: "builtin" }
  /**
   * The user's directory, built by the stack: `app` is `module:attribute` of the app object, the
   * module under `path`; `path` holds a hash-locked requirements.txt.
   */
  | { kind: "directory"; path: string; app: string; framework: AgentFramework }
  /** A prebuilt image of the user's agent, `<repository>@sha256:<64 hex>`. */
  | { kind: "image"; image: string; framework: AgentFramework };

export const BUILTIN_SOURCE: AgentSource = { kind: "builtin" };

/** Whether the source is a user's AgentScope 2.x service (started by agentscope2_launcher). */
export function isAgentscope2(source: { kind: string; framework?: string }): boolean {
  return source.kind !== "builtin" && source.framework === "agentscope2";
}

/** Dockerfile (in the agent-image context) that wraps a user's directory, and its final stages. */
export const USER_AGENT_DOCKERFILE = "user-agent.Dockerfile";
export const USER_AGENT_TARGET = "user-agent";
/** The final stage of user-agent.Dockerfile for each framework (the launcher it starts). */
export const USER_AGENT_TARGETS: Readonly<Record<AgentFramework, string>> = {
  "agentscope-runtime": USER_AGENT_TARGET,
  agentscope2: "user-agent-agentscope2",
};
/** Target of agent-image/Dockerfile with our files for it (the launcher, install-deps.sh). */
export const USER_AGENT_KIT_TARGET = "user-agent-kit";

const IDENTIFIER = "[A-Za-z_][A-Za-z0-9_]*";
const DOTTED = `${IDENTIFIER}(\\.${IDENTIFIER})*`;
/** `module:attribute` as agent_launcher loads it (dotted on either side). */
export const APP_SPEC = new RegExp(`^${DOTTED}:${DOTTED}$`);
/** A dotted module name, as agentscope2_launcher imports AGENTSCOPE_USER_MODULE. */
export const MODULE_SPEC = new RegExp(`^${DOTTED}$`);

/** What `app` must look like for the framework, and an example, for error messages. */
export const APP_SPECS: Readonly<Record<AgentFramework, { pattern: RegExp; expected: string }>> = {
  "agentscope-runtime": { pattern: APP_SPEC, expected: "module:attribute of the AgentApp object, such as app:agent_app" },
  agentscope2: { pattern: MODULE_SPEC, expected: "the module of the agent's hooks (extra_agent_tools, custom_agent_cls, ...), such as agent_hooks" },
};

/** The module's file candidates under the directory: `a/b.py` or the package `a/b/__init__.py`. */
export function appModuleFiles(app: string): string[] {
  const modulePath = app.split(":")[0]!.split(".").join("/");
  return [`${modulePath}.py`, `${modulePath}/__init__.py`];
}

/** Throws unless the source is well formed; `arg` names it in the message (e.g. `agents[scout].source`). */
export function requireAgentSource(component: string, arg: string, source: AgentSource): void {
  if (source.kind === "builtin") return;
  if (!(AGENT_FRAMEWORKS as readonly string[]).includes(source.framework)) {
    throw new Error(`${component}: ${arg}.framework must be one of ${AGENT_FRAMEWORKS.join(", ")}, got ${JSON.stringify(source.framework)}`);
  }
  if (source.kind === "image") {
    if (!isDigestRef(source.image)) throw new Error(`${component}: ${arg}.image must be pinned by digest (<repository>@sha256:<64 hex digits>), got ${JSON.stringify(source.image)}`);
    return;
  }
  if (!source.path) throw new Error(`${component}: ${arg}.path must name the directory of the agent's code`);
  const spec = APP_SPECS[source.framework];
  if (!spec.pattern.test(source.app)) throw new Error(`${component}: ${arg}.app must be ${spec.expected} (framework ${source.framework}), got ${JSON.stringify(source.app)}`);
}

/** Repository name of a user agent's image: `agent-<name>` (the name is a DNS label). */
export function userAgentRepositoryName(agentName: string): string {
  requireDnsLabel("userAgentRepositoryName", "agentName", agentName, 30);
  return `agent-${agentName}`;
}
export const USER_AGENT_KIT_REPOSITORY = "user-agent-kit";
