/**
 * Runs the two Python files the components ship in ConfigMaps — the sandbox manager's k8s
 * extension and the agent's path-filtering gateway — with python3, against stand-ins for the
 * libraries they patch or import, and checks what they do.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GATEWAY_PY } from "../../components/agent-runtime";
import { SANDBOX_EXTENSION_PY, resolveSandboxPoolArgs, sandboxPodSettings } from "../../components/sandbox-pool";

/**
 * A stand-in for agentscope_runtime.common.container_clients.kubernetes_client (1.1.x) that keeps
 * the call sequence of KubernetesClient.create(): create the pod, create a Service, read its
 * address, wait for the pod, return (name, ports, ip). Upstream builds V1 models; the stand-in
 * builds the same fields as dicts, which sanitize_for_serialization would produce.
 */
const FAKE_UPSTREAM = `
import logging
logger = logging.getLogger(__name__)

class _ApiClient:
    def sanitize_for_serialization(self, body):
        return body

class _CoreV1:
    def __init__(self):
        self.api_client = _ApiClient()
        self.pods = []
        self.services = []
    def create_namespaced_pod(self, namespace, body, **kwargs):
        self.pods.append((namespace, body))
    def create_namespaced_service(self, namespace, body, **kwargs):
        self.services.append((namespace, body))

class KubernetesClient:
    def __init__(self, config=None, image_registry=None):
        self.namespace = config["k8s_namespace"]
        self.v1 = _CoreV1()
        self.waited = []
    def _create_multi_port_service(self, pod_name, port_list):
        raise AssertionError("upstream NodePort Service must not be used")
    def _get_service_node_ports(self, pod_name):
        raise AssertionError("upstream node address lookup must not be used")
    def wait_for_pod_ready(self, container_id, timeout=300):
        self.waited.append(timeout)
        return True
    def create(self, image, name=None, ports=None, volumes=None, environment=None, runtime_config=None):
        volumes_spec = [{"name": "vol-%d" % i, "hostPath": {"path": p}} for i, p in enumerate(volumes or {})]
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": self.namespace, "labels": {"created-by": "kubernetes-client", "app": name}},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": name, "image": image, "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                "env": [{"name": k, "value": v} for k, v in (environment or {}).items()]}],
            },
        }
        if volumes_spec:
            pod["spec"]["volumes"] = volumes_spec
        self.v1.create_namespaced_pod(namespace=self.namespace, body=pod)
        exposed, ip = [], "localhost"
        if self._create_multi_port_service(name, [{"port": 80, "protocol": "TCP"}]):
            exposed, ip = self._get_service_node_ports(name)
        if not self.wait_for_pod_ready(name, timeout=60):
            return None, None, None
        return name, exposed, ip
`;

function python(script: string, dir: string, env: Record<string, string> = {}): string {
  return execFileSync("python3", ["-c", script], { cwd: dir, env: { ...process.env, PYTHONPATH: dir, PYTHONDONTWRITEBYTECODE: "1", ...env }, encoding: "utf-8", stdio: ["ignore", "pipe", "pipe"] });
}

function extensionSandbox(isolation: Parameters<typeof resolveSandboxPoolArgs>[0]["isolation"]) {
  const dir = mkdtempSync(join(tmpdir(), "sandbox-ext-"));
  const pkg = join(dir, "agentscope_runtime", "common", "container_clients");
  mkdirSync(pkg, { recursive: true });
  for (const d of [join(dir, "agentscope_runtime"), join(dir, "agentscope_runtime", "common"), pkg]) writeFileSync(join(d, "__init__.py"), "");
  writeFileSync(join(pkg, "kubernetes_client.py"), FAKE_UPSTREAM);
  const resolved = resolveSandboxPoolArgs({
    namespace: "agentscope-agents",
    sandboxNamespace: "agentscope-sandboxes",
    partOf: "agentscope",
    image: `r.example/agentscope/sandbox-manager@sha256:${"a".repeat(64)}`,
    bearerToken: "t",
    images: { registry: "acr.example", tag: "1.1.5", digests: { base: `acr.example/agentscope/runtime-sandbox-base@sha256:${"b".repeat(64)}` } },
    isolation,
  });
  writeFileSync(join(dir, "settings.json"), JSON.stringify(sandboxPodSettings(resolved, "acr.example")));
  writeFileSync(join(dir, "agentscope_k8s_pods.py"), SANDBOX_EXTENSION_PY);
  return dir;
}

/** Loads the extension the way runtime-sandbox-server's --extension does (spec_from_file_location). */
const LOAD_EXTENSION = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("agentscope_k8s_pods", "agentscope_k8s_pods.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from agentscope_runtime.common.container_clients.kubernetes_client import KubernetesClient
client = KubernetesClient(config={"k8s_namespace": "agentscope-sandboxes"})
`;

describe("sandbox manager extension (python3)", () => {
  it("creates a ClusterIP Service per sandbox and returns its DNS name on port 80", () => {
    const dir = extensionSandbox({ kind: "acs", placement: { enabled: true, computeClass: "general-purpose", computeQos: "default", imageCache: true } });
    const out = python(`${LOAD_EXTENSION}
result = client.create("acr.example/agentscope/runtime-sandbox-base:1.1.5", name="sandbox-abc", ports=["80/tcp"], environment={"SECRET_TOKEN": "x"})
print(json.dumps({"result": result, "pods": client.v1.pods, "services": client.v1.services, "waited": client.waited}))
`, dir, { AGENTSCOPE_SANDBOX_POD_SETTINGS: join(dir, "settings.json") });
    const got = JSON.parse(out) as { result: unknown[]; pods: [string, unknown][]; services: [string, unknown][]; waited: number[] };
    expect(got.result).toEqual(["sandbox-abc", [80], "sandbox-abc-service.agentscope-sandboxes.svc"]);
    expect(got.services).toHaveLength(1);
    const [ns, svc] = got.services[0]!;
    expect(ns).toBe("agentscope-sandboxes");
    expect(svc).toMatchObject({ metadata: { name: "sandbox-abc-service" }, spec: { type: "ClusterIP", selector: { app: "sandbox-abc" }, ports: [{ port: 80, targetPort: 80, protocol: "TCP" }] } });
    // The manager waits longer than upstream's 60 s for a cold ACS pod.
    expect(got.waited).toEqual([180]);

    const pod = got.pods[0]![1] as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
    expect(pod.metadata.labels).toMatchObject({
      "created-by": "kubernetes-client",
      app: "sandbox-abc",
      "app.kubernetes.io/component": "sandbox",
      "alibabacloud.com/acs": "true",
      "alibabacloud.com/compute-class": "general-purpose",
    });
    expect(pod.metadata.annotations).toMatchObject({ "alibabacloud.com/enable-network-policy-agent": "true", "image.alibabacloud.com/enable-image-cache": "true" });
    expect(pod.spec).toMatchObject({
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      serviceAccountName: "sandbox",
      tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Equal", value: "alibabacloud", effect: "NoSchedule" }],
      securityContext: { seccompProfile: { type: "RuntimeDefault" } },
    });
    expect(pod.spec["runtimeClassName"]).toBeUndefined();
    const c = pod.spec.containers[0]!;
    expect(c["image"]).toBe(`acr.example/agentscope/runtime-sandbox-base@sha256:${"b".repeat(64)}`);
    expect(c["resources"]).toEqual({ requests: { cpu: "1000m", memory: "2048Mi" }, limits: { cpu: "1000m", memory: "2048Mi" } });
    expect(c["securityContext"]).toMatchObject({ allowPrivilegeEscalation: false, privileged: false });
    expect(c["env"]).toEqual([{ name: "SECRET_TOKEN", value: "x" }]);
  });

  it("sets the runtime class for runtime-class isolation and leaves ACS out", () => {
    const dir = extensionSandbox({ kind: "runtime-class", runtimeClassName: "runv" });
    const out = python(`${LOAD_EXTENSION}
client.create("acr.example/agentscope/runtime-sandbox-browser:1.1.5", name="sandbox-b", ports=["80/tcp"])
print(json.dumps(client.v1.pods[0][1]))
`, dir, { AGENTSCOPE_SANDBOX_POD_SETTINGS: join(dir, "settings.json") });
    const pod = JSON.parse(out) as { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
    expect(pod.spec["runtimeClassName"]).toBe("runv");
    expect(Object.keys(pod.metadata.labels).filter((k) => k.startsWith("alibabacloud.com/"))).toEqual([]);
    expect(pod.spec["tolerations"]).toBeUndefined();
    // No digest configured for browser: the tag stays.
    expect(pod.spec.containers[0]!["image"]).toBe("acr.example/agentscope/runtime-sandbox-browser:1.1.5");
  });

  it("refuses a hostPath volume", () => {
    const dir = extensionSandbox({ kind: "none" });
    const out = python(`${LOAD_EXTENSION}
try:
    client.create("img", name="sandbox-h", ports=["80/tcp"], volumes={"/var/lib/x": {"bind": "/workspace"}})
    print("created")
except ValueError as error:
    print("refused:", error)
`, dir, { AGENTSCOPE_SANDBOX_POD_SETTINGS: join(dir, "settings.json") });
    expect(out).toMatch(/^refused: hostPath volume 'vol-0' refused/);
  });

  it("fails loudly when the upstream client no longer has the methods it patches", () => {
    const dir = extensionSandbox({ kind: "none" });
    writeFileSync(join(dir, "agentscope_runtime", "common", "container_clients", "kubernetes_client.py"), "class KubernetesClient:\n    pass\n");
    expect(() => python(LOAD_EXTENSION, dir, { AGENTSCOPE_SANDBOX_POD_SETTINGS: join(dir, "settings.json") })).toThrow(/agentscope-runtime changed/);
  });
});

describe("agent gateway (python3)", () => {
  const dir = mkdtempSync(join(tmpdir(), "gateway-"));
  // Stand-ins: refusal() needs neither library; the module imports both at load.
  writeFileSync(join(dir, "httpx.py"), "class AsyncClient:\n    def __init__(self, **kw): pass\nclass Timeout:\n    def __init__(self, *a, **kw): pass\nclass HTTPError(Exception): pass\n");
  writeFileSync(join(dir, "uvicorn.py"), "def run(*a, **kw): raise AssertionError('not in tests')\n");
  writeFileSync(join(dir, "gateway.py"), GATEWAY_PY);

  it.each([
    ["/process", null],
    ["/health", null],
    ["/", null],
    ["/process/", null],
    ["/tasks/abc", null],
    ["/shutdown", 404],
    ["/SHUTDOWN", 404],
    ["/shutdown/", 404],
    ["/admin/status", 404],
    ["/admin/shutdown", 404],
    ["/admin", 404],
    ["/Admin/Status", 404],
    ["//admin/status", 400],
    ["/x/../admin/status", 400],
    ["/./admin", 400],
    ["/admin%2fstatus", 400],
    ["relative", 400],
    ["/administrator", null],
  ] as const)("%s -> %s", (path, status) => {
    const out = python(`import json, gateway\nprint(json.dumps(gateway.refusal(${JSON.stringify(path)})))`, dir);
    expect(JSON.parse(out)).toBe(status);
  });
});
