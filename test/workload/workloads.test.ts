import { beforeAll, describe, expect, it } from "vitest";
import { SANDBOX_MANAGER_AGENT_POD_RULES, SANDBOX_MANAGER_CLUSTER_RULES, SANDBOX_MANAGER_ROLE_RULES } from "../../components/workload/sandbox-pool";
import { schemaProblems, validateK8sObject } from "../support/k8s-schema";
import type { K8sObject, MockRun } from "../support/mocks";
import { MOCK_API_SERVER, MOCK_DIGEST } from "../support/mocks";
import type { Env } from "../support/workloads-fixtures";
import { PREBUILT_AGENT, PREBUILT_MANAGER, SECRETS, runWorkloads, workloadsArgs } from "../support/workloads-fixtures";

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v ?? {}) as Obj;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[];

const RECOMMENDED = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"];
const ACS_LABEL = /^alibabacloud\.com\//;
const SECRET_ENV = /(PASSWORD|TOKEN|API_KEY|SECRET)/;

function podTemplate(obj: K8sObject): Obj {
  return o(o(obj["spec"])["template"]);
}
function containers(obj: K8sObject): Obj[] {
  return arr(o(podTemplate(obj)["spec"])["containers"]);
}
function named(run: MockRun, kind: string, name: string): K8sObject {
  const found = run.k8sObjects().filter((x) => x.kind === kind && x.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}
const workloadsOf = (run: MockRun) => run.k8sObjects().filter((x) => x.kind === "Deployment" || x.kind === "StatefulSet");

const runs = new Map<Env, MockRun>();
beforeAll(async () => {
  for (const env of ["local", "dev", "prod"] as const) runs.set(env, await runWorkloads(workloadsArgs(env)));
});
const run = (env: Env) => runs.get(env)!;

describe.each(["local", "dev", "prod"] as const)("AgentScopeWorkloads (%s)", (env) => {
  const acs = env !== "local";

  it("renders only objects that pass the Kubernetes OpenAPI schema", async () => {
    const objects = run(env).k8sObjects();
    expect(objects.length).toBeGreaterThan(30);
    expect(await schemaProblems(objects)).toEqual([]);
  });

  it("puts the recommended labels on every object", () => {
    for (const obj of run(env).k8sObjects()) {
      for (const key of RECOMMENDED) expect(obj.metadata?.labels?.[key], `${obj.kind} ${obj.metadata?.name} ${key}`).toBeTruthy();
    }
  });

  it("passes the kubernetes provider to every Kubernetes object", () => {
    for (const r of run(env).ofType("kubernetes:apps/v1:Deployment")) expect(r.provider).toMatch(/pulumi:providers:kubernetes::cluster::/);
    for (const r of run(env).resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"))) expect(r.provider, r.name).toContain("::cluster::");
  });

  it("makes the two namespaces with Pod Security Admission labels", () => {
    const agents = named(run(env), "Namespace", "agentscope-agents");
    const sandboxes = named(run(env), "Namespace", "agentscope-sandboxes");
    expect(agents.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    // Our sandbox image runs as 10001 on a read-only root, without nginx or port 80: restricted too.
    expect(sandboxes.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(sandboxes.metadata?.labels?.["pod-security.kubernetes.io/warn"]).toBe("restricted");
  });

  it("runs every container by digest, the agents on the pushed or prebuilt digest", () => {
    for (const w of workloadsOf(run(env))) {
      for (const c of containers(w)) expect(String(c["image"]), `${w.metadata?.name}/${String(c["name"])}`).toMatch(/^[^\s@]+@sha256:[0-9a-f]{64}$/);
    }
    const agentImage = String(containers(named(run(env), "Deployment", "agent-friday"))[0]!["image"]);
    const managerImage = String(containers(named(run(env), "Deployment", "sandbox-manager"))[0]!["image"]);
    if (env === "prod") {
      expect(agentImage).toBe(PREBUILT_AGENT);
      expect(managerImage).toBe(PREBUILT_MANAGER);
      expect(run(env).ofType("docker:index/image:Image")).toHaveLength(0);
    } else {
      // Pushed through the registry's public (or local) address, pulled through its VPC address in the cloud.
      const pull = env === "dev" ? "agentscope-registry-vpc.cn-hangzhou.cr.aliyuncs.com" : "localhost:5000";
      expect(agentImage).toBe(`${pull}/agentscope/agent@sha256:${MOCK_DIGEST}`);
      expect(managerImage).toBe(`${pull}/agentscope/sandbox-manager@sha256:${MOCK_DIGEST}`);
      const built = run(env).one("docker:index/image:Image", "agent-image-image").inputs;
      expect(o(built["build"])).toMatchObject({ context: "agent-image", dockerfile: "agent-image/Dockerfile", target: "agent", platform: "linux/amd64" });
      expect(o(built["registry"])["password"]).toBe(SECRETS.registryPassword);
      expect(built["skipPush"]).toBe(false);
      // The password (or the whole registry block around it) reaches the engine as a secret.
      expect(run(env).one("docker:index/image:Image", "sandbox-manager-image-image").secretPaths.some((p) => "registry.password".startsWith(p))).toBe(true);
    }
  });

  it("gives every container the restricted security context and a read-only root with /tmp", () => {
    for (const w of workloadsOf(run(env))) {
      const spec = o(podTemplate(w)["spec"]);
      expect(o(spec["securityContext"])).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
      for (const c of containers(w)) {
        expect(o(c["securityContext"])).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(arr(c["volumeMounts"]).some((m) => m["mountPath"] === "/tmp")).toBe(true);
      }
      expect(arr(spec["volumes"]).find((v) => v["name"] === "tmp")).toMatchObject({ emptyDir: {} });
      expect(arr(spec["volumes"]).some((v) => "hostPath" in v)).toBe(false);
    }
  });

  it("mounts no service-account token except into the sandbox manager", () => {
    for (const w of workloadsOf(run(env))) {
      const spec = o(podTemplate(w)["spec"]);
      expect(spec["automountServiceAccountToken"], w.metadata?.name).toBe(w.metadata?.name === "sandbox-manager");
    }
  });

  it("probes each agent on /health (startup, readiness), liveness on the socket only, and the gateway too", () => {
    for (const name of ["agent-friday", "agent-scout"]) {
      const [agent, gateway] = containers(named(run(env), "Deployment", name));
      for (const probe of ["startupProbe", "readinessProbe"]) {
        expect(o(o(agent![probe])["httpGet"]), `${name} ${probe}`).toMatchObject({ path: "/health", port: "app" });
      }
      // A slow dependency behind /health must not restart the pod: liveness differs from readiness.
      expect(agent!["livenessProbe"]).toMatchObject({ tcpSocket: { port: "app" } });
      expect(agent!["livenessProbe"]).not.toHaveProperty("httpGet");
      expect(o(o(gateway!["readinessProbe"])["httpGet"])).toMatchObject({ path: "/health", port: "gateway" });
      expect(gateway!["livenessProbe"]).toBeTruthy();
      expect(o(agent!["ports"] && arr(agent!["ports"])[0])).toMatchObject({ containerPort: 8080 });
    }
    for (const w of workloadsOf(run(env))) for (const c of containers(w)) expect(c["readinessProbe"] && c["livenessProbe"], `${w.metadata?.name}`).toBeTruthy();
  });

  it("drains on SIGTERM: the gateway forwards open streams until the app has ended them, all within the grace period", () => {
    const envOf = (c: Obj, name: string) => Number(arr(c["env"]).find((e) => e["name"] === name)?.["value"]);
    const preStop = (c: Obj) => Number(o(o(o(c["lifecycle"])["preStop"])["sleep"])["seconds"]);
    for (const name of ["agent-friday", "agent-scout"]) {
      const d = named(run(env), "Deployment", name);
      const [agent, gateway] = containers(d);
      const grace = Number(o(podTemplate(d)["spec"])["terminationGracePeriodSeconds"]);
      const drain = envOf(agent!, "SHUTDOWN_DRAIN_SECONDS");
      const gatewayTimeout = envOf(gateway!, "GATEWAY_SHUTDOWN_TIMEOUT_SECONDS");
      expect([preStop(agent!), preStop(gateway!), drain, gatewayTimeout, grace]).toEqual([5, 5, 30, 50, 60]);
      // The app ends its turns within drain + 15 s (agent-image/friday/server.py); the gateway must
      // not cut them first, and must itself be done before the kubelet's SIGKILL.
      expect(gatewayTimeout).toBeGreaterThan(drain + 15);
      expect(preStop(gateway!) + gatewayTimeout).toBeLessThan(grace);
    }
  });

  it("admits as many turns as the app container carries (MAX_CONCURRENT_TURNS), beyond which the agent answers 429", () => {
    const envOf = (c: Obj, name: string) => arr(c["env"]).find((e) => e["name"] === name)?.["value"];
    // 32 per vCPU, 64 per GiB of the app container. friday: 1 vCPU / 2 GiB pod, 0.75 / 1.75 for the
    // app; scout: 0.5 / 1, so 0.25 / 0.75.
    expect(envOf(containers(named(run(env), "Deployment", "agent-friday"))[0]!, "MAX_CONCURRENT_TURNS")).toBe("24");
    expect(envOf(containers(named(run(env), "Deployment", "agent-scout"))[0]!, "MAX_CONCURRENT_TURNS")).toBe("8");
  });

  it("keeps secret values out of everything but Secrets, and feeds env from secretKeyRef", () => {
    const secretValues = Object.values(SECRETS);
    for (const obj of run(env).k8sObjects().filter((x) => x.kind !== "Secret")) {
      const text = JSON.stringify(obj);
      for (const v of secretValues) expect(text.includes(v), `${obj.kind} ${obj.metadata?.name} carries a secret`).toBe(false);
    }
    for (const w of workloadsOf(run(env))) {
      for (const c of containers(w)) {
        for (const e of arr(c["env"])) {
          if (SECRET_ENV.test(String(e["name"])) && !/_(FILE|PATH)$/.test(String(e["name"]))) {
            expect(e["value"], `${w.metadata?.name} env ${String(e["name"])}`).toBeUndefined();
            expect(o(o(e["valueFrom"])["secretKeyRef"])["key"]).toBeTruthy();
          }
        }
      }
    }
    const friday = containers(named(run(env), "Deployment", "agent-friday"))[0]!;
    const envNames = arr(friday["env"]).map((e) => e["name"]);
    expect(envNames).toEqual(expect.arrayContaining(["MODEL_API_KEY", "AGENT_API_TOKEN", "SANDBOX_MANAGER_TOKEN", "REDIS_PASSWORD", "REDIS_URL", "SANDBOX_MANAGER_URL"]));
    const redisUrl = String(arr(friday["env"]).find((e) => e["name"] === "REDIS_URL")!["value"]);
    expect(redisUrl).toMatch(/^redis:\/\/[^@]+:6379\/0$/);
    // Secret inputs stay Pulumi secrets on the way to the engine...
    const secret = run(env).one("kubernetes:core/v1:Secret", "agent-friday-secret");
    expect(secret.secretPaths.some((p) => p.startsWith("stringData"))).toBe(true);
    // ...and nothing secret leaks into a workload, which would turn its whole spec into a secret.
    for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:ConfigMap"]) {
      for (const r of run(env).ofType(type)) expect(r.secretPaths, r.name).toEqual([]);
    }
  });

  it("sizes pods with requests = limits, in ACS steps on ACS", () => {
    for (const w of workloadsOf(run(env))) {
      let cpu = 0;
      let mem = 0;
      for (const c of containers(w)) {
        const res = o(c["resources"]);
        expect(res["requests"], `${w.metadata?.name}`).toEqual(res["limits"]);
        cpu += parseInt(String(o(res["requests"])["cpu"]), 10);
        mem += parseInt(String(o(res["requests"])["memory"]), 10);
      }
      if (acs && o(o(podTemplate(w)["metadata"])["labels"])["alibabacloud.com/acs"] === "true") {
        expect(cpu % 500, `${w.metadata?.name} cpu ${cpu}m`).toBe(0);
        expect(mem % 1024, `${w.metadata?.name} memory ${mem}Mi`).toBe(0);
      }
    }
    const friday = containers(named(run(env), "Deployment", "agent-friday"));
    expect(friday.map((c) => o(o(c["resources"])["limits"]))).toEqual([{ cpu: "750m", memory: "1792Mi" }, { cpu: "250m", memory: "256Mi" }]);
  });

  it("puts ACS labels, toleration and annotations on pod templates only in ACS stacks, never in selectors", () => {
    for (const w of [named(run(env), "Deployment", "agent-friday"), named(run(env), "Deployment", "sandbox-manager")]) {
      const meta = o(podTemplate(w)["metadata"]);
      const labels = o(meta["labels"]);
      const annotations = o(meta["annotations"]);
      const tolerations = arr(o(podTemplate(w)["spec"])["tolerations"]);
      if (acs) {
        expect(labels).toMatchObject({ "alibabacloud.com/acs": "true", "alibabacloud.com/compute-class": "general-purpose", "alibabacloud.com/compute-qos": "default" });
        expect(annotations).toMatchObject({ "alibabacloud.com/enable-network-policy-agent": "true", "image.alibabacloud.com/enable-image-cache": "true" });
        expect(tolerations).toContainEqual({ key: "virtual-kubelet.io/provider", operator: "Equal", value: "alibabacloud", effect: "NoSchedule" });
      } else {
        expect(Object.keys(labels).some((k) => ACS_LABEL.test(k))).toBe(false);
        expect(Object.keys(annotations).some((k) => /alibabacloud\.com/.test(k))).toBe(false);
        expect(tolerations).toEqual([]);
      }
    }
    const selectors: unknown[] = [];
    for (const obj of run(env).k8sObjects()) {
      const spec = o(obj["spec"]);
      if (obj.kind === "Service") selectors.push(spec["selector"]);
      if (["Deployment", "StatefulSet", "PodDisruptionBudget"].includes(obj.kind)) selectors.push(spec["selector"]);
      if (obj.kind === "NetworkPolicy") selectors.push(spec["podSelector"], spec["ingress"], spec["egress"]);
      for (const t of arr(o(podTemplate(obj)["spec"])["topologySpreadConstraints"])) selectors.push(t["labelSelector"]);
    }
    expect(JSON.stringify(selectors)).not.toMatch(/alibabacloud\.com/);
    const deployment = named(run(env), "Deployment", "agent-friday");
    expect(o(o(deployment["spec"])["selector"])).toEqual({ matchLabels: { "app.kubernetes.io/name": "agentscope-agent", "app.kubernetes.io/instance": "agentscope-friday" } });
  });

  it("scales agents with an HPA and guards them with a PDB and a surge-only rollout", () => {
    const args = workloadsArgs(env);
    for (const a of args.agents) {
      const hpa = named(run(env), "HorizontalPodAutoscaler", `agent-${a.name}`);
      expect(o(hpa["spec"])).toMatchObject({ minReplicas: a.replicas.min, maxReplicas: a.replicas.max, scaleTargetRef: { kind: "Deployment", name: `agent-${a.name}` } });
      const pdb = named(run(env), "PodDisruptionBudget", `agent-${a.name}`);
      expect(o(pdb["spec"])).toMatchObject({ maxUnavailable: 1 });
      const spec = o(named(run(env), "Deployment", `agent-${a.name}`)["spec"]);
      expect(spec["replicas"]).toBe(a.replicas.min);
      expect(o(spec["strategy"])).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      const spread = arr(o(o(spec["template"])["spec"])["topologySpreadConstraints"])[0]!;
      // A hard zone spread only off ACS: the virtual node ignores it unless its scheduling policy is on.
      const hard = env === "prod" && !args.acs?.enabled;
      expect(spread).toMatchObject({ topologyKey: "topology.kubernetes.io/zone", maxSkew: 1, whenUnsatisfiable: hard ? "DoNotSchedule" : "ScheduleAnyway" });
    }
    // One pool-refilling manager replica: no PDB (it would block every drain), no second watcher.
    expect(run(env).k8sObjects().filter((x) => x.kind === "PodDisruptionBudget" && x.metadata?.name === "sandbox-manager")).toEqual([]);
  });

  it("exposes agents inside the cluster, and through an allow-listed load balancer only when asked", () => {
    const svc = o(named(run(env), "Service", "agent-friday")["spec"]);
    expect(svc).toMatchObject({ type: "ClusterIP", ports: [{ port: 8080, targetPort: "gateway" }] });
    const lbs = run(env).k8sObjects().filter((x) => x.kind === "Service" && o(x["spec"])["type"] === "LoadBalancer");
    if (env === "local") {
      expect(lbs).toEqual([]);
    } else {
      expect(lbs).toHaveLength(2);
      for (const lb of lbs) {
        const spec = o(lb["spec"]);
        expect(spec["loadBalancerSourceRanges"]).toEqual(env === "dev" ? ["10.0.0.0/16"] : ["203.0.113.0/24"]);
        expect(spec["externalTrafficPolicy"]).toBe("Local");
        expect(spec["ports"]).toEqual([{ name: "http", port: 8080, targetPort: "gateway", protocol: "TCP" }]);
      }
      if (env === "dev") expect(lbs[0]!.metadata?.annotations).toEqual({ "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet" });
    }
    for (const svcObj of run(env).k8sObjects().filter((x) => x.kind === "Service")) expect(o(svcObj["spec"])["type"]).not.toBe("NodePort");
  });

  it("grants the sandbox manager exactly the RBAC its calls need", () => {
    const role = named(run(env), "Role", "sandbox-manager");
    expect(role.metadata?.namespace).toBe("agentscope-sandboxes");
    expect(role["rules"]).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "watch", "delete"] },
      { apiGroups: [""], resources: ["services"], verbs: ["delete"] },
    ]);
    expect(role["rules"]).toEqual(SANDBOX_MANAGER_ROLE_RULES);
    const clusterRole = named(run(env), "ClusterRole", "agentscope-sandbox-manager");
    expect(clusterRole["rules"]).toEqual([{ apiGroups: [""], resources: ["namespaces"], verbs: ["list"] }]);
    expect(clusterRole["rules"]).toEqual(SANDBOX_MANAGER_CLUSTER_RULES);
    const subject = { kind: "ServiceAccount", name: "sandbox-manager", namespace: "agentscope-agents" };
    expect(named(run(env), "RoleBinding", "sandbox-manager")).toMatchObject({ roleRef: { kind: "Role", name: "sandbox-manager" }, subjects: [subject] });
    expect(named(run(env), "ClusterRoleBinding", "agentscope-sandbox-manager")).toMatchObject({ roleRef: { kind: "ClusterRole", name: "agentscope-sandbox-manager" }, subjects: [subject] });
    // In the agents' namespace, only reading agent pods: who claimed a sandbox, and whether it still exists.
    const agentPods = named(run(env), "Role", "sandbox-manager-agent-pods");
    expect(agentPods.metadata?.namespace).toBe("agentscope-agents");
    expect(agentPods["rules"]).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }]);
    expect(agentPods["rules"]).toEqual(SANDBOX_MANAGER_AGENT_POD_RULES);
    expect(named(run(env), "RoleBinding", "sandbox-manager-agent-pods")).toMatchObject({ roleRef: { kind: "Role", name: "sandbox-manager-agent-pods" }, subjects: [subject] });
    expect(run(env).k8sObjects().filter((x) => x.kind === "Role" || x.kind === "ClusterRole")).toHaveLength(3);
    expect(named(run(env), "ServiceAccount", "sandbox")).toMatchObject({ automountServiceAccountToken: false, metadata: { namespace: "agentscope-sandboxes" } });
  });

  it("renders the manager's .env into a Secret, with k8s mode, no hostPath and Redis", () => {
    const secret = named(run(env), "Secret", "sandbox-manager-config");
    const text = String(o(secret["stringData"])["sandbox-manager.env"]);
    const kv = Object.fromEntries(text.trim().split("\n").map((line) => {
      const i = line.indexOf("=");
      return [line.slice(0, i), line.slice(i + 2, -1)];
    }));
    expect(kv).toMatchObject({
      HOST: "0.0.0.0",
      PORT: "8000",
      WORKERS: "1",
      CONTAINER_DEPLOYMENT: "k8s",
      DEFAULT_MOUNT_DIR: "",
      ALLOW_MOUNT_DIR: "False",
      K8S_NAMESPACE: "agentscope-sandboxes",
      DEFAULT_SANDBOX_TYPE: "base,browser",
      POOL_SIZE: String(workloadsArgs(env).sandbox.poolSize),
      BEARER_TOKEN: SECRETS.sandboxManagerToken,
      REDIS_ENABLED: "True",
      REDIS_PASSWORD: SECRETS.redisPassword,
      REDIS_DB: "1",
      RUNTIME_SANDBOX_REGISTRY: workloadsArgs(env).sandbox.images.registry,
    });
    expect(kv["REDIS_SERVER"]).toBe(env === "prod" ? "r-prod.redis.rds.aliyuncs.com" : "redis.agentscope-agents.svc.cluster.local");
    const manager = named(run(env), "Deployment", "sandbox-manager");
    const c = containers(manager)[0]!;
    // The extension is a module baked into the manager image; the ConfigMap carries only its data.
    expect(c["args"]).toEqual(["--config", "/etc/agentscope/sandbox-manager.env", "--extension", "sandbox_manager_ext.activate", "--log-level", "INFO"]);
    expect(Object.keys(o(named(run(env), "ConfigMap", "sandbox-manager-extension")["data"]))).toEqual(["sandbox-pods.json"]);
    // Restarts and rolls keep live and warm sandboxes: one replica, never two at once, no
    // AUTO_CLEANUP with the shared Redis pool (every stack here has Redis).
    expect(o(manager["spec"])["replicas"]).toBe(1);
    expect(o(manager["spec"])["strategy"]).toEqual({ type: "Recreate" });
    expect(kv["AUTO_CLEANUP"]).toBe("False");
    expect(o(o(podTemplate(manager)["metadata"])["annotations"])["agentscope.io/config-sha256"]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("steers sandbox pods through the extension's settings", () => {
    const cm = named(run(env), "ConfigMap", "sandbox-manager-extension");
    const settings = JSON.parse(String(o(cm["data"])["sandbox-pods.json"])) as Obj;
    expect(settings["serviceAccountName"]).toBe("sandbox");
    // Upstream's port 80 maps to our non-root image's 8090; the pod meets PSA restricted.
    expect(settings["ports"]).toEqual({ "80": 8090 });
    expect(settings["readinessProbe"]).toMatchObject({ httpGet: { path: "/healthz", port: 8090 } });
    expect(settings["podSecurityContext"]).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } });
    expect(settings["containerSecurityContext"]).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(settings["volumes"]).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }]);
    expect(settings["volumeMounts"]).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(o(settings["resources"])).toEqual({ requests: { cpu: "1000m", memory: "2048Mi" }, limits: { cpu: "1000m", memory: "2048Mi" } });
    const labels = o(settings["labels"]);
    expect(labels["app.kubernetes.io/component"]).toBe("sandbox");
    if (acs) {
      expect(labels["alibabacloud.com/acs"]).toBe("true");
      expect(o(settings["annotations"])["alibabacloud.com/enable-network-policy-agent"]).toBe("true");
      expect(settings["tolerations"]).toEqual([{ key: "virtual-kubelet.io/provider", operator: "Equal", value: "alibabacloud", effect: "NoSchedule" }]);
    } else {
      expect(Object.keys(labels).some((k) => ACS_LABEL.test(k))).toBe(false);
      expect(settings["tolerations"]).toEqual([]);
    }
    if (env === "prod") {
      expect(o(settings["images"])).toEqual({
        "agentscope-registry-vpc.cn-hangzhou.cr.aliyuncs.com/agentscope/runtime-sandbox-base:1.1.5": `agentscope-registry-vpc.cn-hangzhou.cr.aliyuncs.com/agentscope/runtime-sandbox-base@sha256:${"4".repeat(64)}`,
      });
    }
  });

  it("denies all traffic in both namespaces by default and allows DNS", () => {
    for (const ns of ["agentscope-agents", "agentscope-sandboxes"]) {
      const deny = run(env).k8sObjects().find((x) => x.kind === "NetworkPolicy" && x.metadata?.namespace === ns && x.metadata?.name === "default-deny")!;
      expect(o(deny["spec"])).toEqual({ podSelector: { matchLabels: {} }, policyTypes: ["Ingress", "Egress"] });
      const dns = run(env).k8sObjects().find((x) => x.kind === "NetworkPolicy" && x.metadata?.namespace === ns && x.metadata?.name === "allow-dns")!;
      expect(arr(o(dns["spec"])["egress"])[0]).toMatchObject({ ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] });
    }
  });

  it("lets sandboxes reach only the public internet", () => {
    const p = run(env).k8sObjects().find((x) => x.kind === "NetworkPolicy" && x.metadata?.name === "sandboxes")!;
    const egress = arr(o(p["spec"])["egress"]);
    expect(egress).toHaveLength(1);
    const block = o(arr(egress[0]!["to"])[0]!["ipBlock"]);
    expect(block["cidr"]).toBe("0.0.0.0/0");
    const except = block["except"] as string[];
    expect(except).toEqual(expect.arrayContaining(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]));
    // 100.100.100.200 (metadata) lies inside 100.64.0.0/10; covered blocks are folded away.
    expect(except).not.toContain("100.100.100.200/32");
    if (env === "prod") expect(except).toEqual(expect.arrayContaining(["47.96.1.2/32"]));
    expect(egress[0]!["ports"]).toBeUndefined();
  });

  it("lets the manager reach the API server and sandboxes only", () => {
    const p = run(env).k8sObjects().find((x) => x.kind === "NetworkPolicy" && x.metadata?.name === "sandbox-manager")!;
    const egress = arr(o(p["spec"])["egress"]);
    const api = { local: ["172.18.0.2/32", 6443], dev: [`${MOCK_API_SERVER.address}/32`, MOCK_API_SERVER.port], prod: ["10.0.0.5/32", 6443] }[env];
    expect(egress[0]).toEqual({ to: [{ ipBlock: { cidr: api[0] } }], ports: [{ protocol: "TCP", port: api[1] }] });
    expect(egress[1]).toMatchObject({ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "agentscope-sandboxes" } }, podSelector: {} }], ports: [{ port: 8090 }] });
    if (env === "dev") expect(run(env).resources.some((r) => r.read && r.type === "kubernetes:discovery.k8s.io/v1:EndpointSlice")).toBe(true);
  });

  it("keeps agents from reaching each other: callers come from other namespaces to the gateway port", () => {
    const p = run(env).k8sObjects().find((x) => x.kind === "NetworkPolicy" && x.metadata?.name === "agent-friday")!;
    const rule = arr(o(p["spec"])["ingress"])[0]!;
    expect(rule["ports"]).toEqual([{ protocol: "TCP", port: 8081 }]);
    const from = arr(rule["from"]);
    expect(from[0]).toEqual({
      namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["agentscope-agents", "agentscope-sandboxes"] }] },
    });
    // Load balancer callers and (on ACK) SLB health checks, by address; nothing at all without a load balancer.
    const blocks = from.slice(1).map((p) => o(p["ipBlock"])["cidr"]);
    expect(blocks).toEqual({ local: [], dev: ["10.0.0.0/16", "100.64.0.0/10"], prod: ["203.0.113.0/24", "100.64.0.0/10"] }[env]);
  });

  it("gives the AgentApp's own port no ingress rule at all", () => {
    for (const p of run(env).k8sObjects().filter((x) => x.kind === "NetworkPolicy")) {
      for (const rule of arr(o(p["spec"])["ingress"])) expect(arr(rule["ports"]).map((x) => x["port"])).not.toContain(8080);
    }
  });
});

describe("schema validation", () => {
  it("rejects an object that breaks the Kubernetes schema", async () => {
    await expect(validateK8sObject({ apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: "http" }] } })).rejects.toThrow(/fails the Kubernetes schema/);
    await expect(validateK8sObject({ apiVersion: "example.com/v1", kind: "Widget" })).rejects.toThrow(/no schema/);
  });
});

describe("without the admin-route gateway", () => {
  it("runs one container per agent and opens the app's port to callers instead", async () => {
    const r = await runWorkloads({ ...workloadsArgs("local"), adminRouteGateway: false });
    const d = named(r, "Deployment", "agent-friday");
    expect(containers(d).map((c) => c["name"])).toEqual(["agent"]);
    expect(o(containers(d)[0]!["resources"])["limits"]).toEqual({ cpu: "1000m", memory: "2048Mi" });
    expect(o(named(r, "Service", "agent-friday")["spec"])["ports"]).toEqual([{ name: "http", port: 8080, targetPort: "app", protocol: "TCP" }]);
    const p = r.k8sObjects().find((x) => x.kind === "NetworkPolicy" && x.metadata?.name === "agent-friday")!;
    expect(arr(o(p["spec"])["ingress"])[0]!["ports"]).toEqual([{ protocol: "TCP", port: 8080 }]);
    expect(r.k8sObjects().some((x) => x.kind === "ConfigMap" && x.metadata?.name === "agent-friday-gateway")).toBe(false);
  });
});

describe("the sandbox manager's CPU limit", () => {
  it("is its request unless set above it; then the manager alone is Burstable, its memory still requests = limits", async () => {
    const resources = (r: MockRun) => o(containers(named(r, "Deployment", "sandbox-manager"))[0]!["resources"]);
    expect(resources(run("local"))).toEqual({ requests: { cpu: "500m", memory: "1024Mi" }, limits: { cpu: "500m", memory: "1024Mi" } });
    const args = workloadsArgs("local");
    const r = await runWorkloads({ ...args, sandbox: { ...args.sandbox, managerCpu: 0.25, managerCpuLimit: 1 } });
    expect(resources(r)).toEqual({ requests: { cpu: "250m", memory: "1024Mi" }, limits: { cpu: "1000m", memory: "1024Mi" } });
    expect(await schemaProblems([named(r, "Deployment", "sandbox-manager")])).toEqual([]);
    for (const w of workloadsOf(r).filter((x) => x.metadata?.name !== "sandbox-manager")) {
      for (const c of containers(w)) expect(o(c["resources"])["requests"], `${w.metadata?.name}`).toEqual(o(c["resources"])["limits"]);
    }
  });
});

describe("the sandbox pool's autoscaling and reaping settings", () => {
  const managerEnv = (r: MockRun): Record<string, unknown> =>
    Object.fromEntries(arr(containers(named(r, "Deployment", "sandbox-manager"))[0]!["env"]).map((e) => [String(e["name"]), e["value"]]));
  const dotenv = (r: MockRun): string => String(o(named(r, "Secret", "sandbox-manager-config")["stringData"])["sandbox-manager.env"]);

  it("renders per-type bounds, the idle timeout and the owner checks into the manager", async () => {
    const args = workloadsArgs("dev");
    const r = await runWorkloads({ ...args, sandbox: { ...args.sandbox, autoscaling: { base: { min: 1, max: 6, headroom: 2 } }, scaleDownAfterSeconds: 600, sessionIdleTimeoutSeconds: 900, ownerCheckSeconds: 5 } });
    const env = managerEnv(r);
    expect(JSON.parse(String(env["AGENTSCOPE_POOL_AUTOSCALING"]))).toEqual({ types: { base: { min: 1, max: 6, headroom: 2 } }, scaleDownAfterSeconds: 600 });
    expect(env["AGENTSCOPE_AGENT_NAMESPACE"]).toBe("agentscope-agents");
    expect(env["AGENTSCOPE_OWNER_CHECK_SECONDS"]).toBe("5");
    expect(dotenv(r)).toContain("HEARTBEAT_TIMEOUT='900'\n");
  });

  it("defaults to the fixed pool, a 300 s idle timeout and checks every 10 s", () => {
    const env = managerEnv(run("local"));
    expect(JSON.parse(String(env["AGENTSCOPE_POOL_AUTOSCALING"]))).toEqual({ types: {}, scaleDownAfterSeconds: 300 });
    expect(env["AGENTSCOPE_OWNER_CHECK_SECONDS"]).toBe("10");
    expect(dotenv(run("local"))).toContain("HEARTBEAT_TIMEOUT='300'\n");
    // Upstream's key (sic), 3600 by default: records of released sandboxes kept 10 min (records.py).
    expect(dotenv(run("local"))).toContain("RELEASE_KET_TTL='600'\n");
  });

  it("refuses autoscaling of a type the pool does not serve, naming it", async () => {
    const args = workloadsArgs("dev");
    await expect(runWorkloads({ ...args, sandbox: { ...args.sandbox, autoscaling: { gui: { min: 0, max: 2 } } } })).rejects.toThrow(/autoscaling\.gui: sandboxTypes does not pool "gui"/);
  });
});
