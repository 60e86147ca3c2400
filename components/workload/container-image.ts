import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type * as docker from "@pulumi/docker";
import { requireOptionalPeer } from "../shared/optional-peer";
import * as pulumi from "@pulumi/pulumi";
import { requireDigestRef } from "./validate";

/** Credentials to push to (and pull from) a registry. */
export interface RegistryCredentials {
  /** Registry host[:port], e.g. `myacr-registry.cn-hangzhou.cr.aliyuncs.com` or `localhost:5000`. */
  server: pulumi.Input<string>;
  username: pulumi.Input<string>;
  /** A Pulumi secret. */
  password: pulumi.Input<string>;
}

/** How to build an image from a Dockerfile and push it. */
export interface ImageBuildArgs {
  /** Build context directory (e.g. `agent-image`). */
  context: string;
  /** Dockerfile path, relative to the working directory (default `<context>/Dockerfile`). */
  dockerfile?: string;
  /** Multi-stage target (e.g. `agent`, `sandbox-manager`). */
  target: string;
  /** Target platform (default `linux/amd64`: ACS and ACK nodes are x86_64). */
  platform?: "linux/amd64" | "linux/arm64";
  /** Build args, e.g. `{ BASE_IMAGE: "python:3.11-slim-bookworm" }` (default none). */
  buildArgs?: Record<string, pulumi.Input<string>>;
  /** Repository to push to, without tag: `<registry>/<namespace>/<name>`. */
  repository: pulumi.Input<string>;
  /**
   * The same repository as the cluster pulls it, when that differs from the push address, e.g.
   * ACR EE's `<instance>-registry-vpc.<region>.cr.aliyuncs.com/...` (default: `repository`). The
   * digest is the registry's, so it is the same through either endpoint.
   */
  pullRepository?: pulumi.Input<string>;
  /**
   * Tag pushed alongside the digest (default: `src-<hash>` of the build inputs, so a tag names one
   * content and never collides under ACR tag immutability); workloads never run it, they run the digest.
   * `latest` is refused: a mutable tag cannot be pushed twice to an immutable repository.
   */
  tag?: string;
  /** Registry credentials for the push (default none: the Docker daemon's own login, or a registry without auth). */
  registry?: RegistryCredentials;
}

/** Either build and push, or reference a prebuilt image by digest; exactly one. */
export interface ContainerImageArgs {
  /** Build from a Dockerfile and push; the output is the pushed digest. */
  build?: ImageBuildArgs;
  /** A prebuilt image pinned by digest (`<repository>@sha256:<64 hex>`), e.g. from a CI pipeline. */
  prebuilt?: string;
}

export type ResolvedContainerImageArgs =
  | { readonly kind: "prebuilt"; readonly ref: string }
  | {
    readonly kind: "build";
    /** `tag` is "" when it is to be derived from the build inputs (contentTag). */
    readonly build: Required<Omit<ImageBuildArgs, "buildArgs" | "registry">> & { readonly buildArgs: Record<string, pulumi.Input<string>>; readonly registry?: RegistryCredentials };
  };

export function resolveContainerImageArgs(args: ContainerImageArgs): ResolvedContainerImageArgs {
  if (args.build && args.prebuilt) {
    throw new Error("ContainerImage: build and prebuilt are mutually exclusive: build and push an image, or give a prebuilt digest");
  }
  if (args.prebuilt !== undefined) {
    requireDigestRef("ContainerImage", "prebuilt", args.prebuilt);
    return { kind: "prebuilt", ref: args.prebuilt };
  }
  const b = args.build;
  if (!b) throw new Error("ContainerImage: give build (Dockerfile context, target, repository, registry) or prebuilt (an image by digest)");
  if (!b.context) throw new Error("ContainerImage: build.context must name the build context directory");
  if (!b.target) throw new Error("ContainerImage: build.target must name the Dockerfile stage to build");
  if (b.tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(b.tag)) throw new Error(`ContainerImage: build.tag must be an image tag, got ${JSON.stringify(b.tag)}`);
  if (b.tag === "latest") throw new Error("ContainerImage: build.tag latest is refused: tag by content (the default) so an immutable repository accepts every push");
  return {
    kind: "build",
    build: {
      context: b.context,
      dockerfile: b.dockerfile ?? `${b.context}/Dockerfile`,
      target: b.target,
      platform: b.platform ?? "linux/amd64",
      buildArgs: b.buildArgs ?? {},
      repository: b.repository,
      pullRepository: b.pullRepository ?? b.repository,
      tag: b.tag ?? "",
      ...(b.registry ? { registry: b.registry } : {}),
    },
  };
}

/**
 * An image the workloads can run: built and pushed with `@pulumi/docker`, or prebuilt. Either way
 * `imageRef` is pinned by digest, so every code change rolls the Deployment and nothing runs a
 * mutable tag.
 */
export class ContainerImage extends pulumi.ComponentResource {
  /** `<repository>@sha256:<digest>`: what pod specs use. */
  public readonly imageRef: pulumi.Output<string>;

  constructor(name: string, args: ContainerImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:ContainerImage", name, {}, opts);
    const r = resolveContainerImageArgs(args);
    if (r.kind === "prebuilt") {
      this.imageRef = pulumi.output(r.ref);
    } else {
      const b = r.build;
      const tag = b.tag !== ""
        ? pulumi.output(b.tag)
        : pulumi.all(b.buildArgs).apply((buildArgs) => contentTag({ context: b.context, dockerfile: b.dockerfile, target: b.target, platform: b.platform, buildArgs }));
      const { Image } = requireOptionalPeer<typeof docker>("@pulumi/docker", "ContainerImage (a build)");
      const image = new Image(`${name}-image`, {
        imageName: pulumi.interpolate`${b.repository}:${tag}`,
        build: {
          context: b.context,
          dockerfile: b.dockerfile,
          target: b.target,
          platform: b.platform,
          args: b.buildArgs,
        },
        ...(b.registry ? { registry: { server: b.registry.server, username: b.registry.username, password: pulumi.secret(b.registry.password) } } : {}),
        skipPush: false,
      }, { parent: this });
      // repoDigest is `<repository>@sha256:...`, known only after the push; check it, never fall back
      // to the tag, and name it by the repository the cluster pulls from.
      this.imageRef = pulumi.all([image.repoDigest, b.pullRepository]).apply(([repoDigest, pullRepository]) => {
        requireDigestRef("ContainerImage", "repoDigest (from the push)", repoDigest);
        return `${pullRepository}${repoDigest.slice(repoDigest.indexOf("@"))}`;
      });
    }
    this.registerOutputs({ imageRef: this.imageRef });
  }
}

/** Directories never part of an image's content (caches and local environments). */
const SKIPPED_DIRS = new Set([".git", "node_modules", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache"]);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => (e.isDirectory() ? (SKIPPED_DIRS.has(e.name) ? [] : filesUnder(join(dir, e.name))) : e.isFile() ? [join(dir, e.name)] : []));
}

/**
 * `src-<16 hex>`: a SHA-256 over every file of the build context (path and bytes), the Dockerfile,
 * the target, the platform and the build args. The same inputs give the same tag; any change gives a
 * new one, so pushes to a tag-immutable ACR repository never collide.
 */
export function contentTag(input: { context: string; dockerfile: string; target: string; platform: string; buildArgs: Record<string, string> }): string {
  const hash = createHash("sha256");
  const files = [...new Set([...filesUnder(input.context), input.dockerfile])];
  for (const file of files) {
    hash.update(`${relative(input.context, file)}\0`);
    hash.update(readFileSync(file));
    hash.update("\0");
  }
  hash.update(JSON.stringify({ target: input.target, platform: input.platform, buildArgs: Object.entries(input.buildArgs).sort() }));
  return `src-${hash.digest("hex").slice(0, 16)}`;
}
