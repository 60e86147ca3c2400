/**
 * The sandbox manager's k8s extension against the REAL upstream code: agentscope-runtime's
 * KubernetesClient at the version the sandbox-manager image locks
 * (agent-image/requirements-sandbox-manager.txt), with the real `kubernetes` client models, and
 * only the API server faked. It checks the extension end to end (create, status, remove) and
 * records every Kubernetes API call the manager makes, which is what the RBAC Role grants.
 *
 * Needs PyPI: the first run makes a virtualenv at .venv/sandbox-extension from the lock's hashes.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  SANDBOX_MANAGER_CLUSTER_RULES,
  SANDBOX_MANAGER_ROLE_RULES,
  SANDBOX_PORT,
  renderManagerEnv,
  resolveSandboxPoolArgs,
  sandboxPodSettings,
} from "../../components/workload/sandbox-pool";
import { REPO, lockedVenv } from "../support/python-venv";

const AGENT_IMAGE_DIR = join(REPO, "agent-image");

/** kubernetes with its whole locked closure; the runtime without deps (only two of its modules load). */
const VENV = {
  name: "sandbox-extension",
  lockFile: "agent-image/requirements-sandbox-manager.txt",
  packages: [
    "kubernetes", "certifi", "python-dateutil", "six", "PyYAML", "websocket-client", "requests", "requests-oauthlib", "oauthlib",
    "urllib3", "idna", "charset-normalizer", "durationpy", "aiohttp", "aiohttp-retry", "aiohappyeyeballs", "aiosignal", "attrs",
    "frozenlist", "multidict", "propcache", "yarl", "typing-extensions", "pydantic", "pydantic-core", "annotated-types", "typing-inspection",
  ],
  noDeps: ["agentscope-runtime", "pydantic-settings", "python-dotenv"],
};
let PYTHON = "";

/**
 * Fakes the API server only: CoreV1Api records calls and answers like a cluster whose pods start at
 * once. The pod watch goes through the real client over HTTP to a loopback server that speaks the
 * watch protocol (kubernetes.io/docs/reference/using-api/api-concepts: one JSON event per line of a
 * chunked response; without resourceVersion, the pod's current state first), Pending then ready.
 */
const DRIVER = `
import functools, importlib.util, json, sys, threading, types, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from kubernetes import client as k8s_client, config as k8s_config
from kubernetes.client.rest import ApiException

calls = []
store = {"pods": {}, "services": {}}
watches = []

class WatchServer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        watches.append({"path": url.path, "query": q})
        name = q["fieldSelector"][0].split("=", 1)[1]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        def pod(phase, ready, rv):
            return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": url.path.split("/")[4], "resourceVersion": rv},
                    "status": {"phase": phase, "podIP": "10.0.0.7", "containerStatuses": [{"name": name, "ready": ready, "image": "x", "imageID": "x", "restartCount": 0}]}}
        for kind, obj in (("ADDED", pod("Pending", False, "10")), ("MODIFIED", pod("Running", False, "11")), ("MODIFIED", pod("Running", True, "12"))):
            line = (json.dumps({"type": kind, "object": obj}) + "\\n").encode()
            self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(line), line))
            self.wfile.flush()
        self.wfile.write(b"0\\r\\n\\r\\n")
    def log_message(self, *a):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), WatchServer)
threading.Thread(target=server.serve_forever, daemon=True).start()
watch_config = k8s_client.Configuration()
watch_config.host = "http://127.0.0.1:%d" % server.server_address[1]
RealCoreV1 = k8s_client.CoreV1Api
real_v1 = RealCoreV1(k8s_client.ApiClient(watch_config))

class FakeCoreV1:
    def __init__(self, *a, **kw):
        self.api_client = k8s_client.ApiClient()
    def _record(self, verb, resource, namespace=None):
        calls.append([verb, resource, namespace])
    def list_namespace(self, **kw):
        self._record("list", "namespaces")
        return k8s_client.V1NamespaceList(items=[])
    def create_namespaced_pod(self, namespace, body, **kw):
        self._record("create", "pods", namespace)
        assert isinstance(body, dict), "the extension hands the API a serialized pod"
        store["pods"][body["metadata"]["name"]] = body
    @functools.wraps(RealCoreV1.list_namespaced_pod)  # Watch reads the return type from its docstring
    def list_namespaced_pod(self, namespace, **kw):
        self._record("watch" if kw.get("watch") else "list", "pods", namespace)
        return real_v1.list_namespaced_pod(namespace, **kw)
    def read_namespaced_pod(self, name, namespace, **kw):
        self._record("get", "pods", namespace)
        if name not in store["pods"]:
            raise ApiException(status=404, reason="Not Found")
        pod = k8s_client.V1Pod(
            metadata=k8s_client.V1ObjectMeta(name=name),
            status=k8s_client.V1PodStatus(phase="Running", container_statuses=[
                k8s_client.V1ContainerStatus(name=name, ready=True, image="x", image_id="x", restart_count=0)]))
        if kw.get("_preload_content") is False:  # the raw response, as the real client returns it
            return types.SimpleNamespace(data=json.dumps(k8s_client.ApiClient().sanitize_for_serialization(pod)).encode())
        return pod
    def delete_namespaced_pod(self, name, namespace, body=None, **kw):
        self._record("delete", "pods", namespace)
        store["pods"].pop(name, None)
    def create_namespaced_service(self, namespace, body, **kw):
        self._record("create", "services", namespace)
        store["services"][body["metadata"]["name"]] = body
    def delete_namespaced_service(self, name, namespace, **kw):
        self._record("delete", "services", namespace)
        store["services"].pop(name, None)
    def __getattr__(self, name):
        raise AssertionError("unexpected Kubernetes API call: " + name)

k8s_config.load_incluster_config = lambda *a, **kw: None
k8s_client.CoreV1Api = FakeCoreV1

# What sandbox_manager_ext.activate does first (its route guard needs the server's own app).
from sandbox_manager_ext import k8s_client as extension, pod_watch, pods
extension.install(pods.load_settings())
# The manager's probe of the pod's address (no sandbox runs here): recorded, answered at once.
probes = []
pod_watch.answers = lambda ip, port, timeout=1.0: probes.append([ip, port]) or True

from agentscope_runtime.common.container_clients.kubernetes_client import KubernetesClient

# The two fields KubernetesClient reads from SandboxManagerEnvConfig.
c = KubernetesClient(config=types.SimpleNamespace(k8s_namespace="agentscope-sandboxes", kubeconfig_path=None))
name = "sandbox-0123456789abcdefghijklmno"
# The arguments SandboxManager.create passes (sandbox_manager.py), with DEFAULT_MOUNT_DIR empty.
result = c.create("acr.example/agentscope/runtime-sandbox-base:1.1.5", name=name, ports=["80/tcp"], volumes={},
                  environment={"SECRET_TOKEN": "0123456789abcdef0123456789abcdef", "NGINX_TIMEOUT": "60"}, runtime_config={})
status = c.get_status(name)
pod = store["pods"][name]
services = dict(store["services"])
removed = c.remove(name)
server.shutdown()
print(json.dumps({"result": list(result), "status": status, "pod": pod, "services": services, "removed": removed,
                  "left": store, "calls": calls, "watches": watches, "probes": probes}))
`;

function ensureVenv(): void {
  PYTHON ||= lockedVenv(VENV);
}

/** Loads the manager's own Settings (sandbox/manager/server/config.py) by path and reads a .env with it. */
const READ_ENV = `
import importlib.util, json, os, sys
import agentscope_runtime
path = os.path.join(agentscope_runtime.__path__[0], "sandbox", "manager", "server", "config.py")
spec = importlib.util.spec_from_file_location("manager_config", path)
config = importlib.util.module_from_spec(spec)
spec.loader.exec_module(config)
s = config.get_settings(sys.argv[1])
print(json.dumps({k: getattr(s, k) for k in sys.argv[2:]}))
`;

interface DriverOutput {
  result: unknown[];
  status: string;
  pod: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
  services: Record<string, unknown>;
  probes: [string, number][];
  removed: boolean;
  left: { pods: Record<string, unknown>; services: Record<string, unknown> };
  calls: [string, string, string | null][];
  watches: { path: string; query: Record<string, string[]> }[];
}

describe("sandbox manager extension on the real agentscope-runtime KubernetesClient", () => {
  let out: DriverOutput;
  beforeAll(() => {
    ensureVenv();
    const dir = mkdtempSync(join(tmpdir(), "sandbox-upstream-"));
    const r = resolveSandboxPoolArgs({
      namespace: "agentscope-agents",
      sandboxNamespace: "agentscope-sandboxes",
      partOf: "agentscope",
      image: `acr.example/agentscope/sandbox-manager@sha256:${"a".repeat(64)}`,
      bearerToken: "t",
      images: { registry: "acr.example", tag: "1.1.5" },
      isolation: { kind: "acs", placement: { enabled: true, computeClass: "general-purpose", computeQos: "default", imageCache: false } },
    });
    writeFileSync(join(dir, "settings.json"), JSON.stringify(sandboxPodSettings(r, "acr.example")));
    writeFileSync(join(dir, "driver.py"), DRIVER);
    const text = execFileSync(PYTHON, [join(dir, "driver.py")], {
      cwd: dir,
      env: { ...process.env, AGENTSCOPE_SANDBOX_POD_SETTINGS: join(dir, "settings.json"), PYTHONDONTWRITEBYTECODE: "1", PYTHONPATH: AGENT_IMAGE_DIR },
      encoding: "utf-8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    out = JSON.parse(text.trim().split("\n").pop()!) as DriverOutput;
  }, 1_200_000);

  it("creates the sandbox without a Service and returns the pod's IP and our image's port, once the server answers there", () => {
    expect(out.result).toEqual(["sandbox-0123456789abcdefghijklmno", [SANDBOX_PORT], "10.0.0.7"]);
    expect(out.status).toBe("running");
    expect(out.services).toEqual({});
    expect(out.probes).toEqual([["10.0.0.7", SANDBOX_PORT]]);
    expect(out.removed).toBe(true);
    expect(out.left).toEqual({ pods: {}, services: {} });
  });

  it("waits for the pod with a watch on that one pod, over the real client", () => {
    expect(out.watches).toHaveLength(1);
    expect(out.watches[0]!.path).toBe("/api/v1/namespaces/agentscope-sandboxes/pods");
    expect(out.watches[0]!.query).toMatchObject({ watch: ["true"], fieldSelector: ["metadata.name=sandbox-0123456789abcdefghijklmno"] });
    expect(out.calls.filter(([verb]) => verb === "watch")).toEqual([["watch", "pods", "agentscope-sandboxes"]]);
  });

  it("applies ACS placement and PSA-restricted hardening to the pod upstream builds", () => {
    expect(out.pod.metadata.labels).toMatchObject({ "created-by": "kubernetes-client", "alibabacloud.com/acs": "true", "app.kubernetes.io/component": "sandbox" });
    expect(out.pod.spec).toMatchObject({ restartPolicy: "Never", automountServiceAccountToken: false, serviceAccountName: "sandbox", enableServiceLinks: false });
    // Only the writable /tmp: never a hostPath.
    expect(out.pod.spec["volumes"]).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }]);
    expect(out.pod.spec["securityContext"]).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } });
    const c = out.pod.spec.containers[0]!;
    expect(c["securityContext"]).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(c["volumeMounts"]).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(c["readinessProbe"]).toMatchObject({ httpGet: { path: "/healthz", port: SANDBOX_PORT } });
    expect(c["image"]).toBe("acr.example/agentscope/runtime-sandbox-base:1.1.5");
    expect(c["resources"]).toEqual({ requests: { cpu: "1000m", memory: "2048Mi" }, limits: { cpu: "1000m", memory: "2048Mi" } });
    expect(c["ports"]).toEqual([{ containerPort: SANDBOX_PORT, protocol: "TCP" }]);
  });

  it("makes only the API calls the Role and ClusterRole grant", () => {
    const granted = new Set<string>();
    for (const rule of [...SANDBOX_MANAGER_ROLE_RULES, ...SANDBOX_MANAGER_CLUSTER_RULES]) {
      for (const res of rule.resources as string[]) for (const verb of rule.verbs as string[]) granted.add(`${verb} ${res}`);
    }
    const used = new Set(out.calls.map(([verb, res]) => `${verb} ${res}`));
    expect([...used].sort()).toEqual([...granted].sort());
    expect(out.calls.filter(([, res, ns]) => res !== "namespaces" && ns !== "agentscope-sandboxes")).toEqual([]);
  });
});

describe("the manager's .env read by runtime-sandbox-server's own Settings", () => {
  it("reads back every value literally, quotes and all", () => {
    ensureVenv();
    const dir = mkdtempSync(join(tmpdir(), "manager-env-"));
    const r = resolveSandboxPoolArgs({
      namespace: "agentscope-agents",
      sandboxNamespace: "agentscope-sandboxes",
      partOf: "agentscope",
      image: `acr.example/agentscope/sandbox-manager@sha256:${"a".repeat(64)}`,
      bearerToken: "unused",
      sandboxTypes: ["base", "browser"],
      poolSize: 2,
      redis: { host: "unused", port: 6379, password: "unused" },
      images: { registry: "acr.example", tag: "1.1.5" },
      isolation: { kind: "none" },
    });
    const token = "tok'en\\x #1 \"q\"";
    const password = "pa ss#word'";
    writeFileSync(join(dir, "manager.env"), renderManagerEnv(r, { bearerToken: token, registry: "acr.example", redis: { host: "redis.agentscope-agents.svc.cluster.local", port: 6379, password } }));
    const keys = ["HOST", "PORT", "WORKERS", "BEARER_TOKEN", "DEFAULT_SANDBOX_TYPE", "POOL_SIZE", "CONTAINER_DEPLOYMENT", "DEFAULT_MOUNT_DIR", "ALLOW_MOUNT_DIR", "K8S_NAMESPACE", "REDIS_ENABLED", "REDIS_SERVER", "REDIS_PORT", "REDIS_DB", "REDIS_PASSWORD", "REDIS_USER", "CONTAINER_PREFIX_KEY", "MAX_SANDBOX_INSTANCES", "RELEASE_KET_TTL"];
    const text = execFileSync(PYTHON, ["-c", READ_ENV, join(dir, "manager.env"), ...keys], { cwd: dir, encoding: "utf-8", stdio: ["ignore", "pipe", "pipe"] });
    expect(JSON.parse(text)).toEqual({
      HOST: "0.0.0.0",
      PORT: 8000,
      WORKERS: 1,
      BEARER_TOKEN: token,
      DEFAULT_SANDBOX_TYPE: ["base", "browser"],
      POOL_SIZE: 2,
      CONTAINER_DEPLOYMENT: "k8s",
      DEFAULT_MOUNT_DIR: "",
      ALLOW_MOUNT_DIR: false,
      K8S_NAMESPACE: "agentscope-sandboxes",
      REDIS_ENABLED: true,
      REDIS_SERVER: "redis.agentscope-agents.svc.cluster.local",
      REDIS_PORT: 6379,
      REDIS_DB: 1,
      REDIS_PASSWORD: password,
      REDIS_USER: null,
      CONTAINER_PREFIX_KEY: "sandbox-",
      MAX_SANDBOX_INSTANCES: 50,
      RELEASE_KET_TTL: 600,
    });
  }, 1_200_000);
});
