"""agent-image/sandbox_manager_ext: the sandbox manager's k8s extension, as
plain functions (pods), wired into a stand-in with upstream's KubernetesClient
method names (k8s_client; test/workload/sandbox-extension-upstream.test.ts
runs it on the real one), and the route guard on a real ASGI app (routes)."""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from conftest import AGENT_DIR

sys.path.insert(0, str(AGENT_DIR))

from sandbox_manager_ext import k8s_client, pods, routes  # noqa: E402

SETTINGS: dict[str, Any] = {
    "labels": {"app.kubernetes.io/component": "sandbox"},
    "annotations": {"example.com/a": "1"},
    "serviceAccountName": "sandbox",
    "runtimeClassName": "gvisor",
    "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
    "resources": {"requests": {"cpu": "1000m"}, "limits": {"cpu": "1000m"}},
    "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 10001},
    "containerSecurityContext": {"readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
    "imagePullSecrets": [{"name": "acr"}],
    "images": {"r/agentscope/runtime-sandbox-base:1": "r/agentscope/runtime-sandbox-base@sha256:" + "b" * 64},
    "podReadyTimeoutSeconds": 180,
    "ports": {"80": 8090},
    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8090}},
}


def upstream_pod(token: str | None = "0123456789abcdef0123456789abcdef", volumes: list[Any] | None = None) -> dict[str, Any]:
    """The pod KubernetesClient._create_pod_spec builds for SandboxManager.create, serialized."""
    env = [{"name": "SECRET_TOKEN", "value": token}] if token is not None else []
    pod: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "sandbox-x", "labels": {"created-by": "kubernetes-client", "app": "sandbox-x"}},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "sandbox-x", "image": "r/agentscope/runtime-sandbox-base:1",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "env": env + [{"name": "NGINX_TIMEOUT", "value": "60"}],
        }]},
    }
    if volumes:
        pod["spec"]["volumes"] = volumes
    return pod


def test_settings_load_from_the_file_the_env_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SETTINGS))
    monkeypatch.setenv(pods.SETTINGS_ENV, str(path))
    assert pods.load_settings() == SETTINGS
    path.write_text("[1]")
    with pytest.raises(ValueError, match="JSON object"):
        pods.load_settings()


def test_harden_pod_applies_placement_security_port_and_tmp() -> None:
    original = upstream_pod()
    pod = pods.harden_pod(original, SETTINGS)
    assert original["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]  # a copy
    assert pod["metadata"]["labels"] == {"created-by": "kubernetes-client", "app": "sandbox-x",
                                         "app.kubernetes.io/component": "sandbox"}
    assert pod["metadata"]["annotations"] == {"example.com/a": "1",
                                              pods.SETTINGS_DIGEST_ANNOTATION: pods.settings_digest(SETTINGS)}
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
    assert spec["serviceAccountName"] == "sandbox" and spec["runtimeClassName"] == "gvisor"
    assert spec["tolerations"] == SETTINGS["tolerations"]
    assert spec["imagePullSecrets"] == [{"name": "acr"}]
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001}
    assert spec["volumes"] == SETTINGS["volumes"]
    c = spec["containers"][0]
    assert c["image"].endswith("@sha256:" + "b" * 64)
    assert c["ports"] == [{"containerPort": 8090, "protocol": "TCP"}]
    assert c["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert c["readinessProbe"] == SETTINGS["readinessProbe"]
    assert c["securityContext"] == SETTINGS["containerSecurityContext"]
    assert c["resources"] == SETTINGS["resources"]


def test_the_settings_digest_changes_with_what_shapes_a_sandbox_and_not_with_key_order() -> None:
    digest = pods.settings_digest(SETTINGS)
    assert pods.settings_digest(dict(reversed(list(SETTINGS.items())))) == digest
    for change in ({"images": {"x": "y@sha256:" + "c" * 64}}, {"resources": {"limits": {"cpu": "2"}}},
                   {"env": [{"name": "HTTPS_PROXY", "value": "http://p:3128"}]}):
        assert pods.settings_digest({**SETTINGS, **change}) != digest


@pytest.mark.parametrize("token", [None, "", "secret_token123"])
def test_harden_pod_refuses_a_pod_without_its_own_token(token: str | None) -> None:
    with pytest.raises(ValueError, match="SECRET_TOKEN"):
        pods.harden_pod(upstream_pod(token), SETTINGS)


def test_harden_pod_sets_the_egress_proxy_env_replacing_same_names() -> None:
    proxy = [{"name": "HTTPS_PROXY", "value": "http://10.96.0.9:3128"}, {"name": "NO_PROXY", "value": "localhost"}]
    original = upstream_pod()
    original["spec"]["containers"][0]["env"].append({"name": "HTTPS_PROXY", "value": "http://elsewhere:1"})
    env = pods.harden_pod(original, {**SETTINGS, "env": proxy})["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["SECRET_TOKEN", "NGINX_TIMEOUT", "HTTPS_PROXY", "NO_PROXY"]
    assert env[-2:] == proxy
    # Without env in the settings (egress internet or none) the container's env is left as it was.
    assert pods.harden_pod(upstream_pod(), SETTINGS)["spec"]["containers"][0]["env"] == upstream_pod()["spec"]["containers"][0]["env"]


def test_harden_pod_refuses_host_paths() -> None:
    with pytest.raises(ValueError, match="hostPath"):
        pods.harden_pod(upstream_pod(volumes=[{"name": "vol-0", "hostPath": {"path": "/srv"}}]), SETTINGS)


def test_mapped_port_maps_upstreams_80_only() -> None:
    assert pods.mapped_port(80, SETTINGS) == 8090
    assert pods.mapped_port(9000, SETTINGS) == 9000  # unmapped ports stay


class FakeV1:
    def __init__(self) -> None:
        self.pods: list[Any] = []
        self.services: list[Any] = []
        self.api_client = self
        self.owner: Any = None

    @staticmethod
    def sanitize_for_serialization(body: Any) -> Any:
        return body

    def create_namespaced_pod(self, namespace: str, body: Any) -> None:
        self.pods.append((namespace, body))

    def create_namespaced_service(self, namespace: str, body: Any) -> None:
        raise AssertionError("sandboxes have no Service")

    def read_namespaced_pod(self, name: str, namespace: str, _preload_content: bool = True) -> Any:
        """The raw response (what `_preload_content=False` returns): its bytes in `.data`."""
        assert _preload_content is False, "read as JSON, not as V1Pod models"
        self.owner.reads += 1
        if name == "gone":
            raise ApiError(404)
        return SimpleNamespace(data=json.dumps({"metadata": {"name": name}, "status": {"phase": "Running"}}).encode())


class ApiError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status, self.reason = status, "Not Found"


class StandIn:
    """The methods of upstream's KubernetesClient the extension replaces or calls."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.v1 = FakeV1()
        self.v1.owner = self
        self.removed: list[tuple[str, bool]] = []

    def create(self, image: str, name: str | None = None, ports: list[str] | None = None, **kwargs: Any) -> Any:
        """Upstream's create in its order: pod, the ports' Service and address, the wait (kubernetes_client.py)."""
        assert name is not None
        self.v1.create_namespaced_pod(namespace=self.namespace, body=upstream_pod())
        host, exposed = "localhost", []
        if ports and self._create_multi_port_service(name, [{"port": 80, "protocol": "TCP"}]):
            exposed, host = self._get_service_node_ports(name)
        if not self.wait_for_pod_ready(name, timeout=60):
            return None, None, None
        return name, exposed, host

    def _create_multi_port_service(self, pod_name: str, port_list: list[Any]) -> bool:
        raise AssertionError("replaced by the extension")

    def _get_service_node_ports(self, pod_name: str) -> Any:
        raise AssertionError("replaced by the extension")

    ready = True

    def wait_for_pod_ready(self, container_id: str, timeout: int = 300) -> bool:
        raise AssertionError("replaced by the extension")

    def remove(self, container_id: str, force: bool = False) -> bool:
        self.removed.append((container_id, force))
        return True

    def stop(self, container_id: str, timeout: Any = None) -> bool:
        raise AssertionError("replaced by the extension")

    reads = 0

    def inspect(self, container_id: str) -> Any:  # upstream: read_namespaced_pod(...).to_dict(), None on 404
        raise AssertionError("replaced by the extension")

    def get_status(self, container_id: str) -> Any:  # upstream's, verbatim in shape: phase of inspect()
        info = self.inspect(container_id)
        return info["status"]["phase"].lower() if info else None


@pytest.fixture(autouse=True)
def pod_waits(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int, float]]:
    """k8s_client's pod_watch.wait_until_serving, recorded; StandIn.ready is whether the pod's
    server answered (at 10.0.0.5 or StandIn.ip)."""
    waits: list[tuple[str, str, int, float]] = []

    def wait(v1: Any, namespace: str, name: str, port: int, timeout: float) -> str | None:
        waits.append((namespace, name, port, timeout))
        return getattr(v1.owner, "ip", "10.0.0.5") if v1.owner.ready else None

    monkeypatch.setattr(k8s_client, "wait_until_serving", wait)
    return waits


def test_install_wires_pods_and_pod_ip_addressing_into_the_client(pod_waits: list[Any]) -> None:
    cls = type("Client", (StandIn,), {})
    k8s_client.install(SETTINGS, cls)
    k8s_client.install(SETTINGS, cls)  # idempotent
    c = cls("sbx")
    # What SandboxManager stores as the sandbox URL: http://<host>:<port>, the pod's own IP and our image's port.
    assert c.create("img", name="sandbox-x", ports=["80/tcp"]) == ("sandbox-x", [8090], "10.0.0.5")
    assert c.v1.pods[0][1]["spec"]["containers"][0]["ports"] == [{"containerPort": 8090, "protocol": "TCP"}]
    assert c.v1.services == []  # no Service
    assert pod_waits == [("sbx", "sandbox-x", 8090, 180)]  # probed on the image's port, the stack's pod timeout
    assert c._agentscope_ports == {} and c._agentscope_ips == {}  # nothing kept once create returned
    v6 = cls("sbx")
    v6.ip = "fd00::5"
    assert v6.create("img", name="sandbox-y", ports=["80/tcp"])[2] == "[fd00::5]"


def test_a_sandbox_that_never_becomes_ready_is_removed_not_forgotten() -> None:
    cls = type("Client", (StandIn,), {"ready": False})
    k8s_client.install(SETTINGS, cls)
    c = cls("sbx")
    assert c.create("img", name="sandbox-stuck", ports=["80/tcp"]) == (None, None, None)
    assert c.removed == [("sandbox-stuck", True)]
    assert c._agentscope_ports == {} and c._agentscope_ips == {}
    ready = cls("sbx")
    ready.ready = True
    assert ready.wait_for_pod_ready("sandbox-ok") is True and ready.removed == []


def test_the_placeholder_address_is_never_handed_out() -> None:
    cls = type("Client", (StandIn,), {})
    k8s_client.install(SETTINGS, cls)
    c = cls("sbx")
    c.wait_for_pod_ready = lambda name, timeout=300: True  # ready, but no address recorded
    assert c.create("img", name="sandbox-z", ports=["80/tcp"]) == (None, None, None)
    assert c.removed == [("sandbox-z", True)]


def test_stop_leaves_the_pod_to_remove_which_upstream_calls_next() -> None:
    cls = type("Client", (StandIn,), {})
    k8s_client.install(SETTINGS, cls)
    c = cls("sbx")
    assert c.stop("sandbox-x", timeout=1) is True and c.v1.pods == [] and c.removed == []


def test_a_pod_read_twice_in_a_row_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = type("Client", (StandIn,), {})
    k8s_client.install(SETTINGS, cls)
    c, other = cls("sbx"), cls("sbx")
    # A claim: inspect, then get_status; create: get_status twice.
    assert c.inspect("sandbox-x") and c.get_status("sandbox-x") == "running" and c.reads == 1
    assert c.get_status("sandbox-y") == "running" and c.get_status("sandbox-y") == "running" and c.reads == 2
    assert other.get_status("sandbox-y") == "running" and other.reads == 1  # per client
    assert c.inspect("gone") is None and c.inspect("gone") is None and c.reads == 4  # a missing pod is always asked
    clock = [1000.0]
    monkeypatch.setattr(k8s_client.time, "monotonic", lambda: clock[0])
    c.inspect("sandbox-z")
    clock[0] += k8s_client.INSPECT_REUSE_S
    c.inspect("sandbox-z")
    assert c.reads == 6  # too old: read again


def test_install_refuses_a_client_that_changed_shape() -> None:
    cls = type("Client", (), {"__init__": lambda self: None})
    with pytest.raises(RuntimeError, match="agentscope-runtime changed"):
        k8s_client.install(SETTINGS, cls)


def manager_like_app() -> FastAPI:
    app = FastAPI()
    for path in ["/health", "/create_from_pool_async", "/call_tool_async", "/release_async", "/cleanup",
                 "/cleanup_async", "/create", "/stop", "/list_session_keys", "/proxy/x/y"]:
        app.add_api_route(path, lambda: {"ok": True}, methods=["GET", "POST"])
    routes.install(app)
    return app


def post(path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=manager_like_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://manager") as client:
            return await client.post(path)
    return asyncio.run(go())


@pytest.mark.parametrize("path", ["/health", "/create_from_pool_async", "/call_tool_async", "/release_async"])
def test_route_guard_lets_the_agents_routes_through(path: str) -> None:
    r = post(path)
    assert (r.status_code, r.json()) == (200, {"ok": True})


@pytest.mark.parametrize("path", ["/cleanup", "/cleanup_async", "/create", "/stop", "/list_session_keys",
                                  "/proxy/x/y", "/docs", "/openapi.json", "/desktop/x/index.html"])
def test_route_guard_hides_admin_routes(path: str) -> None:
    r = post(path)
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})


def test_the_allow_list_names_real_routes_of_the_locked_server() -> None:
    """The routes runtime-sandbox-server registers: one per remote method of SandboxManager
    (server/app.py register_routes), plus the app's own. Read from the locked package itself."""
    import inspect

    from agentscope_runtime.sandbox.manager.sandbox_manager import SandboxManager
    from agentscope_runtime.sandbox.manager.server import app as server

    manager = SandboxManager(base_url="http://127.0.0.1:9", bearer_token="unused")  # remote mode: no client
    remote = {m._path for _, m in inspect.getmembers(manager, predicate=inspect.ismethod)
              if getattr(m, "_is_remote_wrapper", False)}
    real = remote | {getattr(r, "path", "") for r in server.app.routes}
    assert routes.ALLOWED_PATHS <= real
    hidden = real - routes.ALLOWED_PATHS
    assert {"/cleanup", "/cleanup_async", "/create", "/stop", "/start", "/list_session_keys",
            "/get_session_mapping", "/add_mcp_servers", "/proxy/{identity}/{path:path}",
            "/desktop/{sandbox_id}/{path:path}", "/docs", "/openapi.json"} <= hidden

