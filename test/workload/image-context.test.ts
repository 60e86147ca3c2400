/**
 * The image build context is found from the components' own location, never from the working
 * directory: from the source tree, from an installed package's layout (bin/components/workload next
 * to bin/agent-image, as scripts/build-package.sh lays it out), and AgentScopeWorkloads with
 * `images.build` and no `context` builds from it when the program runs elsewhere (issue 26: outside
 * the repository it failed with `ENOENT: scandir 'agent-image'`).
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AGENT_IMAGE_TARGETS, agentImageContext } from "../../components/workload/image-context";
import { MOCK_DIGEST } from "../support/mocks";
import { REPO_ROOT } from "../support/stack-config";
import { runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const work = realpathSync(mkdtempSync(join(tmpdir(), "image-context-")));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("agentImageContext", () => {
  it("is the repository's agent-image/ from the source tree", () => {
    expect(agentImageContext()).toBe(join(REPO_ROOT, "agent-image"));
  });

  it("is bin/agent-image of an installed package, from its compiled module's directory", () => {
    const pkg = join(work, "consumer", "node_modules", "@agentscope-ack", "components");
    const moduleDir = join(pkg, "bin", "components", "workload");
    mkdirSync(moduleDir, { recursive: true });
    mkdirSync(join(pkg, "bin", "agent-image"));
    writeFileSync(join(pkg, "bin", "agent-image", "Dockerfile"), "FROM scratch\n");
    expect(agentImageContext(moduleDir)).toBe(join(pkg, "bin", "agent-image"));
  });

  it("says where it looked when the package has no context (a partial copy)", () => {
    const moduleDir = join(work, "partial", "bin", "components", "workload");
    mkdirSync(moduleDir, { recursive: true });
    expect(() => agentImageContext(moduleDir)).toThrow(`the image build context is missing: no Dockerfile in ${join(work, "partial", "bin", "agent-image")}`);
  });

  it("has one ignore list for both engines: docker reads only .dockerignore, podman .containerignore first", () => {
    const context = join(REPO_ROOT, "agent-image");
    expect(readFileSync(join(context, ".dockerignore"), "utf8")).toBe(readFileSync(join(context, ".containerignore"), "utf8"));
  });

  it("names targets the Dockerfile has", () => {
    const stages = [...readFileSync(join(REPO_ROOT, "agent-image", "Dockerfile"), "utf8").matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    for (const { target } of AGENT_IMAGE_TARGETS) expect(stages).toContain(target);
  });
});

describe("AgentScopeWorkloads with images.build and no context, run from another directory", () => {
  it("builds from the components' agent-image/, with a content tag over its files", async () => {
    const cwd = process.cwd();
    process.chdir(work);
    try {
      const args = workloadsArgs("local");
      expect(args.images.build?.context).toBeUndefined();
      const run = await runWorkloads(args);
      const build = run.one("docker:index/image:Image", "agentscope-agent-image-image").inputs;
      // Relative to the program's directory, so the state does not name this machine's paths.
      const context = relative(work, join(REPO_ROOT, "agent-image"));
      expect(context.startsWith("..")).toBe(true);
      expect(build["build"] as Obj).toMatchObject({ context, dockerfile: join(context, "Dockerfile"), target: "agent" });
      expect(build["imageName"]).toMatch(/^localhost:5000\/agentscope\/agent:src-[0-9a-f]{16}$/);
      const friday = run.k8sObjects().find((x) => x.kind === "Deployment" && x.metadata?.name === "agent-friday");
      expect(friday).toBeDefined();
      expect(JSON.stringify(friday)).toContain(`localhost:5000/agentscope/agent@sha256:${MOCK_DIGEST}`);
    } finally {
      process.chdir(cwd);
    }
  });
});
