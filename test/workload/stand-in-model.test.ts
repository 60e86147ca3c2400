/**
 * The stand-in model under mocks: what AgentScopeWorkloads renders with `standInModel` on (its
 * Deployment, Service and policies, and every agent pointed at it), what it refuses, and that
 * nothing of it appears when it is off.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { NO_ACS } from "../../components/workload/acs";
import { STAND_IN_MODEL_API_KEY, resolveStandInModelArgs } from "../../components/workload/stand-in-model";
import type { AgentScopeWorkloadsArgs } from "../../components/workload/workloads";
import { resolveWorkloadsArgs } from "../../components/workload/workloads";
import { schemaProblems } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { MOCK_DIGEST } from "../support/mocks";
import { SECRETS, runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const STAND_IN_REPO = "localhost:5000/agentscope/stand-in-model";
const BASE_URL = "http://stand-in-model.agentscope-agents.svc.cluster.local:8080/v1";
const AGENT_SELECTOR = { "app.kubernetes.io/name": "agentscope-agent" };
const STAND_IN_SELECTOR = { "app.kubernetes.io/name": "stand-in-model", "app.kubernetes.io/instance": "agentscope-stand-in-model" };

/** The local fixture with the stand-in on, built and pushed like the other images. */
function localWithStandIn(): AgentScopeWorkloadsArgs {
  const args = workloadsArgs("local");
  return { ...args, standInModel: true, images: { ...args.images, build: { ...args.images.build!, standInModelRepository: STAND_IN_REPO } } };
}

function named(run: MockRun, kind: string, name: string): K8sObject {
  const found = run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}
const podSpec = (d: K8sObject): Obj => o(o(o(d["spec"])["template"])["spec"]);
const containers = (d: K8sObject): Obj[] => arr(podSpec(d)["containers"]);
const envOf = (c: Obj): Record<string, Obj> => Object.fromEntries(arr(c["env"]).map((e) => [String(e["name"]), e]));

let run: MockRun;
beforeAll(async () => {
  run = await runWorkloads(localWithStandIn());
});

describe("AgentScopeWorkloads with the stand-in model", () => {
  it("renders only objects that pass the Kubernetes OpenAPI schema", async () => {
    expect(await schemaProblems(run.k8sObjects())).toEqual([]);
  });

  it("builds target stand-in-model and runs it by the pushed digest", () => {
    const built = run.one("docker:index/image:Image", "stand-in-model-image-image").inputs;
    expect(o(built["build"])).toMatchObject({ context: "agent-image", dockerfile: "agent-image/Dockerfile", target: "stand-in-model" });
    // Tagged by content (never latest): a tag-immutable ACR never sees the same tag twice.
    expect(built["imageName"]).toMatch(new RegExp(`^${STAND_IN_REPO}:src-[0-9a-f]{16}$`));
    const [c] = containers(named(run, "Deployment", "stand-in-model"));
    expect(c!["image"]).toBe(`${STAND_IN_REPO}@sha256:${MOCK_DIGEST}`);
  });

  it("runs it hardened like every other workload: restricted, read-only, no token, requests = limits, probed", () => {
    const d = named(run, "Deployment", "stand-in-model");
    const spec = podSpec(d);
    expect(spec["automountServiceAccountToken"]).toBe(false);
    expect(spec["enableServiceLinks"]).toBe(false);
    expect(o(spec["securityContext"])).toEqual({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
    expect(containers(d)).toHaveLength(1);
    const c = containers(d)[0]!;
    expect(o(c["securityContext"])).toEqual({
      runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
      privileged: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
    });
    expect(o(c["resources"])).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "100m", memory: "128Mi" } });
    expect(o(o(c["readinessProbe"])["httpGet"])).toEqual({ path: "/health", port: "http" });
    expect(o(o(c["livenessProbe"])["httpGet"])).toEqual({ path: "/health", port: "http" });
    expect(arr(c["ports"])).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(arr(c["volumeMounts"])).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(arr(spec["volumes"])).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }]);
    expect(arr(spec["imagePullSecrets"])).toEqual([{ name: "registry-pull" }]);
    expect(o(o(d["spec"])["selector"])).toEqual({ matchLabels: STAND_IN_SELECTOR });
    expect(d.metadata?.namespace).toBe("agentscope-agents");
  });

  it("serves it on a ClusterIP Service in the agents namespace", () => {
    const svc = named(run, "Service", "stand-in-model");
    expect(svc.metadata?.namespace).toBe("agentscope-agents");
    expect(o(svc["spec"])).toEqual({ type: "ClusterIP", selector: STAND_IN_SELECTOR, ports: [{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }] });
  });

  it("points every agent at it, with a placeholder key in the agent's Secret", () => {
    for (const name of ["agent-friday", "agent-scout"]) {
      const env = envOf(containers(named(run, "Deployment", name))[0]!);
      expect(env["MODEL_PROVIDER"]!["value"]).toBe("openai");
      expect(env["MODEL_NAME"]!["value"]).toBe("stand-in");
      expect(env["MODEL_BASE_URL"]!["value"]).toBe(BASE_URL);
      expect(o(o(env["MODEL_API_KEY"]!["valueFrom"])["secretKeyRef"])).toEqual({ name: name, key: "MODEL_API_KEY" });
      expect(o(named(run, "Secret", name)["stringData"])["MODEL_API_KEY"]).toBe(STAND_IN_MODEL_API_KEY);
    }
    // The configured key is not handed to the stand-in, nor anywhere else.
    expect(JSON.stringify(run.k8sObjects())).not.toContain(SECRETS.modelApiKey);
  });

  it("lets only agents reach it, on its port, and lets it reach nothing", () => {
    const own = named(run, "NetworkPolicy", "stand-in-model");
    expect(o(own["spec"])).toEqual({
      podSelector: { matchLabels: STAND_IN_SELECTOR },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ podSelector: { matchLabels: AGENT_SELECTOR } }], ports: [{ protocol: "TCP", port: 8080 }] }],
    });
    const clients = named(run, "NetworkPolicy", "stand-in-model-clients");
    expect(o(clients["spec"])).toEqual({
      podSelector: { matchLabels: AGENT_SELECTOR },
      policyTypes: ["Egress"],
      egress: [{ to: [{ podSelector: { matchLabels: STAND_IN_SELECTOR } }], ports: [{ protocol: "TCP", port: 8080 }] }],
    });
    expect(own.metadata?.namespace).toBe("agentscope-agents");
    expect(clients.metadata?.namespace).toBe("agentscope-agents");
  });

  it("parents its objects to one StandInModel component under the workloads", () => {
    const component = run.resources.filter((r) => r.type === "agentscope:k8s:StandInModel");
    expect(component.map((r) => r.name)).toEqual(["agentscope-stand-in-model"]);
  });

  it("puts it on ACS with an ACS size and the network-policy agent when agents are on ACS", async () => {
    const dev = workloadsArgs("dev");
    const acsRun = await runWorkloads({ ...dev, standInModel: true, images: { ...dev.images, build: { ...dev.images.build!, standInModelRepository: "agentscope-registry.cn-hangzhou.cr.aliyuncs.com/agentscope/stand-in-model" } } });
    const d = named(acsRun, "Deployment", "stand-in-model");
    const meta = o(o(o(d["spec"])["template"])["metadata"]);
    expect(o(meta["labels"])["alibabacloud.com/acs"]).toBe("true");
    expect(o(meta["annotations"])["alibabacloud.com/enable-network-policy-agent"]).toBe("true");
    expect(o(containers(d)[0]!["resources"])["limits"]).toEqual({ cpu: "500m", memory: "1024Mi" });
  });

  it("stamps its ACS pod with the pod vSwitches and security groups it is given", async () => {
    const dev = workloadsArgs("dev");
    const acsRun = await runWorkloads({
      ...dev, standInModel: true, acsNetwork: { vswitchIds: ["vsw-a", "vsw-b"], securityGroupIds: ["sg-1"] },
      images: { ...dev.images, build: { ...dev.images.build!, standInModelRepository: "agentscope-registry.cn-hangzhou.cr.aliyuncs.com/agentscope/stand-in-model" } },
    });
    const meta = o(o(o(named(acsRun, "Deployment", "stand-in-model")["spec"])["template"])["metadata"]);
    expect(o(meta["annotations"])).toMatchObject({
      "network.alibabacloud.com/vswitch-ids": "vsw-a,vsw-b",
      "network.alibabacloud.com/security-group-ids": "sg-1",
    });
  });
});

describe("AgentScopeWorkloads without the stand-in model", () => {
  it.each(["local", "dev", "prod"] as const)("renders none of it and keeps each agent's own model (%s)", async (env) => {
    const r = await runWorkloads(workloadsArgs(env));
    expect(r.k8sObjects().filter((x) => x.metadata?.name?.startsWith("stand-in-model"))).toEqual([]);
    expect(r.ofType("docker:index/image:Image").map((x) => x.name)).not.toContain("agentscope-stand-in-model-image-image");
    const env0 = envOf(containers(named(r, "Deployment", "agent-scout"))[0]!);
    expect(env0["MODEL_BASE_URL"]!["value"]).toBe("https://models.example.com/v1");
    expect(o(named(r, "Secret", "agent-scout")["stringData"])["MODEL_API_KEY"]).toBe(SECRETS.modelApiKey);
  });
});

describe("stand-in model arguments", () => {
  it("is refused in prod", () => {
    const prod = workloadsArgs("prod");
    expect(() => resolveWorkloadsArgs({ ...prod, standInModel: true, images: { ...prod.images, standInModel: `r.example.com/s@sha256:${"5".repeat(64)}` } }))
      .toThrow(/standInModel .*refused in prod/);
  });

  it("needs a repository to build into, or a prebuilt digest, not both", () => {
    expect(() => resolveWorkloadsArgs({ ...workloadsArgs("local"), standInModel: true })).toThrow(/images\.build\.standInModelRepository is required/);
    const prebuilt = { agent: `r.example.com/a@sha256:${"1".repeat(64)}`, sandboxManager: `r.example.com/m@sha256:${"2".repeat(64)}` };
    expect(() => resolveWorkloadsArgs({ ...workloadsArgs("local"), standInModel: true, images: prebuilt })).toThrow(/images\.standInModel \(a digest\) is required/);
    const both = localWithStandIn();
    expect(() => resolveWorkloadsArgs({ ...both, images: { ...both.images, standInModel: `r.example.com/s@sha256:${"5".repeat(64)}` } })).toThrow(/images\.build conflicts with images\.standInModel/);
  });

  it("runs a prebuilt digest as given", async () => {
    const ref = `localhost:5000/agentscope/stand-in-model@sha256:${"6".repeat(64)}`;
    const images = { agent: `localhost:5000/agentscope/agent@sha256:${"1".repeat(64)}`, sandboxManager: `localhost:5000/agentscope/sandbox-manager@sha256:${"2".repeat(64)}`, standInModel: ref };
    const r = await runWorkloads({ ...workloadsArgs("local"), standInModel: true, images });
    expect(containers(named(r, "Deployment", "stand-in-model"))[0]!["image"]).toBe(ref);
    expect(r.ofType("docker:index/image:Image")).toEqual([]);
  });

  it("rejects an image by tag, an empty client selector and a non-ACS size on ACS", () => {
    const base = { namespace: "ns", partOf: "agentscope", image: `r/x@sha256:${"a".repeat(64)}`, clientSelector: AGENT_SELECTOR };
    expect(() => resolveStandInModelArgs({ ...base, image: "r/x:latest" })).toThrow(/image must be pinned by digest/);
    expect(() => resolveStandInModelArgs({ ...base, clientSelector: {} })).toThrow(/would admit every pod/);
    expect(() => resolveStandInModelArgs({ ...base, placement: { ...NO_ACS, enabled: true }, cpu: 0.25 })).toThrow(/not an ACS size/);
    expect(resolveStandInModelArgs(base)).toMatchObject({ cpu: 0.1, memoryGiB: 0.125, placement: NO_ACS });
  });
});
