import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * The Dockerfile targets a consumer builds from the shipped context, each with the repository name
 * the images command pushes it to (`<registry>/<namespace>/<name>`, as scripts/push-images.sh
 * does). The sandbox goes to `runtime-sandbox-base`: the manager pulls `<registry>/runtime-sandbox-<type>:<tag>`
 * (SandboxPoolArgs.images).
 */
export const AGENT_IMAGE_TARGETS = [
  { target: "agent", name: "agent" },
  { target: "sandbox-manager", name: "sandbox-manager" },
  { target: "sandbox", name: "runtime-sandbox-base" },
  { target: "stand-in-model", name: "stand-in-model" },
] as const;

/**
 * The image build context (agent-image/: Dockerfile, user-agent.Dockerfile, the hash locks and the
 * code they copy), found from this module's own location, never from the process's working
 * directory: in the repository this file is components/workload/ and the context is
 * <repo>/agent-image; in the installed package it is bin/components/workload/ and
 * scripts/build-package.sh puts the context at bin/agent-image, the same two levels up.
 * `moduleDir` is for tests of another layout.
 */
export function agentImageContext(moduleDir: string = __dirname): string {
  const context = join(moduleDir, "..", "..", "agent-image");
  if (!existsSync(join(context, "Dockerfile"))) {
    throw new Error(`the image build context is missing: no Dockerfile in ${context} (the package ships it at bin/agent-image; a build from source has it at agent-image/)`);
  }
  return context;
}
