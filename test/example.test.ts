import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { EXAMPLE_DIR as EXAMPLE, EXAMPLE_PROJECT as PROJECT, exampleConfig, exampleSecretKeys } from "./support/example-config";
import { schemaProblems } from "./support/k8s-schema";
import { runWithMocks } from "./support/mocks";

/** A label selector that selects every pod: no labels and no expressions to match. */
const selectsAll = (s: { matchLabels?: object; matchExpressions?: unknown[] }) =>
  Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;
const isEmpty = (rules: unknown) => rules === undefined || (Array.isArray(rules) && rules.length === 0);

describe("examples/existing-cluster, a second program built from the package", async () => {
  const config = exampleConfig();
  pulumi.runtime.setAllConfig(config, exampleSecretKeys(config));
  vi.resetModules();
  const run = await runWithMocks(() => import(join(EXAMPLE, "index.ts")), { project: PROJECT, stack: "example" });

  it("creates Kubernetes objects only, through the provider built from its kubeconfig", () => {
    const custom = run.resources.filter((r) => r.custom && !r.read);
    expect(custom.filter((r) => !r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:kubernetes"))).toEqual([]);
    expect(run.one("pulumi:providers:kubernetes").secretPaths).toContain("kubeconfig");
  });

  it("runs the images from its CI pipeline, by digest", () => {
    const images = run.ofType("kubernetes:apps/v1:Deployment").flatMap((d) =>
      ((d.inputs["spec"] as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers).map((c) => c.image));
    expect(images).toContain(config[`${PROJECT}:agentImage`]);
    expect(images).toContain(config[`${PROJECT}:sandboxManagerImage`]);
    expect(images.every((i) => /@sha256:[0-9a-f]{64}$/.test(i))).toBe(true);
  });

  it("isolates both of its namespaces by default", () => {
    const denyAll = run.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .map((p) => p.inputs as { metadata: { namespace: string }; spec: { podSelector: { matchLabels?: object }; policyTypes: string[]; ingress?: unknown; egress?: unknown } })
      .filter((p) => selectsAll(p.spec.podSelector) && isEmpty(p.spec.ingress) && isEmpty(p.spec.egress));
    expect(new Set(denyAll.map((p) => p.metadata.namespace))).toEqual(new Set(["team-a-agents", "team-a-sandboxes"]));
    expect(denyAll.every((p) => p.spec.policyTypes.includes("Ingress") && p.spec.policyTypes.includes("Egress"))).toBe(true);
  });

  it("renders only objects the Kubernetes API server accepts", async () => {
    expect(await schemaProblems(run.k8sObjects())).toEqual([]);
  });
});
