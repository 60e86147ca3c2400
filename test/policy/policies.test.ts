import { describe, expect, it } from "vitest";
import { ACK_TYPES, K8S, RULES, networkConfig, production, resolveProduction, runRules } from "../../policy/rules";
import { DENY_ALL, deployment, networkPolicy, res, violation } from "./fixtures";

const noTags = new Map<string, string>();

describe("policy config", () => {
  it("decides production from the policy config, then the stack tag `environment`, else strict", () => {
    expect(resolveProduction(false, "prod")).toBe(false);
    expect(resolveProduction(true, "dev")).toBe(true);
    expect(resolveProduction(undefined, "prod")).toBe(true);
    expect(resolveProduction(undefined, "Production")).toBe(true);
    expect(resolveProduction(undefined, "dev")).toBe(false);
    expect(resolveProduction(undefined, undefined)).toBe(true);
    expect(production({ config: {}, stackTags: new Map([["environment", "local"]]) })).toBe(false);
  });

  it("fills network defaults, and takes configured values", () => {
    expect(networkConfig({ config: {}, stackTags: noTags })).toEqual({
      exemptNamespaces: [],
      sandboxNamespaces: [],
      sandboxNamespaceLabels: { "app.kubernetes.io/component": "sandboxes" },
      apiServerCidrs: [],
      extraForbiddenCidrs: [],
    });
    expect(networkConfig({ config: { sandboxNamespaces: ["sbx"], sandboxPodLabels: { a: "b" }, sandboxNamespaceLabels: {} }, stackTags: noTags })).toMatchObject({
      sandboxNamespaces: ["sbx"],
      sandboxPodLabels: { a: "b" },
      sandboxNamespaceLabels: {},
    });
  });

  it("names every policy uniquely, never `all`, and keeps enforcementLevel out of config schemas", () => {
    const names = RULES.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).not.toContain("all");
    for (const r of RULES) {
      expect(r.name).toMatch(/^[a-z0-9-]+$/);
      expect(Object.keys(r.configSchema?.properties ?? {})).not.toContain("enforcementLevel");
    }
  });
});

describe("runRules", () => {
  const lax = res(ACK_TYPES.managedKubernetes, { name: "c", clusterSpec: "ack.pro.small", addons: [{ name: "terway-eniip", config: '{"NetworkPolicy":"true"}' }] });

  it("applies resource rules to every resource and stack rules to the whole stack", () => {
    const v = runRules([lax, res(K8S.deployment, deployment())]);
    expect(v.map((x) => x.policy)).toEqual(["ack-cluster", "ack-cluster", "network-isolation"]);
    expect(v[0]).toMatchObject(violation("deletionProtection", lax.urn));
  });

  it("honours per-policy config, the environment tag and disabled policies", () => {
    const ok = [lax, res(K8S.deployment, deployment()), res(K8S.networkPolicy, networkPolicy("agents", "deny", DENY_ALL))];
    expect(runRules(ok, { "ack-cluster": { production: false } })).toEqual([]);
    expect(runRules(ok, {}, new Map([["environment", "dev"]]))).toEqual([]);
    expect(runRules(ok, { "ack-cluster": "disabled" })).toEqual([]);
    expect(runRules(ok, { "ack-cluster": { enforcementLevel: "disabled" } })).toEqual([]);
    expect(runRules(ok)).toHaveLength(2);
  });
});
