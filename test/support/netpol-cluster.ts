/**
 * Builds the evaluator's cluster model (test/support/netpol.ts) from what a program rendered under
 * mocks: every NetworkPolicy, every Namespace, one pod per Deployment/StatefulSet (its template's
 * labels and container ports), and sandbox pods as runtime-sandbox-server creates them at run time.
 */
import { z } from "zod";
import type { K8sObject } from "./mocks";
import { unwrapSecrets } from "./mocks";
import type { Cluster, ContainerPort, Labels, NetworkPolicy, PodEndpoint } from "./netpol";
import { parseNetworkPolicy } from "./netpol";

const labels = z.record(z.string(), z.string());

const namespaceSchema = z.object({ metadata: z.object({ name: z.string().min(1), labels: labels.optional() }) });

const containerSchema = z.object({
  ports: z
    .array(z.object({ name: z.string().optional(), containerPort: z.number().int(), protocol: z.enum(["TCP", "UDP", "SCTP"]).optional() }))
    .optional(),
});
const workloadSchema = z.object({
  metadata: z.object({ name: z.string().min(1), namespace: z.string().min(1) }),
  spec: z.object({
    template: z.object({
      metadata: z.object({ labels }),
      spec: z.object({ containers: z.array(containerSchema).min(1) }),
    }),
  }),
});

const sandboxSettingsSchema = z.object({ labels });
const workspaceSettingsSchema = z.object({ namespace: z.string().min(1), labels });
const managerEnvSecretSchema = z.object({ stringData: z.record(z.string(), z.string()) });

const POD_KINDS = new Set(["Deployment", "StatefulSet"]);

export function renderedNamespaces(objects: readonly K8sObject[]): Record<string, Labels> {
  return Object.fromEntries(
    objects.filter((o) => o.kind === "Namespace").map((o) => {
      const ns = namespaceSchema.parse(o);
      return [ns.metadata.name, ns.metadata.labels ?? {}];
    }),
  );
}

export function renderedPolicies(objects: readonly K8sObject[]): NetworkPolicy[] {
  return objects.filter((o) => o.kind === "NetworkPolicy").map((o) => parseNetworkPolicy(o));
}

/** One pod per workload, keyed by `metadata.name`; `ipFor` hands out pod addresses. */
export function renderedWorkloadPods(objects: readonly K8sObject[], ipFor: (name: string) => string): Map<string, PodEndpoint> {
  const pods = new Map<string, PodEndpoint>();
  for (const o of objects.filter((x) => POD_KINDS.has(x.kind))) {
    const w = workloadSchema.parse(o);
    const ports: ContainerPort[] = w.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
    pods.set(w.metadata.name, {
      kind: "pod",
      name: w.metadata.name,
      namespace: w.metadata.namespace,
      labels: w.spec.template.metadata.labels,
      ip: ipFor(w.metadata.name),
      ports,
    });
  }
  return pods;
}

/** Value of `key` in a python-dotenv file of `KEY='value'` lines (the manager's config). */
export function dotenvValue(text: string, key: string): string | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${key}=`));
  if (line === undefined) return undefined;
  const raw = line.slice(key.length + 1);
  return raw.startsWith("'") && raw.endsWith("'") ? raw.slice(1, -1).replace(/\\(['\\])/g, "$1") : raw;
}

/**
 * A sandbox pod as the manager makes it: upstream's labels (`created-by`, `app: <pod name>`,
 * kubernetes_client.py `create`), merged with the stack's labels from the extension's settings
 * ConfigMap; in the namespace the manager's config names (`K8S_NAMESPACE`); container port 80/TCP.
 */
export function renderedSandboxPod(objects: readonly K8sObject[], podName: string, ip: string): PodEndpoint {
  const settingsMap = objects.find((o) => o.kind === "ConfigMap" && hasDataKey(o, "sandbox-pods.json"));
  const envSecret = objects.find((o) => o.kind === "Secret" && hasStringDataKey(o, "sandbox-manager.env"));
  if (settingsMap === undefined || envSecret === undefined) throw new Error("no sandbox manager settings ConfigMap or config Secret was rendered");
  const settingsJson = (settingsMap["data"] as Record<string, string>)["sandbox-pods.json"];
  const settings = sandboxSettingsSchema.parse(JSON.parse(settingsJson ?? "{}"));
  const env = managerEnvSecretSchema.parse(envSecret).stringData["sandbox-manager.env"] ?? "";
  const namespace = dotenvValue(env, "K8S_NAMESPACE");
  if (namespace === undefined) throw new Error("the manager's config sets no K8S_NAMESPACE");
  return {
    kind: "pod",
    name: podName,
    namespace,
    labels: { "created-by": "kubernetes-client", app: podName, ...settings.labels },
    ip,
    ports: [{ containerPort: 80, protocol: "TCP" }],
  };
}

/** Labels agentscope2_launcher/workspace_settings.py (UPSTREAM_LABELS) adds to every workspace pod. */
const WORKSPACE_UPSTREAM_LABELS = { "app.kubernetes.io/managed-by": "agentscope", "agentscope.workspace": "true" };

/**
 * A 2.x agent's workspace pod as its launcher makes it (workspace_settings.py `workspace_pod`): the
 * settings ConfigMap's namespace and labels, upstream's labels and the workspace id; no ports.
 */
export function renderedWorkspacePod(objects: readonly K8sObject[], settingsConfigMap: string, pod: { name: string; workspaceId: string; ip: string }): PodEndpoint {
  const map = objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === settingsConfigMap && hasDataKey(o, "workspace-pods.json"));
  if (map === undefined) throw new Error(`no workspace settings ConfigMap ${settingsConfigMap} was rendered`);
  const settings = workspaceSettingsSchema.parse(JSON.parse((map["data"] as Record<string, string>)["workspace-pods.json"] ?? "{}"));
  return {
    kind: "pod",
    name: pod.name,
    namespace: settings.namespace,
    labels: { ...settings.labels, ...WORKSPACE_UPSTREAM_LABELS, "agentscope.workspace.id": pod.workspaceId },
    ip: pod.ip,
    ports: [],
  };
}

function hasDataKey(o: K8sObject, key: string): boolean {
  const data = o["data"];
  return typeof data === "object" && data !== null && key in data;
}

function hasStringDataKey(o: K8sObject, key: string): boolean {
  const data = o["stringData"];
  return typeof data === "object" && data !== null && key in data;
}

/** The rendered namespaces and policies, plus namespaces the stack does not own (kube-system...). */
export function renderedCluster(objects: readonly K8sObject[], extraNamespaces: Record<string, Labels>): Cluster {
  return { namespaces: { ...extraNamespaces, ...renderedNamespaces(objects) }, policies: renderedPolicies(objects) };
}

/** Kubernetes objects from a whole-program run (support/program.ts), secrets unwrapped. */
export function programObjects(resources: readonly { type: string; name: string; inputs: Record<string, unknown> }[]): K8sObject[] {
  return resources
    .filter((r) => r.type.startsWith("kubernetes:") && typeof r.inputs["kind"] === "string")
    .map((r) => ({ ...(unwrapSecrets(r.inputs) as Record<string, unknown>), __pulumiName: r.name }) as K8sObject);
}
