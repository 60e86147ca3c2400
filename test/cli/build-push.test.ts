/**
 * What `agentscope-ack-images` asks the engine to do (cli/build-push.ts), with a runner that records
 * the commands and answers as podman and docker would: every target built from the given context
 * with the base image and the pip-ca secret, tagged by content (the sandbox by --sandbox-tag), pushed,
 * and named by the digest the push reported; a push that reports no digest is an error. The real
 * engine runs it in test/e2e/package.test.ts.
 */
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Runner } from "../../cli/build-push";
import { buildAndPush } from "../../cli/build-push";
import type { ImagesOptions } from "../../cli/images-args";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const DIGESTS: Record<string, string> = { agent: D("a"), "sandbox-manager": D("b"), sandbox: D("c"), "stand-in-model": D("d") };
const target = (ref: string) => /agentscope-images\/([a-z-]+):build/.exec(ref)?.[1] ?? /\/([a-z-]+):[\w.-]+$/.exec(ref)?.[1]?.replace("runtime-sandbox-base", "sandbox") ?? "";

/** Answers like the engine: image ids from the target's name, digests per target. */
function fakeEngine(digestOf: (t: string) => string = (t) => DIGESTS[t]!): { run: Runner; calls: string[][] } {
  const calls: string[][] = [];
  const run: Runner = (cmd, args) => {
    calls.push([cmd, ...args]);
    if (args[0] === "image" && args[3] === "{{.Id}}") return `sha256:${Buffer.from(target(args[4]!)).toString("hex").padEnd(64, "0")}\n`;
    if (cmd === "podman" && args[0] === "push") writeFileSync(args[args.indexOf("--digestfile") + 1]!, digestOf(target(args.at(-1)!)));
    if (cmd === "docker" && args[0] === "image" && args[3] === "{{json .RepoDigests}}") {
      const ref = args[4]!;
      const repo = ref.slice(0, ref.lastIndexOf(":"));
      return JSON.stringify([`elsewhere.example.com/x@${D("9")}`, `${repo}@${digestOf(target(ref))}`]);
    }
    return "";
  };
  return { run, calls };
}

const base: ImagesOptions = { registry: "registry.example.com:5000/team-a", namespace: "agentscope", baseImage: "localhost/bookworm-python:3.11", engine: "podman", platform: undefined, sandboxTag: undefined, pipCa: "/ca.pem", tlsVerify: false };
const tagOf = (t: string) => Buffer.from(t).toString("hex").padEnd(64, "0").slice(0, 16);

describe("buildAndPush with podman", () => {
  const { run, calls } = fakeEngine();
  const pushed = buildAndPush(base, "/pkg/bin/agent-image", run, () => undefined);

  it("builds each target from the given context with the base image and the pip CA as a secret", () => {
    const builds = calls.filter((c) => c[1] === "build");
    expect(builds.map((c) => c[c.indexOf("--target") + 1])).toEqual(["agent", "sandbox-manager", "sandbox", "stand-in-model"]);
    for (const b of builds) {
      expect(b).toEqual(expect.arrayContaining(["--build-arg", "BASE_IMAGE=localhost/bookworm-python:3.11", "--secret", "id=pip-ca,src=/ca.pem", "-f", "/pkg/bin/agent-image/Dockerfile"]));
      expect(b.at(-1)).toBe("/pkg/bin/agent-image");
      expect(b).not.toContain("--platform");
    }
  });

  it("pushes each image under a content tag (the sandbox as runtime-sandbox-base) without TLS when asked", () => {
    const pushes = calls.filter((c) => c[1] === "push").map((c) => c.at(-1));
    expect(pushes).toEqual([
      `docker://registry.example.com:5000/team-a/agentscope/agent:${tagOf("agent")}`,
      `docker://registry.example.com:5000/team-a/agentscope/sandbox-manager:${tagOf("sandbox-manager")}`,
      `docker://registry.example.com:5000/team-a/agentscope/runtime-sandbox-base:${tagOf("sandbox")}`,
      `docker://registry.example.com:5000/team-a/agentscope/stand-in-model:${tagOf("stand-in-model")}`,
    ]);
    for (const p of calls.filter((c) => c[1] === "push")) expect(p).toContain("--tls-verify=false");
  });

  it("prints the references by digest, shaped as the components take them", () => {
    const r = "registry.example.com:5000/team-a/agentscope";
    expect(pushed).toEqual({
      agent: `${r}/agent@${D("a")}`,
      sandboxManager: `${r}/sandbox-manager@${D("b")}`,
      standInModel: `${r}/stand-in-model@${D("d")}`,
      sandboxImages: { registry: "registry.example.com:5000/team-a", namespace: "agentscope", tag: tagOf("sandbox"), digests: { base: `${r}/runtime-sandbox-base@${D("c")}` } },
    });
  });
});

describe("buildAndPush with docker and the other options", () => {
  it("passes the platform, leaves out what was not given, tags the sandbox as asked and reads the digest of this repository", () => {
    const { run, calls } = fakeEngine();
    const pushed = buildAndPush({ ...base, engine: "docker", baseImage: undefined, pipCa: undefined, platform: "linux/amd64", sandboxTag: "v1", tlsVerify: true }, "/ctx", run, () => undefined);
    const builds = calls.filter((c) => c[1] === "build");
    for (const b of builds) {
      expect(b.slice(0, 4)).toEqual(["docker", "build", "--platform", "linux/amd64"]);
      expect(b.join(" ")).not.toMatch(/BASE_IMAGE|--secret/);
    }
    expect(calls).toContainEqual(["docker", "push", "--quiet", "registry.example.com:5000/team-a/agentscope/runtime-sandbox-base:v1"]);
    expect(pushed.sandboxImages.tag).toBe("v1");
    expect(pushed.agent).toBe(`registry.example.com:5000/team-a/agentscope/agent@${D("a")}`);
  });

  it("fails when a push reports no digest, naming the image", () => {
    const { run } = fakeEngine((t) => (t === "sandbox-manager" ? "" : DIGESTS[t]!));
    expect(() => buildAndPush(base, "/ctx", run, () => undefined)).toThrow(`pushing registry.example.com:5000/team-a/agentscope/sandbox-manager:${tagOf("sandbox-manager")} gave no digest: ""`);
  });
});
