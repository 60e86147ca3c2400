import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { AlicloudDouble, doubleOptions } from "./canned";
import type { MockResource, RunOptions } from "./mocks";
import { runWithMocks } from "./mocks";
import type { FlatConfig } from "./stack-config";
import { PROJECT, secretKeysOf } from "./stack-config";

/** One resource the program registered: what the engine saw, plus what the program passed. */
export interface RecordedResource extends MockResource {
  /** The resource object, for options the engine never sees in mocks (protect, parent). */
  readonly resource: pulumi.Resource;
  /** Props as the program passed them, before resolution: secret-ness is still visible here. */
  readonly props: pulumi.Inputs | undefined;
  /** Options as the program passed them (ignoreChanges, dependsOn, ...). */
  readonly opts: pulumi.ResourceOptions;
}

export interface ProgramRun {
  /** Every resource the program created (reads and component resources excluded). */
  readonly resources: RecordedResource[];
  /** Every invoke token the program called. */
  readonly calls: string[];
  /** The program's exports (stack outputs), still as Outputs. */
  readonly outputs: Record<string, unknown>;
  /** Resources of one type token. */
  ofType(type: string): RecordedResource[];
  /** The single resource of a type whose name ends with `suffix`. */
  one(type: string, suffix?: string): RecordedResource;
}

/**
 * Runs index.ts under Pulumi mocks with `config` as the stack's config, the way the engine would
 * (inside a root Stack), with the Alibaba Cloud double (canned.ts) behind every cloud call, or
 * `state`'s outputs. Throws what the program throws, and what the double found a provider would refuse.
 */
export async function runProgram(config: FlatConfig, stack: string, preview = false, state?: RunOptions["state"], double = new AlicloudDouble()): Promise<ProgramRun> {
  pulumi.runtime.setAllConfig(config, secretKeysOf(config));
  const created = new Map<string, { resource: pulumi.Resource; props: pulumi.Inputs | undefined; opts: pulumi.ResourceOptions }>();
  let outputs: Record<string, unknown> = {};

  const run = await runWithMocks(async () => {
    pulumi.runtime.registerStackTransformation(({ type, name, resource, props, opts }) => {
      created.set(`${type}::${name}`, { resource, props, opts });
      return undefined;
    });
    vi.resetModules();
    // index.ts exports its outputs object as the module (`export =`).
    const program: { default: Record<string, unknown> } = await import("../../index");
    outputs = { ...program.default };
  }, { project: PROJECT, stack, preview, ...doubleOptions(double), ...(state ? { state } : {}) });
  if (double.problems.length > 0) throw new Error(`the Alibaba Cloud double refused: ${double.problems.join("; ")}`);

  const resources = run.resources
    .filter((r) => r.custom && !r.read)
    .map((r) => {
      const origin = created.get(`${r.type}::${r.name}`);
      if (!origin) throw new Error(`no program object recorded for ${r.type} ${r.name}`);
      return { ...r, ...origin };
    });
  return {
    resources,
    calls: run.calls,
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
