/**
 * Where an agent's code comes from: our built-in Friday, a directory of the user's code that the
 * stack builds into the user-agent image (agent-image/user-agent.Dockerfile on the `user-agent-kit`
 * target), or a prebuilt image by digest.
 */
import { isDigestRef, requireDnsLabel } from "./validate";

/**
 * The frameworks a user's app may be written for. `agentscope-runtime`: an `AgentApp` of
 * agentscope-runtime 1.0.x or 1.1.x, started by agent-image/agent_launcher (its `run(host=, port=)`).
 */
export const AGENT_FRAMEWORKS = ["agentscope-runtime"] as const;
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

/** Dockerfile (in the agent-image context) that wraps a user's directory, and its final stage. */
export const USER_AGENT_DOCKERFILE = "user-agent.Dockerfile";
export const USER_AGENT_TARGET = "user-agent";
/** Target of agent-image/Dockerfile with our files for it (the launcher, install-deps.sh). */
export const USER_AGENT_KIT_TARGET = "user-agent-kit";

const IDENTIFIER = "[A-Za-z_][A-Za-z0-9_]*";
const DOTTED = `${IDENTIFIER}(\\.${IDENTIFIER})*`;
/** `module:attribute` as agent_launcher loads it (dotted on either side). */
export const APP_SPEC = new RegExp(`^${DOTTED}:${DOTTED}$`);

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
  if (!APP_SPEC.test(source.app)) throw new Error(`${component}: ${arg}.app must be module:attribute such as app:agent_app, got ${JSON.stringify(source.app)}`);
}

/** Repository name of a user agent's image: `agent-<name>` (the name is a DNS label). */
export function userAgentRepositoryName(agentName: string): string {
  requireDnsLabel("userAgentRepositoryName", "agentName", agentName, 30);
  return `agent-${agentName}`;
}
export const USER_AGENT_KIT_REPOSITORY = "user-agent-kit";
