/**
 * AgentScope 2.x workspaces as pods (components/workload/agent-workspaces.ts) under mocks: the
 * settings agentscope2_launcher/k8s_workspaces.py builds each pod from, the Role that grants exactly
 * upstream's calls in the sandbox namespace, the token only the agent's app container gets, and the
 * agent's egress to the API server; `local` workspaces get none of it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { AgentSpec } from "../../components/workload/agent-runtime";
import { SERVICE_ACCOUNT_DIR } from "../../components/workload/agent-runtime";
import type { WorkspacePodSettingsJson } from "../../components/workload/agent-workspaces";
import { resolveAgentWorkspacesArgs, workspacePodSettings } from "../../components/workload/agent-workspaces";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { resolveWorkloadsArgs } from "../../components/workload/workloads";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const WORKSPACE_IMAGE = `registry.example.com/agentscope/agentscope2-workspace@sha256:${"7".repeat(64)}`;
const HELPER_IMAGE = `registry.example.com/team/helper@sha256:${"8".repeat(64)}`;
const helper = (workspaces?: AgentSpec["workspaces"]): AgentSpec => ({
  name: "helper",
  model: { provider: "openai", name: "qwen-plus", baseUrl: "https://models.example.com/v1" },
  replicas: { min: 1, max: 2 },
  cpu: 1,
  memoryGiB: 2,
  sandboxTypes: ["base"],
  source: { kind: "image", image: HELPER_IMAGE, framework: "agentscope2" },
  ...(workspaces ? { workspaces } : {}),
});

/** The helper on `env`'s fixture, its workspaces as given, the workspace image prebuilt. */
function withHelper(env: "local" | "prod", workspaces?: AgentSpec["workspaces"]): AgentScopeWorkloadsArgs {
  const base = workloadsArgs(env);
  const images = base.images.build
    ? { ...base.images, build: { ...base.images.build, workspaceRepository: "localhost:5000/agentscope/agentscope2-workspace" } }
    : { ...base.images, workspace: WORKSPACE_IMAGE };
  return { ...base, images, agents: [...base.agents, helper(workspaces)] };
}

const runs = new Map<string, MockRun>();
beforeAll(async () => {
  runs.set("local", await runWorkloads(withHelper("local")));
  runs.set("prod", await runWorkloads(withHelper("prod", { kind: "pods", storage: { kind: "persistentVolumeClaim", sizeGiB: 20, storageClassName: "alicloud-disk-topology-alltype" }, isolation: "per_user", idleSeconds: 900 })));
  runs.set("local-workspaces", await runWorkloads(withHelper("local", { kind: "local" })));
});

const one = (run: MockRun, kind: string, name: string): K8sObject => {
  const found = run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
};
const named = (run: MockRun, kind: string, name: string) => run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
const podSpec = (d: K8sObject) => o(o(o(d["spec"])["template"])["spec"]);
const container = (d: K8sObject, name: string) => arr(podSpec(d)["containers"]).find((c) => c["name"] === name)!;
const settingsOf = (run: MockRun): WorkspacePodSettingsJson =>
  JSON.parse(String(o(one(run, "ConfigMap", "agent-helper-workspaces")["data"])["workspace-pods.json"])) as WorkspacePodSettingsJson;

describe.each(["local", "prod"])("an agentscope2 agent whose workspaces are pods (%s)", (env) => {
  const run = () => runs.get(env)!;

  it("renders only schema-valid objects", async () => {
    expect(await schemaProblems(run().k8sObjects())).toEqual([]);
  });

  it("grants exactly upstream K8sWorkspace's calls, in the sandbox namespace only", () => {
    const role = one(run(), "Role", "agent-helper-workspaces");
    expect(role.metadata?.namespace).toBe("agentscope-sandboxes");
    // patch: the claim's last-used stamp and owner labels (k8s_workspaces.py touch); never delete.
    const claims = env === "prod" ? [{ apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["create", "get", "patch"] }] : [];
    expect(role["rules"]).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "delete"] },
      { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
      ...claims,
    ]);
    const binding = one(run(), "RoleBinding", "agent-helper-workspaces");
    expect(binding.metadata?.namespace).toBe("agentscope-sandboxes");
    expect(binding["roleRef"]).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "agent-helper-workspaces" });
    expect(binding["subjects"]).toEqual([{ kind: "ServiceAccount", name: "agent-helper-workspaces", namespace: "agentscope-agents" }]);
    // Nothing cluster-wide: it never reads or creates its namespace (k8s_workspaces.py _ensure_namespace).
    expect(run().k8sObjects().filter((x) => x.kind === "ClusterRoleBinding" && JSON.stringify(x).includes("agent-helper"))).toEqual([]);
  });

  it("gives the token to the app container alone, never by automount", () => {
    const account = one(run(), "ServiceAccount", "agent-helper-workspaces");
    expect(account["automountServiceAccountToken"]).toBe(false);
    const d = one(run(), "Deployment", "agent-helper");
    expect(podSpec(d)["serviceAccountName"]).toBe("agent-helper-workspaces");
    expect(podSpec(d)["automountServiceAccountToken"]).toBe(false);
    const mounts = (c: Obj) => Object.fromEntries(arr(c["volumeMounts"]).map((m) => [String(m["mountPath"]), m]));
    expect(mounts(container(d, "agent"))[SERVICE_ACCOUNT_DIR]).toMatchObject({ name: "api-access", readOnly: true });
    expect(mounts(container(d, "agent"))["/etc/agentscope/workspaces"]).toMatchObject({ name: "workspace-settings", readOnly: true });
    expect(Object.keys(mounts(container(d, "gateway")))).not.toContain(SERVICE_ACCOUNT_DIR);
    const volume = arr(podSpec(d)["volumes"]).find((v) => v["name"] === "api-access")!;
    expect(o(volume["projected"])["sources"]).toEqual([
      { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
    ]);
    // A settings change rolls the agent: its hash is on the pod template.
    const annotations = o(o(o(o(d["spec"])["template"])["metadata"])["annotations"]);
    expect(annotations["agentscope.io/workspace-settings-sha256"]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("builds each workspace pod hardened, sized and placed as a sandbox", () => {
    const s = settingsOf(run());
    expect(s.namespace).toBe("agentscope-sandboxes");
    expect(s.gatewayVenv).toBe("/opt/venv");
    expect(s.podSecurityContext).toEqual({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
    expect(s.containerSecurityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ["ALL"] } });
    expect(s.resources.requests).toEqual(s.resources.limits);
    expect(s.labels).toMatchObject({ "app.kubernetes.io/name": "agentscope-workspace", "app.kubernetes.io/component": "workspace", "app.kubernetes.io/part-of": "agentscope" });
    expect(s.labels["app.kubernetes.io/managed-by"]).toBeUndefined(); // upstream's "agentscope", set by the launcher
    if (env === "local") {
      expect(s.image).toMatch(/^localhost:5000\/agentscope\/agentscope2-workspace@sha256:[0-9a-f]{64}$/);
      expect(s.storage).toEqual({ kind: "emptyDir", sizeLimit: "1Gi" });
      expect(s.isolation).toBe("per_agent");
      expect(s.ttlSeconds).toBe(3600);
      expect(s.podReadyTimeoutSeconds).toBe(180);
      expect(s.tolerations).toEqual([]);
      expect(s.imagePullSecrets).toEqual([{ name: "registry-pull" }]);
    } else {
      expect(s.image).toBe(WORKSPACE_IMAGE);
      expect(s.storage).toEqual({ kind: "persistentVolumeClaim", size: "20Gi", storageClassName: "alicloud-disk-topology-alltype" });
      expect(s.isolation).toBe("per_user");
      expect(s.ttlSeconds).toBe(900);
      // prod's sandboxes are ACS pods: so are the workspaces.
      expect(s.labels).toMatchObject({ "alibabacloud.com/acs": "true", "alibabacloud.com/compute-class": "general-purpose" });
      expect(s.annotations["alibabacloud.com/enable-network-policy-agent"]).toBe("true");
      expect(s.tolerations).toEqual([{ key: "virtual-kubelet.io/provider", operator: "Equal", value: "alibabacloud", effect: "NoSchedule" }]);
    }
  });

  it("lets this agent alone reach the API server", () => {
    const policy = one(run(), "NetworkPolicy", "agent-helper-api-server");
    const spec = o(policy["spec"]);
    expect(policy.metadata?.namespace).toBe("agentscope-agents");
    expect(spec["policyTypes"]).toEqual(["Egress"]);
    expect(o(spec["podSelector"])["matchLabels"]).toEqual({ "app.kubernetes.io/name": "agentscope-agent", "app.kubernetes.io/instance": "agentscope-helper" });
    expect(arr(spec["egress"])).toHaveLength(1);
    expect(run().k8sObjects().filter((x) => x.kind === "NetworkPolicy" && /^agent-(friday|scout)-api-server$/.test(x.metadata?.name ?? ""))).toEqual([]);
  });

  it("gives workspace pods the sandboxes' egress and no ingress: the sandboxes' policy, which admits the manager, leaves them out", () => {
    const inSandboxNs = (name: string) => {
      const p = one(run(), "NetworkPolicy", name);
      expect(p.metadata?.namespace).toBe("agentscope-sandboxes");
      return o(p["spec"]);
    };
    const workspaces = inSandboxNs("workspaces");
    const sandboxes = inSandboxNs("sandboxes");
    expect(workspaces["podSelector"]).toEqual({ matchLabels: { "app.kubernetes.io/name": "agentscope-workspace" } });
    expect(settingsOf(run()).labels["app.kubernetes.io/name"]).toBe("agentscope-workspace");
    expect(workspaces["policyTypes"]).toEqual(["Egress"]);
    expect(workspaces["egress"]).toEqual(sandboxes["egress"]);
    expect(JSON.stringify(workspaces["egress"])).toContain("100.64.0.0/10"); // the metadata address folded into its /10
    expect(sandboxes["podSelector"]).toEqual({ matchExpressions: [{ key: "app.kubernetes.io/name", operator: "NotIn", values: ["agentscope-workspace"] }] });
    expect(arr(sandboxes["ingress"])).toHaveLength(1);
  });
});

describe("an agentscope2 agent with a warm pool of workspace pods", () => {
  let run: MockRun;
  beforeAll(async () => {
    run = await runWorkloads(withHelper("prod", { kind: "pods", storage: { kind: "persistentVolumeClaim", sizeGiB: 20 }, isolation: "per_agent", warmPool: { min: 1, max: 4, headroom: 2, scaleDownAfterSeconds: 600 } }));
  });

  it("tells the launcher the pool's bounds and the agent's name (its owner label)", () => {
    const s = settingsOf(run);
    expect(s.warmPool).toEqual({ min: 1, max: 4, headroom: 2, scaleDownAfterSeconds: 600 });
    expect(s.agentName).toBe("helper");
  });

  it("adds list and patch on pods (leftover warm pods, a claimed pod's labels) and patch on claims; never delete on claims", () => {
    expect(one(run, "Role", "agent-helper-workspaces")["rules"]).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "delete", "list", "patch"] },
      { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
      { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["create", "get", "patch"] },
    ]);
  });

  it("renders only schema-valid objects", async () => {
    expect(await schemaProblems(run.k8sObjects())).toEqual([]);
  });
});

describe("a stack without 2.x workspace pods", () => {
  it("keeps the sandboxes' policy on every pod of the sandbox namespace, and makes no workspaces policy", () => {
    const run = runs.get("local-workspaces")!;
    expect(o(one(run, "NetworkPolicy", "sandboxes")["spec"])["podSelector"]).toEqual({ matchLabels: {} });
    expect(named(run, "NetworkPolicy", "workspaces")).toEqual([]);
  });
});

describe("an agentscope2 agent with local workspaces", () => {
  const run = () => runs.get("local-workspaces")!;

  it("gets no account, Role, settings or API-server egress, and keeps 2.x's LocalWorkspaceManager", () => {
    for (const kind of ["ServiceAccount", "Role", "RoleBinding", "ConfigMap"]) expect(named(run(), kind, "agent-helper-workspaces")).toEqual([]);
    expect(named(run(), "NetworkPolicy", "agent-helper-api-server")).toEqual([]);
    const d = one(run(), "Deployment", "agent-helper");
    expect(podSpec(d)["serviceAccountName"]).toBeUndefined();
    expect(arr(container(d, "agent")["env"]).map((e) => e["name"])).not.toContain("AGENTSCOPE_WORKSPACE_POD_SETTINGS");
  });
});

describe("refused", () => {
  it("local workspaces outside a local cluster", () => {
    expect(() => resolveWorkloadsArgs(withHelper("prod", { kind: "local" }))).toThrow(/agents\[helper\]\.workspaces "local" .* local clusters only/);
  });

  it("workspaces on an agent that is not agentscope2", () => {
    const args = withHelper("local");
    const friday = { ...args.agents[0]!, workspaces: { kind: "pods" as const } };
    expect(() => resolveWorkloadsArgs({ ...args, agents: [friday, ...args.agents.slice(1)] })).toThrow(/agents\[friday\]\.workspaces applies only to framework agentscope2/);
  });

  it("pod workspaces without the workspace image", () => {
    const built = withHelper("local");
    const build = { ...built.images.build! };
    delete build.workspaceRepository;
    expect(() => resolveWorkloadsArgs({ ...built, images: { ...built.images, build } })).toThrow(/need the workspace image: images\.build\.workspaceRepository/);
    const prebuilt = withHelper("prod");
    const images = { ...prebuilt.images };
    delete images.workspace;
    expect(() => resolveWorkloadsArgs({ ...prebuilt, images })).toThrow(/images\.workspace \(a digest\)/);
  });

  const r = (over: Partial<Parameters<typeof resolveAgentWorkspacesArgs>[0]>) => () =>
    resolveAgentWorkspacesArgs({ agentName: "helper", agentsNamespace: "a", sandboxNamespace: "s", partOf: "agentscope", image: WORKSPACE_IMAGE, isolation: { kind: "none" }, ...over });

  it.each([
    [{ image: "registry.example.com/ws:latest" }, /image/],
    [{ cpu: 0 }, /cpu/],
    [{ storage: { kind: "emptyDir" as const, sizeGiB: 0 } }, /storage\.sizeGiB/],
    [{ storage: { kind: "persistentVolumeClaim" as const, sizeGiB: 5, storageClassName: "Bad_Class" } }, /storageClassName/],
    [{ idleSeconds: 10 }, /idleSeconds/],
    [{ podReadyTimeoutSeconds: 5 }, /podReadyTimeoutSeconds/],
    [{ workspaceIsolation: "per_tenant" as never }, /workspaceIsolation must be one of per_session, per_agent, per_user/],
    [{ isolation: { kind: "acs" as const, placement: { enabled: true, computeClass: "general-purpose" as const, computeQos: "default" as const, imageCache: false } }, cpu: 0.3 }, /not an ACS size/],
    [{ warmPool: { min: 3, max: 2 } }, /warmPool\.min \(3\) must not exceed warmPool\.max \(2\)/],
    [{ warmPool: { min: 0, max: 0 } }, /warmPool\.max/],
    [{ warmPool: { min: 0, max: 51 } }, /warmPool\.max/],
    [{ warmPool: { min: 0, max: 2, scaleDownAfterSeconds: 5 } }, /warmPool\.scaleDownAfterSeconds/],
    [{ warmPool: { min: 0, max: 2 }, workspaceIsolation: "per_user" as const }, /warmPool needs workspaceIsolation per_session or per_agent/],
  ])("bad component args %o", (over, message) => {
    expect(r(over)).toThrow(message);
  });

  it("a runtime-class sandbox placement carries over to the workspace pods", () => {
    const resolved = r({ isolation: { kind: "runtime-class", runtimeClassName: "gvisor" } })();
    expect(workspacePodSettings(resolved, WORKSPACE_IMAGE).runtimeClassName).toBe("gvisor");
  });
});
