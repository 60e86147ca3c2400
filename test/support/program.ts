import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import type { FlatConfig } from "./stack-config";
import { PROJECT, secretKeysOf } from "./stack-config";

/** One resource the program registered: what the engine saw, plus what the program passed. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** Inputs as the engine received them (outputs resolved, secrets unwrapped). */
  readonly inputs: Record<string, unknown>;
  /** The resource object, for options the engine never sees in mocks (protect, parent). */
  readonly resource: pulumi.Resource;
  /** Props as the program passed them, before resolution: secret-ness is still visible here. */
  readonly props: pulumi.Inputs | undefined;
}

export interface ProgramRun {
  readonly resources: RecordedResource[];
  /** The program's exports (stack outputs), still as Outputs. */
  readonly outputs: Record<string, unknown>;
  /** Resources of one type token. */
  ofType(type: string): RecordedResource[];
  /** The single resource of a type whose name ends with `suffix`. */
  one(type: string, suffix?: string): RecordedResource;
}

const KUBECONFIG = [
  "apiVersion: v1", "kind: Config", "clusters:", "- cluster: {server: 'https://10.32.192.10:6443'}", "  name: ack",
  "contexts:", "- context: {cluster: ack, user: admin}", "  name: ack", "current-context: ack",
  "users:", "- name: admin", "  user: {token: mock-token}",
].join("\n");

/** Canned answers for every data source the program may call; an unknown token fails the test. */
function call(args: pulumi.runtime.MockCallArgs, byId: Map<string, Record<string, unknown>>): Record<string, unknown> {
  const inputs = args.inputs as Record<string, unknown>;
  switch (args.token) {
    case "alicloud:cs/getKubernetesVersion:getKubernetesVersion":
      return { metadatas: [{ version: "1.33.3-aliyun.1" }, { version: "1.34.1-aliyun.1" }, { version: "1.32.7-aliyun.1" }] };
    case "alicloud:cs/getClusterCredential:getClusterCredential":
      return { clusterId: inputs["clusterId"], kubeConfig: KUBECONFIG };
    case "alicloud:cs/getRegistryEnterpriseInstances:getRegistryEnterpriseInstances": {
      const ids = (inputs["ids"] as string[] | undefined) ?? [];
      return {
        ids,
        instances: ids.map((id) => ({
          id,
          name: id,
          publicEndpoints: [`${id}-registry.cn-hangzhou.cr.aliyuncs.com`],
          vpcEndpoints: [`${id}-registry-vpc.cn-hangzhou.cr.aliyuncs.com`],
          tempUsername: "cr_temp_user",
          authorizationToken: "mock-authorization-token",
        })),
      };
    }
    case "alicloud:vpc/getSwitches:getSwitches": {
      const ids = (inputs["ids"] as string[] | undefined) ?? [];
      return {
        ids,
        vswitches: ids.map((id) => {
          const s = byId.get(id) ?? {};
          return { id, zoneId: s["zoneId"] ?? "cn-hangzhou-i", cidrBlock: s["cidrBlock"] ?? "10.99.0.0/19", vpcId: s["vpcId"] ?? "vpc-existing" };
        }),
      };
    }
    default:
      throw new Error(`unexpected invoke ${args.token}: add a canned answer in test/support/program.ts`);
  }
}

/** Cloud-assigned outputs that the program reads from resources. */
function outputsOf(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "alicloud:cs/managedKubernetes:ManagedKubernetes":
      return { connections: { apiServerIntranet: "https://10.32.192.10:6443", apiServerInternet: "" }, rrsaMetadata: { ramOidcProviderArn: "acs:ram::1234:oidc-provider/ack-rrsa-c1" } };
    case "alicloud:vpc/natGateway:NatGateway":
      return { snatTableIds: "stb-mock1" };
    case "alicloud:ecs/eipAddress:EipAddress":
      return { ipAddress: "47.96.1.2" };
    case "alicloud:kvstore/instance:Instance":
      return { connectionDomain: "r-mock.redis.rds.aliyuncs.com", port: 6379, privateIp: "10.32.0.200" };
    case "kubernetes:discovery.k8s.io/v1:EndpointSlice":
      // Read, not created: what default/kubernetes lists on a real cluster.
      return { addressType: "IPv4", endpoints: [{ addresses: ["172.18.0.2"] }], ports: [{ name: "https", port: 6443, protocol: "TCP" }] };
    case "docker:index/image:Image":
      return { repoDigest: `${String(inputs["imageName"]).split(":")[0]}@sha256:${"ab".repeat(32)}` };
    case "random:index/randomPassword:RandomPassword":
      return { result: `generated-${name}-0123456789abcdef` };
    default:
      return {};
  }
}

/**
 * Runs index.ts under Pulumi mocks with `config` as the stack's config, the way the engine would
 * (inside a root Stack), and records every resource. Throws what the program throws.
 */
export async function runProgram(config: FlatConfig, stack: string, preview = false): Promise<ProgramRun> {
  const resources: RecordedResource[] = [];
  const byId = new Map<string, Record<string, unknown>>();
  const pending = new Map<pulumi.Resource, pulumi.Inputs | undefined>();
  const engineInputs = new Map<string, Record<string, unknown>>();

  pulumi.runtime.setAllConfig(config, secretKeysOf(config));
  await pulumi.runtime.setMocks({
    newResource(args) {
      const inputs = args.inputs as Record<string, unknown>;
      const id = `${args.name}-id`;
      const state = { ...inputs, ...outputsOf(args.type, args.name, inputs) };
      byId.set(id, state);
      engineInputs.set(`${args.type}::${args.name}`, inputs);
      return { id, state };
    },
    call: (args) => call(args, byId),
  }, PROJECT, stack, preview);

  vi.resetModules();
  let outputs: Record<string, unknown> = {};
  const recorder: pulumi.ResourceTransformation = ({ resource, props }) => {
    pending.set(resource, props);
    return undefined;
  };
  let failure: Error | undefined;
  const done = pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation(recorder);
    try {
      outputs = { ...(await import("../../index")) };
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
    }
    return outputs;
  });
  await done;
  if (failure) throw failure;
  await settle(() => pending.size);

  // Pair each resource object with the engine's view of it by URN.
  for (const [resource, props] of pending) {
    const urn = await promiseOf(resource.urn);
    const [type, name] = typeAndName(urn);
    resources.push({ type, name, inputs: engineInputs.get(`${type}::${name}`) ?? {}, resource, props });
  }
  return {
    resources,
    outputs,
    ofType: (type) => resources.filter((r) => r.type === type),
    one(type, suffix = "") {
      const found = resources.filter((r) => r.type === type && r.name.endsWith(suffix));
      if (found.length !== 1) throw new Error(`expected one ${type} named *${suffix}, found ${found.map((r) => r.name).join(", ") || "none"}`);
      return found[0]!;
    },
  };
}

/** Resolves an Output to its value, for assertions. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
}

function typeAndName(urn: string): [string, string] {
  // urn:pulumi:<stack>::<project>::<parent types$...$type>::<name>
  const parts = urn.split("::");
  const types = parts[2]!.split("$");
  return [types[types.length - 1]!, parts[3]!];
}

/** Waits until a count stops growing: resource registration in mocks is asynchronous. */
async function settle(count: () => number): Promise<void> {
  let last = -1;
  let stableFor = 0;
  while (stableFor < 5) {
    await new Promise((r) => setTimeout(r, 20));
    const now = count();
    stableFor = now === last ? stableFor + 1 : 0;
    last = now;
  }
}
