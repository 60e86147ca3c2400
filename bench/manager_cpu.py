"""The sandbox manager's CPU per claim (claim, its refill, release), and its API requests, with the
real server (`runtime-sandbox-server --extension sandbox_manager_ext.activate`, the manager lock's
packages) talking HTTP to a stand-in API server in another process on loopback.

The stand-in stores the pods the manager creates and answers like an API server whose pods are
ready at once: GET returns the stored pod with a Running, ready status and the IP 127.0.0.1; a watch
streams that state as its first event (api-concepts, "Semantics for watch"); the manager's probe of
that address reaches a `/healthz` stand-in in this process (the sandbox port mapped to it). So the
manager does all of its own work (the kubernetes client's serialization and deserialization of the
full pod included); it does no TLS (the in-cluster API is HTTPS) and no sandbox runs code.
Claims come over HTTP from this process; only the manager process's CPU is counted (/proc).
Usage: <venv of agent-image/requirements-sandbox-manager.txt>/bin/python bench/manager_cpu.py [--claims N]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    pods: dict[str, Any] = {}
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def log_message(self, *a: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    @staticmethod
    def ready(pod: dict[str, Any]) -> dict[str, Any]:
        pod = dict(pod)
        pod["metadata"] = dict(pod["metadata"], uid="u-" + pod["metadata"]["name"], resourceVersion="2")
        pod["status"] = {"phase": "Running", "podIP": "127.0.0.1", "conditions": [{"type": "Ready", "status": "True"}],
                         "containerStatuses": [{"name": c["name"], "ready": True, "image": c["image"], "imageID": "x",
                                                "restartCount": 0, "started": True} for c in pod["spec"]["containers"]]}
        return pod

    def do_GET(self) -> None:
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if url.path == "/api/v1/namespaces":
            self.calls["list namespaces"] += 1
            return self._send(200, {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": []})
        if parts[-1] == "pods" and q.get("watch") == ["true"]:
            self.calls["watch pods"] += 1
            name = q["fieldSelector"][0].split("=", 1)[1]
            pod = self.pods.get(name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if pod:
                line = (json.dumps({"type": "ADDED", "object": self.ready(pod)}) + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"0\r\n\r\n")
            return None
        if parts[-1] == "pods":
            self.calls["list pods"] += 1
            return self._send(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []})
        if parts[-2] == "pods":
            self.calls["get pods"] += 1
            pod = self.pods.get(parts[-1])
            if pod is None:
                return self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
            return self._send(200, self.ready(pod))
        return self._send(404, {"kind": "Status", "apiVersion": "v1", "code": 404})

    def do_POST(self) -> None:
        parts = urllib.parse.urlparse(self.path).path.strip("/").split("/")
        body = self._body()
        self.calls[f"create {parts[-1]}"] += 1
        if parts[-1] == "pods":
            with self.lock:
                self.pods[body["metadata"]["name"]] = body
        return self._send(201, body)

    def do_DELETE(self) -> None:
        parts = urllib.parse.urlparse(self.path).path.strip("/").split("/")
        self._body()
        self.calls[f"delete {parts[-2]}"] += 1
        if parts[-2] == "pods" and self.pods.pop(parts[-1], None) is None:
            return self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
        return self._send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})


class Healthz(BaseHTTPRequestHandler):
    """What a sandbox server answers the manager's probe of its address (pod_watch.answers)."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a: Any) -> None:
        pass


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=50)
    args = ap.parse_args()
    import httpx

    api = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    sandbox = ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
    threading.Thread(target=sandbox.serve_forever, daemon=True).start()
    work = Path(tempfile.mkdtemp(prefix="manager-cpu-"))
    kubeconfig = work / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{api.server_address[1]}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    port = free_port()
    (work / "manager.env").write_text("\n".join(f"{k}='{v}'" for k, v in {
        "HOST": "127.0.0.1", "PORT": port, "WORKERS": 1, "BEARER_TOKEN": "tok", "DEFAULT_SANDBOX_TYPE": "base",
        "POOL_SIZE": 1, "MAX_SANDBOX_INSTANCES": 50, "AUTO_CLEANUP": "True", "CONTAINER_PREFIX_KEY": "sandbox-",
        "CONTAINER_DEPLOYMENT": "k8s", "DEFAULT_MOUNT_DIR": "", "ALLOW_MOUNT_DIR": "False", "FILE_SYSTEM": "local",
        "K8S_NAMESPACE": "sbx", "KUBECONFIG_PATH": kubeconfig, "RUNTIME_SANDBOX_REGISTRY": "r.example",
        "REDIS_ENABLED": "False"}.items()) + "\n")
    (work / "pods.json").write_text(json.dumps({"ports": {"80": sandbox.server_address[1]}, "podReadyTimeoutSeconds": 60}))
    env = dict(os.environ, PYTHONPATH=str(REPO / "agent-image"), AGENTSCOPE_SANDBOX_POD_SETTINGS=str(work / "pods.json"),
               AGENTSCOPE_AGENT_NAMESPACE="agents", RUNTIME_SANDBOX_REGISTRY="r.example", HOME=str(work))
    server = Path(sys.executable).parent / "runtime-sandbox-server"
    manager = subprocess.Popen([str(server), "--config", str(work / "manager.env"), "--extension",
                                "sandbox_manager_ext.activate"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": "Bearer tok"}
    try:
        with httpx.Client(base_url=url, headers=auth, timeout=60) as c:
            for _ in range(300):
                try:
                    if c.get("/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            warm = lambda: sum(1 for p in FakeApi.pods)  # noqa: E731 - pods that exist

            def settled() -> None:  # the claimed one released, the pool refilled: one pod left
                end = time.monotonic() + 30
                while warm() != 1 and time.monotonic() < end:
                    time.sleep(0.01)
                time.sleep(0.05)

            settled()
            time.sleep(1)  # the first refill done
            FakeApi.calls.clear()
            before = cpu_seconds(manager.pid)
            for i in range(args.claims):
                name = c.post("/create_from_pool_async", json={"meta": {"session_ctx_id": f"s{i}"}}).json()["data"]
                assert name, "claim failed"
                c.post("/release_async", json={"identity": name})
                settled()
            used = cpu_seconds(manager.pid) - before
            calls = dict(FakeApi.calls)  # before shutdown's cleanup
    finally:
        manager.terminate()
        manager.wait(timeout=30)
        api.shutdown()
        sandbox.shutdown()
    print(f"manager CPU per claim (claim + refill + release, {args.claims} claims, no TLS): {used / args.claims * 1000:.1f} ms")
    for key, n in sorted(calls.items()):
        print(f"  API {key}: {n / args.claims:.2f} per claim")


if __name__ == "__main__":
    main()
