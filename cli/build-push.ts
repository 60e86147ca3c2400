import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGENT_IMAGE_TARGETS } from "../components/workload/image-context";
import type { ImagesOptions } from "./images-args";

/**
 * Runs a command to its end and returns its stdout; throws when it fails. `quiet` false lets its
 * output through (to the caller's stderr) and returns "".
 */
export type Runner = (cmd: string, args: string[], quiet: boolean) => string;

/** What the command prints: the references by digest, shaped as the components' Args take them. */
export interface PushedImages {
  /** AgentRuntimeArgs.image (AgentScopeWorkloadsArgs images.agent; stack config images.agent). */
  agent: string;
  /** SandboxPoolArgs.image (images.sandboxManager). */
  sandboxManager: string;
  /** StandInModelArgs.image (images.standInModel). */
  standInModel: string;
  /** SandboxPoolArgs.images (stack config sandbox.imageTag, sandbox.imageDigests). */
  sandboxImages: { registry: string; namespace: string; tag: string; digests: { base: string } };
}

const LOCAL_NAME = "localhost/agentscope-images";
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Builds every target of the shipped Dockerfile and pushes it, as scripts/push-images.sh does for
 * this repository's own stacks: the same build arguments (BASE_IMAGE, the pip-ca secret), tags named
 * by the image's content (never `latest`, so an identical re-push is a no-op and tags never move),
 * and each image then named by the digest the registry stored.
 */
export function buildAndPush(opts: ImagesOptions, context: string, run: Runner, log: (line: string) => void): PushedImages {
  const e = opts.engine;
  const refs: Record<string, string> = {};
  let sandboxTag = "";
  for (const { target, name } of AGENT_IMAGE_TARGETS) {
    const local = `${LOCAL_NAME}/${target}:build`;
    log(`building ${target} with ${e}`);
    run(e, [
      "build",
      ...(opts.platform ? ["--platform", opts.platform] : []),
      ...(opts.baseImage ? ["--build-arg", `BASE_IMAGE=${opts.baseImage}`] : []),
      ...(opts.pipCa ? ["--secret", `id=pip-ca,src=${opts.pipCa}`] : []),
      "--target", target, "-t", local, "-f", join(context, "Dockerfile"), context,
    ], false);
    const id = run(e, ["image", "inspect", "--format", "{{.Id}}", local], true).trim().replace(/^sha256:/, "");
    const contentTag = id.slice(0, 16);
    if (!/^[a-f0-9]{16}$/.test(contentTag)) throw new Error(`${e} image inspect ${local} gave no image id: ${JSON.stringify(id)}`);
    const tag = target === "sandbox" ? (opts.sandboxTag ?? contentTag) : contentTag;
    if (target === "sandbox") sandboxTag = tag;
    const repo = `${opts.registry}/${opts.namespace}/${name}`;
    log(`pushing ${repo}:${tag}`);
    const digest = e === "podman" ? pushWithPodman(run, local, `${repo}:${tag}`, opts.tlsVerify) : pushWithDocker(run, local, repo, tag);
    if (!DIGEST.test(digest)) throw new Error(`pushing ${repo}:${tag} gave no digest: ${JSON.stringify(digest)}`);
    refs[target] = `${repo}@${digest}`;
    log(`pushed ${refs[target]}`);
  }
  return {
    agent: refs["agent"]!,
    sandboxManager: refs["sandbox-manager"]!,
    standInModel: refs["stand-in-model"]!,
    sandboxImages: { registry: opts.registry, namespace: opts.namespace, tag: sandboxTag, digests: { base: refs["sandbox"]! } },
  };
}

/** podman writes the digest of the manifest it pushed, which is what the registry stores. */
function pushWithPodman(run: Runner, local: string, dest: string, tlsVerify: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "agentscope-images-"));
  try {
    const file = join(dir, "digest");
    run("podman", ["push", "--quiet", ...(tlsVerify ? [] : ["--tls-verify=false"]), "--digestfile", file, local, `docker://${dest}`], true);
    return readFileSync(file, "utf8").trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** docker records the pushed digest among the image's RepoDigests, one per repository. */
function pushWithDocker(run: Runner, local: string, repo: string, tag: string): string {
  run("docker", ["tag", local, `${repo}:${tag}`], true);
  run("docker", ["push", "--quiet", `${repo}:${tag}`], true);
  const repoDigests = JSON.parse(run("docker", ["image", "inspect", "--format", "{{json .RepoDigests}}", `${repo}:${tag}`], true)) as string[] | null;
  const mine = (repoDigests ?? []).find((r) => r.startsWith(`${repo}@`));
  return mine ? mine.slice(repo.length + 1) : "";
}
