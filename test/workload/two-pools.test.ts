/**
 * Two sandbox pools in the same namespaces of one program (SandboxPoolArgs.namePrefix,
 * NetworkPoliciesArgs.namePrefix), under mocks: no two objects share a kind, namespace and name,
 * cluster-scoped RBAC included; each pool's selectors pick its own pods only; each manager's Role
 * binding and sandbox settings name its own ServiceAccounts. The first pool's names are those of a
 * pool without a prefix. Also: InClusterRedis.endpoint goes into SandboxPoolArgs.redis as it is.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { InClusterRedis } from "../../components/workload/redis";
import { NetworkPolicies } from "../../components/workload/network-policies";
import { SANDBOX_MANAGER_PORT, SandboxPool, renderManagerEnv, resolveSandboxPoolArgs } from "../../components/workload/sandbox-pool";
import type { SandboxPoolArgs } from "../../components/workload/sandbox-pool";
import type { K8sObject, MockRun } from "../support/mocks";
import { runWithMocks } from "../support/mocks";

const DIGEST = `registry.example/agentscope/sandbox-manager@sha256:${"c".repeat(64)}`;
const AGENTS_NS = "team-agents";
const SANDBOX_NS = "team-sandboxes";

function poolArgs(extra: Partial<SandboxPoolArgs>): SandboxPoolArgs {
  return {
    namespace: AGENTS_NS,
    sandboxNamespace: SANDBOX_NS,
    partOf: "team",
    image: DIGEST,
    bearerToken: pulumi.secret("manager-token-0123456789"),
    images: { registry: "registry.example" },
    isolation: { kind: "runtime-class", runtimeClassName: "gvisor" },
    ...extra,
  };
}

const k8sObjects = (run: MockRun): K8sObject[] =>
  run.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.read).map((r) => ({ ...(r.inputs as K8sObject), kind: r.type.split(":")[2]! }));
const key = (o: K8sObject) => `${o.kind} ${o.metadata?.namespace ?? "(cluster)"}/${o.metadata?.name ?? "?"}`;
const byName = (run: MockRun, kind: string, name: string, namespace?: string) =>
  k8sObjects(run).find((o) => o.kind === kind && o.metadata?.name === name && (namespace === undefined || o.metadata?.namespace === namespace));

describe("two sandbox pools in one namespace pair", () => {
  let run: MockRun;
  let pools: [SandboxPool, SandboxPool];

  beforeAll(async () => {
    run = await runWithMocks(() => {
      const redis = new InClusterRedis("redis", { namespace: AGENTS_NS, partOf: "team", password: pulumi.secret("redis-password-0123456789") });
      const a = new SandboxPool("pool-a", poolArgs({ redis: redis.endpoint, redisDb: 1 }));
      const b = new SandboxPool("pool-b", poolArgs({ namePrefix: "b", redis: redis.endpoint, redisDb: 2 }));
      pools = [a, b];
      for (const [pool, prefix] of [[a, undefined], [b, "b"]] as const) {
        new NetworkPolicies(`policies-${prefix ?? "a"}`, {
          agentsNamespace: AGENTS_NS,
          sandboxNamespace: SANDBOX_NS,
          partOf: "team",
          ...(prefix ? { namePrefix: prefix } : {}),
          agents: [],
          managerSelector: pool.managerPodSelector,
          managerPort: SANDBOX_MANAGER_PORT,
          apiServer: { cidrs: ["10.0.0.1/32"], ports: [6443] },
        });
      }
    });
  });

  it("creates no two objects with the same kind, namespace and name, cluster-scoped ones included", () => {
    const keys = k8sObjects(run).map(key);
    const duplicates = keys.filter((k, i) => keys.indexOf(k) !== i);
    expect(duplicates).toEqual([]);
    expect(keys).toEqual(expect.arrayContaining([
      "Deployment team-agents/sandbox-manager", "Deployment team-agents/b-sandbox-manager",
      "ClusterRole (cluster)/team-sandbox-manager", "ClusterRole (cluster)/team-b-sandbox-manager",
      "ServiceAccount team-sandboxes/sandbox", "ServiceAccount team-sandboxes/b-sandbox",
      "NetworkPolicy team-sandboxes/default-deny", "NetworkPolicy team-sandboxes/b-default-deny",
    ]));
  });

  it("gives each pool selectors that match its own pods only", () => {
    const [a, b] = pools;
    expect(a.managerPodSelector).not.toEqual(b.managerPodSelector);
    const deployments = ["sandbox-manager", "b-sandbox-manager"].map((n) => byName(run, "Deployment", n, AGENTS_NS)!);
    const podLabels = deployments.map((d) => ((d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels));
    const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(podLabels.map((l) => matches(a.managerPodSelector, l))).toEqual([true, false]);
    expect(podLabels.map((l) => matches(b.managerPodSelector, l))).toEqual([false, true]);
    expect(a.sandboxPodLabels["app.kubernetes.io/instance"]).not.toBe(b.sandboxPodLabels["app.kubernetes.io/instance"]);
  });

  it("binds each manager's Role to its own ServiceAccount and names its own sandbox pods and account", () => {
    const binding = byName(run, "RoleBinding", "b-sandbox-manager", SANDBOX_NS)!;
    expect(binding.roleRef).toMatchObject({ kind: "Role", name: "b-sandbox-manager" });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "b-sandbox-manager", namespace: AGENTS_NS }]);
    const settings = JSON.parse(String((byName(run, "ConfigMap", "b-sandbox-manager-extension", AGENTS_NS)!.data as Record<string, string>)["sandbox-pods.json"])) as { serviceAccountName: string };
    expect(settings.serviceAccountName).toBe("b-sandbox");
    const r = resolveSandboxPoolArgs(poolArgs({ namePrefix: "b" }));
    expect(r.containerPrefix).toBe("b-sandbox-");
    expect(resolveSandboxPoolArgs(poolArgs({})).containerPrefix).toBe("sandbox-");
  });

  it("takes InClusterRedis.endpoint for redis: the manager's config names that Redis, each pool its own database", () => {
    const env = (name: string) => String((byName(run, "Secret", name, AGENTS_NS)!.stringData as Record<string, string>)["sandbox-manager.env"]);
    for (const [secret, db] of [["sandbox-manager-config", "1"], ["b-sandbox-manager-config", "2"]] as const) {
      expect(env(secret)).toContain("REDIS_ENABLED='True'");
      expect(env(secret)).toContain("REDIS_SERVER='redis.team-agents.svc.cluster.local'");
      expect(env(secret)).toContain(`REDIS_DB='${db}'`);
      expect(env(secret)).toContain("REDIS_PASSWORD='redis-password-0123456789'");
    }
  });

  it("refuses a name prefix that is not a short DNS label", () => {
    expect(() => resolveSandboxPoolArgs(poolArgs({ namePrefix: "B_pool" }))).toThrow(/SandboxPool: namePrefix/);
    expect(() => resolveSandboxPoolArgs(poolArgs({ namePrefix: "a".repeat(21) }))).toThrow(/SandboxPool: namePrefix/);
  });
});

describe("a pool whose sandbox namespace is an Output (Namespaces.sandboxNamespace)", () => {
  it("renders the resolved namespace into the manager's config and places its objects there", async () => {
    const run = await runWithMocks(() => new SandboxPool("pool", poolArgs({ sandboxNamespace: pulumi.output("team-sandboxes-2") })));
    const env = String((byName(run, "Secret", "sandbox-manager-config", AGENTS_NS)!.stringData as Record<string, string>)["sandbox-manager.env"]);
    expect(env).toContain("K8S_NAMESPACE='team-sandboxes-2'");
    expect(byName(run, "Role", "sandbox-manager", "team-sandboxes-2")).toBeDefined();
  });

  it("refuses to render without a resolved namespace, or with one that is not a DNS label", () => {
    const r = resolveSandboxPoolArgs(poolArgs({ sandboxNamespace: pulumi.output("x") }));
    expect(() => renderManagerEnv(r, { bearerToken: "t", registry: "registry.example" })).toThrow("SandboxPool: renderManagerEnv needs the resolved sandboxNamespace");
    expect(() => renderManagerEnv(r, { bearerToken: "t", registry: "registry.example", sandboxNamespace: "Bad_NS" })).toThrow(/sandboxNamespace/);
  });
});
