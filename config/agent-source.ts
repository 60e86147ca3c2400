import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { AGENT_FRAMEWORKS, APP_SPECS, MODULE_SPEC, appModuleFiles } from "../components/workload/agent-source";
import type { AgentFramework } from "../components/workload/agent-source";

const imageByDigest = z
  .string()
  .regex(/^[^\s@]+@sha256:[0-9a-f]{64}$/, "must be pinned by digest: <repository>@sha256:<64 hex digits>");

const framework = z.enum(AGENT_FRAMEWORKS, { error: `must be one of ${AGENT_FRAMEWORKS.join(", ")} (the framework the app is written for)` });

/**
 * Requirement lines of a pip requirements file that carry no `--hash`: continuation lines joined,
 * comments and option lines (`-r`, `--index-url`...) skipped. pip's `--require-hashes` (which
 * agent-image/install-deps.sh passes) refuses such a file at build time; here it is refused first.
 */
export function unhashedRequirements(text: string): string[] {
  const logical = text.replace(/\\\r?\n/g, " ").split(/\r?\n/);
  return logical
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("-"))
    .filter((line) => !/--hash=sha256:[0-9a-f]{64}/.test(line))
    .map((line) => line.split(/\s/)[0]!);
}

/** Problems of a directory source on disk, each with the key it belongs to (`path` or `app`). */
export function directoryProblems(path: string, app: string, framework: AgentFramework, cwd: string = process.cwd()): { key: "path" | "app"; message: string }[] {
  const spec = APP_SPECS[framework];
  const appOk = spec.pattern.test(app);
  const problems: { key: "path" | "app"; message: string }[] = appOk ? [] : [{
    key: "app",
    message: `must be ${spec.expected} (framework ${framework})${framework === "agentscope-runtime" && MODULE_SPEC.test(app) ? "; a bare module is what framework agentscope2 takes" : ""}`,
  }];
  const dir = resolve(cwd, path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [...problems, { key: "path", message: `must be a directory of the agent's code (relative to the Pulumi project, ${cwd}); ${dir} is not one` }];
  const lock = join(dir, "requirements.txt");
  if (!existsSync(lock)) {
    problems.push({ key: "path", message: `must hold requirements.txt, hash-locked (e.g. uv pip compile requirements.in --generate-hashes -o requirements.txt; see examples/seed-agent/lock.sh); ${lock} is missing` });
  } else {
    const unhashed = unhashedRequirements(readFileSync(lock, "utf-8"));
    const shown = unhashed.slice(0, 3).join(", ") + (unhashed.length > 3 ? `, and ${unhashed.length - 3} more` : "");
    if (unhashed.length) problems.push({ key: "path", message: `requirements.txt must pin every requirement with --hash=sha256:... (the image installs with --require-hashes); without one: ${shown}` });
    else if (!/--hash=sha256:/.test(readFileSync(lock, "utf-8"))) problems.push({ key: "path", message: "requirements.txt lists no requirement: it must hold the app's hash-locked dependencies" });
  }
  if (appOk && !appModuleFiles(app).some((f) => existsSync(join(dir, f)))) {
    problems.push({ key: "app", message: `names module ${app.split(":")[0]}, but neither ${appModuleFiles(app).join(" nor ")} is in ${path}` });
  }
  return problems;
}

/** `agents[i].source`: where the agent's code comes from (default our Friday). */
export const agentSourceSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("builtin") }),
  z.strictObject({
    kind: z.literal("directory"),
    path: z.string().min(1, "must name the directory of the agent's code"),
    app: z.string().min(1, "must name the app: module:attribute (agentscope-runtime) or the hooks module (agentscope2)"),
    framework,
  }).superRefine((s, ctx) => {
    for (const p of directoryProblems(s.path, s.app, s.framework)) ctx.addIssue({ code: "custom", path: [p.key], message: p.message });
  }),
  z.strictObject({ kind: z.literal("image"), image: imageByDigest, framework }),
], { error: 'must have kind "builtin", "directory" (path, app, framework) or "image" (image by digest, framework)' });
