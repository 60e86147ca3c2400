import { existsSync } from "node:fs";
import { parseArgs } from "node:util";

export const IMAGES_COMMAND = "agentscope-ack-images";

export const USAGE = `usage: ${IMAGES_COMMAND} --registry HOST[:PORT][/PATH] [options]

Builds the agent, sandbox-manager, sandbox and stand-in-model images from the build context this
package ships, pushes them to your registry (log in first: podman login / docker login), and
prints the references by digest, as JSON on stdout, to paste into your stack's config.

  --registry R        where to push, e.g. registry.example.com or registry.example.com:5000/team-a
  --namespace N       repository namespace under the registry (default agentscope)
  --base-image IMG    BASE_IMAGE build argument: CPython 3.11 with venv and /bin/sh
                      (default: the Dockerfile's, docker.io/library/python:3.11-slim-bookworm)
  --engine E          podman or docker (default: podman when it is on PATH, else docker)
  --platform P        linux/amd64 or linux/arm64 (default: the engine's own)
  --sandbox-tag T     tag of runtime-sandbox-base, which the sandbox manager names images by
                      (default: derived from the image, never latest)
  --pip-ca FILE       a CA bundle pip trusts during the build (a TLS-inspecting proxy), passed as
                      a build secret (default /etc/ssl/certs/ca-certificates.crt when it exists)
  --tls-verify=false  push over plain HTTP or to a self-signed registry (podman only)
  -h, --help          this text`;

export interface ImagesOptions {
  registry: string;
  namespace: string;
  baseImage: string | undefined;
  engine: "podman" | "docker";
  platform: "linux/amd64" | "linux/arm64" | undefined;
  sandboxTag: string | undefined;
  pipCa: string | undefined;
  tlsVerify: boolean;
}

/** A usage error: the message says what was wrong; the command prints it with the usage. */
export class UsageError extends Error {}

// Image reference grammar of github.com/distribution/reference (regexp.go): a registry host is a
// domain (or [IPv6]) with an optional port; path components are lower case.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)";
const HOST = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const EXAMPLE = "e.g. registry.example.com, registry.example.com:5000/team-a or localhost:5000";

/** Checks a registry given as HOST[:PORT][/PATH]; returns it unchanged or throws a UsageError. */
export function checkRegistry(registry: string): string {
  const bad = (why: string) => new UsageError(`--registry ${JSON.stringify(registry)} ${why} (${EXAMPLE})`);
  if (registry === "") throw bad("is empty: give the registry to push to");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(registry)) throw bad("has a scheme: give the host without http:// or https://");
  if (registry.endsWith("/")) throw bad("ends with /");
  if (/[@]/.test(registry) || /\/[^/]*:/.test(registry)) throw bad("holds a tag or digest: give only where to push, the command names the images");
  const [host = "", ...path] = registry.split("/");
  // As docker and podman read a name: a first part without "." or ":" that is not localhost is a
  // Docker Hub user, not a registry.
  if (!/[.:]/.test(host) && host !== "localhost") throw bad(`names no registry host: ${host} would be read as a Docker Hub account`);
  if (!HOST.test(host)) throw bad(`has an invalid host ${JSON.stringify(host)}: a domain name or [IPv6] address, then an optional :port`);
  for (const p of path) {
    if (!PATH_COMPONENT.test(p)) throw bad(`has an invalid path component ${JSON.stringify(p)}: lower case letters and digits, separated by ., _, __ or -`);
  }
  return registry;
}

/** Parses the command's arguments; throws a UsageError for anything it cannot use. */
export function parseImagesArgs(argv: string[], onPath: (cmd: string) => boolean, fileExists: (path: string) => boolean = existsSync): ImagesOptions | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        registry: { type: "string" },
        namespace: { type: "string" },
        "base-image": { type: "string" },
        engine: { type: "string" },
        platform: { type: "string" },
        "sandbox-tag": { type: "string" },
        "pip-ca": { type: "string" },
        "tls-verify": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return "help";
  if (values.registry === undefined) throw new UsageError("--registry is required: the registry to push the images to");
  const registry = checkRegistry(values.registry);

  const namespace = values.namespace ?? "agentscope";
  if (!namespace.split("/").every((p) => PATH_COMPONENT.test(p))) {
    throw new UsageError(`--namespace ${JSON.stringify(namespace)} must be lower case path components (letters and digits, separated by ., _, __ or -), e.g. agentscope`);
  }

  const engine = values.engine ?? (onPath("podman") ? "podman" : "docker");
  if (engine !== "podman" && engine !== "docker") throw new UsageError(`--engine ${JSON.stringify(engine)} must be podman or docker`);
  if (!onPath(engine)) throw new UsageError(`${engine} is not on PATH: install podman or docker, or pick the one you have with --engine`);

  const platform = values.platform;
  if (platform !== undefined && platform !== "linux/amd64" && platform !== "linux/arm64") {
    throw new UsageError(`--platform ${JSON.stringify(platform)} must be linux/amd64 or linux/arm64 (ACK and ACS nodes are linux/amd64)`);
  }

  const sandboxTag = values["sandbox-tag"];
  if (sandboxTag !== undefined && !TAG.test(sandboxTag)) throw new UsageError(`--sandbox-tag ${JSON.stringify(sandboxTag)} must be an image tag (letters, digits, _, . and -, at most 128)`);
  if (sandboxTag === "latest") throw new UsageError("--sandbox-tag latest is refused: a tag that moves cannot be pushed twice to an immutable repository; omit it for a tag derived from the image");

  const baseImage = values["base-image"];
  if (baseImage !== undefined && (baseImage === "" || /\s/.test(baseImage))) throw new UsageError(`--base-image ${JSON.stringify(baseImage)} must be an image reference`);

  const defaultCa = "/etc/ssl/certs/ca-certificates.crt";
  const pipCa = values["pip-ca"] ?? (fileExists(defaultCa) ? defaultCa : undefined);
  if (values["pip-ca"] !== undefined && !fileExists(values["pip-ca"])) throw new UsageError(`--pip-ca ${values["pip-ca"]}: no such file`);

  const tls = values["tls-verify"] ?? "true";
  if (tls !== "true" && tls !== "false") throw new UsageError(`--tls-verify must be true or false, got ${JSON.stringify(tls)}`);
  if (tls === "false" && engine === "docker") throw new UsageError("--tls-verify=false works with podman only: for docker, list the registry under insecure-registries in the daemon's daemon.json");

  return { registry, namespace, baseImage, engine, platform, sandboxTag, pipCa, tlsVerify: tls === "true" };
}
