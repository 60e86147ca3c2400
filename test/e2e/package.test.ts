// Issue 14 and 26 on the real engine: the components as another team's stack installs them. `npm
// pack`, the tarball installed into a fresh project under the work directory (outside the
// repository) without the optional peers (@pulumi/alicloud, @pulumi/docker, @pulumi/random), the
// images built and pushed from the installed package by its own command (`agentscope-ack-images`),
// examples/existing-cluster's program compiled there by the project's own strict `tsc`, then
// `pulumi up` against the embedded cluster, `pulumi preview --expect-no-changes`, a second sandbox
// pool in the same namespaces, the policy pack found by module resolution, `pulumi destroy` and
// `stack rm`. Every pulumi command runs with PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true: the
// language host and the Kubernetes provider come from the e2e toolchain, and a plugin the program
// does not need (Alibaba Cloud, Docker, random) would fail the run instead of being downloaded. The
// stack sets the example's `acs: true`: every pod goes to the ACS-like kwok node, so the
// Deployments become Available without a real Redis.
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { K8sObject } from "./support";
import { REPO, env, list, ok, recordTime, run, settled } from "./support";

const PACKAGE = "@agentscope-ack/components";
const STACK = "package-consumer";
const NAMESPACES = ["team-a-agents", "team-a-sandboxes"];
const dir = join(env.work, "package-consumer");
const program = join(dir, "program");
const installed = join(program, "node_modules", "@agentscope-ack", "components");
/** podman's and skopeo's credentials for the e2e registry, kept in the work directory. */
const authFile = join(dir, "registry-auth.json");
/** What `agentscope-ack-images` printed (step 2). */
let images: { agent: string; sandboxManager: string; standInModel: string; sandboxImages: { registry: string; namespace: string; tag: string; digests: { base: string } } };

const secrets = {
  kubeconfig: readFileSync(env.kubeconfig, "utf8"),
  modelApiKey: "sk-e2e-package-model-key-7c1d9e",
  agentApiToken: "e2e-package-agent-api-token-41b2",
  sandboxManagerToken: "e2e-package-sandbox-manager-tok-9d0",
  redisPassword: "e2e-package-redis-password-3e5f",
};

function repoVersion(name: string): string {
  return (JSON.parse(readFileSync(join(REPO, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

function pulumi(args: string[], extraEnv: Record<string, string> = {}) {
  return run("pulumi", [...args, "--non-interactive", "--color", "never", "--stack", STACK], {
    cwd: program,
    env: { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", ...extraEnv },
  });
}

/** The policy pack's directory as docs/package.md has a team find it: by module resolution. */
function resolvedPolicyPack(): string {
  const r = ok(run("node", ["-p", `require("path").dirname(require.resolve("${PACKAGE}/policy"))`], { cwd: program }), "node -p require.resolve(policy)");
  return r.stdout.trim();
}

/**
 * `pulumi preview --policy-pack <the installed package's bin/policy>`. When the Node.js language
 * host cannot start a pack ("not supported": sdk/v3 <= 3.68.0, all the Go module proxy serves), the
 * same compiled pack runs through the CLI's older analyzer path instead: a copy of the installed
 * directory whose PulumiPolicy.yaml says `runtime: nodejs-policy`, started by
 * test/e2e/policy-shim/pulumi-analyzer-policy-nodejs-policy with the project's node_modules.
 */
function previewWithInstalledPack(packDir: string, configFile: string) {
  const args = (pack: string) => ["preview", "--policy-pack", pack, "--policy-pack-config", configFile];
  const direct = pulumi(args(packDir));
  if (!/could not read plugin .*not supported/.test(direct.stdout + direct.stderr)) return direct;
  const pack = join(dir, "policy-via-shim");
  cpSync(packDir, pack, { recursive: true });
  symlinkSync(join(program, "node_modules"), join(pack, "node_modules"));
  writeFileSync(join(pack, "PulumiPolicy.yaml"), readFileSync(join(packDir, "PulumiPolicy.yaml"), "utf8").replace(/^runtime: nodejs$/m, "runtime: nodejs-policy"));
  return pulumi(args(pack), { PATH: `${join(REPO, "test", "e2e", "policy-shim")}:${process.env["PATH"] ?? ""}` });
}

interface Deployment extends K8sObject {
  spec: { template: { spec: { containers: { image: string }[] } } };
  status?: { availableReplicas?: number; replicas?: number };
}

describe.sequential("a stack of another team, from the packed tarball, on the real engine", () => {
  it("1. installs the tarball outside the repository, without the optional peers, and compiles the example with tsc --strict", () => {
    mkdirSync(program, { recursive: true });
    const packed = JSON.parse(ok(run("npm", ["pack", "--json", "--pack-destination", dir]), "npm pack").stdout) as { filename: string }[];
    const tarball = join(dir, packed[0]!.filename);
    const pin = (name: string) => [name, repoVersion(name)] as const;
    writeFileSync(join(program, "package.json"), JSON.stringify({
      name: "team-a-stack",
      private: true,
      dependencies: Object.fromEntries([[PACKAGE, `file:${tarball}`], pin("@pulumi/pulumi"), pin("@pulumi/kubernetes")]),
      // @pulumi/policy: for the policy pack (step 6), as the README tells a team to install it.
      devDependencies: Object.fromEntries([pin("typescript"), pin("@types/node"), pin("@pulumi/policy")]),
    }, null, 2));
    const install = ok(run("npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: program }), "npm install");
    recordTime("package: npm install of the tarball", install.seconds);
    for (const peer of ["@pulumi/alicloud", "@pulumi/docker", "@pulumi/random"]) expect(existsSync(join(program, "node_modules", peer)), peer).toBe(false);

    cpSync(join(REPO, "examples", "existing-cluster", "index.ts"), join(program, "index.ts"));
    const tsconfig = JSON.parse(readFileSync(join(REPO, "test", "package", "consumer", "tsconfig.json"), "utf8")) as { files: string[] };
    writeFileSync(join(program, "tsconfig.json"), JSON.stringify({ ...tsconfig, files: ["index.ts"] }, null, 2));
    const tsc = ok(run(join(program, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: program }), "tsc --strict");
    recordTime("package: tsc --strict", tsc.seconds);

    // The example's Pulumi.yaml, run from the compiled JavaScript.
    const project = parse(readFileSync(join(REPO, "examples", "existing-cluster", "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(program, "Pulumi.yaml"), stringify({ ...project, main: "bin/index.js", runtime: { name: "nodejs", options: { typescript: false } } }));
    // The example takes the any-cluster subpath, which loads no Alibaba Cloud SDK.
    expect(readFileSync(join(program, "bin", "index.js"), "utf8")).toContain(`require("${PACKAGE}/workload")`);
  });

  it("2. agentscope-ack-images builds the images from the installed package and pushes them; the registry has every digest", () => {
    // As a team logs in before the command: podman's own login, kept in this run's auth file.
    const authEnv = { REGISTRY_AUTH_FILE: authFile };
    ok(run("podman", ["login", "--tls-verify=false", "--username", env.registryUser, "--password-stdin", env.registry], { env: authEnv, input: env.registryPassword }), "podman login");
    // The local debootstrap base (scripts/make-base-image.sh; no Docker Hub here), as push-images.sh
    // built the suite's images: the layers are podman's cache hits, the build context the package's.
    const base = process.env["BASE_IMAGE"] ?? "localhost/bookworm-python:3.11";
    const cli = join(program, "node_modules", ".bin", "agentscope-ack-images");
    const built = ok(run(cli, ["--registry", env.registry, "--base-image", base, "--tls-verify=false"], { cwd: dir, env: authEnv }), "agentscope-ack-images");
    recordTime("package: agentscope-ack-images (4 images, cached layers)", built.seconds);
    expect(built.stderr).toContain(`building agent with podman`);
    images = JSON.parse(built.stdout) as typeof images;
    const repo = (name: string) => `${env.registry}/agentscope/${name}@sha256:`;
    expect(images.agent.startsWith(repo("agent"))).toBe(true);
    expect(images.sandboxManager.startsWith(repo("sandbox-manager"))).toBe(true);
    expect(images.standInModel.startsWith(repo("stand-in-model"))).toBe(true);
    expect(images.sandboxImages).toMatchObject({ registry: env.registry, namespace: "agentscope" });
    expect(images.sandboxImages.digests.base.startsWith(repo("runtime-sandbox-base"))).toBe(true);
    for (const ref of [images.agent, images.sandboxManager, images.standInModel, images.sandboxImages.digests.base]) {
      const inspect = ok(run("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", `docker://${ref}`], { env: authEnv }), `skopeo inspect ${ref}`);
      expect(inspect.stdout.trim()).toBe(ref.slice(ref.indexOf("@") + 1));
    }
    const tagged = ok(run("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", `docker://${env.registry}/agentscope/runtime-sandbox-base:${images.sandboxImages.tag}`], { env: authEnv }), "skopeo inspect sandbox tag");
    expect(tagged.stdout.trim()).toBe(images.sandboxImages.digests.base.split("@")[1]);
    // The build context came from the installed package, where the images command found it.
    expect(existsSync(join(installed, "bin", "agent-image", "Dockerfile"))).toBe(true);
  });

  it("3. pulumi up (no plugin downloads) creates the namespaces, Deployments and NetworkPolicies; the pods run on the ACS-like node", async () => {
    ok(run("pulumi", ["stack", "init", STACK, "--non-interactive"], { cwd: program }), "pulumi stack init");
    const config: Record<string, string> = {
      agentImage: images.agent,
      sandboxManagerImage: images.sandboxManager,
      sandboxRegistry: images.sandboxImages.registry,
      redisHost: "redis.platform.svc.cluster.local",
      redisCidr: "10.96.12.0/24",
      acs: "true",
    };
    for (const [key, value] of Object.entries(config)) ok(pulumi(["config", "set", key, value]), `pulumi config set ${key}`);
    for (const [key, value] of Object.entries(secrets)) ok(pulumi(["config", "set", "--secret", key, value]), `pulumi config set --secret ${key}`);

    const up = ok(pulumi(["up", "--yes", "--skip-preview"]), "pulumi up");
    recordTime("package: pulumi up", up.seconds);
    expect(up.stdout).toMatch(/\+ \d+ created/);

    for (const ns of NAMESPACES) expect(list(["namespaces", "--field-selector", `metadata.name=${ns}`])).toHaveLength(1);
    expect(list(["networkpolicies", "-n", "team-a-sandboxes"]).length).toBeGreaterThan(0);
    await settled("the example's Deployments Available", () => {
      const deployments = list(["deployments", "-n", "team-a-agents"]) as Deployment[];
      expect(deployments.flatMap((d) => d.spec.template.spec.containers.map((c) => c.image))).toEqual(expect.arrayContaining([images.agent, images.sandboxManager]));
      for (const d of deployments) expect(d.status?.availableReplicas, d.metadata.name).toBe(d.status?.replicas);
    });
    const pods = list(["pods", "-n", "team-a-agents"]) as (K8sObject & { spec: { nodeName?: string } })[];
    expect(pods.length).toBeGreaterThan(0);
    for (const p of pods) expect(p.spec.nodeName, p.metadata.name).toBe("virtual-kubelet-cn-hangzhou-i");
  });

  it("4. pulumi preview --expect-no-changes, with plugin acquisition disabled", () => {
    const preview = ok(pulumi(["preview", "--expect-no-changes"]), "pulumi preview --expect-no-changes");
    recordTime("package: preview with no changes", preview.seconds);
    expect(preview.stdout).toMatch(/\b\d+ unchanged/);
    expect(preview.stdout).not.toMatch(/to (create|update|delete|replace)/);
    expect(preview.stdout + preview.stderr).not.toMatch(/alicloud|pulumi-resource-docker|pulumi-resource-random/);
  });

  it("5. a second sandbox pool with a namePrefix in the same namespaces: pulumi up adds it beside the first, no name clashes", async () => {
    cpSync(join(REPO, "test", "e2e", "package-consumer", "second-pool.ts"), join(program, "second-pool.ts"));
    appendFileSync(join(program, "index.ts"), `\nimport "./second-pool";\n`);
    ok(run(join(program, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: program }), "tsc --strict (with the second pool)");
    const up = ok(pulumi(["up", "--yes", "--skip-preview"]), "pulumi up (second pool)");
    recordTime("package: pulumi up of a second pool", up.seconds);
    expect(up.stdout).toMatch(/\+ \d+ created/);
    expect(up.stdout).not.toMatch(/[-~] \d+ (deleted|updated|replaced)/);

    await settled("both sandbox managers Available", () => {
      const managers = (list(["deployments", "-n", "team-a-agents"]) as Deployment[]).filter((d) => d.metadata.name.endsWith("sandbox-manager"));
      expect(managers.map((d) => d.metadata.name).sort()).toEqual(["batch-sandbox-manager", "sandbox-manager"]);
      for (const d of managers) expect(d.status?.availableReplicas, d.metadata.name).toBe(d.status?.replicas);
    });
    const clusterRoles = list(["clusterroles"]).map((r) => r.metadata.name).filter((n) => n.startsWith("team-a-"));
    expect(clusterRoles).toEqual(expect.arrayContaining(["team-a-sandbox-manager", "team-a-batch-sandbox-manager"]));
    const policies = list(["networkpolicies", "-n", "team-a-sandboxes"]).map((p) => p.metadata.name);
    expect(policies).toEqual(expect.arrayContaining(["default-deny", "batch-default-deny"]));
  });

  it("6. the policy pack, found by module resolution in the installed package, passes both pools with the team's own config", () => {
    const packDir = resolvedPolicyPack();
    expect(packDir).toBe(join(installed, "bin", "policy"));
    // The example's pack config, with this run's registry: the images come from it.
    const example = JSON.parse(readFileSync(join(REPO, "examples", "existing-cluster", "policy-config", "example.json"), "utf8")) as Record<string, unknown>;
    const configFile = join(dir, "policy-config.json");
    writeFileSync(configFile, JSON.stringify({ ...example, "workload-containers": { allowedRegistries: [env.registry] } }));
    const preview = ok(previewWithInstalledPack(packDir, configFile), "pulumi preview --policy-pack (module resolution)");
    recordTime("package: preview with the installed policy pack", preview.seconds);
    expect(preview.stdout).toMatch(/✅ agentscope-ack@/);
    expect(preview.stdout + preview.stderr).not.toMatch(/mandatory|advisory/);
  });

  it("7. pulumi destroy removes everything; stack rm", async () => {
    const destroy = ok(pulumi(["destroy", "--yes", "--skip-preview"]), "pulumi destroy");
    recordTime("package: pulumi destroy", destroy.seconds);
    expect(destroy.stdout).toMatch(/- \d+ deleted/);
    await settled("the example's namespaces gone", () => {
      for (const ns of NAMESPACES) expect(list(["namespaces", "--field-selector", `metadata.name=${ns}`])).toEqual([]);
    }, 120);
    ok(pulumi(["stack", "rm", "--yes"]), "pulumi stack rm");
  });
});
