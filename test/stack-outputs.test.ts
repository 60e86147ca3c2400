/**
 * The stack's outputs (config/stack-outputs.ts, exported by index.ts): a stack has only the outputs
 * it can fill. Pulumi's Node.js SDK prints "Undefined value (<name>) will not show as a stack
 * output" for each top-level output that is, or resolves to, undefined; a local `up` printed nine
 * of them (the cloud outputs and kubeContext) before this.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { localStackConfig } from "./e2e/local-config";
import { promiseOf, runProgram } from "./support/program";
import type { FlatConfig } from "./support/stack-config";
import { PROJECT, flatten, shippedStackConfig } from "./support/stack-config";

const digest = (repo: string, n: number) => `127.0.0.1:25001/agentscope/${repo}@sha256:${String(n).repeat(64)}`;

/** The config `npm run local` writes (scripts/local.sh): kubeconfig path, images by digest, the trace viewer on. */
function mainJobConfig(withModelKey: boolean): FlatConfig {
  const config = localStackConfig({
    kubeconfig: "/tmp/agentscope-local/cluster/admin.kubeconfig",
    agentImage: digest("agent", 1), managerImage: digest("sandbox-manager", 2), standInModelImage: digest("stand-in-model", 3),
    sandboxImage: digest("runtime-sandbox-base", 4), redisImage: digest("redis", 5),
    registry: "127.0.0.1:25001", registryUser: "agentscope",
  });
  const images = { ...(config["images"] as object), traceViewer: digest("jaeger", 6) };
  const secrets = {
    localRegistryPassword: "local-registry-pass", agentApiToken: "a".repeat(48), sandboxManagerToken: "b".repeat(48), redisPassword: "c".repeat(48),
    ...(withModelKey ? { modelApiKey: "sk-test-model-key-0123456789" } : {}),
  };
  const values = { ...config, images, observability: { localTraceViewer: true }, standInModel: !withModelKey, ...secrets };
  return Object.fromEntries(Object.entries(flatten(values)).map(([k, v]) => [`${PROJECT}:${k}`, v]));
}

/** Each top-level output that is undefined or an Output resolving to undefined: what the SDK warns about. */
async function undefinedOutputs(outputs: Record<string, unknown>): Promise<string[]> {
  const found: string[] = [];
  for (const [name, value] of Object.entries(outputs)) {
    const resolved = pulumi.Output.isInstance(value) ? await promiseOf(value) : value;
    if (resolved === undefined) found.push(name);
  }
  return found;
}

const CLOUD_OUTPUTS = ["clusterId", "kubeconfig", "registryLoginServer", "registryVpcLoginServer", "registryRepositories", "registryPushUsername", "registryPushPassword"];

describe("a local stack's outputs", () => {
  it("as `npm run local` configures it: none undefined, no cloud output, no kubeContext without a context", async () => {
    const run = await runProgram(mainJobConfig(false), "local");
    expect(await undefinedOutputs(run.outputs)).toEqual([]);
    for (const name of [...CLOUD_OUTPUTS, "managedRedisHost", "kubeContext"]) expect(run.outputs).not.toHaveProperty(name);
    expect(Object.keys(run.outputs)).toEqual(expect.arrayContaining(["agentUrls", "agentApiToken", "standInModelUrl", "traceViewerPortForward"]));
    expect(await promiseOf(run.outputs["standInModelImage"] as pulumi.Output<string>)).toBe(digest("stand-in-model", 3));
  });

  it("with a model API key: the stand-in model's outputs go with it", async () => {
    const run = await runProgram(mainJobConfig(true), "local");
    expect(await undefinedOutputs(run.outputs)).toEqual([]);
    expect(run.outputs).not.toHaveProperty("standInModelUrl");
    expect(run.outputs).not.toHaveProperty("standInModelImage");
  });

  it("as shipped (a named kube context, the trace viewer off): none undefined, and the context is an output", async () => {
    const run = await runProgram(shippedStackConfig("local"), "local");
    expect(await undefinedOutputs(run.outputs)).toEqual([]);
    expect(run.outputs["kubeContext"]).toBe("kind-agentscope");
    expect(run.outputs).not.toHaveProperty("traceViewerNamespace");
  });
});

describe("a cloud stack's outputs", () => {
  it("prod has every cloud output, the managed Redis host, and none undefined", async () => {
    const run = await runProgram(shippedStackConfig("prod"), "prod");
    expect(await undefinedOutputs(run.outputs)).toEqual([]);
    for (const name of [...CLOUD_OUTPUTS, "managedRedisHost"]) expect(run.outputs).toHaveProperty(name);
    expect(run.outputs).not.toHaveProperty("kubeContext");
  });
});
