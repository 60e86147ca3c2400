import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { cannedCall, cannedState } from "./canned";
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
      const state = { ...inputs, ...cannedState(args.type, args.name, inputs) };
      byId.set(id, state);
      engineInputs.set(`${args.type}::${args.name}`, inputs);
      return { id, state };
    },
    call: (args) => cannedCall(args, byId),
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
