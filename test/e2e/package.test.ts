// Issue 14 on the real engine: the components as another team's stack installs them. `npm pack`,
// the tarball installed into a fresh project under the work directory (outside the repository),
// examples/existing-cluster's program compiled there by the project's own strict `tsc`, then
// `pulumi up` against the embedded cluster, `pulumi preview --expect-no-changes`, `pulumi destroy`
// and `stack rm`. The stack sets the example's `acs: true`: every pod goes to the ACS-like kwok
// node, so the Deployments become Available without a real Redis or registry credentials.
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
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
  return run("pulumi", [...args, "--non-interactive", "--color", "never", "--stack", STACK], { cwd: program, env: extraEnv });
}

/**
 * `pulumi preview --policy-pack <the installed package's bin/policy>`. When the Node.js language
 * host cannot start a pack ("not supported": sdk/v3 <= 3.68.0, all the Go module proxy serves), the
 * same compiled pack runs through the CLI's older analyzer path instead: a copy of the installed
 * directory whose PulumiPolicy.yaml says `runtime: nodejs-policy`, started by
 * test/e2e/policy-shim/pulumi-analyzer-policy-nodejs-policy with the project's node_modules.
 */
function previewWithInstalledPack(configFile: string) {
  const installed = join(program, "node_modules", "@agentscope-ack", "components", "bin", "policy");
  const args = (pack: string) => ["preview", "--policy-pack", pack, "--policy-pack-config", configFile];
  const direct = pulumi(args(installed));
  if (!/could not read plugin .*not supported/.test(direct.stdout + direct.stderr)) return direct;
  const pack = join(dir, "policy-via-shim");
  cpSync(installed, pack, { recursive: true });
  symlinkSync(join(program, "node_modules"), join(pack, "node_modules"));
  writeFileSync(join(pack, "PulumiPolicy.yaml"), readFileSync(join(installed, "PulumiPolicy.yaml"), "utf8").replace(/^runtime: nodejs$/m, "runtime: nodejs-policy"));
  return pulumi(args(pack), { PATH: `${join(REPO, "test", "e2e", "policy-shim")}:${process.env["PATH"] ?? ""}` });
}

interface Deployment extends K8sObject {
  spec: { template: { spec: { containers: { image: string }[] } } };
  status?: { availableReplicas?: number; replicas?: number };
}

describe.sequential("a stack of another team, from the packed tarball, on the real engine", () => {
  it("1. installs the tarball outside the repository and compiles the example with tsc --strict", () => {
    mkdirSync(program, { recursive: true });
    const packed = JSON.parse(ok(run("npm", ["pack", "--json", "--pack-destination", dir]), "npm pack").stdout) as { filename: string }[];
    const tarball = join(dir, packed[0]!.filename);
    const pin = (name: string) => [name, repoVersion(name)] as const;
    writeFileSync(join(program, "package.json"), JSON.stringify({
      name: "team-a-stack",
      private: true,
      dependencies: Object.fromEntries([[PACKAGE, `file:${tarball}`], pin("@pulumi/pulumi"), pin("@pulumi/kubernetes")]),
      // @pulumi/policy: for the policy pack (step 4), as the README tells a team to install it.
      devDependencies: Object.fromEntries([pin("typescript"), pin("@types/node"), pin("@pulumi/policy")]),
    }, null, 2));
    const install = ok(run("npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: program }), "npm install");
    recordTime("package: npm install of the tarball", install.seconds);

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

  it("2. pulumi up creates the namespaces, Deployments and NetworkPolicies; the pods run on the ACS-like node", async () => {
    ok(run("pulumi", ["stack", "init", STACK, "--non-interactive"], { cwd: program }), "pulumi stack init");
    const config: Record<string, string> = {
      agentImage: env.agentImage,
      sandboxManagerImage: env.managerImage,
      sandboxRegistry: env.registry,
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
      expect(deployments.flatMap((d) => d.spec.template.spec.containers.map((c) => c.image))).toEqual(expect.arrayContaining([env.agentImage, env.managerImage]));
      for (const d of deployments) expect(d.status?.availableReplicas, d.metadata.name).toBe(d.status?.replicas);
    });
    const pods = list(["pods", "-n", "team-a-agents"]) as (K8sObject & { spec: { nodeName?: string } })[];
    expect(pods.length).toBeGreaterThan(0);
    for (const p of pods) expect(p.spec.nodeName, p.metadata.name).toBe("virtual-kubelet-cn-hangzhou-i");
  });

  it("3. pulumi preview --expect-no-changes", () => {
    const preview = ok(pulumi(["preview", "--expect-no-changes"]), "pulumi preview --expect-no-changes");
    recordTime("package: preview with no changes", preview.seconds);
    expect(preview.stdout).toMatch(/\b\d+ unchanged/);
    expect(preview.stdout).not.toMatch(/to (create|update|delete|replace)/);
  });

  it("4. the policy pack from the installed package, with the team's own config, passes the stack", () => {
    // The example's pack config, with this run's registry: the images come from it.
    const example = JSON.parse(readFileSync(join(REPO, "examples", "existing-cluster", "policy-config", "example.json"), "utf8")) as Record<string, unknown>;
    const configFile = join(dir, "policy-config.json");
    writeFileSync(configFile, JSON.stringify({ ...example, "workload-containers": { allowedRegistries: [env.registry] } }));
    const preview = ok(previewWithInstalledPack(configFile), "pulumi preview --policy-pack (installed)");
    recordTime("package: preview with the installed policy pack", preview.seconds);
    expect(preview.stdout).toMatch(/✅ agentscope-ack@/);
    expect(preview.stdout + preview.stderr).not.toMatch(/mandatory|advisory/);
  });

  it("5. pulumi destroy removes everything; stack rm", async () => {
    const destroy = ok(pulumi(["destroy", "--yes", "--skip-preview"]), "pulumi destroy");
    recordTime("package: pulumi destroy", destroy.seconds);
    expect(destroy.stdout).toMatch(/- \d+ deleted/);
    await settled("the example's namespaces gone", () => {
      for (const ns of NAMESPACES) expect(list(["namespaces", "--field-selector", `metadata.name=${ns}`])).toEqual([]);
    }, 120);
    ok(pulumi(["stack", "rm", "--yes"]), "pulumi stack rm");
  });
});
