/**
 * The workspace claim reaper (components/workload/workspace-claim-reaper.ts) under mocks: a CronJob
 * per 2.x agent with claims, hardened, its token mounted by its pod alone, a Role in the sandbox
 * namespace with list and delete on claims and nothing else, egress to the API server only, and the
 * program's arguments; none for emptyDir workspaces or with `claimReaper: false`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { AgentSpec } from "../../components/workload/agent-runtime";
import { REAPER_DIR, reaperClaimSelector, reaperDeleteValidation, resolveWorkspaceClaimReaperArgs } from "../../components/workload/workspace-claim-reaper";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const WORKSPACE_IMAGE = `registry.example.com/agentscope/agentscope2-workspace@sha256:${"7".repeat(64)}`;
const helper = (workspaces: AgentSpec["workspaces"]): AgentSpec => ({
  name: "helper",
  model: { provider: "openai", name: "qwen-plus", baseUrl: "https://models.example.com/v1" },
  replicas: { min: 1, max: 2 },
  cpu: 1,
  memoryGiB: 2,
  sandboxTypes: ["base"],
  source: { kind: "image", image: `registry.example.com/team/helper@sha256:${"8".repeat(64)}`, framework: "agentscope2" },
  workspaces,
});
function withHelper(env: "local" | "prod", workspaces: AgentSpec["workspaces"]): AgentScopeWorkloadsArgs {
  const base = workloadsArgs(env);
  const images = base.images.build
    ? { ...base.images, build: { ...base.images.build, workspaceRepository: "localhost:5000/agentscope/agentscope2-workspace" } }
    : { ...base.images, workspace: WORKSPACE_IMAGE };
  return { ...base, images, agents: [...base.agents, helper(workspaces)] };
}
const CLAIMS = { kind: "persistentVolumeClaim" as const, sizeGiB: 20, storageClassName: "alicloud-disk-topology-alltype" };

const runs = new Map<string, MockRun>();
beforeAll(async () => {
  runs.set("prod", await runWorkloads(withHelper("prod", { kind: "pods", storage: CLAIMS, claimReaper: { retainDays: 14, dryRun: false, schedule: "5 */6 * * *" } })));
  runs.set("local", await runWorkloads(withHelper("local", { kind: "pods", storage: { kind: "persistentVolumeClaim", sizeGiB: 1 } })));
  runs.set("emptyDir", await runWorkloads(withHelper("local", { kind: "pods", storage: { kind: "emptyDir", sizeGiB: 1 } })));
  runs.set("off", await runWorkloads(withHelper("prod", { kind: "pods", storage: CLAIMS, claimReaper: false })));
});

const all = (run: MockRun, kind: string, name: string) => run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
const one = (run: MockRun, kind: string, name: string): K8sObject => {
  const found = all(run, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
};
const NAME = "agent-helper-claim-reaper";
const jobPod = (c: K8sObject) => o(o(o(o(o(c["spec"])["jobTemplate"])["spec"])["template"]));

describe.each(["prod", "local"])("an agent whose workspaces are claims (%s)", (env) => {
  const run = () => runs.get(env)!;

  it("renders only schema-valid objects", async () => {
    expect(await schemaProblems(run().k8sObjects())).toEqual([]);
  });

  it("may list and delete claims in the sandbox namespace, and nothing else anywhere", () => {
    const role = one(run(), "Role", NAME);
    expect(role.metadata?.namespace).toBe("agentscope-sandboxes");
    expect(role["rules"]).toEqual([{ apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["list", "delete"] }]);
    const binding = one(run(), "RoleBinding", NAME);
    expect(binding.metadata?.namespace).toBe("agentscope-sandboxes");
    expect(binding["roleRef"]).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: NAME });
    expect(binding["subjects"]).toEqual([{ kind: "ServiceAccount", name: NAME, namespace: "agentscope-agents" }]);
    // Bound nowhere else, and no cluster-wide grant.
    const bindings = run().k8sObjects().filter((x) => (x.kind === "RoleBinding" || x.kind === "ClusterRoleBinding") && JSON.stringify(x["subjects"]).includes(NAME));
    expect(bindings.map((b) => `${b.kind}/${b.metadata?.namespace}/${b.metadata?.name}`)).toEqual([`RoleBinding/agentscope-sandboxes/${NAME}`]);
  });

  it("an admission policy denies the reaper's account any delete of a claim without this agent's workspace labels", () => {
    const policy = one(run(), "ValidatingAdmissionPolicy", "agentscope-agent-helper-claim-reaper-deletes");
    const spec = o(policy["spec"]);
    expect(spec["failurePolicy"]).toBe("Fail");
    expect(o(spec["matchConstraints"])["resourceRules"]).toEqual([{ apiGroups: [""], apiVersions: ["v1"], operations: ["DELETE"], resources: ["persistentvolumeclaims"] }]);
    expect(spec["matchConditions"]).toEqual([{ name: "the-claim-reaper", expression: `request.userInfo.username == 'system:serviceaccount:agentscope-agents:${NAME}'` }]);
    expect(arr(spec["validations"])[0]!["expression"]).toBe(
      "has(oldObject.metadata.labels) && 'app.kubernetes.io/name' in oldObject.metadata.labels && oldObject.metadata.labels['app.kubernetes.io/name'] == 'agentscope-workspace'"
      + " && 'agentscope.io/agent' in oldObject.metadata.labels && oldObject.metadata.labels['agentscope.io/agent'] == 'helper'");
    const binding = one(run(), "ValidatingAdmissionPolicyBinding", "agentscope-agent-helper-claim-reaper-deletes");
    expect(binding["spec"]).toEqual({ policyName: "agentscope-agent-helper-claim-reaper-deletes", validationActions: ["Deny"] });
    expect(reaperDeleteValidation("other")).toContain("oldObject.metadata.labels['agentscope.io/agent'] == 'other'");
  });

  it("runs hardened, with its own token mounted by its pod alone", () => {
    expect(one(run(), "ServiceAccount", NAME)["automountServiceAccountToken"]).toBe(false);
    const cron = one(run(), "CronJob", NAME);
    expect(cron.metadata?.namespace).toBe("agentscope-agents");
    expect(o(cron["spec"])["concurrencyPolicy"]).toBe("Forbid");
    const spec = o(jobPod(cron)["spec"]);
    expect(spec["serviceAccountName"]).toBe(NAME);
    expect(spec["automountServiceAccountToken"]).toBe(true);
    expect(spec["enableServiceLinks"]).toBe(false);
    expect(spec["restartPolicy"]).toBe("Never");
    expect(spec["securityContext"]).toEqual({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
    const [c, ...more] = arr(spec["containers"]);
    expect(more).toEqual([]);
    expect(c!["securityContext"]).toEqual({
      runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
      privileged: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
    });
    const resources = o(c!["resources"]);
    expect(resources["requests"]).toEqual(resources["limits"]);
    expect(arr(c!["volumeMounts"])).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
  });

  it("runs the program from the workspace image with the agent, namespace and retention", () => {
    const cron = one(run(), "CronJob", NAME);
    const c = arr(o(jobPod(cron)["spec"])["containers"])[0]!;
    expect(String(c["image"])).toMatch(/agentscope2-workspace@sha256:[0-9a-f]{64}$/);
    expect(c["workingDir"]).toBe(REAPER_DIR);
    expect(c["command"]).toEqual(["python", "-m", "workspace_reaper"]);
    expect(c["args"]).toEqual(env === "prod"
      ? ["--namespace", "agentscope-sandboxes", "--agent", "helper", "--retain-days", "14"]
      // The default is a dry run: deleting users' disks is opt-in.
      : ["--namespace", "agentscope-sandboxes", "--agent", "helper", "--retain-days", "30", "--dry-run"]);
    expect(o(cron["spec"])["schedule"]).toBe(env === "prod" ? "5 */6 * * *" : "17 3 * * *");
  });

  it("carries the recommended labels, and ACS placement where agents are ACS pods", () => {
    const cron = one(run(), "CronJob", NAME);
    expect(cron.metadata?.labels).toMatchObject({
      "app.kubernetes.io/name": "workspace-claim-reaper", "app.kubernetes.io/instance": "agentscope-helper-claim-reaper",
      "app.kubernetes.io/component": "claim-reaper", "app.kubernetes.io/part-of": "agentscope", "app.kubernetes.io/managed-by": "pulumi",
    });
    const labels = o(o(jobPod(cron)["metadata"])["labels"]);
    if (env === "prod") expect(labels["alibabacloud.com/acs"]).toBe("true");
    else expect(labels["alibabacloud.com/acs"]).toBeUndefined();
  });

  it("reaches the API server and nothing else beyond the namespace's defaults", () => {
    const policy = one(run(), "NetworkPolicy", `${NAME}-api-server`);
    const spec = o(policy["spec"]);
    expect(policy.metadata?.namespace).toBe("agentscope-agents");
    expect(spec["policyTypes"]).toEqual(["Egress"]);
    expect(o(spec["podSelector"])["matchLabels"]).toEqual({ "app.kubernetes.io/name": "workspace-claim-reaper", "app.kubernetes.io/instance": "agentscope-helper-claim-reaper" });
    expect(arr(spec["egress"])).toHaveLength(1);
    // It is no agent: the agents' ingress and egress policies do not select it.
    expect(o(jobPod(one(run(), "CronJob", NAME))["metadata"])["labels"]).not.toMatchObject({ "app.kubernetes.io/name": "agentscope-agent" });
  });
});

describe("no reaper", () => {
  it.each(["emptyDir", "off"])("for %s workspaces", (key) => {
    const run = runs.get(key)!;
    expect(run.k8sObjects().filter((x) => x.metadata?.name?.includes("claim-reaper"))).toEqual([]);
  });
});

describe("refused", () => {
  const r = (over: Partial<Parameters<typeof resolveWorkspaceClaimReaperArgs>[0]>) => () =>
    resolveWorkspaceClaimReaperArgs({ agentName: "helper", agentsNamespace: "a", sandboxNamespace: "s", partOf: "agentscope", image: WORKSPACE_IMAGE, ...over });

  it.each([
    [{ retainDays: 0 }, /retainDays/],
    [{ retainDays: 1.5 }, /retainDays/],
    [{ schedule: "@daily" }, /schedule must be five cron fields/],
    [{ schedule: "* * * *" }, /schedule must be five cron fields/],
    [{ schedule: "0 3 * * MON" }, /schedule must be five cron fields/],
    [{ image: "registry.example.com/ws:latest" }, /image/],
    [{ agentName: "Helper" }, /agentName/],
  ])("bad component args %o", (over, message) => {
    expect(r(over)).toThrow(message);
  });

  it("takes the defaults: 30 days, daily at 03:17, deleting", () => {
    expect(r({})()).toMatchObject({ retainDays: 30, schedule: "17 3 * * *", dryRun: true });
    expect(reaperClaimSelector("helper")).toEqual({ "app.kubernetes.io/name": "agentscope-workspace", "agentscope.io/agent": "helper" });
  });
});
