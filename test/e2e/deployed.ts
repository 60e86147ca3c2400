// What a stack of the program must have made in the cluster, read back through the API server.
// Shared by the local and the ACS-like stacks; each names what differs (prefix, replicas, ACS).
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { VIRTUAL_NODE_TOLERATION } from "../../components/workload/acs";
import { AGENT_SERVICE_PORT, GATEWAY_PORT } from "../../components/workload/agent-runtime";
import { REDIS_PORT } from "../../components/workload/redis";
import { STAND_IN_MODEL_API_KEY, STAND_IN_MODEL_PORT } from "../../components/workload/stand-in-model";
import { SANDBOX_MANAGER_AGENT_POD_RULES, SANDBOX_MANAGER_CLUSTER_RULES, SANDBOX_MANAGER_PORT, SANDBOX_MANAGER_ROLE_RULES, SANDBOX_PORT } from "../../components/workload/sandbox-pool";
import type { K8sObject } from "./support";
import { allObjects, env, filesUnder, getJson, kubectl, leakForms, list } from "./support";

/** The embedded cluster's real node (e2e/cluster/node.sh): its pods run. */
export const ORDINARY_NODE = "ase2e-node";
export const VIRTUAL_NODE = "virtual-kubelet-cn-hangzhou-i";

export interface StackSecrets {
  /** Unset: the stand-in model answers, with its placeholder key. */
  modelApiKey?: string;
  agentApiToken: string;
  sandboxManagerToken: string;
  redisPassword: string;
  localRegistryPassword: string;
}

export interface Expected {
  prefix: string;
  agent: string;
  replicas: { min: number; max: number };
  acs: boolean;
  secrets: StackSecrets;
  /** Sandbox pool size the manager's config must carry. */
  poolSize: number;
  /** The stand-in model runs in the agents' namespace (no model API key). */
  standInModel: boolean;
  /** observability.metrics (default true): `<name>-metrics` Services and the scrape policies. */
  metrics?: boolean;
  /** observability.otlpEndpoint is set: the trace egress policies. */
  tracing?: boolean;
}

export const agentsNs = (e: Expected) => `${e.prefix}-agents`;
export const sandboxNs = (e: Expected) => `${e.prefix}-sandboxes`;

type Obj = K8sObject & Record<string, unknown>;
interface Container { name: string; image: string; ports?: { name: string; containerPort: number }[] }
interface PodSpec {
  nodeName?: string;
  containers: Container[];
  imagePullSecrets?: { name: string }[];
  tolerations?: { key?: string; operator?: string; value?: string; effect?: string }[];
}
interface Condition { type: string; status: string }

function get(kind: string, ns: string, name: string): Obj {
  return getJson<Obj>([kind, name, "-n", ns]);
}

function condition(o: Obj, type: string): string | undefined {
  return ((o["status"] as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type)?.status;
}

function decode(b64: string): string {
  return Buffer.from(b64, "base64").toString("utf8");
}

/** Deployments Available with every replica, StatefulSet ready, PVC bound; returns the Deployments. */
export function checkWorkloads(e: Expected, agentReplicas: number): Record<string, Obj> {
  const ns = agentsNs(e);
  const out: Record<string, Obj> = {};
  for (const [name, replicas, image] of [[`agent-${e.agent}`, agentReplicas, env.agentImage], ["sandbox-manager", 1, env.managerImage]] as const) {
    const d = get("deployment", ns, name);
    const spec = d["spec"] as { replicas: number; template: { spec: PodSpec } };
    const status = d["status"] as { availableReplicas?: number; readyReplicas?: number; updatedReplicas?: number };
    expect(condition(d, "Available"), `${name} Available`).toBe("True");
    expect(spec.replicas, `${name} spec.replicas`).toBe(replicas);
    expect(status.availableReplicas, `${name} availableReplicas`).toBe(replicas);
    expect(status.updatedReplicas, `${name} updatedReplicas`).toBe(replicas);
    // The images pushed to the local registry, consumed by digest, pulled with the stack's Secret.
    for (const c of spec.template.spec.containers) expect(c.image, `${name}/${c.name} image`).toBe(image);
    expect(spec.template.spec.imagePullSecrets).toEqual([{ name: "registry-pull" }]);
    out[name] = d;
  }
  const sts = get("statefulset", ns, "redis");
  expect((sts["status"] as { readyReplicas?: number }).readyReplicas, "redis readyReplicas").toBe(1);
  const pvc = get("pvc", ns, "data-redis-0");
  expect((pvc["status"] as { phase: string }).phase, "redis PVC").toBe("Bound");
  return out;
}

export function checkNamespaces(e: Expected): void {
  for (const [ns, level, component] of [[agentsNs(e), "restricted", "agents"], [sandboxNs(e), "restricted", "sandboxes"]] as const) {
    const labels = get("namespace", "", ns).metadata.labels ?? {};
    expect(labels, ns).toMatchObject({
      "app.kubernetes.io/part-of": e.prefix,
      "app.kubernetes.io/component": component,
      "pod-security.kubernetes.io/enforce": level,
      "pod-security.kubernetes.io/warn": "restricted",
    });
  }
}

export function checkServices(e: Expected): void {
  const ns = agentsNs(e);
  const want: Record<string, { port: number; targetPort: string; name: string }[]> = {
    [`agent-${e.agent}`]: [{ name: "http", port: AGENT_SERVICE_PORT, targetPort: "gateway" }],
    "sandbox-manager": [{ name: "http", port: SANDBOX_MANAGER_PORT, targetPort: "http" }],
    redis: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }],
    // The StatefulSet's governing Service (clusterIP None).
    "redis-headless": [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }],
    ...(e.standInModel ? { "stand-in-model": [{ name: "http", port: STAND_IN_MODEL_PORT, targetPort: "http" }] } : {}),
    // Metrics on their own ClusterIP Services (README "Observability").
    ...(e.metrics ?? true
      ? {
        [`agent-${e.agent}-metrics`]: [{ name: "metrics", port: 9464, targetPort: "metrics" }, { name: "gateway-metrics", port: 9465, targetPort: "gateway-metrics" }],
        "sandbox-manager-metrics": [{ name: "metrics", port: 9464, targetPort: "metrics" }],
      }
      : {}),
  };
  const services = list(["services", "-n", ns]);
  expect(services.map((s) => s.metadata.name).sort()).toEqual(Object.keys(want).sort());
  for (const svc of services) {
    const spec = svc["spec"] as { type: string; ports: { name: string; port: number; targetPort: string; protocol: string }[]; selector: Record<string, string> };
    const w = want[svc.metadata.name]!;
    expect(spec.type, svc.metadata.name).toBe("ClusterIP"); // redis-headless too, with clusterIP None
    expect(spec.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol })), svc.metadata.name)
      .toEqual(w.map((p) => ({ ...p, protocol: "TCP" })));
    // The selector finds the ready pods: the EndpointSlice controller lists each of them.
    const slices = list(["endpointslices", "-n", ns, "-l", `kubernetes.io/service-name=${svc.metadata.name}`]);
    const ready = slices.flatMap((s) => (s["endpoints"] as { conditions: { ready?: boolean }; targetRef?: { kind: string } }[] | null) ?? [])
      .filter((ep) => ep.conditions.ready && ep.targetRef?.kind === "Pod");
    expect(ready.length, `${svc.metadata.name}: ready endpoints`).toBeGreaterThan(0);
  }
  // The sandbox namespace holds no Service: the manager calls each sandbox at its pod's IP.
  expect(list(["services", "-n", sandboxNs(e)]).map((s) => s.metadata.name)).toEqual([]);
}

/** The Secrets carry exactly the values set in the stack's config. */
export function checkSecrets(e: Expected): void {
  const ns = agentsNs(e);
  const s = e.secrets;
  const agent = get("secret", ns, `agent-${e.agent}`);
  const data = Object.fromEntries(Object.entries(agent.data ?? {}).map(([k, v]) => [k, decode(v)]));
  expect(data).toEqual({
    AGENT_API_TOKEN: s.agentApiToken,
    MODEL_API_KEY: s.modelApiKey ?? STAND_IN_MODEL_API_KEY,
    REDIS_PASSWORD: s.redisPassword,
    SANDBOX_MANAGER_TOKEN: s.sandboxManagerToken,
  });
  const redis = get("secret", ns, "redis-auth");
  expect(Object.keys(redis.data ?? {}).sort()).toEqual(["password", "redis.conf"]);
  expect(decode(redis.data!["password"]!)).toBe(s.redisPassword);
  expect(decode(redis.data!["redis.conf"]!)).toContain(s.redisPassword);
  const manager = get("secret", ns, "sandbox-manager-config");
  expect(Object.keys(manager.data ?? {})).toEqual(["sandbox-manager.env"]);
  const dotenv = decode(manager.data!["sandbox-manager.env"]!);
  expect(dotenv).toContain(`BEARER_TOKEN='${s.sandboxManagerToken}'`);
  expect(dotenv).toContain(`REDIS_PASSWORD='${s.redisPassword}'`);
  expect(dotenv).toContain(`POOL_SIZE='${e.poolSize}'`);
  expect(dotenv).toContain(`K8S_NAMESPACE='${sandboxNs(e)}'`);
  for (const n of [ns, sandboxNs(e)]) {
    const pull = get("secret", n, "registry-pull");
    expect(pull["type"]).toBe("kubernetes.io/dockerconfigjson");
    const cfg = JSON.parse(decode(pull.data![".dockerconfigjson"]!)) as { auths: Record<string, { username: string; password: string; auth: string }> };
    expect(Object.keys(cfg.auths)).toEqual([env.registry]);
    expect(cfg.auths[env.registry]).toMatchObject({ username: env.registryUser, password: s.localRegistryPassword });
  }
}

/**
 * No secret value anywhere but in the Secrets' data: not in any other object of the cluster (pod
 * specs, ConfigMaps, ReplicaSets, annotations, managedFields), not in a Secret's metadata, not in
 * the Pulumi state or the stack's config file in plain text.
 */
export function checkNoLeaks(e: Expected, stackConfigFile: string): void {
  const values = Object.values(e.secrets as unknown as Record<string, string | undefined>).filter((v): v is string => !!v);
  const forms = values.flatMap(leakForms);
  const everything = allObjects(() => true);
  expect(everything.length).toBeGreaterThan(50);
  const leaks: string[] = [];
  for (const o of everything) {
    const text = o.kind === "Secret" ? JSON.stringify(o.metadata) : JSON.stringify(o);
    for (const f of forms) if (text.includes(f)) leaks.push(`${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
  }
  const files = filesUnder(env.stateDir);
  files.push({ path: stackConfigFile, text: readFileSync(stackConfigFile, "utf8") });
  expect(files.length).toBeGreaterThan(1);
  for (const file of files) {
    for (const v of values) if (file.text.includes(v)) leaks.push(file.path);
  }
  expect(leaks, "plain-text secrets outside Secrets' data").toEqual([]);
}

export function checkNetworkPolicies(e: Expected): void {
  const a = agentsNs(e);
  const s = sandboxNs(e);
  const byName = (ns: string) => Object.fromEntries(list(["networkpolicies", "-n", ns]).map((p) => [p.metadata.name, p["spec"] as NetpolSpec]));
  const agents = byName(a);
  const sandboxes = byName(s);
  const standIn = e.standInModel ? ["stand-in-model", "stand-in-model-clients"] : [];
  const telemetry = [
    ...(e.metrics ?? true ? ["agents-metrics-scrape", "sandbox-manager-metrics-scrape"] : []),
    ...(e.tracing ? ["agents-otlp-egress", "sandbox-manager-otlp-egress"] : []),
  ];
  expect(Object.keys(agents).sort()).toEqual(["agents-egress", "allow-dns", "default-deny", `agent-${e.agent}`, "redis", "sandbox-manager", ...standIn, ...telemetry].sort());
  expect(Object.keys(sandboxes).sort()).toEqual(["allow-dns", "default-deny", "sandboxes"]);
  for (const p of [agents["default-deny"]!, sandboxes["default-deny"]!]) {
    // Every pod, both directions, no rule: deny all.
    expect(p).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  }
  // Callers reach the agent on the gateway's port only.
  const agent = agents[`agent-${e.agent}`]!;
  expect(agent.policyTypes).toEqual(["Ingress"]);
  expect(agent.ingress?.[0]?.ports).toEqual([{ protocol: "TCP", port: GATEWAY_PORT }]);
  // The manager may call the API server at the address the default/kubernetes EndpointSlice lists.
  const manager = agents["sandbox-manager"]!;
  expect(manager.egress).toContainEqual({ to: [{ ipBlock: { cidr: `${env.apiServerEndpoint}/32` } }], ports: [{ protocol: "TCP", port: env.apiServerPort }] });
  expect(manager.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "agentscope-agent" } } }], ports: [{ protocol: "TCP", port: SANDBOX_MANAGER_PORT }] }]);
  // Sandboxes: reached only from the manager's pods, on the sandbox port; no private range out.
  const sb = sandboxes["sandboxes"]!;
  expect(sb.ingress).toEqual([{
    from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": a } }, podSelector: { matchLabels: { "app.kubernetes.io/instance": `${e.prefix}-sandbox-manager`, "app.kubernetes.io/name": "sandbox-manager" } } }],
    ports: [{ protocol: "TCP", port: SANDBOX_PORT }],
  }]);
  const except = sb.egress?.[0]?.to?.[0]?.ipBlock?.except ?? [];
  for (const block of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]) expect(except).toContain(block);
}

interface NetpolSpec {
  podSelector: unknown;
  policyTypes: string[];
  ingress?: { from?: unknown[]; ports?: unknown[] }[];
  egress?: { to?: { ipBlock?: { cidr: string; except?: string[] } }[]; ports?: unknown[] }[];
}

/** Role and ClusterRole exactly as components/workload/sandbox-pool.ts defines them, and what they grant. */
export function checkRbac(e: Expected): void {
  const a = agentsNs(e);
  const s = sandboxNs(e);
  const norm = (rules: unknown) => JSON.parse(JSON.stringify(rules)) as unknown;
  const role = get("role", s, "sandbox-manager");
  expect(role["rules"]).toEqual(norm(SANDBOX_MANAGER_ROLE_RULES));
  const clusterRole = get("clusterrole", "", `${e.prefix}-sandbox-manager`);
  expect(clusterRole["rules"]).toEqual(norm(SANDBOX_MANAGER_CLUSTER_RULES));
  const subjects = [{ kind: "ServiceAccount", name: "sandbox-manager", namespace: a }];
  const rb = get("rolebinding", s, "sandbox-manager");
  expect(rb["subjects"]).toEqual(subjects);
  expect(rb["roleRef"]).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "sandbox-manager" });
  const agentPods = get("role", a, "sandbox-manager-agent-pods");
  expect(agentPods["rules"]).toEqual(norm(SANDBOX_MANAGER_AGENT_POD_RULES));
  const agentPodsBinding = get("rolebinding", a, "sandbox-manager-agent-pods");
  expect(agentPodsBinding["subjects"]).toEqual(subjects);
  expect(agentPodsBinding["roleRef"]).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "sandbox-manager-agent-pods" });
  const crb = get("clusterrolebinding", "", `${e.prefix}-sandbox-manager`);
  expect(crb["subjects"]).toEqual(subjects);
  expect(crb["roleRef"]).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${e.prefix}-sandbox-manager` });
  // No other Role or binding of ours.
  const ours = `app.kubernetes.io/part-of=${e.prefix}`;
  expect(list(["roles,rolebindings", "-A", "-l", ours]).map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort())
    .toEqual([`Role/${a}/sandbox-manager-agent-pods`, `Role/${s}/sandbox-manager`, `RoleBinding/${a}/sandbox-manager-agent-pods`, `RoleBinding/${s}/sandbox-manager`].sort());
  expect(list(["clusterroles,clusterrolebindings", "-l", ours]).map((o) => `${o.kind}/${o.metadata.name}`).sort())
    .toEqual([`ClusterRole/${e.prefix}-sandbox-manager`, `ClusterRoleBinding/${e.prefix}-sandbox-manager`]);
  // What the API server's authorizer makes of them, asked as the manager's ServiceAccount.
  const as = `system:serviceaccount:${a}:sandbox-manager`;
  // `pods/log` as kubectl takes it would be the pod named "log": subresources go in --subresource.
  const can = (verb: string, resource: string, ns?: string) => {
    const [res, sub] = resource.split("/");
    return kubectl(["auth", "can-i", verb, res!, ...(sub ? [`--subresource=${sub}`] : []), "--as", as, ...(ns ? ["-n", ns] : [])]).stdout.trim();
  };
  const granted: [string, string][] = [["create", "pods"], ["get", "pods"], ["watch", "pods"], ["delete", "pods"], ["delete", "services"]];
  for (const [verb, res] of granted) expect(can(verb, res, s), `${verb} ${res} in ${s}`).toBe("yes");
  // The owner reaper: agent pods read, never changed.
  for (const verb of ["get", "list"]) expect(can(verb, "pods", a), `${verb} pods in ${a}`).toBe("yes");
  const refused: [string, string, string | undefined][] = [
    ["list", "pods", s], ["patch", "pods", s], ["get", "pods/log", s], ["get", "secrets", s], ["get", "services", s], ["create", "services", s],
    ["watch", "pods", a], ["create", "pods", a], ["delete", "pods", a], ["get", "secrets", a], ["get", "nodes", undefined],
  ];
  for (const [verb, res, ns] of refused) expect(can(verb, res, ns), `${verb} ${res} in ${ns ?? "the cluster"}`).toBe("no");
  expect(can("list", "namespaces")).toBe("yes");
  // Sandbox pods' ServiceAccount: no token, no grant.
  const sandboxSa = get("serviceaccount", s, "sandbox");
  expect(sandboxSa["automountServiceAccountToken"]).toBe(false);
  expect(kubectl(["auth", "can-i", "--list", "--as", `system:serviceaccount:${s}:sandbox`, "-n", s]).stdout).not.toMatch(/^pods\s/m);
}

export function checkHpaAndPdb(e: Expected, replicas: { min: number; max: number }): void {
  const ns = agentsNs(e);
  const name = `agent-${e.agent}`;
  const hpa = get("hpa", ns, name);
  expect(hpa["spec"]).toMatchObject({ minReplicas: replicas.min, maxReplicas: replicas.max, scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name } });
  const pdb = get("pdb", ns, name);
  expect(pdb["spec"]).toMatchObject({ maxUnavailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": "agentscope-agent", "app.kubernetes.io/instance": `${e.prefix}-${e.agent}` } } });
  // The disruption controller counts the agent's pods under it.
  expect((pdb["status"] as { expectedPods?: number }).expectedPods).toBe(replicas.min);
  // One manager replica: no PDB for it (it would block every drain).
  expect(list(["pdb", "-n", ns]).map((p) => p.metadata.name)).toEqual([name]);
}

/** Where the pods landed: ACS pods on the virtual node with the ACS labels, the rest on the ordinary node. */
export function checkPlacement(e: Expected): void {
  const ns = agentsNs(e);
  const pods = list(["pods", "-n", ns]).filter((p) => !p.metadata.deletionTimestamp);
  const role = (p: K8sObject) => p.metadata.labels?.["app.kubernetes.io/name"];
  const others = ["redis", "sandbox-manager", ...(e.standInModel ? ["stand-in-model"] : [])];
  expect(pods.map(role).sort()).toEqual([...Array<string>(pods.length - others.length).fill("agentscope-agent"), ...others].sort());
  for (const p of pods) {
    const spec = p["spec"] as PodSpec;
    const labels = p.metadata.labels ?? {};
    const acsPod = e.acs; // in-cluster Redis too: on ACS with the other pods (components/workload/workloads.ts)
    const where = `${role(p)} pod ${p.metadata.name}`;
    expect(condition(p as Obj, "Ready"), where).toBe("True");
    if (acsPod) {
      expect(spec.nodeName, where).toBe(VIRTUAL_NODE);
      expect(labels, where).toMatchObject({ "alibabacloud.com/acs": "true", "alibabacloud.com/compute-class": "general-purpose", "alibabacloud.com/compute-qos": "default" });
      expect(p.metadata.annotations?.["alibabacloud.com/enable-network-policy-agent"], where).toBe("true");
      expect(spec.tolerations, where).toContainEqual(VIRTUAL_NODE_TOLERATION);
    } else {
      expect(spec.nodeName, where).toBe(ORDINARY_NODE);
      expect(Object.keys(labels).filter((k) => k.startsWith("alibabacloud.com/")), where).toEqual([]);
      expect((spec.tolerations ?? []).filter((t) => t.key === VIRTUAL_NODE_TOLERATION.key), where).toEqual([]);
    }
  }
  // What the manager applies to the sandbox pods it makes.
  const ext = get("configmap", ns, "sandbox-manager-extension");
  const settings = JSON.parse(ext.data!["sandbox-pods.json"]!) as { labels: Record<string, string>; tolerations: unknown[]; imagePullSecrets: unknown[] };
  if (e.acs) {
    expect(settings.labels["alibabacloud.com/acs"]).toBe("true");
    expect(settings.tolerations).toContainEqual(VIRTUAL_NODE_TOLERATION);
  } else {
    expect(Object.keys(settings.labels).filter((k) => k.startsWith("alibabacloud.com/"))).toEqual([]);
    expect(settings.tolerations).toEqual([]);
  }
  expect(settings.imagePullSecrets).toEqual([{ name: "registry-pull" }]);
  // The gateway container serves the port the NetworkPolicy opens.
  const agentPod = pods.find((p) => role(p) === "agentscope-agent")!;
  const gateway = (agentPod["spec"] as PodSpec).containers.find((c) => c.name === "gateway");
  expect(gateway?.ports?.[0]?.containerPort).toBe(GATEWAY_PORT);
}

/** Every object with our part-of label, or in our namespaces, or a volume bound to a claim there. */
export function leftovers(e: Expected): string[] {
  const namespaces = new Set([agentsNs(e), sandboxNs(e)]);
  return allObjects((o) => {
    if (o.metadata.labels?.["app.kubernetes.io/part-of"] === e.prefix) return true;
    if (o.metadata.namespace && namespaces.has(o.metadata.namespace)) return true;
    if (o.kind === "Namespace" && namespaces.has(o.metadata.name)) return true;
    const claim = (o["spec"] as { claimRef?: { namespace?: string } } | undefined)?.claimRef;
    // Bound, not Released: the real node's static local volumes are kept (Retain) after their claim goes.
    const phase = (o["status"] as { phase?: string } | undefined)?.phase;
    return o.kind === "PersistentVolume" && phase !== "Released" && !!claim?.namespace && namespaces.has(claim.namespace);
  }).map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
}

/** Kind, name and uid of every object in the cluster (but Events and Leases, which come and go by themselves). */
export function snapshot(): string[] {
  return allObjects((o) => !["Event", "Lease"].includes(o.kind))
    .map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name} ${o.metadata.uid}`)
    .sort();
}
