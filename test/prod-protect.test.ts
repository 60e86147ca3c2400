// Issue 21 G: prod protects what holds data or is costly to recreate, and nothing else. Children
// inherit `protect` from their parent (@pulumi/pulumi resource.ts), so a protected component would
// protect its ForceNew children too (slb.AclEntryAttachment `entry`,
// terraform-provider-alicloud resource_alicloud_slb_acl_entry_attachment.go; the add-ons' `name`),
// and every documented edit that replaces one would
// fail the prod `up`. Mocks compute no diff, so each edit is checked the way a preview would see it:
// every resource the edit adds, removes or changes the inputs of must be unprotected.
import { describe, expect, it } from "vitest";
import type { ProgramRun, RecordedResource } from "./support/program";
import { runProgram } from "./support/program";
import type { FlatConfig } from "./support/stack-config";
import { PROJECT, shippedStackConfig } from "./support/stack-config";

const ns = (key: string) => `${PROJECT}:${key}`;
const isProtected = (r: RecordedResource) => (r.resource as unknown as { __protect?: boolean }).__protect === true;
const key = (r: RecordedResource) => `${r.type}::${r.name}`;

/** The prod stack with one structured key changed, as `pulumi config set --path` would. */
function prodWith(k: string, change: (value: Record<string, unknown>) => unknown): FlatConfig {
  const base = shippedStackConfig("prod");
  const current = base[ns(k)] === undefined ? {} : (JSON.parse(base[ns(k)]!) as Record<string, unknown>);
  return { ...base, [ns(k)]: JSON.stringify(change(current)) };
}

/** Resources an edit adds, removes or changes: what a preview would create, delete, update or replace. */
function touched(before: ProgramRun, after: ProgramRun): RecordedResource[] {
  const old = new Map(before.resources.map((r) => [key(r), r]));
  const now = new Map(after.resources.map((r) => [key(r), r]));
  const out: RecordedResource[] = [];
  for (const [k, r] of now) if (!old.has(k) || JSON.stringify(old.get(k)!.inputs) !== JSON.stringify(r.inputs)) out.push(r);
  for (const [k, r] of old) if (!now.has(k)) out.push(r);
  return out;
}

/** Edits of a prod stack the README documents (config keys, add-ons switched off). */
const EDITS: [string, FlatConfig][] = [
  ["exposure.allowedCidrs: one more caller range", prodWith("exposure", (e) => ({ ...e, allowedCidrs: ["172.20.0.0/16", "172.21.0.0/16"] }))],
  ["exposure.allowedCidrs: a caller range replaced", prodWith("exposure", (e) => ({ ...e, allowedCidrs: ["172.22.0.0/16"] }))],
  ["registry.pushFromCidrs: a pusher added", prodWith("registry", (r) => ({ ...r, pushFromCidrs: ["203.0.113.7/32"] }))],
  ["imageCache: the image-cache add-on off", { ...shippedStackConfig("prod"), [ns("imageCache")]: "false" }],
  ["observability.managedPrometheus: the add-on off", prodWith("observability", (o) => ({ ...o, managedPrometheus: false }))],
  ["cluster.systemNodePool.maxSize", prodWith("cluster", (c) => ({ ...c, systemNodePool: { ...(c["systemNodePool"] as object), maxSize: 8 } }))],
  ["agents[0].replicas.min", prodWith("agents", (a) => (a as unknown as Record<string, unknown>[]).map((x, i) => (i === 0 ? { ...x, replicas: { min: 4, max: 20 } } : x)))],
  ["sandbox.poolSize", prodWith("sandbox", (s) => ({ ...s, poolSize: 20 }))],
];

describe("prod protects only what holds data or is costly to recreate", async () => {
  const base = await runProgram(shippedStackConfig("prod"), "prod");

  it("protects the VPC, the cluster, the registry instance and Tair, and nothing else", () => {
    expect(base.resources.filter(isProtected).map((r) => r.type).sort()).toEqual([
      "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance",
      "alicloud:cs/managedKubernetes:ManagedKubernetes",
      "alicloud:kvstore/instance:Instance",
      "alicloud:vpc/network:Network",
    ]);
  });

  it("leaves ForceNew children and add-ons unprotected", async () => {
    const run = await runProgram(prodWith("registry", (r) => ({ ...r, pushFromCidrs: ["203.0.113.7/32"] })), "prod");
    for (const type of ["alicloud:slb/aclEntryAttachment:AclEntryAttachment", "alicloud:cr/internetEndpoint:InternetEndpoint", "alicloud:cs/autoscalingConfig:AutoscalingConfig", "alicloud:cs/kubernetesAddon:KubernetesAddon"]) {
      expect(run.ofType(type).length, type).toBeGreaterThan(0);
      expect(run.ofType(type).filter(isProtected).map((r) => r.name), type).toEqual([]);
    }
  });

  it.each(EDITS)("%s touches no protected resource", async (_what, config) => {
    const after = await runProgram(config, "prod");
    const changed = touched(base, after);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.filter(isProtected).map(key)).toEqual([]);
  });
});
