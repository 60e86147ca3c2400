/**
 * `agentscope-ack-images` arguments (cli/images-args.ts): what it accepts, and that anything it
 * cannot push to is refused with a message that says what was wrong, before any build starts. The
 * installed command, run as a process, is in test/package/package.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { ImagesOptions } from "../../cli/images-args";
import { UsageError, checkRegistry, parseImagesArgs } from "../../cli/images-args";

type Check = (name: string) => boolean;
const both: Check = (cmd) => cmd === "podman" || cmd === "docker";
const dockerOnly: Check = (cmd) => cmd === "docker";
const noCa: Check = () => false;
const parse = (argv: string[], onPath = both, fileExists = noCa) => parseImagesArgs(argv, onPath, fileExists) as ImagesOptions;
const refused = (argv: string[], onPath = both, fileExists = noCa) => {
  try {
    parseImagesArgs(argv, onPath, fileExists);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${argv.join(" ")}`);
};

describe("--registry", () => {
  it.each(["registry.example.com", "registry.example.com:5000", "localhost:5000", "localhost", "127.0.0.1:25000", "[::1]:5000",
    "registry.example.com/team-a", "myacr-registry.cn-hangzhou.cr.aliyuncs.com/team_a/images"])("accepts %s", (r) => {
    expect(checkRegistry(r)).toBe(r);
  });

  it.each([
    ["", "is empty"],
    ["https://registry.example.com", "has a scheme: give the host without http:// or https://"],
    ["registry.example.com/", "ends with /"],
    ["team-a", "names no registry host: team-a would be read as a Docker Hub account"],
    ["registry.example.com/agent:1.0", "holds a tag or digest"],
    ["registry.example.com/agent@sha256:abc", "holds a tag or digest"],
    ["registry_example.com", "has an invalid host \"registry_example.com\""],
    ["registry-.example.com", "has an invalid host"],
    ["registry.example.com:port", "has an invalid host"],
    ["registry.example.com/Team-A", "has an invalid path component \"Team-A\""],
    ["registry.example.com//a", "has an invalid path component \"\""],
  ])("refuses %j: %s", (registry, why) => {
    const message = refused(["--registry", registry]);
    expect(message).toContain(`--registry ${JSON.stringify(registry)} ${why}`);
    expect(message).toContain("e.g. registry.example.com");
  });

  it("is required", () => {
    expect(refused([])).toBe("--registry is required: the registry to push the images to");
  });
});

describe("the other options", () => {
  it("defaults: namespace agentscope, podman when on PATH, the Dockerfile's base, the engine's platform, a content tag", () => {
    expect(parse(["--registry", "localhost:5000"])).toEqual({
      registry: "localhost:5000", namespace: "agentscope", baseImage: undefined, engine: "podman", platform: undefined,
      sandboxTag: undefined, pipCa: undefined, tlsVerify: true,
    });
    expect(parse(["--registry", "localhost:5000"], dockerOnly).engine).toBe("docker");
    expect(parse(["--registry", "localhost:5000"], both, (f) => f === "/etc/ssl/certs/ca-certificates.crt").pipCa).toBe("/etc/ssl/certs/ca-certificates.crt");
  });

  it("takes every option", () => {
    expect(parse(["--registry=r.example.com/t", "--namespace", "team/ai", "--base-image", "localhost/bookworm-python:3.11", "--engine", "docker",
      "--platform", "linux/arm64", "--sandbox-tag", "v1.2", "--pip-ca", "/ca.pem"], both, (f) => f === "/ca.pem")).toEqual({
      registry: "r.example.com/t", namespace: "team/ai", baseImage: "localhost/bookworm-python:3.11", engine: "docker", platform: "linux/arm64",
      sandboxTag: "v1.2", pipCa: "/ca.pem", tlsVerify: true,
    });
    expect(parse(["--registry", "localhost:5000", "--tls-verify=false"]).tlsVerify).toBe(false);
    expect(parseImagesArgs(["--help"], both, noCa)).toBe("help");
    expect(parseImagesArgs(["-h", "--registry", "x"], both, noCa)).toBe("help");
  });

  it.each([
    [["--registry", "r.example.com", "--namespace", "Team"], "--namespace \"Team\" must be lower case path components"],
    [["--registry", "r.example.com", "--engine", "nerdctl"], "--engine \"nerdctl\" must be podman or docker"],
    [["--registry", "r.example.com", "--platform", "linux/386"], "--platform \"linux/386\" must be linux/amd64 or linux/arm64"],
    [["--registry", "r.example.com", "--sandbox-tag", "latest"], "--sandbox-tag latest is refused"],
    [["--registry", "r.example.com", "--sandbox-tag", "a b"], "--sandbox-tag \"a b\" must be an image tag"],
    [["--registry", "r.example.com", "--base-image", ""], "--base-image \"\" must be an image reference"],
    [["--registry", "r.example.com", "--pip-ca", "/nope.pem"], "--pip-ca /nope.pem: no such file"],
    [["--registry", "r.example.com", "--tls-verify", "no"], "--tls-verify must be true or false"],
    [["--registry", "r.example.com", "--engine", "docker", "--tls-verify=false"], "--tls-verify=false works with podman only"],
    [["--registry", "r.example.com", "--bogus"], "Unknown option '--bogus'"],
    [["--registry", "r.example.com", "extra"], "Unexpected argument 'extra'"],
  ])("refuses %j", (argv, message) => {
    expect(refused(argv)).toContain(message);
  });

  it("refuses an engine that is not installed, naming it", () => {
    expect(refused(["--registry", "r.example.com"], () => false)).toBe("docker is not on PATH: install podman or docker, or pick the one you have with --engine");
    expect(refused(["--registry", "r.example.com", "--engine", "podman"], dockerOnly)).toContain("podman is not on PATH");
  });
});

